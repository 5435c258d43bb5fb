// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ITwinRegistry} from "./ITwinRegistry.sol";

/// @title ITwinUpdateLog
/// @notice The append-only log of twin updates. Authorized sources append updates (content hash, content id,
/// category) and record batches (one Merkle root per EMR ingest) to one per-twin hash chain with a sequence;
/// wearable streams are anchored as Merkle roots of reading batches; the custodian commits each new twin version
/// (the paper's twin instance: state root, sources root, block, time). Health data never comes here: only hashes
/// and content ids of encrypted blobs.
/// @dev What each event reveals to anyone reading the chain (besides the block and its time):
/// - `UpdateRecorded`: the twin, the source, the sequence, the one category written, the blob's content hash and
///   content id, and the new head. One event per update, so the number of updates per category shows.
/// - `RecordsAnchored`: the twin, the source, the sequence, the mask of categories in the bundle, its Merkle root
///   and the new head. Not how many records the bundle holds, nor which category each record has.
/// - `BatchAnchored`: the twin, the source and the batch's Merkle root. Not how many readings the batch holds, nor
///   when they were taken: counts and time ranges stay in the committed data off chain (issue 10 relies on that),
///   and each reading's time is bound inside its leaf.
/// - `TwinStateCommitted`: the twin, the version, the custodian and its epoch, and the two roots.
/// - `AccessLogAnchored`: the gateway operator, the root and the index range of its own access log, which spans
///   every twin it serves (no twin is named).
interface ITwinUpdateLog {
    /// @notice A twin's log head: one slot.
    /// @param sequence Number of entries (updates and record batches) so far; the last one has this number.
    /// @param head The hash chain over all entries (see `recordUpdate` and `anchorRecords`), truncated to 192 bits
    /// so that it shares the slot with the sequence.
    struct LogHead {
        uint64 sequence;
        bytes24 head;
    }

    /// @notice An anchored batch of readings: one slot.
    /// @param anchoredAt Block timestamp of anchoring; non-zero marks the root as anchored by the source.
    struct Batch {
        uint40 anchoredAt;
    }

    /// @notice An anchored batch of records (one EMR ingest): one slot.
    /// @param sequence The batch's place in the twin's hash chain.
    /// @param categories The mask of categories the batch's records may have.
    /// @param anchoredAt Block timestamp of anchoring; non-zero marks the root as anchored by the source.
    struct RecordBatch {
        uint64 sequence;
        uint32 categories;
        uint40 anchoredAt;
    }

    /// @notice A committed twin version (the twin instance T_i).
    /// @param stateRoot Hash of the twin's model at this version.
    /// @param sourcesRoot Merkle root of the content hashes that fed this version.
    /// @param version The version within the custodian's epoch: 1 for its first commit, then one more each time.
    /// @param epoch The custodian epoch: starts at 1, and each commit by another custodian than the last one
    /// starts the next.
    /// @param custodian The custodian that committed this version.
    /// @param blockNumber Block of the commitment.
    /// @param timestamp Block timestamp of the commitment.
    struct TwinState {
        bytes32 stateRoot;
        bytes32 sourcesRoot;
        uint64 version;
        uint32 epoch;
        address custodian;
        uint64 blockNumber;
        uint40 timestamp;
    }

    /// @notice An anchored stretch of a gateway's access log: one slot.
    /// @param fromIndex Index of the first access-log entry under the root.
    /// @param toIndex Index of the last access-log entry under the root (inclusive).
    /// @param anchoredAt Block timestamp of anchoring; non-zero marks the root as anchored.
    struct AccessLogAnchor {
        uint64 fromIndex;
        uint64 toIndex;
        uint40 anchoredAt;
    }

    /// @notice Emitted for each update; off-chain readers rebuild and check the hash chain from these and from
    /// `RecordsAnchored`.
    /// @param twinId The twin.
    /// @param sequence The update's sequence number.
    /// @param source The source that recorded it.
    /// @param category The update's one DataCategory bit.
    /// @param contentHash keccak256 of the encrypted blob.
    /// @param cid The blob's content id.
    /// @param head The twin's new head.
    event UpdateRecorded(
        bytes32 indexed twinId,
        uint64 indexed sequence,
        address indexed source,
        uint32 category,
        bytes32 contentHash,
        bytes cid,
        bytes24 head
    );

    /// @notice Emitted when a source anchors a batch of records; a step of the twin's hash chain.
    /// @param twinId The twin.
    /// @param sequence The batch's sequence number in the twin's chain.
    /// @param source The source that anchored it.
    /// @param categories The mask of categories the batch's records may have.
    /// @param recordsRoot The batch's Merkle root.
    /// @param head The twin's new head.
    event RecordsAnchored(
        bytes32 indexed twinId,
        uint64 indexed sequence,
        address indexed source,
        uint32 categories,
        bytes32 recordsRoot,
        bytes24 head
    );

    /// @notice Emitted when a source anchors a batch of readings. Carries no count and no time range.
    /// @param twinId The twin.
    /// @param source The source that anchored it.
    /// @param merkleRoot The batch's Merkle root.
    event BatchAnchored(bytes32 indexed twinId, address indexed source, bytes32 indexed merkleRoot);

    /// @notice Emitted when the custodian commits a new twin version.
    /// @param twinId The twin.
    /// @param version The version within the custodian's epoch.
    /// @param custodian The committing custodian.
    /// @param epoch The custodian epoch.
    /// @param stateRoot Hash of the twin's model at this version.
    /// @param sourcesRoot Merkle root of the content hashes that fed this version.
    event TwinStateCommitted(
        bytes32 indexed twinId,
        uint64 indexed version,
        address indexed custodian,
        uint32 epoch,
        bytes32 stateRoot,
        bytes32 sourcesRoot
    );

    /// @notice Emitted when a query gateway's operator anchors the Merkle root of access-log entries
    /// `fromIndex..toIndex` (inclusive).
    /// @dev The range stays in the data: auditors filter by operator and root, never by index.
    /// @param operator The gateway operator (an accredited custodian).
    /// @param root The access-log Merkle root.
    /// @param fromIndex Index of the first entry under the root.
    /// @param toIndex Index of the last entry under the root.
    // solhint-disable-next-line gas-indexed-events
    event AccessLogAnchored(address indexed operator, bytes32 indexed root, uint64 fromIndex, uint64 toIndex);

    /// @notice The registry address was zero.
    error ZeroRegistry();
    /// @notice The twin is unknown, suspended or erased.
    /// @param twinId The twin.
    error TwinNotActive(bytes32 twinId);
    /// @notice For `recordUpdate`, the category is not exactly one defined DataCategory bit; for `anchorRecords`,
    /// the mask is empty or has a bit that is not a defined DataCategory.
    /// @param category The category or mask given.
    error InvalidCategory(uint32 category);
    /// @notice The caller is not a source authorized on the twin for every bit of `category` (or the twin is not
    /// active).
    /// @param twinId The twin.
    /// @param source The caller.
    /// @param category The category or mask asked for.
    error SourceNotAuthorized(bytes32 twinId, address source, uint32 category);
    /// @notice A content hash or root was zero.
    error EmptyHash();
    /// @notice The content id is empty.
    error EmptyCid();
    /// @notice The content id is longer than `MAX_CID_LENGTH`.
    /// @param length The content id's length.
    /// @param maxLength `MAX_CID_LENGTH`.
    error CidTooLong(uint256 length, uint256 maxLength);
    /// @notice This source already anchored this reading root for this twin.
    /// @param twinId The twin.
    /// @param source The caller.
    /// @param merkleRoot The root.
    error BatchAlreadyAnchored(bytes32 twinId, address source, bytes32 merkleRoot);
    /// @notice This source already anchored this records root for this twin.
    /// @param twinId The twin.
    /// @param source The caller.
    /// @param recordsRoot The root.
    error RecordsAlreadyAnchored(bytes32 twinId, address source, bytes32 recordsRoot);
    /// @notice The caller is not the twin's custodian, or no longer accredited.
    /// @param twinId The twin.
    /// @param account The caller.
    error NotTwinCustodian(bytes32 twinId, address account);
    /// @notice The version is not the one expected: the last one plus one, or 1 when a custodian starts an epoch.
    /// @param version The version given.
    /// @param expected The version expected.
    error UnexpectedVersion(uint64 version, uint64 expected);

    /// @notice The access-log root was zero.
    error EmptyAccessLogRoot();
    /// @notice The access-log range starts after it ends.
    /// @param fromIndex The first index given.
    /// @param toIndex The last index given.
    error InvalidAccessLogRange(uint64 fromIndex, uint64 toIndex);
    /// @notice This operator already anchored this access-log root.
    /// @param operator The caller.
    /// @param root The root.
    error AccessLogAlreadyAnchored(address operator, bytes32 root);
    /// @notice The caller is not an accredited custodian (only custodians operate query gateways).
    /// @param account The caller.
    error NotCustodian(address account);

    /// @notice Appends an update. Only a source authorized on the twin for `category`.
    /// @dev The new head is `bytes24(keccak256(abi.encode(previousHead, twinId, sequence, msg.sender, category,
    /// contentHash, keccak256(cid))))`, starting from a zero head; `sequence` starts at 1. The ABI types are
    /// `(bytes24, bytes32, uint64, address, uint32, bytes32, bytes32)`: seven 32-byte words, `previousHead`
    /// left-aligned, and `bytes24(...)` keeps the first 24 bytes of the hash. Off chain, src/chain/anchors.ts
    /// (`nextHead`) is the one implementation of this step.
    /// @param twinId The twin.
    /// @param category Exactly one DataCategory bit.
    /// @param contentHash keccak256 of the encrypted blob.
    /// @param cid The blob's content id (CIDv1 bytes), at most `MAX_CID_LENGTH` bytes.
    /// @return sequence The update's sequence number.
    function recordUpdate(
        bytes32 twinId,
        uint32 category,
        bytes32 contentHash,
        bytes calldata cid
    ) external returns (uint64 sequence);

    /// @notice Anchors the Merkle root of a batch of records (one EMR ingest) as one step of the twin's hash chain.
    /// Only a source authorized on the twin for every bit of `categories`. Costs the same whatever the batch size.
    /// @dev The new head is `bytes24(keccak256(abi.encode(previousHead, twinId, sequence, msg.sender, categories,
    /// recordsRoot, bytes32(0))))`: the seven words of `recordUpdate`'s step with the mask in the category word and
    /// a zero last word, where an update has `keccak256(cid)`, so that no records step equals an update step.
    /// Off chain, src/chain/anchors.ts (`nextRecordsHead`) is the one implementation of this step. Each root once
    /// per (twin, source).
    /// @param twinId The twin.
    /// @param recordsRoot Root of an OpenZeppelin StandardMerkleTree over
    /// `(uint32 category, bytes32 contentHash, bytes32 cidHash)`, `cidHash` being keccak256 of the cid bytes; non-zero.
    /// @param categories The mask of the records' categories: non-empty, defined DataCategory bits only.
    /// @return sequence The batch's sequence number in the twin's chain.
    function anchorRecords(bytes32 twinId, bytes32 recordsRoot, uint32 categories) external returns (uint64 sequence);

    /// @notice Anchors the Merkle root of a batch of wearable readings. Only a source authorized for
    /// `DataCategory.WEARABLE_STREAMS`; each root once per (twin, source). Costs the same whatever the batch size.
    /// @dev Keyed by source, so that another source of the twin cannot anchor a root first and make this one fail.
    /// No count or time range is taken: they stay in the committed data off chain.
    /// @param twinId The twin.
    /// @param merkleRoot Root of an OpenZeppelin StandardMerkleTree over `(bytes32 readingHash, uint64 timestamp)`;
    /// non-zero.
    function anchorBatch(bytes32 twinId, bytes32 merkleRoot) external;

    /// @notice Commits a new twin version. Only the twin's accredited custodian, while the twin is active.
    /// @dev Versions count within a custodian epoch: `version` must be the last committed version plus one, and a
    /// custodian other than the last committer (the first one included) starts the next epoch at version 1. So no
    /// custodian can block the versions of a later one, and a new custodian starts afresh.
    /// @param twinId The twin.
    /// @param stateRoot Hash of the twin's model at this version; non-zero.
    /// @param sourcesRoot Merkle root of the content hashes that fed this version; non-zero.
    /// @param version The expected version (see `@dev`).
    function commitTwinState(bytes32 twinId, bytes32 stateRoot, bytes32 sourcesRoot, uint64 version) external;

    /// @notice Anchors the Merkle root of the caller's access-log entries `fromIndex..toIndex` (inclusive). Only an
    /// accredited custodian (the operator of a query gateway); each root once per operator.
    /// @dev The root is an OpenZeppelin StandardMerkleTree root over the gateway's typed entry leaves (see
    /// src/service/access-log.ts); the entries stay off chain and carry no health data.
    /// @param root The Merkle root; non-zero.
    /// @param fromIndex Index of the first entry under the root.
    /// @param toIndex Index of the last entry under the root; not below `fromIndex`.
    function anchorAccessLog(bytes32 root, uint64 fromIndex, uint64 toIndex) external;

    /// @notice Whether a reading is in a batch that `source` anchored for the twin.
    /// @dev False, never a revert, for a batch not anchored by that source for that twin, or a wrong proof. The
    /// leaf is `keccak256(bytes.concat(keccak256(abi.encode(readingHash, timestamp))))`, as in StandardMerkleTree.
    /// @param twinId The twin.
    /// @param source The source that anchored the batch.
    /// @param merkleRoot The batch's root, as anchored.
    /// @param readingHash keccak256 of the reading's encrypted blob (or canonical bytes).
    /// @param timestamp The reading's time.
    /// @param proof The StandardMerkleTree proof of the leaf `(readingHash, timestamp)`.
    /// @return Whether the reading is proven.
    function verifyReading(
        bytes32 twinId,
        address source,
        bytes32 merkleRoot,
        bytes32 readingHash,
        uint64 timestamp,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice Whether a record is in a batch that `source` anchored for the twin.
    /// @dev False, never a revert, for a batch not anchored by that source for that twin, a `category` that is not
    /// exactly one bit inside the batch's mask, or a wrong proof. The leaf is
    /// `keccak256(bytes.concat(keccak256(abi.encode(category, contentHash, cidHash))))`, as in StandardMerkleTree.
    /// @param twinId The twin.
    /// @param source The source that anchored the batch.
    /// @param recordsRoot The batch's root, as anchored.
    /// @param category The record's one DataCategory bit.
    /// @param contentHash keccak256 of the record's encrypted blob.
    /// @param cidHash keccak256 of the record's content id bytes.
    /// @param proof The StandardMerkleTree proof of the leaf `(category, contentHash, cidHash)`.
    /// @return Whether the record is proven.
    function verifyRecord(
        bytes32 twinId,
        address source,
        bytes32 recordsRoot,
        uint32 category,
        bytes32 contentHash,
        bytes32 cidHash,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The twin's sequence and hash-chain head.
    /// @param twinId The twin.
    /// @return The log head (zero for a twin with no entry).
    function logHeadOf(bytes32 twinId) external view returns (LogHead memory);

    /// @notice A reading batch anchored by `source` for the twin.
    /// @param twinId The twin.
    /// @param source The source that anchored it.
    /// @param merkleRoot The batch's root.
    /// @return The batch (zero if not anchored by that source for that twin).
    function batchOf(bytes32 twinId, address source, bytes32 merkleRoot) external view returns (Batch memory);

    /// @notice A record batch anchored by `source` for the twin.
    /// @param twinId The twin.
    /// @param source The source that anchored it.
    /// @param recordsRoot The batch's root.
    /// @return The batch (zero if not anchored by that source for that twin).
    function recordBatchOf(
        bytes32 twinId,
        address source,
        bytes32 recordsRoot
    ) external view returns (RecordBatch memory);

    /// @notice The last committed twin version.
    /// @param twinId The twin.
    /// @return The state (zero if none was committed).
    function twinStateOf(bytes32 twinId) external view returns (TwinState memory);

    /// @notice The access-log anchor of `root` by `operator` (zero if not anchored).
    /// @param operator The gateway operator that anchored the root.
    /// @param root The access-log Merkle root.
    /// @return anchor The anchored range and time.
    function accessLogAnchorOf(address operator, bytes32 root) external view returns (AccessLogAnchor memory anchor);

    /// @notice The registry this log reads twins, sources and custodians from.
    /// @return The registry.
    function registry() external view returns (ITwinRegistry);

    /// @notice The longest content id accepted, in bytes (a binary CIDv1 with sha2-256 is 36 bytes).
    /// @return The length in bytes.
    // solhint-disable-next-line func-name-mixedcase
    function MAX_CID_LENGTH() external view returns (uint256);
}
