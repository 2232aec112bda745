import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { expect } from "chai";
import { loadOrCreatePeerKey } from "../../protocol/p2p/peerKey.js";
import { makeTempDir } from "../support/tempdir.js";

describe("protocol/p2p peer key", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => (dir = await makeTempDir("peerkey")));
  afterEach(() => dir.remove());

  it("given no key file → it should create one readable by the owner only, and load the same peer id afterwards", async () => {
    const file = join(dir.path, "p2p", "peer.key");
    const first = await loadOrCreatePeerKey(file);
    expect(first.created).to.equal(true);
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    const second = await loadOrCreatePeerKey(file);
    expect(second.created).to.equal(false);
    expect(peerIdFromPrivateKey(second.privateKey).toString()).to.equal(peerIdFromPrivateKey(first.privateKey).toString());
  });

  it("given a corrupt key file → it should throw rather than silently replace the identity", async () => {
    const file = join(dir.path, "peer.key");
    await writeFile(file, "not a key");
    let threw = false;
    try {
      await loadOrCreatePeerKey(file);
    } catch {
      threw = true;
    }
    expect(threw).to.equal(true);
  });
});
