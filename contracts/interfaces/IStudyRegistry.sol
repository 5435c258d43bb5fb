// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TwinStatus} from "../Common.sol";

/// @title IStudyRegistry
/// @notice Consented cohort studies across twins (decentralized trials): a sponsor registers a study, an ethics board
/// approves it, twins' controllers enrol and withdraw, and the gateway's operator records the privacy budget (ε) each
/// differentially private answer spends, with a commitment to the twins that contributed to it.
/// @dev Nothing here is health data: a study is a sponsor, masks, numbers and a salted commitment of its protocol; an
/// enrolment is a pair of block numbers. Privacy budgets are in milli-ε (ε = 1.0 is 1000).
///
/// Enrolment history: `isEnrolledAt(studyId, twinId, blockNumber)` answers for any past block, so an auditor can check
/// a contributor commitment against the block it names. A twin is enrolled from the block of its enrolment and no
/// longer from the block of its withdrawal (a query asked at that block or later leaves it out). A withdrawal is final
/// for that study: a twin cannot enrol again in it (one enrolment interval per pair keeps the history one slot).
interface IStudyRegistry {
    /// @notice Where a study stands. `None` is the zero value of an unknown study.
    enum StudyStatus {
        None,
        Proposed,
        Approved,
        Rejected,
        Closed
    }

    /// @notice A study's terms and state, as `studyOf` returns them.
    /// @param sponsor Who registered it (and may close it).
    /// @param purpose The purpose of use, `Purpose.RESEARCH` or `Purpose.CLINICAL_TRIAL`.
    /// @param categories DataCategory bits the study may aggregate.
    /// @param aggregates Aggregate bits (see the AGGREGATE_* constants) the study may ask for.
    /// @param status Where the study stands.
    /// @param minCohort k: no answer over fewer contributors.
    /// @param budget Total privacy budget, milli-ε.
    /// @param spent Privacy budget spent so far, milli-ε.
    /// @param windowStart First timestamp at which the study may enrol and query.
    /// @param windowEnd First timestamp at which it no longer may.
    /// @param enrolled Twins enrolled now (enrolments minus withdrawals).
    /// @param queries Answers recorded so far.
    /// @param protocolCommitment Salted commitment of the study protocol (src/chain/commitments.ts).
    // Four slots (see StudyRegistry's `_studies`); the linter misjudges the enum's width.
    // solhint-disable-next-line gas-struct-packing
    struct Study {
        address sponsor;
        uint16 purpose;
        uint32 categories;
        uint8 aggregates;
        StudyStatus status;
        uint32 minCohort;
        uint48 budget;
        uint48 spent;
        uint40 windowStart;
        uint40 windowEnd;
        uint32 enrolled;
        uint32 queries;
        bytes32 protocolCommitment;
    }

    /// @notice The terms a sponsor registers a study with (see `Study` for each field).
    struct StudyTerms {
        uint16 purpose;
        uint32 categories;
        uint8 aggregates;
        uint32 minCohort;
        uint48 budget;
        uint40 windowStart;
        uint40 windowEnd;
        bytes32 protocolCommitment;
    }

    /// @notice Emitted when a sponsor registers a study.
    event StudyRegistered(uint256 indexed studyId, address indexed sponsor, StudyTerms terms);
    /// @notice Emitted when the ethics board approves (`approved`) or rejects a proposed study.
    // solhint-disable-next-line gas-indexed-events
    event StudyReviewed(uint256 indexed studyId, address indexed board, bool approved);
    /// @notice Emitted when the sponsor or the ethics board closes an approved study.
    event StudyClosed(uint256 indexed studyId, address indexed by);
    /// @notice Emitted when a twin's controller enrols the twin.
    event TwinEnrolled(uint256 indexed studyId, bytes32 indexed twinId, address indexed by, uint64 blockNumber);
    /// @notice Emitted when a twin's controller withdraws the twin; it is no longer enrolled from `blockNumber`.
    event TwinWithdrawn(uint256 indexed studyId, bytes32 indexed twinId, address indexed by, uint64 blockNumber);
    /// @notice Emitted when the operator records an answer: the ε it spent and the contributors it was computed over.
    /// @param queryIndex The answer's number in the study, from 0.
    /// @param aggregate The aggregate bit answered.
    /// @param epsilon milli-ε spent.
    /// @param remaining milli-ε left after it.
    /// @param contributors How many twins contributed.
    /// @param contributorsRoot Merkle root of the contributors' (twin id, state root at `atBlock`) leaves.
    /// @param atBlock The block the answer was computed at.
    // solhint-disable-next-line gas-indexed-events
    event BudgetSpent(
        uint256 indexed studyId,
        uint256 indexed queryIndex,
        uint8 aggregate,
        uint48 epsilon,
        uint48 remaining,
        uint32 contributors,
        bytes32 contributorsRoot,
        uint64 atBlock
    );

    /// @notice The registry given at deployment was the zero address.
    error ZeroRegistry();
    /// @notice No study has this id.
    error UnknownStudy(uint256 studyId);
    /// @notice The purpose is not exactly `Purpose.RESEARCH` or `Purpose.CLINICAL_TRIAL`.
    error InvalidPurpose(uint16 purpose);
    /// @notice The category mask is empty or has undefined bits.
    error InvalidCategories(uint32 categories);
    /// @notice The aggregate mask is empty or has undefined bits (or, when answering, is not exactly one bit).
    error InvalidAggregates(uint8 aggregates);
    /// @notice k must be at least `MIN_COHORT_FLOOR`.
    error InvalidMinCohort(uint32 minCohort, uint32 floor);
    /// @notice A privacy budget or an ε spent must be positive.
    error InvalidBudget(uint48 budget);
    /// @notice The window must end after it starts, and after now.
    error InvalidWindow(uint40 windowStart, uint40 windowEnd);
    /// @notice The protocol commitment or the contributors root is zero.
    error EmptyCommitment();
    /// @notice The study is not in the status the operation needs.
    error InvalidStudyStatus(uint256 studyId, StudyStatus status);
    /// @notice The caller may not close the study: neither its sponsor nor the ethics board.
    error NotSponsor(uint256 studyId, address account);
    /// @notice The timestamp is outside the study's window.
    error OutsideWindow(uint256 studyId, uint256 timestamp);
    /// @notice The twin is not active (enrolment needs an active twin).
    error TwinNotActive(bytes32 twinId, TwinStatus status);
    /// @notice The caller is neither the twin's owner nor one of its delegates.
    error NotTwinController(bytes32 twinId, address account);
    /// @notice The twin is enrolled in the study already, or was and withdrew (a withdrawal is final).
    error AlreadyEnrolled(uint256 studyId, bytes32 twinId);
    /// @notice The twin is not enrolled in the study now.
    error NotEnrolled(uint256 studyId, bytes32 twinId);
    /// @notice The study may not ask for this aggregate.
    error AggregateNotAllowed(uint256 studyId, uint8 aggregate);
    /// @notice Fewer contributors than the study's k.
    error CohortTooSmall(uint256 studyId, uint32 contributors, uint32 minCohort);
    /// @notice The answer would spend more ε than the study has left.
    error BudgetExhausted(uint256 studyId, uint48 requested, uint48 remaining);
    /// @notice An answer must name a block already mined.
    error BlockNotPast(uint64 atBlock, uint256 currentBlock);

    /// @notice Registers a study, `Proposed` until the ethics board reviews it. Anyone may sponsor.
    /// @param terms The study's terms; `windowEnd > max(windowStart, now)`, k at least `MIN_COHORT_FLOOR`, a positive
    /// budget, a non-zero protocol commitment, masks non-empty within the defined bits.
    /// @return studyId The new study's id (from 1).
    function registerStudy(StudyTerms calldata terms) external returns (uint256 studyId);

    /// @notice Approves (enrolment opens) or rejects a proposed study. `ETHICS_BOARD_ROLE` only.
    function reviewStudy(uint256 studyId, bool approve) external;

    /// @notice Closes an approved study: no more enrolments or answers; withdrawals stay open. Its sponsor or the
    /// ethics board.
    function closeStudy(uint256 studyId) external;

    /// @notice Enrols a twin in an approved study, within its window. The twin's owner or a delegate, on an active twin.
    function enrol(uint256 studyId, bytes32 twinId) external;

    /// @notice Withdraws an enrolled twin, whatever the study's status: it is left out of every answer computed at this
    /// block or later. The twin's owner or a delegate (any twin status but erased, which has no controller).
    function withdraw(uint256 studyId, bytes32 twinId) external;

    /// @notice Records an answer of the gateway: the ε it spent, refused once the budget is gone, and the commitment of
    /// its contributors. `OPERATOR_ROLE` only; the study approved and within its window.
    /// @param aggregate One AGGREGATE_* bit, among the study's allowed aggregates.
    /// @param epsilon milli-ε spent; positive, at most what is left.
    /// @param contributors How many twins contributed; at least k.
    /// @param contributorsRoot Merkle root of the contributors' (twin id, state root at `atBlock`) leaves; non-zero.
    /// @param atBlock The block the answer was computed at; already mined.
    /// @return queryIndex The answer's number in the study.
    function spendBudget(
        uint256 studyId,
        uint8 aggregate,
        uint48 epsilon,
        uint32 contributors,
        bytes32 contributorsRoot,
        uint64 atBlock
    ) external returns (uint256 queryIndex);

    /// @notice The study's terms and state (all zero, status `None`, for an unknown id).
    function studyOf(uint256 studyId) external view returns (Study memory);

    /// @notice milli-ε the study has left (zero for an unknown id).
    function remainingBudget(uint256 studyId) external view returns (uint48);

    /// @notice Whether the twin is enrolled in the study now.
    function isEnrolled(uint256 studyId, bytes32 twinId) external view returns (bool);

    /// @notice Whether the twin was enrolled in the study at `blockNumber` (enrolled at or before it, and not
    /// withdrawn at or before it).
    function isEnrolledAt(uint256 studyId, bytes32 twinId, uint256 blockNumber) external view returns (bool);

    /// @notice The blocks of the twin's enrolment in the study and of its withdrawal (zero if none).
    function enrolmentOf(uint256 studyId, bytes32 twinId) external view returns (uint64 enrolledAt, uint64 withdrawnAt);

    /// @notice How many studies were registered; ids run from 1 to this.
    function studyCount() external view returns (uint256);
}
