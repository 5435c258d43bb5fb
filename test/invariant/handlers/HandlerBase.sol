// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
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

    /// @dev The actor of a call on twin `slot`: half the time the owner, a quarter a would-be delegate, otherwise
    /// anyone, strangers and governance included (v2's rules need a controller's act followed by another's).
    function _caller(uint256 slot, uint256 seed) internal view returns (address) {
        if (seed % 4 == 0 || seed % 4 == 2)
            return model.ownerOf(slot) == address(0) ? actors.any(seed >> 2) : model.ownerOf(slot);
        if (seed % 4 == 1) return actors.successor(seed >> 2);
        return actors.any(seed >> 2);
    }

    /// @dev The salt a patient creates twin `slot` with.
    function _salt(uint256 slot) internal pure returns (bytes32) {
        return keccak256(abi.encode("twin", slot));
    }

    /// @dev The twin id of a slot: the created twin's, or the id patient A would create it under (v2: derived on
    /// chain, `twinIdOf(patient, salt) = keccak256(abi.encode(patient, salt))`).
    function _id(uint256 slot) internal view returns (bytes32) {
        return
            model.created(slot)
                ? model.twinId(slot)
                : keccak256(abi.encode(actors.at(actors.PATIENT_A()), _salt(slot)));
    }

    function _active(uint256 slot) internal view returns (bool) {
        return model.created(slot) && model.statusOf(slot) == TwinStatus.Active;
    }

    /// @dev Exists and not erased.
    function _live(uint256 slot) internal view returns (bool) {
        return model.created(slot) && model.statusOf(slot) != TwinStatus.Erased;
    }

    /// @dev `actor` grants (`grantIt`) or revokes `account`'s `role` on `target`; whether the call went through.
    function _changeRole(
        IAccessControl target,
        address actor,
        bytes32 role,
        address account,
        bool grantIt
    ) internal returns (bool ok) {
        vm.prank(actor);
        if (grantIt) {
            try target.grantRole(role, account) {
                ok = true;
            } catch {}
        } else {
            try target.revokeRole(role, account) {
                ok = true;
            } catch {}
        }
    }

    function _report(bool ok, bool expected, string memory what) internal {
        model.outcome(ok, expected, what);
    }

    /// @dev Records a contradiction that is not a call's outcome (a returned value that differs from the model's).
    function _contradiction(string memory what) internal {
        model.violation(what);
    }
}
