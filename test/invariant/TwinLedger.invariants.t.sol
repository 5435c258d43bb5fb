// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {InvariantTest} from "./utils/InvariantTest.sol";
import {Actors} from "./base/Actors.sol";
import {LedgerModel} from "./model/LedgerModel.sol";
import {RegistryHandler} from "./handlers/RegistryHandler.sol";
import {ConsentHandler} from "./handlers/ConsentHandler.sol";
import {UpdateLogHandler} from "./handlers/UpdateLogHandler.sol";
import {TwinRegistry} from "../../contracts/TwinRegistry.sol";
import {ConsentPolicy} from "../../contracts/ConsentPolicy.sol";
import {TwinUpdateLog} from "../../contracts/TwinUpdateLog.sol";
import {IConsentPolicy} from "../../contracts/interfaces/IConsentPolicy.sol";
import {Action, DataCategory, Purpose, TwinStatus} from "../../contracts/Common.sol";

/// @title TwinLedgerInvariants
/// @notice Stateful invariant fuzzing of the three contracts together: forge calls random sequences of the
/// handlers' functions (random actors, twins, terms and time), and after every call checks the invariants below
/// against the contracts and the model. What each asserts: test/invariant/README.md.
contract TwinLedgerInvariants is InvariantTest {
    Actors internal actors;
    LedgerModel internal model;
    TwinRegistry internal registry;
    ConsentPolicy internal consent;
    TwinUpdateLog internal log;
    RegistryHandler internal registryHandler;
    ConsentHandler internal consentHandler;
    UpdateLogHandler internal logHandler;

    /// @dev The universe of LedgerModel, copied here so that the loops read no other contract.
    uint32[2] internal CATEGORIES = [DataCategory.VITALS, DataCategory.WEARABLE_STREAMS];
    uint8[2] internal ACTIONS = [Action.READ, Action.AGGREGATE];
    uint16[2] internal PURPOSES = [Purpose.TREATMENT, Purpose.EMERGENCY];

    function setUp() public {
        vm.warp(1_750_000_000);
        actors = new Actors();
        model = new LedgerModel();
        address governance = actors.at(actors.GOVERNANCE());
        registry = new TwinRegistry(governance);
        consent = new ConsentPolicy(registry);
        log = new TwinUpdateLog(registry);

        vm.startPrank(governance);
        registry.grantRole(registry.GOVERNANCE_ROLE(), governance);
        registry.grantRole(registry.CUSTODIAN_ROLE(), actors.at(actors.CUSTODIAN_A()));
        registry.grantRole(registry.CUSTODIAN_ROLE(), actors.at(actors.CUSTODIAN_B()));
        registry.grantRole(registry.EMERGENCY_RESPONDER_ROLE(), actors.at(actors.RESPONDER_A()));
        vm.stopPrank();
        model.setRole(true, actors.at(actors.CUSTODIAN_A()), true);
        model.setRole(true, actors.at(actors.CUSTODIAN_B()), true);
        model.setRole(false, actors.at(actors.RESPONDER_A()), true);

        registryHandler = new RegistryHandler(actors, model, registry);
        consentHandler = new ConsentHandler(actors, model, consent);
        logHandler = new UpdateLogHandler(actors, model, log);

        // Two twins exist from the start, so that every run has something to fuzz.
        registryHandler.createTwin(0, 0, 0);
        registryHandler.createTwin(1, 1, 1);

        bytes4[] memory r = new bytes4[](13);
        r[0] = RegistryHandler.passTime.selector;
        r[1] = RegistryHandler.createTwin.selector;
        r[2] = RegistryHandler.changeCustodian.selector;
        r[3] = RegistryHandler.authorizeSource.selector;
        r[4] = RegistryHandler.removeSource.selector;
        r[5] = RegistryHandler.appointDelegate.selector;
        r[6] = RegistryHandler.removeDelegate.selector;
        r[7] = RegistryHandler.transferOwnership.selector;
        r[8] = RegistryHandler.acceptOwnership.selector;
        r[9] = RegistryHandler.suspendTwin.selector;
        r[10] = RegistryHandler.resumeTwin.selector;
        r[11] = RegistryHandler.eraseTwin.selector;
        r[12] = RegistryHandler.setRole.selector;
        targetSelector(FuzzSelector(address(registryHandler), r));

        bytes4[] memory c = new bytes4[](13);
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
        targetSelector(FuzzSelector(address(consentHandler), c));

        bytes4[] memory u = new bytes4[](3);
        u[0] = UpdateLogHandler.recordUpdate.selector;
        u[1] = UpdateLogHandler.anchorBatch.selector;
        u[2] = UpdateLogHandler.commitTwinState.selector;
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

    /// @notice On an erased twin nobody is allowed anything: the answer is `TwinErased` for everyone, owner included.
    function invariant_nothingIsGrantedOnAnErasedTwin() public view {
        for (uint256 slot; slot < 3; ++slot) {
            if (model.statusOf(slot) != TwinStatus.Erased) continue;
            for (uint256 a; a < 14; ++a) {
                IConsentPolicy.AccessDecision d = consent.checkAccess(
                    _id(slot),
                    actors.at(a),
                    Action.READ,
                    DataCategory.VITALS,
                    Purpose.EMERGENCY
                );
                check(d == IConsentPolicy.AccessDecision.TwinErased, "erased twin answers other than TwinErased");
            }
        }
    }

    /// @notice Whatever happened before, the owner (and each delegate) can revoke every live grant, on an active,
    /// suspended or erased twin, and the grantee is refused afterwards (outside an emergency access of its own).
    function invariant_aControllerCanAlwaysRevoke() public {
        for (uint256 slot; slot < 3; ++slot) {
            if (!model.created(slot)) continue;
            for (uint256 g; g < 14; ++g) {
                address grantee = actors.at(g);
                if (!model.isLive(slot, grantee) || model.isController(slot, grantee)) continue;
                bytes32 id = _id(slot);
                address owner = model.ownerOf(slot);
                uint256 snapshot = vm.snapshotState();
                vm.prank(owner);
                consent.revoke(id, grantee);
                check(
                    !consent.isAuthorized(id, grantee, Action.READ, DataCategory.VITALS, Purpose.TREATMENT),
                    "a revoked grantee still reads"
                );
                vm.revertToState(snapshot);
            }
        }
    }

    /// @notice The registry's owners, pending owners, delegates, statuses, custodians and sources are the model's:
    /// nobody but the original patient or an accepted pending owner owns a twin.
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
            check(registry.pendingOwnerOf(id) == t.pendingOwner, "pending owner differs from the model");
            check(registry.statusOf(id) == t.status, "status differs from the model");
            check(registry.custodianOf(id) == t.custodian, "custodian differs from the model");
            for (uint256 a; a < 14; ++a) {
                address account = actors.at(a);
                check(registry.isDelegate(id, account) == model.isDelegate(slot, account), "delegate differs");
                check(
                    registry.sourceOf(id, account).categories == model.sourceCategories(slot, account),
                    "source differs"
                );
            }
        }
    }

    /// @notice Governance is never owner, delegate or pending owner of a twin, and never reads one outside a
    /// break-glass access it opened itself (which leaves an EmergencyAccessOpened event).
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
            check(registry.pendingOwnerOf(id) != governance, "governance is pending owner");
            for (uint256 c; c < 2; ++c) {
                for (uint256 p; p < 1; ++p) {
                    check(
                        !consent.isAuthorized(id, governance, Action.READ, CATEGORIES[c], PURPOSES[p]),
                        "governance reads"
                    );
                    check(
                        !consent.isAuthorized(id, stranger, Action.READ, CATEGORIES[c], PURPOSES[p]),
                        "stranger reads"
                    );
                }
            }
        }
    }

    /// @notice Sequences and versions only grow, by the modelled steps: the log head's sequence is the number of
    /// updates recorded, the committed version the last accepted one.
    function invariant_sequencesAndVersionsOnlyGrow() public view {
        for (uint256 slot; slot < 3; ++slot) {
            bytes32 id = _id(slot);
            check(log.logHeadOf(id).sequence == model.sequence(slot), "sequence differs from the model");
            check(log.twinStateOf(id).version == model.version(slot), "version differs from the model");
        }
    }

    /// @notice Every anchored reading verifies against its batch, and a reading that was not anchored (another hash,
    /// another time, another twin) does not.
    function invariant_anchoredReadingsVerifyAndNothingElse() public view {
        uint256 n = model.batchCount();
        for (uint256 i; i < n; ++i) {
            LedgerModel.Batch memory b = model.batchAt(i);
            bytes32 id = _id(b.twin);
            bytes32[] memory proof = new bytes32[](1);
            proof[0] = logHandler.leafOf(b.hash1, b.time1);
            check(log.verifyReading(id, b.root, b.hash0, b.time0, proof), "an anchored reading does not verify");
            check(
                !log.verifyReading(id, b.root, bytes32(uint256(b.hash0) ^ 1), b.time0, proof),
                "a forged reading verifies"
            );
            check(!log.verifyReading(id, b.root, b.hash0, b.time0 + 1, proof), "a reading at another time verifies");
            check(
                !log.verifyReading(_id((b.twin + 1) % 3), b.root, b.hash0, b.time0, proof) ||
                    model.hasBatch((b.twin + 1) % 3, b.root),
                "a reading verifies on another twin"
            );
            proof[0] = logHandler.leafOf(b.hash0, b.time0);
            check(log.verifyReading(id, b.root, b.hash1, b.time1, proof), "an anchored reading does not verify");
        }
    }

    /// @notice Not an invariant: how many calls the campaign made and how many the model expected to succeed.
    function afterInvariant() external view {
        check(model.calls() > 0, "no handler call was made");
    }

    function _id(uint256 slot) internal view returns (bytes32) {
        return model.created(slot) ? model.twinId(slot) : keccak256(abi.encode("twin", slot));
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b;
        while (v != 0) {
            b = bytes.concat(bytes1(uint8(48 + (v % 10))), b);
            v /= 10;
        }
        return string(b);
    }
}
