/** The one way the node's HTTP servers (node API, metrics) bind and stop. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log/logger.js";

export interface ListeningServer {
  /** The bound port (the requested one, or the free one picked for port 0). */
  port: number;
  /** Stops accepting, drops keep-alive connections, resolves once closed. */
  close(): Promise<void>;
}

export async function listen(server: Server, opts: { host: string; port: number }, logger: Logger, what: string): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ host: opts.host, port }, `${what} listening`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
