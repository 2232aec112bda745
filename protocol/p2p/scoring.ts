/**
 * gossipsub peer-scoring parameters for matchnet's topics. The network carries a few messages per operator per
 * batch, far too few for gossipsub's delivery-rate terms (which would punish honest but quiet peers), so those
 * weights are 0; what matters is that an invalid message (a REJECT) costs the peer that forwarded it.
 *
 * Score of one topic = topicWeight × invalidMessageDeliveriesWeight × (invalid count)². With the thresholds
 * below, one reject (−20) already stops gossip exchange with the peer (< gossipThreshold −10), two (−80) puts it
 * on the graylist (≤ −80: its RPCs are ignored). The counter decays by 0.99 per second (half-life ≈ 69 s), so a
 * peer that forwarded one bad message recovers within minutes.
 */
import { createPeerScoreParams, createTopicScoreParams, type PeerScoreParams, type PeerScoreThresholds } from "@libp2p/gossipsub/score";
import { GossipTopicName, topicString } from "./topics.js";

export const INVALID_MESSAGE_WEIGHT = -20;
export const INVALID_MESSAGE_DECAY = 0.99;

export const scoreThresholds: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 5,
};

export function matchnetScoreParams(chainId: number | bigint): PeerScoreParams {
  const topics: PeerScoreParams["topics"] = {};
  for (const name of Object.values(GossipTopicName)) {
    topics[topicString(name, chainId)] = createTopicScoreParams({
      topicWeight: 1,
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1_000,
      timeInMeshCap: 100,
      firstMessageDeliveriesWeight: 0,
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
      invalidMessageDeliveriesDecay: INVALID_MESSAGE_DECAY,
    });
  }
  return createPeerScoreParams({
    topics,
    // Operators on one machine (devnet, tests) share an IP; co-location must not count against them.
    IPColocationFactorWeight: 0,
    decayInterval: 1_000,
  });
}
