// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {HandlerBase} from "./HandlerBase.sol";
import {Actors} from "../base/Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {TwinUpdateLog} from "../../../contracts/TwinUpdateLog.sol";
import {DataCategory} from "../../../contracts/Common.sol";

/// @title UpdateLogHandler
/// @notice Drives TwinUpdateLog: record updates, batches of readings (two-leaf StandardMerkleTree batches, so the
/// invariants can prove each leaf) and twin state commitments, by sources, custodians and anyone else.
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
            if (sequence != model.bumpSequence(slot))
                _report(false, true, "recordUpdate: sequence differs from the model's");
        } catch {
            _report(false, expected, "recordUpdate");
        }
    }

    /// @notice Anchors a batch of two readings.
    function anchorBatch(uint256 actorSeed, uint256 slotSeed, uint256 readingSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = actorSeed % 2 == 0 ? actors.source(actorSeed >> 1) : actors.any(actorSeed >> 1);
        LedgerModel.Batch memory b;
        b.twin = slot;
        b.source = actor;
        b.hash0 = keccak256(abi.encode("reading", readingSeed % 16, 0));
        b.hash1 = keccak256(abi.encode("reading", readingSeed % 16, 1));
        b.time0 = uint64(block.timestamp - 600);
        b.time1 = uint64(block.timestamp - 300);
        b.root = rootOf(b);
        bool expected =
            _active(slot) &&
                model.sourceCategories(slot, actor) & DataCategory.WEARABLE_STREAMS != 0 &&
                !model.hasBatch(slot, b.root);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try log.anchorBatch(id, b.root, 2, uint40(b.time0), uint40(b.time1)) {
            _report(true, expected, "anchorBatch");
            model.addBatch(b);
        } catch {
            _report(false, expected, "anchorBatch");
        }
    }

    function commitTwinState(uint256 actorSeed, uint256 slotSeed, uint256 versionSeed) external {
        uint256 slot = _slot(slotSeed);
        address custodian = model.twin(slot).custodian;
        address actor = actorSeed % 2 == 0 && custodian != address(0) ? custodian : actors.any(actorSeed >> 1);
        uint64 current = model.version(slot);
        // Usually the next version; sometimes a repeat (stale) or a jump.
        uint64 version =
            current +
                uint64(
                    versionSeed % 4 == 0
                        ? 0
                        : versionSeed % 4 == 1
                            ? 5
                            : 1
                );
        bool expected =
            _active(slot) && actor == model.twin(slot).custodian && model.isCustodian(actor) && version > current;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try log.commitTwinState(id, keccak256(abi.encode("state", version)), keccak256("sources"), version) {
            _report(true, expected, "commitTwinState");
            model.setVersion(slot, version);
        } catch {
            _report(false, expected, "commitTwinState");
        }
    }

    /// @notice The leaf of a reading, as OpenZeppelin's StandardMerkleTree over `(bytes32, uint64)` makes it.
    function leafOf(bytes32 readingHash, uint64 time) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(readingHash, time))));
    }

    /// @notice The root of a two-leaf batch (sorted pair hash); each leaf's proof is the other leaf.
    function rootOf(LedgerModel.Batch memory b) public pure returns (bytes32) {
        bytes32 a = leafOf(b.hash0, b.time0);
        bytes32 c = leafOf(b.hash1, b.time1);
        return a < c ? keccak256(abi.encode(a, c)) : keccak256(abi.encode(c, a));
    }
}
