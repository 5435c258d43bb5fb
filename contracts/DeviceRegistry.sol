// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SourceKind} from "./Common.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {ITwinRegistry} from "./interfaces/ITwinRegistry.sol";

/// @title DeviceRegistry
/// @notice Device provenance and flags (see IDeviceRegistry).
/// @dev Custodians and sources live in TwinRegistry, asked through its typed interface (a malformed answer fails ABI
/// decoding and reverts: fail closed). `MANUFACTURER_ROLE` is administered by `DEFAULT_ADMIN_ROLE` (governance), who
/// may also clear any flag (a withdrawn manufacturer's, a custodian's that its custodian no longer clears).
contract DeviceRegistry is IDeviceRegistry, AccessControl {
    /// @notice May register devices (and, while held, update and flag its own, and clear its own flags).
    bytes32 public constant MANUFACTURER_ROLE = keccak256("MANUFACTURER_ROLE");

    /// @dev The registry is fixed at deployment.
    ITwinRegistry private immutable _REGISTRY;

    /// @dev Five slots per device: manufacturer (160) | flag (8) | flaggedAt (40) = 208 bits; flaggedBy (160);
    /// modelCommitment; firmwareCommitment; calibrationCommitment.
    mapping(address device => Device) private _devices;

    /// @param registry_ The twin registry whose custodians and sources may flag devices.
    /// @param admin The governance admin (`DEFAULT_ADMIN_ROLE`), who accredits manufacturers.
    constructor(ITwinRegistry registry_, address admin) {
        if (address(registry_) == address(0) || admin == address(0)) revert ZeroAddress();
        _REGISTRY = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IDeviceRegistry
    function registerDevice(
        address device,
        bytes32 modelCommitment,
        bytes32 firmwareCommitment,
        bytes32 calibrationCommitment
    ) external onlyRole(MANUFACTURER_ROLE) {
        if (device == address(0)) revert ZeroAddress();
        if (modelCommitment == bytes32(0)) revert EmptyCommitment();
        _checkCommitments(firmwareCommitment, calibrationCommitment);
        Device storage d = _devices[device];
        if (d.manufacturer != address(0)) revert DeviceAlreadyRegistered(device);
        d.manufacturer = msg.sender;
        d.modelCommitment = modelCommitment;
        d.firmwareCommitment = firmwareCommitment;
        d.calibrationCommitment = calibrationCommitment;
        emit DeviceRegistered(device, msg.sender, modelCommitment);
        emit DeviceUpdated(device, firmwareCommitment, calibrationCommitment);
    }

    /// @inheritdoc IDeviceRegistry
    function updateDevice(address device, bytes32 firmwareCommitment, bytes32 calibrationCommitment) external {
        Device storage d = _manufacturedBy(device, msg.sender);
        _checkCommitments(firmwareCommitment, calibrationCommitment);
        d.firmwareCommitment = firmwareCommitment;
        d.calibrationCommitment = calibrationCommitment;
        emit DeviceUpdated(device, firmwareCommitment, calibrationCommitment);
    }

    /// @inheritdoc IDeviceRegistry
    function flagDevice(address device, FlagReason reason) external {
        _flag(_manufacturedBy(device, msg.sender), device, reason);
    }

    /// @inheritdoc IDeviceRegistry
    /// @dev The device need not be registered here: a custodian can flag any device source of its twin.
    function flagDeviceAsCustodian(bytes32 twinId, address device, FlagReason reason) external {
        if (
            _REGISTRY.custodianOf(twinId) != msg.sender || _REGISTRY.sourceOf(twinId, device).kind != SourceKind.Device
        ) {
            revert NotTwinCustodian(twinId, device, msg.sender);
        }
        _flag(_devices[device], device, reason);
    }

    /// @inheritdoc IDeviceRegistry
    /// @dev The flagger is checked, not the device's manufacturer: a custodian's flag (maybe set before the device
    /// was registered) is not the manufacturer's to clear. A custodian that has since lost the twin still clears its
    /// own flag (the flag has no twin); governance clears any.
    function clearFlag(address device) external {
        Device storage d = _devices[device];
        if (d.flag == FlagReason.None) revert NotFlagged(device);
        address flagger = d.flaggedBy;
        // The flagger's own clear (the usual case) asks for no role unless it is the manufacturer; governance's role
        // is read only when the flagger may not clear.
        if (
            (msg.sender != flagger || (msg.sender == d.manufacturer && !hasRole(MANUFACTURER_ROLE, msg.sender))) &&
            !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)
        ) {
            if (msg.sender != flagger) revert NotFlagger(device, flagger, msg.sender);
            revert AccessControlUnauthorizedAccount(msg.sender, MANUFACTURER_ROLE);
        }
        d.flag = FlagReason.None;
        d.flaggedAt = 0;
        d.flaggedBy = address(0);
        emit DeviceFlagCleared(device, msg.sender);
    }

    /// @inheritdoc IDeviceRegistry
    function flagOf(address device) external view returns (FlagReason, uint40) {
        Device storage d = _devices[device];
        return (d.flag, d.flaggedAt);
    }

    /// @inheritdoc IDeviceRegistry
    function deviceOf(address device) external view returns (Device memory) {
        return _devices[device];
    }

    /// @dev The device's record, if `account` is its manufacturer and still holds `MANUFACTURER_ROLE`.
    function _manufacturedBy(address device, address account) private view returns (Device storage d) {
        d = _devices[device];
        if (d.manufacturer == address(0)) revert UnknownDevice(device);
        if (d.manufacturer != account) revert NotManufacturer(device, account);
        _checkRole(MANUFACTURER_ROLE, account);
    }

    /// @dev Sets the flag: a flagger may replace the reason of its own flag, not another account's (which would
    /// make the flag its own to clear).
    function _flag(Device storage d, address device, FlagReason reason) private {
        if (reason == FlagReason.None) revert InvalidFlagReason(uint8(reason));
        if (d.flag != FlagReason.None && d.flaggedBy != msg.sender) revert AlreadyFlagged(device, d.flaggedBy);
        d.flag = reason;
        d.flaggedAt = uint40(block.timestamp);
        d.flaggedBy = msg.sender;
        emit DeviceFlagged(device, reason, msg.sender);
    }

    /// @dev Reverts on a zero firmware or calibration commitment.
    function _checkCommitments(bytes32 firmwareCommitment, bytes32 calibrationCommitment) private pure {
        if (firmwareCommitment == bytes32(0) || calibrationCommitment == bytes32(0)) revert EmptyCommitment();
    }
}
