import { dataSlice, hexlify, keccak256, ParamType, ZeroHash, type BytesLike } from "ethers";
import { address, cidBytes, coder, fixedBytes, UINT32_MAX, UINT64_MAX, unsigned } from "./inputs";

/*
 * The update hash chain, as TwinUpdateLog computes it: `nextHead` is the step of `recordUpdate`, `nextRecordsHead`
 * the step of `anchorRecords`; `verifyUpdateChain` rebuilds the chain from `UpdateRecorded` and `RecordsAnchored`
 * events and checks it against the on-chain `logHeadOf`.
 */

/** The head of a twin with no update yet: 24 zero bytes. */
export const ZERO_HEAD = `0x${"00".repeat(24)}`;

/**
 * The ABI types hashed by one step of the chain (see ITwinUpdateLog.recordUpdate and anchorRecords): an update
 * puts its category, content hash and keccak256(cid) in the last three words, a record batch its categories mask,
 * its root and a zero word.
 */
export const HEAD_ENCODING = ["bytes24", "bytes32", "uint64", "address", "uint32", "bytes32", "bytes32"] as const;
const HEAD_PARAMS = HEAD_ENCODING.map((type) => ParamType.from(type));

/** A twin's log head as `logHeadOf` returns it (the typechain struct output fits). */
export interface LogHeadLike {
  readonly sequence: bigint | number;
  readonly head: string;
}

/**
 * The fields of an `UpdateRecorded` event. The typechain `args` of a queried event fit as they are:
 * `(await updateLog.queryFilter(updateLog.filters.UpdateRecorded(twinId))).map((e) => e.args)`.
 */
export interface UpdateRecordedLike {
  readonly twinId: string;
  readonly sequence: bigint | number;
  readonly source: string;
  readonly category: bigint | number;
  readonly contentHash: string;
  readonly cid: BytesLike;
  readonly head: string;
}

/**
 * One step of the hash chain, as `recordUpdate` computes it:
 * `bytes24(keccak256(abi.encode(previousHead, twinId, sequence, source, category, contentHash, keccak256(cid))))`.
 * @param previousHead The head before this update (`ZERO_HEAD` before the first), 24 bytes.
 * @param twinId The twin, 32 bytes.
 * @param sequence This update's sequence number (the first is 1).
 * @param source The address that recorded the update.
 * @param category The update's DataCategory bit.
 * @param contentHash keccak256 of the encrypted blob, 32 bytes.
 * @param cid The content id bytes, as passed to `recordUpdate` (1 to `MAX_CID_LENGTH` bytes).
 * @returns The new head, a 0x-prefixed 24-byte hex string (lower case).
 */
export function nextHead(
  previousHead: BytesLike,
  twinId: BytesLike,
  sequence: bigint | number,
  source: string,
  category: bigint | number,
  contentHash: BytesLike,
  cid: BytesLike,
): string {
  return chainStep(previousHead, twinId, sequence, source, () => [
    unsigned(category, UINT32_MAX, "category"),
    fixedBytes(contentHash, 32, "contentHash"),
    keccak256(cidBytes(cid)),
  ]);
}

/**
 * One step of a twin's hash chain, the encoding `recordUpdate` and `anchorRecords` share:
 * `bytes24(keccak256(abi.encode(previousHead, twinId, sequence, source, ...tail)))`, the tail being the step's
 * category word and its two last words. The arguments are checked in that order (the tail after the first four).
 */
function chainStep(
  previousHead: BytesLike,
  twinId: BytesLike,
  sequence: bigint | number,
  source: string,
  tail: () => readonly [bigint, BytesLike, string],
): string {
  const values = [
    fixedBytes(previousHead, 24, "previousHead"),
    fixedBytes(twinId, 32, "twinId"),
    unsigned(sequence, UINT64_MAX, "sequence"),
    address(source, "source"),
    ...tail(),
  ];
  return dataSlice(keccak256(coder.encode(HEAD_PARAMS, values)), 0, 24);
}

/**
 * The fields of a `RecordsAnchored` event; the typechain `args` of a queried event fit as they are.
 */
export interface RecordsAnchoredLike {
  readonly twinId: string;
  readonly sequence: bigint | number;
  readonly source: string;
  readonly categories: bigint | number;
  readonly recordsRoot: string;
  readonly head: string;
}

/** One entry of a twin's hash chain: an update or a record batch. */
export type LogEntryLike = UpdateRecordedLike | RecordsAnchoredLike;

/**
 * One records step of the hash chain, as `anchorRecords` computes it:
 * `bytes24(keccak256(abi.encode(previousHead, twinId, sequence, source, categories, recordsRoot, bytes32(0))))`.
 * @param previousHead The head before this batch (`ZERO_HEAD` before the first entry), 24 bytes.
 * @param twinId The twin, 32 bytes.
 * @param sequence The batch's sequence number.
 * @param source The address that anchored the batch.
 * @param categories The batch's category mask.
 * @param recordsRoot The batch's root, 32 bytes.
 * @returns The new head, a 0x-prefixed 24-byte hex string (lower case).
 */
export function nextRecordsHead(
  previousHead: BytesLike,
  twinId: BytesLike,
  sequence: bigint | number,
  source: string,
  categories: bigint | number,
  recordsRoot: BytesLike,
): string {
  return chainStep(previousHead, twinId, sequence, source, () => [
    unsigned(categories, UINT32_MAX, "categories"),
    fixedBytes(recordsRoot, 32, "recordsRoot"),
    ZeroHash,
  ]);
}

/** Whether a chain entry is a record batch (its events have `recordsRoot`; ethers' Results throw on unknown names). */
function isRecordsEntry(entry: LogEntryLike): entry is RecordsAnchoredLike {
  try {
    return (entry as Partial<RecordsAnchoredLike>).recordsRoot !== undefined;
  } catch {
    return false;
  }
}

/** The head an entry should carry, recomputed from the previous head and the entry's fields. */
function stepOf(previousHead: string, entry: LogEntryLike, sequence: bigint): string {
  if (isRecordsEntry(entry)) {
    return nextRecordsHead(previousHead, entry.twinId, sequence, entry.source, entry.categories, entry.recordsRoot);
  }
  return nextHead(previousHead, entry.twinId, sequence, entry.source, entry.category, entry.contentHash, entry.cid);
}

/** Why a chain of events does not check out. */
export type UpdateChainFault =
  /** An event belongs to another twin than the first. */
  | "TWIN_MISMATCH"
  /** An event's sequence is not the previous one plus one: an event was dropped, repeated or reordered. */
  | "SEQUENCE_MISMATCH"
  /** An event's head is not the step from the previous head over its fields: an event was altered. */
  | "HEAD_MISMATCH"
  /** The rebuilt chain ends elsewhere than the on-chain head: events are missing at the end, or were rewritten. */
  | "EXPECTED_HEAD_MISMATCH";

/** The outcome of `verifyUpdateChain`. */
export type UpdateChainVerification =
  | { readonly valid: true; readonly sequence: bigint; readonly head: string }
  | {
      readonly valid: false;
      readonly fault: UpdateChainFault;
      /** The index in `events` of the first offending event (`events.length` for `EXPECTED_HEAD_MISMATCH`). */
      readonly index: number;
      readonly message: string;
    };

/**
 * Rebuilds a twin's hash chain from its `UpdateRecorded` and `RecordsAnchored` events, in order, and checks each
 * event's sequence and head, then the final head against the on-chain one. Detects a dropped, repeated, reordered
 * or altered event.
 * @param events The twin's events of both kinds in log (sequence) order, from `start.sequence + 1` on.
 * @param expectedHead The on-chain `logHeadOf(twinId)` (or the head the chain should reach).
 * @param start Where the events take over (a checkpoint); by default the empty log.
 */
export function verifyUpdateChain(
  events: readonly LogEntryLike[],
  expectedHead: LogHeadLike,
  start: LogHeadLike = { sequence: 0n, head: ZERO_HEAD },
): UpdateChainVerification {
  let sequence = unsigned(start.sequence, UINT64_MAX, "start.sequence");
  let head = hexlify(fixedBytes(start.head, 24, "start.head"));
  const twinId = events.length > 0 ? hexlify(fixedBytes(events[0].twinId, 32, "events[0].twinId")) : undefined;
  for (const [index, event] of events.entries()) {
    if (hexlify(fixedBytes(event.twinId, 32, `events[${index}].twinId`)) !== twinId) {
      return fault("TWIN_MISMATCH", index, `event ${index} belongs to another twin`);
    }
    const eventSequence = unsigned(event.sequence, UINT64_MAX, `events[${index}].sequence`);
    if (eventSequence !== sequence + 1n) {
      return fault(
        "SEQUENCE_MISMATCH",
        index,
        `event ${index} has sequence ${eventSequence}, expected ${sequence + 1n}`,
      );
    }
    const recomputed = stepOf(head, event, eventSequence);
    if (recomputed !== hexlify(fixedBytes(event.head, 24, `events[${index}].head`))) {
      return fault("HEAD_MISMATCH", index, `event ${index} (sequence ${eventSequence}) does not hash to its head`);
    }
    sequence = eventSequence;
    head = recomputed;
  }
  const expectedSequence = unsigned(expectedHead.sequence, UINT64_MAX, "expectedHead.sequence");
  const expected = hexlify(fixedBytes(expectedHead.head, 24, "expectedHead.head"));
  if (sequence !== expectedSequence || head !== expected) {
    return fault(
      "EXPECTED_HEAD_MISMATCH",
      events.length,
      `the events end at sequence ${sequence}, the expected head is at sequence ${expectedSequence}` +
        (sequence === expectedSequence ? " with another head" : ""),
    );
  }
  return { valid: true, sequence, head };
}

function fault(fault: UpdateChainFault, index: number, message: string): UpdateChainVerification {
  return { valid: false, fault, index, message };
}
