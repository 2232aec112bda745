/** Every URL and file a devnet user may want, printed once everything is up. */
import type { Devnet } from "./devnet.js";

export function endpointsText(dn: Devnet, explorerUrl: string | null): string {
  const lines = [
    `chain: ${dn.chain.url} (${dn.chain.node.kind})   chain id ${dn.chain.chain.id}`,
    `deployment file: ${dn.deploymentFile}`,
    `explorer: ${explorerUrl ?? "—"}`,
  ];
  for (const op of dn.operators) {
    lines.push(`${op.name.padEnd(5)} node API http://127.0.0.1:${op.apiPort}/eigen/node/health  status http://127.0.0.1:${op.apiPort}/matchnet/v1/status  metrics http://127.0.0.1:${op.metricsPort}/metrics`);
  }
  for (const a of dn.aggregators) lines.push(`${a.name} metrics http://127.0.0.1:${a.metricsPort}/metrics`);
  lines.push(`logs: ${dn.logsDir}`);
  return lines.join("\n");
}
