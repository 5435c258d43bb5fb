// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ITwinRegistry} from "./ITwinRegistry.sol";

/// @title ITwinUpdateLog
/// @notice The append-only log of twin updates. Authorized sources append updates (content hash, content id,
/// category) with a per-twin sequence and a hash-chain head; wearable streams are anchored as Merkle roots of
/// batches; the custodian commits each new twin version (the paper's twin instance: state root, sources root,
/// block, time). Health data never comes here: only hashes and content ids of encrypted blobs.
interface ITwinUpdateLog {
    /// @notice A twin's log head: one slot.
    /// @param sequence Number of updates recorded so far; the last update has this sequence number.
    /// @param head The hash chain over all updates (see `recordUpdate`), truncated to 192 bits so that it shares
    /// the slot with the sequence.
    struct LogHead {
        uint64 sequence;
        bytes24 head;
    }

    /// @notice An anchored batch of readings: one slot.
    /// @param count Number of readings (leaves).
    /// @param from Time of the first reading.
    /// @param to Time of the last reading.
    /// @param anchoredAt Block timestamp of anchoring.
    struct Batch {
        uint32 count;
        uint40 from;
        uint40 to;
        uint40 anchoredAt;
    }

    /// @notice A committed twin version (the twin instance T_i).
    /// @param stateRoot Hash of the twin's model at this version.
    /// @param sourcesRoot Merkle root of the content hashes that fed this version.
    /// @param version Strictly increasing version number.
    /// @param blockNumber Block of the commitment.
    /// @param timestamp Block timestamp of the commitment.
    struct TwinState {
        bytes32 stateRoot;
        bytes32 sourcesRoot;
        uint64 version;
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

    /// @notice Emitted for each update; off-chain readers rebuild and check the hash chain from these.
    event UpdateRecorded(
        bytes32 indexed twinId,
        uint64 indexed sequence,
        address indexed source,
        uint32 category,
        bytes32 contentHash,
        bytes cid,
        bytes24 head
    );
    /// @notice Emitted when a batch of readings is anchored.
    event BatchAnchored(
        bytes32 indexed twinId,
        bytes32 indexed merkleRoot,
        address indexed source,
        uint32 count,
        uint40 from,
        uint40 to
    );
    /// @notice Emitted when the custodian commits a new twin version.
    event TwinStateCommitted(
        bytes32 indexed twinId,
        uint64 indexed version,
        address indexed custodian,
        bytes32 stateRoot,
        bytes32 sourcesRoot
    );

    /// @notice Emitted when a query gateway's operator anchors the Merkle root of access-log entries
    /// `fromIndex..toIndex` (inclusive).
    /// @dev The range stays in the data: auditors filter by operator and root, never by index.
    // solhint-disable-next-line gas-indexed-events
    event AccessLogAnchored(address indexed operator, bytes32 indexed root, uint64 fromIndex, uint64 toIndex);

    /// @notice The registry address was zero.
    error ZeroRegistry();
    /// @notice The twin is unknown, suspended or erased.
    error TwinNotActive(bytes32 twinId);
    /// @notice The category is not exactly one defined DataCategory bit.
    error InvalidCategory(uint32 category);
    /// @notice The caller is not a source authorized for this category on the twin (or the twin is not active).
    error SourceNotAuthorized(bytes32 twinId, address source, uint32 category);
    /// @notice A content hash or root was zero.
    error EmptyHash();
    /// @notice The content id is empty.
    error EmptyCid();
    /// @notice The content id is longer than `MAX_CID_LENGTH`.
    error CidTooLong(uint256 length, uint256 maxLength);
    /// @notice The batch count is zero.
    error EmptyBatch();
    /// @notice The batch's time range ends before it starts, or lies in the future.
    error InvalidBatchRange(uint40 from, uint40 to);
    /// @notice This root is already anchored for this twin.
    error BatchAlreadyAnchored(bytes32 twinId, bytes32 merkleRoot);
    /// @notice The caller is not the twin's custodian, or no longer accredited.
    error NotTwinCustodian(bytes32 twinId, address account);
    /// @notice The version is not above the last committed one.
    error StaleVersion(uint64 version, uint64 currentVersion);

    /// @notice The access-log root was zero.
    error EmptyAccessLogRoot();
    /// @notice The access-log range starts after it ends.
    error InvalidAccessLogRange(uint64 fromIndex, uint64 toIndex);
    /// @notice This operator already anchored this access-log root.
    error AccessLogAlreadyAnchored(address operator, bytes32 root);
    /// @notice The caller is not an accredited custodian (only custodians operate query gateways).
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

    /// @notice Anchors the Merkle root of a batch of wearable readings. Only a source authorized for
    /// `DataCategory.WEARABLE_STREAMS`. Costs the same whatever the batch size.
    /// @param twinId The twin.
    /// @param merkleRoot Root of an OpenZeppelin StandardMerkleTree over `(bytes32 readingHash, uint64 timestamp)`.
    /// @param count Number of readings.
    /// @param from Time of the first reading.
    /// @param to Time of the last reading.
    function anchorBatch(bytes32 twinId, bytes32 merkleRoot, uint32 count, uint40 from, uint40 to) external;

    /// @notice Commits a new twin version. Only the twin's accredited custodian, while the twin is active.
    /// @param twinId The twin.
    /// @param stateRoot Hash of the twin's model at this version; non-zero.
    /// @param sourcesRoot Merkle root of the content hashes that fed this version; non-zero.
    /// @param version Above the last committed version (the first may be any version from 1).
    function commitTwinState(bytes32 twinId, bytes32 stateRoot, bytes32 sourcesRoot, uint64 version) external;

    /// @notice Anchors the Merkle root of the caller's access-log entries `fromIndex..toIndex` (inclusive). Only an
    /// accredited custodian (the operator of a query gateway); each root once per operator.
    /// @dev The root is an OpenZeppelin StandardMerkleTree root over the gateway's typed entry leaves (see
    /// src/service/access-log.ts); the entries stay off chain and carry no health data.
    /// @param root The Merkle root; non-zero.
    /// @param fromIndex Index of the first entry under the root.
    /// @param toIndex Index of the last entry under the root; not below `fromIndex`.
    function anchorAccessLog(bytes32 root, uint64 fromIndex, uint64 toIndex) external;

    /// @notice Whether a reading is in an anchored batch of the twin, and inside the batch's time range.
    /// @dev False, never a revert, for an unknown batch, a time outside `[from, to]` or a wrong proof. The leaf is
    /// `keccak256(bytes.concat(keccak256(abi.encode(readingHash, timestamp))))`, as in StandardMerkleTree.
    /// @param twinId The twin.
    /// @param merkleRoot The batch's root, as anchored.
    /// @param readingHash keccak256 of the reading's encrypted blob (or canonical bytes).
    /// @param timestamp The reading's time.
    /// @param proof The StandardMerkleTree proof of the leaf `(readingHash, timestamp)`.
    function verifyReading(
        bytes32 twinId,
        bytes32 merkleRoot,
        bytes32 readingHash,
        uint64 timestamp,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice The twin's sequence and hash-chain head.
    function logHeadOf(bytes32 twinId) external view returns (LogHead memory);

    /// @notice An anchored batch (zero if the root is not anchored for the twin).
    function batchOf(bytes32 twinId, bytes32 merkleRoot) external view returns (Batch memory);

    /// @notice The last committed twin version.
    function twinStateOf(bytes32 twinId) external view returns (TwinState memory);

    /// @notice The access-log anchor of `root` by `operator` (zero if not anchored).
    /// @param operator The gateway operator that anchored the root.
    /// @param root The access-log Merkle root.
    /// @return anchor The anchored range and time.
    function accessLogAnchorOf(address operator, bytes32 root) external view returns (AccessLogAnchor memory anchor);

    /// @notice The registry this log reads twins, sources and custodians from.
    function registry() external view returns (ITwinRegistry);

    /// @notice The longest content id accepted, in bytes (a binary CIDv1 with sha2-256 is 36 bytes).
    // solhint-disable-next-line func-name-mixedcase
    function MAX_CID_LENGTH() external view returns (uint256);
}
