/**
 * Validation, canonical ordering and indexing of a batch's inputs (docs/matching.md §2–§4). Everything the engine
 * and the reference solvers read goes through `prepareBatch`, so both see the same eligible offers, the same
 * candidate pairs and the same pair scores. Inputs may arrive in any order: orders are sorted by orderId, offers by
 * versionId (then indexed by payment token, model, region, versionId), providers by address, and every later loop
 * runs over these canonical arrays only.
 */
import { hexToBytes, type Hex } from "viem";
import {
  BPS,
  OrderStatus,
  ProviderStatus,
  reputationBps,
  type MatchingWeights,
  type OfferVersion,
  type Order,
  type Provider,
} from "../market/types.js";
import { MatchingErrorCode, MatchingInputError } from "./errors.js";
import { RANDOM_TAG_OFFER, RANDOM_TAG_ORDER, RandomValues } from "./random.js";
import { FREE_GPU_CAP, isqrt, mixRandom, priceScore, priceShiftOf, regionScore, slashScore, stakeScore } from "./score.js";
import { UnmatchedReason, type MatchInputs } from "./types.js";

/** Offers of one (payment token, model): their regions ascending, and per region the offer indices ascending (price asc, then versionId asc). */
interface ModelBook {
  regions: number[];
  /** Offers of regions[i] are the offer indices [lo[i], hi[i]). */
  lo: number[];
  hi: number[];
  /**
   * The same offers by GPU class (FREE_CLASSES): those of regions[i] whose provider is active and that have at
   * least FREE_CLASSES[c] free GPUs are PreparedBatch.freeClass[c][classLo[c·R + i] .. classHi[c·R + i]), in the
   * same order (R = regions.length). Filled after the books.
   */
  classLo: Int32Array;
  classHi: Int32Array;
}

/**
 * The GPU classes of the candidate scan: an order of g GPUs scans the offers of the largest class ≤ g, a subsequence
 * of its books' offers in their order (speed only: an offer with fewer free GPUs than g, or of an inactive
 * provider, is never a candidate; they are a quarter to a third of the offers the scan would visit).
 */
const FREE_CLASSES = [1, 2, 4, 8] as const;

/** The class an order of g ≥ 1 GPUs scans. */
function freeClassOf(g: number): number {
  return g >= 8 ? 3 : g >= 4 ? 2 : g >= 2 ? 1 : 0;
}

/**
 * A batch as prepareBatch builds it. An instance of this class, not an object literal: V8 widens the tracked type of
 * every field of a literal's shape the second time the literal runs, which discards all code compiled against those
 * fields (every phase, in the second batch of a process; docs/matching.md §11). A class's shape keeps its types.
 */
export class PreparedBatch {
  declare readonly referenceBlock: bigint;
  /**
   * The weights (docs §6) that the phases after prepare read, as numbers: not the caller's weights object, whose
   * shape may differ from batch to batch (a field that meets a new shape discards the code compiled against it).
   */
  declare readonly weightRegion: number;
  declare readonly weightPrice: number;
  declare readonly weightRandom: number;
  declare readonly weightAvailability: number;
  /** All input orders, orderId ascending. */
  declare readonly orders: Order[];
  /** 0 when the order is open at R_b, else OrderNotOpen / OrderExpired. */
  declare readonly orderState: Uint8Array;
  declare readonly orderGpus: Float64Array;
  declare readonly orderShift: Int32Array;
  declare readonly orderMaxShifted: Float64Array;
  declare readonly orderMinUptime: Int32Array;
  declare readonly orderMinRep: Int32Array;
  declare readonly orderMaxSlashed: Float64Array;
  declare readonly orderPrefZone: Int32Array;
  declare readonly orderRand: Uint32Array;
  /** Index of the order's payment token among the offers' tokens, -1 if no eligible offer uses it. */
  declare readonly orderToken: Int32Array;
  declare readonly orderMaskLo: Uint32Array;
  declare readonly orderMaskHi: Uint32Array;
  /** regionMask 0: every region, including any outside 0‥63. */
  declare readonly orderAnyRegion: Uint8Array;

  /**
   * Offer versions active at R_b (at most one per offerId), ordered by (payment token, model, region, price,
   * versionId) so that each book is a contiguous index range; `offerRank` is the position by versionId, used for every tie.
   */
  declare readonly offers: OfferVersion[];
  declare readonly offerRank: Int32Array;
  declare readonly offerToken: Int32Array;
  declare readonly offerFree: Float64Array; // F: min(gpuCount − gpusLeased, FREE_GPU_CAP), ≥ 0
  declare readonly offerTotal: Float64Array; // C: gpuCount
  declare readonly offerZone: Int32Array;
  declare readonly offerModel: Int32Array;
  declare readonly offerProvider: Int32Array;
  declare readonly offerActive: Uint8Array; // provider status Active
  declare readonly offerUptime: Int32Array;
  declare readonly offerRep: Int32Array;
  declare readonly offerSlashed: Float64Array;
  /** w_uptime·uptime + w_rep·rep + w_slash·slash + w_stake·stake: the part of a pair's score set by the offer alone. */
  declare readonly offerStatic: Float64Array;
  declare readonly offerRand: Uint32Array;

  declare readonly providers: Provider[]; // address ascending
  declare readonly books: Map<number, ModelBook>; // key tokenIndex × 65 536 + modelId
  /** Per GPU class (FREE_CLASSES), offer indices ascending: see ModelBook.classLo. */
  declare readonly freeClass: Int32Array[];
  /** Model ids with tier ≥ t, ascending, for t = 0‥255. */
  declare readonly modelsFromTier: number[][];
  private readonly shiftCache = new Map<number, Float64Array>();
  constructor(f: Omit<PreparedBatch, "shiftedPrices">) {
    this.referenceBlock = f.referenceBlock;
    this.weightRegion = f.weightRegion;
    this.weightPrice = f.weightPrice;
    this.weightRandom = f.weightRandom;
    this.weightAvailability = f.weightAvailability;
    this.orders = f.orders;
    this.orderState = f.orderState;
    this.orderGpus = f.orderGpus;
    this.orderShift = f.orderShift;
    this.orderMaxShifted = f.orderMaxShifted;
    this.orderMinUptime = f.orderMinUptime;
    this.orderMinRep = f.orderMinRep;
    this.orderMaxSlashed = f.orderMaxSlashed;
    this.orderPrefZone = f.orderPrefZone;
    this.orderRand = f.orderRand;
    this.orderToken = f.orderToken;
    this.orderMaskLo = f.orderMaskLo;
    this.orderMaskHi = f.orderMaskHi;
    this.orderAnyRegion = f.orderAnyRegion;
    this.offers = f.offers;
    this.offerRank = f.offerRank;
    this.offerToken = f.offerToken;
    this.offerFree = f.offerFree;
    this.offerTotal = f.offerTotal;
    this.offerZone = f.offerZone;
    this.offerModel = f.offerModel;
    this.offerProvider = f.offerProvider;
    this.offerActive = f.offerActive;
    this.offerUptime = f.offerUptime;
    this.offerRep = f.offerRep;
    this.offerSlashed = f.offerSlashed;
    this.offerStatic = f.offerStatic;
    this.offerRand = f.offerRand;
    this.providers = f.providers;
    this.books = f.books;
    this.freeClass = f.freeClass;
    this.modelsFromTier = f.modelsFromTier;
  }

  /**
   * Offer prices shifted right by s (docs §5.2), computed on first use per shift. A method, not a closure made per
   * batch: compiled code that calls it would meet a new call target in every batch.
   */
  shiftedPrices(shift: number): Float64Array {
    let arr = this.shiftCache.get(shift);
    if (!arr) {
      const n = this.offers.length;
      arr = new Float64Array(n);
      const s = BigInt(shift);
      for (let i = 0; i < n; i++) arr[i] = Number(this.offers[i]!.pricePerGpuHour >> s);
      this.shiftCache.set(shift, arr);
    }
    return arr;
  }
}

/**
 * An unsigned on-chain width: `big` = 2^bits, and `num` the same as a number when that is exact (2^53 or less, so
 * that a number field is checked without a bigint per check), else Infinity (every safe integer ≥ 0 fits).
 */
interface Width {
  big: bigint;
  num: number;
}
const width = (big: bigint): Width => ({ big, num: big <= 1n << 53n ? Number(big) : Infinity });
const UINT8 = width(256n);
const UINT16 = width(1n << 16n);
const UINT32 = width(1n << 32n);
const UINT64 = width(1n << 64n);
const UINT128 = width(1n << 128n);
const UINT256 = width(1n << 256n);
const UPTIME = width(BigInt(BPS + 1));

function bad(code: MatchingErrorCode, detail: string): never {
  throw new MatchingInputError(code, detail);
}

/** Whether v is an integer in [0, w): the check of every input field (runs ~2·10^5 times per 10 000² batch). */
function fits(v: number | bigint, w: Width): boolean {
  return typeof v === "bigint" ? v >= 0n && v < w.big : Number.isSafeInteger(v) && v >= 0 && v < w.num;
}

function outOfRange(name: string, v: number | bigint, w: Width): never {
  bad(MatchingErrorCode.OutOfRange, `${name} = ${String(v)} is not an integer in [0, ${w.big})`);
}

/** The check of one field; the callers below test `fits` first, so that a name is only built for a failure. */
function checkUint(name: string, v: number | bigint, w: Width): void {
  if (!fits(v, w)) outOfRange(name, v, w);
}

/** address.toLowerCase(), computed once per spelling in `cache`. */
function lowerOnce(cache: Map<string, string>, address: string): string {
  let key = cache.get(address);
  if (key === undefined) cache.set(address, (key = address.toLowerCase()));
  return key;
}

const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const WEIGHT_KEYS = ["region", "price", "uptime", "reputation", "availability", "slashing", "stake", "random"] as const;

export function checkWeights(w: MatchingWeights): void {
  let sum = 0;
  for (const k of WEIGHT_KEYS) {
    const v = w[k];
    if (!Number.isSafeInteger(v) || v < 0 || v > BPS) bad(MatchingErrorCode.BadWeights, `weight ${k} = ${String(v)}`);
    sum += v;
  }
  if (sum !== BPS) bad(MatchingErrorCode.BadWeights, `weights sum to ${sum}, not ${BPS}`);
}

export function seedBytes(seed: Hex): Uint8Array {
  if (typeof seed !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(seed)) bad(MatchingErrorCode.BadSeed, `seed must be 32 bytes of hex, got ${String(seed)}`);
  return hexToBytes(seed);
}

/** The fields of T that hold integers. */
type IntegerField<T> = { [K in keyof T]: T[K] extends number | bigint ? K : never }[keyof T] & string;
/**
 * Field → integer width, as the contracts declare each field the matcher reads (types.ts gives them beside each),
 * and "nonzero" where 0 is refused too.
 */
type Widths<T> = readonly (readonly [IntegerField<T>, Width, "nonzero"?])[];

const ORDER_WIDTHS: Widths<Order> = [
  ["modelId", UINT16], ["minTier", UINT8], ["gpuCount", UINT32, "nonzero"], ["regionMask", UINT64],
  ["preferredZone", UINT16], ["maxPricePerGpuHour", UINT128], ["durationHours", UINT32], ["minUptimeBps", UINT16],
  ["minReputationBps", UINT16], ["maxTimesSlashed", UINT32], ["expiresAt", UINT64], ["createdAt", UINT64],
];
const OFFER_WIDTHS: Widths<OfferVersion> = [
  ["offerId", UINT64], ["modelId", UINT16, "nonzero"], ["gpuCount", UINT32], ["gpusLeased", UINT32],
  ["pricePerGpuHour", UINT128], ["activeFrom", UINT64], ["activeUntil", UINT64],
];
const PROVIDER_WIDTHS: Widths<Provider> = [
  ["stake", UINT256], ["status", UINT8], ["zone", UINT16], ["uptimeBps", UPTIME], ["leasesCompleted", UINT32],
  ["leasesFailed", UINT32], ["timesSlashed", UINT32],
];

/** Each field of `row` in its width, in the table's order; a failure names the row (`what` and its id) and the field. */
function checkWidths<T>(row: T, widths: Widths<T>, what: string, id: bigint | string): void {
  for (const [field, w, nonzero] of widths) {
    const v = row[field] as number | bigint;
    if (!fits(v, w)) outOfRange(`${what} ${id} ${field}`, v, w);
    if (nonzero !== undefined && (v === 0 || v === 0n)) bad(MatchingErrorCode.OutOfRange, `${what} ${id} ${field} = 0`);
  }
}

function validateOrder(o: Order): void {
  checkUint("order.orderId", o.orderId, UINT64);
  if (o.orderId === 0n) bad(MatchingErrorCode.OutOfRange, "order.orderId = 0");
  checkWidths(o, ORDER_WIDTHS, "order", o.orderId);
}

function validateOffer(v: OfferVersion): void {
  checkUint("offer.versionId", v.versionId, UINT64);
  if (v.versionId === 0n) bad(MatchingErrorCode.OutOfRange, "offer.versionId = 0");
  checkWidths(v, OFFER_WIDTHS, "offer", v.versionId);
}

/** docs §2: an offer version takes part iff it is active at R_b. */
export function isActiveAt(v: OfferVersion, block: bigint): boolean {
  return v.activeFrom <= block && (v.activeUntil === 0n || block < v.activeUntil);
}

/** docs §2: the order-level checks, as a reason code (0 = open at R_b). */
export function orderStateAt(o: Order, block: bigint): number {
  if (o.status !== OrderStatus.Open || o.createdAt > block) return UnmatchedReason.OrderNotOpen;
  if (o.expiresAt <= block) return UnmatchedReason.OrderExpired;
  return 0;
}

export function prepareBatch(inputs: MatchInputs, seed: Hex): PreparedBatch {
  const R = inputs.referenceBlock;
  checkUint("referenceBlock", R, UINT64);
  const weights = inputs.weights;
  checkWeights(weights);
  const seedRaw = seedBytes(seed);

  // Catalog: model id → tier.
  const tierOf = new Map<number, number>();
  for (const m of inputs.catalog) {
    checkUint("catalog model id", m.id, UINT16);
    if (!fits(m.tier, UINT8)) outOfRange(`catalog model ${m.id} tier`, m.tier, UINT8);
    if (tierOf.has(m.id)) bad(MatchingErrorCode.DuplicateModel, `model ${m.id} appears twice in the catalog`);
    tierOf.set(m.id, m.tier);
  }
  const catalogIds = [...tierOf.keys()].sort((a, b) => a - b);
  const modelsFromTier: number[][] = [];
  for (let t = 0; t < 256; t++) modelsFromTier.push(catalogIds.filter((id) => id !== 0 && tierOf.get(id)! >= t));

  // Addresses compare case-insensitively: each spelling is lower-cased once (thousands of offers name the same
  // few hundred providers and tokens).
  const lowered = new Map<string, string>();
  // Providers, address ascending.
  const providers = [...inputs.providers].sort((a, b) => cmpStr(lowerOnce(lowered, a.provider), lowerOnce(lowered, b.provider)));
  const providerIdx = new Map<string, number>();
  providers.forEach((p, i) => {
    checkWidths(p, PROVIDER_WIDTHS, "provider", p.provider);
    const key = lowerOnce(lowered, p.provider);
    if (providerIdx.has(key)) bad(MatchingErrorCode.DuplicateProvider, `provider ${p.provider} appears twice`);
    providerIdx.set(key, i);
  });
  let maxStake = 0n;
  for (const p of providers) if (p.status === ProviderStatus.Active && p.stake > maxStake) maxStake = p.stake;
  const maxStakeSqrt = isqrt(maxStake);
  const provStatic = new Float64Array(providers.length);
  providers.forEach((p, i) => {
    provStatic[i] =
      weights.uptime * p.uptimeBps +
      weights.reputation * reputationBps(p) +
      weights.slashing * slashScore(p.leasesCompleted, p.leasesFailed, p.timesSlashed) +
      weights.stake * stakeScore(p.stake, maxStakeSqrt);
  });

  // Offers: all validated, duplicates refused; those active at R_b kept, versionId ascending.
  const allOffers = [...inputs.offers].sort((a, b) => cmpBig(a.versionId, b.versionId));
  const versioned: OfferVersion[] = [];
  const versionedProvider: number[] = [];
  const activeOfferIds = new Set<bigint>();
  for (let i = 0; i < allOffers.length; i++) {
    const v = allOffers[i]!;
    validateOffer(v);
    if (i > 0 && allOffers[i - 1]!.versionId === v.versionId) bad(MatchingErrorCode.DuplicateOfferVersion, `offer version ${v.versionId} appears twice`);
    if (!isActiveAt(v, R)) continue;
    if (activeOfferIds.has(v.offerId)) bad(MatchingErrorCode.TwoActiveVersions, `offer ${v.offerId} has two versions active at block ${R}`);
    activeOfferIds.add(v.offerId);
    const pi = providerIdx.get(lowerOnce(lowered, v.provider));
    if (pi === undefined) bad(MatchingErrorCode.UnknownProvider, `offer version ${v.versionId} names provider ${v.provider}, not in the inputs`);
    versioned.push(v);
    versionedProvider.push(pi);
  }

  // Internal offer order: by (payment token, model, region, price, versionId), so that each book's offers are one
  // contiguous index range, the candidate scan reads memory in sequence and stops at the first offer of a region
  // priced above the order's max. Ties elsewhere use versionId rank.
  const n0 = versioned.length;
  const tokenIdx = new Map<string, number>();
  const offerRandom = new RandomValues(seedRaw, RANDOM_TAG_OFFER);
  const vTok = new Int32Array(n0);
  const vRegion = new Int32Array(n0);
  const vRand = new Uint32Array(n0);
  for (let i = 0; i < n0; i++) {
    const v = versioned[i]!;
    const token = lowerOnce(lowered, v.paymentToken);
    let t = tokenIdx.get(token);
    if (t === undefined) tokenIdx.set(token, (t = tokenIdx.size));
    vTok[i] = t;
    vRegion[i] = providers[versionedProvider[i]!]!.zone >> 8;
    vRand[i] = offerRandom.of(v.versionId);
  }
  const perm = Array.from({ length: n0 }, (_, i) => i).sort(
    (a, b) =>
      vTok[a]! - vTok[b]! ||
      versioned[a]!.modelId - versioned[b]!.modelId ||
      vRegion[a]! - vRegion[b]! ||
      cmpBig(versioned[a]!.pricePerGpuHour, versioned[b]!.pricePerGpuHour) ||
      a - b,
  );
  // Built by push, not by `perm.map`: map's result is a holey array from the builtin and a packed one from
  // optimised code, and code compiled for one kind of array is discarded when the other comes (docs/matching.md §11).
  const offers: OfferVersion[] = [];
  for (let i = 0; i < n0; i++) offers.push(versioned[perm[i]!]!);
  const n = n0;
  const offerRank = new Int32Array(n);
  const offerToken = new Int32Array(n);
  const offerFree = new Float64Array(n);
  const offerTotal = new Float64Array(n);
  const offerZone = new Int32Array(n);
  const offerModel = new Int32Array(n);
  const offerProvider = new Int32Array(n);
  const offerActive = new Uint8Array(n);
  const offerUptime = new Int32Array(n);
  const offerRep = new Int32Array(n);
  const offerSlashed = new Float64Array(n);
  const offerStatic = new Float64Array(n);
  const offerRand = new Uint32Array(n);
  const books = new Map<number, ModelBook>();
  for (let i = 0; i < n; i++) {
    const vi = perm[i]!;
    const v = offers[i]!;
    const pi = versionedProvider[vi]!;
    const p = providers[pi]!;
    offerRank[i] = vi;
    offerToken[i] = vTok[vi]!;
    offerFree[i] = Math.min(Math.max(v.gpuCount - v.gpusLeased, 0), FREE_GPU_CAP);
    offerTotal[i] = v.gpuCount;
    offerZone[i] = p.zone;
    offerModel[i] = v.modelId;
    offerProvider[i] = pi;
    offerActive[i] = p.status === ProviderStatus.Active ? 1 : 0;
    offerUptime[i] = p.uptimeBps;
    offerRep[i] = reputationBps(p);
    offerSlashed[i] = p.timesSlashed;
    offerStatic[i] = provStatic[pi]!;
    offerRand[i] = vRand[vi]!;
    const key = vTok[vi]! * 65_536 + v.modelId;
    let book = books.get(key);
    if (!book) books.set(key, (book = { regions: [], lo: [], hi: [], classLo: NO_INT32, classHi: NO_INT32 }));
    const region = vRegion[vi]!;
    const last = book.regions.length - 1;
    if (last >= 0 && book.regions[last] === region) book.hi[last] = i + 1;
    else {
      book.regions.push(region);
      book.lo.push(i);
      book.hi.push(i + 1);
    }
  }

  const freeClass = freeClasses(books, offerActive, offerFree, n);

  // Orders, orderId ascending.
  const orders = [...inputs.orders].sort((a, b) => cmpBig(a.orderId, b.orderId));
  const m = orders.length;
  const orderState = new Uint8Array(m);
  const orderGpus = new Float64Array(m);
  const orderShift = new Int32Array(m);
  const orderMaxShifted = new Float64Array(m);
  const orderMinUptime = new Int32Array(m);
  const orderMinRep = new Int32Array(m);
  const orderMaxSlashed = new Float64Array(m);
  const orderPrefZone = new Int32Array(m);
  const orderRand = new Uint32Array(m);
  const orderToken = new Int32Array(m);
  const orderMaskLo = new Uint32Array(m);
  const orderMaskHi = new Uint32Array(m);
  const orderAnyRegion = new Uint8Array(m);
  const orderRandom = new RandomValues(seedRaw, RANDOM_TAG_ORDER);
  for (let i = 0; i < m; i++) {
    const o = orders[i]!;
    validateOrder(o);
    if (i > 0 && orders[i - 1]!.orderId === o.orderId) bad(MatchingErrorCode.DuplicateOrder, `order ${o.orderId} appears twice`);
    orderState[i] = orderStateAt(o, R);
    orderGpus[i] = o.gpuCount;
    const s = priceShiftOf(o.maxPricePerGpuHour);
    orderShift[i] = s;
    orderMaxShifted[i] = Number(o.maxPricePerGpuHour >> BigInt(s));
    orderMinUptime[i] = o.minUptimeBps;
    orderMinRep[i] = o.minReputationBps;
    orderMaxSlashed[i] = o.maxTimesSlashed;
    orderPrefZone[i] = o.preferredZone;
    orderRand[i] = orderRandom.of(o.orderId);
    orderToken[i] = tokenIdx.get(lowerOnce(lowered, o.paymentToken)) ?? -1;
    orderAnyRegion[i] = o.regionMask === 0n ? 1 : 0;
    orderMaskLo[i] = Number(o.regionMask & 0xffffffffn);
    orderMaskHi[i] = Number(o.regionMask >> 32n);
  }

  return new PreparedBatch({
    referenceBlock: R,
    weightRegion: weights.region,
    weightPrice: weights.price,
    weightRandom: weights.random,
    weightAvailability: weights.availability,
    orders,
    orderState,
    orderGpus,
    orderShift,
    orderMaxShifted,
    orderMinUptime,
    orderMinRep,
    orderMaxSlashed,
    orderPrefZone,
    orderRand,
    orderToken,
    orderMaskLo,
    orderMaskHi,
    orderAnyRegion,
    offers,
    offerRank,
    offerToken,
    offerFree,
    offerTotal,
    offerZone,
    offerModel,
    offerProvider,
    offerActive,
    offerUptime,
    offerRep,
    offerSlashed,
    offerStatic,
    offerRand,
    providers,
    books,
    freeClass,
    modelsFromTier,
  });
}

/** The GPU-class lists of ModelBook.classLo, and each book's ranges in them. */
function freeClasses(books: Map<number, ModelBook>, offerActive: Uint8Array, offerFree: Float64Array, n: number): Int32Array[] {
  const lists: Int32Array[] = [];
  for (let c = 0; c < FREE_CLASSES.length; c++) lists.push(new Int32Array(n)); // push: see `offers` in prepareBatch
  const fill = [0, 0, 0, 0];
  // Books in the Map's order, which is offer index order (each book was added at its first offer, and a book's
  // offers are one contiguous range), so that each class list stays in offer index order.
  for (const book of books.values()) {
    const R = book.regions.length;
    book.classLo = new Int32Array(FREE_CLASSES.length * R);
    book.classHi = new Int32Array(FREE_CLASSES.length * R);
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < FREE_CLASSES.length; c++) book.classLo[c * R + r] = fill[c]!;
      for (let f = book.lo[r]!; f < book.hi[r]!; f++) {
        if (offerActive[f] === 0) continue;
        for (let c = 0; c < FREE_CLASSES.length && offerFree[f]! >= FREE_CLASSES[c]!; c++) lists[c]![fill[c]!++] = f;
      }
      for (let c = 0; c < FREE_CLASSES.length; c++) book.classHi[c * R + r] = fill[c]!;
    }
  }
  return lists;
}

/** Model ids an order accepts: its own, or (modelId 0) every catalog model of tier ≥ minTier. */
export function modelsOf(b: PreparedBatch, o: Order): ReadonlyArray<number> {
  return o.modelId === 0 ? b.modelsFromTier[o.minTier]! : [o.modelId];
}

export function regionAllowed(b: PreparedBatch, orderIndex: number, region: number): boolean {
  if (b.orderAnyRegion[orderIndex] === 1) return true;
  if (region >= 64) return false;
  return region < 32 ? ((b.orderMaskLo[orderIndex]! >>> region) & 1) === 1 : ((b.orderMaskHi[orderIndex]! >>> (region - 32)) & 1) === 1;
}

/**
 * Every candidate pair of the batch (docs §4): for each order, the offers that pass all pair filters, with the
 * capacity filter taken against the free GPUs at R_b (the engine re-checks it against what this batch has taken),
 * and each pair's base score (docs §6: the weighted criteria except availability). Compressed rows by order:
 * the pairs of order i are [start[i], start[i+1]), offers listed model by model (ascending), region by region
 * (ascending), then by price ascending, ties versionId ascending. A class, for the reason PreparedBatch is one.
 */
export class Candidates {
  constructor(
    readonly start: Int32Array,
    readonly offer: Int32Array,
    /** ≤ 10 000 × 10 000 < 2^31. */
    readonly base: Int32Array,
  ) {}
}

/** A copy of `a` in a new array of `size` entries (size ≥ a.length; the rest is 0): how the growable buffers grow. */
export function grownInt32(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** grownInt32 for a Float64Array (the growable buffers' values above 2^31). */
export function grownFloat64(a: Float64Array, size: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}

/**
 * Reusable memory for candidate lists. Fresh memory costs page faults on first touch (≈ 0.2 s for the 35 MB of a
 * 10 000 × 10 000 batch on the machines measured), so an operator matching batch after batch keeps one pool; the
 * lists returned by buildCandidates then live in it until the next call that uses the same pool.
 */
export class ScratchPool {
  private readonly arrays = new Map<string, Int32Array>();
  /** The array `name` with room for at least `size` entries; its first `keep` entries are kept when it grows. */
  int32(name: string, size: number, keep = 0): Int32Array {
    let a = this.arrays.get(name);
    if (!a || a.length < size) {
      const grown = new Int32Array(Math.ceil(size * 1.25) + 16);
      if (a && keep > 0) grown.set(a.subarray(0, keep));
      a = grown;
      this.arrays.set(name, a);
    }
    return a;
  }
}

/**
 * The candidate arrays' first size, in pairs per order. They grow (keeping what is written) before the scan of a
 * book region could write past their end. Not sized for the sum of all allowed books: on a batch with catch-all orders that is about
 * seven times the pairs kept, and V8 answers a first allocation of that much outside its heap (over 100 MB for
 * 10 000 × 10 000) with full garbage collections in the middle of the batch.
 */
const CANDIDATES_PER_ORDER = 256;

/** `cap`: CANDIDATE_CAP for the matcher; the reference solvers pass Infinity to see every feasible pair. */
export function buildCandidates(b: PreparedBatch, pool: ScratchPool = new ScratchPool(), cap: number = CANDIDATE_CAP): Candidates {
  const m = b.orders.length;
  const start = new Int32Array(m + 1);
  const w = candidateWriter;
  w.pool = pool;
  w.offer = pool.int32("candOffer", CANDIDATES_PER_ORDER * m);
  w.base = pool.int32("candBase", CANDIDATES_PER_ORDER * m);
  let n = 0;
  for (let oi = 0; oi < m; oi++) {
    start[oi] = n;
    if (b.orderState[oi] === 0 && b.orderToken[oi]! >= 0) n = orderCandidates(b, w, oi, n, cap);
  }
  start[m] = n;
  const out = new Candidates(start, w.offer.subarray(0, n), w.base.subarray(0, n));
  // Nothing of this batch stays reachable from the process-wide writer.
  w.pool = NO_POOL;
  w.offer = w.base = NO_INT32;
  return out;
}

/** Where buildCandidates writes: the pool's arrays, replaced when they grow. One per process (the build is synchronous). */
class CandidateWriter {
  pool: ScratchPool = NO_POOL;
  offer: Int32Array = NO_INT32;
  base: Int32Array = NO_INT32;
}
const NO_INT32 = new Int32Array(0);
const NO_POOL = new ScratchPool();
const candidateWriter = new CandidateWriter();

/**
 * Writes order oi's candidate pairs from position `from` on and returns their end. A function of its own, called
 * once per order, so that it is compiled after a few hundred orders instead of waiting for an on-stack
 * replacement of one long loop (docs/matching.md §11).
 */
function orderCandidates(b: PreparedBatch, w: CandidateWriter, oi: number, from: number, cap: number): number {
  let n = from;
  const tok = b.orderToken[oi]!;
  const o = b.orders[oi]!;
  const g = b.orderGpus[oi]!;
  const cls = freeClassOf(g);
  const list = b.freeClass[cls]!;
  const M = b.orderMaxShifted[oi]!;
  const maxPrice = o.maxPricePerGpuHour;
  const prices = b.shiftedPrices(b.orderShift[oi]!);
  const minUp = b.orderMinUptime[oi]!;
  const minRep = b.orderMinRep[oi]!;
  const maxSl = b.orderMaxSlashed[oi]!;
  const pref = b.orderPrefZone[oi]!;
  const prefRegion = pref >> 8;
  const ro = b.orderRand[oi]!;
  let minBase = 0;
  let counting = false;
  let top = 0; // highest bucket counted
  for (const model of modelsOf(b, o)) {
    const book = b.books.get(tok * 65_536 + model);
    if (!book) continue;
    for (let r = 0; r < book.regions.length; r++) {
      const region = book.regions[r]!;
      if (!regionAllowed(b, oi, region)) continue;
      // Region score is per zone only inside the preferred region; elsewhere it is constant for the list.
      const regionConst = pref === 0 ? BPS : region === prefRegion ? -1 : 0;
      const before = n;
      const at = cls * book.regions.length + r;
      const lo = book.classLo[at]!;
      const hi = book.classHi[at]!;
      // Room for every offer of the list before the scan, so the hot loop never grows an array.
      if (n + hi - lo > w.offer.length) {
        w.offer = w.pool.int32("candOffer", n + hi - lo, n);
        w.base = w.pool.int32("candBase", n + hi - lo, n);
      }
      const { offer, base } = w;
      n = scanBook(b, list, lo, hi, offer, base, n, M, prices, maxPrice, minUp, minRep, maxSl, g, regionConst, pref, ro, minBase);
      // More pairs than the cap (a catch-all order): count them by base in coarse buckets and skip, from then on,
      // every pair below the highest bucket edge that at least `cap` pairs reach — those pairs can never be kept.
      // Speed only: keepBest below then picks from a short list, with the same result as from the full one.
      if (n - from > cap) {
        if (!counting) {
          counting = true;
          hist.fill(0);
          top = 0;
          for (let e = from; e < before; e++) {
            const k = base[e]! >>> HIST_SHIFT;
            hist[k]!++;
            if (k > top) top = k;
          }
        }
        for (let e = before; e < n; e++) {
          const k = base[e]! >>> HIST_SHIFT;
          hist[k]!++;
          if (k > top) top = k;
        }
        let above = 0;
        let k = top;
        for (; k > 0; k--) {
          above += hist[k]!;
          if (above >= cap) break;
        }
        minBase = k << HIST_SHIFT;
        if (n - from > 2 * cap) {
          // Drop what fell below the floor (stable: the list keeps its order).
          let kept = from;
          for (let e = from; e < n; e++) {
            if (base[e]! < minBase) continue;
            offer[kept] = offer[e]!;
            base[kept] = base[e]!;
            kept++;
          }
          n = kept;
        }
      }
    }
  }
  if (n - from > cap) {
    // The histogram counts every listed pair of bucket ≥ the floor's: those above the floor's bucket (fewer than
    // `cap`) are all kept, and only the floor's bucket needs a selection.
    const k = minBase >>> HIST_SHIFT;
    let above = 0;
    for (let j = k + 1; j <= top; j++) above += hist[j]!;
    n = keepBest(b, w.offer, w.base, from, n, cap - above, minBase, (k + 1) << HIST_SHIFT);
  }
  return n;
}

/**
 * docs §4: an order keeps at most this many candidate pairs, its best by (base desc, versionId asc). Bounds the
 * work per order whatever the book sizes (an order for "any model, any region, any price" would otherwise pair with
 * every offer); realistic orders rarely have more, and the best of them almost always hold the order's match.
 */
export const CANDIDATE_CAP = 512;

/** Pruning histogram of buildCandidates: bases (< 2^27, §12) in 1 024 buckets of 2^17. */
const HIST_SHIFT = 17;
const HIST_BUCKETS = 1 << 10;
const hist = new Int32Array(HIST_BUCKETS);

/**
 * Keeps, of the pairs [from, to), every one with base ≥ `high`, and the `need` best by (base desc, versionId asc) of
 * those with `low` ≤ base < `high` (there are at least `need`), in their listed order; returns the new end. With
 * the histogram's edges this is the `cap` best of the list: fewer than `cap` lie above `high`, none kept lies below
 * `low`.
 */
function keepBest(b: PreparedBatch, offer: Int32Array, base: Int32Array, from: number, to: number, need: number, low: number, high: number): number {
  const rank = b.offerRank;
  // Min-heap (worst selected pair on top) of positions in the band [low, high), `need` of them.
  if (keepHeap.length < need) keepHeap = new Int32Array(need);
  const heap = keepHeap;
  let filled = 0;
  let e = from;
  for (; e < to && filled < need; e++) {
    const v = base[e]!;
    if (v >= low && v < high) heap[filled++] = e;
  }
  for (let i = (need >> 1) - 1; i >= 0; i--) siftDown(heap, need, i, offer, base, rank);
  for (; e < to; e++) {
    const v = base[e]!;
    if (v < low || v >= high) continue;
    if (worse(heap[0]!, e, offer, base, rank)) {
      heap[0] = e;
      siftDown(heap, need, 0, offer, base, rank);
    }
  }
  if (keepMark.length < to - from) keepMark = new Uint8Array(to - from);
  const keep = keepMark;
  keep.fill(0, 0, to - from);
  for (let i = 0; i < need; i++) keep[heap[i]! - from] = 1;
  let w = from;
  for (let e2 = from; e2 < to; e2++) {
    if (keep[e2 - from] === 0 && base[e2]! < high) continue;
    offer[w] = offer[e2]!;
    base[w] = base[e2]!;
    w++;
  }
  return w;
}

/** keepBest's scratch: its heap and its marks, grown to the largest list seen and reused. */
let keepHeap = new Int32Array(0);
let keepMark = new Uint8Array(0);

/** Pair x is worse than pair y: smaller base, or the same base and a larger versionId rank. */
function worse(x: number, y: number, offer: Int32Array, base: Int32Array, rank: Int32Array): boolean {
  return base[x]! < base[y]! || (base[x] === base[y] && rank[offer[x]!]! > rank[offer[y]!]!);
}

function siftDown(heap: Int32Array, size: number, i: number, offer: Int32Array, base: Int32Array, rank: Int32Array): void {
  const x = heap[i]!;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    if (c + 1 < size && worse(heap[c + 1]!, heap[c]!, offer, base, rank)) c++;
    if (!worse(heap[c]!, x, offer, base, rank)) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = x;
}

/**
 * The hot loop of buildCandidates over the offers list[lo, hi) of one book region and GPU class; a plain function of
 * plain values, for the JIT.
 */
function scanBook(
  b: PreparedBatch,
  list: Int32Array,
  lo: number,
  hi: number,
  outOffer: Int32Array,
  outBase: Int32Array,
  n: number,
  M: number,
  prices: Float64Array,
  maxPrice: bigint,
  minUp: number,
  minRep: number,
  maxSl: number,
  g: number,
  regionConst: number,
  pref: number,
  ro: number,
  minBase: number,
): number {
  const { offerUptime, offerRep, offerSlashed, offerFree, offerZone, offerStatic, offerRand, offers } = b;
  const wRegion = b.weightRegion;
  const wPrice = b.weightPrice;
  const wRandom = b.weightRandom;
  const randomTop = wRandom * SCORE_TOP;
  for (let j = lo; j < hi; j++) {
    const f = list[j]!;
    const P = prices[f]!;
    // Offers of a region are listed by price: the first above the order's max ends the book's eligible part.
    if (P > M || (P === M && offers[f]!.pricePerGpuHour > maxPrice)) break;
    if (offerUptime[f]! < minUp || offerRep[f]! < minRep || offerSlashed[f]! > maxSl) continue;
    if (offerFree[f]! < g) continue;
    const rs = regionConst >= 0 ? regionConst : offerZone[f] === pref ? SCORE_TOP : SCORE_TOP / 2;
    const fixed = wRegion * rs + wPrice * priceScore(M, P) + offerStatic[f]!;
    // Below the pruning floor even with the best random term: skip the mix (minBase is 0 unless the cap applies).
    if (fixed + randomTop < minBase) continue;
    const v = fixed + wRandom * mixRandom(ro, offerRand[f]!);
    if (v < minBase) continue;
    outOffer[n] = f;
    outBase[n] = v;
    n++;
  }
  return n;
}

/** BPS as a module constant: read in the hot loop above. */
const SCORE_TOP = BPS;

/**
 * Whether (order oi, offer f) passes the filters of scanBook, applied to one pair: the definition the tests check
 * the candidate index against (with pairBase). The phases look a pair up in the candidate lists instead (pairIndex
 * in engine.ts), which also tells whether CANDIDATE_CAP cut it.
 */
export function isCandidate(b: PreparedBatch, oi: number, f: number): boolean {
  if (b.orderState[oi] !== 0 || b.offerActive[f] === 0 || b.offerToken[f] !== b.orderToken[oi]) return false;
  const o = b.orders[oi]!;
  const v = b.offers[f]!;
  if (o.modelId === 0 ? !b.modelsFromTier[o.minTier]!.includes(v.modelId) : v.modelId !== o.modelId) return false;
  if (!regionAllowed(b, oi, b.offerZone[f]! >> 8)) return false;
  if (v.pricePerGpuHour > o.maxPricePerGpuHour) return false;
  if (b.offerUptime[f]! < o.minUptimeBps || b.offerRep[f]! < o.minReputationBps || b.offerSlashed[f]! > o.maxTimesSlashed) return false;
  return b.offerFree[f]! >= o.gpuCount;
}

/** The base score of one pair by the criteria's definitions (docs §5), for checks against buildCandidates. */
export function pairBase(b: PreparedBatch, oi: number, f: number): number {
  const M = b.orderMaxShifted[oi]!;
  const P = b.shiftedPrices(b.orderShift[oi]!)[f]!;
  return (
    b.weightRegion * regionScore(b.orderPrefZone[oi]!, b.offerZone[f]!) +
    b.weightPrice * priceScore(M, P) +
    b.offerStatic[f]! +
    b.weightRandom * mixRandom(b.orderRand[oi]!, b.offerRand[f]!)
  );
}
