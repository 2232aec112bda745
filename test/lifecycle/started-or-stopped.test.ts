import { expect } from "chai";
import { startedOrStopped } from "../../protocol/lifecycle.js";

/** A thing that records its boot steps and whether it was stopped. */
function thing() {
  return {
    log: [] as string[],
    async stop(): Promise<void> {
      this.log.push("stop");
    },
  };
}

describe("protocol/lifecycle startedOrStopped", () => {
  it("given a boot that succeeds → it should return the thing, not stopped", async () => {
    const t = thing();
    const got = await startedOrStopped(t, async (x) => {
      x.log.push("boot");
    });
    expect(got).to.equal(t);
    expect(t.log).to.deep.equal(["boot"]);
  });

  it("given a boot that throws half-way → it should stop the thing, then reject with the boot's error", async () => {
    const t = thing();
    const err = await startedOrStopped(t, async (x) => {
      x.log.push("part 1");
      throw new Error("part 2 failed");
    }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.equal("part 2 failed");
    expect(t.log).to.deep.equal(["part 1", "stop"]);
  });
});
