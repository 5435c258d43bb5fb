// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {InvariantTest} from "../utils/InvariantTest.sol";
import {Actors} from "./Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {RegistryHandler} from "../handlers/RegistryHandler.sol";
import {TwinRegistry} from "../../../contracts/TwinRegistry.sol";

/// @title LedgerSuite
/// @notice What the invariant suites share: the cast, the model and a TwinRegistry with governance and two accredited
/// custodians, its handler and the selectors it fuzzes, the twin id of a slot and the end-of-run check.
abstract contract LedgerSuite is InvariantTest {
    Actors internal actors;
    LedgerModel internal model;
    TwinRegistry internal registry;
    RegistryHandler internal registryHandler;

    /// @dev At 1,750,000,000 s: the cast, the model and the registry (admin delay a day), governance holding the
    /// default admin and GOVERNANCE_ROLE, custodians A and B accredited (in the model too). The handler comes after
    /// the suite's other contracts (`_registryHandler`).
    function _deployRegistry() internal returns (address governance) {
        vm.warp(1_750_000_000);
        actors = new Actors();
        model = new LedgerModel();
        governance = actors.at(actors.GOVERNANCE());
        registry = new TwinRegistry(1 days, governance);
        vm.startPrank(governance);
        registry.grantRole(registry.GOVERNANCE_ROLE(), governance);
        registry.grantRole(registry.CUSTODIAN_ROLE(), actors.at(actors.CUSTODIAN_A()));
        registry.grantRole(registry.CUSTODIAN_ROLE(), actors.at(actors.CUSTODIAN_B()));
        vm.stopPrank();
        model.setRole(true, actors.at(actors.CUSTODIAN_A()), true);
        model.setRole(true, actors.at(actors.CUSTODIAN_B()), true);
    }

    /// @dev Targets the registry handler's functions: all of them, or (`timeAndRoles` false) all but `passTime`,
    /// `eraseTwin` and `setRole`.
    function _targetRegistryHandler(bool timeAndRoles) internal {
        bytes4[13] memory all = [
            RegistryHandler.passTime.selector,
            RegistryHandler.createTwin.selector,
            RegistryHandler.changeCustodian.selector,
            RegistryHandler.authorizeSource.selector,
            RegistryHandler.removeSource.selector,
            RegistryHandler.appointDelegate.selector,
            RegistryHandler.removeDelegate.selector,
            RegistryHandler.transferOwnership.selector,
            RegistryHandler.acceptOwnership.selector,
            RegistryHandler.suspendTwin.selector,
            RegistryHandler.resumeTwin.selector,
            RegistryHandler.eraseTwin.selector,
            RegistryHandler.setRole.selector
        ];
        bytes4[] memory selectors = new bytes4[](timeAndRoles ? 13 : 10);
        uint256 n;
        for (uint256 i; i < 13; ++i) {
            bool optional = i == 0 || i >= 11;
            if (timeAndRoles || !optional) selectors[n++] = all[i];
        }
        targetSelector(FuzzSelector(address(registryHandler), selectors));
    }

    /// @notice Not an invariant: the campaign made calls.
    function afterInvariant() external view {
        check(model.calls() > 0, "no handler call was made");
    }

    /// @dev As HandlerBase._id: the created twin's id, or the one patient A would create the slot under.
    function _id(uint256 slot) internal view returns (bytes32) {
        return
            model.created(slot)
                ? model.twinId(slot)
                : keccak256(abi.encode(actors.at(actors.PATIENT_A()), keccak256(abi.encode("twin", slot))));
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b;
        while (v != 0) {
            b = bytes.concat(bytes1(uint8(48 + (v % 10))), b);
            v /= 10;
        }
        return string(b);
    }
}
