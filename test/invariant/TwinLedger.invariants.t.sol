// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerSuite} from "./base/LedgerSuite.sol";
import {LedgerModel} from "./model/LedgerModel.sol";
import {RegistryHandler} from "./handlers/RegistryHandler.sol";
import {ConsentHandler} from "./handlers/ConsentHandler.sol";
import {UpdateLogHandler} from "./handlers/UpdateLogHandler.sol";
import {ConsentPolicy} from "../../contracts/ConsentPolicy.sol";
import {TwinUpdateLog} from "../../contracts/TwinUpdateLog.sol";
import {IConsentPolicy} from "../../contracts/interfaces/IConsentPolicy.sol";
import {ITwinUpdateLog} from "../../contracts/interfaces/ITwinUpdateLog.sol";
import {Action, DataCategory, Purpose, TwinStatus} from "../../contracts/Common.sol";

/// @title TwinLedgerInvariants
/// @notice Stateful invariant fuzzing of the three contracts together: forge calls random sequences of the
/// handlers' functions (random actors, twins, terms and time), and after every call checks the invariants below
/// against the contracts and the model. What each asserts: test/invariant/README.md.
contract TwinLedgerInvariants is LedgerSuite {
    ConsentPolicy internal consent;
    TwinUpdateLog internal log;
    ConsentHandler internal consentHandler;
    UpdateLogHandler internal logHandler;

    /// @dev The universe of LedgerModel, copied here so that the loops read no other contract.
    uint32[2] internal CATEGORIES = [DataCategory.VITALS, DataCategory.WEARABLE_STREAMS];
    uint8[2] internal ACTIONS = [Action.READ, Action.AGGREGATE];
    uint16[2] internal PURPOSES = [Purpose.TREATMENT, Purpose.EMERGENCY];

    function setUp() public {
        address governance = _deployRegistry();
        consent = new ConsentPolicy(registry);
        log = new TwinUpdateLog(registry);

        vm.startPrank(governance);
        registry.grantRole(registry.EMERGENCY_RESPONDER_ROLE(), actors.at(actors.RESPONDER_A()));
        vm.stopPrank();
        model.setRole(false, actors.at(actors.RESPONDER_A()), true);

        registryHandler = new RegistryHandler(actors, model, registry);
        consentHandler = new ConsentHandler(actors, model, consent);
        logHandler = new UpdateLogHandler(actors, model, log);

        // Two twins exist from the start, so that every run has something to fuzz.
        registryHandler.createTwin(0, 0, 0);
        registryHandler.createTwin(1, 1, 1);
        // ... and their patients allow break-glass access (1 hour; vitals, conditions, wearable streams), so that runs
        // reach the emergency cap, cooldown and blocking paths.
        consentHandler.setEmergencyPolicy(0, 0, (7 << 64) | (3599 << 8) | 1);
        consentHandler.setEmergencyPolicy(0, 1, (7 << 64) | (3599 << 8) | 1);

        _targetRegistryHandler(true);

        bytes4[] memory c = new bytes4[](15);
        c[0] = ConsentHandler.grant.selector;
        c[1] = ConsentHandler.updateGrant.selector;
        c[2] = ConsentHandler.grantBySig.selector;
        c[3] = ConsentHandler.signGrant.selector;
        c[4] = ConsentHandler.relaySigned.selector;
        c[5] = ConsentHandler.revoke.selector;
        c[6] = ConsentHandler.requestConsent.selector;
        c[7] = ConsentHandler.grantRequest.selector;
        c[8] = ConsentHandler.denyRequest.selector;
        c[9] = ConsentHandler.withdrawRequest.selector;
        c[10] = ConsentHandler.setEmergencyPolicy.selector;
        c[11] = ConsentHandler.openEmergencyAccess.selector;
        c[12] = ConsentHandler.closeEmergencyAccess.selector;
        c[13] = ConsentHandler.cancelNonce.selector;
        c[14] = ConsentHandler.setBlocked.selector;
        targetSelector(FuzzSelector(address(consentHandler), c));

        bytes4[] memory u = new bytes4[](4);
        u[0] = UpdateLogHandler.recordUpdate.selector;
        u[1] = UpdateLogHandler.anchorBatch.selector;
        u[2] = UpdateLogHandler.commitTwinState.selector;
        u[3] = UpdateLogHandler.anchorRecords.selector;
        targetSelector(FuzzSelector(address(logHandler), u));

        targetContract(address(registryHandler));
        targetContract(address(consentHandler));
        targetContract(address(logHandler));
    }

    // --------------------------------------------------------------------------------------------------------------
    // Invariants
    // --------------------------------------------------------------------------------------------------------------

    /// @notice Every handler call succeeded exactly when the model said it should: so no one but a controller
    /// changed a grant, no one but the pending owner took a twin, governance neither granted nor took anything,
    /// sequences and versions moved as modelled, and every entitled call (a controller revoking a live grant, ...)
    /// went through.
    function invariant_everyCallMatchesTheModel() public view {
        check(model.violations() == 0, model.firstViolation());
    }

    /// @notice `isAuthorized` equals the model for every (twin, account, category, action, purpose) of the universe
    /// (LedgerModel.CATEGORIES x ACTIONS x PURPOSES, every actor, every twin slot).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_checkAccessEqualsTheModel() public view {
        for (uint256 slot; slot < 3; ++slot) {
            bytes32 id = _id(slot);
            for (uint256 a; a < 14; ++a) {
                address account = actors.at(a);
                uint256 want = model.allowedMask(slot, account);
                uint256 got;
                for (uint256 c; c < 2; ++c) {
                    for (uint256 x; x < 2; ++x) {
                        for (uint256 p; p < 2; ++p) {
                            if (consent.isAuthorized(id, account, ACTIONS[x], CATEGORIES[c], PURPOSES[p])) {
                                got |= 1 << (4 * c + 2 * x + p);
                            }
                        }
                    }
                }
                if (got != want) {
                    revert(
                        string.concat(
                            "checkAccess differs from the model: slot ",
                            _str(slot),
                            ", actor ",
                            _str(a),
                            ", got mask ",
                            _str(got),
                            ", model ",
                            _str(want)
                        )
                    );
                }
            }
        }
    }

    /// @notice On an erased twin nobody is allowed anything: the answer is `TwinErased` for everyone, owner included,
    /// and nobody controls it (v2: `isController` is false for everyone).
    function invariant_nothingIsGrantedOnAnErasedTwin() public view {
        for (uint256 slot; slot < 3; ++slot) {
            if (model.statusOf(slot) != TwinStatus.Erased) continue;
            bytes32 id = _id(slot);
            for (uint256 a; a < 14; ++a) {
                IConsentPolicy.AccessDecision d = consent.checkAccess(
                    id,
                    actors.at(a),
                    Action.READ,
                    DataCategory.VITALS,
                    Purpose.EMERGENCY
                );
                check(d == IConsentPolicy.AccessDecision.TwinErased, "erased twin answers other than TwinErased");
                check(!registry.isController(id, actors.at(a)), "someone controls an erased twin");
            }
        }
    }

    /// @notice Whatever happened before, the owner and each current delegate can revoke every grantee's grant (v2:
    /// live or not), on an active, suspended or erased twin: the revoke succeeds, the pair's epoch moves on, and the
    /// grantee is refused afterwards (checked on a snapshot, then rolled back).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_aControllerCanAlwaysRevoke() public {
        for (uint256 slot; slot < 3; ++slot) {
            if (!model.created(slot)) continue;
            bytes32 id = _id(slot);
            for (uint256 g; g < 5; ++g) {
                address grantee = actors.grantee(g);
                if (model.holdsControl(slot, grantee)) continue;
                for (uint256 c; c < 14; ++c) {
                    address controller = actors.at(c);
                    if (!model.holdsControl(slot, controller)) continue;
                    uint32 epoch = consent.grantEpochOf(id, grantee);
                    uint256 snapshot = vm.snapshotState();
                    vm.prank(controller);
                    try consent.revoke(id, grantee) {} catch {
                        check(false, "a controller cannot revoke");
                    }
                    check(consent.grantEpochOf(id, grantee) == epoch + 1, "a revoke did not move the epoch on");
                    check(
                        !consent.isAuthorized(id, grantee, Action.READ, DataCategory.VITALS, Purpose.TREATMENT),
                        "a revoked grantee still reads"
                    );
                    vm.revertToState(snapshot);
                }
            }
        }
    }

    /// @notice The registry's owners, pending transfers (new owner and who started it), delegates, controllers,
    /// statuses, custodians and sources are the model's. So nobody but the creating patient, or a pending owner that
    /// a controller named and that is still wanted (v2: removing the delegate who started or is named by a transfer
    /// cancels it), owns a twin; delegates end at each ownership change; the owner is never a source.
    /// forge-config: default.invariant.check_interval = 4
    function invariant_registryEqualsTheModel() public view {
        for (uint256 slot; slot < 3; ++slot) {
            if (!model.created(slot)) {
                check(registry.statusOf(_id(slot)) == TwinStatus.None, "an uncreated twin exists");
                continue;
            }
            bytes32 id = _id(slot);
            LedgerModel.Twin memory t = model.twin(slot);
            check(registry.ownerOf(id) == t.owner, "owner differs from the model");
            (address pendingOwner, address startedBy) = registry.pendingTransferOf(id);
            check(pendingOwner == t.pendingOwner, "pending owner differs from the model");
            check(startedBy == t.pendingStartedBy, "who started the transfer differs from the model");
            check(registry.pendingOwnerOf(id) == t.pendingOwner, "pendingOwnerOf differs from pendingTransferOf");
            check(registry.statusOf(id) == t.status, "status differs from the model");
            check(registry.custodianOf(id) == t.custodian, "custodian differs from the model");
            check(registry.sourceOf(id, t.owner).categories == 0, "the owner is a source");
            for (uint256 a; a < 14; ++a) {
                address account = actors.at(a);
                check(registry.isDelegate(id, account) == model.isDelegate(slot, account), "delegate differs");
                check(registry.isController(id, account) == model.isController(slot, account), "controller differs");
                check(
                    registry.sourceOf(id, account).categories == model.sourceCategories(slot, account),
                    "source differs"
                );
            }
        }
    }

    /// @notice Governance and the stranger are never owner, delegate or pending owner of a twin, and never read one
    /// outside a break-glass access governance opened itself (which leaves an EmergencyAccessOpened event).
    function invariant_governanceCannotGrantReadOrTakeATwin() public view {
        address governance = actors.at(actors.GOVERNANCE());
        address stranger = actors.at(actors.STRANGER());
        for (uint256 slot; slot < 3; ++slot) {
            bytes32 id = _id(slot);
            check(
                registry.ownerOf(id) != governance && registry.ownerOf(id) != stranger,
                "governance or stranger owns"
            );
            check(!registry.isController(id, governance) && !registry.isController(id, stranger), "controls a twin");
            check(
                registry.pendingOwnerOf(id) != governance && registry.pendingOwnerOf(id) != stranger,
                "governance or stranger is pending owner"
            );
            for (uint256 c; c < 2; ++c) {
                check(
                    !consent.isAuthorized(id, governance, Action.READ, CATEGORIES[c], Purpose.TREATMENT),
                    "governance reads"
                );
                check(
                    !consent.isAuthorized(id, stranger, Action.READ, CATEGORIES[c], Purpose.TREATMENT),
                    "stranger reads"
                );
                check(
                    !consent.isAuthorized(id, stranger, Action.READ, CATEGORIES[c], Purpose.EMERGENCY),
                    "stranger reads in an emergency"
                );
            }
        }
    }

    /// @notice Sequences and versions only grow, by the modelled steps: the log head's sequence is the number of
    /// updates and record batches recorded; the committed (version, custodian epoch, custodian) is the model's, where
    /// each commit is the last committer's version + 1 or version 1 of a new epoch (checked at each commit).
    function invariant_sequencesAndVersionsOnlyGrow() public view {
        for (uint256 slot; slot < 3; ++slot) {
            bytes32 id = _id(slot);
            check(log.logHeadOf(id).sequence == model.sequence(slot), "sequence differs from the model");
            ITwinUpdateLog.TwinState memory s = log.twinStateOf(id);
            LedgerModel.TwinState memory m = model.stateOf(slot);
            check(s.version == m.version, "version differs from the model");
            check(s.epoch == m.epoch, "custodian epoch differs from the model");
            check(s.custodian == m.custodian, "last committer differs from the model");
        }
    }

    /// @notice A custodian never blocks another: on every active twin, its accredited custodian can commit its next
    /// version (the last one + 1, or 1 in a new epoch), and after a change of custodian to another accredited one,
    /// the new custodian commits version 1 (checked on a snapshot, then rolled back).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_aCustodianNeverBlocksAnother() public {
        for (uint256 slot; slot < 3; ++slot) {
            if (model.statusOf(slot) != TwinStatus.Active) continue;
            bytes32 id = _id(slot);
            LedgerModel.Twin memory t = model.twin(slot);
            LedgerModel.TwinState memory m = model.stateOf(slot);
            uint256 snapshot = vm.snapshotState();
            if (model.isCustodian(t.custodian)) {
                uint64 next = m.custodian == t.custodian ? m.version + 1 : 1;
                vm.prank(t.custodian);
                try log.commitTwinState(id, keccak256("next"), keccak256("sources"), next) {} catch {
                    check(false, "the twin's custodian cannot commit its next version");
                }
            }
            address other =
                t.custodian == actors.at(actors.CUSTODIAN_A())
                    ? actors.at(actors.CUSTODIAN_B())
                    : actors.at(actors.CUSTODIAN_A());
            if (model.isCustodian(other)) {
                vm.prank(t.owner);
                registry.changeCustodian(id, other);
                vm.prank(other);
                try log.commitTwinState(id, keccak256("new"), keccak256("sources"), 1) {} catch {
                    check(false, "a new custodian cannot commit version 1");
                }
                check(log.twinStateOf(id).epoch > m.epoch, "a new custodian did not start a new epoch");
            }
            vm.revertToState(snapshot);
        }
    }

    /// @notice Every anchored reading verifies against its batch for the source that anchored it; the same proof
    /// with another reading hash, another time, on another twin or for another source (v2: batches are bound to their
    /// source) does not, unless that source anchored the same root there too.
    function invariant_anchoredReadingsVerifyAndNothingElse() public view {
        uint256 n = model.batchCount();
        for (uint256 i; i < n; ++i) {
            LedgerModel.Batch memory b = model.batchAt(i);
            bytes32 id = _id(b.twin);
            bytes32[] memory proof = new bytes32[](1);
            proof[0] = logHandler.leafOf(b.hash1, b.time1);
            check(
                log.verifyReading(id, b.source, b.root, b.hash0, b.time0, proof),
                "an anchored reading does not verify"
            );
            check(
                !log.verifyReading(id, b.source, b.root, bytes32(uint256(b.hash0) ^ 1), b.time0, proof),
                "a forged reading verifies"
            );
            check(
                !log.verifyReading(id, b.source, b.root, b.hash0, b.time0 + 1, proof),
                "a reading at another time verifies"
            );
            uint256 other = (b.twin + 1) % 3;
            check(
                !log.verifyReading(_id(other), b.source, b.root, b.hash0, b.time0, proof) ||
                    model.hasBatch(other, b.source, b.root),
                "a reading verifies on another twin"
            );
            for (uint256 s; s < 3; ++s) {
                address source = actors.source(s);
                if (source == b.source) continue;
                check(
                    !log.verifyReading(id, source, b.root, b.hash0, b.time0, proof) ||
                        model.hasBatch(b.twin, source, b.root),
                    "a reading verifies for a source that did not anchor it"
                );
            }
            proof[0] = logHandler.leafOf(b.hash0, b.time0);
            check(
                log.verifyReading(id, b.source, b.root, b.hash1, b.time1, proof),
                "an anchored reading does not verify"
            );
        }
    }

    /// @notice Every anchored record verifies against its record batch for the source that anchored it; a changed
    /// record (content hash, cid hash or category), another twin or another source does not.
    function invariant_anchoredRecordsVerifyAndNothingElse() public view {
        uint256 n = model.recordBatchCount();
        for (uint256 i; i < n; ++i) {
            LedgerModel.RecordBatch memory b = model.recordBatchAt(i);
            bytes32 id = _id(b.twin);
            bytes32[] memory proof = new bytes32[](1);
            proof[0] = logHandler.recordLeafOf(b.category1, b.hash1, b.cid1);
            check(
                log.verifyRecord(id, b.source, b.root, b.category0, b.hash0, b.cid0, proof),
                "an anchored record does not verify"
            );
            check(
                !log.verifyRecord(id, b.source, b.root, b.category0, bytes32(uint256(b.hash0) ^ 1), b.cid0, proof),
                "a record with another content hash verifies"
            );
            check(
                !log.verifyRecord(id, b.source, b.root, b.category0, b.hash0, bytes32(uint256(b.cid0) ^ 1), proof),
                "a record with another cid verifies"
            );
            check(
                !log.verifyRecord(id, b.source, b.root, DataCategory.GENOMICS, b.hash0, b.cid0, proof),
                "a record under a category outside the batch verifies"
            );
            check(
                b.category1 == b.category0 ||
                    !log.verifyRecord(id, b.source, b.root, b.category1, b.hash0, b.cid0, proof),
                "a record under another category verifies"
            );
            uint256 other = (b.twin + 1) % 3;
            check(
                !log.verifyRecord(_id(other), b.source, b.root, b.category0, b.hash0, b.cid0, proof) ||
                    model.hasRecordBatch(other, b.source, b.root),
                "a record verifies on another twin"
            );
            for (uint256 s; s < 3; ++s) {
                address source = actors.source(s);
                if (source == b.source) continue;
                check(
                    !log.verifyRecord(id, source, b.root, b.category0, b.hash0, b.cid0, proof) ||
                        model.hasRecordBatch(b.twin, source, b.root),
                    "a record verifies for a source that did not anchor it"
                );
            }
            proof[0] = logHandler.recordLeafOf(b.category0, b.hash0, b.cid0);
            check(
                log.verifyRecord(id, b.source, b.root, b.category1, b.hash1, b.cid1, proof),
                "an anchored record does not verify"
            );
        }
    }

    /// @notice A signed grant is void once a controller has written its pair since it was signed (grant, signed
    /// grant, update, revoke, request granted): the pairs' epochs are the model's, no stale signature was ever
    /// relayed, and relaying any kept signature of an earlier epoch now fails (checked on a snapshot). Used and
    /// cancelled nonces are the model's.
    /// forge-config: default.invariant.check_interval = 4
    function invariant_staleSignaturesNeverRelay() public {
        check(model.staleRelays() == 0, "a stale signature was relayed");
        for (uint256 slot; slot < 3; ++slot) {
            for (uint256 g; g < 5; ++g) {
                address grantee = actors.grantee(g);
                check(
                    consent.grantEpochOf(_id(slot), grantee) == model.grantEpoch(slot, grantee),
                    "epoch differs from the model"
                );
            }
        }
        uint256 n = consentHandler.signedCount();
        for (uint256 i; i < n; ++i) {
            ConsentHandler.Signed memory s = consentHandler.signedAt(i);
            check(
                consent.nonceUsed(s.signer, s.nonce) == model.nonceUsed(s.signer, s.nonce),
                "nonce use differs from the model"
            );
            if (s.epoch == consent.grantEpochOf(s.terms.twinId, s.terms.grantee)) continue;
            uint256 snapshot = vm.snapshotState();
            vm.prank(actors.at(actors.STRANGER()));
            try consent.grantBySig(s.terms, s.signer, s.epoch, s.nonce, s.deadline, s.signature) {
                check(false, "a stale signature relays");
            } catch {}
            vm.revertToState(snapshot);
        }
    }

    /// @notice Break-glass access is bounded: every access (first opening, end, cooldown) is the model's; an open
    /// access never ends later than its first opening + the policy's maximum at its last opening (and never more than
    /// MAX_EMERGENCY_DURATION after it); during a cooldown it is closed and cannot be opened again (checked on a
    /// snapshot).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_emergencyAccessIsBounded() public {
        for (uint256 slot; slot < 3; ++slot) {
            bytes32 id = _id(slot);
            for (uint256 r; r < 3; ++r) {
                address responder = actors.responderCandidate(r);
                IConsentPolicy.EmergencyAccess memory got = consent.emergencyAccessOf(id, responder);
                LedgerModel.EmergencyAccess memory want = model.emergencyAccessOf(slot, responder);
                check(got.until == want.until, "emergency end differs from the model");
                check(got.openedAt == want.openedAt, "first opening differs from the model");
                check(got.cooldownUntil == want.cooldownUntil, "cooldown differs from the model");
                if (block.timestamp < got.until) {
                    check(got.until <= want.cap, "an open access ends past its first opening + the maximum");
                    check(
                        got.until - got.openedAt <= consent.MAX_EMERGENCY_DURATION(),
                        "an open access lasts longer than MAX_EMERGENCY_DURATION"
                    );
                }
                if (block.timestamp < got.cooldownUntil) {
                    check(!(block.timestamp < got.until), "an access is open during its cooldown");
                    uint256 snapshot = vm.snapshotState();
                    vm.prank(responder);
                    try consent.openEmergencyAccess(id, 1, keccak256("again")) {
                        check(false, "a responder re-opened during its cooldown");
                    } catch {}
                    vm.revertToState(snapshot);
                }
            }
        }
    }

    /// @notice A blocked account has no open emergency access and can neither open one nor ask for consent (checked
    /// on a snapshot), and without a grant it is refused (`Blocked` on an active twin it does not control); a grant
    /// the patient made to it still applies (`invariant_checkAccessEqualsTheModel`).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_blockedAccountsCannotOpenOrAsk() public {
        for (uint256 slot; slot < 3; ++slot) {
            bytes32 id = _id(slot);
            for (uint256 a; a < 14; ++a) {
                address account = actors.at(a);
                check(consent.isBlocked(id, account) == model.blocked(slot, account), "block differs from the model");
                if (!model.blocked(slot, account)) continue;
                check(!(block.timestamp < consent.emergencyAccessUntil(id, account)), "a blocked account has access");
                if (
                    model.statusOf(slot) == TwinStatus.Active &&
                    !model.grantOf(slot, account).exists &&
                    !model.isController(slot, account)
                ) {
                    check(
                        consent.checkAccess(id, account, Action.READ, DataCategory.VITALS, Purpose.EMERGENCY) ==
                            IConsentPolicy.AccessDecision.Blocked,
                        "a blocked account without a grant is not refused as Blocked"
                    );
                }
                uint256 snapshot = vm.snapshotState();
                vm.prank(account);
                try consent.openEmergencyAccess(id, 1, keccak256("blocked")) {
                    check(false, "a blocked account opened emergency access");
                } catch {}
                vm.prank(account);
                try consent.requestConsent(id, DataCategory.VITALS, Purpose.TREATMENT, 1 days, keccak256("r")) {
                    check(false, "a blocked account asked for consent");
                } catch {}
                vm.revertToState(snapshot);
            }
        }
    }
}
