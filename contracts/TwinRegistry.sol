// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {DataCategory, SourceKind, TwinStatus} from "./Common.sol";
import {ITwinRegistry} from "./interfaces/ITwinRegistry.sol";

/// @title TwinRegistry
/// @notice The registry of patient digital twins, their custodians, data sources and delegates.
/// @dev Governance: `DEFAULT_ADMIN_ROLE` appoints `GOVERNANCE_ROLE`, which accredits and removes custodians
/// (`CUSTODIAN_ROLE`) and emergency responders (`EMERGENCY_RESPONDER_ROLE`) with `grantRole` / `revokeRole`.
/// Plain AccessControl rather than AccessControlDefaultAdminRules: the latter adds 2.1 KB of code and takes the
/// deployment past its 2,000,000-gas budget (2.58M measured). For a delay on admin changes, make the admin a
/// TimelockController or a multisig (the deploy script takes the admin address).
contract TwinRegistry is ITwinRegistry, AccessControl, EIP712, Nonces {
    /// @notice Accredits and removes custodians and emergency responders.
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @notice Accredited custodians (hospitals) that build twins' master records.
    bytes32 public constant CUSTODIAN_ROLE = keccak256("CUSTODIAN_ROLE");
    /// @notice Accredited emergency responders who may open break-glass access where a patient allows it.
    bytes32 public constant EMERGENCY_RESPONDER_ROLE = keccak256("EMERGENCY_RESPONDER_ROLE");

    /// @notice EIP-712 type of a patient's consent to a custodian creating their twin.
    // The string is hashed at compile time and is not in the bytecode.
    // solhint-disable-next-line gas-small-strings
    bytes32 public constant CREATE_TWIN_TYPEHASH = keccak256(
        "CreateTwin(address patient,bytes32 twinId,bytes32 metadataCommitment,address custodian,uint256 nonce,uint256 deadline)"
    );

    /// @dev One slot per twin (200 of 256 bits), so creating a twin writes two new slots (this and the metadata
    /// commitment) and the consent check reads one. The creation time is the block of `TwinCreated`.
    // 200 bits in one slot, as the comment above says; the linter misjudges the enum's width.
    // solhint-disable-next-line gas-struct-packing
    struct TwinSlot {
        address owner; // 160 bits: the patient
        TwinStatus status; // 8 bits
        uint32 custodianId; // 32 bits: index into _custodianById, instead of a second 160-bit address slot
    }

    mapping(bytes32 twinId => TwinSlot) private _twins;
    mapping(bytes32 twinId => bytes32 commitment) private _metadata;
    mapping(bytes32 twinId => address) private _pendingOwners;
    mapping(bytes32 twinId => mapping(address account => bool)) private _delegates;
    /// @dev SourceAuthorization packs into one slot: categories (32) | kind (8) | authorizedAt (40).
    mapping(bytes32 twinId => mapping(address source => SourceAuthorization)) private _sources;
    /// @dev Custodians get a compact id on their first accreditation; ids are never reused.
    mapping(address custodian => uint32 id) private _custodianIds;
    mapping(uint32 id => address custodian) private _custodianById;
    uint32 private _custodianCount;

    /// @param admin The default admin (for example a governance multisig or a TimelockController).
    constructor(address admin) EIP712("TwinLedger TwinRegistry", "1") {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setRoleAdmin(CUSTODIAN_ROLE, GOVERNANCE_ROLE);
        _setRoleAdmin(EMERGENCY_RESPONDER_ROLE, GOVERNANCE_ROLE);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Creation
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc ITwinRegistry
    function createTwin(bytes32 twinId, bytes32 metadataCommitment, address custodian) external {
        _createTwin(msg.sender, twinId, metadataCommitment, custodian);
    }

    /// @inheritdoc ITwinRegistry
    function createTwinFor(
        address patient,
        bytes32 twinId,
        bytes32 metadataCommitment,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (patient == address(0)) revert ZeroAddress();
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        _useCheckedNonce(patient, nonce);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(CREATE_TWIN_TYPEHASH, patient, twinId, metadataCommitment, msg.sender, nonce, deadline)
            )
        );
        if (!SignatureChecker.isValidSignatureNow(patient, digest, signature)) revert InvalidSignature(patient);
        _createTwin(patient, twinId, metadataCommitment, msg.sender);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Management by the patient or a delegate
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc ITwinRegistry
    function updateMetadata(bytes32 twinId, bytes32 metadataCommitment) external {
        _requireLiveTwinController(twinId);
        if (metadataCommitment == bytes32(0)) revert EmptyCommitment();
        _metadata[twinId] = metadataCommitment;
        emit TwinMetadataUpdated(twinId, metadataCommitment);
    }

    /// @inheritdoc ITwinRegistry
    function changeCustodian(bytes32 twinId, address newCustodian) external {
        TwinSlot storage t = _requireLiveTwinController(twinId);
        uint32 newId = _accreditedCustodianId(newCustodian);
        address previous = _custodianById[t.custodianId];
        t.custodianId = newId;
        emit CustodianChanged(twinId, previous, newCustodian);
    }

    /// @inheritdoc ITwinRegistry
    function authorizeSource(bytes32 twinId, address source, SourceKind kind, uint32 categories) external {
        TwinSlot storage t = _requireLiveTwinController(twinId);
        if (source == address(0)) revert ZeroAddress();
        if (source == t.owner) revert OwnerNotAllowed(twinId, source);
        if (kind == SourceKind.None) revert InvalidSourceKind(kind);
        if (categories == 0 || categories & ~DataCategory.ALL != 0) revert InvalidCategories(categories);
        _sources[twinId][source] = SourceAuthorization({
            categories: categories,
            kind: kind,
            authorizedAt: uint40(block.timestamp)
        });
        emit SourceAuthorized(twinId, source, kind, categories);
    }

    /// @inheritdoc ITwinRegistry
    function removeSource(bytes32 twinId, address source) external {
        _requireLiveTwinController(twinId);
        if (_sources[twinId][source].categories == 0) revert UnknownSource(twinId, source);
        delete _sources[twinId][source];
        emit SourceRemoved(twinId, source);
    }

    /// @inheritdoc ITwinRegistry
    function appointDelegate(bytes32 twinId, address delegate) external {
        TwinSlot storage t = _requireLiveTwin(twinId);
        if (msg.sender != t.owner) revert NotTwinOwner(twinId, msg.sender);
        if (delegate == address(0)) revert ZeroAddress();
        if (delegate == t.owner) revert OwnerNotAllowed(twinId, delegate);
        if (_delegates[twinId][delegate]) revert DelegateAlreadyAppointed(twinId, delegate);
        _delegates[twinId][delegate] = true;
        emit DelegateAppointed(twinId, delegate);
    }

    /// @inheritdoc ITwinRegistry
    function removeDelegate(bytes32 twinId, address delegate) external {
        TwinSlot storage t = _requireLiveTwin(twinId);
        if (msg.sender != t.owner && msg.sender != delegate) revert NotTwinOwner(twinId, msg.sender);
        if (!_delegates[twinId][delegate]) revert UnknownDelegate(twinId, delegate);
        delete _delegates[twinId][delegate];
        emit DelegateRemoved(twinId, delegate, msg.sender);
    }

    /// @inheritdoc ITwinRegistry
    function transferOwnership(bytes32 twinId, address newOwner) external {
        TwinSlot storage t = _requireLiveTwinController(twinId);
        if (newOwner == t.owner) revert OwnerNotAllowed(twinId, newOwner);
        _pendingOwners[twinId] = newOwner;
        emit OwnershipTransferStarted(twinId, t.owner, newOwner);
    }

    /// @inheritdoc ITwinRegistry
    function acceptOwnership(bytes32 twinId) external {
        TwinSlot storage t = _requireLiveTwin(twinId);
        if (msg.sender != _pendingOwners[twinId]) revert NotPendingOwner(twinId, msg.sender);
        address previous = t.owner;
        t.owner = msg.sender;
        delete _pendingOwners[twinId];
        // A delegate who becomes the owner stops being a delegate: the owner is never its own delegate.
        if (_delegates[twinId][msg.sender]) {
            delete _delegates[twinId][msg.sender];
            emit DelegateRemoved(twinId, msg.sender, msg.sender);
        }
        emit OwnershipTransferred(twinId, previous, msg.sender);
    }

    /// @inheritdoc ITwinRegistry
    function suspendTwin(bytes32 twinId) external {
        TwinSlot storage t = _requireLiveTwinController(twinId);
        if (t.status != TwinStatus.Active) revert TwinNotActive(twinId, t.status);
        t.status = TwinStatus.Suspended;
        emit TwinSuspended(twinId, msg.sender);
    }

    /// @inheritdoc ITwinRegistry
    function resumeTwin(bytes32 twinId) external {
        TwinSlot storage t = _requireLiveTwinController(twinId);
        if (t.status != TwinStatus.Suspended) revert TwinNotSuspended(twinId, t.status);
        t.status = TwinStatus.Active;
        emit TwinResumed(twinId, msg.sender);
    }

    /// @inheritdoc ITwinRegistry
    function eraseTwin(bytes32 twinId) external {
        TwinSlot storage t = _requireLiveTwinController(twinId);
        t.status = TwinStatus.Erased;
        delete _pendingOwners[twinId];
        emit TwinErased(twinId, msg.sender);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc ITwinRegistry
    function metadataOf(bytes32 twinId) external view returns (bytes32) {
        return _metadata[twinId];
    }

    /// @inheritdoc ITwinRegistry
    function pendingOwnerOf(bytes32 twinId) external view returns (address) {
        return _pendingOwners[twinId];
    }

    /// @inheritdoc ITwinRegistry
    function statusOf(bytes32 twinId) external view returns (TwinStatus) {
        return _twins[twinId].status;
    }

    /// @inheritdoc ITwinRegistry
    function ownerOf(bytes32 twinId) external view returns (address) {
        return _twins[twinId].owner;
    }

    /// @inheritdoc ITwinRegistry
    function custodianOf(bytes32 twinId) external view returns (address) {
        return _custodianById[_twins[twinId].custodianId];
    }

    /// @inheritdoc ITwinRegistry
    function isController(bytes32 twinId, address account) external view returns (bool) {
        return _isController(_twins[twinId], twinId, account);
    }

    /// @inheritdoc ITwinRegistry
    function isDelegate(bytes32 twinId, address account) external view returns (bool) {
        return _delegates[twinId][account];
    }

    /// @inheritdoc ITwinRegistry
    function sourceOf(bytes32 twinId, address source) external view returns (SourceAuthorization memory) {
        return _sources[twinId][source];
    }

    /// @inheritdoc ITwinRegistry
    function writableCategories(bytes32 twinId, address source) external view returns (uint32) {
        if (_twins[twinId].status != TwinStatus.Active) return 0;
        return _sources[twinId][source].categories;
    }

    /// @inheritdoc ITwinRegistry
    function accessContext(bytes32 twinId, address account) external view returns (TwinStatus status, bool controller) {
        TwinSlot storage t = _twins[twinId];
        return (t.status, _isController(t, twinId, account));
    }

    /// @inheritdoc ITwinRegistry
    function isCustodian(address account) external view returns (bool) {
        return hasRole(CUSTODIAN_ROLE, account);
    }

    /// @inheritdoc ITwinRegistry
    function isEmergencyResponder(address account) external view returns (bool) {
        return hasRole(EMERGENCY_RESPONDER_ROLE, account);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------------------

    /// @dev Gives a custodian its compact id on first accreditation, so twins can store it in their slot.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted && role == CUSTODIAN_ROLE && _custodianIds[account] == 0) {
            uint32 id = ++_custodianCount;
            _custodianIds[account] = id;
            _custodianById[id] = account;
        }
    }

    function _createTwin(address patient, bytes32 twinId, bytes32 metadataCommitment, address custodian) private {
        if (twinId == bytes32(0)) revert EmptyTwinId();
        if (metadataCommitment == bytes32(0)) revert EmptyCommitment();
        uint32 custodianId = _accreditedCustodianId(custodian);
        TwinSlot storage t = _twins[twinId];
        if (t.status != TwinStatus.None) revert TwinAlreadyExists(twinId);
        t.owner = patient;
        t.status = TwinStatus.Active;
        t.custodianId = custodianId;
        _metadata[twinId] = metadataCommitment;
        emit TwinCreated(twinId, patient, custodian, metadataCommitment);
    }

    function _accreditedCustodianId(address custodian) private view returns (uint32) {
        if (!hasRole(CUSTODIAN_ROLE, custodian)) revert NotCustodian(custodian);
        return _custodianIds[custodian];
    }

    /// @dev The twin, which must exist and not be erased.
    function _requireLiveTwin(bytes32 twinId) private view returns (TwinSlot storage t) {
        t = _twins[twinId];
        if (t.status == TwinStatus.None) revert UnknownTwin(twinId);
        if (t.status == TwinStatus.Erased) revert TwinNotActive(twinId, TwinStatus.Erased);
    }

    /// @dev The twin, which must exist and not be erased, and whose owner or delegate is the caller.
    function _requireLiveTwinController(bytes32 twinId) private view returns (TwinSlot storage t) {
        t = _requireLiveTwin(twinId);
        if (!_isController(t, twinId, msg.sender)) revert NotTwinController(twinId, msg.sender);
    }

    function _isController(TwinSlot storage t, bytes32 twinId, address account) private view returns (bool) {
        return account != address(0) && (account == t.owner || _delegates[twinId][account]);
    }
}
