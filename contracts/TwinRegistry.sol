// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {DataCategory, SourceKind, TwinStatus} from "./Common.sol";
import {ITwinRegistry} from "./interfaces/ITwinRegistry.sol";

/// @title TwinRegistry
/// @notice The registry of patient digital twins, their custodians, data sources and delegates.
/// @dev Governance: `DEFAULT_ADMIN_ROLE` appoints `GOVERNANCE_ROLE`, which accredits and removes custodians
/// (`CUSTODIAN_ROLE`) and emergency responders (`EMERGENCY_RESPONDER_ROLE`) with `grantRole` / `revokeRole`.
/// AccessControlDefaultAdminRules (OpenZeppelin 5): exactly one default admin, handed over in two steps
/// (`beginDefaultAdminTransfer`, then `acceptDefaultAdminTransfer` by the new admin once the delay has passed), never
/// granted or revoked directly, and a delay change itself waits. It costs about 2 KB of code, which took v1 past its
/// 2,000,000-gas deployment budget; the v2 budget is 3,000,000 gas (issue 9) and the deployment fits it (2.66M gas,
/// 11.5 KB of runtime code measured; test/gas/budgets.test.ts holds it). The admin may still be a TimelockController
/// or a multisig.
contract TwinRegistry is ITwinRegistry, AccessControlDefaultAdminRules, EIP712, Nonces {
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
        "CreateTwin(address patient,bytes32 salt,bytes32 metadataCommitment,address custodian,uint256 nonce,uint256 deadline)"
    );

    /// @dev One slot per twin (all 256 bits), so creating a twin writes two new slots (this and the metadata
    /// commitment) and the consent check reads one. The creation time is the block of `TwinCreated`. The delegate
    /// epoch starts at zero, so creation writes nothing more for it (createTwin stays within its 80,000-gas budget).
    // 256 bits in one slot, as the comment above says; the linter misjudges the enum's width.
    // solhint-disable-next-line gas-struct-packing
    struct TwinSlot {
        address owner; // 160 bits: the patient
        TwinStatus status; // 8 bits
        uint32 custodianId; // 32 bits: index into _custodianById, instead of a second 160-bit address slot
        uint56 delegateEpoch; // 56 bits: ownership changes so far; only delegates appointed in this epoch count
    }

    /// @dev A pending ownership transfer (two slots): who may accept it, and the controller who started it.
    struct PendingTransfer {
        address newOwner;
        address startedBy;
    }

    mapping(bytes32 twinId => TwinSlot) private _twins;
    mapping(bytes32 twinId => bytes32 commitment) private _metadata;
    mapping(bytes32 twinId => PendingTransfer) private _pendingTransfers;
    /// @dev 1 + the twin's `delegateEpoch` when the account was appointed; 0 if never appointed or removed. An
    /// ownership change increments the twin's epoch, which ends every delegate at once, in O(1). The stored value is
    /// never 0 for a delegate, so no account counts as a delegate of an unknown twin (epoch 0).
    mapping(bytes32 twinId => mapping(address account => uint64 epochPlusOne)) private _delegateEpochs;
    /// @dev SourceAuthorization packs into one slot: categories (32) | kind (8) | authorizedAt (40).
    mapping(bytes32 twinId => mapping(address source => SourceAuthorization)) private _sources;
    /// @dev Custodians get a compact id on their first accreditation; ids are never reused.
    mapping(address custodian => uint32 id) private _custodianIds;
    mapping(uint32 id => address custodian) private _custodianById;
    uint32 private _custodianCount;

    /// @param initialAdminDelay The wait, in seconds, between starting and accepting a default-admin handover.
    /// @param admin The default admin (for example a governance multisig or a TimelockController); the zero address
    /// reverts with `AccessControlInvalidDefaultAdmin(address(0))`.
    constructor(
        uint48 initialAdminDelay,
        address admin
    ) AccessControlDefaultAdminRules(initialAdminDelay, admin) EIP712("TwinLedger TwinRegistry", "1") {
        _setRoleAdmin(CUSTODIAN_ROLE, GOVERNANCE_ROLE);
        _setRoleAdmin(EMERGENCY_RESPONDER_ROLE, GOVERNANCE_ROLE);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Creation
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc ITwinRegistry
    function createTwin(bytes32 salt, bytes32 metadataCommitment, address custodian) external returns (bytes32) {
        return _createTwin(msg.sender, salt, metadataCommitment, custodian);
    }

    /// @inheritdoc ITwinRegistry
    function createTwinFor(
        address patient,
        bytes32 salt,
        bytes32 metadataCommitment,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32) {
        if (patient == address(0)) revert ZeroAddress();
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        _useCheckedNonce(patient, nonce);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(CREATE_TWIN_TYPEHASH, patient, salt, metadataCommitment, msg.sender, nonce, deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(patient, digest, signature)) revert InvalidSignature(patient);
        return _createTwin(patient, salt, metadataCommitment, msg.sender);
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
        if (_isDelegate(t, twinId, delegate)) revert DelegateAlreadyAppointed(twinId, delegate);
        _delegateEpochs[twinId][delegate] = uint64(t.delegateEpoch) + 1;
        emit DelegateAppointed(twinId, delegate);
    }

    /// @inheritdoc ITwinRegistry
    /// @dev Decision (issue 9, gap 8): a dismissed or resigning delegate takes its pending ownership business with
    /// it. A transfer it started, or one that would make it the owner, is cancelled here; otherwise a guardian the
    /// patient dismissed could still finish a "recovery" it had started, or accept one it was offered.
    function removeDelegate(bytes32 twinId, address delegate) external {
        TwinSlot storage t = _requireLiveTwin(twinId);
        if (msg.sender != t.owner && msg.sender != delegate) revert NotTwinOwner(twinId, msg.sender);
        if (!_isDelegate(t, twinId, delegate)) revert UnknownDelegate(twinId, delegate);
        delete _delegateEpochs[twinId][delegate];
        emit DelegateRemoved(twinId, delegate, msg.sender);
        PendingTransfer storage p = _pendingTransfers[twinId];
        if (p.startedBy == delegate || p.newOwner == delegate) {
            delete _pendingTransfers[twinId];
            emit OwnershipTransferStarted(twinId, t.owner, address(0));
        }
    }

    /// @inheritdoc ITwinRegistry
    function transferOwnership(bytes32 twinId, address newOwner) external {
        TwinSlot storage t = _requireLiveTwinController(twinId);
        if (newOwner == t.owner) revert OwnerNotAllowed(twinId, newOwner);
        if (newOwner == address(0)) delete _pendingTransfers[twinId];
        else _pendingTransfers[twinId] = PendingTransfer({newOwner: newOwner, startedBy: msg.sender});
        emit OwnershipTransferStarted(twinId, t.owner, newOwner);
    }

    /// @inheritdoc ITwinRegistry
    /// @dev Decisions (issue 9, gap 8): delegates were appointed by the previous owner, to act for that owner, so
    /// none of them survives the change (the delegate epoch moves on; the new owner appoints its own, and may appoint
    /// the same people again). A source that becomes the owner stops being a source, as `authorizeSource` never lets
    /// the owner be one.
    function acceptOwnership(bytes32 twinId) external {
        TwinSlot storage t = _requireLiveTwin(twinId);
        if (msg.sender != _pendingTransfers[twinId].newOwner) revert NotPendingOwner(twinId, msg.sender);
        address previous = t.owner;
        t.owner = msg.sender;
        ++t.delegateEpoch;
        delete _pendingTransfers[twinId];
        emit DelegatesCleared(twinId);
        if (_sources[twinId][msg.sender].categories != 0) {
            delete _sources[twinId][msg.sender];
            emit SourceRemoved(twinId, msg.sender);
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
        delete _pendingTransfers[twinId];
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
        return _pendingTransfers[twinId].newOwner;
    }

    /// @inheritdoc ITwinRegistry
    function pendingTransferOf(bytes32 twinId) external view returns (address newOwner, address startedBy) {
        PendingTransfer storage p = _pendingTransfers[twinId];
        return (p.newOwner, p.startedBy);
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
    /// @dev Decision (issue 9, gap 8): nobody controls an erased twin; the mutating functions refuse it anyway, and
    /// the views say so too, so that no contract or gateway asking them treats a former owner as in control.
    function isController(bytes32 twinId, address account) external view returns (bool) {
        TwinSlot storage t = _twins[twinId];
        return t.status != TwinStatus.Erased && _isController(t, twinId, account);
    }

    /// @inheritdoc ITwinRegistry
    function isDelegate(bytes32 twinId, address account) external view returns (bool) {
        return _isDelegate(_twins[twinId], twinId, account);
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
        status = t.status;
        controller = status != TwinStatus.Erased && _isController(t, twinId, account);
    }

    /// @inheritdoc ITwinRegistry
    function twinIdOf(address patient, bytes32 salt) external pure returns (bytes32) {
        return _twinIdOf(patient, salt);
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

    /// @dev The id is derived from the patient, so whoever copies a salt from the mempool creates its own twin under
    /// another id, and the patient's id stays free for the patient (issue 9, gap 5).
    function _createTwin(
        address patient,
        bytes32 salt,
        bytes32 metadataCommitment,
        address custodian
    ) private returns (bytes32 twinId) {
        if (metadataCommitment == bytes32(0)) revert EmptyCommitment();
        uint32 custodianId = _accreditedCustodianId(custodian);
        twinId = _twinIdOf(patient, salt);
        TwinSlot storage t = _twins[twinId];
        if (t.status != TwinStatus.None) revert TwinAlreadyExists(twinId);
        t.owner = patient;
        t.status = TwinStatus.Active;
        t.custodianId = custodianId;
        _metadata[twinId] = metadataCommitment;
        emit TwinCreated(twinId, patient, custodian, metadataCommitment);
    }

    function _twinIdOf(address patient, bytes32 salt) private pure returns (bytes32) {
        return keccak256(abi.encode(patient, salt));
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

    /// @dev Owner or current delegate; callers handle the erased status (the mutators refuse erased twins first).
    function _isController(TwinSlot storage t, bytes32 twinId, address account) private view returns (bool) {
        return account != address(0) && (account == t.owner || _isDelegate(t, twinId, account));
    }

    /// @dev Appointed in the twin's current delegate epoch (that is, since its last ownership change).
    function _isDelegate(TwinSlot storage t, bytes32 twinId, address account) private view returns (bool) {
        return _delegateEpochs[twinId][account] == uint64(t.delegateEpoch) + 1;
    }
}
