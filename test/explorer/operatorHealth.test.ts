import { expect } from "chai";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { OperatorHealthMonitor, parseOperatorApi } from "../../explorer/operatorHealth.js";

/** A real HTTP server on loopback answering with `handler`; counts the requests it saw by path. */
async function serve(handler: RequestListener) {
  const seen: string[] = [];
  const srv = createServer((req, res) => {
    seen.push(req.url ?? "");
    handler(req, res);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

const OP = `0x${"ab".repeat(32)}`;

async function checkOnce(url: string, timeoutMs = 5_000) {
  const m = new OperatorHealthMonitor([{ operator: OP, url }], { timeoutMs });
  await m.checkAll();
  await m.stop();
  return m.of(OP, null)!;
}

describe("operators' node API health (explorer/operatorHealth.ts)", () => {
  describe("given --operator-api values", () => {
    it("→ it should take a 20-byte address or a 32-byte id, refusing one hex digit less or more, and only http(s) URLs", () => {
      for (const hex of [40, 64]) {
        const id = `0x${"A".repeat(hex)}`;
        expect(parseOperatorApi(`${id}=http://127.0.0.1:9010/`)).to.deep.equal({ operator: id.toLowerCase(), url: "http://127.0.0.1:9010" });
        for (const n of [hex - 1, hex + 1]) expect(() => parseOperatorApi(`0x${"a".repeat(n)}=http://h`), `${n} digits`).to.throw(/--operator-api takes <operator id or address>=<url>/);
      }
      expect(() => parseOperatorApi(`0x${"a".repeat(40)}`)).to.throw(/--operator-api takes/);
      expect(() => parseOperatorApi(`0x${"a".repeat(40)}=not a url`)).to.throw('--operator-api: "not a url" is not a URL');
      expect(() => parseOperatorApi(`0x${"a".repeat(40)}=file:///etc/passwd`)).to.throw("must be http(s), not file://");
      expect(parseOperatorApi(`0x${"a".repeat(40)}=https://node.example/api`).url).to.equal("https://node.example/api");
    });
  });

  describe("given node APIs answering each health status", () => {
    it("→ 200 should be healthy, 206 partially healthy with the node's reasons, 503 and others unhealthy", async () => {
      for (const [code, status] of [[200, "healthy"], [206, "partially healthy"], [503, "unhealthy"], [500, "unhealthy"]] as const) {
        const node = await serve((_req, res) => {
          res.writeHead(code, { "content-type": "application/json" });
          res.end(JSON.stringify({ reasons: code === 200 ? [] : ["no peers"] }));
        });
        try {
          const h = await checkOnce(node.url);
          expect(h, String(code)).to.include({ status, httpStatus: code, url: node.url });
          expect(h.reasons, String(code)).to.deep.equal(code === 200 ? [] : ["no peers"]);
          expect(node.seen).to.deep.equal(["/eigen/node/health"]);
        } finally {
          await node.close();
        }
      }
    });
  });

  describe("given hostile node APIs", () => {
    it("→ a redirect should count as unhealthy and not be followed", async () => {
      const elsewhere = await serve((_req, res) => res.end("{}"));
      const node = await serve((_req, res) => {
        res.writeHead(302, { location: `${elsewhere.url}/eigen/node/health` });
        res.end();
      });
      try {
        expect(await checkOnce(node.url)).to.deep.include({ status: "unhealthy", httpStatus: 302, reasons: ["HTTP 302"] });
        expect(elsewhere.seen).to.deep.equal([]);
      } finally {
        await node.close();
        await elsewhere.close();
      }
    });

    it("→ an answer that never ends should be read up to 4 KiB and the check should finish with the status code", async () => {
      const node = await serve((_req, res) => {
        res.writeHead(200);
        const chunk = "x".repeat(1_024);
        const timer = setInterval(() => res.write(chunk), 1);
        res.on("close", () => clearInterval(timer));
      });
      try {
        expect(await checkOnce(node.url)).to.deep.include({ status: "healthy", httpStatus: 200, reasons: [] });
      } finally {
        await node.close();
      }
    });

    it("→ at most 8 reasons of at most 200 characters each should be kept", async () => {
      for (const count of [8, 9]) {
        const node = await serve((_req, res) => {
          res.writeHead(206);
          res.end(JSON.stringify({ reasons: Array.from({ length: count }, (_, i) => `${i}`.padEnd(i === 0 ? 200 : 201, "r")) }));
        });
        try {
          const h = await checkOnce(node.url);
          expect(h.reasons.length, `${count} reasons`).to.equal(8);
          expect(h.reasons.map((r) => r.length)).to.deep.equal(Array(8).fill(200));
        } finally {
          await node.close();
        }
      }
    });

    it("→ a node that sends headers and then stalls should be unreachable after the timeout", async () => {
      const node = await serve((_req, res) => {
        res.writeHead(200);
        res.write("{");
      });
      try {
        expect(await checkOnce(node.url, 300)).to.deep.include({ status: "unreachable", httpStatus: null, reasons: ["no answer within 300 ms"] });
      } finally {
        await node.close();
      }
    });
  });
});
