// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {HandlerBase} from "./HandlerBase.sol";
import {Actors} from "../base/Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {CohortModel} from "../model/CohortModel.sol";
import {StudyRegistry} from "../../../contracts/StudyRegistry.sol";
import {IStudyRegistry} from "../../../contracts/interfaces/IStudyRegistry.sol";
import {DataCategory, Purpose} from "../../../contracts/Common.sol";

/// @title StudyHandler
/// @notice Drives StudyRegistry: studies registered with mostly valid terms (sometimes a bad purpose, mask, k, budget,
/// window or commitment), reviewed, closed; twins enrolled and withdrawn by their owner, a would-be delegate or anyone;
/// answers recorded by the operator or anyone, with ε up to beyond what is left; the study roles; blocks and time
/// passing. Twins, owners, delegates and statuses come from LedgerModel, which RegistryHandler keeps.
contract StudyHandler is HandlerBase {
    StudyRegistry public immutable studies;
    CohortModel public immutable cohort;

    constructor(
        Actors actors_,
        LedgerModel model_,
        CohortModel cohort_,
        StudyRegistry studies_
    ) HandlerBase(actors_, model_) {
        cohort = cohort_;
        studies = studies_;
    }

    /// @notice (Rare bad values sit on a non-zero residue of their seed: forge's dictionary often gives zeros.)
    /// Blocks are mined (one to three) and time passes: usually up to a quarter of an hour, one time in 16 up
    /// to two days (past the windows). Enrolments, withdrawals and answers name blocks.
    function nextBlock(uint256 seed) external {
        vm.roll(block.number + bound(seed, 1, 3));
        vm.warp(block.timestamp + bound(seed >> 4, 1, seed % 16 == 5 ? 2 days : 15 minutes));
    }

    /// @notice A sponsor (the researcher half the time, else anyone) registers a study; about one in four attempts
    /// has a bad term. At most `MAX_STUDIES` studies.
    function registerStudy(uint256 actorSeed, uint256 termsSeed, uint48 budget, uint40 start, uint40 length) external {
        if (cohort.studyCount() >= cohort.MAX_STUDIES()) return;
        address sponsor = actorSeed % 2 == 0 ? actors.at(actors.RESEARCHER()) : _anyone(actorSeed >> 1);
        IStudyRegistry.StudyTerms memory t;
        t.purpose =
            termsSeed % 16 == 7 ? Purpose.TREATMENT : (termsSeed % 2 == 0 ? Purpose.RESEARCH : Purpose.CLINICAL_TRIAL);
        t.categories = (termsSeed >> 4) % 16 == 7 ? 0 : DataCategory.VITALS | DataCategory.CONDITIONS;
        t.aggregates = uint8(bound(termsSeed >> 8, 0, 16)); // 0 and 16 are refused
        t.minCohort = uint32(bound(termsSeed >> 16, 1, 3)); // 1 is below the floor
        t.budget = uint48(bound(budget, 0, 2_000)); // milli-ε; 0 is refused
        // From an hour ago to two hours ahead, for up to three days (sometimes empty or already over).
        t.windowStart = uint40(block.timestamp - 1 hours + bound(start, 0, 3 hours));
        t.windowEnd = uint40(t.windowStart + bound(length, 0, 3 days));
        t.protocolCommitment = (termsSeed >> 24) % 16 == 7 ? bytes32(0) : keccak256(abi.encode("protocol", termsSeed));
        bool expected =
            (t.purpose == Purpose.RESEARCH || t.purpose == Purpose.CLINICAL_TRIAL) &&
                t.categories != 0 &&
                t.aggregates != 0 &&
                t.aggregates < 16 &&
                t.minCohort >= 2 &&
                t.budget != 0 &&
                t.windowStart < t.windowEnd &&
                block.timestamp < t.windowEnd &&
                t.protocolCommitment != bytes32(0);
        vm.prank(sponsor);
        try studies.registerStudy(t) returns (uint256 studyId) {
            _report(true, expected, "registerStudy");
            IStudyRegistry.Study memory s;
            (s.sponsor, s.status, s.aggregates, s.minCohort, s.budget) = (
                sponsor,
                IStudyRegistry.StudyStatus.Proposed,
                t.aggregates,
                t.minCohort,
                t.budget
            );
            (s.windowStart, s.windowEnd) = (t.windowStart, t.windowEnd);
            if (studyId != cohort.addStudy(s)) _contradiction("registerStudy: id differs from the model's");
        } catch {
            _report(false, expected, "registerStudy");
        }
    }

    /// @notice The ethics board (half the time) or anyone approves (three times in four) or rejects a study (sometimes
    /// an unknown id).
    function reviewStudy(uint256 actorSeed, uint256 studySeed, uint256 approveSeed) external {
        bool approve = approveSeed % 4 != 0;
        uint256 studyId = _study(studySeed);
        address actor = actorSeed % 2 == 0 ? cohort.BOARD() : _anyone(actorSeed >> 1);
        bool expected = cohort.isBoard(actor) && cohort.studyOf(studyId).status == IStudyRegistry.StudyStatus.Proposed;
        vm.prank(actor);
        try studies.reviewStudy(studyId, approve) {
            _report(true, expected, "reviewStudy");
            cohort.setStatus(
                studyId,
                approve ? IStudyRegistry.StudyStatus.Approved : IStudyRegistry.StudyStatus.Rejected
            );
        } catch {
            _report(false, expected, "reviewStudy");
        }
    }

    /// @notice The sponsor, the ethics board or anyone closes a study. Rarer than the rest (one seed in 16), so
    /// that runs keep open studies.
    function closeStudy(uint256 actorSeed, uint256 studySeed) external {
        if (studySeed % 16 != 9) return;
        uint256 studyId = _study(studySeed >> 4);
        IStudyRegistry.Study memory s = cohort.studyOf(studyId);
        address actor =
            actorSeed % 3 == 0
                ? s.sponsor
                : actorSeed % 3 == 1
                    ? cohort.BOARD()
                    : _anyone(actorSeed);
        if (actor == address(0)) actor = _anyone(actorSeed);
        bool expected =
            s.status == IStudyRegistry.StudyStatus.Approved && (actor == s.sponsor || cohort.isBoard(actor));
        vm.prank(actor);
        try studies.closeStudy(studyId) {
            _report(true, expected, "closeStudy");
            cohort.setStatus(studyId, IStudyRegistry.StudyStatus.Closed);
        } catch {
            _report(false, expected, "closeStudy");
        }
    }

    /// @notice The twin's owner (half the time), a would-be delegate or anyone enrols a twin in a study.
    function enrol(uint256 actorSeed, uint256 studySeed, uint256 slotSeed) external {
        uint256 studyId = _study(studySeed);
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        bool controls = _active(slot) && model.isController(slot, actor);
        bool expected = cohort.isOpen(studyId) && controls && cohort.enrolmentOf(studyId, slot).enrolledAt == 0;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try studies.enrol(studyId, id) {
            _report(true, expected, "enrol");
            if (!controls) cohort.breach(cohort.ENROLMENT_BY_OTHER());
            if (cohort.enrolmentOf(studyId, slot).withdrawnAt != 0) cohort.breach(cohort.ENROLMENT_AFTER_WITHDRAWAL());
            cohort.enrol(studyId, slot);
        } catch {
            _report(false, expected, "enrol");
        }
    }

    /// @notice The twin's owner (half the time), a would-be delegate or anyone withdraws a twin, whatever the study's
    /// status and window.
    function withdraw(uint256 actorSeed, uint256 studySeed, uint256 slotSeed) external {
        uint256 studyId = _study(studySeed);
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        bool expected = cohort.isEnrolled(studyId, slot) && model.isController(slot, actor);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try studies.withdraw(studyId, id) {
            _report(true, expected, "withdraw");
            cohort.withdraw(studyId, slot);
        } catch {
            _report(false, expected, "withdraw");
        }
    }

    /// @notice The operator (three times in four) or anyone records an answer: one aggregate bit, allowed half the
    /// time (sometimes any byte), ε from 0 to beyond what is left, from k − 1 to k + 2 contributors, sometimes a zero
    /// root or the current block.
    function spendBudget(
        uint256 actorSeed,
        uint256 studySeed,
        uint256 aggregateSeed,
        uint48 epsilon,
        uint256 flags
    ) external {
        uint256 studyId = _study(studySeed);
        IStudyRegistry.Study memory s = cohort.studyOf(studyId);
        address actor = actorSeed % 4 != 3 ? actors.at(actors.CUSTODIAN_A()) : _anyone(actorSeed >> 2);
        uint8 aggregate = aggregateSeed % 8 == 7 ? uint8(aggregateSeed >> 3) : uint8(1 << ((aggregateSeed >> 3) % 4));
        if (aggregateSeed % 8 < 4) {
            unchecked {
                aggregate = s.aggregates & (~s.aggregates + 1); // the lowest allowed bit
            }
        }
        epsilon = uint48(bound(epsilon, 0, 600));
        uint32 contributors = uint32(bound(flags >> 8, s.minCohort == 0 ? 0 : s.minCohort - 1, s.minCohort + 2));
        bytes32 root = flags % 16 == 7 ? bytes32(0) : keccak256(abi.encode("contributors", flags));
        uint64 atBlock = uint64((flags >> 4) % 8 == 7 ? block.number : block.number - 1);
        bool open = cohort.isOpen(studyId);
        bool expected =
            cohort.isOperator(actor) &&
                open &&
                aggregate != 0 &&
                aggregate & (aggregate - 1) == 0 &&
                aggregate & s.aggregates != 0 &&
                epsilon != 0 &&
                contributors >= s.minCohort &&
                root != bytes32(0) &&
                atBlock < block.number &&
                epsilon <= s.budget - s.spent;
        vm.prank(actor);
        try studies.spendBudget(studyId, aggregate, epsilon, contributors, root, atBlock) returns (uint256 index) {
            _report(true, expected, "spendBudget");
            if (index != s.queries) _contradiction("spendBudget: query index differs from the model's");
            if (!open) cohort.breach(cohort.ANSWER_NOT_OPEN());
            if (uint256(s.spent) + epsilon > s.budget) cohort.breach(cohort.OVERSPEND());
            cohort.spend(studyId, epsilon);
        } catch {
            _report(false, expected, "spendBudget");
        }
    }

    /// @notice Governance (half the time) or anyone grants or (rarely) revokes the ethics board or the operator role.
    function setStudyRole(uint256 actorSeed, bool operator, uint256 accountSeed, bool grantIt) external {
        address governance = actors.at(actors.GOVERNANCE());
        address actor = actorSeed % 2 == 0 ? governance : _anyone(actorSeed >> 1);
        if (!grantIt && accountSeed % 16 != 1) grantIt = true; // withdrawals are rare (and not on a zero seed)
        address account =
            operator
                ? actors.custodian(accountSeed)
                : (accountSeed % 2 == 0 ? cohort.BOARD() : actors.at(actors.RESEARCHER()));
        bytes32 role = operator ? studies.OPERATOR_ROLE() : studies.ETHICS_BOARD_ROLE();
        bool ok = _changeRole(studies, actor, role, account, grantIt);
        _report(ok, actor == governance, "setStudyRole");
        if (ok) cohort.setStudyRole(operator, account, grantIt);
    }

    /// @dev A study id from a seed: the next id (unknown) one time in eight; an open study, if any, half the time
    /// (runs keep reaching enrolments and answers); else any registered one.
    function _study(uint256 seed) internal view returns (uint256) {
        uint256 count = cohort.studyCount();
        if (count == 0 || seed % 8 == 7) return count + 1;
        uint256 pick = 1 + ((seed >> 3) % count);
        if (seed % 2 == 0) {
            for (uint256 i; i < count; ++i) {
                uint256 id = 1 + ((pick + i) % count);
                if (cohort.isOpen(id)) return id;
            }
        }
        return pick;
    }

    /// @dev Anyone: an actor of the cast, or the ethics board (one in eight).
    function _anyone(uint256 seed) internal view returns (address) {
        return seed % 8 == 0 ? cohort.BOARD() : actors.any(seed >> 3);
    }
}
