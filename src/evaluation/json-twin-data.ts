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
 * (the evaluation's replica run, src/evaluation/gateway-replica.ts, and the replica tests' child process).
 */
export class JsonTwinData implements TwinDataReader {
  constructor(private readonly twin: ReplicaTwin) {}

  holding(twinId: string): TwinHolding {
    return twinId.toLowerCase() === this.twin.twinId.toLowerCase() ? "active" : "unknown";
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
