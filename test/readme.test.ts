import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ConsentPolicy__factory } from "../typechain-types";
import { attachDeployment, CONTRACT_ABIS, writeDeploymentRecords } from "../src/chain/deployments";
import { Action, DataCategory, Purpose } from "../src/vocabulary";
import { twinFixture } from "./fixtures";

const ROOT = path.resolve(__dirname, "..");

/** The README's TypeScript blocks. */
function readmeBlocks(): string[] {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Whether every non-empty line of `block` is a line of `program`, in the same order (indentation aside). */
function isExcerptOf(block: string, program: string): boolean {
  const lines = program.split("\n").map((l) => l.trim());
  let at = 0;
  for (const line of block
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const found = lines.indexOf(line, at);
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

describe("README", () => {
  it("shows the set-up commands first", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const setUp = readme.indexOf("## Set up");
    expect(setUp).to.be.greaterThan(0);
    for (const command of ["npm ci", "npm run demo", "npm test"]) {
      expect(readme.indexOf(command, setUp), command).to.be.greaterThan(setUp);
    }
  });

  it("shows TypeScript only as excerpts of the programs in examples/ (which CI runs against the packed package)", () => {
    const blocks = readmeBlocks();
    expect(blocks).to.not.deep.equal([]);
    const programs = readdirSync(path.join(ROOT, "examples"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => readFileSync(path.join(ROOT, "examples", f), "utf8"));
    for (const block of blocks) {
      expect(
        programs.some((program) => isExcerptOf(block, program)),
        block,
      ).to.equal(true);
    }
  });

  it("has examples that import only the package's exported subpaths and ethers", () => {
    const exported = Object.keys(
      (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { exports: Record<string, unknown> })
        .exports,
    ).map((key) => (key === "." ? "twinledger" : `twinledger/${key.slice(2)}`));
    for (const file of readdirSync(path.join(ROOT, "examples")).filter((f) => f.endsWith(".ts"))) {
      const source = readFileSync(path.join(ROOT, "examples", file), "utf8");
      for (const [, specifier] of source.matchAll(/from "([^"]+)"/g)) {
        expect([...exported, "ethers"], `${file} imports ${specifier}`).to.include(specifier);
      }
    }
  });
});

describe("deployment records", () => {
  it("attach typed contracts to the recorded addresses", async () => {
    const { contracts, consent, patient, clinician, twinId } = await loadFixture(twinFixture);
    const dir = mkdtempSync(path.join(os.tmpdir(), "twinledger-deployments-"));
    try {
      const { chainId } = await ethers.provider.getNetwork();
      const records = writeDeploymentRecords(
        contracts,
        { network: "unit", chainId: Number(chainId), abis: CONTRACT_ABIS },
        dir,
      );
      expect(records.map((r) => r.contractName)).to.deep.equal(["TwinRegistry", "ConsentPolicy", "TwinUpdateLog"]);
      const onDisk = JSON.parse(readFileSync(path.join(dir, "unit", "ConsentPolicy.json"), "utf8"));
      expect(onDisk.address).to.equal(await consent.getAddress());
      expect(onDisk.deployer).to.equal(contracts[0].receipt.from);
      expect(Number(onDisk.gasUsed)).to.be.greaterThan(0);

      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      await consent
        .connect(patient)
        .grant(twinId, clinician.address, DataCategory.VITALS, Action.READ, Purpose.TREATMENT, now, now + 3600);
      const attached = attachDeployment("unit", ethers.provider, dir);
      expect(
        await attached.consent.isAuthorized(
          twinId,
          clinician.address,
          Action.READ,
          DataCategory.VITALS,
          Purpose.TREATMENT,
        ),
      ).to.equal(true);
      const viaFactory = ConsentPolicy__factory.connect(onDisk.address, ethers.provider);
      expect(
        await viaFactory.isAuthorized(twinId, clinician.address, Action.READ, DataCategory.VITALS, Purpose.RESEARCH),
      ).to.equal(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuse a missing or malformed record with a typed error", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "twinledger-deployments-"));
    try {
      expect(() => attachDeployment("nowhere", ethers.provider, dir)).to.throw(/no deployment record TwinRegistry/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
