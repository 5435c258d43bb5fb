// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {HandlerBase} from "./HandlerBase.sol";
import {Actors} from "../base/Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {TwinRegistry} from "../../../contracts/TwinRegistry.sol";
import {DataCategory, SourceKind, TwinStatus} from "../../../contracts/Common.sol";

/// @title RegistryHandler
/// @notice Drives TwinRegistry: creation, custodians, sources, delegates, ownership transfer, suspension, erasure,
/// governance's accreditations, and the passing of time. Each function computes what the model expects, makes the
/// call as the chosen actor, reports the outcome and, on success, updates the model.
contract RegistryHandler is HandlerBase {
    TwinRegistry public immutable registry;

    constructor(Actors actors_, LedgerModel model_, TwinRegistry registry_) HandlerBase(actors_, model_) {
        registry = registry_;
    }

    /// @notice Time passes: usually minutes to an hour (inside emergency accesses and signature deadlines), sometimes
    /// up to three days (past cooldowns, windows and deadlines).
    function passTime(uint256 seconds_) external {
        uint256 most = seconds_ % 4 == 0 ? 3 days : 1 hours;
        vm.warp(block.timestamp + bound(seconds_ >> 2, 1, most));
    }

    /// @notice A patient creates twin `slot` under `twinIdOf(patient, salt)`. Once the slot exists, its creator tries
    /// again with the same salt (refused: `TwinAlreadyExists`).
    function createTwin(uint256 patientSeed, uint256 slotSeed, uint256 custodianSeed) external {
        uint256 slot = _slot(slotSeed);
        address patient = model.created(slot) ? model.twin(slot).creator : actors.patient(patientSeed);
        address custodian = actors.custodian(custodianSeed);
        bytes32 id = keccak256(abi.encode(patient, _salt(slot)));
        if (registry.twinIdOf(patient, _salt(slot)) != id) _contradiction("twinIdOf differs from the model's");
        bool expected = !model.created(slot) && model.isCustodian(custodian);
        vm.prank(patient);
        try registry.createTwin(_salt(slot), keccak256(abi.encode("metadata", slot)), custodian) returns (
            bytes32 created
        ) {
            _report(true, expected, "createTwin");
            if (created != id) _contradiction("createTwin: id differs from twinIdOf");
            model.createTwin(slot, id, patient, custodian);
        } catch {
            _report(false, expected, "createTwin");
        }
    }

    function changeCustodian(uint256 actorSeed, uint256 slotSeed, uint256 custodianSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        address custodian = actors.custodian(custodianSeed);
        bool expected = _live(slot) && model.isController(slot, actor) && model.isCustodian(custodian);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.changeCustodian(id, custodian) {
            _report(true, expected, "changeCustodian");
            model.setCustodian(slot, custodian);
        } catch {
            _report(false, expected, "changeCustodian");
        }
    }

    function authorizeSource(uint256 actorSeed, uint256 slotSeed, uint256 sourceSeed, uint32 categories) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        address source = actors.source(sourceSeed);
        categories = uint32(bound(categories, 1, DataCategory.ALL));
        if (sourceSeed % 3 != 0) categories |= DataCategory.WEARABLE_STREAMS | DataCategory.VITALS;
        bool expected = _live(slot) && model.isController(slot, actor) && source != model.ownerOf(slot);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.authorizeSource(id, source, SourceKind.Device, categories) {
            _report(true, expected, "authorizeSource");
            model.setSource(slot, source, categories);
        } catch {
            _report(false, expected, "authorizeSource");
        }
    }

    function removeSource(uint256 actorSeed, uint256 slotSeed, uint256 sourceSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        address source = actors.source(sourceSeed);
        bool expected = _live(slot) && model.isController(slot, actor) && model.sourceCategories(slot, source) != 0;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.removeSource(id, source) {
            _report(true, expected, "removeSource");
            model.setSource(slot, source, 0);
        } catch {
            _report(false, expected, "removeSource");
        }
    }

    function appointDelegate(uint256 actorSeed, uint256 slotSeed, uint256 delegateSeed) external {
        uint256 slot = _slot(slotSeed);
        // Owner only: the owner half the time.
        address actor = actorSeed % 2 == 0 ? model.ownerOf(slot) : _caller(slot, actorSeed >> 1);
        if (actor == address(0)) actor = actors.any(actorSeed);
        address delegate = actors.successor(delegateSeed);
        bool expected =
            _live(slot) && actor == model.ownerOf(slot) && delegate != actor && !model.isDelegate(slot, delegate);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.appointDelegate(id, delegate) {
            _report(true, expected, "appointDelegate");
            model.setDelegate(slot, delegate, true);
        } catch {
            _report(false, expected, "appointDelegate");
        }
    }

    function removeDelegate(uint256 actorSeed, uint256 slotSeed, uint256 delegateSeed) external {
        uint256 slot = _slot(slotSeed);
        LedgerModel.Twin memory t = model.twin(slot);
        // A third of the time, the delegate named by, or who started, a pending transfer (gap 8's path).
        address delegate = actors.successor(delegateSeed);
        if (delegateSeed % 3 == 0 && t.pendingOwner != address(0)) {
            delegate = delegateSeed % 2 == 0 ? t.pendingOwner : t.pendingStartedBy;
        }
        // Half the time the delegate resigns.
        address actor = actorSeed % 2 == 0 ? delegate : _caller(slot, actorSeed >> 1);
        bool expected =
            _live(slot) && (actor == model.ownerOf(slot) || actor == delegate) && model.isDelegate(slot, delegate);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.removeDelegate(id, delegate) {
            _report(true, expected, "removeDelegate");
            // v2: the pending transfer the delegate started, or that names it, ends with it (gap 8).
            model.setDelegate(slot, delegate, false);
        } catch {
            _report(false, expected, "removeDelegate");
        }
    }

    function transferOwnership(uint256 actorSeed, uint256 slotSeed, uint256 newOwnerSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        address newOwner = newOwnerSeed % 6 == 5 ? address(0) : actors.successor(newOwnerSeed);
        // A delegate often names itself (recovery by a guardian).
        if (newOwnerSeed % 3 == 0 && model.isDelegate(slot, actor)) newOwner = actor;
        bool expected = _live(slot) && model.isController(slot, actor) && newOwner != model.ownerOf(slot);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.transferOwnership(id, newOwner) {
            _report(true, expected, "transferOwnership");
            model.setPendingOwner(slot, newOwner, actor);
        } catch {
            _report(false, expected, "transferOwnership");
        }
    }

    function acceptOwnership(uint256 actorSeed, uint256 slotSeed) external {
        uint256 slot = _slot(slotSeed);
        LedgerModel.Twin memory t = model.twin(slot);
        address actor = actorSeed % 2 == 0 && t.pendingOwner != address(0) ? t.pendingOwner : actors.any(actorSeed);
        bool expected = _live(slot) && actor == t.pendingOwner;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.acceptOwnership(id) {
            _report(true, expected, "acceptOwnership");
            // v2: every delegate ends, and a source who becomes owner stops being one (gap 8).
            model.setOwner(slot, actor);
        } catch {
            _report(false, expected, "acceptOwnership");
        }
    }

    function suspendTwin(uint256 actorSeed, uint256 slotSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        bool expected = _active(slot) && model.isController(slot, actor);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.suspendTwin(id) {
            _report(true, expected, "suspendTwin");
            model.setStatus(slot, TwinStatus.Suspended);
        } catch {
            _report(false, expected, "suspendTwin");
        }
    }

    function resumeTwin(uint256 actorSeed, uint256 slotSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        bool expected =
            model.created(slot) && model.statusOf(slot) == TwinStatus.Suspended && model.isController(slot, actor);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.resumeTwin(id) {
            _report(true, expected, "resumeTwin");
            model.setStatus(slot, TwinStatus.Active);
        } catch {
            _report(false, expected, "resumeTwin");
        }
    }

    /// @notice Erasure is rare (one seed in eight) so that most runs keep live twins to fuzz.
    function eraseTwin(uint256 actorSeed, uint256 slotSeed) external {
        if (slotSeed % 8 != 0) return;
        uint256 slot = _slot(slotSeed >> 3);
        address actor = _caller(slot, actorSeed);
        bool expected = _live(slot) && model.isController(slot, actor);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.eraseTwin(id) {
            _report(true, expected, "eraseTwin");
            model.setStatus(slot, TwinStatus.Erased);
        } catch {
            _report(false, expected, "eraseTwin");
        }
    }

    /// @notice Governance (or anyone else, who must fail) accredits or withdraws a custodian or a responder.
    function setRole(uint256 actorSeed, bool custodianRole, uint256 accountSeed, bool grantIt) external {
        address actor = actorSeed % 2 == 0 ? actors.at(0) : actors.any(actorSeed >> 1);
        // Withdrawals are rarer than accreditations, so that most runs keep custodians and responders to fuzz.
        if (!grantIt && accountSeed % 4 != 0) grantIt = true;
        address account = custodianRole ? actors.custodian(accountSeed) : actors.responderCandidate(accountSeed);
        bytes32 role = custodianRole ? registry.CUSTODIAN_ROLE() : registry.EMERGENCY_RESPONDER_ROLE();
        bool expected = actor == actors.at(0);
        bool ok = _changeRole(registry, actor, role, account, grantIt);
        _report(ok, expected, "setRole");
        if (ok) model.setRole(custodianRole, account, grantIt);
    }
}
