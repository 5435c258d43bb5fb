// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Vm
/// @notice The few forge cheatcodes the invariant suites use (forge-std is not installed: this is its `Vm` cut
/// down). The cheatcode contract lives at `address(uint160(uint256(keccak256("hevm cheat code"))))`.
interface Vm {
    /// @notice Sets `block.timestamp`.
    function warp(uint256 newTimestamp) external;

    /// @notice Sets `block.number`.
    function roll(uint256 newHeight) external;

    /// @notice The next call (only) is made from `msgSender`.
    function prank(address msgSender) external;

    /// @notice Every call until `stopPrank` is made from `msgSender`.
    function startPrank(address msgSender) external;

    /// @notice Ends `startPrank`.
    function stopPrank() external;

    /// @notice Discards the current fuzz input when `condition` is false.
    function assume(bool condition) external pure;

    /// @notice Names an address in traces.
    function label(address account, string calldata newLabel) external;

    /// @notice The address of a private key.
    function addr(uint256 privateKey) external pure returns (address keyAddr);

    /// @notice Signs `digest` with `privateKey` (secp256k1).
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    /// @notice The next call must revert with exactly `revertData`.
    function expectRevert(bytes calldata revertData) external;

    /// @notice Takes a snapshot of the whole state; returns its id.
    function snapshotState() external returns (uint256 snapshotId);

    /// @notice Returns to a snapshot (and keeps it).
    function revertToState(uint256 snapshotId) external returns (bool success);
}

/// @notice The cheatcode address and a few assertion helpers shared by the suites.
abstract contract CheatCodes {
    /// @dev forge's cheatcode address.
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Bounds `x` into `[min, max]` without discarding the input (forge-std's `bound`, simplified: modulo).
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (max <= min) return min;
        unchecked {
            return min + (x % (max - min + 1));
        }
    }
}
