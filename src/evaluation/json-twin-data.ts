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
  /** The readings by sign, each list in the twin's order (by time: the pipeline answers them so), searched by time. */
  readonly #bySign = new Map<string, ProvenReading[]>();

  constructor(
    private readonly twin: ReplicaTwin,
    alsoServed: readonly string[] = [],
  ) {
    this.#served = new Set([twin.twinId, ...alsoServed].map((id) => id.toLowerCase()));
    for (const proven of twin.readings) {
      const list = this.#bySign.get(proven.reading.sign);
      if (list === undefined) this.#bySign.set(proven.reading.sign, [proven]);
      else list.push(proven);
    }
    for (const list of this.#bySign.values()) list.sort((a, b) => a.reading.at - b.reading.at); // stable
  }

  holding(twinId: string): TwinHolding {
    return this.#served.has(twinId.toLowerCase()) ? "active" : "unknown";
  }

  version() {
    return { version: this.twin.version, anchor: this.twin.anchor };
  }

  /** The data never changes: one revision for ever (the gateway keeps each answer it built). */
  revision(): string {
    return "0";
  }

  async records(_twinId: string, mask: number): Promise<readonly ProvenRecord[]> {
    return this.twin.records.filter((p) => (p.record.category & mask) !== 0);
  }

  async readings(_twinId: string, query: ReadingsQuery): Promise<readonly ProvenReading[]> {
    const inRange = ({ reading: r }: ProvenReading) =>
      (query.from === undefined || r.at >= query.from) && (query.to === undefined || r.at < query.to);
    if (query.signs === undefined) return this.twin.readings.filter(inRange);
    const wanted = new Set(query.signs);
    if (wanted.size === 1) {
      const list = this.#bySign.get(query.signs[0]) ?? [];
      const start = query.from === undefined ? 0 : firstAtOrAfter(list, query.from);
      const end = query.to === undefined ? list.length : firstAtOrAfter(list, query.to);
      return list.slice(start, Math.max(start, end));
    }
    // Several signs: the twin's own order across them, as one pass over the twin would give.
    return this.twin.readings.filter((p) => wanted.has(p.reading.sign) && inRange(p));
  }
}

/** The first index of `list` (sorted by time) whose reading is at `at` or later; `list.length` if none. */
function firstAtOrAfter(list: readonly ProvenReading[], at: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid].reading.at < at) low = mid + 1;
    else high = mid;
  }
  return low;
}
