// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {DataCategory, Purpose, TwinStatus} from "./Common.sol";
import {IStudyRegistry} from "./interfaces/IStudyRegistry.sol";
import {ITwinRegistry} from "./interfaces/ITwinRegistry.sol";

/// @title StudyRegistry
/// @notice Consented cohort studies across twins: registration by a sponsor, approval by an ethics board, enrolment
/// and withdrawal by each twin's controllers, and the privacy budget each gateway answer spends (see IStudyRegistry).
/// @dev Twins, owners and delegates live in TwinRegistry; this contract asks it (`accessContext`) and never copies
/// them, so a change of owner, delegate or status holds here at once. The registry is asked through its typed
/// interface: an answer of the wrong size, a status outside `TwinStatus` or a boolean other than 0 or 1 fails ABI
/// decoding and reverts, so a bad answer fails closed (nobody enrols or withdraws on it).
///
/// Roles (OpenZeppelin AccessControl, administered by `DEFAULT_ADMIN_ROLE`, the governance admin): `ETHICS_BOARD_ROLE`
/// reviews studies and may close them; `OPERATOR_ROLE` (the gateway's operator, an accredited custodian's key) records
/// the ε of each answer.
contract StudyRegistry is IStudyRegistry, AccessControl {
    /// @notice May approve, reject and close studies.
    bytes32 public constant ETHICS_BOARD_ROLE = keccak256("ETHICS_BOARD_ROLE");
    /// @notice May record the ε each cohort answer spends (the gateway's operator).
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice Aggregate bits of a study's `aggregates` mask.
    uint8 public constant AGGREGATE_COUNT = 1 << 0;
    /// @notice A mean (a clamped sum and a count).
    uint8 public constant AGGREGATE_MEAN = 1 << 1;
    /// @notice A quantile.
    uint8 public constant AGGREGATE_QUANTILE = 1 << 2;
    /// @notice A histogram over declared bins.
    uint8 public constant AGGREGATE_HISTOGRAM = 1 << 3;
    /// @notice Every aggregate defined so far; masks with other bits are refused.
    uint8 public constant AGGREGATE_ALL = (1 << 4) - 1;
    /// @notice The smallest k a study may declare: an answer over one twin is that twin's data.
    uint32 public constant MIN_COHORT_FLOOR = 2;

    /// @dev The registry is fixed at deployment: the source of truth for twins cannot be swapped.
    ITwinRegistry private immutable _REGISTRY;

    /// @dev Four slots per study: sponsor (160) | purpose (16) | categories (32) | aggregates (8) | status (8) |
    /// minCohort (32) = 256 bits; budget (48, milli-ε) | spent (48) | windowStart (40) | windowEnd (40) | enrolled (32) |
    /// queries (32) = 240 bits; protocolCommitment (256).
    mapping(uint256 studyId => Study) private _studies;
    /// @dev One slot per (study, twin): enrolledAt (64, block number) | withdrawnAt (64, block number; 0 while
    /// enrolled) = 128 bits. A twin is enrolled at block b when `0 < enrolledAt <= b` and not `0 < withdrawnAt <= b`.
    mapping(uint256 studyId => mapping(bytes32 twinId => Enrolment)) private _enrolments;
    /// @dev The last study id handed out; ids start at 1, so id 0 is never a study.
    uint256 private _studyCount;

    /// @dev See `_enrolments`.
    struct Enrolment {
        uint64 enrolledAt;
        uint64 withdrawnAt;
    }

    /// @param registry_ The twin registry whose owners, delegates and statuses decide who may enrol a twin.
    /// @param admin The governance admin (`DEFAULT_ADMIN_ROLE`), who appoints the ethics board and operators.
    constructor(ITwinRegistry registry_, address admin) {
        if (address(registry_) == address(0) || admin == address(0)) revert ZeroRegistry();
        _REGISTRY = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Studies
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IStudyRegistry
    function registerStudy(StudyTerms calldata terms) external returns (uint256 studyId) {
        if (terms.purpose != Purpose.RESEARCH && terms.purpose != Purpose.CLINICAL_TRIAL) {
            revert InvalidPurpose(terms.purpose);
        }
        if (terms.categories == 0 || terms.categories > DataCategory.ALL) revert InvalidCategories(terms.categories);
        if (terms.aggregates == 0 || terms.aggregates > AGGREGATE_ALL) revert InvalidAggregates(terms.aggregates);
        if (terms.minCohort < MIN_COHORT_FLOOR) revert InvalidMinCohort(terms.minCohort, MIN_COHORT_FLOOR);
        if (terms.budget == 0) revert InvalidBudget(terms.budget);
        if (!(terms.windowStart < terms.windowEnd && block.timestamp < terms.windowEnd)) {
            revert InvalidWindow(terms.windowStart, terms.windowEnd);
        }
        if (terms.protocolCommitment == bytes32(0)) revert EmptyCommitment();
        studyId = ++_studyCount;
        _studies[studyId] = Study({
            sponsor: msg.sender,
            purpose: terms.purpose,
            categories: terms.categories,
            aggregates: terms.aggregates,
            status: StudyStatus.Proposed,
            minCohort: terms.minCohort,
            budget: terms.budget,
            spent: 0,
            windowStart: terms.windowStart,
            windowEnd: terms.windowEnd,
            enrolled: 0,
            queries: 0,
            protocolCommitment: terms.protocolCommitment
        });
        emit StudyRegistered(studyId, msg.sender, terms);
    }

    /// @inheritdoc IStudyRegistry
    function reviewStudy(uint256 studyId, bool approve) external onlyRole(ETHICS_BOARD_ROLE) {
        Study storage study = _studies[studyId];
        _requireStatus(studyId, study.status, StudyStatus.Proposed);
        study.status = approve ? StudyStatus.Approved : StudyStatus.Rejected;
        emit StudyReviewed(studyId, msg.sender, approve);
    }

    /// @inheritdoc IStudyRegistry
    function closeStudy(uint256 studyId) external {
        Study storage study = _studies[studyId];
        _requireStatus(studyId, study.status, StudyStatus.Approved);
        if (msg.sender != study.sponsor && !hasRole(ETHICS_BOARD_ROLE, msg.sender)) {
            revert NotSponsor(studyId, msg.sender);
        }
        study.status = StudyStatus.Closed;
        emit StudyClosed(studyId, msg.sender);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Enrolment
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IStudyRegistry
    function enrol(uint256 studyId, bytes32 twinId) external {
        Study storage study = _studies[studyId];
        _requireOpen(studyId, study);
        (TwinStatus status, bool controller) = _REGISTRY.accessContext(twinId, msg.sender);
        if (status != TwinStatus.Active) revert TwinNotActive(twinId, status);
        if (!controller) revert NotTwinController(twinId, msg.sender);
        Enrolment storage enrolment = _enrolments[studyId][twinId];
        if (enrolment.enrolledAt != 0) revert AlreadyEnrolled(studyId, twinId);
        enrolment.enrolledAt = uint64(block.number);
        ++study.enrolled;
        emit TwinEnrolled(studyId, twinId, msg.sender, uint64(block.number));
    }

    /// @inheritdoc IStudyRegistry
    /// @dev No status or window check: the patient can always take part in a study back.
    function withdraw(uint256 studyId, bytes32 twinId) external {
        Enrolment storage enrolment = _enrolments[studyId][twinId];
        if (enrolment.enrolledAt == 0 || enrolment.withdrawnAt != 0) revert NotEnrolled(studyId, twinId);
        (, bool controller) = _REGISTRY.accessContext(twinId, msg.sender);
        if (!controller) revert NotTwinController(twinId, msg.sender);
        enrolment.withdrawnAt = uint64(block.number);
        --_studies[studyId].enrolled;
        emit TwinWithdrawn(studyId, twinId, msg.sender, uint64(block.number));
    }

    // ----------------------------------------------------------------------------------------------------------
    // Answers
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IStudyRegistry
    /// @dev The count is the operator's word, as is the root: an auditor checks both against `isEnrolledAt` and the
    /// twins' anchored state roots at `atBlock`. The chain holds k and ε, which the operator cannot overstep.
    function spendBudget(
        uint256 studyId,
        uint8 aggregate,
        uint48 epsilon,
        uint32 contributors,
        bytes32 contributorsRoot,
        uint64 atBlock
    ) external onlyRole(OPERATOR_ROLE) returns (uint256 queryIndex) {
        Study storage study = _studies[studyId];
        _requireOpen(studyId, study);
        if (aggregate == 0 || aggregate & (aggregate - 1) != 0) revert InvalidAggregates(aggregate);
        if (aggregate & study.aggregates == 0) revert AggregateNotAllowed(studyId, aggregate);
        if (epsilon == 0) revert InvalidBudget(epsilon);
        if (contributors < study.minCohort) revert CohortTooSmall(studyId, contributors, study.minCohort);
        if (contributorsRoot == bytes32(0)) revert EmptyCommitment();
        if (!(atBlock < block.number)) revert BlockNotPast(atBlock, block.number);
        uint48 remaining = study.budget - study.spent;
        if (epsilon > remaining) revert BudgetExhausted(studyId, epsilon, remaining);
        study.spent += epsilon;
        queryIndex = study.queries;
        ++study.queries;
        emit BudgetSpent(
            studyId,
            queryIndex,
            aggregate,
            epsilon,
            remaining - epsilon,
            contributors,
            contributorsRoot,
            atBlock
        );
    }

    // ----------------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IStudyRegistry
    function studyOf(uint256 studyId) external view returns (Study memory) {
        return _studies[studyId];
    }

    /// @inheritdoc IStudyRegistry
    function remainingBudget(uint256 studyId) external view returns (uint48) {
        Study storage study = _studies[studyId];
        return study.budget - study.spent;
    }

    /// @inheritdoc IStudyRegistry
    function isEnrolled(uint256 studyId, bytes32 twinId) external view returns (bool) {
        Enrolment storage enrolment = _enrolments[studyId][twinId];
        return enrolment.enrolledAt != 0 && enrolment.withdrawnAt == 0;
    }

    /// @inheritdoc IStudyRegistry
    function isEnrolledAt(uint256 studyId, bytes32 twinId, uint256 blockNumber) external view returns (bool) {
        Enrolment storage enrolment = _enrolments[studyId][twinId];
        uint64 enrolledAt = enrolment.enrolledAt;
        uint64 withdrawnAt = enrolment.withdrawnAt;
        return enrolledAt != 0 && !(blockNumber < enrolledAt) && (withdrawnAt == 0 || blockNumber < withdrawnAt);
    }

    /// @inheritdoc IStudyRegistry
    function enrolmentOf(uint256 studyId, bytes32 twinId) external view returns (uint64, uint64) {
        Enrolment storage enrolment = _enrolments[studyId][twinId];
        return (enrolment.enrolledAt, enrolment.withdrawnAt);
    }

    /// @inheritdoc IStudyRegistry
    function studyCount() external view returns (uint256) {
        return _studyCount;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------------------

    /// @dev Reverts unless the study is in `expected` status: `UnknownStudy` for an unknown id, else
    /// `InvalidStudyStatus`.
    function _requireStatus(uint256 studyId, StudyStatus status, StudyStatus expected) private pure {
        if (status == StudyStatus.None) revert UnknownStudy(studyId);
        if (status != expected) revert InvalidStudyStatus(studyId, status);
    }

    /// @dev Reverts unless the study is approved and now is within its window.
    function _requireOpen(uint256 studyId, Study storage study) private view {
        _requireStatus(studyId, study.status, StudyStatus.Approved);
        if (block.timestamp < study.windowStart || !(block.timestamp < study.windowEnd)) {
            revert OutsideWindow(studyId, block.timestamp);
        }
    }
}
