// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CheatCodes} from "../utils/Vm.sol";
import {Actors} from "../base/Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {TwinStatus} from "../../../contracts/Common.sol";

/// @title HandlerBase
/// @notice What every handler shares: the cast, the model, picking a twin slot and an actor from fuzzed seeds, and
/// reporting each call's outcome to the model (which counts every call that succeeded where the model refuses, or
/// reverted where the model allows: `invariant_everyCallMatchesTheModel`).
abstract contract HandlerBase is CheatCodes {
    Actors public immutable actors;
    LedgerModel public immutable model;

    constructor(Actors actors_, LedgerModel model_) {
        actors = actors_;
        model = model_;
    }

    /// @dev A twin slot from a seed.
    function _slot(uint256 seed) internal pure returns (uint256) {
        return seed % 3;
    }

    /// @dev The actor of a call on twin `slot`: half the time someone entitled (the owner, or a would-be delegate),
    /// otherwise anyone, strangers and governance included.
    function _caller(uint256 slot, uint256 seed) internal view returns (address) {
        if (seed % 4 == 0) return model.ownerOf(slot) == address(0) ? actors.any(seed >> 2) : model.ownerOf(slot);
        if (seed % 4 == 1) return actors.successor(seed >> 2);
        return actors.any(seed >> 2);
    }

    /// @dev The twin id of a slot: the created twin's, or the id a creation would use (v1: chosen by the caller).
    function _id(uint256 slot) internal view returns (bytes32) {
        return model.created(slot) ? model.twinId(slot) : keccak256(abi.encode("twin", slot));
    }

    function _active(uint256 slot) internal view returns (bool) {
        return model.created(slot) && model.statusOf(slot) == TwinStatus.Active;
    }

    /// @dev Exists and not erased.
    function _live(uint256 slot) internal view returns (bool) {
        return model.created(slot) && model.statusOf(slot) != TwinStatus.Erased;
    }

    function _report(bool ok, bool expected, string memory what) internal {
        model.outcome(ok, expected, what);
    }
}
