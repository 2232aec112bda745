/**
 * Batch sync: a request/response protocol next to gossip, for the one thing gossip cannot do — give a node the
 * seed and partials of a batch that went round before it was listening. gossipsub has no history: a node that
 * (re)starts while a batch is open, after the leader's seed and the others' partials were gossiped, would never see
 * them, and as a fallback leader it could even sign a seed of its own and split the quorum.
 *
 * Protocol `/matchnet/1/batch-sync/<chainId>`, one request per stream:
 *   request   version(1) ‖ batch(8)                                                            = 9 bytes
 *   response  version(1) ‖ count(2) ‖ count × ( topic(1) ‖ message )   topic 0 = seed (105 bytes), 1 = partial (233)
 * The requester half-closes after its request; the responder writes its answer and closes. Messages in a response
 * are the exact gossip bytes the responder accepted or published, and the requester runs each through the same
 * topic validator and processor as gossip (seeds first), so a lying responder can feed nothing that gossip would
 * not accept. Verdicts are counted in `matchnet_gossip_validation_total` like gossip's.
 */
import { readUint64BE, uint64BE } from "../db/keys.js";
import { PARTIAL_MESSAGE_BYTES, SEED_MESSAGE_BYTES, WIRE_VERSION } from "./messages.js";
import { GossipTopicName } from "./topics.js";

export const BATCH_SYNC_PROTOCOL_VERSION = 1;

export function batchSyncProtocol(chainId: number | bigint): string {
  return `/matchnet/${BATCH_SYNC_PROTOCOL_VERSION}/batch-sync/${chainId}`;
}

/** Topics a sync response carries, with their wire tag and fixed message size. */
const SYNC_TOPICS: readonly { name: GossipTopicName; tag: number; bytes: number }[] = [
  { name: GossipTopicName.Seed, tag: 0, bytes: SEED_MESSAGE_BYTES },
  { name: GossipTopicName.Partial, tag: 1, bytes: PARTIAL_MESSAGE_BYTES },
];

export const SYNC_REQUEST_BYTES = 1 + 8;
/** Most messages in one response: a seed per fallback leader and two partials (equivocation) per operator. */
export const MAX_SYNC_MESSAGES = 2_048;
export const MAX_SYNC_RESPONSE_BYTES = 3 + MAX_SYNC_MESSAGES * (1 + PARTIAL_MESSAGE_BYTES);

export class BatchSyncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BatchSyncError";
  }
}

export interface SyncMessage {
  topic: GossipTopicName;
  data: Uint8Array;
}

export function isSyncTopic(name: GossipTopicName): boolean {
  return SYNC_TOPICS.some((t) => t.name === name);
}

export function encodeSyncRequest(batch: bigint): Uint8Array {
  const out = new Uint8Array(SYNC_REQUEST_BYTES);
  out[0] = WIRE_VERSION;
  out.set(uint64BE(batch), 1);
  return out;
}

export function decodeSyncRequest(data: Uint8Array): bigint {
  if (data.length !== SYNC_REQUEST_BYTES) throw new BatchSyncError(`sync request of ${data.length} bytes, expected ${SYNC_REQUEST_BYTES}`);
  if (data[0] !== WIRE_VERSION) throw new BatchSyncError(`sync request version ${data[0]}, expected ${WIRE_VERSION}`);
  return readUint64BE(data, 1);
}

/** Seeds first: a partial is cheapest to check once the seed it carries is verified. */
export function encodeSyncResponse(messages: readonly SyncMessage[]): Uint8Array {
  const ordered = SYNC_TOPICS.flatMap((t) => messages.filter((m) => m.topic === t.name).map((m) => ({ t, m })));
  if (ordered.length > MAX_SYNC_MESSAGES) ordered.length = MAX_SYNC_MESSAGES;
  const out = new Uint8Array(3 + ordered.reduce((n, { t }) => n + 1 + t.bytes, 0));
  out[0] = WIRE_VERSION;
  new DataView(out.buffer).setUint16(1, ordered.length, false);
  let at = 3;
  for (const { t, m } of ordered) {
    if (m.data.length !== t.bytes) throw new RangeError(`${t.name} message of ${m.data.length} bytes, expected ${t.bytes}`);
    out[at] = t.tag;
    out.set(m.data, at + 1);
    at += 1 + t.bytes;
  }
  return out;
}

export function decodeSyncResponse(data: Uint8Array): SyncMessage[] {
  if (data.length < 3) throw new BatchSyncError(`sync response of ${data.length} bytes is shorter than its header`);
  if (data.length > MAX_SYNC_RESPONSE_BYTES) throw new BatchSyncError(`sync response of ${data.length} bytes exceeds ${MAX_SYNC_RESPONSE_BYTES}`);
  if (data[0] !== WIRE_VERSION) throw new BatchSyncError(`sync response version ${data[0]}, expected ${WIRE_VERSION}`);
  const count = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint16(1, false);
  if (count > MAX_SYNC_MESSAGES) throw new BatchSyncError(`sync response claims ${count} messages, more than ${MAX_SYNC_MESSAGES}`);
  const out: SyncMessage[] = [];
  let at = 3;
  for (let i = 0; i < count; i++) {
    const t = SYNC_TOPICS.find((x) => x.tag === data[at]);
    if (t === undefined) throw new BatchSyncError(`sync response message ${i}: unknown topic tag ${data[at]}`);
    if (at + 1 + t.bytes > data.length) throw new BatchSyncError(`sync response message ${i} is truncated`);
    out.push({ topic: t.name, data: data.slice(at + 1, at + 1 + t.bytes) });
    at += 1 + t.bytes;
  }
  if (at !== data.length) throw new BatchSyncError(`sync response has ${data.length - at} bytes after its ${count} messages`);
  return out;
}

/**
 * What a node can answer with: the seed and partial bytes it accepted or published, per batch, for the newest
 * `retainBatches` batches. Identical bytes are kept once.
 */
export class SyncStore {
  private readonly byBatch = new Map<bigint, Map<string, SyncMessage>>();

  constructor(private readonly retainBatches: number) {}

  add(topic: GossipTopicName, data: Uint8Array): void {
    if (!isSyncTopic(topic) || data.length < SYNC_REQUEST_BYTES) return;
    const batch = readUint64BE(data, 1);
    let messages = this.byBatch.get(batch);
    if (messages === undefined) {
      this.byBatch.set(batch, (messages = new Map()));
      this.prune();
      if (!this.byBatch.has(batch)) return; // older than everything retained
    }
    if (messages.size >= MAX_SYNC_MESSAGES) return;
    messages.set(`${topic}:${Buffer.from(data).toString("hex")}`, { topic, data: Uint8Array.from(data) });
  }

  messages(batch: bigint): SyncMessage[] {
    return [...(this.byBatch.get(batch)?.values() ?? [])];
  }

  private prune(): void {
    if (this.byBatch.size <= this.retainBatches) return;
    const sorted = [...this.byBatch.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const b of sorted.slice(0, sorted.length - this.retainBatches)) this.byBatch.delete(b);
  }
}
