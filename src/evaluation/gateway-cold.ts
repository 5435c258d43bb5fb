import type { TwinDataReader } from "../pipeline/reader";
import type { Gateway } from "../service";
import { summarize, type Summary } from "./stats";

/**
 * The first query on a cold twin (issue 12: at most 50 ms; 749 ms in the demo before): a pipeline freshly opened on
 * the custodian's folders (nothing of the twin decrypted or checked yet) behind a fresh gateway (no consent answer,
 * no head block, no reader key cached), then one signed query POSTed over HTTP and timed from the POST to the
 * answer; the second query on the same gateway is timed the same way for comparison. Signing is outside the clock.
 * Repeated `runs` times, each on its own pipeline and gateway.
 */
export interface ColdQuery {
  readonly runs: number;
  /** POST → 200 of the first query on a cold twin, ms. */
  readonly firstMs: Summary;
  /** The same for the second query, right after. */
  readonly secondMs: Summary;
  /** Opening the pipeline (its index, the twins restored), ms: before the first query, not part of it. */
  readonly openMs: Summary;
  /**
   * Where the first query's time goes: on another freshly opened pipeline, its first read of the twin's records and
   * readings alone (decrypting and checking the blobs; no gateway, no chain), ms.
   */
  readonly pipelineFirstReadMs: Summary;
}

export interface ColdQueryOptions {
  readonly runs: number;
  /** Opens a new pipeline over the custodian's folders; `close` releases it. */
  readonly openPipeline: () => Promise<TwinDataReader & { close(): Promise<void> }>;
  readonly twinId: string;
  /** A gateway over the given data, not yet listening. */
  readonly createGateway: (data: TwinDataReader) => Gateway;
  /** Signs one query body for the gateway at `baseUrl` (its own nonce). */
  readonly sign: (baseUrl: string) => Promise<unknown>;
}

export async function measureColdQuery(options: ColdQueryOptions): Promise<ColdQuery> {
  const first: number[] = [];
  const second: number[] = [];
  const open: number[] = [];
  const read: number[] = [];
  for (let run = 0; run < options.runs; run++) {
    const reader = await options.openPipeline();
    try {
      const t = performance.now();
      await reader.records(options.twinId, 0xffffffff);
      await reader.readings(options.twinId, {});
      read.push(performance.now() - t);
    } finally {
      await reader.close();
    }
    const t0 = performance.now();
    const pipeline = await options.openPipeline();
    open.push(performance.now() - t0);
    const gateway = options.createGateway(pipeline);
    try {
      const baseUrl = await gateway.listen();
      for (const into of [first, second]) {
        const body = JSON.stringify(await options.sign(baseUrl));
        const started = performance.now();
        const response = await fetch(`${baseUrl}/v1/query`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`a cold query was answered ${response.status}`);
        into.push(performance.now() - started);
      }
    } finally {
      await gateway.close();
      await pipeline.close();
    }
  }
  return {
    runs: options.runs,
    firstMs: summarize(first),
    secondMs: summarize(second),
    openMs: summarize(open),
    pipelineFirstReadMs: summarize(read),
  };
}

/** The report's paragraph for the cold query. */
export function renderColdQuery(cold: ColdQuery | undefined): string[] {
  if (!cold) return [];
  const f = (x: number) => x.toFixed(1);
  return [
    "### The first query on a cold twin (issue 12)",
    `A pipeline freshly opened on the custodian's folders (${f(cold.openMs.p50)} ms to open, not counted) behind a ` +
      "fresh gateway (no consent answer, head block or reader key cached), one signed `latest-vitals` query POSTed " +
      `over HTTP: the first answered in ${f(cold.firstMs.p50)} ms (p50 of ${cold.runs}; max ${f(cold.firstMs.max)} ` +
      `ms), the second right after in ${f(cold.secondMs.p50)} ms. The first includes decrypting and checking the ` +
      "twin's blobs and asking the node for the head block and the consent; the pipeline's first read of the twin's " +
      `records and readings alone, on another fresh pipeline, takes ${f(cold.pipelineFirstReadMs.p50)} ms. ` +
      "Target: at most 50 ms " +
      `(${cold.firstMs.p50 <= 50 ? "met" : "missed"} at the p50).`,
  ];
}
