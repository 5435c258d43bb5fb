import { PerformanceObserver } from "node:perf_hooks";
import type { FhirPhase, FhirPhaseId } from "./types";

/**
 * Where the FHIR-at-size pipeline run's time goes, measured from outside the pipeline: the benchmark wraps what it
 * hands to `TwinPipeline` (the vault, its blob and key stores, the JSON-RPC transport) and the twin engine's `apply`,
 * and notes when each step is first (or last) seen. The pipeline runs its steps one after the other (EMR ingest:
 * parse and checks, seal and store, journal and anchor, proofs, engine, index save and commit), so consecutive marks
 * cut the measured call into phases that add up to its wall time exactly. A mark never seen (e.g. no receipt polled)
 * gives its phase 0 s and the next phase its time.
 */

/** The phases in the order the pipeline runs them, with the report's labels. */
export const FHIR_PHASES: readonly { readonly id: FhirPhaseId; readonly label: string }[] = [
  { id: "parse", label: "parse + checks (and the preflight's chain reads)" },
  { id: "seal", label: "encode, seal + store" },
  { id: "anchor", label: "journal + anchor (send + receipt)" },
  { id: "proofs", label: "record proofs" },
  { id: "engine", label: "twin engine" },
  { id: "commit", label: "index save + commit (send + receipt)" },
];

type Mark = "sealStart" | "sealEnd" | "anchorReceipt" | "engineStart" | "engineEnd";

/** The JSON-RPC methods that submit a transaction. */
const SENDS = new Set(["eth_sendTransaction", "eth_sendRawTransaction"]);

/** A stopwatch of the measured call's marks, plus the busy time of the stores and the GC pauses while it runs. */
export class PhaseProbe {
  readonly #marks = new Map<Mark | "start" | "end", number>();
  #anchorHash: string | null = null;
  #storeBusyMs = 0;
  #gcMs = 0;
  #gcCount = 0;
  #observer: PerformanceObserver | null = null;

  /** Starts the clock (and the GC observer). */
  start(): void {
    this.#marks.clear();
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        this.#gcMs += entry.duration;
        this.#gcCount += 1;
      }
    });
    this.#observer.observe({ entryTypes: ["gc"] });
    this.#marks.set("start", performance.now());
  }

  /** Stops the clock; returns the phases (seconds each, adding up to the call's wall time). */
  stop(): { phases: FhirPhase[]; gcSeconds: number; gcCount: number; storeBusySeconds: number } {
    this.#marks.set("end", performance.now());
    // entries still buffered are delivered by takeRecords
    for (const entry of this.#observer?.takeRecords() ?? []) {
      this.#gcMs += entry.duration;
      this.#gcCount += 1;
    }
    this.#observer?.disconnect();
    this.#observer = null;
    return {
      phases: phasesOf(this.#marks),
      gcSeconds: this.#gcMs / 1000,
      gcCount: this.#gcCount,
      storeBusySeconds: this.#storeBusyMs / 1000,
    };
  }

  #first(mark: Mark): void {
    if (this.#marks.has("start") && !this.#marks.has(mark)) this.#marks.set(mark, performance.now());
  }

  /** A vault `putMany` (or `put`) started: the first one ends parse + checks. */
  sealStarted(): void {
    this.#first("sealStart");
  }

  /** A vault write finished: the last one ends seal + store. */
  sealFinished(): void {
    if (this.#marks.has("start") && !this.#marks.has("anchorReceipt")) this.#marks.set("sealEnd", performance.now());
  }

  /** Time spent inside a blob or key store write (summed; writes overlap with sealing). */
  storeBusy(ms: number): void {
    this.#storeBusyMs += ms;
  }

  /** A JSON-RPC request answered: the anchor's transaction is the first one sent after the seal. */
  rpcAnswered(method: string, params: readonly unknown[], result: unknown): void {
    if (!this.#marks.has("sealEnd") || this.#marks.has("anchorReceipt")) return;
    if (SENDS.has(method) && this.#anchorHash === null && typeof result === "string") this.#anchorHash = result;
    if (method === "eth_getTransactionReceipt" && result && params[0] === this.#anchorHash)
      this.#first("anchorReceipt");
  }

  /** The twin engine's `apply` started or finished. */
  engine(event: "start" | "end"): void {
    this.#first(event === "start" ? "engineStart" : "engineEnd");
  }
}

/** Consecutive marks to phases; a missing mark takes the previous boundary. */
export function phasesOf(marks: ReadonlyMap<string, number>): FhirPhase[] {
  const start = marks.get("start") ?? 0;
  const end = marks.get("end") ?? start;
  const bounds = ["sealStart", "sealEnd", "anchorReceipt", "engineStart", "engineEnd"];
  let previous = start;
  const cuts = bounds.map((name) => {
    const at = marks.get(name);
    previous = at === undefined ? previous : Math.min(Math.max(at, previous), end);
    return previous;
  });
  const edges = [start, ...cuts, end];
  return FHIR_PHASES.map((phase, i) => ({ id: phase.id, seconds: (edges[i + 1] - edges[i]) / 1000 }));
}

/** `target` with its named async methods timed around each call (the rest passed through, bound to `target`). */
export function timedMethods<T extends object>(
  target: T,
  methods: readonly string[],
  onCall: (phase: "start" | "end", ms: number) => void,
): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== "function") return value;
      if (typeof property !== "string" || !methods.includes(property)) return value.bind(object);
      return async (...args: unknown[]) => {
        const started = performance.now();
        onCall("start", 0);
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
        } finally {
          onCall("end", performance.now() - started);
        }
      };
    },
  });
}
