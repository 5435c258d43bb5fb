import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ConsentPolicy__factory } from "../typechain-types";
import { attachDeployment, CONTRACT_ABIS, writeDeploymentRecords } from "../src/chain/deployments";
import { Action, DataCategory, Purpose } from "../src/vocabulary";
import { twinFixture } from "./fixtures";

const ROOT = path.resolve(__dirname, "..");

/** The README's TypeScript example, split into its import lines and its body. */
function readmeExample(): { imports: string; body: string } {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const block = /```ts\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error("README.md has no ```ts example");
  const lines = block[1].split("\n");
  return {
    imports: lines.filter((l) => l.startsWith("import ")).join("\n"),
    body: lines.filter((l) => !l.startsWith("import ")).join("\n"),
  };
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

  it("has a bindings example that type-checks against the generated bindings", function () {
    this.timeout(120_000);
    const { imports, body } = readmeExample();
    const file = path.join(ROOT, `.readme-example-${process.pid}.ts`);
    writeFileSync(
      file,
      `${imports}\nexport async function example(twinId: string, clinician: string): Promise<boolean> {\n${body}\nreturn allowed;\n}\n`,
    );
    try {
      const configFile = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile);
      const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
      const program = ts.createProgram([file], { ...parsed.options, noEmit: true, noUnusedLocals: false });
      const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file);
      const messages = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(messages).to.deep.equal([]);
    } finally {
      rmSync(file, { force: true });
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
