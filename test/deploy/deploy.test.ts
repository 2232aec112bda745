/**
 * `npm run deploy` as a child process (scripts/run.sh → deploy/deploy.ts) against real nodes: `hardhat node` and
 * `anvil` (the latter also as a non-local chain, chain id 8453, with the EIP-7825 gas cap on). After a deployment
 * the `matchnet` CLI reads the deployment file it wrote and registers an operator on that chain.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, getAddress, http, parseEther, type Address, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { operatorRegistryAbi, serviceManagerAbi, marketplaceAbi, providerRegistryAbi, stakeTokenAbi, gpuCatalogAbi } from "../../protocol/chain/abi.js";
import { readDeployment } from "../../protocol/chain/deployment.js";
import { encryptAccountKey, encryptSecretKey, writeAccountKeystoreFile, writeKeystoreFile } from "../../protocol/keystore/index.js";
import { SecretKey } from "../../protocol/bls/index.js";
import { SERVICE_MANAGER_DEFAULTS } from "../../deploy/service-manager-defaults.js";
import { Supervisor } from "../../deploy/devnet/supervisor.js";
import { startHardhatNode, type LocalNode } from "../../deploy/devnet/hardhat-node.js";
import { startAnvil } from "../../deploy/devnet/anvil-node.js";
import { freePorts } from "../../deploy/devnet/ports.js";
import { makeTempDir } from "../support/tempdir.js";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const SCRYPT = { n: 1 << 12, r: 8, p: 1 };
const PASSWORD = "deploy-test-password";

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: root, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 16 << 20 }, (err, out, errOut) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
  });
}

const deploy = (args: string[]) => run("sh", [join(root, "scripts/run.sh"), "deploy", ...args]);
const matchnet = (args: string[]) => run(join(root, "scripts/matchnet"), args);

interface World {
  dir: string;
  node: LocalNode;
  client: PublicClient;
  /** A fresh account (not a dev account) with 10 ETH, in a keystore at `keystore`. */
  deployer: Address;
  keystore: string;
  passwordFile: string;
  devAccount: Address;
  done(): Promise<void>;
}

async function world(kind: "hardhat" | "anvil", chainId?: number): Promise<World> {
  const tmp = await makeTempDir("deploy");
  const supervisor = new Supervisor();
  const [port] = (await freePorts(1)) as [number];
  const logFile = join(tmp.path, "chain.log");
  const node = kind === "hardhat" ? await startHardhatNode(supervisor, { port, logFile, root }) : await startAnvil(supervisor, { port, logFile, chainId });
  const client = createPublicClient({ transport: http(node.url) }) as PublicClient;
  const [devAccount] = (await client.request({ method: "eth_accounts" } as never)) as Address[];
  const key = generatePrivateKey();
  const deployer = privateKeyToAccount(key).address;
  const keystore = join(tmp.path, "deployer.json");
  await writeAccountKeystoreFile(keystore, await encryptAccountKey(key, PASSWORD, { scrypt: SCRYPT }));
  const passwordFile = join(tmp.path, "password.txt");
  await writeFile(passwordFile, PASSWORD + "\n", { mode: 0o600 });
  const wallet = createWalletClient({ account: devAccount!, transport: http(node.url) });
  await client.waitForTransactionReceipt({ hash: await wallet.sendTransaction({ account: devAccount!, chain: null, to: deployer, value: parseEther("10") }) });
  return {
    dir: tmp.path,
    node,
    client,
    deployer,
    keystore,
    passwordFile,
    devAccount: devAccount!,
    done: async () => {
      await supervisor.shutdown();
      await tmp.remove();
    },
  };
}

/** A parameters file that changes every setting from its default. */
function customParameters(owner: Address, treasury: Address, tokens: "faucet" | { payment: Address; stake: Address } = "faucet") {
  return {
    owner,
    treasury,
    tokens,
    minProviderStake: "500000000000000000000",
    providerExitDelay: 50,
    maxOrderLifetime: 20_000,
    minimumEscrow: 1_000_000,
    minOperatorStake: "200000000000000000000",
    operatorExitDelay: 1_000,
    batchTiming: { batchInterval: 5, seedTimeout: 6, batchTimeout: 60 },
    quorumThresholdBps: 7_500,
    // Weights still summing to 10 000: 1 000 moved from region to price.
    matchingWeights: { ...SERVICE_MANAGER_DEFAULTS.matchingWeights, region: 1_000, price: 3_000 },
    slashFractions: { equivocationSlashBps: 4_000, equivocationBountyBps: 500, invalidResultSlashBps: 3_000 },
    ejection: { streak: 7, rateBps: 2_000, window: 50 },
    handoffTimeout: 30,
  };
}

async function expectOnChain(client: PublicClient, file: string, p: ReturnType<typeof customParameters>): Promise<void> {
  const d = await readDeployment(file);
  const c = d.contracts;
  const sm = c.serviceManager!;
  const timing = await client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "batchTiming" });
  expect({ ...timing }).to.deep.equal(p.batchTiming);
  expect(await client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "quorumThresholdBps" })).to.equal(p.quorumThresholdBps);
  expect({ ...(await client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "matchingWeights" })) }).to.deep.equal(p.matchingWeights);
  expect(await client.readContract({ address: sm, abi: serviceManagerAbi, functionName: "ejectionParameters" })).to.deep.equal(p.ejection);
  expect(await client.readContract({ address: c.operatorRegistry!, abi: operatorRegistryAbi, functionName: "minimumStake" })).to.equal(BigInt(p.minOperatorStake));
  expect(BigInt(await client.readContract({ address: c.operatorRegistry!, abi: operatorRegistryAbi, functionName: "exitDelay" }))).to.equal(BigInt(p.operatorExitDelay));
  expect(await client.readContract({ address: c.operatorRegistry!, abi: operatorRegistryAbi, functionName: "treasury" })).to.equal(getAddress(p.treasury));
  expect(await client.readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "minProviderStake" })).to.equal(BigInt(p.minProviderStake));
  expect(await client.readContract({ address: c.providerRegistry, abi: providerRegistryAbi, functionName: "exitDelay" })).to.equal(BigInt(p.providerExitDelay));
  expect(await client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "maxOrderLifetime" })).to.equal(BigInt(p.maxOrderLifetime));
  expect(await client.readContract({ address: c.marketplace, abi: marketplaceAbi, functionName: "isPaymentTokenAllowed", args: [c.paymentToken] })).to.equal(true);
  for (const address of [c.catalog, c.providerRegistry, c.offerBook, c.marketplace, c.operatorRegistry!, sm]) {
    expect(await client.readContract({ address, abi: gpuCatalogAbi, functionName: "owner" }), `owner of ${address}`).to.equal(getAddress(p.owner));
  }
}

/** The CLI, on the deployment file just written: a BLS key, stake tokens, `operator register`, `operator status`. */
async function registerWithCli(w: World, file: string, stake: { faucet: boolean; mint?: (to: Address) => Promise<void> }): Promise<void> {
  const bls = join(w.dir, "bls.json");
  await writeKeystoreFile(bls, await encryptSecretKey(SecretKey.generate(), PASSWORD, { scrypt: SCRYPT }));
  const common = ["--rpc", w.node.url, "--deployment", file, "--account", w.keystore, "--password-file", w.passwordFile];
  if (stake.faucet) {
    const f = await matchnet([...common, "faucet", "--stake", "1000"]);
    expect(f.code, f.err).to.equal(0);
  } else {
    await stake.mint!(w.deployer);
  }
  const reg = await matchnet([...common, "operator", "register", "--bls-keystore", bls, "--stake", "300", "--socket", "/ip4/127.0.0.1/tcp/9000"]);
  expect(reg.code, reg.err).to.equal(0);
  const status = await matchnet([...common, "--json", "operator", "status"]);
  expect(status.code, status.err).to.equal(0);
  expect(JSON.parse(status.out).status).to.equal("active");
  const catalog = await matchnet([...common, "--json", "catalog", "list"]);
  expect(catalog.code, catalog.err).to.equal(0);
  expect(JSON.stringify(JSON.parse(catalog.out))).to.contain("H100");
}

describe("npm run deploy (any chain, Ignition, parameters file)", function () {
  this.timeout(600_000);

  for (const kind of ["hardhat", "anvil"] as const) {
    describe(`given a local ${kind} node and a funded account keystore`, () => {
      it("given a parameters file that changes every setting and another owner → it should deploy, apply each value, hand ownership over, write the deployment file, and the CLI should register an operator from it", async () => {
        const w = await world(kind);
        try {
          const owner = privateKeyToAccount(generatePrivateKey()).address;
          const treasury = privateKeyToAccount(generatePrivateKey()).address;
          const params = customParameters(owner, treasury);
          const pfile = join(w.dir, "params.json");
          await writeFile(pfile, JSON.stringify(params));
          const out = join(w.dir, "out", "deployment.json");
          const r = await deploy(["--rpc", w.node.url, "--account", w.keystore, "--password-file", w.passwordFile, "--parameters", pfile, "--out", out]);
          expect(r.code, r.err).to.equal(0);
          expect(r.out.trim()).to.equal(out);
          expect(r.err).to.not.contain(PASSWORD);
          const d = await readDeployment(out);
          expect(d.chainId).to.equal(31337);
          expect(d.deployBlock).to.be.greaterThan(1); // block 1 funded the deployer
          await expectOnChain(w.client, out, params);
          await registerWithCli(w, out, { faucet: true });
        } finally {
          await w.done();
        }
      });
    });
  }

  describe("given anvil as a non-local chain (chain id 8453) with the EIP-7825 gas cap", () => {
    it("given tokens \"faucet\" → it should refuse before sending anything (the deployer's nonce stays 0) and say what to give", async () => {
      const w = await world("anvil", 8453);
      try {
        const pfile = join(w.dir, "params.json");
        await writeFile(pfile, JSON.stringify({ tokens: "faucet" }));
        const r = await deploy(["--rpc", w.node.url, "--account", w.keystore, "--password-file", w.passwordFile, "--parameters", pfile, "--out", join(w.dir, "d.json")]);
        expect(r.code).to.equal(2);
        expect(r.err).to.contain("chain 8453 is not a local devnet");
        expect(r.err).to.contain('"tokens": { "payment": <address>, "stake": <address> }');
        expect(await w.client.getTransactionCount({ address: w.deployer })).to.equal(0);
      } finally {
        await w.done();
      }
    });

    it("given existing payment and stake tokens → it should deploy no token, allow the payment token, stake with the stake token, and the CLI should register an operator", async () => {
      const w = await world("anvil", 8453);
      try {
        const artifacts = async (name: string) => JSON.parse(await readFile(join(root, "artifacts/contracts/tokens", `${name}.sol`, `${name}.json`), "utf8")) as { abi: never; bytecode: Hex };
        const dev = createWalletClient({ account: w.devAccount, transport: http(w.node.url) });
        const tokens: Address[] = [];
        for (const name of ["PaymentToken", "StakeToken"]) {
          const a = await artifacts(name);
          const hash = await dev.deployContract({ account: w.devAccount, chain: null, abi: a.abi, bytecode: a.bytecode, args: [w.devAccount] as never });
          tokens.push((await w.client.waitForTransactionReceipt({ hash })).contractAddress!);
        }
        const [payment, stake] = tokens as [Address, Address];
        const params = customParameters(w.deployer, w.devAccount, { payment, stake });
        const pfile = join(w.dir, "params.json");
        await writeFile(pfile, JSON.stringify(params));
        const out = join(w.dir, "deployment.json");
        const r = await deploy(["--rpc", w.node.url, "--account", w.keystore, "--password-file", w.passwordFile, "--parameters", pfile, "--out", out, "--confirmations", "1"]);
        expect(r.code, r.err).to.equal(0);
        const d = await readDeployment(out);
        expect(d.chainId).to.equal(8453);
        expect(d.contracts.paymentToken).to.equal(getAddress(payment));
        expect(d.contracts.stakeToken).to.equal(getAddress(stake));
        await expectOnChain(w.client, out, params);
        await registerWithCli(w, out, {
          faucet: false,
          mint: async (to) => {
            const hash = await dev.writeContract({ account: w.devAccount, chain: null, address: stake, abi: stakeTokenAbi, functionName: "mint", args: [to, 1_000n * 10n ** 18n] });
            await w.client.waitForTransactionReceipt({ hash });
          },
        });
      } finally {
        await w.done();
      }
    });

    it("given a parameters file with several bad values → it should name each one and send nothing", async () => {
      const w = await world("anvil", 8453);
      try {
        const pfile = join(w.dir, "params.json");
        await writeFile(pfile, JSON.stringify({ tokens: { payment: "0x1234", stake: "0x0000000000000000000000000000000000000000" }, quorumThresholdBps: 5_000, operatorExitDelay: 100, colour: "blue" }));
        const r = await deploy(["--rpc", w.node.url, "--account", w.keystore, "--password-file", w.passwordFile, "--parameters", pfile, "--out", join(w.dir, "d.json")]);
        expect(r.code).to.equal(2);
        expect(r.err).to.contain(`invalid deploy parameters in ${pfile}; nothing was sent`);
        expect(r.err).to.contain("tokens.payment: must be an address");
        expect(r.err).to.contain("tokens.stake: must not be the zero address");
        expect(r.err).to.contain("quorumThresholdBps: must be > 5000");
        expect(r.err).to.contain("colour: unknown field");
        expect(await w.client.getTransactionCount({ address: w.deployer })).to.equal(0);
      } finally {
        await w.done();
      }
    });
  });
});
