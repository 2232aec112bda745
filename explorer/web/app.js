// The explorer page: plain ES modules and uPlot, no framework and no build step (five pages of tables and charts
// over a JSON API do not need one). Routes live in the URL hash; a server-sent event per indexed block re-renders
// the current page, so it stays live without reloading.
/* global uPlot */

const view = document.getElementById("view");
const live = document.getElementById("live");
let status = { tokenDecimals: 6, stakeDecimals: 18, indexedBlock: 0 };
let charts = [];

// ------------------------------------------------------------------ formatting

const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const short = (h) => (typeof h === "string" && h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-4)}` : esc(h));

/** Payment-token units (decimal string) → "1.2345" with the token's decimals, exact (BigInt), 4 decimals at most. */
function amount(units, decimals = status.tokenDecimals) {
  if (units === null || units === undefined) return "—";
  const d = BigInt(decimals);
  const v = BigInt(units);
  const neg = v < 0n;
  const a = neg ? -v : v;
  const scale = 10n ** d;
  const frac = (a % scale).toString().padStart(Number(d), "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${(a / scale).toLocaleString("en-US")}${frac ? "." + frac.slice(0, 4) : ""}`;
}
/** Stake-token units (operators' and providers' stake, slashes). */
const stake = (units) => amount(units, status.stakeDecimals);
const toNumber = (units) => Number(BigInt(units)) / 10 ** status.tokenDecimals;
/** a ÷ b of two token amounts as a percentage with one decimal, rounded down (BigInt basis points). */
function ratio(a, b) {
  if (BigInt(b) === 0n) return "—";
  const bps = (BigInt(a) * 10000n) / BigInt(b);
  return `${bps / 100n}.${(bps % 100n) / 10n} %`;
}
const pct = (bps) => (bps === null || bps === undefined ? "—" : `${(bps / 100).toFixed(1)} %`);
const time = (t) => (t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "—");
const link = {
  order: (id) => `<a href="#/order/${esc(id)}">#${esc(id)}</a>`,
  batch: (id) => `<a href="#/batch/${esc(id)}">${esc(id)}</a>`,
  provider: (a) => `<a href="#/provider/${esc(a)}" title="${esc(a)}">${short(a)}</a>`,
  operator: (id) => `<a href="#/operator/${esc(id)}" title="${esc(id)}">${short(id)}</a>`,
  renter: (a) => `<a href="#/renter/${esc(a)}" title="${esc(a)}">${short(a)}</a>`,
};

/** An operator's node API health (explorer/operatorHealth.ts): status, and when the explorer last checked it. */
const HEALTH_CLASS = { healthy: "ok", "partially healthy": "warn", unhealthy: "bad", unreachable: "bad" };
function nodeHealth(h) {
  if (!h) return `<span class="muted" title="no node API URL given to the explorer">—</span>`;
  const at = h.checkedAt ? new Date(h.checkedAt).toISOString().slice(11, 19) : null;
  return `<span class="node-health ${HEALTH_CLASS[h.status] ?? "muted"}" title="${esc(h.reasons.join("; "))}">${esc(h.status)}</span>` +
    (at ? ` <span class="muted">at ${at}</span>` : "");
}

function table(cols, rows, empty = "none") {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  const head = cols.map((c) => `<th class="${c.num ? "num" : ""}">${esc(c.h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${cols.map((c) => `<td class="${c.num ? "num" : ""}">${c.f(r)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function dl(pairs) {
  return `<dl>${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

async function api(path) {
  const res = await fetch(path, { cache: "no-store" });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

// ------------------------------------------------------------------ charts (uPlot)

const TIER_COLORS = { Entry: "#8a98a8", Low: "#56d37e", Medium: "#4fb3ff", High: "#ffc857", Ultra: "#ff6b6b" };

function chart(el, title, data, series, opts = {}) {
  const width = Math.max(320, el.clientWidth - 10);
  const u = new uPlot(
    {
      title, width, height: 220,
      scales: { x: { time: opts.time ?? false } },
      // Batches are whole numbers: no ticks between them.
      axes: [{ stroke: "#8a98a8", grid: { stroke: "#263040" }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] }, { stroke: "#8a98a8", grid: { stroke: "#263040" }, size: 60 }],
      series: [{ label: opts.xLabel ?? "x" }, ...series],
    },
    data,
    el,
  );
  charts.push(u);
  return u;
}

// ------------------------------------------------------------------ pages

async function market() {
  const [m, s] = await Promise.all([api("/api/market"), api("/api/status")]);
  const kpi = (v, l) => `<div class="kpi"><b>${v}</b><span>${esc(l)}</span></div>`;
  const util = m.utilization.reduce((a, u) => ({ gpus: a.gpus + u.gpus, leased: a.leased + u.leased }), { gpus: 0, leased: 0 });
  const lastFill = m.fillRate.at(-1);
  view.innerHTML = `
    <h1>Market</h1>
    <div class="kpis">
      ${kpi(s.openOrders, "open orders")}${kpi(s.activeLeases, "active leases")}${kpi(s.batches, "batches")}
      ${kpi(util.gpus ? `${((util.leased * 100) / util.gpus).toFixed(1)} %` : "—", "GPUs leased")}
      ${kpi(lastFill ? pct(lastFill.fillBps) : "—", "fill rate, last batch")}${kpi(s.providers, "providers")}${kpi(s.operators, "operators")}
    </div>
    <div class="grid">
      <div class="card" id="c-price"></div>
      <div class="card" id="c-fill"></div>
      <div class="card" id="c-util"></div>
      <div class="card wide"><h2>Money (per payment token)</h2>${table([
        { h: "token", f: (r) => short(r.token) }, { h: "deposited", num: 1, f: (r) => amount(r.deposited) },
        { h: "escrowed", num: 1, f: (r) => amount(r.escrowed) }, { h: "earned", num: 1, f: (r) => amount(r.earned) },
        { h: "refundable", num: 1, f: (r) => amount(r.refundable) }, { h: "withdrawn", num: 1, f: (r) => amount(r.withdrawn) },
      ], m.money)}</div>
    </div>
    <div class="grid">
      <div class="card"><h2>Open orders by model, tier and region</h2>${table([
        { h: "model", f: (r) => esc(r.model) }, { h: "tier", f: (r) => esc(r.tier) }, { h: "regions", f: (r) => esc(r.regions) },
        { h: "orders", num: 1, f: (r) => r.orders }, { h: "GPUs", num: 1, f: (r) => r.gpus },
      ], m.openOrders, "no open order")}</div>
      <div class="card"><h2>Offers by model, tier and region</h2>${table([
        { h: "model", f: (r) => esc(r.model) }, { h: "tier", f: (r) => esc(r.tier) }, { h: "region", f: (r) => esc(r.region) },
        { h: "offers", num: 1, f: (r) => r.offers }, { h: "GPUs", num: 1, f: (r) => r.gpus }, { h: "leased", num: 1, f: (r) => r.leased },
        { h: "from /GPU-h", num: 1, f: (r) => amount(r.minPrice) },
      ], m.offers, "no offer")}</div>
    </div>`;
  // Price per GPU-hour paid, by tier, per batch.
  const batches = [...new Set(m.priceByTier.map((p) => p.batch))].sort((a, b) => a - b);
  const tiers = [...new Set(m.priceByTier.map((p) => p.tier))];
  const priceData = [batches, ...tiers.map((t) => batches.map((b) => {
    const p = m.priceByTier.find((x) => x.batch === b && x.tier === t);
    return p ? toNumber(p.price) : null;
  }))];
  const priceEl = document.getElementById("c-price");
  if (batches.length === 0) priceEl.innerHTML = `<h2>Price per GPU-hour paid</h2><p class="muted">no lease yet</p>`;
  else chart(priceEl, "Price per GPU-hour paid, by tier", priceData,
    tiers.map((t) => ({ label: t, stroke: TIER_COLORS[t] ?? "#fff", width: 2, spanGaps: true, points: { show: true } })), { xLabel: "batch" });
  const fillEl = document.getElementById("c-fill");
  if (m.fillRate.length === 0) fillEl.innerHTML = `<h2>Fill rate per batch</h2><p class="muted">no final batch yet</p>`;
  else chart(fillEl, "Fill rate per batch (% of open at R_b)", [m.fillRate.map((f) => f.batch), m.fillRate.map((f) => f.fillBps / 100), m.fillRate.map((f) => f.open)],
    [{ label: "fill %", stroke: "#56d37e", width: 2, points: { show: true } }, { label: "open orders", stroke: "#4fb3ff", width: 1, dash: [4, 4] }], { xLabel: "batch" });
  const utilEl = document.getElementById("c-util");
  if (m.utilization.length === 0) utilEl.innerHTML = `<h2>Utilization</h2><p class="muted">no offer yet</p>`;
  else utilEl.innerHTML = `<h2>Utilization by tier (GPUs leased / offered)</h2>${table([
    { h: "tier", f: (r) => esc(r.tier) }, { h: "leased / offered", num: 1, f: (r) => `${r.leased} / ${r.gpus}` },
    { h: "", f: (r) => `<span class="bar" style="width:${Math.round((r.leased * 200) / Math.max(r.gpus, 1))}px"></span> ${((r.leased * 100) / Math.max(r.gpus, 1)).toFixed(1)} %` },
  ], m.utilization)}`;
}

async function batches() {
  const rows = await api("/api/batches?limit=100");
  view.innerHTML = `<h1>Batches</h1><div class="card">${table([
    { h: "batch", f: (b) => link.batch(b.id) }, { h: "status", f: (b) => `<span class="${b.status === "final" ? "ok" : b.status === "abandoned" ? "bad" : "warn"}">${esc(b.status)}</span>` },
    { h: "closed", num: 1, f: (b) => b.closed_block }, { h: "R_b", num: 1, f: (b) => b.reference_block },
    { h: "final", num: 1, f: (b) => b.finalized_block ?? "—" }, { h: "leader", f: (b) => link.operator(b.leader) },
    { h: "seed by", f: (b) => (b.seed_signer ? `${link.operator(b.seed_signer)}${b.seed_signer_index ? ` (fallback ${b.seed_signer_index})` : ""}` : "—") },
    { h: "signed", num: 1, f: (b) => pct(b.signed_bps) }, { h: "open", num: 1, f: (b) => b.open_orders ?? "—" },
    { h: "matched", num: 1, f: (b) => b.applied ?? "—" }, { h: "skipped", num: 1, f: (b) => b.skipped ?? 0 },
    { h: "gas", num: 1, f: (b) => (b.gas_used ? Number(b.gas_used).toLocaleString("en-US") : "—") },
  ], rows, "no batch yet")}</div>`;
}

async function batch(id) {
  const b = await api(`/api/batches/${id}`);
  view.innerHTML = `<h1>Batch ${esc(b.id)} <span class="${b.status === "final" ? "ok" : "warn"}">${esc(b.status)}</span></h1>
    <div class="grid"><div class="card">${dl([
      ["closed at block", b.closed_block], ["reference block R_b", b.reference_block], ["finalized at block", b.finalized_block ?? "—"],
      ["leader", link.operator(b.leader)],
      ["seed signed by", b.seed_signer ? `${link.operator(b.seed_signer)} (rank ${b.seed_signer_index}${b.seed_signer_index ? ", fallback" : ", the leader"})` : "—"],
      ["seed", `<code>${esc(b.seed ?? "—")}</code>`], ["previous seed", `<code>${esc(b.previous_seed)}</code>`],
      ["result hash", `<code>${esc(b.result_hash ?? "—")}</code>`],
      ["signed stake", `${pct(b.signed_bps)} (${stake(b.signed_stake)} of ${stake(b.total_stake)})`],
      ["non-signers", b.nonSigners.length ? b.nonSigners.map(link.operator).join(", ") : "none"],
      ["orders open at R_b", b.open_orders ?? "—"], ["assignments submitted / applied / skipped", `${b.assignments ?? "—"} / ${b.applied ?? 0} / ${b.skipped ?? 0}`],
      ["gas", b.gas_used ? Number(b.gas_used).toLocaleString("en-US") : "—"], ["transaction", `<code>${esc(b.tx ?? "—")}</code>`],
      ["result proven invalid", b.invalid_block === null || b.invalid_block === undefined ? "no"
        : `<span class="bad">at block ${esc(b.invalid_block)}: order ${link.order(b.invalid_order)} (${esc(b.invalidReason ?? b.invalid_reason)}); its signers can be slashed</span>`],
    ])}</div>
    <div class="card"><h2>Operators at R_b</h2>${table([
      { h: "operator", f: (o) => link.operator(o.operator_id) }, { h: "stake", num: 1, f: (o) => stake(o.stake) },
      { h: "signed", f: (o) => (o.signed === 1 ? `<span class="ok">yes</span>` : o.signed === 0 ? `<span class="bad">no</span>` : "?") },
    ], b.operators, "not final")}</div></div>
    <h2>Assignments</h2><div class="card">${table([
      { h: "order / lease", f: (a) => link.order(a.order_id) }, { h: "provider", f: (a) => (a.provider ? link.provider(a.provider) : "—") },
      { h: "tier", f: (a) => esc(a.tier ?? "—") }, { h: "GPUs", num: 1, f: (a) => a.gpus ?? "—" }, { h: "offer version", num: 1, f: (a) => a.offer_version_id },
      { h: "price /GPU-h", num: 1, f: (a) => amount(a.price) }, { h: "max", num: 1, f: (a) => amount(a.max_price) },
    ], b.appliedAssignments, "no assignment")}</div>
    <h2>Skipped assignments</h2><div class="card">${table([
      { h: "order", f: (s) => link.order(s.order_id) }, { h: "reason", f: (s) => `<span class="warn">${esc(s.reason)}</span>` },
    ], b.skippedAssignments, "none skipped")}</div>
    <h2>Orders left open by the matcher</h2><div class="card">${b.openOrderReasons === null
      ? `<p class="muted">${b.status === "final" ? "the matcher's re-run at R_b is not available on this explorer's RPC" : "known once the batch is final"}</p>`
      : table([{ h: "order", f: (r) => link.order(r.orderId) }, { h: "reason", f: (r) => `<span class="warn">${esc(r.reason)}</span>` }], b.openOrderReasons, "every open order was matched")}</div>`;
}

async function order(id) {
  const o = await api(`/api/orders/${id}`);
  const l = o.lease;
  view.innerHTML = `<h1>Order #${esc(o.id)} <span class="${o.status === "matched" ? "ok" : o.status === "open" ? "warn" : "muted"}">${esc(o.status)}</span>${l ? ` — lease ${esc(l.status)}` : ""}</h1>
    <div class="grid"><div class="card"><h2>Order</h2>${dl([
      ["renter", link.renter(o.renter)], ["model", esc(o.model ?? o.model_id)], ["GPUs", o.gpu_count], ["duration", `${o.duration_hours} h`],
      ["regions", esc(o.regions)], ["max price /GPU-h", amount(o.max_price)], ["escrow", amount(o.escrow)],
      ["min uptime / reputation", `${pct(o.min_uptime_bps)} / ${pct(o.min_reputation_bps)}`], ["max times slashed", o.max_times_slashed],
      ["created", `block ${o.created_block}, ${time(o.created_time)}`], ["expires at block", o.expires_at],
      ["refund", o.refund === null ? "—" : amount(o.refund)],
    ])}</div>
    <div class="card"><h2>Lease</h2>${l ? dl([
      ["batch", link.batch(l.batch)], ["provider", link.provider(l.provider)], ["tier", esc(l.tier ?? "—")], ["offer version", l.offer_version_id],
      ["price paid /GPU-h", `${amount(l.price)} <span class="muted">(max ${amount(l.max_price)}, ${ratio(l.price, l.max_price)} of it)</span>`],
      ["full cost", amount(l.fullCost)], ["earned by the provider so far (settled)", amount(l.earned)],
      ["refunded at start (max − price)", amount(l.refund_at_start)], ["refunded at close", l.refund_at_close === null ? "—" : amount(l.refund_at_close)],
      ["started", time(l.started_time)], ["ends", time(l.ends_time)], ["closed", l.closed_at ? `${time(l.closed_at)} (${esc(l.close_reason)})` : "—"],
      ["access handed over", l.ready_block === null || l.ready_block === undefined ? (l.status === "active" ? `<span class="warn">not yet</span>` : "—") : `block ${esc(l.ready_block)} (${l.ready_block - l.started_block} after the start)`],
    ]) : `<p class="muted">not matched${o.skips.length ? `; skipped in ${o.skips.map((s) => `batch ${link.batch(s.batch)} (${esc(s.reason)})`).join(", ")}` : ""}</p>`}</div></div>
    <h2>History</h2><div class="card">${table([
      { h: "block", num: 1, f: (h) => h.block }, { h: "time", f: (h) => time(h.time) }, { h: "event", f: (h) => esc(h.name) },
      { h: "details", f: (h) => `<code>${esc(JSON.stringify(h.args))}</code>` },
    ], o.history)}</div>`;
}

async function providers() {
  const rows = await api("/api/providers");
  view.innerHTML = `<h1>Providers</h1><div class="card">${table([
    { h: "provider", f: (p) => link.provider(p.address) }, { h: "status", f: (p) => esc(p.status) }, { h: "region", f: (p) => esc(p.region) },
    { h: "stake", num: 1, f: (p) => stake(p.stake) }, { h: "uptime", num: 1, f: (p) => pct(p.uptime_bps) }, { h: "reputation", num: 1, f: (p) => pct(p.reputationBps) },
    { h: "completed / failed", num: 1, f: (p) => `${p.leases_completed} / ${p.leases_failed}` }, { h: "slashes", num: 1, f: (p) => p.times_slashed },
    { h: "leases (active)", num: 1, f: (p) => `${p.leases} (${p.active_leases})` }, { h: "earned", num: 1, f: (p) => amount(p.earned) },
  ], rows, "no provider yet")}</div>`;
}

async function provider(address) {
  const p = await api(`/api/providers/${address}`);
  view.innerHTML = `<h1>Provider ${esc(p.address)}</h1><div class="grid"><div class="card">${dl([
    ["status", esc(p.status)], ["zone / region", `${p.zone} / ${esc(p.region)}`], ["stake", stake(p.stake)], ["uptime", pct(p.uptime_bps)],
    ["reputation", pct(p.reputationBps)], ["leases completed / failed", `${p.leases_completed} / ${p.leases_failed}`],
    ["times slashed", `${p.times_slashed} (${stake(p.slashed)})`], ["leases (active)", `${p.leases} (${p.active_leases})`], ["earned (settled)", amount(p.earned)],
  ])}</div><div class="card"><h2>Offers</h2>${table([
    { h: "offer", num: 1, f: (o) => o.id }, { h: "model", num: 1, f: (o) => o.model_id }, { h: "GPUs", num: 1, f: (o) => o.gpu_count },
    { h: "leased", num: 1, f: (o) => o.gpus_leased }, { h: "price /GPU-h", num: 1, f: (o) => amount(o.price) },
    { h: "state", f: (o) => (o.withdrawn_block ? `withdrawn at ${o.withdrawn_block}` : "active") },
  ], p.offers)}</div></div>
  <h2>Leases</h2><div class="card">${table([
    { h: "lease", f: (l) => link.order(l.id) }, { h: "batch", f: (l) => link.batch(l.batch) }, { h: "renter", f: (l) => link.renter(l.renter) },
    { h: "GPUs", num: 1, f: (l) => l.gpu_count }, { h: "price /GPU-h", num: 1, f: (l) => amount(l.price) }, { h: "status", f: (l) => esc(l.status + (l.close_reason ? ` (${l.close_reason})` : "")) },
    { h: "earned", num: 1, f: (l) => amount(l.earned) },
  ], p.leases)}</div>
  <h2>Slashes</h2><div class="card">${table([{ h: "block", num: 1, f: (s) => s.block }, { h: "amount", num: 1, f: (s) => stake(s.amount) }, { h: "to", f: (s) => short(s.beneficiary) }], p.slashes)}</div>`;
}

async function operators() {
  const rows = await api("/api/operators");
  view.innerHTML = `<h1>Operators</h1><div class="card">${table([
    { h: "operator id", f: (o) => link.operator(o.id) }, { h: "address", f: (o) => short(o.address) }, { h: "status", f: (o) => esc(o.status) },
    { h: "stake", num: 1, f: (o) => stake(o.stake) }, { h: "signing rate", num: 1, f: (o) => pct(o.signingBps) },
    { h: "signed / duties", num: 1, f: (o) => `${o.signed} / ${o.duties}` }, { h: "missed", num: 1, f: (o) => `<span class="${o.missed ? "warn" : ""}">${o.missed}</span>` },
    { h: "seeds", num: 1, f: (o) => o.seeds }, { h: "slashes", num: 1, f: (o) => o.times_slashed }, { h: "node API", f: (o) => nodeHealth(o.nodeApi) },
    { h: "socket", f: (o) => `<code>${esc(o.socket)}</code>` },
  ], rows, "no operator yet")}</div>`;
}

async function operator(id) {
  const o = await api(`/api/operators/${id}`);
  view.innerHTML = `<h1>Operator ${short(o.id)}</h1><div class="grid"><div class="card">${dl([
    ["operator id", `<code>${esc(o.id)}</code>`], ["address", `<code>${esc(o.address)}</code>`], ["status", esc(o.status)], ["stake", stake(o.stake)],
    ["signing rate", `${pct(o.signingBps)} (${o.signed} of ${o.duties} batches)`], ["missed duties", o.missed], ["seeds signed", o.seeds],
    ["slashed", `${o.times_slashed} time(s), ${stake(o.slashed)}`], ["socket", `<code>${esc(o.socket)}</code>`],
    ["node API", o.nodeApi ? `${nodeHealth(o.nodeApi)} <code>${esc(o.nodeApi.url)}</code>${o.nodeApi.reasons.length ? `<br><span class="muted">${esc(o.nodeApi.reasons.join("; "))}</span>` : ""}` : nodeHealth(null)],
  ])}</div><div class="card"><h2>Recent batches</h2>${table([
    { h: "batch", f: (b) => link.batch(b.batch) }, { h: "stake", num: 1, f: (b) => stake(b.stake) },
    { h: "signed", f: (b) => (b.signed === 1 ? `<span class="ok">yes</span>` : `<span class="bad">no</span>`) },
  ], o.batches)}</div></div>
  <h2>Slashes</h2><div class="card">${table([{ h: "block", num: 1, f: (s) => s.block }, { h: "for", f: (s) => (s.kind === "invalid-result" ? `invalid result of batch ${link.batch(s.duty_key)}` : esc(s.kind)) }, { h: "bps", num: 1, f: (s) => s.bps }, { h: "amount", num: 1, f: (s) => stake(s.amount) }, { h: "bounty to", f: (s) => short(s.beneficiary) }], o.slashes)}</div>`;
}

async function renter(address) {
  const r = await api(`/api/renters/${address}`);
  view.innerHTML = `<h1>Renter ${esc(r.address)}</h1><div class="card">${table([
    { h: "order", f: (o) => link.order(o.id) }, { h: "model", num: 1, f: (o) => o.model_id }, { h: "GPUs", num: 1, f: (o) => o.gpu_count },
    { h: "max /GPU-h", num: 1, f: (o) => amount(o.max_price) }, { h: "status", f: (o) => esc(o.status) }, { h: "created", num: 1, f: (o) => o.created_block },
  ], r.orders)}</div>`;
}

async function searchResults(q) {
  const hits = await api(`/api/search?q=${encodeURIComponent(q)}`);
  if (hits.length === 1) {
    location.hash = hashOf(hits[0]);
    return;
  }
  view.innerHTML = `<h1>Search “${esc(q)}”</h1><div class="card">${hits.length === 0 ? `<p class="muted">nothing found</p>` : `<ul>${hits.map((h) => `<li><a href="${hashOf(h)}">${esc(h.kind)} ${esc(h.id)}</a></li>`).join("")}</ul>`}</div>`;
}

function hashOf(hit) {
  const page = hit.kind === "lease" ? "order" : hit.kind;
  return `#/${page}/${hit.id}`;
}

// ------------------------------------------------------------------ routing and live updates

const ROUTES = [
  [/^#?\/?$/, "market", () => market()],
  [/^#\/batches$/, "batches", () => batches()],
  [/^#\/batch\/(\d+)$/, "batches", (m) => batch(m[1])],
  [/^#\/order\/(\d+)$/, "market", (m) => order(m[1])],
  [/^#\/providers$/, "providers", () => providers()],
  [/^#\/provider\/(0x[0-9a-fA-F]{40})$/, "providers", (m) => provider(m[1])],
  [/^#\/operators$/, "operators", () => operators()],
  [/^#\/operator\/(0x[0-9a-fA-F]+)$/, "operators", (m) => operator(m[1])],
  [/^#\/renter\/(0x[0-9a-fA-F]{40})$/, "market", (m) => renter(m[1])],
  [/^#\/search\/(.+)$/, "", (m) => searchResults(decodeURIComponent(m[1]))],
];

let rendering = null;
let again = false;

async function render() {
  if (rendering) {
    again = true;
    return rendering;
  }
  rendering = (async () => {
    const hash = location.hash || "#/";
    const keepScroll = window.scrollY;
    for (const c of charts) c.destroy();
    charts = [];
    for (const [re, page, fn] of ROUTES) {
      const m = hash.match(re);
      if (m === null) continue;
      document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
      try {
        await fn(m);
      } catch (err) {
        view.innerHTML = `<h1>Not found</h1><p class="bad">${esc(err.message)}</p>`;
      }
      window.scrollTo(0, keepScroll);
      view.dataset.block = String(status.indexedBlock);
      return;
    }
    view.innerHTML = `<h1>Not found</h1><p class="muted">no page ${esc(hash)}</p>`;
  })();
  await rendering;
  rendering = null;
  if (again) {
    again = false;
    await render();
  }
}

document.getElementById("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
});
window.addEventListener("hashchange", () => void render());

async function boot() {
  status = await api("/api/status");
  live.textContent = `block ${status.indexedBlock}`;
  await render();
  const events = new EventSource("/api/events");
  events.addEventListener("indexed", async (e) => {
    const { block } = JSON.parse(e.data);
    if (block === status.indexedBlock) return;
    status = await api("/api/status");
    live.textContent = `block ${status.indexedBlock}`;
    live.classList.add("fresh");
    setTimeout(() => live.classList.remove("fresh"), 600);
    await render();
  });
}

void boot();
