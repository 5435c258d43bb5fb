// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title MockRegistryAnswers
/// @notice Test-only stand-in for the twin registry that answers each view with bytes set in advance, of any length,
/// or reverts: shows that ConsentPolicy accepts only answers of the exact size and fails closed otherwise.
/// @dev The fallback returns its `bytes` raw (not ABI-encoded), so an answer can be shorter or longer than the view's.
contract MockRegistryAnswers {
    /// @notice The registry "failed" on `selector` (set with `setReverts`).
    error MockRegistryReverted(bytes4 selector);

    /// @dev The raw answer per view selector (empty until set).
    mapping(bytes4 selector => bytes answer) private _answers;
    /// @dev The views that revert.
    mapping(bytes4 selector => bool) private _reverts;

    /// @notice Answers `selector` with exactly `answer`, whatever the arguments.
    /// @param selector The view's selector.
    /// @param answer The raw bytes to return.
    function setAnswer(bytes4 selector, bytes calldata answer) external {
        _answers[selector] = answer;
    }

    /// @notice Makes `selector` revert with `MockRegistryReverted(selector)`, or answer again.
    /// @param selector The view's selector.
    /// @param reverts Whether it reverts.
    function setReverts(bytes4 selector, bool reverts) external {
        _reverts[selector] = reverts;
    }

    /// @notice Answers any view with what was set for its selector.
    /// @param input The calldata: a selector and arguments.
    /// @return The raw answer.
    // solhint-disable-next-line no-complex-fallback
    fallback(bytes calldata input) external returns (bytes memory) {
        bytes4 selector = bytes4(input);
        if (_reverts[selector]) revert MockRegistryReverted(selector);
        return _answers[selector];
    }
}
