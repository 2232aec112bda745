/** The one way the node's HTTP servers (node API, metrics) bind and stop. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./log/logger.js";
import { listenFailure } from "./startupError.js";

export interface ListeningServer {
  /** The bound port (the requested one, or the free one picked for port 0). */
  port: number;
  /** Stops accepting, drops keep-alive connections, resolves once closed. */
  close(): Promise<void>;
}

/**
 * Binds `server`; `field` is the config field that set the port (`api.port`, `metrics.port`): a port in use or not
 * allowed is a StartupError naming it, not a stack.
 */
export async function listen(server: Server, opts: { host: string; port: number }, logger: Logger, what: string, field: string): Promise<ListeningServer> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(listenFailure(err, field, `${what} address ${opts.host}:${opts.port}`));
    server.once("error", onError);
    server.listen(opts.port, opts.host, () => {
      server.off("error", onError);
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
