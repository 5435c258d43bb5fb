import { int, ms, table } from "./report-format";
import type { EvaluationResult } from "./types";

/** The report's blocks for part 5: scaling (gas and time over n, one series each). */
export function renderScalingPart(result: EvaluationResult): string[] {
  const { scaling } = result;
  const out: string[] = [];
  const p = (...blocks: string[]) => void out.push(...blocks);
  p("## 5. Scaling");
  for (const s of scaling.series) {
    p(
      `### ${s.title}`,
      s.finding,
      `![${s.title}](scaling-${s.id}.svg)`,
      table(
        [
          "n",
          `${s.write} gas`,
          `${s.view} gas`,
          "write ms",
          s.id === "readings-per-batch" ? "tree build ms (off chain)" : "view ms (eth_call)",
        ],
        s.points.map((pt) => [
          int(pt.n),
          int(pt.writeGas),
          int(pt.viewGas),
          ms(pt.writeMs),
          ms(s.id === "readings-per-batch" ? (pt.offChainMs ?? NaN) : pt.viewMs),
        ]),
      ),
    );
  }

  return out;
}
