import { expect } from "chai";
import { judgeFhirAtSize, renderFhirAtSize } from "../../../src/evaluation/report-fhir";
import { table } from "../../../src/evaluation/report";
import type { FhirAtSize, FhirPipelineRun } from "../../../src/evaluation/types";

const run = (overrides: Partial<FhirPipelineRun> = {}): FhirPipelineRun => ({
  records: 2_001,
  readings: 2_000,
  inputBytes: 1_175_040,
  seconds: 4,
  cpuSeconds: 3,
  peakRssMb: 180,
  rssBeforeMb: 150,
  anchorGas: 79_051,
  loadAverage: 2.5,
  ...overrides,
});

const phases = [
  { id: "parse", seconds: 0.5 },
  { id: "seal", seconds: 2 },
  { id: "anchor", seconds: 0.25 },
  { id: "proofs", seconds: 0.05 },
  { id: "engine", seconds: 0.7 },
  { id: "commit", seconds: 0.5 },
] as const;

const overRpc: FhirAtSize = {
  measured: true,
  reason: "",
  observations: 2_000,
  judged: false,
  ingest: run({ anchorGas: null, seconds: 0.4 }),
  pipeline: run({
    chain: "anvil",
    runtime: "compiled",
    hardhatLoaded: false,
    phases,
    gcSeconds: 0.4,
    gcCount: 12,
    storeBusySeconds: 1.5,
  }),
  node: { kind: "anvil", startupSeconds: 0.5, peakRssMb: 26.6 },
  inProcess: run({ chain: "in-process", seconds: 6, peakRssMb: 410, rssBeforeMb: 370, phases }),
};

describe("evaluation: the report of FHIR at size (part 6)", () => {
  it("renders the judged run over JSON-RPC, its node, the in-process comparison and the phases", () => {
    const md = renderFhirAtSize(overRpc, table).join("\n");
    expect(md).to.include("## 6. FHIR ingest at size (issue 11)");
    expect(md).to.include("over JSON-RPC (127.0.0.1) to a node in its own process");
    expect(md).to.include("execute compiled JavaScript (an esbuild bundle)");
    expect(md).to.match(
      /\| whole pipeline, chain over JSON-RPC \(anvil\) \| 2,001 \| 1\.1 \| 4\.00 \| 3\.00 \| 180 \| 150 \|/,
    );
    expect(md).to.match(
      /\| whole pipeline, chain in-process \(Hardhat\), not judged \| 2,001 \| 1\.1 \| 6\.00 \| 3\.00 \| 410 \| 370 \|/,
    );
    expect(md).to.include("The judged run's node: anvil").and.include("(started in 0.5 s)").and.include(": 27 MB");
    expect(md).to.include("| encode, seal + store | 2.00 s (50 %) | 2.00 s (33 %) |");
    expect(md).to.include("| of which GC pauses | 0.40 s (10 %), 12 pauses | n/a |");
    expect(md).to.include("| store writes busy (within seal + store) | 1.50 s (38 %) | n/a |");
  });

  it("says in the target row whether the chain is in the peak RSS", () => {
    const judged = judgeFhirAtSize(overRpc);
    expect(judged.verdict).to.equal("quick mode: not judged");
    expect(judged.measured)
      .to.include("the chain not included: anvil in its own process over JSON-RPC, peak RSS 27 MB")
      .and.include("on the in-process network 6.0 s, peak RSS 410 MB");
    const older = judgeFhirAtSize({ ...overRpc, pipeline: run(), node: undefined, inProcess: undefined });
    expect(older.measured).to.include("Hardhat's runtime and chain included").and.not.include("in-process network");
  });

  it("renders an older result (no chain, no phases) as before: no node line, no phase table", () => {
    const md = renderFhirAtSize({ ...overRpc, pipeline: run(), node: undefined, inProcess: undefined }, table).join(
      "\n",
    );
    expect(md).to.include("on Hardhat's in-process network").and.include("| whole pipeline | 2,001 |");
    expect(md).to.not.include("The judged run's node").and.not.include("phase by phase").and.not.include("esbuild");
    expect(renderFhirAtSize({ ...overRpc, measured: false, reason: "anvil did not answer" }, table)).to.deep.equal([
      "## 6. FHIR ingest at size (issue 11)",
      "**Not measured**: anvil did not answer.",
    ]);
  });
});
