import { getAddress } from "ethers";
import { addressOf, type PublicKeyLike } from "../crypto";
import type { ConsentPolicy } from "../../typechain-types";
import type { TwinPipeline } from "./twin-pipeline";

/** What one `ReaderSync.sync` did. */
export interface ReaderSyncReport {
  /** The last block followed (inclusive). */
  readonly toBlock: number;
  /** (twin, reader) pairs whose keys now follow a live grant. */
  readonly granted: number;
  /** Pairs whose keys were withdrawn (revoked, ended, or the reader's public key unknown). */
  readonly withdrawn: number;
  /**
   * Grantees whose public key the directory does not know (or gives a key of another address): nothing is sealed for
   * them, retried on the next sync (checksummed addresses).
   */
  readonly unknownReaders: readonly string[];
  /** Grants ended by the clock since the last sync (`TwinPipeline.expireGrants`). */
  readonly expired: number;
}

/** How {@link ReaderSync} finds the chain, the pipeline and the readers' keys. */
export interface ReaderSyncOptions {
  readonly consent: ConsentPolicy;
  readonly pipeline: TwinPipeline;
  /**
   * A reader's public key by address (e.g. recovered from its signed requests by the gateway), or undefined when it
   * is not known yet: then nothing is sealed for it, and the next sync after it is known catches up.
   */
  readonly publicKeyOf: (reader: string) => PublicKeyLike | undefined | Promise<PublicKeyLike | undefined>;
  /** The first block to follow (default 0). */
  readonly fromBlock?: number;
}

/**
 * Makes what the pipeline seals for whom follow ConsentPolicy: each `sync()` reads the ConsentGranted,
 * ConsentUpdated and ConsentRevoked events since the last one, and for each (twin, grantee) they touch on a twin the
 * pipeline holds, reads the grant as it stands at the synced block (`grantOf`) and applies it: a live grant with its
 * exact categories and window (`grantReader`: narrowed categories lose their keys), a revoked or ended one withdrawn
 * (`revokeReader`). Then grants past their `validUntil` are ended (`expireGrants`). Reading the grant's state rather
 * than replaying the events makes it correct whatever their order or number.
 *
 * @dev Between two syncs the pipeline may seal for a grantee revoked in the meantime; run `sync` on every new block
 * (or a short timer) next to the gateway's head follower. Keys are a second line: the gateway checks consent at the
 * head on every read.
 */
export class ReaderSync {
  readonly #options: ReaderSyncOptions;
  #nextBlock: number;
  /** Pairs skipped for an unknown key, retried on every sync until the key is known. */
  readonly #unknown = new Map<string, { twinId: string; grantee: string }>();

  constructor(options: ReaderSyncOptions) {
    this.#options = options;
    this.#nextBlock = options.fromBlock ?? 0;
  }

  /** The next block a sync starts from. */
  get nextBlock(): number {
    return this.#nextBlock;
  }

  /** Follow the grants up to `toBlock` (default: the latest block). */
  async sync(toBlock?: number): Promise<ReaderSyncReport> {
    const { consent, pipeline } = this.#options;
    const provider = consent.runner?.provider;
    if (provider === undefined || provider === null) throw new Error("the ConsentPolicy contract needs a provider");
    const to = toBlock ?? (await provider.getBlockNumber());
    const touched = new Map(this.#unknown);
    if (to >= this.#nextBlock) {
      for (const filter of [
        consent.filters.ConsentGranted(),
        consent.filters.ConsentUpdated(),
        consent.filters.ConsentRevoked(),
      ]) {
        for (const event of await consent.queryFilter(filter, this.#nextBlock, to)) {
          const twinId = String(event.args.twinId).toLowerCase();
          const grantee = getAddress(String(event.args.grantee));
          touched.set(`${twinId}/${grantee}`, { twinId, grantee });
        }
      }
    }
    let granted = 0;
    let withdrawn = 0;
    const unknownReaders = new Set<string>();
    for (const [pair, { twinId, grantee }] of touched) {
      this.#unknown.delete(pair);
      if (pipeline.holding(twinId) !== "active") continue;
      const grant = await consent.grantOf(twinId, grantee, { blockTag: to });
      const now = Math.floor(pipeline.now() / 1000);
      const live = grant.revokedAt === 0n && grant.categories !== 0n && Number(grant.validUntil) > now;
      const known = live ? await this.#options.publicKeyOf(grantee) : undefined;
      // a key that is not the grantee's own is not used: the keys must open for the account the grant names
      const publicKey = known !== undefined && addressOf(known) === grantee ? known : undefined;
      if (live && publicKey !== undefined) {
        await pipeline.grantReader(twinId, publicKey, Number(grant.categories), {
          validFrom: Number(grant.validFrom),
          validUntil: Number(grant.validUntil),
        });
        granted += 1;
      } else {
        if (live) {
          unknownReaders.add(grantee);
          this.#unknown.set(pair, { twinId, grantee });
        }
        await pipeline.revokeReader(twinId, grantee);
        withdrawn += 1;
      }
    }
    this.#nextBlock = Math.max(this.#nextBlock, to + 1);
    const expired = await pipeline.expireGrants();
    return { toBlock: to, granted, withdrawn, unknownReaders: [...unknownReaders].sort(), expired };
  }
}
