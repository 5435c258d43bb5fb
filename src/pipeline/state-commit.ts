import { getAddress } from "ethers";
import type { TwinRecord, VitalReading } from "../fhir/records";
import { stateCommitment, type TwinEngine, type TwinVersion } from "../twin";
import type { TwinUpdateLog } from "../../typechain-types";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { VersionOutcome } from "./pipeline-types";
import type { StateAnchor } from "./reader";
import { addRecordBatch, wholeBatchOf, type IndexedRecordBatch } from "./record-proofs";
import type { RecordEntry } from "./twin-index";
import { markEffective, type DecodedRecord, type TwinSlot } from "./twin-slot";

/** What one apply feeds the engine: the records and readings, their source hashes and where they are indexed. */
export interface VersionInput {
  readonly records: readonly TwinRecord[];
  readonly readings: readonly VitalReading[];
  readonly sourceHashes: readonly string[];
  readonly recordEntries: readonly RecordEntry[];
  readonly batchKeys: readonly string[];
}

/** What a commit gave: the anchor, or null and the error (a failed commit is returned, not thrown). */
export interface CommitResult {
  readonly state: StateAnchor | null;
  readonly commitError?: PipelineError;
  readonly commitGasUsed: bigint;
}

/** How an apply is made durable (see {@link applyAndCommit}). */
export interface ApplyOptions {
  /**
   * The records applied are journaled on disk (a `PendingAnchor` saved before their anchor was sent, settled in memory
   * since): a crash before the next save leaves that journal, and recovery (recovery.ts) finds the anchor on chain and
   * redoes the indexing, the apply and the commit. Then the index is saved once, after the commit.
   */
  readonly journaled?: boolean;
}

/**
 * An anchored record batch into the twin: its entries into the index, the twin held, then its records applied and the
 * version committed (journaled: one save after the commit). One step for an EMR ingest and for a record batch that
 * recovery finds anchored.
 */
export async function commitRecordBatch(
  ctx: PipelineContext,
  slot: TwinSlot,
  indexed: IndexedRecordBatch,
  decoded: readonly DecodedRecord[],
  patientLink: string | undefined,
): Promise<VersionOutcome> {
  addRecordBatch(ctx, slot.index, indexed);
  slot.index.patientLink ??= patientLink;
  ctx.twins.set(slot.index.twinId, slot);
  const entries = indexed.entries;
  return applyAndCommit(
    ctx,
    slot,
    slot.engine?.current,
    {
      records: decoded.map((d) => d.record),
      readings: decoded.flatMap((d) => d.readings),
      sourceHashes: entries.map((e) => e.anchor.contentHash),
      recordEntries: entries,
      batchKeys: [],
    },
    { journaled: true },
  );
}

/**
 * Feed the engine a new version, record the apply in the index, then commit the version on chain.
 *
 * What each save protects:
 * - not journaled (a flush's batches, a restored batch): the apply is saved before the commit, so that a restart
 *   replays the version the commit may already have put on chain; then the commit's anchor is saved after it.
 * - journaled (an EMR ingest, a record batch finished by recovery): one save after the commit (or its failure) holds
 *   the records, the apply, the state and the journal's removal at once. Until it is written, the journal saved
 *   before the send is what a restart finds: it redoes the apply and the commit (a commit mined just before a crash
 *   is then committed again as the next chain version, the same state root: nothing of the twin is lost or doubled).
 */
export async function applyAndCommit(
  ctx: PipelineContext,
  slot: TwinSlot,
  before: TwinVersion | undefined,
  input: VersionInput,
  options: ApplyOptions = {},
): Promise<VersionOutcome> {
  const engine = slot.engine as TwinEngine;
  // alerts as answers see them: those of flagged devices' readings set aside (the committed version keeps them)
  const prior = before === undefined ? undefined : engine.screened;
  const version = engine.apply({ records: input.records, readings: input.readings, sourceHashes: input.sourceHashes });
  markEffective(slot, input.records, input.recordEntries);
  // an EMR ingest applies one whole record batch: the apply names the batch instead of repeating its records' CIDs
  const recordBatch = wholeBatchOf(slot.index, input.recordEntries);
  slot.index.applies.push({
    version: version.version,
    stateRoot: version.stateRoot,
    ...(recordBatch !== undefined
      ? { recordBatch }
      : { records: input.recordEntries.map((entry) => entry.anchor.cid) }),
    batches: [...input.batchKeys],
  });
  const journaled = options.journaled === true;
  if (!journaled) await ctx.folder.save(slot.index);

  const previous = new Set((prior?.model.alerts ?? []).map((alert) => alert.id));
  const alerts = engine.screened.model.alerts;
  const raisedAlerts = alerts.filter((alert) => !previous.has(alert.id));
  const committed = await commitVersion(ctx, slot, version, { save: !journaled });
  if (journaled) await ctx.folder.save(slot.index);
  return { version, alerts, raisedAlerts, ...committed };
}

/**
 * Commit a version on chain from the custodian signer; a failure is returned, not thrown (the next commit catches
 * up). The engine's version is not the chain's: on chain, versions count within the custodian's epoch, so the
 * chain version is read from `twinStateOf` first (the last one plus one if this custodian committed it, else 1, which
 * starts a new epoch). The index is saved after a commit unless `save` is false (the caller saves).
 */
export async function commitVersion(
  ctx: PipelineContext,
  slot: TwinSlot,
  version: TwinVersion,
  options: { readonly save?: boolean } = {},
): Promise<CommitResult> {
  const twinId = slot.index.twinId;
  const updateLog = ctx.options.updateLog;
  try {
    const commitment = stateCommitment(version);
    const signer = await ctx.custodianSignerFor(twinId);
    const log = updateLog.connect(signer);
    const custodian = getAddress(await signer.getAddress());
    const last = await log.twinStateOf(twinId);
    const chainVersion = last.epoch !== 0n && getAddress(last.custodian) === custodian ? last.version + 1n : 1n;
    const tx = await ctx.nonces.submit(signer, (nonce) =>
      log.commitTwinState(twinId, commitment.stateRoot, commitment.sourcesRoot, chainVersion, { nonce }),
    );
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) throw new Error("commitTwinState did not succeed");
    const event = receipt.logs
      .map((entry) => safeParse(updateLog, entry))
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
    if (options.save !== false) await ctx.folder.save(slot.index);
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

function safeParse(log: TwinUpdateLog, entry: { topics: readonly string[]; data: string }) {
  try {
    return log.interface.parseLog({ topics: [...entry.topics], data: entry.data });
  } catch {
    return null;
  }
}
