// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CheatCodes} from "./Vm.sol";

/// @title InvariantTest
/// @notice What forge reads from an invariant test contract, without forge-std: forge calls `targetContracts()`,
/// `targetSelectors()` and `targetSenders()` on the test contract after `setUp()` and fuzzes only those (it matches
/// the functions by name and ABI return type, so these structs need only the same layout as forge-std's).
abstract contract InvariantTest is CheatCodes {
    /// @notice A contract and the functions of it that the fuzzer may call (forge-std's `StdInvariant.FuzzSelector`).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;
    address[] private _targetedSenders;

    /// @dev Makes `target` a contract the fuzzer calls.
    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    /// @dev Restricts the fuzzer to these functions of `selector.addr`.
    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    /// @dev Makes `sender` one of the `msg.sender`s of fuzzed calls (handlers pick their own actors anyway).
    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    /// @notice Read by forge: the contracts to fuzz.
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    /// @notice Read by forge: the functions to fuzz.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    /// @notice Read by forge: the senders of fuzzed calls.
    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    /// @dev Fails the invariant (a revert in an `invariant_*` function is a failure) with a message.
    function check(bool condition, string memory message) internal pure {
        if (!condition) revert(message);
    }
}
