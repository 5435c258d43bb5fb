import { expect } from "chai";
import { anvilBinary, startAnvil } from "../../../src/evaluation/anvil-process";
import { FHIR_PHASES, PhaseProbe, phasesOf, timedMethods } from "../../../src/evaluation/fhir-phases";
import {
  FHIR_HEAP_LIMIT_MB,
  inChild,
  measureFhirAtSize,
  type FhirChildOptions,
} from "../../../src/evaluation/fhir-pipeline";
import { groupPeakRssMb } from "../../../src/evaluation/node-process";
import type { FhirPipelineRun } from "../../../src/evaluation/types";

const sum = (run: Pick<FhirPipelineRun, "phases">) => (run.phases ?? []).reduce((s, p) => s + p.seconds, 0);

/** Whether a process (or process group, negative) still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("evaluation: FHIR at size, phases", () => {
  it("cuts the call at consecutive marks, so the phases add up to it; a missing mark gives its phase 0 s", () => {
    const marks = new Map([
      ["start", 1000],
      ["sealStart", 1100],
      ["sealEnd", 1600],
      ["anchorReceipt", 1700],
      ["engineStart", 1750],
      ["engineEnd", 1900],
      ["end", 2000],
    ]);
    const phases = phasesOf(marks);
    expect(phases.map((p) => p.id)).to.deep.equal(FHIR_PHASES.map((p) => p.id));
    expect(phases.map((p) => p.seconds)).to.deep.equal([0.1, 0.5, 0.1, 0.05, 0.15, 0.1]);
    marks.delete("anchorReceipt");
    const missing = phasesOf(marks);
    expect(missing.find((p) => p.id === "anchor")?.seconds).to.equal(0);
    expect(missing.find((p) => p.id === "proofs")?.seconds).to.equal(0.15);
    expect(missing.reduce((s, p) => s + p.seconds, 0)).to.be.closeTo(1, 1e-9);
  });

  it("marks the seal, the anchor's receipt (not another transaction's) and the engine from the calls it sees", async () => {
    const probe = new PhaseProbe();
    const tick = () => new Promise((resolve) => setTimeout(resolve, 15));
    probe.rpcAnswered("eth_sendTransaction", [], "0xbefore"); // before the clock: ignored
    probe.start();
    await tick();
    probe.sealStarted();
    await tick();
    probe.sealFinished();
    probe.rpcAnswered("eth_sendTransaction", [{}], "0xanchor");
    probe.rpcAnswered("eth_getTransactionReceipt", ["0xother"], { status: "0x1" });
    probe.rpcAnswered("eth_getTransactionReceipt", ["0xanchor"], null);
    await tick();
    probe.rpcAnswered("eth_getTransactionReceipt", ["0xanchor"], { status: "0x1" });
    probe.sealFinished(); // a write after the anchor (none in an ingest) does not move the seal's end
    await tick();
    probe.engine("start");
    await tick();
    probe.engine("end");
    probe.storeBusy(12);
    await tick();
    const { phases, storeBusySeconds, gcSeconds } = probe.stop();
    for (const phase of phases) expect(phase.seconds, phase.id).to.be.greaterThan(0.005);
    expect(storeBusySeconds).to.equal(0.012);
    expect(gcSeconds).to.be.at.least(0);
  });

  it("times the named async methods of an object and passes the rest through, bound to it", async () => {
    class Store {
      #items: string[] = [];
      async put(item: string): Promise<number> {
        this.#items.push(item);
        return this.#items.length;
      }
      count(): number {
        return this.#items.length;
      }
    }
    const calls: string[] = [];
    const store = timedMethods(new Store() as Store & { putMany?: () => Promise<void> }, ["put", "putMany"], (p) =>
      calls.push(p),
    );
    expect(await store.put("a")).to.equal(1);
    expect(store.count()).to.equal(1);
    expect(store.putMany).to.equal(undefined);
    expect(calls).to.deep.equal(["start", "end"]);
  });
});

describe("evaluation: FHIR at size, the judged run over JSON-RPC", function () {
  this.timeout(240_000);

  it("runs the pipeline in a child that talks to anvil (no Hardhat runtime), reads the node's RSS, stops the node", async function () {
    if (anvilBinary() === null) this.skip();
    let pid = 0;
    const result = await measureFhirAtSize(process.cwd(), 40, false, {
      inProcess: false,
      startNode: async () => {
        const node = await startAnvil();
        pid = node.pid;
        return node;
      },
    });
    expect(result.measured, result.reason).to.equal(true);
    const run = result.pipeline as FhirPipelineRun;
    expect(run).to.include({ records: 41, readings: 40, chain: "anvil", hardhatLoaded: false, runtime: "compiled" });
    expect(run.anchorGas).to.be.greaterThan(0);
    expect(run.heapLimitMb).to.equal(FHIR_HEAP_LIMIT_MB);
    expect(result.defaultHeap?.heapLimitMb).to.equal(undefined);
    expect(result.defaultHeap?.records).to.equal(41);
    expect(run.peakRssMb).to.be.at.least(run.rssBeforeMb);
    expect(run.phases?.map((p) => p.id)).to.deep.equal(FHIR_PHASES.map((p) => p.id));
    expect(sum(run)).to.be.closeTo(run.seconds, 0.05 * run.seconds + 0.01);
    expect(run.gcCount).to.be.a("number");
    expect(result.ingest).to.include({ records: 41, readings: 40, anchorGas: null });
    expect(result.node?.kind).to.equal("anvil");
    expect(result.node?.peakRssMb).to.be.greaterThan(1);
    expect(result.inProcess).to.equal(null);
    expect(pid).to.be.greaterThan(0);
    expect(alive(pid), "anvil still running after the run").to.equal(false);
  });

  it("keeps the judged run when the in-process comparison fails, saying why, and stops the node", async () => {
    let stopped = 0;
    const pipelineHeaps: (number | undefined)[] = [];
    const fake: FhirPipelineRun = {
      records: 11,
      readings: 10,
      inputBytes: 1,
      seconds: 1,
      cpuSeconds: 1,
      peakRssMb: 1,
      rssBeforeMb: 1,
      anchorGas: 1,
    };
    const result = await measureFhirAtSize(process.cwd(), 10, false, {
      startNode: async () => ({
        url: "http://127.0.0.1:1",
        port: 1,
        pid: 2 ** 30,
        startupSeconds: 0.1,
        stop: async () => void (stopped += 1),
      }),
      runChild: async (options) => {
        if (options.mode === "in-process") throw new Error("hardhat failed to load\nstack");
        if (options.mode === "pipeline") pipelineHeaps.push(options.heapLimitMb);
        return { ...fake, chain: options.mode === "pipeline" ? "anvil" : undefined };
      },
    });
    expect(result).to.include({ measured: true, inProcess: null, inProcessReason: "hardhat failed to load" });
    expect(result.node).to.deep.equal({ kind: "anvil", startupSeconds: 0.1, peakRssMb: null });
    // the judged run with the heap budget, then the default-heap comparison on a node of its own; both nodes stopped
    expect(pipelineHeaps).to.deep.equal([FHIR_HEAP_LIMIT_MB, undefined]);
    expect(result.defaultHeap).to.include({ records: 11, chain: "anvil" });
    expect(stopped).to.equal(2);
  });

  it("reports the child's own peak RSS, not the RSS it inherits from a large parent at the fork", async () => {
    // Regression: maxRSS (getrusage) survives fork and exec on Linux, so every child of the evaluation (1.3 GB by part
    // 6) reported at least 1.3 GB. The parent holds 400 MB of touched pages while the child starts.
    const ballast = Buffer.alloc(400 * 2 ** 20, 1);
    const run = await inChild<FhirPipelineRun>(process.cwd(), { mode: "ingest", count: 10 }, 120_000);
    expect(ballast[ballast.length - 1]).to.equal(1);
    expect(run.peakRssMb).to.be.below(300);
  });

  it("kills a measured child at its timeout and rejects", async () => {
    // 2,000,000 Observations would take the child minutes: it is killed after 2 s (the compile before it not counted)
    const started = performance.now();
    let failure: unknown = null;
    await inChild(process.cwd(), { mode: "ingest", count: 2_000_000 }, 2000).catch(
      (error: unknown) => (failure = error),
    );
    expect(failure).to.be.instanceOf(Error);
    expect(performance.now() - started).to.be.below(90_000);
  });

  it("stops the node when the measured child fails, and reports the run as not measured", async function () {
    if (anvilBinary() === null) this.skip();
    let pid = 0;
    let rss: number | null = null;
    const seen: FhirChildOptions[] = [];
    const result = await measureFhirAtSize(process.cwd(), 10, false, {
      startNode: async () => {
        const node = await startAnvil();
        pid = node.pid;
        return node;
      },
      runChild: async (options) => {
        seen.push(options);
        if (options.mode === "pipeline") {
          rss = groupPeakRssMb(pid);
          throw new Error("the child was killed");
        }
        return {
          records: 11,
          readings: 10,
          inputBytes: 1,
          seconds: 1,
          cpuSeconds: 1,
          peakRssMb: 1,
          rssBeforeMb: 1,
          anchorGas: null,
        };
      },
    });
    expect(result).to.include({ measured: false, reason: "the child was killed", pipeline: null });
    expect(seen.map((o) => o.mode)).to.deep.equal(["ingest", "pipeline"]);
    expect(seen[1].rpcUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(rss).to.be.greaterThan(1);
    expect(alive(pid), "anvil still running after the failure").to.equal(false);
  });
});
