// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {LedgerSuite} from "./base/LedgerSuite.sol";
import {CohortModel} from "./model/CohortModel.sol";
import {RegistryHandler} from "./handlers/RegistryHandler.sol";
import {StudyHandler} from "./handlers/StudyHandler.sol";
import {DeviceHandler} from "./handlers/DeviceHandler.sol";
import {StudyRegistry} from "../../contracts/StudyRegistry.sol";
import {DeviceRegistry} from "../../contracts/DeviceRegistry.sol";
import {IStudyRegistry} from "../../contracts/interfaces/IStudyRegistry.sol";
import {IDeviceRegistry} from "../../contracts/interfaces/IDeviceRegistry.sol";
import {TwinStatus} from "../../contracts/Common.sol";

/// @title StudiesAndDevicesInvariants
/// @notice Stateful invariant fuzzing of StudyRegistry and DeviceRegistry (issue 15) on a live TwinRegistry: forge
/// calls random sequences of the registry's, the studies' and the devices' handlers (owners, delegates, statuses,
/// custodians and sources change under the studies and devices), and checks the invariants below against the
/// contracts and the models. What each asserts: test/invariant/README.md.
contract StudiesAndDevicesInvariants is LedgerSuite {
    CohortModel internal cohort;
    StudyRegistry internal studies;
    DeviceRegistry internal devices;
    StudyHandler internal studyHandler;
    DeviceHandler internal deviceHandler;

    function setUp() public {
        address governance = _deployRegistry();
        vm.roll(100);
        cohort = new CohortModel();
        vm.label(cohort.BOARD(), "ethicsBoard");
        vm.label(cohort.MAKER_A(), "makerA");
        vm.label(cohort.MAKER_B(), "makerB");
        address operator = actors.at(actors.CUSTODIAN_A());
        studies = new StudyRegistry(registry, governance);
        devices = new DeviceRegistry(registry, governance);

        vm.startPrank(governance);
        studies.grantRole(studies.ETHICS_BOARD_ROLE(), cohort.BOARD());
        studies.grantRole(studies.OPERATOR_ROLE(), operator);
        devices.grantRole(devices.MANUFACTURER_ROLE(), cohort.MAKER_A());
        devices.grantRole(devices.MANUFACTURER_ROLE(), cohort.MAKER_B());
        vm.stopPrank();
        cohort.setStudyRole(false, cohort.BOARD(), true);
        cohort.setStudyRole(true, operator, true);
        cohort.setManufacturer(cohort.MAKER_A(), true);
        cohort.setManufacturer(cohort.MAKER_B(), true);

        registryHandler = new RegistryHandler(actors, model, registry);
        studyHandler = new StudyHandler(actors, model, cohort, studies);
        deviceHandler = new DeviceHandler(actors, model, cohort, devices, registry);

        // Every run starts with two twins, the device account a device source of the first, registered by maker A,
        // and one approved study open for three days with both twins enrolled, so that withdrawals, answers and flags
        // are reachable at once.
        registryHandler.createTwin(0, 0, 0);
        registryHandler.createTwin(1, 1, 1);
        registryHandler.authorizeSource(0, 0, 1, 0); // owner of slot 0; SOURCE_DEVICE
        deviceHandler.registerDevice(0, 1, 1); // maker A registers SOURCE_DEVICE
        studyHandler.registerStudy(0, (1 << 24) | (2 << 8) | (1 << 4) | 2, 1_000, 3600, 3 days); // count and mean, k = 2
        studyHandler.reviewStudy(0, 1, 1);
        studyHandler.enrol(0, 1, 0); // both patients enrol their twins
        studyHandler.enrol(0, 1, 1);
        check(
            cohort.isOpen(1) && cohort.studyOf(1).enrolled == 2 && model.violations() == 0,
            "set-up: study 1 not open or not enrolled"
        );

        // Time passes through StudyHandler.nextBlock (blocks too), not RegistryHandler.passTime (days at a time: the
        // windows would close within a run); erasure, rare in the other suite, would here end a twin within a run
        // (a controller of an erased twin is nobody: enrol and withdraw refuse it as they refuse a non-controller);
        // the registry's roles are the other suite's.
        _targetRegistryHandler(false);

        bytes4[] memory s = new bytes4[](8);
        s[0] = StudyHandler.nextBlock.selector;
        s[1] = StudyHandler.registerStudy.selector;
        s[2] = StudyHandler.reviewStudy.selector;
        s[3] = StudyHandler.closeStudy.selector;
        s[4] = StudyHandler.enrol.selector;
        s[5] = StudyHandler.withdraw.selector;
        s[6] = StudyHandler.spendBudget.selector;
        s[7] = StudyHandler.setStudyRole.selector;
        targetSelector(FuzzSelector(address(studyHandler), s));

        bytes4[] memory d = new bytes4[](7);
        d[0] = DeviceHandler.registerDevice.selector;
        d[1] = DeviceHandler.updateDevice.selector;
        d[2] = DeviceHandler.flagDevice.selector;
        d[3] = DeviceHandler.flagDeviceAsCustodian.selector;
        d[4] = DeviceHandler.clearFlag.selector;
        d[5] = DeviceHandler.setManufacturer.selector;
        d[6] = DeviceHandler.authorizeEmrSource.selector;
        targetSelector(FuzzSelector(address(deviceHandler), d));

        targetContract(address(registryHandler));
        targetContract(address(studyHandler));
        targetContract(address(deviceHandler));
    }

    // --------------------------------------------------------------------------------------------------------------
    // Invariants: every call
    // --------------------------------------------------------------------------------------------------------------

    /// @notice Every handler call succeeded exactly when the models said it should, and returned what they expect
    /// (study ids, query indexes): registration terms, the board's reviews, who closes, who enrols and withdraws
    /// and when, the operator's answers within k and ε, who registers, updates, flags and clears a device.
    function invariant_everyCallMatchesTheModel() public view {
        check(model.violations() == 0, model.firstViolation());
    }

    // --------------------------------------------------------------------------------------------------------------
    // Invariants: StudyRegistry
    // --------------------------------------------------------------------------------------------------------------

    /// @notice For every study, the ε spent never exceeds its budget: spent and answers are the model's sums,
    /// `remainingBudget` is budget − spent, and no answer ever took the spent total past the budget.
    function invariant_epsilonSpentNeverExceedsTheBudget() public view {
        check(cohort.breachesOf(cohort.OVERSPEND()) == 0, cohort.OVERSPEND());
        check(studies.studyCount() == cohort.studyCount(), "studyCount differs from the model");
        for (uint256 id = 1; id <= cohort.studyCount(); ++id) {
            IStudyRegistry.Study memory s = studies.studyOf(id);
            IStudyRegistry.Study memory m = cohort.studyOf(id);
            check(s.spent <= s.budget, "spent exceeds the budget");
            check(s.budget == m.budget && s.spent == m.spent, "budget or spent differs from the model");
            check(s.queries == m.queries, "answers differ from the model");
            check(studies.remainingBudget(id) == s.budget - s.spent, "remainingBudget is not budget - spent");
        }
    }

    /// @notice Answers are recorded only while a study is approved and within its window: statuses are the model's
    /// (Proposed, then Approved or Rejected, then Closed for an approved one); no answer succeeded otherwise; and now,
    /// for every study that is not open, the operator's otherwise valid answer is refused, while for every open one
    /// with budget left it is accepted (on a snapshot).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_answersOnlyWhileApprovedAndOpen() public {
        check(cohort.breachesOf(cohort.ANSWER_NOT_OPEN()) == 0, cohort.ANSWER_NOT_OPEN());
        address operator = actors.at(actors.CUSTODIAN_A());
        bool operatorAccredited = cohort.isOperator(operator);
        for (uint256 id = 1; id <= cohort.studyCount() + 1; ++id) {
            IStudyRegistry.Study memory m = cohort.studyOf(id);
            check(studies.studyOf(id).status == m.status, "study status differs from the model");
            uint8 aggregate;
            unchecked {
                aggregate = m.aggregates & (~m.aggregates + 1); // the lowest allowed bit (0 for an unknown study)
            }
            uint256 snapshot = vm.snapshotState();
            vm.prank(operator);
            try studies.spendBudget(id, aggregate, 1, m.minCohort, keccak256("root"), uint64(block.number - 1)) {
                check(cohort.isOpen(id), "an answer was recorded on a study that is not open");
            } catch {
                check(
                    !(cohort.isOpen(id) && operatorAccredited && m.spent < m.budget),
                    "the operator cannot answer on an open study with budget left"
                );
            }
            vm.revertToState(snapshot);
        }
    }

    /// @notice Only the twin's owner or a current delegate, on an active twin, ever enrolled it; enrolments (blocks
    /// of enrolment and withdrawal) and enrolled counts are the model's; and now, on every open study, nobody but a
    /// controller can enrol a twin that is not enrolled, while its owner can (on a snapshot).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_enrolmentOnlyByOwnerOrDelegate() public {
        check(cohort.breachesOf(cohort.ENROLMENT_BY_OTHER()) == 0, cohort.ENROLMENT_BY_OTHER());
        for (uint256 id = 1; id <= cohort.studyCount(); ++id) {
            uint32 enrolled;
            for (uint256 slot; slot < 3; ++slot) {
                bytes32 twinId = _id(slot);
                CohortModel.Enrolment memory e = cohort.enrolmentOf(id, slot);
                (uint64 enrolledAt, uint64 withdrawnAt) = studies.enrolmentOf(id, twinId);
                check(enrolledAt == e.enrolledAt && withdrawnAt == e.withdrawnAt, "enrolment differs from the model");
                check(studies.isEnrolled(id, twinId) == cohort.isEnrolled(id, slot), "isEnrolled differs");
                if (cohort.isEnrolled(id, slot)) ++enrolled;
                if (!cohort.isOpen(id) || e.enrolledAt != 0 || !model.created(slot)) continue;
                for (uint256 a; a < actors.COUNT(); ++a) {
                    address account = actors.at(a);
                    bool entitled = model.statusOf(slot) == TwinStatus.Active && model.isController(slot, account);
                    uint256 snapshot = vm.snapshotState();
                    vm.prank(account);
                    try studies.enrol(id, twinId) {
                        check(entitled, "someone other than the owner or a delegate enrolled a twin");
                    } catch {
                        check(!entitled, "a controller of an active twin cannot enrol it");
                    }
                    vm.revertToState(snapshot);
                }
            }
            check(studies.studyOf(id).enrolled == enrolled && cohort.studyOf(id).enrolled == enrolled, "count differs");
        }
    }

    /// @notice A withdrawn twin is not enrolled: not now, not at the block of its withdrawal or after, and it cannot
    /// enrol again (its owner is refused, on a snapshot); it was enrolled from its enrolment's block up to the block
    /// before the withdrawal. `isEnrolledAt` is the model's at each of those blocks for every (study, twin). And a
    /// controller can always withdraw an enrolled twin that is not erased (on a snapshot).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_aWithdrawnTwinIsNotEnrolled() public {
        check(cohort.breachesOf(cohort.ENROLMENT_AFTER_WITHDRAWAL()) == 0, cohort.ENROLMENT_AFTER_WITHDRAWAL());
        for (uint256 id = 1; id <= cohort.studyCount(); ++id) {
            for (uint256 slot; slot < 3; ++slot) {
                bytes32 twinId = _id(slot);
                CohortModel.Enrolment memory e = cohort.enrolmentOf(id, slot);
                uint256[5] memory blocks = [
                    uint256(e.enrolledAt == 0 ? 0 : e.enrolledAt - 1),
                    e.enrolledAt,
                    e.withdrawnAt == 0 ? block.number : e.withdrawnAt - 1,
                    e.withdrawnAt,
                    block.number
                ];
                for (uint256 b; b < 5; ++b) {
                    check(
                        studies.isEnrolledAt(id, twinId, blocks[b]) == cohort.wasEnrolledAt(id, slot, blocks[b]),
                        "isEnrolledAt differs from the model"
                    );
                }
                if (e.withdrawnAt != 0) {
                    check(!studies.isEnrolled(id, twinId), "a withdrawn twin is enrolled");
                    check(!studies.isEnrolledAt(id, twinId, block.number), "a withdrawn twin is enrolled now");
                    check(!studies.isEnrolledAt(id, twinId, e.withdrawnAt), "enrolled at its withdrawal's block");
                    address owner = model.ownerOf(slot);
                    uint256 snapshot = vm.snapshotState();
                    vm.prank(owner);
                    try studies.enrol(id, twinId) {
                        check(false, "a withdrawn twin enrolled again");
                    } catch {}
                    vm.revertToState(snapshot);
                } else if (e.enrolledAt != 0 && model.statusOf(slot) != TwinStatus.Erased) {
                    uint256 snapshot = vm.snapshotState();
                    vm.prank(model.ownerOf(slot));
                    try studies.withdraw(id, twinId) {
                        check(!studies.isEnrolledAt(id, twinId, block.number), "still enrolled after withdrawing");
                    } catch {
                        check(false, "the owner cannot withdraw an enrolled twin");
                    }
                    vm.revertToState(snapshot);
                }
            }
        }
    }

    // --------------------------------------------------------------------------------------------------------------
    // Invariants: DeviceRegistry
    // --------------------------------------------------------------------------------------------------------------

    /// @notice Only a device's manufacturer while accredited, or the custodian of a twin the device is a device
    /// source of, ever flagged or updated it, and nobody replaced another's flag; and now nobody else can: for every
    /// device, every account of the cast and both manufacturers, `flagDevice` succeeds only for its accredited
    /// manufacturer and `flagDeviceAsCustodian` on each twin only for that twin's custodian when the device is one
    /// of its device sources, both only when the device carries no other account's flag (on a snapshot).
    /// forge-config: default.invariant.check_interval = 4
    function invariant_onlyCustodianOrManufacturerFlags() public {
        check(cohort.breachesOf(cohort.FLAG_BY_OTHER()) == 0, cohort.FLAG_BY_OTHER());
        check(cohort.breachesOf(cohort.FLAG_TAKEN_OVER()) == 0, cohort.FLAG_TAKEN_OVER());
        check(cohort.breachesOf(cohort.MANUFACTURER_WITHOUT_ROLE()) == 0, cohort.MANUFACTURER_WITHOUT_ROLE());
        for (uint256 i; i < 3; ++i) {
            address device = actors.source(i);
            IDeviceRegistry.Device memory m = cohort.deviceOf(device);
            address manufacturer = m.manufacturer;
            bool unflagged = m.flag == IDeviceRegistry.FlagReason.None;
            for (uint256 a; a < actors.COUNT() + 2; ++a) {
                address account =
                    a < actors.COUNT()
                        ? actors.at(a)
                        : a == actors.COUNT()
                            ? cohort.MAKER_A()
                            : cohort.MAKER_B();
                bool mayFlag = unflagged || m.flaggedBy == account;
                bool maker = manufacturer != address(0) && account == manufacturer && cohort.isManufacturer(account);
                uint256 snapshot = vm.snapshotState();
                vm.prank(account);
                try devices.flagDevice(device, IDeviceRegistry.FlagReason.Recall) {
                    check(maker && mayFlag, "a non-manufacturer flagged, or took another's flag over");
                } catch {
                    check(!(maker && mayFlag), "its accredited manufacturer cannot flag");
                }
                vm.revertToState(snapshot);
                for (uint256 slot; slot < 3; ++slot) {
                    bool entitled =
                        model.created(slot) &&
                            model.twin(slot).custodian == account &&
                            model.isDeviceSource(slot, device) &&
                            mayFlag;
                    bytes32 twinId = _id(slot);
                    snapshot = vm.snapshotState();
                    vm.prank(account);
                    try devices.flagDeviceAsCustodian(twinId, device, IDeviceRegistry.FlagReason.Malfunction) {
                        check(entitled, "someone other than the twin's custodian flagged a device as custodian");
                    } catch {
                        check(!entitled, "a custodian cannot flag a device source of its twin");
                    }
                    vm.revertToState(snapshot);
                }
            }
        }
    }

    /// @notice Only a flag's flagger or governance ever cleared it; and now nobody else can: for every flagged device
    /// and every account of the cast and both manufacturers, `clearFlag` succeeds only for governance and for the
    /// flagger (a manufacturer of the device only while accredited), on a snapshot.
    /// forge-config: default.invariant.check_interval = 4
    function invariant_onlyFlaggerOrGovernanceClears() public {
        check(cohort.breachesOf(cohort.CLEAR_BY_OTHER()) == 0, cohort.CLEAR_BY_OTHER());
        for (uint256 i; i < 3; ++i) {
            address device = actors.source(i);
            if (cohort.deviceOf(device).flag == IDeviceRegistry.FlagReason.None) continue;
            for (uint256 a; a < actors.COUNT() + 2; ++a) {
                address account =
                    a < actors.COUNT()
                        ? actors.at(a)
                        : a == actors.COUNT()
                            ? cohort.MAKER_A()
                            : cohort.MAKER_B();
                bool entitled = deviceHandler.mayClear(device, account);
                uint256 snapshot = vm.snapshotState();
                vm.prank(account);
                try devices.clearFlag(device) {
                    check(entitled, "someone other than the flagger or governance cleared a flag");
                } catch {
                    check(!entitled, "the flagger or governance cannot clear a flag");
                }
                vm.revertToState(snapshot);
            }
        }
    }

    /// @notice Each device's flag follows the last action on it: the reason, time and flagger of the last flag, or
    /// none after a clearing; its manufacturer and commitments are the model's.
    function invariant_flagStateFollowsTheLastAction() public view {
        for (uint256 i; i < 3; ++i) {
            address device = actors.source(i);
            IDeviceRegistry.Device memory m = cohort.deviceOf(device);
            IDeviceRegistry.Device memory d = devices.deviceOf(device);
            (IDeviceRegistry.FlagReason reason, uint40 flaggedAt) = devices.flagOf(device);
            check(reason == m.flag && flaggedAt == m.flaggedAt, "flagOf differs from the last action");
            check(d.flag == m.flag && d.flaggedAt == m.flaggedAt, "the device's flag differs from the last action");
            check(d.flaggedBy == m.flaggedBy, "flaggedBy differs from the last action");
            check(d.manufacturer == m.manufacturer, "manufacturer differs from the model");
            check(
                d.modelCommitment == m.modelCommitment &&
                    d.firmwareCommitment == m.firmwareCommitment &&
                    d.calibrationCommitment == m.calibrationCommitment,
                "commitments differ from the model"
            );
        }
    }
}
