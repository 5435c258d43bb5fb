import type { ConsentPolicy, TwinRegistry } from "../../typechain-types";
import { Action, Purpose } from "../vocabulary";
import type { ChainHead } from "./head-follower";

/** What a reader holds on a twin at a head, as far as time windows go. */
interface Holdings {
  readonly controller: boolean;
  readonly grant: {
    readonly categories: number;
    readonly actions: number;
    readonly purposes: number;
    readonly validFrom: number;
    readonly validUntil: number;
    readonly revokedAt: number;
  };
  readonly emergencyUntil: number;
}

const HEADS_KEPT = 2;
const READERS_PER_HEAD = 65_536;

/**
 * Windows judged against the gateway's clock as well as the head's (issue 10, item 6).
 *
 * `checkAccess` judges a grant's window at the head block's timestamp. On a chain that mines only when a transaction
 * arrives, that timestamp can be an hour old, and a grant that ended in between was still honoured. So when the
 * gateway's clock is past the head's time, an allowed decision is judged again at max(head time, gateway clock):
 * {@link endOf} reads, at the same head, what allowed the reader (the owner or a delegate: no end; the grant, when
 * it covers the question at the head: its `validUntil`; an open emergency access, for an emergency read: its `until`)
 * and the gateway refuses `expired` once its clock reaches the latest of those ends. Nothing is then served after a
 * grant's end by more than the clock difference between the gateway and the chain.
 *
 * Only ends are moved: a grant whose `validFrom` lies between the head's time and the gateway's clock still waits
 * for a block past it (the safe side).
 *
 * Answers are kept by block hash and (twin, reader) for the last {@link HEADS_KEPT} heads; failed calls are not kept.
 */
export class WallClockWindows {
  private readonly heads = new Map<string, Map<string, Promise<Holdings>>>();

  constructor(
    private readonly consent: ConsentPolicy,
    private readonly registry: TwinRegistry,
  ) {}

  /**
   * The end (exclusive, unix seconds) of what lets `reader` do `action` on `category` for `purpose` at `head`:
   * Infinity for the twin's owner and delegates, 0 when nothing found at the head allows it.
   */
  async endOf(
    twinId: string,
    reader: string,
    action: number,
    category: number,
    purpose: number,
    head: ChainHead,
  ): Promise<number> {
    const held = await this.holdings(twinId, reader, head);
    if (held.controller) return Number.POSITIVE_INFINITY;
    let end = 0;
    const g = held.grant;
    const grantCovers =
      g.validUntil !== 0 &&
      g.revokedAt === 0 &&
      g.validFrom <= head.timestamp &&
      head.timestamp < g.validUntil &&
      (category & ~g.categories) === 0 &&
      (action & ~g.actions) === 0 &&
      (purpose & ~g.purposes) === 0;
    if (grantCovers) end = g.validUntil;
    // An emergency access allows exactly READ for exactly EMERGENCY (ConsentPolicy's emergency decision).
    if (action === Action.READ && purpose === Purpose.EMERGENCY && held.emergencyUntil > head.timestamp) {
      end = Math.max(end, held.emergencyUntil);
    }
    return end;
  }

  /** Starts reading what `endOf` reads for (twin, reader) at `head`, for an `endOf` that may follow. */
  prefetch(twinId: string, reader: string, head: ChainHead): void {
    this.holdings(twinId, reader, head).catch(() => undefined); // a failure is not kept: endOf asks again
  }

  private holdings(twinId: string, reader: string, head: ChainHead): Promise<Holdings> {
    let atHead = this.heads.get(head.hash);
    if (atHead === undefined) {
      atHead = new Map();
      this.heads.set(head.hash, atHead);
      if (this.heads.size > HEADS_KEPT) this.heads.delete(this.heads.keys().next().value as string);
    }
    const key = `${twinId.toLowerCase()}:${reader.toLowerCase()}`;
    let held = atHead.get(key);
    if (held === undefined) {
      if (atHead.size >= READERS_PER_HEAD) atHead.clear();
      held = this.read(twinId, reader, head.number);
      const kept = atHead;
      kept.set(key, held);
      held.catch(() => kept.delete(key));
    }
    return held;
  }

  private async read(twinId: string, reader: string, blockTag: number): Promise<Holdings> {
    const [controller, grant, emergencyUntil] = await Promise.all([
      this.registry.isController(twinId, reader, { blockTag }),
      this.consent.grantOf(twinId, reader, { blockTag }),
      this.consent.emergencyAccessUntil(twinId, reader, { blockTag }),
    ]);
    return {
      controller,
      grant: {
        categories: Number(grant.categories),
        actions: Number(grant.actions),
        purposes: Number(grant.purposes),
        validFrom: Number(grant.validFrom),
        validUntil: Number(grant.validUntil),
        revokedAt: Number(grant.revokedAt),
      },
      emergencyUntil: Number(emergencyUntil),
    };
  }
}
