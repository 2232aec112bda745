/**
 * A start-up failure with the exit code it maps to (process contract, docs/operator.md): its message names the config
 * field or the URL at fault and what to do, and is all stderr shows — no stack. Its own module, free of heavy imports,
 * so that the HTTP servers, the p2p network and the database can throw it where the failure is understood.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;
export const EXIT_KEYSTORE = 3;

/** A start-up failure with the exit code it maps to; its message (when not empty) is what stderr shows. */
export class StartupError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StartupError";
  }
}

/**
 * The StartupError for a socket that could not be bound (`err` from `listen`), naming the config field; other errors
 * are returned unchanged.
 */
export function listenFailure(err: unknown, field: string, where: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") {
    return new StartupError(EXIT_FAILURE, `${field}: ${where} is already in use by another process (a node already running with this config?); stop that process, or set ${field} to a free port`, { cause: err });
  }
  if (code === "EACCES") {
    return new StartupError(EXIT_FAILURE, `${field}: no permission to listen on ${where} (ports below 1024 need privileges); set ${field} to a port ≥ 1024`, { cause: err });
  }
  if (code === "EADDRNOTAVAIL") {
    return new StartupError(EXIT_FAILURE, `${field}: ${where} is not an address of this machine; set the host to one of its addresses (127.0.0.1, 0.0.0.0, …)`, { cause: err });
  }
  return err;
}
