import { getAddress, hexlify, type Signer } from "ethers";
import { buildReadingTree, proveReading, type ReadingTree } from "../chain/anchors";
import { addressOf, isTwinId, normalizePublicKey, publicKeyOf, type PublicKeyLike } from "../crypto";
import { ingest, ingestWearable as ingestWearableInput, parseFhirJson, planReingest } from "../fhir";
import type { IngestResult, TwinRecord, VitalReading } from "../fhir/records";
import { stateCommitment, TwinEngine, type TwinAlert, type TwinVersion } from "../twin";
import { DataCategory, namesOf, TwinStatus } from "../vocabulary";
import { TwinRegistry__factory, type TwinRegistry, type TwinUpdateLog } from "../../typechain-types";
import {
  decodeBatch,
  decodeIntake,
  decodeRecord,
  encodeBatch,
  encodeIntake,
  encodeRecord,
  type SaltedReading,
} from "./blob-codec";
import { mapLimit, MapLimitError } from "./concurrency";
import { PipelineError } from "./errors";
import { patientLinkDigest } from "./patient-link";
import type {
  BatchSummary,
  EmrIngestSummary,
  FlushDueResult,
  FlushSummary,
  PipelineErasure,
  ReaderGrantSummary,
  TwinAnchors,
  TwinPipelineOptions,
  VersionOutcome,
  WearableIngestSummary,
} from "./pipeline-types";
import { prepareBatch, ReadingBatcher, splitIntoBatches, type BatchPolicy } from "./reading-batcher";
import { readingCommitment, readingTimestampSeconds } from "./reading-commitment";
import type {
  BatchAnchor,
  ProvenReading,
  ProvenRecord,
  ReadingsQuery,
  StateAnchor,
  TwinDataReader,
  TwinHolding,
} from "./reader";
import { anchorRecordBatch, type AnchoredRecords } from "./record-anchoring";
import { anchorFailed, sendWithNonces } from "./transactions";
import {
  emptyTwinIndex,
  TwinIndexFolder,
  type BatchEntry,
  type GrantEntry,
  type IntakeEntry,
  type RecordEntry,
  type TwinIndex,
} from "./twin-index";

/** The in-memory state of one twin. */
interface TwinSlot {
  readonly index: TwinIndex;
  /** Null once erased. */
  engine: TwinEngine | null;
  /** Record key → the entry whose record the engine holds. */
  readonly effective: Map<string, RecordEntry>;
  readonly batchByKey: Map<string, BatchEntry>;
  readonly trees: Map<string, ReadingTree>;
  /**
   * Blobs already opened, by record CID, batch key or intake CID: a blob is fetched, checked against its
   * CID, decrypted and decoded once (the engine holds the same data in memory anyway), and later queries
   * answer from here without touching the store. `checkBlobs` re-reads the store on demand, so a blob
   * tampered with or lost on disk is still found. Erasure clears them.
   */
  readonly openedRecords: Map<string, ReturnType<typeof decodeRecord>>;
  readonly openedBatches: Map<string, OpenedBatch>;
  readonly openedIntakes: Map<string, VitalReading[]>;
  deviceSigner?: Signer;
}

/** A batch opened once: its salted readings, their commitments, and each reading's anchor once built. */
interface OpenedBatch {
  readonly salted: SaltedReading[];
  readonly hashes: readonly string[];
  /** By reading index; a proof is built the first time a query asks for that reading. */
  readonly anchors: (BatchAnchor | undefined)[];
}

const WEARABLE = DataCategory.WEARABLE_STREAMS;
/** Blobs sealed, stored or opened at once (file I/O overlaps the crypto). */
const PARALLEL_IO = 16;

/**
 * The custodian's pipeline, one per service: FHIR in → seal per record (custodian and patient as
 * readers) → store by content id → anchor on chain (one Merkle root per EMR ingest, one per
 * batch of wearable readings) → twin engine → commit the new version. It is the gateway's
 * {@link TwinDataReader}, and keeps its own index in a folder so that a restarted service rebuilds
 * every twin (by decrypting its blobs and replaying the engine) and answers the same.
 *
 * Writes are serialized (one at a time per service), so nonces, sequences and versions stay in order.
 * Nothing here logs; errors name twins, content ids, categories and counts only.
 */
export class TwinPipeline implements TwinDataReader {
  readonly #options: TwinPipelineOptions;
  readonly #folder: TwinIndexFolder;
  readonly #batcher: ReadingBatcher;
  readonly #twins = new Map<string, TwinSlot>();
  readonly #custodianPublicKey: string;
  readonly #clock: () => number;
  #registry?: TwinRegistry;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(options: TwinPipelineOptions) {
    this.#options = options;
    this.#folder = new TwinIndexFolder(options.indexFolder, { fsync: options.fsync ?? true });
    this.#batcher = new ReadingBatcher(options.batchPolicy);
    this.#custodianPublicKey = hexlify(publicKeyOf(options.custodianKey));
    this.#clock = options.clock ?? Date.now;
    if (options.registry) this.#registry = options.registry;
  }

  /** Open the pipeline over its index folder: every twin found there is rebuilt before this resolves. */
  static async open(options: TwinPipelineOptions): Promise<TwinPipeline> {
    const pipeline = new TwinPipeline(options);
    for (const index of await pipeline.#folder.loadAll()) await pipeline.#restore(index);
    return pipeline;
  }

  /** The batch policy in force. */
  get batchPolicy(): BatchPolicy {
    return this.#batcher.policy;
  }

  /** The twins the service holds (active or erased), lower-case ids. */
  twins(): string[] {
    return [...this.#twins.keys()].sort();
  }

  // ------------------------------------------------------------------------------------------------------------
  // Writes
  // ------------------------------------------------------------------------------------------------------------

  /**
   * Ingest an EMR export: validate it in full (a refused bundle stores and anchors nothing), check
   * on chain that the twin is active, that the source may write every category in it and that the
   * custodian signer is the twin's custodian; then seal and store each record, anchor them all with one
   * `anchorRecords` from the source (a record batch: one root, a proof per record), feed the engine and commit the
   * new version. If the anchor fails, nothing is anchored and the stored blobs are removed.
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
    return this.#exclusive(() => this.#ingestEmr(twinKey(twinId), bundle, options.sourceSigner, options.patient));
  }

  /**
   * Receive wearable readings (a Bundle, an Observation or an array of resources): validate them,
   * keep them encrypted as pending (an intake blob sealed for the custodian), and flush when the
   * batch policy says so. What is kept of each Observation is its readings (sign, value, unit, time,
   * device, category, record key), not the Observation resource itself.
   */
  ingestWearable(
    twinId: string,
    input: unknown,
    options: { readonly deviceSigner: Signer; readonly source?: string },
  ): Promise<WearableIngestSummary> {
    return this.#exclusive(() => this.#ingestWearable(twinKey(twinId), input, options));
  }

  /** Batch, store and anchor the twin's pending readings now (null if none is pending), then commit. */
  flush(twinId: string, options: { readonly deviceSigner?: Signer } = {}): Promise<FlushSummary | null> {
    return this.#exclusive(() => this.#flush(twinKey(twinId), options.deviceSigner));
  }

  /**
   * Flush every twin whose batch is due by the policy (call it from a timer). A twin that cannot be
   * flushed (no device signer known, the twin suspended, a failed transaction) does not stop the
   * others: it is reported in `failed` and its readings stay pending.
   */
  flushDue(): Promise<FlushDueResult> {
    return this.#exclusive(async () => {
      const flushed: FlushSummary[] = [];
      const failed: { twinId: string; error: unknown }[] = [];
      for (const twinId of this.#batcher.dueTwins(this.#clock())) {
        try {
          const done = await this.#flush(twinId, undefined);
          if (done) flushed.push(done);
        } catch (error) {
          failed.push({ twinId, error });
        }
      }
      return { flushed, failed };
    });
  }

  /**
   * Commit the twin's latest version if it is not committed yet (after a commit failed, e.g. while
   * the twin was suspended); returns its anchor. Throws `ANCHOR_FAILED` if the commit fails again.
   */
  commit(twinId: string): Promise<StateAnchor> {
    return this.#exclusive(async () => {
      const slot = this.#readable(twinKey(twinId));
      const { version, anchor } = this.version(twinId);
      if (anchor !== null) return anchor;
      const committed = await this.#commit(slot, version);
      if (committed.state === null) throw committed.commitError as PipelineError;
      return committed.state;
    });
  }

  /** Readings received for a twin and not yet anchored. */
  pendingReadings(twinId: string): number {
    return this.#batcher.pending(twinKey(twinId)).readings.length;
  }

  /**
   * Give a reader the data keys of the twin's records in `categoryMask` (after the gateway saw the
   * patient's ConsentGranted): each covered blob's data key is re-wrapped for the reader. Records
   * stored later in those categories are sealed for the reader too.
   */
  grantReader(twinId: string, readerPublicKey: PublicKeyLike, categoryMask: number): Promise<ReaderGrantSummary> {
    return this.#exclusive(async () => {
      const slot = this.#readable(twinKey(twinId));
      if (!Number.isInteger(categoryMask) || categoryMask <= 0 || categoryMask > 0xffffffff) {
        throw new PipelineError("INVALID_OPTIONS", "categoryMask must be a non-zero uint32");
      }
      const publicKey = hexlify(normalizePublicKey(readerPublicKey));
      const reader = addressOf(publicKey);
      const records = slot.index.records.filter((entry) => (entry.category & categoryMask) !== 0);
      const batches = (categoryMask & WEARABLE) !== 0 ? slot.index.batches : [];
      const cids = [...records.map((entry) => entry.anchor.cid), ...batches.map((batch) => batch.cid)];
      await this.#options.vault.addReader(slot.index.twinId, cids, this.#options.custodianKey, publicKey);
      const earlier = slot.index.grants.find((grant) => grant.reader === reader);
      const merged = (earlier?.categoryMask ?? 0) | categoryMask;
      slot.index.grants = [
        ...slot.index.grants.filter((grant) => grant.reader !== reader),
        { reader, publicKey, categoryMask: merged },
      ];
      await this.#folder.save(slot.index);
      return {
        twinId: slot.index.twinId,
        reader,
        categoryMask: merged,
        records: records.length,
        batches: batches.length,
      };
    });
  }

  /**
   * Withdraw a reader's keys for the twin (after a revocation) and stop sealing new records for it;
   * returns how many wrapped keys were removed.
   */
  revokeReader(twinId: string, reader: string): Promise<number> {
    return this.#exclusive(async () => {
      const slot = this.#readable(twinKey(twinId));
      const address = getAddress(reader);
      let removed = 0;
      const cids = [...slot.index.records.map((e) => e.anchor.cid), ...slot.index.batches.map((b) => b.cid)];
      for (const recordCid of cids) {
        if (await this.#options.vault.keys.remove({ twinId: slot.index.twinId, recordCid, reader: address })) {
          removed += 1;
        }
      }
      slot.index.grants = slot.index.grants.filter((grant) => grant.reader !== address);
      await this.#folder.save(slot.index);
      return removed;
    });
  }

  /**
   * Erase a twin on the service side, after the patient erased it on chain (`registry.eraseTwin`):
   * refuses with `TWIN_NOT_ERASED_ON_CHAIN` otherwise. Destroys every wrapped key the service holds
   * for it (and the blobs where the store can delete), drops the twin's engine and pending readings.
   * Afterwards `holding` is `erased` and reads fail with `TWIN_ERASED`; the anchors stay on chain
   * and in `anchors()`. Idempotent.
   */
  erase(twinId: string): Promise<PipelineErasure> {
    return this.#exclusive(async () => {
      const id = twinKey(twinId);
      const status = Number(await (await this.#registryContract()).statusOf(id));
      if (status !== TwinStatus.Erased) {
        throw new PipelineError(
          "TWIN_NOT_ERASED_ON_CHAIN",
          `twin ${id} is ${TwinStatus[status] ?? "unknown"} on chain; erase it in the registry first`,
        );
      }
      const slot = this.#twins.get(id) ?? this.#newSlot(emptyTwinIndex(id));
      this.#twins.set(id, slot);
      this.#batcher.take(id);
      const receipt = await this.#options.vault.erase(id);
      slot.index.erasedAt ??= receipt.erasedAt;
      slot.index.intakes = [];
      slot.index.grants = [];
      slot.engine = null;
      slot.effective.clear();
      slot.trees.clear();
      slot.openedRecords.clear();
      slot.openedBatches.clear();
      slot.openedIntakes.clear();
      await this.#folder.save(slot.index);
      return {
        twinId: id,
        erasedAt: slot.index.erasedAt,
        destroyedKeys: receipt.destroyedKeys,
        deletedBlobs: receipt.deletedBlobs,
      };
    });
  }

  // ------------------------------------------------------------------------------------------------------------
  // Reads (TwinDataReader)
  // ------------------------------------------------------------------------------------------------------------

  holding(twinId: string): TwinHolding {
    const slot = isTwinId(twinId) ? this.#twins.get(twinId.toLowerCase()) : undefined;
    if (slot === undefined) return "unknown";
    return slot.index.erasedAt !== null ? "erased" : "active";
  }

  /**
   * The latest version and its commitment. The anchor is null until that very version is committed
   * (before the first commit, or while a failed commit waits for `commit`).
   */
  version(twinId: string): { readonly version: TwinVersion; readonly anchor: StateAnchor | null } {
    const slot = this.#readable(twinKey(twinId));
    const current = (slot.engine as TwinEngine).current;
    const states = slot.index.states;
    const last = states.length > 0 ? states[states.length - 1] : null;
    return { version: current, anchor: last !== null && last.version === current.version ? last : null };
  }

  /** The alerts of the twin's latest version (health data: never log them). */
  alerts(twinId: string): readonly TwinAlert[] {
    return this.version(twinId).version.model.alerts;
  }

  /** Everything anchored for the twin, also after erasure. Throws `TWIN_UNKNOWN`. */
  anchors(twinId: string): TwinAnchors {
    const slot = this.#slot(twinKey(twinId));
    return {
      records: slot.index.records.map((entry) => entry.anchor),
      batches: slot.index.batches.map(batchSummary),
      states: [...slot.index.states],
    };
  }

  async records(twinId: string, categoryMask: number): Promise<readonly ProvenRecord[]> {
    const slot = this.#readable(twinKey(twinId));
    const entries = [...slot.effective.values()]
      .filter((entry) => (entry.category & categoryMask) !== 0)
      .sort((a, b) => compareSequence(a.anchor.sequence, b.anchor.sequence));
    return unwrapped(
      mapLimit(entries, PARALLEL_IO, async (entry): Promise<ProvenRecord> => ({
        record: (await this.#openRecord(slot, entry)).record,
        anchor: entry.anchor,
      })),
    );
  }

  async readings(twinId: string, query: ReadingsQuery): Promise<readonly ProvenReading[]> {
    const slot = this.#readable(twinKey(twinId));
    const signs = query.signs === undefined ? undefined : new Set(query.signs);
    const from = query.from ?? -Infinity;
    const to = query.to ?? Infinity;
    const wanted = (reading: VitalReading) =>
      (signs === undefined || signs.has(reading.sign)) && reading.at >= from && reading.at < to;
    const out: ProvenReading[] = [];

    for (const batch of slot.index.batches) {
      if (batch.to * 1000 + 999 < from || batch.from * 1000 >= to) continue;
      const opened = await this.#openBatchWithHashes(slot, batch);
      const tree = this.#treeOf(slot, batch, opened.hashes, opened.salted);
      opened.salted.forEach(({ reading, salt }, i) => {
        if (!wanted(reading)) return;
        const anchor = (opened.anchors[i] ??= this.#batchAnchor(batch, tree, opened.hashes[i], salt, reading.at));
        out.push({ reading, anchor });
      });
    }
    for (const intake of slot.index.intakes) {
      for (const reading of await this.#openIntake(slot, intake))
        if (wanted(reading)) out.push({ reading, anchor: null });
    }
    for (const entry of slot.effective.values()) {
      if (entry.readingCount === 0) continue;
      const { readings } = await this.#openRecord(slot, entry);
      for (const reading of readings) {
        if (wanted(reading)) out.push({ reading, anchor: null, recordAnchor: entry.anchor });
      }
    }
    return out.sort(
      (a, b) =>
        a.reading.at - b.reading.at || (a.reading.sign < b.reading.sign ? -1 : a.reading.sign > b.reading.sign ? 1 : 0),
    );
  }

  /**
   * Re-reads every blob the twin's answers come from (its records, batches and pending intakes) and checks
   * each against its CID: queries answer from blobs opened once, so this is how a blob tampered with or lost
   * on disk since is found. Throws `BLOB_NOT_FOUND` or `BLOB_TAMPERED` (the first found); returns the count.
   */
  async checkBlobs(twinId: string): Promise<number> {
    const slot = this.#readable(twinKey(twinId));
    const cids = [
      ...slot.index.records.map((entry) => entry.anchor.cid),
      ...slot.index.batches.map((batch) => batch.cid),
      ...slot.index.intakes.map((intake) => intake.cid),
    ];
    await unwrapped(mapLimit(cids, PARALLEL_IO, (cid) => this.#options.vault.blobs.get(cid)));
    return cids.length;
  }

  // ------------------------------------------------------------------------------------------------------------
  // EMR
  // ------------------------------------------------------------------------------------------------------------

  async #ingestEmr(
    twinId: string,
    bundle: unknown,
    sourceSigner: Signer,
    patientReference: string | undefined,
  ): Promise<EmrIngestSummary> {
    this.#refuseErased(twinId);
    const parsed = typeof bundle === "string" ? parseFhirJson(bundle) : bundle;
    // Throws on refusal, before anything is stored.
    const result: IngestResult = ingest(parsed, {
      origin: "emr",
      ...(patientReference !== undefined ? { patient: patientReference } : {}),
    });
    if (result.records.length === 0) {
      throw new PipelineError("EMPTY_INPUT", `the bundle for twin ${twinId} holds no record the twin models`);
    }
    // A new twin is only held once something of it is anchored.
    const slot = this.#twins.get(twinId) ?? this.#newSlot(emptyTwinIndex(twinId));
    const patientLink = this.#checkPatientLink(slot, result.patient ?? patientReference);
    const plan = planReingest(this.#heldDigests(slot), result.records);
    const fresh = [...plan.added, ...plan.changed];
    if (fresh.length === 0) return this.#unchangedIngest(slot, result, plan.unchanged.length);
    const source = getAddress(await sourceSigner.getAddress());
    const categories = fresh.reduce((mask, record) => mask | record.category, 0);
    await this.#preflight(twinId, source, categories);

    // Encode and decode each record first: the engine gets exactly what a restart will decrypt.
    const readingsByKey = groupReadings(result.readings);
    const prepared = fresh.map((record) => {
      const plaintext = encodeRecord(record, readingsByKey.get(record.key) ?? []);
      return { record, plaintext, decoded: decodeRecord(plaintext, record.key) };
    });
    const patient = await this.#options.patientPublicKey(twinId);
    const vault = this.#options.vault;
    type Stored = { key: string; category: number; cid: string; contentHash: string; readingCount: number };
    let stored: Stored[];
    try {
      stored = await mapLimit(prepared, PARALLEL_IO, async ({ record, plaintext, decoded }) => {
        const readers = this.#readersFor(slot, record.category, patient);
        const put = await vault.put(plaintext, { twinId, recordKey: record.key, category: record.category }, readers);
        return {
          key: record.key,
          category: record.category,
          cid: put.cid,
          contentHash: put.contentHash,
          readingCount: decoded.readings.length,
        };
      });
    } catch (error) {
      if (!(error instanceof MapLimitError)) throw error;
      const done = (error.partial as (Stored | undefined)[]).filter((s): s is Stored => s !== undefined);
      await this.#discard(
        twinId,
        done.map((s) => s.cid),
      );
      throw error.error;
    }

    // One record batch for the whole ingest: one transaction, one root, a proof per record.
    let anchored: AnchoredRecords;
    try {
      anchored = await anchorRecordBatch(this.#options.updateLog, sourceSigner, twinId, stored);
    } catch (cause) {
      await this.#discard(
        twinId,
        stored.map((s) => s.cid),
      );
      throw cause instanceof PipelineError
        ? cause
        : new PipelineError("ANCHOR_FAILED", `anchoring the records of twin ${twinId} failed; none is anchored`, {
            cause,
          });
    }
    const entries: RecordEntry[] = anchored.anchors.map((anchor, i) => ({
      key: stored[i].key,
      category: stored[i].category,
      readingCount: stored[i].readingCount,
      anchor,
      source,
      ...(prepared[i].record.digest !== undefined ? { digest: prepared[i].record.digest } : {}),
    }));
    slot.index.records.push(...entries);
    slot.index.patientLink ??= patientLink;
    this.#twins.set(twinId, slot);
    const done = await this.#applyAndCommit(slot, slot.engine?.current, {
      records: prepared.map((p) => p.decoded.record),
      readings: prepared.flatMap((p) => p.decoded.readings),
      sourceHashes: entries.map((e) => e.anchor.contentHash),
      recordEntries: entries,
      batchKeys: [],
    });
    const skippedCount = Object.values(result.skipped).reduce((sum, n) => sum + n, 0);
    return {
      ...done,
      twinId,
      records: entries.length,
      readings: prepared.reduce((sum, p) => sum + p.decoded.readings.length, 0),
      skipped: result.skipped,
      skippedCount,
      warnings: result.warnings?.length ?? 0,
      unchanged: plan.unchanged.length,
      anchors: anchored.anchors,
      anchorGasUsed: anchored.receipt.gasUsed,
    };
  }

  /** The keyed digest of the ingest's patient, refused when the twin already names another patient. */
  #checkPatientLink(slot: TwinSlot, patientReference: string | undefined): string | undefined {
    if (patientReference === undefined) return undefined;
    const link = patientLinkDigest(this.#options.custodianKey, slot.index.twinId, patientReference);
    if (slot.index.patientLink !== undefined && slot.index.patientLink !== link) {
      throw new PipelineError(
        "PATIENT_MISMATCH",
        `the bundle is about another patient than the records twin ${slot.index.twinId} holds; nothing was stored`,
      );
    }
    return link;
  }

  /** Content digests of the records the twin holds now, by record key. */
  #heldDigests(slot: TwinSlot): Map<string, string> {
    const held = new Map<string, string>();
    for (const [key, entry] of slot.effective) if (entry.digest !== undefined) held.set(key, entry.digest);
    return held;
  }

  /** An ingest whose every record the twin already holds unchanged: no blob, no transaction, no new version. */
  #unchangedIngest(slot: TwinSlot, result: IngestResult, unchanged: number): EmrIngestSummary {
    if (slot.engine === null) throw new PipelineError("TWIN_ERASED", `twin ${slot.index.twinId} is erased`);
    const version = slot.engine.current;
    const states = slot.index.states;
    const last = states.length > 0 ? states[states.length - 1] : null;
    return {
      version,
      state: last !== null && last.version === version.version ? last : null,
      alerts: version.model.alerts,
      raisedAlerts: [],
      commitGasUsed: 0n,
      twinId: slot.index.twinId,
      records: 0,
      readings: 0,
      skipped: result.skipped,
      skippedCount: Object.values(result.skipped).reduce((sum, n) => sum + n, 0),
      warnings: result.warnings?.length ?? 0,
      unchanged,
      anchors: [],
      anchorGasUsed: 0n,
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // Wearables
  // ------------------------------------------------------------------------------------------------------------

  async #ingestWearable(
    twinId: string,
    input: unknown,
    options: { readonly deviceSigner: Signer; readonly source?: string },
  ): Promise<WearableIngestSummary> {
    this.#refuseErased(twinId);
    const parsed = typeof input === "string" ? parseFhirJson(input) : input;
    const result = ingestWearableInput(parsed, options.source !== undefined ? { source: options.source } : {});
    if (result.readings.length === 0) {
      throw new PipelineError("EMPTY_INPUT", `the wearable input for twin ${twinId} holds no reading`);
    }
    const device = getAddress(await options.deviceSigner.getAddress());
    await this.#preflight(twinId, device, WEARABLE, false);
    const slot = this.#twins.get(twinId) ?? this.#newSlot(emptyTwinIndex(twinId));

    const receivedAt = this.#clock();
    const plaintext = encodeIntake(result.readings);
    const readings = decodeIntake(plaintext, "intake");
    const key = `wearable-intake/${slot.index.nextIntake}`;
    const put = await this.#options.vault.put(plaintext, { twinId, recordKey: key, category: WEARABLE }, [
      this.#custodianPublicKey,
    ]);
    slot.index.nextIntake += 1;
    slot.index.intakes.push({ key, cid: put.cid, count: readings.length, receivedAt });
    slot.deviceSigner = options.deviceSigner;
    this.#twins.set(twinId, slot);
    await this.#folder.save(slot.index);
    this.#batcher.add(twinId, readings, receivedAt);

    const flushed = this.#batcher.isDue(twinId, this.#clock()) ? await this.#flush(twinId, options.deviceSigner) : null;
    return {
      twinId,
      readings: readings.length,
      skipped: result.skipped,
      pending: this.#batcher.pending(twinId).readings.length,
      flushed,
    };
  }

  async #flush(twinId: string, deviceSigner: Signer | undefined): Promise<FlushSummary | null> {
    const slot = this.#readable(twinId);
    if (this.#batcher.pending(twinId).readings.length === 0) return null;
    const signer = deviceSigner ?? slot.deviceSigner ?? this.#options.deviceSigner;
    if (signer === undefined) {
      throw new PipelineError("NO_DEVICE_SIGNER", `no device signer to anchor the pending readings of twin ${twinId}`);
    }
    const source = getAddress(await signer.getAddress());
    await this.#preflight(twinId, source, WEARABLE);

    const pending = this.#batcher.take(twinId);
    const intakes = slot.index.intakes;
    const chunks = splitIntoBatches(pending, this.#batcher.policy.maxReadings).map((readings) =>
      prepareBatch(twinId, readings),
    );
    const patient = await this.#options.patientPublicKey(twinId);
    const readers = this.#readersFor(slot, WEARABLE, patient);
    const stored: { key: string; cid: string; contentHash: string }[] = [];
    try {
      for (const chunk of chunks) {
        const key = `wearable-batch/${slot.index.nextBatch + stored.length}`;
        const put = await this.#options.vault.put(
          encodeBatch(chunk.readings),
          { twinId, recordKey: key, category: WEARABLE },
          readers,
        );
        stored.push({ key, cid: put.cid, contentHash: put.contentHash });
      }
    } catch (error) {
      this.#batcher.add(twinId, pending, intakes[0]?.receivedAt ?? this.#clock());
      await this.#discard(
        twinId,
        stored.map((s) => s.cid),
      );
      throw error;
    }
    slot.index.nextBatch += stored.length;

    const log = this.#options.updateLog.connect(signer);
    const sent = await sendWithNonces(
      signer,
      chunks.map((chunk) => (nonce: number) => log.anchorBatch(twinId, chunk.merkleRoot, { nonce })),
    );
    const entries: BatchEntry[] = sent.receipts.map((receipt, i) => ({
      key: stored[i].key,
      cid: stored[i].cid,
      contentHash: stored[i].contentHash,
      merkleRoot: chunks[i].merkleRoot,
      count: chunks[i].count,
      from: chunks[i].from,
      to: chunks[i].to,
      blockNumber: receipt.blockNumber,
      transactionHash: receipt.hash,
      source,
    }));
    for (const [i, entry] of entries.entries()) {
      slot.index.batches.push(entry);
      slot.batchByKey.set(entry.key, entry);
      slot.trees.set(entry.key, chunks[i].tree);
    }
    // The readings of batches that did not get anchored go back to pending, in a fresh intake.
    const unanchored = chunks.slice(entries.length).flatMap((chunk) => chunk.readings.map((r) => r.reading));
    slot.index.intakes = [];
    slot.openedIntakes.clear();
    if (unanchored.length > 0) {
      const key = `wearable-intake/${slot.index.nextIntake}`;
      const put = await this.#options.vault.put(
        encodeIntake(unanchored),
        { twinId, recordKey: key, category: WEARABLE },
        [this.#custodianPublicKey],
      );
      slot.index.nextIntake += 1;
      slot.index.intakes.push({ key, cid: put.cid, count: unanchored.length, receivedAt: this.#clock() });
      this.#batcher.add(twinId, unanchored, this.#clock());
      await this.#discard(
        twinId,
        stored.slice(entries.length).map((s) => s.cid),
      );
    }
    let outcome: VersionOutcome | null = null;
    if (entries.length > 0) {
      outcome = await this.#applyAndCommit(slot, slot.engine?.current, {
        records: [],
        readings: chunks.slice(0, entries.length).flatMap((chunk) => chunk.readings.map((r) => r.reading)),
        sourceHashes: entries.map((entry) => entry.contentHash),
        recordEntries: [],
        batchKeys: entries.map((entry) => entry.key),
      });
    } else {
      await this.#folder.save(slot.index);
    }
    await this.#discard(
      twinId,
      intakes.map((intake) => intake.cid),
    );
    if (sent.failure)
      throw anchorFailed(`anchoring the reading batches of twin ${twinId}`, sent.failure, chunks.length);
    return {
      ...(outcome as VersionOutcome),
      twinId,
      batches: entries.map(batchSummary),
      readings: entries.reduce((sum, entry) => sum + entry.count, 0),
      anchorGasUsed: sent.receipts.reduce((gas, receipt) => gas + receipt.gasUsed, 0n),
    };
  }

  #batchAnchor(batch: BatchEntry, tree: ReadingTree, readingHash: string, salt: string, at: number): BatchAnchor {
    const timestamp = readingTimestampSeconds({ at });
    return {
      kind: "batch",
      merkleRoot: batch.merkleRoot,
      source: getAddress(batch.source),
      readingHash,
      timestamp,
      salt,
      proof: proveReading(tree, readingHash, timestamp),
      blockNumber: batch.blockNumber,
    };
  }

  /**
   * The batch's tree, rebuilt from its decrypted readings and salts (the index keeps no tree) and
   * checked against the anchored root: a batch blob that does not give its root is refused.
   */
  #treeOf(slot: TwinSlot, batch: BatchEntry, hashes: readonly string[], salted: readonly SaltedReading[]): ReadingTree {
    let tree = slot.trees.get(batch.key);
    if (tree === undefined) {
      tree = buildReadingTree(
        salted.map(({ reading }, i) => ({ readingHash: hashes[i], timestamp: readingTimestampSeconds(reading) })),
      );
      if (tree.root !== batch.merkleRoot) {
        throw new PipelineError(
          "INDEX_CORRUPT",
          `${batch.key} of twin ${slot.index.twinId} does not give its anchored root`,
        );
      }
      slot.trees.set(batch.key, tree);
    }
    return tree;
  }

  // ------------------------------------------------------------------------------------------------------------
  // Engine and commitments
  // ------------------------------------------------------------------------------------------------------------

  async #applyAndCommit(
    slot: TwinSlot,
    before: TwinVersion | undefined,
    batch: {
      records: readonly TwinRecord[];
      readings: readonly VitalReading[];
      sourceHashes: readonly string[];
      recordEntries: readonly RecordEntry[];
      batchKeys: readonly string[];
    },
  ): Promise<VersionOutcome> {
    const engine = slot.engine as TwinEngine;
    const version = engine.apply({
      records: batch.records,
      readings: batch.readings,
      sourceHashes: batch.sourceHashes,
    });
    markEffective(slot, version, batch.records, batch.recordEntries);
    slot.index.applies.push({
      version: version.version,
      stateRoot: version.stateRoot,
      records: batch.recordEntries.map((entry) => entry.anchor.cid),
      batches: [...batch.batchKeys],
    });
    await this.#folder.save(slot.index);

    const previous = new Set((before?.model.alerts ?? []).map((alert) => alert.id));
    const alerts = version.model.alerts;
    const raisedAlerts = alerts.filter((alert) => !previous.has(alert.id));
    const committed = await this.#commit(slot, version);
    return { version, alerts, raisedAlerts, ...committed };
  }

  /**
   * Commit a version on chain from the custodian signer; a failure is returned, not thrown (the next commit catches
   * up). The engine's version is not the chain's: on chain, versions count within the custodian's epoch, so the
   * chain version is read from `twinStateOf` first (the last one plus one if this custodian committed it, else 1, which
   * starts a new epoch).
   */
  async #commit(
    slot: TwinSlot,
    version: TwinVersion,
  ): Promise<{ state: StateAnchor | null; commitError?: PipelineError; commitGasUsed: bigint }> {
    const twinId = slot.index.twinId;
    try {
      const commitment = stateCommitment(version);
      const signer = this.#options.custodianSigner;
      const log = this.#options.updateLog.connect(signer);
      const custodian = getAddress(await signer.getAddress());
      const last = await log.twinStateOf(twinId);
      const chainVersion = last.epoch !== 0n && getAddress(last.custodian) === custodian ? last.version + 1n : 1n;
      const tx = await log.commitTwinState(twinId, commitment.stateRoot, commitment.sourcesRoot, chainVersion);
      const receipt = await tx.wait();
      if (receipt === null || receipt.status !== 1) throw new Error("commitTwinState did not succeed");
      const event = receipt.logs
        .map((entry) => safeParse(this.#options.updateLog, entry))
        .find((parsed) => parsed?.name === "TwinStateCommitted" && String(parsed.args.twinId).toLowerCase() === twinId);
      if (event === undefined || event === null) throw new Error("commitTwinState emitted no TwinStateCommitted");
      const state: StateAnchor = {
        version: version.version,
        chainVersion: Number(event.args.version as bigint),
        epoch: Number(event.args.epoch as bigint),
        stateRoot: version.stateRoot,
        sourcesRoot: version.sourcesRoot,
        blockNumber: receipt.blockNumber,
        transactionHash: receipt.hash,
      };
      slot.index.states.push(state);
      await this.#folder.save(slot.index);
      return { state, commitGasUsed: receipt.gasUsed };
    } catch (cause) {
      const commitError = new PipelineError(
        "ANCHOR_FAILED",
        `twin ${twinId} version ${version.version} could not be committed on chain`,
        { cause },
      );
      return { state: null, commitError, commitGasUsed: 0n };
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Restart
  // ------------------------------------------------------------------------------------------------------------

  async #restore(index: TwinIndex): Promise<void> {
    const slot = this.#newSlot(index);
    this.#twins.set(index.twinId, slot);
    if (index.erasedAt === null && (await this.#options.vault.keys.erasure(index.twinId))) {
      // erased in the key store, but the process stopped before the index said so
      index.erasedAt = (await this.#options.vault.keys.erasure(index.twinId))?.erasedAt ?? new Date().toISOString();
      await this.#folder.save(index);
    }
    if (index.erasedAt !== null) {
      slot.engine = null;
      return;
    }
    const recordByCid = new Map(index.records.map((entry) => [entry.anchor.cid, entry]));
    for (const apply of index.applies) {
      const records: TwinRecord[] = [];
      const readings: VitalReading[] = [];
      const sourceHashes: string[] = [];
      const recordEntries: RecordEntry[] = [];
      for (const cid of apply.records) {
        const entry = recordByCid.get(cid);
        if (entry === undefined)
          throw new PipelineError("INDEX_CORRUPT", `twin ${index.twinId}: unknown record ${cid}`);
        recordEntries.push(entry);
      }
      const decoded = await unwrapped(mapLimit(recordEntries, PARALLEL_IO, (entry) => this.#openRecord(slot, entry)));
      decoded.forEach((d, i) => {
        records.push(d.record);
        readings.push(...d.readings);
        sourceHashes.push(recordEntries[i].anchor.contentHash);
      });
      for (const key of apply.batches) {
        const batch = slot.batchByKey.get(key);
        if (batch === undefined) throw new PipelineError("INDEX_CORRUPT", `twin ${index.twinId}: unknown batch ${key}`);
        readings.push(...(await this.#openBatch(slot, batch)).map((salted) => salted.reading));
        sourceHashes.push(batch.contentHash);
      }
      const engine = slot.engine as TwinEngine;
      const version = engine.apply({ records, readings, sourceHashes });
      if (version.version !== apply.version || version.stateRoot !== apply.stateRoot) {
        throw new PipelineError(
          "INDEX_CORRUPT",
          `twin ${index.twinId}: replaying version ${apply.version} gives another state root (engine options changed?)`,
        );
      }
      markEffective(slot, version, records, recordEntries);
    }
    for (const intake of index.intakes) {
      this.#batcher.add(index.twinId, await this.#openIntake(slot, intake), intake.receivedAt);
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Helpers
  // ------------------------------------------------------------------------------------------------------------

  #exclusive<T>(action: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(action, action);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #newSlot(index: TwinIndex): TwinSlot {
    const slot: TwinSlot = {
      index,
      engine: new TwinEngine(this.#options.engine ?? {}),
      effective: new Map(),
      batchByKey: new Map(index.batches.map((batch) => [batch.key, batch])),
      trees: new Map(),
      openedRecords: new Map(),
      openedBatches: new Map(),
      openedIntakes: new Map(),
    };
    return slot;
  }

  #slot(twinId: string): TwinSlot {
    const slot = this.#twins.get(twinId);
    if (slot === undefined) throw new PipelineError("TWIN_UNKNOWN", `the service holds nothing for twin ${twinId}`);
    return slot;
  }

  /** The slot of a twin whose data can be read: throws `TWIN_UNKNOWN` or `TWIN_ERASED`. */
  #readable(twinId: string): TwinSlot {
    const slot = this.#slot(twinId);
    if (slot.index.erasedAt !== null || slot.engine === null) throw erased(twinId, slot.index.erasedAt);
    return slot;
  }

  #refuseErased(twinId: string): void {
    const slot = this.#twins.get(twinId);
    if (slot !== undefined && slot.index.erasedAt !== null) throw erased(twinId, slot.index.erasedAt);
  }

  /** The custodian, the patient and every grantee whose grant covers the category. */
  #readersFor(slot: TwinSlot, category: number, patient: PublicKeyLike): PublicKeyLike[] {
    const grantees = slot.index.grants
      .filter((grant: GrantEntry) => (grant.categoryMask & category) !== 0)
      .map((grant) => grant.publicKey);
    return [this.#custodianPublicKey, patient, ...grantees];
  }

  async #registryContract(): Promise<TwinRegistry> {
    if (this.#registry === undefined) {
      const log = this.#options.updateLog;
      this.#registry = TwinRegistry__factory.connect(await log.registry(), log.runner);
    }
    return this.#registry;
  }

  /** Check on chain, before anything is stored, that the write will be accepted. */
  async #preflight(twinId: string, source: string, categories: number, custodian = true): Promise<void> {
    const registry = await this.#registryContract();
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
    if (custodian) {
      const expected = getAddress(await registry.custodianOf(twinId));
      const actual = getAddress(await this.#options.custodianSigner.getAddress());
      if (expected !== actual) {
        throw new PipelineError("NOT_TWIN_CUSTODIAN", `${actual} is not the custodian of twin ${twinId}`);
      }
    }
  }

  async #openRecord(slot: TwinSlot, entry: RecordEntry) {
    const cached = slot.openedRecords.get(entry.anchor.cid);
    if (cached !== undefined) return cached;
    const plaintext = await this.#options.vault.read(
      entry.anchor.cid,
      { twinId: slot.index.twinId, recordKey: entry.key, category: entry.category },
      this.#options.custodianKey,
    );
    const decoded = decodeRecord(plaintext, entry.key);
    slot.openedRecords.set(entry.anchor.cid, decoded);
    return decoded;
  }

  /** A batch's salted readings and their commitments (the tree's leaves), opened once. */
  async #openBatchWithHashes(slot: TwinSlot, batch: BatchEntry): Promise<OpenedBatch> {
    let opened = slot.openedBatches.get(batch.key);
    if (opened === undefined) {
      const salted = await this.#openBatch(slot, batch);
      const hashes = salted.map(({ reading, salt }) => readingCommitment(salt, slot.index.twinId, reading));
      opened = { salted, hashes, anchors: new Array<BatchAnchor | undefined>(salted.length) };
      slot.openedBatches.set(batch.key, opened);
    }
    return opened;
  }

  async #openBatch(slot: TwinSlot, batch: BatchEntry): Promise<SaltedReading[]> {
    const plaintext = await this.#options.vault.read(
      batch.cid,
      { twinId: slot.index.twinId, recordKey: batch.key, category: WEARABLE },
      this.#options.custodianKey,
    );
    return decodeBatch(plaintext, batch.key);
  }

  async #openIntake(slot: TwinSlot, intake: IntakeEntry): Promise<VitalReading[]> {
    const cached = slot.openedIntakes.get(intake.cid);
    if (cached !== undefined) return cached;
    const plaintext = await this.#options.vault.read(
      intake.cid,
      { twinId: slot.index.twinId, recordKey: intake.key, category: WEARABLE },
      this.#options.custodianKey,
    );
    const readings = decodeIntake(plaintext, intake.key);
    slot.openedIntakes.set(intake.cid, readings);
    return readings;
  }

  /** Remove blobs that were stored but will not be anchored (or are no longer needed): their keys, then the blob. */
  async #discard(twinId: string, cids: readonly string[]): Promise<void> {
    const { keys, blobs } = this.#options.vault;
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

/** Rethrow the first error of a `mapLimit` as it was thrown. */
async function unwrapped<R>(run: Promise<R[]>): Promise<R[]> {
  try {
    return await run;
  } catch (error) {
    throw error instanceof MapLimitError ? error.error : error;
  }
}

function twinKey(twinId: string): string {
  if (!isTwinId(twinId)) throw new PipelineError("INVALID_OPTIONS", "twinId must be a bytes32 hex string");
  return twinId.toLowerCase();
}

function erased(twinId: string, erasedAt: string | null): PipelineError {
  return new PipelineError(
    "TWIN_ERASED",
    `twin ${twinId} was erased${erasedAt ? ` at ${erasedAt}` : ""}; its data can no longer be read`,
  );
}

function batchSummary(batch: BatchEntry): BatchSummary {
  return {
    key: batch.key,
    cid: batch.cid,
    contentHash: batch.contentHash,
    merkleRoot: batch.merkleRoot,
    count: batch.count,
    from: batch.from,
    to: batch.to,
    blockNumber: batch.blockNumber,
    transactionHash: batch.transactionHash,
  };
}

/** After an apply: the entries whose record object the engine kept become the effective ones of their keys. */
function markEffective(
  slot: TwinSlot,
  version: TwinVersion,
  records: readonly TwinRecord[],
  entries: readonly RecordEntry[],
): void {
  if (records.length === 0) return;
  const kept = new Set(version.records);
  records.forEach((record, i) => {
    if (kept.has(record)) slot.effective.set(record.key, entries[i]);
  });
}

function compareSequence(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function safeParse(log: TwinUpdateLog, entry: { topics: readonly string[]; data: string }) {
  try {
    return log.interface.parseLog({ topics: [...entry.topics], data: entry.data });
  } catch {
    return null;
  }
}

/** Readings by the key of the record that carries them. */
function groupReadings(readings: readonly VitalReading[]): Map<string, VitalReading[]> {
  const byKey = new Map<string, VitalReading[]>();
  for (const reading of readings) {
    if (reading.recordKey === undefined) continue;
    const list = byKey.get(reading.recordKey);
    if (list) list.push(reading);
    else byKey.set(reading.recordKey, [reading]);
  }
  return byKey;
}
