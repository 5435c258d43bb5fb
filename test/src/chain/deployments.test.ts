import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import hre, { ethers, network } from "hardhat";
import { deployTwinLedger } from "../../../src/chain/deploy";
import {
  attachDeployment,
  CONTRACT_ABIS,
  DEFAULT_DEPLOYMENTS_DIR,
  deploymentDirs,
  readDeploymentRecord,
  recordedNetworks,
  writeDeploymentRecords,
} from "../../../src/chain/deployments";
import { packageRoot } from "../../../src/chain/package-root";
import { readReleaseManifest } from "../../../src/chain/release";
import { TwinLedgerError } from "../../../src/errors";
import { currentReleaseManifest } from "../../../scripts/release-manifest";

const ROOT = path.resolve(__dirname, "../../..");

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), "twinledger-deployments-"));
}

async function recordsIn(dir: string, networkName: string): Promise<Record<string, string>> {
  const [deployer] = await ethers.getSigners();
  const { contracts } = await deployTwinLedger({ deployer, adminDelay: 0 });
  writeDeploymentRecords(contracts, { network: networkName, chainId: 31337, abis: CONTRACT_ABIS }, dir);
  return Object.fromEntries(contracts.map((c) => [c.name, c.address]));
}

describe("deployments/", () => {
  it("release.json is current: the ABIs, code and canonical addresses of the compiled contracts", async function () {
    this.timeout(60_000);
    const fresh = JSON.parse(JSON.stringify(await currentReleaseManifest(hre)));
    expect(readReleaseManifest(), "deployments/release.json is stale: run `npm run deployments:release`").to.deep.equal(
      fresh,
    );
  });

  it("holds no local network's records in git (localhost and hardhat are ignored)", () => {
    const ignore = readFileSync(path.join(ROOT, ".gitignore"), "utf8");
    expect(ignore).to.include("deployments/hardhat/").and.include("deployments/localhost/");
  });
});

describe("deployment records: where they are found", () => {
  let snapshot: string;
  beforeEach(async () => {
    snapshot = (await network.provider.send("evm_snapshot", [])) as string;
  });
  afterEach(async () => {
    await network.provider.send("evm_revert", [snapshot]);
  });

  it("regression: the package's folder is found from dist/ too (it was dist/deployments once installed)", () => {
    expect(DEFAULT_DEPLOYMENTS_DIR).to.equal(path.join(ROOT, "deployments"));
    const pkg = tempDir();
    try {
      writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "twinledger" }));
      const built = path.join(pkg, "dist", "src", "chain");
      mkdirSync(built, { recursive: true });
      expect(packageRoot(built)).to.equal(pkg);
      expect(packageRoot(path.join(ROOT, "src", "chain"))).to.equal(ROOT);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  it("reads an explicit folder, given as a string or as { dir }", async () => {
    const dir = tempDir();
    try {
      const addresses = await recordsIn(dir, "somenet");
      expect(await attachDeployment("somenet", ethers.provider, dir).consent.getAddress()).to.equal(
        addresses.ConsentPolicy,
      );
      expect(attachDeployment("somenet", ethers.provider, { dir }).records.TwinUpdateLog.address).to.equal(
        addresses.TwinUpdateLog,
      );
      expect(deploymentDirs({ dir })).to.deep.equal([dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads <cwd>/deployments first, then the package's, for any network name", async () => {
    const app = tempDir();
    const cwd = process.cwd();
    try {
      const addresses = await recordsIn(path.join(app, "deployments"), "my-chain");
      process.chdir(app);
      expect(deploymentDirs()).to.deep.equal([path.join(app, "deployments"), DEFAULT_DEPLOYMENTS_DIR]);
      expect(recordedNetworks()).to.include("my-chain");
      const { registry, records } = attachDeployment("my-chain", ethers.provider);
      expect(await registry.getAddress()).to.equal(addresses.TwinRegistry);
      expect(records.ConsentPolicy.chainId).to.equal(31337);
    } finally {
      process.chdir(cwd);
      rmSync(app, { recursive: true, force: true });
    }
  });

  it("says DEPLOYMENT_MISSING with the folders searched and the networks recorded there", async () => {
    const dir = tempDir();
    try {
      await recordsIn(dir, "elsewhere");
      let error: unknown;
      try {
        readDeploymentRecord("localhost", "TwinRegistry", dir);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(TwinLedgerError);
      expect((error as TwinLedgerError).code).to.equal("DEPLOYMENT_MISSING");
      expect((error as Error).message)
        .to.include(dir)
        .and.include("records exist for: elsewhere");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the transaction facts of a CREATE2 contract found in place on a re-run", async () => {
    const dir = tempDir();
    try {
      const [deployer] = await ethers.getSigners();
      const meta = { network: "n", chainId: 31337, abis: CONTRACT_ABIS, strategy: "create2" as const, salt: "0x01" };
      const first = await deployTwinLedger({ deployer, strategy: "create2" });
      const written = writeDeploymentRecords(first.contracts, meta, dir);
      const again = await deployTwinLedger({ deployer, strategy: "create2" });
      const rewritten = writeDeploymentRecords(again.existing, meta, dir);
      expect(rewritten.map((r) => [r.transactionHash, r.blockNumber, r.gasUsed])).to.deep.equal(
        written.map((r) => [r.transactionHash, r.blockNumber, r.gasUsed]),
      );
      expect(rewritten[0].strategy).to.equal("create2");
      const unknown = writeDeploymentRecords(again.existing, { ...meta, network: "fresh" }, dir);
      expect(unknown[0].transactionHash).to.equal(null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
