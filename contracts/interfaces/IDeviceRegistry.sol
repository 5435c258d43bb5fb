// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IDeviceRegistry
/// @notice Provenance of the devices that feed twins: each device (the key its readings are signed with, as
/// authorized on a twin in TwinRegistry) carries salted commitments of its model, firmware version and calibration
/// date; its manufacturer, or the custodian of a twin it feeds, can flag it (recall, expired calibration), and the
/// twins then set its readings aside.
/// @dev Nothing here is health data. The commitments are salted (src/chain/commitments.ts), so a device's model is
/// not readable from the chain by guessing. A manufacturer acts on its devices only while it holds
/// `MANUFACTURER_ROLE`. A flag belongs to whoever set it (`flaggedBy`): it holds from its block until that flagger
/// (a manufacturer only while it still holds `MANUFACTURER_ROLE`) or governance (`DEFAULT_ADMIN_ROLE`) clears it,
/// and nobody else can replace it meanwhile, so a manufacturer can neither clear nor take over a custodian's recall.
interface IDeviceRegistry {
    /// @notice Why a device is flagged. `None` means not flagged.
    enum FlagReason {
        None,
        Recall,
        CalibrationExpired,
        Malfunction,
        Other
    }

    /// @notice A device's record, as `deviceOf` returns it.
    /// @param manufacturer Who registered it; while it holds MANUFACTURER_ROLE, it may update and flag it, and clear
    /// its own flags.
    /// @param flag Why it is flagged, or `None`.
    /// @param flaggedAt Timestamp of the flag (zero if none).
    /// @param flaggedBy Who flagged it (zero if none): the only account, besides governance, that may clear the flag.
    /// @param modelCommitment Salted commitment of the device model.
    /// @param firmwareCommitment Salted commitment of the firmware version.
    /// @param calibrationCommitment Salted commitment of the calibration date.
    struct Device {
        address manufacturer;
        FlagReason flag;
        uint40 flaggedAt;
        address flaggedBy;
        bytes32 modelCommitment;
        bytes32 firmwareCommitment;
        bytes32 calibrationCommitment;
    }

    /// @notice Emitted when a manufacturer registers a device.
    event DeviceRegistered(address indexed device, address indexed manufacturer, bytes32 modelCommitment);
    /// @notice Emitted when the manufacturer updates the firmware or calibration commitment.
    event DeviceUpdated(address indexed device, bytes32 firmwareCommitment, bytes32 calibrationCommitment);
    /// @notice Emitted when a device is flagged.
    event DeviceFlagged(address indexed device, FlagReason indexed reason, address indexed by);
    /// @notice Emitted when the flagger or governance clears a flag.
    event DeviceFlagCleared(address indexed device, address indexed by);

    /// @notice The registry given at deployment, or the admin, was the zero address.
    error ZeroAddress();
    /// @notice A commitment was zero.
    error EmptyCommitment();
    /// @notice The device is registered already.
    error DeviceAlreadyRegistered(address device);
    /// @notice No device has this address.
    error UnknownDevice(address device);
    /// @notice The caller is not the device's manufacturer.
    error NotManufacturer(address device, address account);
    /// @notice The caller is not the custodian of the twin, or the device is not a source of the twin.
    error NotTwinCustodian(bytes32 twinId, address device, address account);
    /// @notice The reason is `None` or undefined.
    error InvalidFlagReason(uint8 reason);
    /// @notice The device is not flagged.
    error NotFlagged(address device);
    /// @notice The caller neither set the device's flag (`flaggedBy`) nor holds `DEFAULT_ADMIN_ROLE`.
    error NotFlagger(address device, address flaggedBy, address account);
    /// @notice The device is flagged by another account (`flaggedBy`), whose flag only it or governance may clear.
    error AlreadyFlagged(address device, address flaggedBy);

    /// @notice Registers a device with its commitments. `MANUFACTURER_ROLE` only; the caller becomes its manufacturer.
    function registerDevice(
        address device,
        bytes32 modelCommitment,
        bytes32 firmwareCommitment,
        bytes32 calibrationCommitment
    ) external;

    /// @notice Replaces the firmware and calibration commitments (a firmware update, a recalibration). Its
    /// manufacturer, while it holds `MANUFACTURER_ROLE`.
    function updateDevice(address device, bytes32 firmwareCommitment, bytes32 calibrationCommitment) external;

    /// @notice Flags a device (or changes the reason of its own flag). Its manufacturer, while it holds
    /// `MANUFACTURER_ROLE`; refused (`AlreadyFlagged`) while another account's flag is on the device.
    function flagDevice(address device, FlagReason reason) external;

    /// @notice Flags a device that is an authorized source of `twinId`, by that twin's custodian (registered here or
    /// not); refused (`AlreadyFlagged`) while another account's flag is on the device.
    function flagDeviceAsCustodian(bytes32 twinId, address device, FlagReason reason) external;

    /// @notice Clears the device's flag (after a fix or a recalibration). Whoever set it (`flaggedBy`; a manufacturer
    /// only while it holds `MANUFACTURER_ROLE`), or governance (`DEFAULT_ADMIN_ROLE`): a custodian's recall cannot be
    /// cleared by the manufacturer, nor by a manufacturer that registers the device after the flag.
    function clearFlag(address device) external;

    /// @notice The device's flag (`None` if not flagged or unknown) and when it was set.
    function flagOf(address device) external view returns (FlagReason reason, uint40 flaggedAt);

    /// @notice The device's record (all zero for an unknown device).
    function deviceOf(address device) external view returns (Device memory);
}
