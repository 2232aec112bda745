import { expect } from "chai";
import type { Hex } from "viem";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { GossipAction, GossipErrorCode, GossipValidationError } from "../../protocol/p2p/errors.js";
import {
  MAX_ASSIGNMENTS,
  PARTIAL_MESSAGE_BYTES,
  SEED_MESSAGE_BYTES,
  decodePartialSignatureMessage,
  decodeResultListMessage,
  decodeSeedMessage,
  encodePartialSignatureMessage,
  encodeResultListMessage,
  encodeSeedMessage,
} from "../../protocol/p2p/messages.js";
import { BN254_P, decodeG1, encodeG1, PointEncodingError } from "../../protocol/p2p/points.js";
import { GossipTopicName, parseTopic, topicString } from "../../protocol/p2p/topics.js";
import { g1Multiple } from "../support/g1.js";
import { seedFromSignature } from "../../protocol/avs/messages.js";

const H1: Hex = `0x${"aa".repeat(32)}`;
const OP = toOperatorId(`0x${"0b".repeat(32)}`);

function expectGossipError(fn: () => unknown, action: GossipAction, code: GossipErrorCode): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(GossipValidationError);
    expect({ action: (err as GossipValidationError).action, code: (err as GossipValidationError).code }).to.deep.equal({ action, code });
    return;
  }
  expect.fail(`expected ${action} ${code}`);
}

describe("protocol/p2p messages", () => {
  describe("given topic names", () => {
    it("should build /matchnet/2/<name>/<chainId> and parse it back", () => {
      expect(topicString(GossipTopicName.ResultList, 31337)).to.equal("/matchnet/2/result-list/31337");
      expect(parseTopic("/matchnet/2/partial/31337")).to.deep.equal({ name: GossipTopicName.Partial, chainId: 31337n });
      // Version 1 (anonymous result lists) and a later version are other wire formats: not ours.
      expect(parseTopic("/matchnet/1/partial/31337")).to.equal(undefined);
      expect(parseTopic("/matchnet/3/partial/31337")).to.equal(undefined);
      expect(parseTopic("/matchnet/2/other/1")).to.equal(undefined);
    });
  });

  describe("given G1 points", () => {
    it("should round-trip a curve point in the EVM encoding (x ‖ y, big-endian)", () => {
      const p = g1Multiple(12345n);
      const bytes = encodeG1(p);
      expect(bytes.length).to.equal(64);
      expect(decodeG1(bytes)).to.deep.equal(p);
      expect(Buffer.from(encodeG1({ X: 1n, Y: 2n })).toString("hex")).to.equal("00".repeat(31) + "01" + "00".repeat(31) + "02");
    });
    it("should refuse infinity, off-curve points and coordinates ≥ p, each with its code", () => {
      const codeOf = (bytes: Uint8Array) => {
        try {
          decodeG1(bytes);
        } catch (e) {
          return (e as PointEncodingError).code;
        }
        return "accepted";
      };
      expect(codeOf(new Uint8Array(64))).to.equal("PointAtInfinity");
      expect(codeOf(encodeG1({ X: 1n, Y: 3n }))).to.equal("PointNotOnCurve");
      expect(codeOf(encodeG1({ X: 1n + BN254_P, Y: 2n }))).to.equal("PointCoordinateRange");
      expect(codeOf(new Uint8Array(63))).to.equal("PointLength");
    });
  });

  describe("given a seed message", () => {
    const seed = { batch: 42n, signer: OP, signature: g1Multiple(7n) };
    it("should round-trip in exactly SEED_MESSAGE_BYTES", () => {
      const bytes = encodeSeedMessage(seed);
      expect(bytes.length).to.equal(SEED_MESSAGE_BYTES);
      expect(decodeSeedMessage(bytes)).to.deep.equal(seed);
    });
    it("should reject extra bytes as TooLarge, missing bytes as Malformed, another version as UnknownVersion", () => {
      const bytes = encodeSeedMessage(seed);
      expectGossipError(() => decodeSeedMessage(Uint8Array.from([...bytes, 0])), GossipAction.Reject, GossipErrorCode.TooLarge);
      expectGossipError(() => decodeSeedMessage(bytes.subarray(1)), GossipAction.Reject, GossipErrorCode.Malformed);
      const v2 = Uint8Array.from(bytes);
      v2[0] = 2;
      expectGossipError(() => decodeSeedMessage(v2), GossipAction.Reject, GossipErrorCode.UnknownVersion);
    });
  });

  describe("given a partial signature message", () => {
    const seedSignature = g1Multiple(5n);
    const partial = {
      batch: (1n << 64n) - 1n,
      resultHash: H1,
      operatorId: OP,
      signature: g1Multiple(9n),
      seedSigner: toOperatorId(`0x${"1e".repeat(32)}`),
      seedSignature,
      seed: seedFromSignature({ X: seedSignature.X, Y: seedSignature.Y }),
    };
    it("should round-trip in exactly PARTIAL_MESSAGE_BYTES, batch as uint64, the seed derived from the seed signature", () => {
      const bytes = encodePartialSignatureMessage(partial);
      expect(bytes.length).to.equal(PARTIAL_MESSAGE_BYTES);
      expect(decodePartialSignatureMessage(bytes)).to.deep.equal(partial);
    });
    it("given its ids in mixed case where they entered → it should send the lower-case id's bytes and decode to that same id", () => {
      // An id as a config file or an explorer may spell it; toOperatorId is where it enters the process.
      const mixed = `0x${"aB0c".repeat(16)}`;
      const lower = `0x${"ab0c".repeat(16)}`;
      const m = { ...partial, operatorId: toOperatorId(mixed), seedSigner: toOperatorId(mixed) };
      const bytes = encodePartialSignatureMessage(m);
      expect(bytes).to.deep.equal(encodePartialSignatureMessage({ ...partial, operatorId: toOperatorId(lower), seedSigner: toOperatorId(lower) }));
      expect(Buffer.from(bytes.subarray(41, 73)).toString("hex")).to.equal(lower.slice(2));
      const decoded = decodePartialSignatureMessage(bytes);
      // Plain ===, no toLowerCase(): both sides are the one spelling.
      expect(decoded.operatorId === toOperatorId(mixed)).to.equal(true);
      expect(decoded.seedSigner === toOperatorId(lower)).to.equal(true);
      expect(decodeSeedMessage(encodeSeedMessage({ batch: 1n, signer: toOperatorId(mixed), signature: g1Multiple(2n) })).signer).to.equal(lower);
    });
    it("should refuse to encode a seed that is not keccak256 of the seed signature", () => {
      expect(() => encodePartialSignatureMessage({ ...partial, seed: `0x${"5e".repeat(32)}` })).to.throw(RangeError, /not keccak256 of the seed signature/);
    });
    it("should reject a signature or seed signature that is not a curve point as InvalidPoint", () => {
      for (const at of [100, PARTIAL_MESSAGE_BYTES - 1]) {
        const bytes = encodePartialSignatureMessage(partial);
        bytes[at]! ^= 1;
        expectGossipError(() => decodePartialSignatureMessage(bytes), GossipAction.Reject, GossipErrorCode.InvalidPoint);
      }
    });
  });

  describe("given a result list message (its publisher's partial, then the list)", () => {
    const seedSignature = g1Multiple(5n);
    const list = {
      batch: 3n,
      resultHash: H1,
      operatorId: OP,
      signature: g1Multiple(9n),
      seedSigner: OP,
      seedSignature,
      seed: seedFromSignature({ X: seedSignature.X, Y: seedSignature.Y }),
      assignments: [
        { orderId: 1n, offerVersionId: 10n, gpuCount: 2, pricePerGpuHour: (1n << 128n) - 1n },
        { orderId: 5n, offerVersionId: 11n, gpuCount: 0xffff_ffff, pricePerGpuHour: 0n },
      ],
    };
    it("should round-trip, including uint128 prices and uint32 counts at their maxima", () => {
      expect(decodeResultListMessage(encodeResultListMessage(list))).to.deep.equal(list);
      expect(decodeResultListMessage(encodeResultListMessage({ ...list, assignments: [] })).assignments).to.deep.equal([]);
    });
    it("should reject a count that disagrees with the length as Malformed", () => {
      const bytes = encodeResultListMessage(list);
      expectGossipError(() => decodeResultListMessage(bytes.subarray(0, bytes.length - 1)), GossipAction.Reject, GossipErrorCode.Malformed);
      expectGossipError(() => decodeResultListMessage(bytes.subarray(0, 10)), GossipAction.Reject, GossipErrorCode.Malformed);
    });
    it("should reject more than the hard size limit as TooLarge before reading it", () => {
      expectGossipError(() => decodeResultListMessage(new Uint8Array(233 + 4 + (MAX_ASSIGNMENTS + 1) * 36)), GossipAction.Reject, GossipErrorCode.TooLarge);
    });
    it("should refuse to encode values that do not fit their wire width", () => {
      expect(() => encodeResultListMessage({ ...list, assignments: [{ ...list.assignments[0]!, pricePerGpuHour: 1n << 128n }] })).to.throw(RangeError);
    });
  });
});
