import type { Signer } from "ethers";
import { isTwinId, type PublicKeyLike } from "../crypto";
import type { TwinAlert, TwinEngine, TwinVersion } from "../twin";
import { PipelineError } from "./errors";
import { ingestEmr } from "./emr-ingest";
import type { CarExport } from "../store";
import { exportTwinCar } from "./blob-export";
import { eraseTwin } from "./erasure";
import type { NonceManager } from "./nonce-manager";
import { PipelineContext } from "./pipeline-context";
import type {
  EmrIngestSummary,
  FlushDueResult,
  FlushSummary,
  PipelineErasure,
  ReaderGrantSummary,
  TwinAnchors,
  TwinPipelineOptions,
  WearableIngestSummary,
} from "./pipeline-types";
import type { ProvenReading, ProvenRecord, ReadingsQuery, StateAnchor, TwinDataReader, TwinHolding } from "./reader";
import { expireTwinGrants, grantReader, revokeReader, type GrantWindow } from "./reader-grants";
import type { BatchPolicy } from "./reading-batcher";
import { flushTwin } from "./reading-flush";
import { isEmpty, journaledSlot, resolvePending } from "./recovery";
import { restoreTwin } from "./restore";
import { recordAnchorsOf } from "./record-proofs";
import { commitVersion } from "./state-commit";
import { ingestWearable } from "./wearable-ingest";
import { checkTwinBlobs, provenReadings, provenRecords } from "./twin-reads";
import { applyFlaggedDevices, DeviceFlagFollower, type DeviceFlagUpdate } from "./device-flags";
import { KeyedQueue } from "./twin-queue";
import { batchSummary, currentAnchor, twinKey } from "./twin-slot";

/**
 * The custodian's pipeline, one per service: FHIR in → seal per record (custodian and patient as
 * readers) → store by content id → anchor on chain (one Merkle root per EMR ingest, one per
 * batch of wearable readings) → twin engine → commit the new version. It is the gateway's
 * {@link TwinDataReader}, and keeps its own index in a folder so that a restarted service rebuilds
 * every twin (by decrypting its blobs and replaying the engine) and answers the same.
 *
 * This class only orchestrates: each step lives in its own module (emr-ingest, wearable-ingest, reading-flush,
 * state-commit, reader-grants, restore, erasure, twin-reads) over the shared {@link PipelineContext}.
 * Writes are serialized per twin (one at a time per twin, in call order), so each twin's sequences and versions stay
 * in order while different twins are ingested in parallel; the nonces of the accounts they share are handed out by
 * one {@link NonceManager}.
 * Nothing here logs; errors name twins, content ids, categories and counts only.
 */
export class TwinPipeline implements TwinDataReader {
  readonly #ctx: PipelineContext;
  /** Writes run one at a time per twin, in call order; writes of different twins run side by side. */
  readonly #writes = new KeyedQueue();
  #deviceFlags?: DeviceFlagFollower;
  #deviceFlagTimer?: NodeJS.Timeout;

  private constructor(options: TwinPipelineOptions) {
    this.#ctx = new PipelineContext(options);
  }

  /** Open the pipeline over its index folder: every twin found there is rebuilt before this resolves. */
  static async open(options: TwinPipelineOptions): Promise<TwinPipeline> {
    const pipeline = new TwinPipeline(options);
    const ctx = pipeline.#ctx;
    for (const index of await ctx.folder.loadAll()) {
      if (isEmpty(index)) continue; // a journal entry was all it held, and it was swept
      await restoreTwin(ctx, index);
      const slot = journaledSlot(ctx, index.twinId);
      if (slot === undefined) continue;
      // a crash or a failed send left an anchor's outcome unknown: the chain says whether to finish or sweep it
      try {
        await resolvePending(ctx, slot);
      } catch {
        if (isEmpty({ ...slot.index, pendingAnchors: [] })) ctx.twins.delete(index.twinId);
        ctx.journaled.set(index.twinId, slot); // the chain does not answer: resolved at the twin's next write
      }
    }
    return pipeline;
  }

  /**
   * Close what the pipeline holds open (its index database: the SQLite file or the PostgreSQL pool), after the writes
   * already queued. Reads of twins held in memory still answer; a later write reopens the index.
   */
  async close(): Promise<void> {
    clearInterval(this.#deviceFlagTimer);
    await this.#writes.idle();
    await this.#ctx.folder.close();
  }

  /** The batch policy in force. */
  get batchPolicy(): BatchPolicy {
    return this.#ctx.batcher.policy;
  }

  /** The pipeline's clock (epoch ms): the batch cadence and the end of grants are judged by it. */
  now(): number {
    return this.#ctx.clock();
  }

  /**
   * Set the devices whose readings every twin sets aside (device ids as wearable readings carry them: DeviceRegistry
   * addresses). Answers then leave their readings out of statistics, trends, alerts, NEWS2 and forecasts, and say so;
   * committed versions do not change. Only the signs holding readings of a device flagged or cleared are screened
   * again.
   */
  setFlaggedDevices(devices: Iterable<string>): DeviceFlagUpdate {
    return applyFlaggedDevices(this.#ctx, devices);
  }

  /** Read the flags set and cleared on chain since the last refresh (`deviceRegistry` option), and apply them. */
  async refreshDeviceFlags(): Promise<DeviceFlagUpdate> {
    const registry = this.#ctx.options.deviceRegistry;
    if (registry === undefined) throw new PipelineError("INVALID_OPTIONS", "the pipeline was given no deviceRegistry");
    this.#deviceFlags ??= new DeviceFlagFollower(registry, this.#ctx.options.deviceRegistryFromBlock ?? 0);
    const { devices } = await this.#deviceFlags.refresh();
    return applyFlaggedDevices(this.#ctx, devices);
  }

  /**
   * Refresh the device flags now, then every `intervalMs` until `close` (a failed refresh is retried at the next
   * tick; the timer does not keep the process alive). Resolves with the first refresh, or rejects if it fails.
   */
  followDeviceFlags(intervalMs: number): Promise<DeviceFlagUpdate> {
    if (!(intervalMs >= 100)) throw new PipelineError("INVALID_OPTIONS", "intervalMs must be at least 100 ms");
    clearInterval(this.#deviceFlagTimer);
    this.#deviceFlagTimer = setInterval(() => {
      this.refreshDeviceFlags().catch(() => undefined); // the next tick tries again
    }, intervalMs);
    this.#deviceFlagTimer.unref();
    return this.refreshDeviceFlags();
  }

  /** The flagged devices the twins screen out (checksummed, sorted). */
  get flaggedDevices(): readonly string[] {
    return this.#ctx.flaggedDevices;
  }

  /** The twins the service holds (active or erased), lower-case ids. */
  twins(): string[] {
    return [...this.#ctx.twins.keys()].sort();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Writes
  // ------------------------------------------------------------------------------------------------------------

  /**
   * Ingest an EMR export: validate it in full (a refused bundle stores and anchors nothing), check
   * on chain that the twin is active, that the source may write every category in it and that the
   * custodian signer is the twin's custodian; then seal and store each record, anchor them all with one
   * `anchorRecords` from the source (a record batch: one root, a proof per record), feed the engine and commit the
   * new version. The anchor is journaled before it is sent (recovery.ts): if it fails, its transaction is looked up
   * (mined, pending or dropped) at the twin's next write or on open; only an anchor known not to be mined has its
   * stored blobs swept, and nothing is ever anchored twice.
   *
   * One twin, one patient: every record's subject must resolve to the bundle's one Patient, or to `patient`
   * (the twin's patient reference at the hospital, e.g. `Patient/123`) for a bundle without a Patient; and every
   * ingest of a twin must name the same patient as its first (`PATIENT_MISMATCH` otherwise). Re-ingest: records
   * whose content is unchanged (same key, same content digest) are neither stored nor anchored again; changed
   * ones become new versions of their record. An ingest with nothing new sends no transaction.
   * @param bundle FHIR JSON text, or the parsed Bundle / resource.
   */
  ingestEmr(
    twinId: string,
    bundle: unknown,
    options: { readonly sourceSigner: Signer; readonly patient?: string },
  ): Promise<EmrIngestSummary> {
    return this.#write(twinId, (id) => ingestEmr(this.#ctx, id, bundle, options.sourceSigner, options.patient));
  }

  /**
   * Receive wearable readings (a Bundle, an Observation or an array of resources): validate them,
   * keep them encrypted as pending (an intake blob sealed for the custodian), and flush when the
   * batch policy says so. What is kept of each Observation is its readings (sign, value, unit, time,
   * category, record key, and as `source` the device signer's address: its DeviceRegistry id), not the Observation
   * resource itself.
   */
  ingestWearable(
    twinId: string,
    input: unknown,
    options: { readonly deviceSigner: Signer },
  ): Promise<WearableIngestSummary> {
    return this.#write(twinId, (id) => ingestWearable(this.#ctx, id, input, options));
  }

  /** Batch, store and anchor the twin's pending readings now (null if none is pending), then commit. */
  flush(twinId: string, options: { readonly deviceSigner?: Signer } = {}): Promise<FlushSummary | null> {
    return this.#write(twinId, (id) => flushTwin(this.#ctx, id, options.deviceSigner));
  }

  /**
   * Flush every twin whose batch is due by the policy (call it from a timer). A twin that cannot be
   * flushed (no device signer known, the twin suspended, a failed transaction) does not stop the
   * others: it is reported in `failed` and its readings stay pending.
   */
  async flushDue(): Promise<FlushDueResult> {
    const due = this.#ctx.batcher.dueTwins(this.#ctx.clock());
    const outcomes = await Promise.all(
      due.map((twinId) =>
        this.#queued(twinId, () => flushTwin(this.#ctx, twinId, undefined)).then(
          (done) => ({ done }),
          (error: unknown) => ({ twinId, error }),
        ),
      ),
    );
    const flushed: FlushSummary[] = [];
    const failed: { twinId: string; error: unknown }[] = [];
    for (const outcome of outcomes) {
      if ("error" in outcome) failed.push(outcome);
      else if (outcome.done) flushed.push(outcome.done);
    }
    return { flushed, failed };
  }

  /**
   * Commit the twin's latest version if it is not committed yet (after a commit failed, e.g. while
   * the twin was suspended); returns its anchor. Throws `ANCHOR_FAILED` if the commit fails again.
   */
  commit(twinId: string): Promise<StateAnchor> {
    return this.#write(twinId, async (id) => {
      const slot = this.#ctx.readable(id);
      const { version, anchor } = this.version(id);
      if (anchor !== null) return anchor;
      const committed = await commitVersion(this.#ctx, slot, version);
      if (committed.state === null) throw committed.commitError as PipelineError;
      return committed.state;
    });
  }

  /** Readings received for a twin and not yet anchored. */
  pendingReadings(twinId: string): number {
    return this.#ctx.batcher.pending(twinKey(twinId)).readings.length;
  }

  /**
   * Follow a reader's on-chain grant (ConsentGranted or ConsentUpdated, see reader-sync.ts): the reader holds the data
   * keys of exactly the twin's records in `categoryMask`, and records stored later are sealed for it while the grant's
   * window lasts. Covered blobs' data keys are re-wrapped for the reader; keys of categories the grant no longer
   * covers (a narrowed grant) are removed. A grant already ended (`validUntil` at or before the pipeline's clock)
   * works as `revokeReader`. `validFrom` is kept for the record: keys are wrapped at once (the gateway judges the window
   * on every read; a key given early opens nothing the grant will not cover).
   * @param window The grant's `validFrom` and `validUntil` in seconds (no end when absent).
   */
  grantReader(
    twinId: string,
    readerPublicKey: PublicKeyLike,
    categoryMask: number,
    window: GrantWindow = {},
  ): Promise<ReaderGrantSummary> {
    return this.#write(twinId, (id) => grantReader(this.#ctx, id, readerPublicKey, categoryMask, window));
  }

  /**
   * Withdraw a reader's keys for the twin (after a revocation) and stop sealing new records for it;
   * returns how many wrapped keys were removed.
   */
  revokeReader(twinId: string, reader: string): Promise<number> {
    return this.#write(twinId, (id) => revokeReader(this.#ctx, id, reader));
  }

  /**
   * End the grants whose `validUntil` has passed by the pipeline's clock, on every twin: their keys are withdrawn (as
   * `revokeReader`). New records are not sealed for them from `validUntil` on in any case; call this from a timer, or
   * let `ReaderSync` call it. Returns the number of grants ended.
   */
  async expireGrants(): Promise<number> {
    const ended = await Promise.all(
      [...this.#ctx.twins.keys()].map((id) => this.#queued(id, () => expireTwinGrants(this.#ctx, this.#ctx.slot(id)))),
    );
    return ended.reduce((sum, n) => sum + n, 0);
  }

  /** The readers the twin's new records in a category are sealed for now (besides the custodian and the patient). */
  readersOf(twinId: string, category: number): string[] {
    const slot = this.#ctx.readable(twinKey(twinId));
    return this.#ctx.liveGrants(slot, category).map((grant) => grant.reader);
  }

  /**
   * Erase a twin on the service side, after the patient erased it on chain (`registry.eraseTwin`):
   * refuses with `TWIN_NOT_ERASED_ON_CHAIN` otherwise. Destroys every wrapped key the service holds
   * for it (and the blobs where the store can delete), drops the twin's engine and pending readings.
   * Afterwards `holding` is `erased` and reads fail with `TWIN_ERASED`; the anchors stay on chain
   * and in `anchors()`. Idempotent.
   */
  erase(twinId: string): Promise<PipelineErasure> {
    return this.#write(twinId, (id) => eraseTwin(this.#ctx, id));
  }

  // ------------------------------------------------------------------------------------------------------------
  // Reads (TwinDataReader)
  // ------------------------------------------------------------------------------------------------------------

  holding(twinId: string): TwinHolding {
    const slot = isTwinId(twinId) ? this.#ctx.twins.get(twinId.toLowerCase()) : undefined;
    if (slot === undefined) return "unknown";
    return slot.index.erasedAt !== null ? "erased" : "active";
  }

  /**
   * The latest version, as answers use it (readings of flagged devices set aside: `setFlaggedDevices`), and its
   * commitment. The anchor is null until that very version is committed (before the first commit, or while a failed
   * commit waits for `commit`).
   */
  version(twinId: string): { readonly version: TwinVersion; readonly anchor: StateAnchor | null } {
    const slot = this.#ctx.readable(twinKey(twinId));
    const screened = (slot.engine as TwinEngine).screened;
    return { version: screened, anchor: currentAnchor(slot.index.states, screened.version) };
  }

  /** The alerts of the twin's latest version (health data: never log them). */
  alerts(twinId: string): readonly TwinAlert[] {
    return this.version(twinId).version.model.alerts;
  }

  /** Everything anchored for the twin, also after erasure. Throws `TWIN_UNKNOWN`. */
  anchors(twinId: string): TwinAnchors {
    const slot = this.#ctx.slot(twinKey(twinId));
    return {
      records: recordAnchorsOf(this.#ctx, slot.index, slot.index.records),
      batches: slot.index.batches.map(batchSummary),
      states: [...slot.index.states],
    };
  }

  /** Changes whenever an answer about the twin could change; null while a write of it runs (twin-revisions.ts). */
  revision(twinId: string): string | null {
    return this.#ctx.revisions.of(twinKey(twinId));
  }

  records(twinId: string, categoryMask: number): Promise<readonly ProvenRecord[]> {
    return provenRecords(this.#ctx, twinKey(twinId), categoryMask);
  }

  readings(twinId: string, query: ReadingsQuery): Promise<readonly ProvenReading[]> {
    return provenReadings(this.#ctx, twinKey(twinId), query);
  }

  /**
   * Re-reads every blob the twin's answers come from (its records, batches and pending intakes) and checks
   * each against its CID: queries answer from blobs opened once, so this is how a blob tampered with or lost
   * on disk since is found. Throws `BLOB_NOT_FOUND` or `BLOB_TAMPERED` (the first found); returns the count.
   */
  checkBlobs(twinId: string): Promise<number> {
    return checkTwinBlobs(this.#ctx, twinKey(twinId));
  }

  /**
   * Export every blob the twin's index references (records, reading batches, pending intakes) as a CAR file at `path`
   * (written atomically), so that an IPFS node can pin them (`ipfs dag import`), or another blob store take them in
   * (`importCar`). Ciphertext only: reading them takes the index and the wrapped keys. Runs after the twin's queued
   * writes. Throws `TWIN_UNKNOWN`, `TWIN_ERASED`, or the store's error for a blob missing or tampered with.
   */
  exportBlobsCar(twinId: string, path: string): Promise<CarExport> {
    return this.#write(twinId, (id) => exportTwinCar(this.#ctx, id, path));
  }

  /** Queue a write of one twin behind that twin's earlier writes (a malformed id rejects at once). */
  #write<T>(twinId: string, action: (id: string) => Promise<T>): Promise<T> {
    let id: string;
    try {
      id = twinKey(twinId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#queued(id, async () => {
      const journaled = journaledSlot(this.#ctx, id);
      if (journaled !== undefined) await resolvePending(this.#ctx, journaled);
      return action(id);
    });
  }

  /** Queue an action of one twin (a key as `twinKey` gives it) behind its earlier writes, counted as a write of it. */
  #queued<T>(id: string, action: () => Promise<T>): Promise<T> {
    return this.#writes.run(id, () => this.#ctx.revisions.during(id, action));
  }
}
