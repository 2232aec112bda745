/**
 * Gossip topics: `/matchnet/2/<name>/<chainId>` (docs/protocol.md §7). The version segment changes when a
 * message encoding changes incompatibly, so old and new nodes never exchange bytes they cannot decode; the chain
 * id keeps devnets and testnets apart on shared machines. Version 2: a result list carries its publisher's
 * operator id, seed proof and partial signature (version 1 lists were anonymous).
 */
export enum GossipTopicName {
  /** The batch leader's seed signature (the VRF output). */
  Seed = "seed",
  /** One operator's BLS signature over a batch's result message. */
  Partial = "partial",
  /** A batch's assignment list, so an aggregator can submit what was signed without running the matcher. */
  ResultList = "result-list",
}

export const TOPIC_VERSION = 2;

export function topicString(name: GossipTopicName, chainId: number | bigint): string {
  return `/matchnet/${TOPIC_VERSION}/${name}/${chainId}`;
}

export function parseTopic(topic: string): { name: GossipTopicName; chainId: bigint } | undefined {
  const m = /^\/matchnet\/(\d+)\/([a-z-]+)\/(\d+)$/.exec(topic);
  if (!m || Number(m[1]) !== TOPIC_VERSION) return undefined;
  const name = Object.values(GossipTopicName).find((n) => n === m[2]);
  return name === undefined ? undefined : { name, chainId: BigInt(m[3]!) };
}
