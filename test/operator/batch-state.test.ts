/**
 * The per-batch state machine alone (operator/batchState.ts), without libp2p or a chain: every phase is reached by
 * allowed events only, then every event is applied to it — the allowed ones must land in the documented phase, every
 * other one must be refused with BatchPhaseError and leave the phase as it was.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { BatchStatus, type ClosedBatch, type VerifiedSeed } from "../../protocol/chain/batches.js";
import { toOperatorId } from "../../protocol/chain/ids.js";
import { BatchEvent, BatchPhase, BatchPhaseError, BatchPhaseErrorCode, BatchState, BatchStates, type SignedDecision } from "../../operator/batchState.js";

const LEADER = toOperatorId(`0x${"aa".repeat(32)}`);

function close(batch = 5n): ClosedBatch {
  return { batch, referenceBlock: 99n, closedAt: 100n, seedMessageHash: `0x${"01".repeat(32)}`, leaderOrder: [LEADER] };
}

function seed(rank: number): VerifiedSeed {
  return { seed: `0x${rank.toString(16).padStart(64, "0")}` as Hex, signature: { X: 1n, Y: 2n }, rank, signer: LEADER };
}

const DECISION: SignedDecision = {
  batch: 5n,
  seed: `0x${"02".repeat(32)}`,
  seedRank: 0,
  seedSigner: LEADER,
  seedSignature: { X: 1n, Y: 2n },
  assignmentsHash: `0x${"03".repeat(32)}`,
  assignments: [],
  messageHash: `0x${"04".repeat(32)}`,
  signature: { X: 3n, Y: 4n },
  fresh: true,
};

/** A batch state brought to `phase` through allowed events only. */
function reach(phase: BatchPhase): BatchState {
  const st = new BatchState(close(), false);
  const steps: Record<BatchPhase, (s: BatchState) => void> = {
    [BatchPhase.Closed]: () => {},
    [BatchPhase.CheckingMembership]: (s) => s.apply(BatchEvent.CheckMembership),
    [BatchPhase.Observer]: (s) => (s.apply(BatchEvent.CheckMembership), s.apply(BatchEvent.MembershipKnown, false)),
    [BatchPhase.AwaitingSeed]: (s) => (s.apply(BatchEvent.CheckMembership), s.apply(BatchEvent.MembershipKnown, true)),
    [BatchPhase.SeedKnown]: (s) => (steps[BatchPhase.AwaitingSeed](s), s.addSeed(seed(0))),
    [BatchPhase.Deciding]: (s) => (steps[BatchPhase.SeedKnown](s), s.apply(BatchEvent.Decide)),
    [BatchPhase.DecideFailed]: (s) => (steps[BatchPhase.Deciding](s), s.recordFailed(true)),
    [BatchPhase.Refused]: (s) => (steps[BatchPhase.Deciding](s), s.recordFailed(false)),
    [BatchPhase.Signed]: (s) => (steps[BatchPhase.Deciding](s), s.recordSigned(DECISION)),
    [BatchPhase.Final]: (s) => s.apply(BatchEvent.Finalized),
    [BatchPhase.Abandoned]: (s) => s.apply(BatchEvent.Abandoned),
  };
  steps[phase](st);
  expect(st.phase, `reaching ${phase}`).to.equal(phase);
  return st;
}

const settle = { [BatchEvent.Finalized]: BatchPhase.Final, [BatchEvent.Abandoned]: BatchPhase.Abandoned };

/** The allowed transitions, as docs/operator.md draws them (MembershipKnown with member = true here). */
const ALLOWED: Record<BatchPhase, Partial<Record<BatchEvent, BatchPhase>>> = {
  [BatchPhase.Closed]: { [BatchEvent.CheckMembership]: BatchPhase.CheckingMembership, ...settle },
  [BatchPhase.CheckingMembership]: { [BatchEvent.MembershipFailed]: BatchPhase.Closed, [BatchEvent.MembershipKnown]: BatchPhase.AwaitingSeed, ...settle },
  [BatchPhase.Observer]: { ...settle },
  [BatchPhase.AwaitingSeed]: { [BatchEvent.SeedLearned]: BatchPhase.SeedKnown, [BatchEvent.Resume]: BatchPhase.Deciding, ...settle },
  [BatchPhase.SeedKnown]: { [BatchEvent.Decide]: BatchPhase.Deciding, [BatchEvent.Resume]: BatchPhase.Deciding, ...settle },
  [BatchPhase.Deciding]: {
    [BatchEvent.DecideSucceeded]: BatchPhase.Signed,
    [BatchEvent.DecideFailed]: BatchPhase.DecideFailed,
    [BatchEvent.DecideRefused]: BatchPhase.Refused,
    ...settle,
  },
  [BatchPhase.DecideFailed]: { [BatchEvent.Decide]: BatchPhase.Deciding, [BatchEvent.Resume]: BatchPhase.Deciding, ...settle },
  [BatchPhase.Refused]: { [BatchEvent.Decide]: BatchPhase.Deciding, ...settle },
  [BatchPhase.Signed]: { ...settle },
  [BatchPhase.Final]: {},
  [BatchPhase.Abandoned]: {},
};

function applyEvent(st: BatchState, event: BatchEvent): BatchPhase {
  return event === BatchEvent.MembershipKnown ? st.apply(event, true) : st.apply(event);
}

describe("operator/batchState: the per-batch state machine", () => {
  for (const phase of Object.values(BatchPhase)) {
    describe(`given a batch in phase ${phase}`, () => {
      for (const event of Object.values(BatchEvent)) {
        const to = ALLOWED[phase][event];
        if (to !== undefined) {
          it(`→ it should move to ${to} on ${event}`, () => {
            const st = reach(phase);
            expect(st.can(event)).to.equal(true);
            expect(applyEvent(st, event)).to.equal(to);
            expect(st.phase).to.equal(to);
          });
        } else {
          it(`→ it should refuse ${event} and stay ${phase}`, () => {
            const st = reach(phase);
            expect(st.can(event)).to.equal(false);
            let err: unknown;
            try {
              applyEvent(st, event);
            } catch (e) {
              err = e;
            }
            expect(err).to.be.instanceOf(BatchPhaseError);
            expect((err as BatchPhaseError).code).to.equal(BatchPhaseErrorCode.TransitionRefused);
            expect((err as BatchPhaseError).phase).to.equal(phase);
            expect((err as BatchPhaseError).event).to.equal(event);
            expect(st.phase).to.equal(phase);
          });
        }
      }
    });
  }

  describe("given the membership read", () => {
    it("→ it should make a non-member an observer", () => {
      const st = reach(BatchPhase.CheckingMembership);
      expect(st.apply(BatchEvent.MembershipKnown, false)).to.equal(BatchPhase.Observer);
      expect(st.member).to.equal(false);
      expect(st.awaitingResult).to.equal(false);
    });

    it("→ it should move a member that already holds a seed (learned while reading) straight to seed_known", () => {
      const st = reach(BatchPhase.CheckingMembership);
      expect(st.addSeed(seed(1))).to.equal(true);
      expect(st.phase).to.equal(BatchPhase.CheckingMembership);
      expect(st.apply(BatchEvent.MembershipKnown, true)).to.equal(BatchPhase.SeedKnown);
      expect(st.member).to.equal(true);
    });

    it("→ it should leave the membership unknown (null) after a failed read", () => {
      const st = reach(BatchPhase.CheckingMembership);
      st.apply(BatchEvent.MembershipFailed);
      expect(st.member).to.equal(null);
    });
  });

  describe("given seeds", () => {
    it("→ it should keep the first seed per rank and decide with the lowest rank", () => {
      const st = reach(BatchPhase.AwaitingSeed);
      expect(st.bestSeed()).to.equal(undefined);
      expect(st.addSeed(seed(2))).to.equal(true);
      expect(st.phase).to.equal(BatchPhase.SeedKnown);
      expect(st.addSeed({ ...seed(2), seed: `0x${"ff".repeat(32)}` })).to.equal(false);
      expect(st.seeds.get(2)!.seed).to.equal(seed(2).seed);
      st.addSeed(seed(1));
      expect(st.bestSeed()!.rank).to.equal(1);
    });

    it("→ it should not let an observer or a settled batch change phase on a seed", () => {
      for (const phase of [BatchPhase.Observer, BatchPhase.Final, BatchPhase.Signed]) {
        const st = reach(phase);
        st.addSeed(seed(0));
        expect(st.phase).to.equal(phase);
      }
    });
  });

  describe("given a decide that ends after the chain settled the batch", () => {
    it("→ it should keep the signed decision and the terminal phase", () => {
      for (const terminal of [BatchEvent.Finalized, BatchEvent.Abandoned] as const) {
        const st = reach(BatchPhase.Deciding);
        st.apply(terminal);
        st.recordSigned(DECISION);
        expect(st.phase).to.equal(settle[terminal]);
        expect(st.decision).to.equal(DECISION);
        st.recordFailed(true);
        expect(st.phase).to.equal(settle[terminal]);
      }
    });

    it("→ it should refuse a decide outcome in a phase that started no decide", () => {
      const st = reach(BatchPhase.SeedKnown);
      expect(() => st.recordSigned(DECISION)).to.throw(BatchPhaseError);
      expect(() => st.recordFailed(true)).to.throw(BatchPhaseError);
      expect(st.phase).to.equal(BatchPhase.SeedKnown);
      expect(st.decision).to.equal(undefined);
    });
  });

  describe("given the node API status", () => {
    it("→ it should report open until final or abandoned", () => {
      for (const phase of Object.values(BatchPhase)) {
        const expected = phase === BatchPhase.Final ? BatchStatus.Final : phase === BatchPhase.Abandoned ? BatchStatus.Abandoned : BatchStatus.Open;
        expect(reach(phase).status, phase).to.equal(expected);
      }
    });
  });

  describe("given more batches than the retention", () => {
    it("→ it should keep exactly the newest `retain` (3 kept at 3, the oldest dropped at 4)", () => {
      const states = new BatchStates(3);
      for (const b of [1n, 2n, 3n]) states.add(close(b), false);
      expect([...states.all()].map(([b]) => b)).to.deep.equal([1n, 2n, 3n]);
      states.add(close(4n), false);
      expect(states.has(1n)).to.equal(false);
      expect([...states.all()].map(([b]) => b).sort()).to.deep.equal([2n, 3n, 4n]);
    });

    it("→ it should score the signed share of the member batches only", () => {
      const states = new BatchStates(10);
      expect(states.performance(20)).to.equal(null);
      for (const b of [1n, 2n, 3n]) {
        const st = states.add(close(b), false);
        st.apply(BatchEvent.CheckMembership);
        st.apply(BatchEvent.MembershipKnown, b !== 3n);
      }
      const st1 = states.get(1n)!;
      st1.addSeed(seed(0));
      st1.apply(BatchEvent.Decide);
      st1.recordSigned(DECISION);
      expect(states.performance(20)).to.equal(50);
      expect(states.performance(1)).to.equal(0);
    });
  });
});
