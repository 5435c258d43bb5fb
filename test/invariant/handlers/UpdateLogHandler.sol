// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {HandlerBase} from "./HandlerBase.sol";
import {Actors} from "../base/Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {TwinUpdateLog} from "../../../contracts/TwinUpdateLog.sol";
import {DataCategory} from "../../../contracts/Common.sol";

/// @title UpdateLogHandler
/// @notice Drives TwinUpdateLog: record updates, batches of records and of readings (two-leaf StandardMerkleTree
/// batches, so the invariants can prove each leaf) and twin state commitments, by sources, custodians and anyone else.
contract UpdateLogHandler is HandlerBase {
    TwinUpdateLog public immutable log;

    constructor(Actors actors_, LedgerModel model_, TwinUpdateLog log_) HandlerBase(actors_, model_) {
        log = log_;
    }

    function recordUpdate(uint256 actorSeed, uint256 slotSeed, uint256 categorySeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = actorSeed % 2 == 0 ? actors.source(actorSeed >> 1) : actors.any(actorSeed >> 1);
        uint32 category = uint32(1 << (categorySeed % 13));
        bool expected = _active(slot) && model.sourceCategories(slot, actor) & category != 0;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try
            log.recordUpdate(
                id,
                category,
                keccak256(abi.encode(categorySeed)),
                bytes.concat(bytes4(0x01551220), bytes32(categorySeed))
            )
        returns (uint64 sequence) {
            _report(true, expected, "recordUpdate");
            if (sequence != model.bumpSequence(slot)) _contradiction("recordUpdate: sequence differs from the model's");
        } catch {
            _report(false, expected, "recordUpdate");
        }
    }

    /// @notice Anchors a batch of two readings. v2: keyed by (twin, source, root), so the same root anchored by one
    /// source never stops another (readings repeat over 16 seeds, so roots collide across sources and twins).
    function anchorBatch(uint256 actorSeed, uint256 slotSeed, uint256 readingSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = actorSeed % 2 == 0 ? actors.source(actorSeed >> 1) : actors.any(actorSeed >> 1);
        LedgerModel.Batch memory b;
        b.twin = slot;
        b.source = actor;
        b.hash0 = keccak256(abi.encode("reading", readingSeed % 16, 0));
        b.hash1 = keccak256(abi.encode("reading", readingSeed % 16, 1));
        b.time0 = uint64(1_750_000_000 + (readingSeed % 16) * 600);
        b.time1 = b.time0 + 300;
        b.root = _pairRoot(leafOf(b.hash0, b.time0), leafOf(b.hash1, b.time1));
        bool expected =
            _active(slot) &&
                model.sourceCategories(slot, actor) & DataCategory.WEARABLE_STREAMS != 0 &&
                !model.hasBatch(slot, actor, b.root);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try log.anchorBatch(id, b.root) {
            _report(true, expected, "anchorBatch");
            model.addBatch(b);
        } catch {
            _report(false, expected, "anchorBatch");
        }
    }

    /// @notice Anchors a batch of two records (one EMR ingest) as one step of the twin's hash chain.
    function anchorRecords(uint256 actorSeed, uint256 slotSeed, uint256 recordSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = actorSeed % 2 == 0 ? actors.source(actorSeed >> 1) : actors.any(actorSeed >> 1);
        uint32[3] memory pick = [DataCategory.VITALS, DataCategory.WEARABLE_STREAMS, DataCategory.LABS];
        LedgerModel.RecordBatch memory b;
        b.twin = slot;
        b.source = actor;
        b.category0 = DataCategory.VITALS;
        b.category1 = pick[(recordSeed >> 8) % 3];
        b.categories = b.category0 | b.category1;
        b.hash0 = keccak256(abi.encode("record", recordSeed % 16, 0));
        b.hash1 = keccak256(abi.encode("record", recordSeed % 16, 1));
        b.cid0 = keccak256(abi.encode("cid", recordSeed % 16, 0));
        b.cid1 = keccak256(abi.encode("cid", recordSeed % 16, 1));
        b.root = _pairRoot(recordLeafOf(b.category0, b.hash0, b.cid0), recordLeafOf(b.category1, b.hash1, b.cid1));
        bool expected =
            _active(slot) &&
                model.sourceCategories(slot, actor) & b.categories == b.categories &&
                !model.hasRecordBatch(slot, actor, b.root);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try log.anchorRecords(id, b.root, b.categories) returns (uint64 sequence) {
            _report(true, expected, "anchorRecords");
            if (sequence != model.bumpSequence(slot))
                _contradiction("anchorRecords: sequence differs from the model's");
            model.addRecordBatch(b);
        } catch {
            _report(false, expected, "anchorRecords");
        }
    }

    /// @notice v2: versions count within a custodian epoch: the last committer's next version, or 1 for any other
    /// custodian (a new epoch). Usually the expected version; sometimes a repeat, a jump, or 1.
    function commitTwinState(uint256 actorSeed, uint256 slotSeed, uint256 versionSeed) external {
        uint256 slot = _slot(slotSeed);
        address custodian = model.twin(slot).custodian;
        address actor = actorSeed % 2 == 0 && custodian != address(0) ? custodian : actors.any(actorSeed >> 1);
        LedgerModel.TwinState memory before = model.stateOf(slot);
        uint64 next = before.custodian == actor ? before.version + 1 : 1;
        uint64 version =
            versionSeed % 8 == 0
                ? before.version
                : versionSeed % 8 == 1
                    ? next + 5
                    : versionSeed % 8 == 2
                        ? 1
                        : next;
        bool expected = _active(slot) && actor == custodian && model.isCustodian(actor) && version == next;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try log.commitTwinState(id, keccak256(abi.encode("state", version)), keccak256("sources"), version) {
            _report(true, expected, "commitTwinState");
            model.commit(slot, actor);
            LedgerModel.TwinState memory afterwards = model.stateOf(slot);
            // Within an epoch the version only grows, by one; a new epoch starts at 1.
            bool grows =
                afterwards.epoch == before.epoch
                    ? afterwards.version == before.version + 1
                    : afterwards.epoch == before.epoch + 1 && afterwards.version == 1;
            if (!grows) _contradiction("commitTwinState: the version did not grow within its epoch");
        } catch {
            _report(false, expected, "commitTwinState");
        }
    }

    /// @notice The leaf of a reading, as OpenZeppelin's StandardMerkleTree over `(bytes32, uint64)` makes it.
    function leafOf(bytes32 readingHash, uint64 time) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(readingHash, time))));
    }

    /// @notice The leaf of a record, as StandardMerkleTree over `(uint32, bytes32, bytes32)` makes it.
    function recordLeafOf(uint32 category, bytes32 contentHash, bytes32 cidHash) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(category, contentHash, cidHash))));
    }

    /// @dev The root of a two-leaf tree (sorted pair hash); each leaf's proof is the other leaf.
    function _pairRoot(bytes32 a, bytes32 c) internal pure returns (bytes32) {
        return a < c ? keccak256(abi.encode(a, c)) : keccak256(abi.encode(c, a));
    }
}
