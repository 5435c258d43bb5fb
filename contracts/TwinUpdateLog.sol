// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {DataCategory, TwinStatus} from "./Common.sol";
import {ITwinRegistry} from "./interfaces/ITwinRegistry.sol";
import {ITwinUpdateLog} from "./interfaces/ITwinUpdateLog.sol";

/// @title TwinUpdateLog
/// @notice The append-only log of twin updates, record batches, wearable batch anchors and twin state commitments.
/// @dev Who may write is read from the registry on every call, so a removed source, a suspended or erased twin or
/// a de-accredited custodian stops writing at once. Nothing is ever deleted: anchors outlive the twin. Plain
/// Solidity throughout: no inline assembly.
contract TwinUpdateLog is ITwinUpdateLog {
    /// @inheritdoc ITwinUpdateLog
    /// @dev 96 bytes leaves room for longer hashes and for the multibase string form (a base32 sha2-256 CIDv1 is
    /// 59 characters) while bounding the calldata and the log data a source can make every reader pay for.
    uint256 public constant MAX_CID_LENGTH = 96;

    /// @dev The registry of twins, sources and custodians; immutable, so reading it costs no SLOAD. Named like
    /// the rest of the private state (leading underscore) rather than in SNAKE_CASE.
    // solhint-disable-next-line immutable-vars-naming
    ITwinRegistry private immutable _registry;

    /// @dev One slot per twin: sequence (64 bits, low) | head (192 bits, high). The head is truncated to 192 bits
    /// so that it shares the slot with the sequence: recordUpdate then reads one slot and writes one slot, which
    /// keeps a repeat update within its gas budget. A 192-bit chain keeps second-preimage resistance at 2^192 and
    /// collision resistance at 2^96, out of reach for a source trying to fork its own history.
    mapping(bytes32 twinId => LogHead) private _logHeads;

    /// @dev One slot per (twin, source, root): anchoredAt (40 bits). A non-zero `anchoredAt` marks the root as
    /// anchored by that source. Keyed by source so that no other source of the twin can take a root first.
    mapping(bytes32 twinId => mapping(address source => mapping(bytes32 merkleRoot => Batch))) private _batches;

    /// @dev One slot per (twin, source, root): sequence (64) | categories (32) | anchoredAt (40) = 136 bits. A
    /// non-zero `anchoredAt` marks the root as anchored by that source.
    mapping(bytes32 twinId => mapping(address source => mapping(bytes32 recordsRoot => RecordBatch)))
        private _recordBatches;

    /// @dev Four slots per twin: stateRoot | sourcesRoot | version (64) + epoch (32) + custodian (160) = 256 bits |
    /// blockNumber (64) + timestamp (40). The third slot holds all that `commitTwinState` checks, in one read.
    mapping(bytes32 twinId => TwinState) private _states;

    /// @dev One slot per (operator, root): fromIndex (64) | toIndex (64) | anchoredAt (40) = 168 bits. A non-zero
    /// `anchoredAt` marks the root as anchored.
    mapping(address operator => mapping(bytes32 root => AccessLogAnchor)) private _accessLogAnchors;

    /// @param registry_ The TwinRegistry this log trusts for twins, sources and custodians.
    constructor(ITwinRegistry registry_) {
        if (address(registry_) == address(0)) revert ZeroRegistry();
        _registry = registry_;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Writes
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc ITwinUpdateLog
    /// @dev Success path: one registry call, one SLOAD and one SSTORE of the packed LogHead, a keccak of the
    /// calldata cid and one of the seven-word encoding.
    function recordUpdate(
        bytes32 twinId,
        uint32 category,
        bytes32 contentHash,
        bytes calldata cid
    ) external returns (uint64 sequence) {
        if (!_isOneCategory(category)) revert InvalidCategory(category);
        if (contentHash == bytes32(0)) revert EmptyHash();
        if (cid.length == 0) revert EmptyCid();
        if (cid.length > MAX_CID_LENGTH) revert CidTooLong(cid.length, MAX_CID_LENGTH);
        _requireWritable(twinId, category);

        bytes24 head;
        (sequence, head) = _append(twinId, category, contentHash, keccak256(cid));
        emit UpdateRecorded(twinId, sequence, msg.sender, category, contentHash, cid, head);
    }

    /// @inheritdoc ITwinUpdateLog
    /// @dev The cost does not depend on the number of records: they stay off chain; the chain step and one new
    /// slot are written. A zero last word in the step marks it as a records step (an update has keccak256(cid)
    /// there, and a keccak256 output of zero is out of reach).
    function anchorRecords(bytes32 twinId, bytes32 recordsRoot, uint32 categories) external returns (uint64 sequence) {
        if (categories == 0 || categories & DataCategory.ALL != categories) revert InvalidCategory(categories);
        if (recordsRoot == bytes32(0)) revert EmptyHash();
        _requireWritable(twinId, categories);

        RecordBatch storage batch = _recordBatches[twinId][msg.sender][recordsRoot];
        if (batch.anchoredAt != 0) revert RecordsAlreadyAnchored(twinId, msg.sender, recordsRoot);
        bytes24 head;
        (sequence, head) = _append(twinId, categories, recordsRoot, bytes32(0));
        batch.sequence = sequence;
        batch.categories = categories;
        batch.anchoredAt = uint40(block.timestamp);
        emit RecordsAnchored(twinId, sequence, msg.sender, categories, recordsRoot, head);
    }

    /// @inheritdoc ITwinUpdateLog
    /// @dev The cost does not depend on the number of readings: they stay off chain, only the anchoring time is
    /// stored, in one new slot.
    function anchorBatch(bytes32 twinId, bytes32 merkleRoot) external {
        if (merkleRoot == bytes32(0)) revert EmptyHash();
        _requireWritable(twinId, DataCategory.WEARABLE_STREAMS);

        Batch storage batch = _batches[twinId][msg.sender][merkleRoot];
        if (batch.anchoredAt != 0) revert BatchAlreadyAnchored(twinId, msg.sender, merkleRoot);
        batch.anchoredAt = uint40(block.timestamp);
        emit BatchAnchored(twinId, msg.sender, merkleRoot);
    }

    /// @inheritdoc ITwinUpdateLog
    /// @dev The twin's status is checked first so that an unknown, suspended or erased twin reads as such
    /// (`TwinNotActive`) rather than as a custodian mismatch. The version and the epoch cannot overflow: each
    /// grows by one per transaction.
    function commitTwinState(bytes32 twinId, bytes32 stateRoot, bytes32 sourcesRoot, uint64 version) external {
        if (stateRoot == bytes32(0) || sourcesRoot == bytes32(0)) revert EmptyHash();
        if (_registry.statusOf(twinId) != TwinStatus.Active) revert TwinNotActive(twinId);
        if (_registry.custodianOf(twinId) != msg.sender || !_registry.isCustodian(msg.sender)) {
            revert NotTwinCustodian(twinId, msg.sender);
        }

        TwinState storage state = _states[twinId];
        uint32 epoch = state.epoch;
        uint64 expected = 1;
        if (state.custodian == msg.sender) {
            expected = state.version + 1;
        } else {
            ++epoch;
        }
        if (version != expected) revert UnexpectedVersion(version, expected);
        _states[twinId] = TwinState({
            stateRoot: stateRoot,
            sourcesRoot: sourcesRoot,
            version: version,
            epoch: epoch,
            custodian: msg.sender,
            blockNumber: uint64(block.number),
            timestamp: uint40(block.timestamp)
        });
        emit TwinStateCommitted(twinId, version, msg.sender, epoch, stateRoot, sourcesRoot);
    }

    /// @inheritdoc ITwinUpdateLog
    /// @dev Keyed by operator so that one gateway cannot pre-empt another's root. The custodian role is read on
    /// every call: a de-accredited operator stops anchoring at once, and its earlier anchors stay.
    function anchorAccessLog(bytes32 root, uint64 fromIndex, uint64 toIndex) external {
        if (root == bytes32(0)) revert EmptyAccessLogRoot();
        if (fromIndex > toIndex) revert InvalidAccessLogRange(fromIndex, toIndex);
        if (!_registry.isCustodian(msg.sender)) revert NotCustodian(msg.sender);

        AccessLogAnchor storage anchor = _accessLogAnchors[msg.sender][root];
        if (anchor.anchoredAt != 0) revert AccessLogAlreadyAnchored(msg.sender, root);
        anchor.fromIndex = fromIndex;
        anchor.toIndex = toIndex;
        anchor.anchoredAt = uint40(block.timestamp);
        emit AccessLogAnchored(msg.sender, root, fromIndex, toIndex);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc ITwinUpdateLog
    function verifyReading(
        bytes32 twinId,
        address source,
        bytes32 merkleRoot,
        bytes32 readingHash,
        uint64 timestamp,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (_batches[twinId][source][merkleRoot].anchoredAt == 0) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(readingHash, timestamp))));
        return MerkleProof.verifyCalldata(proof, merkleRoot, leaf);
    }

    /// @inheritdoc ITwinUpdateLog
    function verifyRecord(
        bytes32 twinId,
        address source,
        bytes32 recordsRoot,
        uint32 category,
        bytes32 contentHash,
        bytes32 cidHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        RecordBatch memory batch = _recordBatches[twinId][source][recordsRoot];
        if (batch.anchoredAt == 0) return false;
        if (!_isOneCategory(category) || category & batch.categories == 0) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(category, contentHash, cidHash))));
        return MerkleProof.verifyCalldata(proof, recordsRoot, leaf);
    }

    /// @inheritdoc ITwinUpdateLog
    function logHeadOf(bytes32 twinId) external view returns (LogHead memory) {
        return _logHeads[twinId];
    }

    /// @inheritdoc ITwinUpdateLog
    function batchOf(bytes32 twinId, address source, bytes32 merkleRoot) external view returns (Batch memory) {
        return _batches[twinId][source][merkleRoot];
    }

    /// @inheritdoc ITwinUpdateLog
    function recordBatchOf(
        bytes32 twinId,
        address source,
        bytes32 recordsRoot
    ) external view returns (RecordBatch memory) {
        return _recordBatches[twinId][source][recordsRoot];
    }

    /// @inheritdoc ITwinUpdateLog
    function twinStateOf(bytes32 twinId) external view returns (TwinState memory) {
        return _states[twinId];
    }

    /// @inheritdoc ITwinUpdateLog
    function accessLogAnchorOf(address operator, bytes32 root) external view returns (AccessLogAnchor memory) {
        return _accessLogAnchors[operator][root];
    }

    /// @inheritdoc ITwinUpdateLog
    function registry() external view returns (ITwinRegistry) {
        return _registry;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------------------

    /// @dev Appends one step to the twin's hash chain: `bytes24(keccak256(abi.encode(previousHead, twinId,
    /// sequence, msg.sender, category, word, lastWord)))`, with (contentHash, keccak256(cid)) for an update and
    /// (recordsRoot, 0) for a record batch. One SLOAD and one SSTORE of the packed LogHead.
    function _append(
        bytes32 twinId,
        uint32 category,
        bytes32 word,
        bytes32 lastWord
    ) private returns (uint64 sequence, bytes24 head) {
        LogHead memory log = _logHeads[twinId];
        // A uint64 sequence cannot wrap: 2^64 entries of one twin are out of reach.
        unchecked {
            sequence = log.sequence + 1;
        }
        head = bytes24(keccak256(abi.encode(log.head, twinId, sequence, msg.sender, category, word, lastWord)));
        _logHeads[twinId] = LogHead({sequence: sequence, head: head});
    }

    /// @dev Reverts unless the caller is a source of the active twin allowed to write every bit of `categories`.
    /// The success path costs one registry call (`writableCategories` is zero for a twin that is not active); only
    /// on failure is the twin's status read, to tell a twin that is not active from a source that is not
    /// authorized.
    function _requireWritable(bytes32 twinId, uint32 categories) private view {
        if (_registry.writableCategories(twinId, msg.sender) & categories != categories) {
            if (_registry.statusOf(twinId) != TwinStatus.Active) revert TwinNotActive(twinId);
            revert SourceNotAuthorized(twinId, msg.sender, categories);
        }
    }

    /// @dev Whether `category` is exactly one defined DataCategory bit.
    function _isOneCategory(uint32 category) private pure returns (bool) {
        return category != 0 && category & (category - 1) == 0 && category & DataCategory.ALL == category;
    }
}
