/**
 * One account's transactions are handed to the node one at a time. A send returns once the node holds the
 * transaction (its hash), so the next send's nonce (`eth_getTransactionCount(…, "pending")`) already counts it; the
 * wait for the receipt happens outside the lock. The submitter and the enforcement duty share one lock.
 */
export class SendLock {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(send: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(send, send);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
