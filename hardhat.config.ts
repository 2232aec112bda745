import { createRequire } from "node:module";
import type { HardhatUserConfig } from "hardhat/config";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatIgnitionViem from "@nomicfoundation/hardhat-ignition-viem";

// Hardhat downloads solc by default, and these machines have no internet: compile with the `solc` npm package's
// WASM build instead. Hardhat trusts the version written here, so it is read from the package itself.
const require = createRequire(import.meta.url);
const solcVersion: string = require("solc/package.json").version;
const solcPath = require.resolve("solc/soljson.js");

const compiler = {
  version: solcVersion,
  path: solcPath,
  settings: { optimizer: { enabled: true, runs: 200 }, viaIR: false, evmVersion: "cancun" },
};

// The ServiceManager carries the batch lifecycle, the signature checker and both slashers: optimised for size
// (fewer runs) so it stays under the 24 576-byte code limit of EIP-170 on every chain it may be deployed to.
const sizeOptimised = { ...compiler, settings: { ...compiler.settings, viaIR: true, optimizer: { enabled: true, runs: 20 } } };
const viaIR = { ...compiler, settings: { ...compiler.settings, viaIR: true } };
const profile = {
  compilers: [compiler],
  overrides: { "contracts/avs/ServiceManager.sol": sizeOptimised, "contracts/harness/AvsHarness.sol": viaIR },
};

const config: HardhatUserConfig = {
  plugins: [hardhatViem, hardhatViemAssertions, hardhatMocha, hardhatNetworkHelpers, hardhatIgnitionViem],
  solidity: {
    profiles: {
      default: profile,
      production: profile,
    },
  },
  paths: {
    tests: { mocha: "test", solidity: "contracts/test" },
  },
  test: {
    mocha: { timeout: 120_000 },
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 256, depth: 50, failOnRevert: false },
    },
  },
  networks: {
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
  },
};

export default config;
