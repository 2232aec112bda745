import { expect } from "chai";
import { createServer } from "node:net";
import { ephemeralStart, freePorts, portIsFree } from "../../deploy/devnet/ports.js";

describe("devnet ports (deploy/devnet/ports.ts)", () => {
  describe("given 40 ports asked for in four calls", () => {
    it("should hand out distinct free ports, all below the kernel's ephemeral range (never given to a connection)", async () => {
      const ports = [...(await freePorts(10)), ...(await freePorts(10)), ...(await freePorts(10)), ...(await freePorts(10))];
      expect(new Set(ports).size).to.equal(40);
      const start = ephemeralStart();
      for (const port of ports) {
        expect(port, `port ${port}`).to.be.below(start);
        expect(port, `port ${port}`).to.be.at.least(1_024);
        expect(await portIsFree(port), `port ${port} free`).to.equal(true);
      }
    });
  });
  describe("given the next port taken by another listener", () => {
    it("should skip it and hand out a free one", async () => {
      // Find the port the next call would return, take it, and ask again.
      const [probe] = await freePorts(1);
      const blocker = createServer();
      const next = probe! + 1;
      await new Promise<void>((resolve) => blocker.listen(next, "127.0.0.1", resolve));
      try {
        const [port] = await freePorts(1);
        expect(port).to.not.equal(next);
        expect(await portIsFree(port!)).to.equal(true);
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
    });
  });
});
