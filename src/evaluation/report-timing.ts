import { table, timingRows } from "./report-format";
import type { EvaluationResult } from "./types";

/** The report's blocks for part 3: execution time (off-chain operations, contract calls in process). */
export function renderTimingPart(result: EvaluationResult): string[] {
  const { timing } = result;
  const out: string[] = [];
  const p = (...blocks: string[]) => void out.push(...blocks);
  p(
    "## 3. Execution time",
    "### Off-chain operations (per call, in process)",
    "The paper's figures are for its pairing-based scheme on its own hardware; they are set next to the operation " +
      "that plays the same role here (key agreement, signcryption, signature check), not the same computation.",
    table(["operation", "runs", "mean ms", "p50 ms", "p95 ms", "paper"], timingRows(timing.offChain, true)),
    "![off-chain operations](timing-offchain.svg)",
  );
  p(
    "### Contract calls on the in-process Hardhat network (ms per transaction: send, mine, receipt)",
    table(["call", "runs", "mean ms", "p50 ms", "p95 ms"], timingRows(timing.contractCalls, false)),
  );

  return out;
}
