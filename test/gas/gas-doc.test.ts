import { expect } from "chai";
import { readFileSync } from "node:fs";
import { GAS_DESCRIPTIONS, GAS_DOC, gasDoc, measuredFunctions } from "../../scripts/gas-doc";

/** docs/GAS.md, the auditors' reading of the gas report: every measured function described, the file current. */
describe("docs/GAS.md", () => {
  it("describes every function the committed gas report measures, and nothing else", () => {
    expect(Object.keys(GAS_DESCRIPTIONS).sort()).to.deep.equal(measuredFunctions().sort());
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
