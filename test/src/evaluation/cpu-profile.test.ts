import { expect } from "chai";
import type { Profiler } from "node:inspector";
import {
  areaOf,
  areaShares,
  selfTimeShares,
  withCpuProfile,
  type CpuProfile,
} from "../../../src/evaluation/cpu-profile";

function frame(
  id: number,
  functionName: string,
  url: string,
  children: number[] = [],
  lineNumber = 0,
): Profiler.ProfileNode {
  return { id, callFrame: { functionName, url, lineNumber, columnNumber: 0, scriptId: String(id) }, children };
}

/**
 * (root) → handler (src/service/routes/query.ts) → ecdsaVerify (node_modules/secp256k1) → KeccakWrapper (native);
 * (root) → (idle); (root) → parse (node_modules/@scope/pkg); (root) → writev (native, no JavaScript caller).
 */
const PROFILE: CpuProfile = {
  nodes: [
    frame(1, "(root)", "", [2, 5, 6, 7]),
    frame(2, "handler", "file:///app/src/service/routes/query.ts", [3], 40),
    frame(3, "ecdsaVerify", "file:///app/node_modules/secp256k1/lib/index.js", [4], 284),
    frame(4, "KeccakWrapper", ""),
    frame(5, "(idle)", ""),
    frame(6, "parse", "file:///app/node_modules/@scope/pkg/index.js"),
    frame(7, "writev", ""),
  ],
  startTime: 0,
  endTime: 1000,
  // 4 in the native verification, 3 idle, 1 in the handler itself, 1 in parse, 1 in writev
  samples: [4, 4, 4, 4, 5, 5, 5, 2, 6, 7],
  timeDeltas: [],
};

describe("evaluation/cpu-profile: where a profiled run spent its samples", () => {
  it("areaOf: npm packages (scoped too), Node's modules, the path under src/, and V8's names without a script", () => {
    expect(areaOf(frame(1, "f", "file:///a/node_modules/undici/lib/x.js"))).to.equal("npm:undici");
    expect(areaOf(frame(1, "f", "file:///a/node_modules/@noble/curves/secp256k1.js"))).to.equal("npm:@noble/curves");
    expect(areaOf(frame(1, "f", "node:internal/stream_base_commons"))).to.equal("node:internal");
    expect(areaOf(frame(1, "f", "/work/main/src/service/signatures.ts"))).to.equal("src/service/signatures.ts");
    expect(areaOf(frame(1, "(garbage collector)", ""))).to.equal("(garbage collector)");
    expect(areaOf(frame(1, "", ""))).to.equal("(native)");
  });

  it("self time by function: largest first, a native frame named with its nearest JavaScript caller", () => {
    expect(selfTimeShares(PROFILE)).to.deep.equal([
      { name: "KeccakWrapper (native) ← ecdsaVerify secp256k1/index.js:285", share: 0.4 },
      { name: "(idle)", share: 0.3 },
      { name: "handler src/service/routes/query.ts:41", share: 0.1 },
      { name: "parse @scope/pkg/index.js:1", share: 0.1 },
      { name: "writev", share: 0.1 },
    ]);
    expect(selfTimeShares(PROFILE, 2).map((s) => s.name)).to.deep.equal([
      "KeccakWrapper (native) ← ecdsaVerify secp256k1/index.js:285",
      "(idle)",
    ]);
  });

  it("self time by area: native code counted in its caller's area, the shares adding up to the whole", () => {
    const areas = areaShares(PROFILE);
    expect(areas).to.deep.equal([
      { name: "npm:secp256k1 (native)", share: 0.4 },
      { name: "(idle)", share: 0.3 },
      { name: "npm:@scope/pkg", share: 0.1 },
      { name: "src/service/routes/query.ts", share: 0.1 },
      { name: "writev", share: 0.1 },
    ]);
    expect(areas.reduce((sum, a) => sum + a.share, 0)).to.be.closeTo(1, 1e-9);
    expect(areaShares({ ...PROFILE, samples: [] })).to.deep.equal([]);
  });

  it("withCpuProfile: the run's result and a profile of this thread during it; a failed run fails, the profiler stopped", async () => {
    function busyProfiledLoop(ms: number): number {
      const end = performance.now() + ms;
      let n = 0;
      while (performance.now() < end) n += Math.sqrt(n + 1);
      return n;
    }
    const { result, profile } = await withCpuProfile(async () => busyProfiledLoop(60) > 0);
    expect(result).to.equal(true);
    expect(profile.samples?.length ?? 0).to.be.greaterThan(10);
    expect(profile.nodes.some((n) => n.callFrame.functionName === "busyProfiledLoop")).to.equal(true);

    await expect(withCpuProfile(() => Promise.reject(new Error("the run failed")))).to.be.rejectedWith(
      "the run failed",
    );
    const again = await withCpuProfile(async () => 1);
    expect(again.result).to.equal(1);
  });
});
