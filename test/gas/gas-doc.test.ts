import { expect } from "chai";
import { readFileSync } from "node:fs";
import { artifacts } from "hardhat";
import { Interface } from "ethers";
import { GAS_DESCRIPTIONS, GAS_DOC, gasDoc, measuredFunctions } from "../../scripts/gas-doc";

/** docs/GAS.md, the auditors' reading of the gas report: every measured function described, the file current. */
describe("docs/GAS.md", () => {
  it("describes every function the committed gas report measures, and only functions the contracts have", () => {
    const described = Object.keys(GAS_DESCRIPTIONS);
    expect(measuredFunctions().filter((f) => !described.includes(f))).to.deep.equal([]);
    // The gas reporter attributes a call of a selector several contracts share (AccessControl's renounceRole, …) to
    // one of them, so a described function may go unmeasured in a run; it must still exist in its contract.
    const stale = described.filter((key) => {
      const [contract, signature] = [key.slice(0, key.indexOf(".")), key.slice(key.indexOf(".") + 1)];
      const abi = new Interface(artifacts.readArtifactSync(contract).abi);
      return abi.getFunction(signature)?.format("sighash") !== signature;
    });
    expect(stale).to.deep.equal([]);
  });

  it("is what scripts/gas-doc.ts makes of reports/gas-report.json (npx ts-node scripts/gas-doc.ts)", () => {
    expect(readFileSync(GAS_DOC, "utf8"), "run `npx ts-node scripts/gas-doc.ts` and commit docs/GAS.md").to.equal(
      gasDoc(),
    );
  });

  it("states the EVM floors the figures are read against", () => {
    const doc = gasDoc();
    for (const floor of ["21,000", "22,100", "2,100", "375 + 375 per topic + 8 per data byte", "16 non-zero, 4 zero"]) {
      expect(doc).to.contain(floor);
    }
  });
});
