import { getAddress, hexlify, type Signer } from "ethers";
import { publicKeyOf, type PublicKeyLike } from "../crypto";
import { TwinEngine } from "../twin";
import { DataCategory, namesOf, TwinStatus } from "../vocabulary";
import { TwinRegistry__factory, type TwinRegistry } from "../../typechain-types";
import { PipelineError } from "./errors";
import type { TwinPipelineOptions } from "./pipeline-types";
import { checkedFeeBump } from "./journal";
import { NonceManager } from "./nonce-manager";
import { ReadingBatcher } from "./reading-batcher";
import { ReadingTreeCache } from "./reading-tree-cache";
import { indexKeyOf, TwinIndexFolder, type GrantEntry, type TwinIndex } from "./twin-index";
import { TwinRevisions } from "./twin-revisions";
import { EffectiveRecords, erased, stillReadable, type TwinSlot } from "./twin-slot";

/**
 * What the pipeline's modules share: the options, the index folder, the reading batcher, the twins held in memory,
 * and the checks every write or read makes (the twin's slot, its readers, the on-chain preflight). The modules
 * (emr-ingest, wearable-ingest, reading-flush, state-commit, reader-grants, restore, erasure, twin-reads) take it
 * as their first argument; `TwinPipeline` owns it and orders the writes.
 */
export class PipelineContext {
  readonly options: TwinPipelineOptions;
  readonly folder: TwinIndexFolder;
  readonly batcher: ReadingBatcher;
  readonly twins = new Map<string, TwinSlot>();
  /** The reading batches' trees of every twin, bounded (reading-tree-cache.ts). */
  readonly readingTrees: ReadingTreeCache;
  /** Twins not held yet (nothing of them anchored) whose first ingest left a journaled anchor (see recovery.ts). */
  readonly journaled = new Map<string, TwinSlot>();
  readonly custodianPublicKey: string;
  readonly clock: () => number;
  /** Nonces of every account the pipeline sends from, shared by all twins. */
  readonly nonces = new NonceManager();
  /** The custodian's accounts: `custodianSigner` first, then `custodianSigners`. */
  readonly #custodians: readonly Signer[];
  #custodianAddresses?: Promise<string[]>;
  /** The devices flagged on chain (checksummed): every twin engine sets their readings aside (device-flags.ts). */
  flaggedDevices: readonly string[] = [];
  /** What answers about each twin were built from, as a token that changes with it (twin-revisions.ts). */
  readonly revisions = new TwinRevisions();
  #registry?: TwinRegistry;

  constructor(options: TwinPipelineOptions) {
    this.options = options;
    checkedFeeBump(options.feeBump); // INVALID_OPTIONS at open, not at the first stuck anchor
    this.folder = new TwinIndexFolder(options.indexFolder, {
      fsync: options.fsync ?? true,
      key: indexKeyOf(options.custodianKey),
      ...(options.databaseUrl !== undefined ? { databaseUrl: options.databaseUrl } : {}),
    });
    this.batcher = new ReadingBatcher(options.batchPolicy);
    this.readingTrees = new ReadingTreeCache(options.readingTreeCacheLeaves);
    this.custodianPublicKey = hexlify(publicKeyOf(options.custodianKey));
    this.clock = options.clock ?? Date.now;
    if (options.registry) this.#registry = options.registry;
    this.#custodians = [options.custodianSigner, ...(options.custodianSigners ?? [])];
  }

  /**
   * The custodian account that commits the twin's versions: the one that is the twin's custodian on chain (only it
   * may call `commitTwinState`, so the account is chosen by the twin, not by load; twins of different accounts commit
   * on separate nonce sequences). Throws `NOT_TWIN_CUSTODIAN` when none of the service's accounts is.
   */
  async custodianSignerFor(twinId: string): Promise<Signer> {
    const expected = getAddress(await (await this.registry()).custodianOf(twinId));
    this.#custodianAddresses ??= Promise.all(this.#custodians.map(async (s) => getAddress(await s.getAddress())));
    const addresses = await this.#custodianAddresses;
    const index = addresses.indexOf(expected);
    if (index < 0) {
      throw new PipelineError("NOT_TWIN_CUSTODIAN", `${addresses.join(", ")} is not the custodian of twin ${twinId}`);
    }
    return this.#custodians[index];
  }

  nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  newSlot(index: TwinIndex): TwinSlot {
    const engine = new TwinEngine(this.options.engine ?? {});
    if (this.flaggedDevices.length > 0) engine.setFlaggedDevices(this.flaggedDevices);
    return {
      index,
      engine,
      effective: new EffectiveRecords(),
      batchByKey: new Map(index.batches.map((batch) => [batch.key, batch])),
      trees: this.readingTrees.forTwin(index.twinId),
      openedRecords: new Map(),
      openedBatches: new Map(),
      openedIntakes: new Map(),
      erasing: index.erasedAt !== null,
    };
  }

  slot(twinId: string): TwinSlot {
    const slot = this.twins.get(twinId);
    if (slot === undefined) throw new PipelineError("TWIN_UNKNOWN", `the service holds nothing for twin ${twinId}`);
    return slot;
  }

  /** The slot of a twin whose data can be read: throws `TWIN_UNKNOWN` or `TWIN_ERASED`. */
  readable(twinId: string): TwinSlot {
    const slot = this.slot(twinId);
    stillReadable(slot);
    return slot;
  }

  refuseErased(twinId: string): void {
    const slot = this.twins.get(twinId);
    if (slot !== undefined && slot.index.erasedAt !== null) throw erased(twinId, slot.index.erasedAt);
  }

  /** The custodian, the patient and every grantee whose grant covers the category and has not ended. */
  readersFor(slot: TwinSlot, category: number, patient: PublicKeyLike): PublicKeyLike[] {
    return [this.custodianPublicKey, patient, ...this.liveGrants(slot, category).map((grant) => grant.publicKey)];
  }

  /** Grants that cover the category and whose `validUntil` is still ahead of the pipeline's clock. */
  liveGrants(slot: TwinSlot, category: number): GrantEntry[] {
    const now = this.nowSeconds();
    return slot.index.grants.filter(
      (grant) => (grant.categoryMask & category) !== 0 && (grant.validUntil === undefined || grant.validUntil > now),
    );
  }

  async registry(): Promise<TwinRegistry> {
    if (this.#registry === undefined) {
      const log = this.options.updateLog;
      this.#registry = TwinRegistry__factory.connect(await log.registry(), log.runner);
    }
    return this.#registry;
  }

  /** Check on chain, before anything is stored, that the write will be accepted. */
  async preflight(twinId: string, source: string, categories: number, custodian = true): Promise<void> {
    const registry = await this.registry();
    const status = Number(await registry.statusOf(twinId));
    if (status !== TwinStatus.Active) {
      throw new PipelineError("TWIN_NOT_ACTIVE", `twin ${twinId} is ${TwinStatus[status] ?? "unknown"} on chain`);
    }
    const writable = Number(await registry.writableCategories(twinId, source));
    const missing = categories & ~writable;
    if (missing !== 0) {
      throw new PipelineError(
        "SOURCE_NOT_AUTHORIZED",
        `source ${source} may not write ${namesOf(DataCategory, missing).join(", ")} on twin ${twinId}`,
      );
    }
    if (custodian) await this.custodianSignerFor(twinId);
  }

  /** Remove blobs that were stored but will not be anchored (or are no longer needed): their keys, then the blob. */
  async discard(twinId: string, cids: readonly string[]): Promise<void> {
    const { keys, blobs } = this.options.vault;
    for (const recordCid of cids) {
      try {
        for (const reader of await keys.readers(twinId, recordCid)) await keys.remove({ twinId, recordCid, reader });
        if (blobs.delete) await blobs.delete(recordCid);
      } catch {
        // best effort: an orphaned blob is encrypted and unanchored
      }
    }
  }
}
