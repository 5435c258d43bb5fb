// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TwinRegistry} from "../TwinRegistry.sol";
import {ITwinRegistry} from "../interfaces/ITwinRegistry.sol";
import {TwinStatus} from "../Common.sol";

/// @title TwinRegistryLens
/// @notice Test-only: everything the registry's views say about some twins and accounts, in one call.
/// @dev The tests compare a snapshot before and after a reverted call to show that nothing changed; one
/// `eth_call` instead of hundreds keeps the suite fast.
contract TwinRegistryLens {
    bytes32 private constant _GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    bytes32 private constant _DEFAULT_ADMIN_ROLE = 0x00;

    /// @notice The registry's view of `twinIds`, of `accounts` on them, of `holders`' roles and nonces and of the
    /// default admin and its pending handover, ABI-encoded.
    /// @param registry The registry.
    /// @param twinIds The twins.
    /// @param accounts The accounts as controllers, delegates and sources of the twins.
    /// @param holders The accounts as role holders and signers.
    /// @return state The concatenated view results.
    function snapshot(
        TwinRegistry registry,
        bytes32[] calldata twinIds,
        address[] calldata accounts,
        address[] calldata holders
    ) external view returns (bytes memory state) {
        state = _admin(registry);
        for (uint256 i = 0; i < twinIds.length; ++i) {
            bytes32 id = twinIds[i];
            state = bytes.concat(state, _twin(registry, id));
            for (uint256 j = 0; j < accounts.length; ++j) {
                state = bytes.concat(state, _accountOnTwin(registry, id, accounts[j]));
            }
        }
        for (uint256 j = 0; j < holders.length; ++j) {
            address a = holders[j];
            state = bytes.concat(
                state,
                abi.encode(
                    registry.isCustodian(a),
                    registry.isEmergencyResponder(a),
                    registry.hasRole(_GOVERNANCE_ROLE, a),
                    registry.hasRole(_DEFAULT_ADMIN_ROLE, a),
                    registry.nonces(a)
                )
            );
        }
    }

    function _admin(TwinRegistry registry) private view returns (bytes memory) {
        (address pendingAdmin, uint48 adminSchedule) = registry.pendingDefaultAdmin();
        return abi.encode(registry.defaultAdmin(), pendingAdmin, adminSchedule, registry.defaultAdminDelay());
    }

    function _twin(TwinRegistry registry, bytes32 id) private view returns (bytes memory) {
        (address pendingOwner, address startedBy) = registry.pendingTransferOf(id);
        return
            abi.encode(
                registry.ownerOf(id),
                registry.statusOf(id),
                registry.custodianOf(id),
                registry.metadataOf(id),
                registry.pendingOwnerOf(id),
                pendingOwner,
                startedBy
            );
    }

    function _accountOnTwin(TwinRegistry registry, bytes32 id, address a) private view returns (bytes memory) {
        ITwinRegistry.SourceAuthorization memory s = registry.sourceOf(id, a);
        (TwinStatus status, bool controller) = registry.accessContext(id, a);
        return
            abi.encode(
                registry.isController(id, a),
                registry.isDelegate(id, a),
                s.categories,
                s.kind,
                s.authorizedAt,
                registry.writableCategories(id, a),
                status,
                controller
            );
    }
}
