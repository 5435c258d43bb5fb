// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CheatCodes} from "../utils/Vm.sol";

/// @title Actors
/// @notice The fixed cast of the invariant suites: one address (with its private key, for EIP-712 signatures) per
/// role a real deployment has. Handlers pick actors by index from a fuzzed seed, so every action is also tried by
/// everyone who should not be able to do it.
contract Actors is CheatCodes {
    uint256 public constant COUNT = 14;

    uint256 public constant GOVERNANCE = 0; // default admin and GOVERNANCE_ROLE: accredits, never a controller
    uint256 public constant PATIENT_A = 1;
    uint256 public constant PATIENT_B = 2;
    uint256 public constant GUARDIAN_A = 3;
    uint256 public constant GUARDIAN_B = 4;
    uint256 public constant CUSTODIAN_A = 5; // hospitals
    uint256 public constant CUSTODIAN_B = 6;
    uint256 public constant SOURCE_EMR = 7; // data sources
    uint256 public constant SOURCE_DEVICE = 8;
    uint256 public constant RESPONDER_A = 9; // emergency staff
    uint256 public constant RESPONDER_B = 10;
    uint256 public constant CLINICIAN = 11; // grantees
    uint256 public constant RESEARCHER = 12;
    uint256 public constant STRANGER = 13; // never appointed, granted or accredited: the attacker

    address[COUNT] private _accounts;

    constructor() {
        string[COUNT] memory names = [
            "governance",
            "patientA",
            "patientB",
            "guardianA",
            "guardianB",
            "custodianA",
            "custodianB",
            "sourceEmr",
            "sourceDevice",
            "responderA",
            "responderB",
            "clinician",
            "researcher",
            "stranger"
        ];
        for (uint256 i; i < COUNT; ++i) {
            _accounts[i] = vm.addr(keyOf(i));
            vm.label(_accounts[i], names[i]);
        }
    }

    /// @notice The private key of actor `i` (test keys, never used anywhere else).
    function keyOf(uint256 i) public pure returns (uint256) {
        return 0xA11CE000 + i;
    }

    /// @notice The address of actor `i`.
    function at(uint256 i) public view returns (address) {
        return _accounts[i];
    }

    /// @notice Any actor, from a fuzzed seed.
    function any(uint256 seed) public view returns (address) {
        return _accounts[seed % COUNT];
    }

    /// @notice Index of an actor's address, or COUNT if it is not one.
    function indexOf(address account) public view returns (uint256) {
        for (uint256 i; i < COUNT; ++i) if (_accounts[i] == account) return i;
        return COUNT;
    }

    /// @notice Who may create a twin: the patients.
    function patient(uint256 seed) public view returns (address) {
        return _accounts[seed % 2 == 0 ? PATIENT_A : PATIENT_B];
    }

    /// @notice Who the fuzzer may appoint as delegate or name as new owner (never governance or the stranger).
    function successor(uint256 seed) public view returns (address) {
        uint256[5] memory pick = [GUARDIAN_A, GUARDIAN_B, PATIENT_A, PATIENT_B, CLINICIAN];
        return _accounts[pick[seed % 5]];
    }

    /// @notice Who the fuzzer may grant to (never governance or the stranger).
    function grantee(uint256 seed) public view returns (address) {
        uint256[5] memory pick = [CLINICIAN, RESEARCHER, RESPONDER_A, GUARDIAN_B, CUSTODIAN_A];
        return _accounts[pick[seed % 5]];
    }

    /// @notice Who the fuzzer may authorize as a data source.
    function source(uint256 seed) public view returns (address) {
        uint256[3] memory pick = [SOURCE_EMR, SOURCE_DEVICE, CUSTODIAN_A];
        return _accounts[pick[seed % 3]];
    }

    /// @notice Custodians (accredited or not, depending on governance's latest move).
    function custodian(uint256 seed) public view returns (address) {
        return _accounts[seed % 2 == 0 ? CUSTODIAN_A : CUSTODIAN_B];
    }

    /// @notice Who governance may accredit as a responder: the responders, and itself (see THREAT-MODEL.md).
    function responderCandidate(uint256 seed) public view returns (address) {
        uint256[3] memory pick = [RESPONDER_A, RESPONDER_B, GOVERNANCE];
        return _accounts[pick[seed % 3]];
    }
}
