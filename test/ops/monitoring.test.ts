/**
 * ops/: the Prometheus scrape config, the alert rules and the Grafana provisioning and dashboard. Without promtool
 * here, the files are parsed and every metric name their expressions use is checked against the names the code
 * registers (the operator's registry: protocol/metrics + operator/metrics with Node's default metrics; the
 * aggregator's: protocol/metrics + aggregator/metrics), so a renamed metric cannot leave an alert that never fires.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { parse } from "yaml";
import { createAggregatorMetrics, createEnforcementMetrics } from "../../aggregator/metrics.js";
import { createOperatorMetrics } from "../../operator/metrics.js";
import { createMetrics } from "../../protocol/metrics/metrics.js";

const OPS = "ops";
/** Series Prometheus makes itself for every target. */
const PROMETHEUS_OWN = new Set(["up"]);
/** Prefixes of the series the code exports (its own, EigenLayer's, and prom-client's default process metrics). */
const METRIC = /\b(?:matchnet|eigen|process|nodejs)_[a-z0-9_]+\b/g;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}

async function yamlFile<T>(...path: string[]): Promise<T> {
  return parse(await readFile(join(OPS, ...path), "utf8")) as T;
}

/** Every metric name the code registers, with the series a histogram adds. */
async function exportedNames(): Promise<Set<string>> {
  const operator = createMetrics({ collectDefault: true });
  createOperatorMetrics(operator);
  const aggregator = createMetrics({ collectDefault: true });
  createAggregatorMetrics(aggregator.register);
  createEnforcementMetrics(aggregator.register);
  const names = new Set<string>();
  for (const reg of [operator.register, aggregator.register]) {
    for (const m of await reg.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m.name + s);
    }
  }
  return names;
}

/** Metric names in a PromQL expression (label values inside quotes are not names). */
function metricsIn(expr: string): string[] {
  const unquoted = expr.replace(/"[^"]*"/g, '""');
  const names: string[] = [...(unquoted.match(METRIC) ?? [])];
  for (const own of PROMETHEUS_OWN) if (new RegExp(`\\b${own}\\{`).test(unquoted)) names.push(own);
  return names;
}

describe("ops/: monitoring config", () => {
  it("given the alert rules → they should parse, each with an expression, a severity and a summary, and cover missed duties, peers, health, slashing protection and the aggregator", async () => {
    const file = await yamlFile<{ groups: { name: string; rules: Rule[] }[] }>("prometheus", "alerts.yml");
    const rules = file.groups.flatMap((g) => g.rules);
    for (const r of rules) {
      expect(r.expr, r.alert).to.be.a("string").and.not.equal("");
      expect(r.labels?.severity, r.alert).to.be.oneOf(["warning", "critical"]);
      expect(r.annotations?.summary, r.alert).to.be.a("string");
      expect(metricsIn(r.expr).length, `${r.alert} uses at least one metric`).to.be.greaterThan(0);
    }
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size, "alert names are unique").to.equal(names.length);
    const uses = (metric: string) => rules.some((r) => metricsIn(r.expr).includes(metric));
    expect(uses("matchnet_finalized_batches_total"), "missed duties").to.equal(true);
    expect(uses("matchnet_peers"), "too few peers").to.equal(true);
    expect(uses("matchnet_head_block") && uses("up"), "unhealthy: follower stalled, process down").to.equal(true);
    expect(uses("matchnet_slashing_protection_refusals_total"), "slashing-protection refusals").to.equal(true);
    expect(uses("matchnet_aggregator_submissions_total"), "aggregator not submitting").to.equal(true);
    expect(uses("matchnet_aggregator_enforcement_total"), "enforcement transactions failing").to.equal(true);
  });

  it("given the alert rules and the dashboard → every metric they use should be one the code exports", async () => {
    const exported = await exportedNames();
    const rules = (await yamlFile<{ groups: { rules: Rule[] }[] }>("prometheus", "alerts.yml")).groups.flatMap((g) => g.rules);
    const dashboard = JSON.parse(await readFile(join(OPS, "grafana", "dashboards", "matchnet-operator.json"), "utf8")) as {
      panels: { targets?: { expr: string }[] }[];
      templating?: { list: { query?: unknown }[] };
    };
    const exprs = [
      ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: "dashboard panel", expr: t.expr }))),
      ...(dashboard.templating?.list ?? []).filter((v) => typeof v.query === "string").map((v) => ({ where: "dashboard variable", expr: v.query as string })),
    ];
    const unknown = exprs.flatMap(({ where, expr }) => metricsIn(expr).filter((m) => !exported.has(m) && !PROMETHEUS_OWN.has(m)).map((m) => `${where}: ${m}`));
    expect(exprs.length).to.be.greaterThan(20);
    expect(unknown).to.deep.equal([]);
  });

  it("given a metric name the code does not export → the check should report it (the check can fail)", async () => {
    const exported = await exportedNames();
    expect(metricsIn('rate(matchnet_batches_signd_total{job="x"}[5m])').filter((m) => !exported.has(m))).to.deep.equal(["matchnet_batches_signd_total"]);
    expect(metricsIn('matchnet_peers{code="matchnet_not_a_metric"}').filter((m) => !exported.has(m))).to.deep.equal([]);
  });

  it("given the scrape config → it should load alerts.yml and scrape the jobs the alerts select", async () => {
    const prom = await yamlFile<{ rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>("prometheus", "prometheus.yml");
    expect(prom.rule_files).to.deep.equal(["alerts.yml"]);
    const jobs = new Set(prom.scrape_configs.map((c) => c.job_name));
    expect([...jobs]).to.have.members(["matchnet-operator", "matchnet-aggregator"]);
    const rules = (await yamlFile<{ groups: { rules: Rule[] }[] }>("prometheus", "alerts.yml")).groups.flatMap((g) => g.rules);
    const selected = new Set(rules.flatMap((r) => [...r.expr.matchAll(/job="([^"]+)"/g)].map((m) => m[1]!)));
    for (const job of selected) expect(jobs.has(job), `job ${job} is scraped`).to.equal(true);
    for (const c of prom.scrape_configs) for (const t of c.static_configs.flatMap((s) => s.targets)) expect(t).to.match(/^[^:]+:\d{1,5}$/);
  });

  it("given the Grafana provisioning → it should define a Prometheus datasource and a file provider for the dashboards", async () => {
    const ds = await yamlFile<{ apiVersion: number; datasources: { type: string; url: string }[] }>("grafana", "provisioning", "datasources", "prometheus.yml");
    expect(ds.apiVersion).to.equal(1);
    expect(ds.datasources.map((d) => d.type)).to.deep.equal(["prometheus"]);
    const dash = await yamlFile<{ apiVersion: number; providers: { type: string; options: { path: string } }[] }>("grafana", "provisioning", "dashboards", "matchnet.yml");
    expect(dash.providers.map((p) => p.type)).to.deep.equal(["file"]);
    expect(dash.providers[0]!.options.path).to.match(/^\//);
    const dashboard = JSON.parse(await readFile(join(OPS, "grafana", "dashboards", "matchnet-operator.json"), "utf8")) as { uid: string; title: string };
    expect(dashboard.uid).to.be.a("string");
  });
});
