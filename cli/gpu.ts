/**
 * `provider detect-gpu`: reads the cards from `nvidia-smi --query-gpu=name,memory.total,pci.bus_id
 * --format=csv,noheader` and maps each to a catalog model. A catalog model matches a card when every word of its
 * name (without "NVIDIA") is a word of the card's name, or of the card's memory in GiB ("80gb"), and its VRAM is
 * within 10 % of the card's memory; the most specific match wins. The driver names the SXM5 H100 "H100 80GB HBM3",
 * so "hbm3" also counts as "sxm". A card no model matches is reported as not in the catalog (a PCIe H100 is not the
 * catalog's SXM H100: it is a slower card).
 */
import { execFile } from "node:child_process";
import type { GpuModel } from "../protocol/market/types.js";
import { CliError } from "./errors.js";

export const NVIDIA_SMI_ARGS = ["--query-gpu=name,memory.total,pci.bus_id", "--format=csv,noheader"] as const;

export interface DetectedCard {
  index: number;
  name: string;
  memoryMiB: number;
  busId: string;
  model: { id: number; name: string } | null;
}

/** Parses nvidia-smi's CSV lines ("NVIDIA H100 80GB HBM3, 81559 MiB, 00000000:18:00.0"). */
export function parseNvidiaSmi(text: string): Omit<DetectedCard, "model">[] {
  const cards: Omit<DetectedCard, "model">[] = [];
  for (const line of text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0)) {
    const parts = line.split(",").map((p) => p.trim());
    if (parts.length !== 3) throw new CliError("NO_NVIDIA_SMI", `nvidia-smi printed a line that is not name, memory, bus id: "${line}"`);
    const mem = /^(\d+)\s*MiB$/i.exec(parts[1]!);
    if (mem === null) throw new CliError("NO_NVIDIA_SMI", `nvidia-smi printed memory "${parts[1]}", expected "<n> MiB"`);
    cards.push({ index: cards.length, name: parts[0]!, memoryMiB: Number(mem[1]), busId: parts[2]! });
  }
  return cards;
}

const words = (s: string): string[] => s.toLowerCase().replace(/^nvidia\s+/, "").split(/[\s\-_/]+/).filter((w) => w.length > 0);

export function matchModel(card: { name: string; memoryMiB: number }, catalog: readonly GpuModel[]): GpuModel | null {
  const gib = card.memoryMiB / 1024;
  const have = new Set(words(card.name));
  have.add(`${Math.round(gib)}gb`);
  if (have.has("hbm3") || have.has("sxm5") || have.has("sxm4")) have.add("sxm");
  let best: GpuModel | null = null;
  let bestWords = 0;
  for (const m of catalog) {
    const need = words(m.name);
    if (!need.every((w) => have.has(w))) continue;
    if (Math.abs(gib - m.vramGb) > m.vramGb * 0.1) continue;
    if (need.length > bestWords) {
      best = m;
      bestWords = need.length;
    }
  }
  return best;
}

/** Runs nvidia-smi from the PATH in `env`; a missing binary or a failing driver is NO_NVIDIA_SMI. */
export function runNvidiaSmi(env: Record<string, string | undefined>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("nvidia-smi", [...NVIDIA_SMI_ARGS], { env: env as NodeJS.ProcessEnv, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") {
          reject(new CliError("NO_NVIDIA_SMI", "nvidia-smi not found: no NVIDIA driver on this machine (or it is not on PATH)", { hint: "Install the NVIDIA driver, or create offers by hand with `matchnet provider offer create`." }));
        } else {
          // nvidia-smi prints its own failures ("NVIDIA-SMI has failed because …") on stdout.
          const said = `${stderr}`.trim() || `${stdout}`.trim() || err.message;
          reject(new CliError("NO_NVIDIA_SMI", `nvidia-smi failed: ${said.split("\n")[0]}`, { hint: "Check that the NVIDIA driver is loaded (nvidia-smi must work on its own)." }));
        }
        return;
      }
      resolve(stdout);
    });
  });
}
