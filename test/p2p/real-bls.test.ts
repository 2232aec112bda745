/**
 * The p2p validators with the project's real parts plugged in, no test doubles: protocol/bls (keys, mcl
 * verifier), protocol/avs digests, protocol/matching's assignments hash, BatchTable as the batch view, and
 * slashing protection as the signing gate. Shows that the injected interfaces fit those modules as they are.
 */
import { expect } from "chai";
import { toOperatorId } from "../../protocol/chain/ids.js";
import type { Hex } from "viem";
import { SecretKey, createBlsVerifier, operatorId, type BlsVerifier, type G2Point } from "../../protocol/bls/index.js";
import { resultMessageDigest, seedFromSignature, seedMessageDigest } from "../../protocol/avs/messages.js";
import { LevelDbController } from "../../protocol/db/controller.js";
import { silentLogger } from "../../protocol/log/logger.js";
import { assignmentsHash } from "../../protocol/matching/encode.js";
import { BatchTable } from "../../protocol/p2p/batchTable.js";
import { GossipAction, GossipErrorCode, GossipValidationError } from "../../protocol/p2p/errors.js";
import type { OperatorSetView } from "../../protocol/p2p/interfaces.js";
import { encodePartialSignatureMessage, encodeResultListMessage, encodeSeedMessage } from "../../protocol/p2p/messages.js";
import { GossipValidationContext, defaultGossipValidationOpts } from "../../protocol/p2p/validation/context.js";
import { validatePartialSignatureMessage } from "../../protocol/p2p/validation/partial.js";
import { validateResultListMessage } from "../../protocol/p2p/validation/resultList.js";
import { validateSeedMessage } from "../../protocol/p2p/validation/seed.js";
import { SigningDuty, SlashingProtection } from "../../operator/slashing-protection/slashingProtection.js";
import { makeTempDir } from "../support/tempdir.js";

const CHAIN_ID = 31337n;
const SERVICE_MANAGER: Hex = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const key = (n: number) => SecretKey.fromBytes(Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? n : 0x11)));

describe("protocol/p2p validators with the real BLS, digests and batch table", function () {
  this.timeout(20_000);
  const [leaderSk, otherSk] = [key(1), key(2)];
  const [leaderId, otherId] = [toOperatorId(operatorId(leaderSk.publicKeyG1())), toOperatorId(operatorId(otherSk.publicKeyG1()))];
  const operators: OperatorSetView<G2Point> = {
    operatorAt: (id) =>
      id === leaderId ? { pkG2: leaderSk.publicKeyG2(), stake: 60n } : id === otherId ? { pkG2: otherSk.publicKeyG2(), stake: 40n } : undefined,
  };
  const assignments = [{ orderId: 4n, offerVersionId: 9n, gpuCount: 2, pricePerGpuHour: 1_500_000n }];
  let verifier: BlsVerifier;
  let table: BatchTable;
  let ctx: GossipValidationContext<G2Point>;

  before(async () => {
    verifier = await createBlsVerifier("mcl");
  });

  beforeEach(() => {
    table = new BatchTable(
      { seedTimeoutBlocks: 5n, retainBatches: 8 },
      {
        resultMessageHash: (batch, referenceBlock, seed, resultHash) =>
          resultMessageDigest({ chainId: CHAIN_ID, serviceManager: SERVICE_MANAGER, batch, referenceBlock, seed, assignmentsHash: resultHash }),
      },
    );
    table.onClosed({
      batch: 1n,
      referenceBlock: 99n,
      closedAt: 100n,
      seedMessageHash: seedMessageDigest({ chainId: CHAIN_ID, serviceManager: SERVICE_MANAGER, batch: 1n, previousSeed: `0x${"00".repeat(32)}`, referenceBlockHash: `0x${"ab".repeat(32)}` }),
      leaderOrder: [leaderId, otherId],
    });
    ctx = new GossipValidationContext(defaultGossipValidationOpts, { batches: table, operators, verifier, logger: silentLogger(), metrics: null });
  });

  it("given a leader's seed, then a partial signed through slashing protection → it should accept both and the result list", async () => {
    const seedSig = leaderSk.sign(table.batch(1n)!.seedMessageHash);
    const seed = await validateSeedMessage(ctx, encodeSeedMessage({ batch: 1n, signer: leaderId, signature: seedSig }));
    expect(seed.rank).to.equal(0);
    table.addVerifiedSeed(1n, seedFromSignature(seed.message.signature));

    const dir = await makeTempDir("real-bls");
    const db = await LevelDbController.open({ path: dir.path });
    try {
      const sp = new SlashingProtection({}, { db, logger: silentLogger(), metrics: null });
      const resultHash = assignmentsHash(assignments);
      const seedB = seedFromSignature(seedSig);
      const digest = table.batch(1n)!.resultMessageHash(resultHash, seedB)!;
      const { signature } = await sp.sign(SigningDuty.Result, { operatorId: otherId, batch: 1n }, digest, (h) => otherSk.sign(h));

      const partial = await validatePartialSignatureMessage(ctx, encodePartialSignatureMessage({ batch: 1n, resultHash, seed: seedB, operatorId: otherId, signature, seedSigner: leaderId, seedSignature: seedSig }));
      expect(partial.messageHash).to.equal(digest);
      expect(partial.operator.stake).to.equal(40n);

      const list = await validateResultListMessage(ctx, encodeResultListMessage({ batch: 1n, resultHash, seed: seedB, operatorId: otherId, signature, seedSigner: leaderId, seedSignature: seedSig, assignments }));
      expect(list.message.assignments).to.deep.equal(assignments);
    } finally {
      await db.close();
      await dir.remove();
    }
  });

  it("given a partial signed by another operator's key → it should reject it as InvalidSignature", async () => {
    const seedSig = leaderSk.sign(table.batch(1n)!.seedMessageHash);
    const seedB = seedFromSignature(seedSig);
    table.addVerifiedSeed(1n, seedB);
    const resultHash = assignmentsHash(assignments);
    const digest = table.batch(1n)!.resultMessageHash(resultHash, seedB)!;
    try {
      await validatePartialSignatureMessage(ctx, encodePartialSignatureMessage({ batch: 1n, resultHash, seed: seedB, operatorId: otherId, signature: leaderSk.sign(digest), seedSigner: leaderId, seedSignature: seedSig }));
      expect.fail("expected a reject");
    } catch (err) {
      expect(err).to.be.instanceOf(GossipValidationError);
      expect({ action: (err as GossipValidationError).action, code: (err as GossipValidationError).code }).to.deep.equal({
        action: GossipAction.Reject,
        code: GossipErrorCode.InvalidSignature,
      });
    }
  });

  it("given the fallback leader's seed before seedTimeout blocks → it should ignore it, and accept it once the head has moved on", async () => {
    const bytes = encodeSeedMessage({ batch: 1n, signer: otherId, signature: otherSk.sign(table.batch(1n)!.seedMessageHash) });
    try {
      await validateSeedMessage(ctx, bytes);
      expect.fail("expected LeaderTurnNotYet");
    } catch (err) {
      expect((err as GossipValidationError).code).to.equal(GossipErrorCode.LeaderTurnNotYet);
    }
    table.onBlock(105n);
    expect((await validateSeedMessage(ctx, bytes)).rank).to.equal(1);
  });
});
