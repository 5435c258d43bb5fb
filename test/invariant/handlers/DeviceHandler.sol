// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {HandlerBase} from "./HandlerBase.sol";
import {Actors} from "../base/Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {CohortModel} from "../model/CohortModel.sol";
import {DeviceRegistry} from "../../../contracts/DeviceRegistry.sol";
import {TwinRegistry} from "../../../contracts/TwinRegistry.sol";
import {IDeviceRegistry} from "../../../contracts/interfaces/IDeviceRegistry.sol";
import {DataCategory, SourceKind} from "../../../contracts/Common.sol";

/// @title DeviceHandler
/// @notice Drives DeviceRegistry: devices (the three source accounts of the cast) registered, updated, flagged and
/// cleared by their manufacturer, another manufacturer or anyone (and cleared by the flagger or governance); flagged
/// by a twin's custodian (half the time) or anyone; manufacturers accredited and (rarely) withdrawn. The rules: a
/// manufacturer acts only while accredited; a flag is replaced or cleared only by its flagger (a manufacturer only
/// while accredited), and cleared by governance. It also authorizes EMR sources in the registry, so that a
/// custodian's flag meets a source that is not a device (RegistryHandler authorizes devices).
contract DeviceHandler is HandlerBase {
    DeviceRegistry public immutable devices;
    TwinRegistry public immutable registry;
    CohortModel public immutable cohort;

    constructor(
        Actors actors_,
        LedgerModel model_,
        CohortModel cohort_,
        DeviceRegistry devices_,
        TwinRegistry registry_
    ) HandlerBase(actors_, model_) {
        cohort = cohort_;
        devices = devices_;
        registry = registry_;
    }

    function registerDevice(uint256 actorSeed, uint256 deviceSeed, uint256 commitSeed) external {
        address device = actors.source(deviceSeed);
        address actor = actorSeed % 3 != 2 ? _maker(actorSeed >> 2) : _anyone(actorSeed >> 2);
        bytes32[3] memory c = [
            keccak256(abi.encode("model", commitSeed)),
            keccak256(abi.encode("firmware", commitSeed)),
            keccak256(abi.encode("calibration", commitSeed))
        ];
        if (commitSeed % 8 == 5) c[(commitSeed >> 3) % 3] = bytes32(0);
        bool expected =
            cohort.isManufacturer(actor) &&
                cohort.deviceOf(device).manufacturer == address(0) &&
                c[0] != bytes32(0) &&
                c[1] != bytes32(0) &&
                c[2] != bytes32(0);
        vm.prank(actor);
        try devices.registerDevice(device, c[0], c[1], c[2]) {
            _report(true, expected, "registerDevice");
            cohort.registerDevice(device, actor, c);
        } catch {
            _report(false, expected, "registerDevice");
        }
    }

    function updateDevice(uint256 actorSeed, uint256 deviceSeed, uint256 commitSeed) external {
        address device = actors.source(deviceSeed);
        address actor = _deviceCaller(device, actorSeed);
        bytes32 firmware = commitSeed % 8 == 5 ? bytes32(0) : keccak256(abi.encode("firmware", commitSeed));
        bytes32 calibration = commitSeed % 8 == 6 ? bytes32(0) : keccak256(abi.encode("calibration", commitSeed));
        address manufacturer = cohort.deviceOf(device).manufacturer;
        bool expected = _isAccreditedManufacturer(device, actor) && firmware != bytes32(0) && calibration != bytes32(0);
        vm.prank(actor);
        try devices.updateDevice(device, firmware, calibration) {
            _report(true, expected, "updateDevice");
            if (actor == manufacturer && !cohort.isManufacturer(actor)) {
                cohort.breach(cohort.MANUFACTURER_WITHOUT_ROLE());
            }
            cohort.updateDevice(device, firmware, calibration);
        } catch {
            _report(false, expected, "updateDevice");
        }
    }

    /// @notice The manufacturer (half the time), another manufacturer or anyone flags a device; one reason in five
    /// is `None` (refused).
    function flagDevice(uint256 actorSeed, uint256 deviceSeed, uint256 reasonSeed) external {
        address device = actors.source(deviceSeed);
        address actor = _deviceCaller(device, actorSeed);
        IDeviceRegistry.FlagReason reason = IDeviceRegistry.FlagReason(reasonSeed % 5);
        address manufacturer = cohort.deviceOf(device).manufacturer;
        bool expected =
            _isAccreditedManufacturer(device, actor) &&
                _mayFlag(device, actor) &&
                reason != IDeviceRegistry.FlagReason.None;
        vm.prank(actor);
        try devices.flagDevice(device, reason) {
            _report(true, expected, "flagDevice");
            if (manufacturer == address(0) || actor != manufacturer) cohort.breach(cohort.FLAG_BY_OTHER());
            if (!cohort.isManufacturer(actor)) cohort.breach(cohort.MANUFACTURER_WITHOUT_ROLE());
            if (!_mayFlag(device, actor)) cohort.breach(cohort.FLAG_TAKEN_OVER());
            cohort.setFlag(device, reason, actor);
        } catch {
            _report(false, expected, "flagDevice");
        }
    }

    /// @notice The twin's custodian (half the time) or anyone flags a device as custodian of a twin: allowed when the
    /// device is a device source of that twin (registered here or not).
    function flagDeviceAsCustodian(
        uint256 actorSeed,
        uint256 slotSeed,
        uint256 deviceSeed,
        uint256 reasonSeed
    ) external {
        uint256 slot = _slot(slotSeed);
        address device = actors.source(deviceSeed);
        address custodian = model.twin(slot).custodian;
        address actor = actorSeed % 2 == 0 && custodian != address(0) ? custodian : _anyone(actorSeed >> 1);
        IDeviceRegistry.FlagReason reason = IDeviceRegistry.FlagReason(reasonSeed % 5);
        bool entitled = model.created(slot) && actor == custodian && model.isDeviceSource(slot, device);
        bool expected = entitled && _mayFlag(device, actor) && reason != IDeviceRegistry.FlagReason.None;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try devices.flagDeviceAsCustodian(id, device, reason) {
            _report(true, expected, "flagDeviceAsCustodian");
            if (!entitled) cohort.breach(cohort.FLAG_BY_OTHER());
            if (!_mayFlag(device, actor)) cohort.breach(cohort.FLAG_TAKEN_OVER());
            cohort.setFlag(device, reason, actor);
        } catch {
            _report(false, expected, "flagDeviceAsCustodian");
        }
    }

    /// @notice The flagger (a third of the time), governance (one in six), the manufacturer, another manufacturer or
    /// anyone clears a device's flag: allowed to its flagger (a manufacturer only while accredited) and governance.
    function clearFlag(uint256 actorSeed, uint256 deviceSeed) external {
        address device = actors.source(deviceSeed);
        IDeviceRegistry.Device memory d = cohort.deviceOf(device);
        address governance = actors.at(actors.GOVERNANCE());
        address actor =
            actorSeed % 3 == 0 && d.flaggedBy != address(0)
                ? d.flaggedBy
                : actorSeed % 6 == 1
                    ? governance
                    : _deviceCaller(device, actorSeed >> 3);
        bool expected = d.flag != IDeviceRegistry.FlagReason.None && mayClear(device, actor);
        vm.prank(actor);
        try devices.clearFlag(device) {
            _report(true, expected, "clearFlag");
            if (actor != governance && actor != d.flaggedBy) cohort.breach(cohort.CLEAR_BY_OTHER());
            cohort.setFlag(device, IDeviceRegistry.FlagReason.None, address(0));
        } catch {
            _report(false, expected, "clearFlag");
        }
    }

    /// @notice Governance (half the time) or anyone accredits or (rarely) withdraws a manufacturer.
    function setManufacturer(uint256 actorSeed, uint256 makerSeed, bool grantIt) external {
        address governance = actors.at(actors.GOVERNANCE());
        address actor = actorSeed % 2 == 0 ? governance : _anyone(actorSeed >> 1);
        if (!grantIt && makerSeed % 16 != 1) grantIt = true; // withdrawals are rare (and not on a zero seed)
        address maker = _maker(makerSeed >> 2);
        bytes32 role = devices.MANUFACTURER_ROLE();
        bool ok = _changeRole(devices, actor, role, maker, grantIt);
        _report(ok, actor == governance, "setManufacturer");
        if (ok) cohort.setManufacturer(maker, grantIt);
    }

    /// @notice A controller (or anyone, who must fail) authorizes a source of the twin as an EMR (not a device).
    function authorizeEmrSource(uint256 actorSeed, uint256 slotSeed, uint256 sourceSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        address source = actors.source(sourceSeed);
        uint32 categories = DataCategory.CONDITIONS | DataCategory.VITALS;
        bool expected = _live(slot) && model.isController(slot, actor) && source != model.ownerOf(slot);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try registry.authorizeSource(id, source, SourceKind.Emr, categories) {
            _report(true, expected, "authorizeEmrSource");
            model.setEmrSource(slot, source, categories);
        } catch {
            _report(false, expected, "authorizeEmrSource");
        }
    }

    /// @notice Whether `account` may clear the device's flag (if any), by the model: governance, or the flagger (a
    /// manufacturer of the device only while it is accredited).
    function mayClear(address device, address account) public view returns (bool) {
        IDeviceRegistry.Device memory d = cohort.deviceOf(device);
        if (account == actors.at(actors.GOVERNANCE())) return true;
        return account == d.flaggedBy && (account != d.manufacturer || cohort.isManufacturer(account));
    }

    /// @notice Whether `account` is the device's manufacturer and accredited (it may update and flag it).
    function _isAccreditedManufacturer(address device, address account) internal view returns (bool) {
        address manufacturer = cohort.deviceOf(device).manufacturer;
        return manufacturer != address(0) && account == manufacturer && cohort.isManufacturer(account);
    }

    /// @notice Whether the device's flag (if any) is `account`'s own, so that it may flag again.
    function _mayFlag(address device, address account) internal view returns (bool) {
        IDeviceRegistry.Device memory d = cohort.deviceOf(device);
        return d.flag == IDeviceRegistry.FlagReason.None || d.flaggedBy == account;
    }

    /// @dev Who acts on a device: its manufacturer half the time (if any), else a manufacturer or anyone.
    function _deviceCaller(address device, uint256 seed) internal view returns (address) {
        address manufacturer = cohort.deviceOf(device).manufacturer;
        if (seed % 2 == 0 && manufacturer != address(0)) return manufacturer;
        return seed % 4 == 1 ? _maker(seed >> 2) : _anyone(seed >> 2);
    }

    function _maker(uint256 seed) internal view returns (address) {
        return seed % 2 == 0 ? cohort.MAKER_A() : cohort.MAKER_B();
    }

    /// @dev Anyone: an actor of the cast, or a manufacturer (one in eight).
    function _anyone(uint256 seed) internal view returns (address) {
        return seed % 8 == 0 ? _maker(seed >> 3) : actors.any(seed >> 3);
    }
}
