/**
 * The node's libp2p identity, kept in the data dir so that its peer id — which other operators put in their
 * bootstrap lists and which the on-chain socket ends with — survives restarts. Stored as libp2p's protobuf
 * encoding of an Ed25519 key in a file readable by the owner only. It is a transport identity, not a signing key
 * of the protocol: losing it changes the peer id, nothing more.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";

export async function loadOrCreatePeerKey(file: string): Promise<{ privateKey: PrivateKey; created: boolean }> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (bytes !== undefined) return { privateKey: privateKeyFromProtobuf(bytes), created: false };
  const privateKey = await generateKeyPair("Ed25519");
  await mkdir(dirname(file), { recursive: true });
  // "wx": never overwrite a key that appeared meanwhile (a second process on the same data dir).
  await writeFile(file, privateKeyToProtobuf(privateKey), { mode: 0o600, flag: "wx" });
  return { privateKey, created: true };
}
