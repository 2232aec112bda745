/**
 * The devnet's batch timing by operator count (deploy/devnet/devnet.ts): batchTimeout grows with the operators that
 * share the machine, and the registry's exit delay always covers the slashing window the contract checks.
 */
import { expect } from "chai";
import { DEVNET_TIMING, devnetOperatorExitDelay, devnetTiming } from "../../deploy/devnet/devnet.js";
import { slashingWindow } from "../../deploy/parameters.js";

describe("devnet batch timing", () => {
  it("given 20 / 21 / 22 operators (around the 2-blocks-per-operator crossing) → it should keep 40 blocks at 20 and grow above", () => {
    expect(devnetTiming(20).batchTimeout).to.equal(40n);
    expect(devnetTiming(21).batchTimeout).to.equal(42n);
    expect(devnetTiming(22).batchTimeout).to.equal(44n);
  });

  it("given 4, 32 and 64 operators → it should give 40, 64 and 128 blocks and leave batchInterval and seedTimeout (8) alone", () => {
    expect(devnetTiming(4)).to.deep.equal(DEVNET_TIMING);
    expect(devnetTiming(32)).to.deep.equal({ ...DEVNET_TIMING, batchTimeout: 64n });
    expect(devnetTiming(64)).to.deep.equal({ ...DEVNET_TIMING, batchTimeout: 128n });
  });

  it("given 1‥128 operators → its exit delay should be ≥ 400 and ≥ the slashing window, and the fallback order fit the contract's 32 leaders", () => {
    for (let n = 1; n <= 128; n++) {
      const t = devnetTiming(n);
      const delay = devnetOperatorExitDelay(t);
      expect(delay >= 400n && delay >= slashingWindow(t.batchTimeout), `n = ${n}`).to.equal(true);
      expect(t.batchTimeout / t.seedTimeout + 1n <= 32n, `n = ${n}`).to.equal(true);
    }
    // 124 operators: 248 / 8 = 31 fallback turns, the most; 125: 250 blocks need a 9-block seedTimeout.
    expect(devnetTiming(124).seedTimeout).to.equal(8n);
    expect(devnetTiming(125).seedTimeout).to.equal(9n);
    // At the crossing of the two bounds: 256 + 3 × 48 = 400; one more block needs a longer delay.
    expect(devnetOperatorExitDelay({ ...DEVNET_TIMING, batchTimeout: 48n })).to.equal(400n);
    expect(devnetOperatorExitDelay({ ...DEVNET_TIMING, batchTimeout: 49n })).to.equal(403n);
  });
});
