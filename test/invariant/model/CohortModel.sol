// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IStudyRegistry} from "../../../contracts/interfaces/IStudyRegistry.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";

/// @title CohortModel
/// @notice The ghost state of the StudyRegistry and DeviceRegistry suite, beside LedgerModel (which keeps the twins,
/// their controllers, custodians and sources, and counts every call's outcome): studies with their status, window, k
/// and ε spent; each (study, twin slot)'s enrolment blocks; the study and manufacturer roles; each device's
/// manufacturer, commitments and flag. Kept by the handlers after every call that succeeded.
/// @dev `breachesOf(rule)` counts successful calls that broke a named rule, judged at the time of the call (who was
/// a controller, a custodian; whether the study was open): the invariants of the same name read them.
contract CohortModel {
    /// @notice Studies the handlers register at most (the invariants loop over them all).
    uint256 public constant MAX_STUDIES = 4;

    /// @notice Accounts of this suite beyond the Actors cast (no keys: they only send): the ethics board and two
    /// device manufacturers.
    address public constant BOARD = address(uint160(uint256(keccak256("invariant: ethics board"))));
    address public constant MAKER_A = address(uint160(uint256(keccak256("invariant: manufacturer A"))));
    address public constant MAKER_B = address(uint160(uint256(keccak256("invariant: manufacturer B"))));

    /// @dev The rules `breachesOf` counts.
    string public constant OVERSPEND = "epsilon spent beyond the budget";
    string public constant ANSWER_NOT_OPEN = "an answer recorded while the study was not approved and open";
    string public constant ENROLMENT_BY_OTHER = "an enrolment by someone other than the owner or a delegate";
    string public constant ENROLMENT_AFTER_WITHDRAWAL = "a withdrawn twin enrolled again";
    string public constant FLAG_BY_OTHER = "a flag by someone other than the manufacturer or a custodian";
    string public constant FLAG_TAKEN_OVER = "a flag replaced by someone other than its flagger";
    string public constant CLEAR_BY_OTHER = "a flag cleared by someone other than its flagger or governance";
    string public constant MANUFACTURER_WITHOUT_ROLE = "a device updated or flagged by a withdrawn manufacturer";

    struct Enrolment {
        uint64 enrolledAt;
        uint64 withdrawnAt;
    }

    /// @dev The contracts' own structs: the model keeps the fields the handlers drive (sponsor, status, aggregates,
    /// k, budget, spent, window, enrolled, answers; a device's every field), the others stay zero.
    IStudyRegistry.Study[] internal _studies; // index = studyId - 1
    mapping(uint256 studyId => mapping(uint256 slot => Enrolment)) internal _enrolments;
    mapping(address device => IDeviceRegistry.Device) internal _devices;
    mapping(address account => bool) public isBoard;
    mapping(address account => bool) public isOperator;
    mapping(address account => bool) public isManufacturer;
    mapping(string rule => uint256) public breachesOf;

    // ------------------------------------------------------------------------------------------------------------
    // Writes (handlers only)
    // ------------------------------------------------------------------------------------------------------------

    function breach(string memory rule) external {
        ++breachesOf[rule];
    }

    function setStudyRole(bool operator, address account, bool has) external {
        if (operator) isOperator[account] = has;
        else isBoard[account] = has;
    }

    function setManufacturer(address account, bool has) external {
        isManufacturer[account] = has;
    }

    function addStudy(IStudyRegistry.Study calldata s) external returns (uint256 studyId) {
        _studies.push(s);
        return _studies.length;
    }

    function setStatus(uint256 studyId, IStudyRegistry.StudyStatus status) external {
        _studies[studyId - 1].status = status;
    }

    function spend(uint256 studyId, uint48 epsilon) external {
        _studies[studyId - 1].spent += epsilon;
        ++_studies[studyId - 1].queries;
    }

    function enrol(uint256 studyId, uint256 slot) external {
        _enrolments[studyId][slot].enrolledAt = uint64(block.number);
        ++_studies[studyId - 1].enrolled;
    }

    function withdraw(uint256 studyId, uint256 slot) external {
        _enrolments[studyId][slot].withdrawnAt = uint64(block.number);
        --_studies[studyId - 1].enrolled;
    }

    function registerDevice(address device, address manufacturer, bytes32[3] calldata commitments) external {
        IDeviceRegistry.Device storage d = _devices[device];
        d.manufacturer = manufacturer;
        (d.modelCommitment, d.firmwareCommitment, d.calibrationCommitment) = (
            commitments[0],
            commitments[1],
            commitments[2]
        );
    }

    function updateDevice(address device, bytes32 firmwareCommitment, bytes32 calibrationCommitment) external {
        (_devices[device].firmwareCommitment, _devices[device].calibrationCommitment) = (
            firmwareCommitment,
            calibrationCommitment
        );
    }

    /// @notice A flag (a later one replaces the earlier reason, time and flagger) or, with `None`, a clearing.
    function setFlag(address device, IDeviceRegistry.FlagReason reason, address by) external {
        IDeviceRegistry.Device storage d = _devices[device];
        d.flag = reason;
        d.flaggedAt = reason == IDeviceRegistry.FlagReason.None ? 0 : uint40(block.timestamp);
        d.flaggedBy = by;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reads
    // ------------------------------------------------------------------------------------------------------------

    function studyCount() external view returns (uint256) {
        return _studies.length;
    }

    /// @notice The study (all zero, status `None`, for an id not handed out).
    function studyOf(uint256 studyId) public view returns (IStudyRegistry.Study memory s) {
        if (studyId != 0 && studyId <= _studies.length) s = _studies[studyId - 1];
    }

    /// @notice Approved, and now within its window: enrolments and answers are allowed.
    function isOpen(uint256 studyId) external view returns (bool) {
        IStudyRegistry.Study memory s = studyOf(studyId);
        return
            s.status == IStudyRegistry.StudyStatus.Approved &&
            s.windowStart <= block.timestamp &&
            block.timestamp < s.windowEnd;
    }

    function enrolmentOf(uint256 studyId, uint256 slot) external view returns (Enrolment memory) {
        return _enrolments[studyId][slot];
    }

    /// @notice Enrolled now: enrolled and not withdrawn.
    function isEnrolled(uint256 studyId, uint256 slot) external view returns (bool) {
        Enrolment memory e = _enrolments[studyId][slot];
        return e.enrolledAt != 0 && e.withdrawnAt == 0;
    }

    /// @notice Enrolled at `blockNumber`: from the block of the enrolment, until (not at) the block of the withdrawal.
    function wasEnrolledAt(uint256 studyId, uint256 slot, uint256 blockNumber) external view returns (bool) {
        Enrolment memory e = _enrolments[studyId][slot];
        return e.enrolledAt != 0 && e.enrolledAt <= blockNumber && (e.withdrawnAt == 0 || blockNumber < e.withdrawnAt);
    }

    function deviceOf(address device) external view returns (IDeviceRegistry.Device memory) {
        return _devices[device];
    }
}
