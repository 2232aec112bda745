/**
 * Free TCP ports on 127.0.0.1 for processes that bind them later (the devnet registers each operator's socket
 * on-chain before the operator starts). They are taken from below the kernel's ephemeral range, which the kernel
 * never hands to an outgoing connection or to a listen on port 0. A port of that range, released and bound again
 * later, can be taken in between by any connection on the machine, and the process that binds it then fails with
 * EADDRINUSE. Each call returns ports not handed out before in this process.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const handedOut = new Set<number>();
/**
 * The lowest port handed out: above the provider agents' workload ports (20 000 + 200·i for at most 9 providers,
 * devnet.ts and agents.ts) and the well-known and most registered service ports.
 */
const LOWEST = 22_000;
/** Where the next search starts; from the process id, so that processes started together search apart. */
let cursor = -1;

/** The first port of the kernel's ephemeral range (Linux default 32 768 where it cannot be read). */
export function ephemeralStart(): number {
  try {
    const first = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** A port the kernel picks (listen on port 0): where the range below the ephemeral one is too small to search. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function onePort(): Promise<number> {
  const span = ephemeralStart() - LOWEST;
  if (span < 1_000) return kernelPort();
  if (cursor < 0) cursor = process.pid % span;
  for (let tried = 0; tried < span; tried++) {
    const port = LOWEST + (cursor++ % span);
    if (!handedOut.has(port) && (await portIsFree(port))) return port;
  }
  throw new Error(`no free TCP port on 127.0.0.1 in ${LOWEST}–${LOWEST + span - 1}`);
}

export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await onePort();
    if (port === 0 || handedOut.has(port)) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

/** True when nothing listens on 127.0.0.1:port (so `hardhat node` can take it). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
