import type {
  ProvenReading,
  ProvenRecord,
  ReadingsQuery,
  StateAnchor,
  TwinDataReader,
  TwinHolding,
} from "../pipeline/reader";
import type { TwinVersion } from "../twin";

/** One twin's data as JSON: what the pipeline answered for it, handed to a gateway replica process. */
export interface ReplicaTwin {
  readonly twinId: string;
  readonly version: TwinVersion;
  readonly anchor: StateAnchor | null;
  readonly records: readonly ProvenRecord[];
  readonly readings: readonly ProvenReading[];
}

/**
 * A `TwinDataReader` over one twin held in memory as JSON, for gateway replicas that do not open the pipeline
 * (the evaluation's replica run, src/evaluation/gateway-replica.ts, and the replica tests' child process). With
 * `alsoServed`, the same data answers for those twin ids too (the replica run's many small twins, each registered and
 * granted on chain: the gateway checks consent and custody per twin, and returns the data without checking it).
 */
export class JsonTwinData implements TwinDataReader {
  readonly #served: ReadonlySet<string>;

  constructor(
    private readonly twin: ReplicaTwin,
    alsoServed: readonly string[] = [],
  ) {
    this.#served = new Set([twin.twinId, ...alsoServed].map((id) => id.toLowerCase()));
  }

  holding(twinId: string): TwinHolding {
    return this.#served.has(twinId.toLowerCase()) ? "active" : "unknown";
  }

  version() {
    return { version: this.twin.version, anchor: this.twin.anchor };
  }

  async records(_twinId: string, mask: number): Promise<readonly ProvenRecord[]> {
    return this.twin.records.filter((p) => (p.record.category & mask) !== 0);
  }

  async readings(_twinId: string, query: ReadingsQuery): Promise<readonly ProvenReading[]> {
    return this.twin.readings.filter(
      ({ reading: r }) =>
        (query.signs === undefined || query.signs.includes(r.sign)) &&
        (query.from === undefined || r.at >= query.from) &&
        (query.to === undefined || r.at < query.to),
    );
  }
}
