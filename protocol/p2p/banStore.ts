/**
 * The peer guard's bans on disk, so that a restarted node keeps refusing what it refused before (docs/operator.md,
 * "Peer protection"): without them a banned peer is heard again the moment the node is back, with a fresh budget.
 *
 * Key = kind(1: 0 peer id, 1 IP) ‖ the id's UTF-8 bytes. Value = version(1) ‖ until (uint64 BE, ms since the epoch).
 * A ban is one small synced write; bans are rare (a peer that sent rejectsBeforeBan invalid messages), so the fsync
 * costs nothing measurable.
 */
import { Bucket } from "../db/buckets.js";
import type { KvController } from "../db/controller.js";
import { concatBytes, readUint64BE, uint64BE } from "../db/keys.js";
import { Repository } from "../db/repository.js";

export type BanKind = "peer" | "ip";

export interface BanId {
  kind: BanKind;
  /** A peer id (base58) or an IP address as the guard spells it. */
  id: string;
}

const KIND_BYTE: Record<BanKind, number> = { peer: 0, ip: 1 };
const VALUE_VERSION = 1;

/** What the guard needs to keep bans across restarts: a write per ban and one read at start. */
export interface BanStore {
  put(ban: BanId, until: number): Promise<void>;
  /** Bans still in force at `now` (until > now); expired ones are deleted on the way. */
  loadActive(now: number): Promise<{ ban: BanId; until: number }[]>;
}

export class BanRepository extends Repository<BanId, number> implements BanStore {
  constructor(db: KvController) {
    super(db, Bucket.PeerBan);
  }

  async loadActive(now: number): Promise<{ ban: BanId; until: number }[]> {
    const active: { ban: BanId; until: number }[] = [];
    const expired: BanId[] = [];
    for await (const { id, value } of this.entries()) {
      if (value > now) active.push({ ban: id, until: value });
      else expired.push(id);
    }
    if (expired.length > 0) await this.batchDelete(expired);
    return active;
  }

  protected encodeId(ban: BanId): Uint8Array {
    return concatBytes(Uint8Array.of(KIND_BYTE[ban.kind]), new TextEncoder().encode(ban.id));
  }

  protected decodeId(key: Uint8Array): BanId {
    const kind = key[0] === KIND_BYTE.peer ? "peer" : key[0] === KIND_BYTE.ip ? "ip" : undefined;
    // Like the node's other records: a key it cannot read stops the node rather than being guessed.
    if (kind === undefined) throw new Error(`peer ban record corrupt: kind byte ${key[0]}`);
    return { kind, id: new TextDecoder().decode(key.subarray(1)) };
  }

  protected encodeValue(until: number): Uint8Array {
    return concatBytes(Uint8Array.of(VALUE_VERSION), uint64BE(BigInt(until)));
  }

  protected decodeValue(bytes: Uint8Array): number {
    if (bytes.length !== 9 || bytes[0] !== VALUE_VERSION) throw new Error(`peer ban record corrupt: ${bytes.length} bytes, version ${bytes[0]}`);
    return Number(readUint64BE(bytes, 1));
  }
}
