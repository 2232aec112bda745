import { expect } from "chai";
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../../deploy/devnet/ports.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("explorer in the devnet", function () {
  this.timeout(300_000);

  it("given `npm run devnet` → it should print the explorer's URL, and the explorer's batches should match the devnet's own report", async () => {
    const [port] = (await freePorts(1)) as [number];
    const child = spawn(process.execPath, ["--import", "tsx", join(root, "deploy/devnet.ts"), "--in-process-signers", "--no-agents", "--operators", "3", "--orders-per-batch", "4", "--port", String(port)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | string>((r) => child.once("exit", (code, signal) => r(code ?? signal ?? "unknown")));
    try {
      const deadline = Date.now() + 240_000;
      // Two batches reported final by the devnet itself.
      while ((output.match(/✓ final at/g) ?? []).length < 2) {
        if (child.exitCode !== null) throw new Error(`devnet exited early (${child.exitCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`no two final batches within 240 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const url = output.match(/^explorer: (http:\/\/127\.0\.0\.1:\d+\/)$/m)?.[1];
      expect(url, output).to.be.a("string");
      // The devnet's line per batch: "orders open N / matched M / skipped K … gas G".
      const reports = [...output.matchAll(/orders open (\d+) \/ matched (\d+) \/ skipped (\d+).*?gas ([\d,]+)/g)].map((m) => ({
        open: Number(m[1]), matched: Number(m[2]), skipped: Number(m[3]), gas: m[4]!.replaceAll(",", ""),
      }));
      expect(reports.length).to.be.at.least(2);
      for (const [i, r] of reports.slice(0, 2).entries()) {
        // The index follows the chain within its poll interval; a batch just reported may need a moment.
        let b: { status: string; open_orders: number; applied: number; skipped: number; gas_used: string } | null = null;
        for (let tries = 0; tries < 50; tries++) {
          const res = await fetch(`${url}api/batches/${i + 1}`);
          if (res.status === 200) {
            b = (await res.json()) as typeof b;
            if (b!.status === "final") break;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
        expect(b, `batch ${i + 1} in the explorer`).to.not.equal(null);
        expect({ status: b!.status, open: b!.open_orders, matched: b!.applied, skipped: b!.skipped, gas: b!.gas_used }).to.deep.equal({ status: "final", ...r });
      }
      const page = await fetch(url!);
      expect(page.status).to.equal(200);
      child.kill("SIGINT");
      expect(await exited).to.equal(130);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
