// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {TwinStatus, SourceKind} from "../Common.sol";

/// @title ITwinRegistry
/// @notice The registry of patient digital twins: who owns each twin (the patient), which accredited
/// custodian (hospital) builds its master record, which data sources (EMR systems, devices) may write
/// which data categories, and who may act for the patient (guardians, delegates).
/// @dev Governance accredits custodians and emergency responders through AccessControl roles
/// (`CUSTODIAN_ROLE`, `EMERGENCY_RESPONDER_ROLE`, both administered by `GOVERNANCE_ROLE`, itself administered by
/// the single `DEFAULT_ADMIN_ROLE` holder, who changes in two steps after a delay: AccessControlDefaultAdminRules);
/// the grant and revoke events of AccessControl are the notification of the accredited-hospital list.
/// Nothing here is health data: a twin is a pseudonymous id and a commitment (hash) to its metadata.
///
/// Twin ids are derived on chain, `twinIdOf(patient, salt) = keccak256(abi.encode(patient, salt))`, so nobody but
/// the patient (directly, or a custodian with the patient's signature) can create the twin with the patient's id:
/// a front-runner who copies the salt only creates a twin of its own, under another id.
///
/// Who controls a twin (decisions written down as a patient would expect them):
/// - The owner (the patient) and the delegates the owner appointed in the current ownership are controllers.
/// - Delegates do not survive an ownership change: accepting ownership ends every delegate (the new owner appoints
///   its own), through a per-twin delegate epoch, in O(1) (`DelegatesCleared`).
/// - A pending ownership transfer records who started it. Removing a delegate (by the owner, or resigning) cancels
///   a pending transfer that this delegate started or that names it as the new owner: a dismissed guardian cannot
///   finish a recovery it started, nor accept one offered to it.
/// - An erased twin has no controller: `isController` and `accessContext(...).controller` answer false, while
///   `ownerOf` and `isDelegate` keep answering for the audit trail.
/// - A source that becomes owner stops being a source: the owner is never its own data source.
interface ITwinRegistry {
    /// @notice A data source's authorization on one twin.
    /// @param categories The data categories (DataCategory bits) the source may write.
    /// @param kind What kind of source it is.
    /// @param authorizedAt Block timestamp of the (last) authorization.
    // 80 bits in one slot (32 + 8 + 40); the linter misjudges the enum's width.
    // solhint-disable-next-line gas-struct-packing
    struct SourceAuthorization {
        uint32 categories;
        SourceKind kind;
        uint40 authorizedAt;
    }

    /// @notice Emitted when a twin is created.
    event TwinCreated(
        bytes32 indexed twinId,
        address indexed owner,
        address indexed custodian,
        bytes32 metadataCommitment
    );
    /// @notice Emitted when the owner replaces the metadata commitment.
    event TwinMetadataUpdated(bytes32 indexed twinId, bytes32 metadataCommitment);
    /// @notice Emitted when a twin moves to another custodian.
    event CustodianChanged(bytes32 indexed twinId, address indexed previousCustodian, address indexed newCustodian);
    /// @notice Emitted when a data source is authorized, or its categories are changed.
    event SourceAuthorized(bytes32 indexed twinId, address indexed source, SourceKind kind, uint32 categories);
    /// @notice Emitted when a data source loses its authorization.
    event SourceRemoved(bytes32 indexed twinId, address indexed source);
    /// @notice Emitted when the owner appoints a guardian or delegate.
    event DelegateAppointed(bytes32 indexed twinId, address indexed delegate);
    /// @notice Emitted when a delegate is removed by the owner, or resigns.
    event DelegateRemoved(bytes32 indexed twinId, address indexed delegate, address indexed removedBy);
    /// @notice Emitted when an ownership transfer is started, or cancelled (with `newOwner` zero): by a controller,
    /// or because the delegate who started it or whom it names was removed.
    event OwnershipTransferStarted(bytes32 indexed twinId, address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when the new owner accepts ownership.
    event OwnershipTransferred(bytes32 indexed twinId, address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when an ownership change ends every delegate of the twin at once.
    event DelegatesCleared(bytes32 indexed twinId);
    /// @notice Emitted when a twin is suspended: no grant or source works until it is resumed.
    event TwinSuspended(bytes32 indexed twinId, address indexed by);
    /// @notice Emitted when a suspended twin is resumed.
    event TwinResumed(bytes32 indexed twinId, address indexed by);
    /// @notice Emitted when the patient erases the twin: its off-chain keys are destroyed, its anchors stay.
    event TwinErased(bytes32 indexed twinId, address indexed by);

    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice A commitment or hash argument was zero.
    error EmptyCommitment();
    /// @notice A twin with this id exists already.
    error TwinAlreadyExists(bytes32 twinId);
    /// @notice No twin has this id.
    error UnknownTwin(bytes32 twinId);
    /// @notice The twin is not in a status that allows the operation.
    error TwinNotActive(bytes32 twinId, TwinStatus status);
    /// @notice Only a suspended twin can be resumed.
    error TwinNotSuspended(bytes32 twinId, TwinStatus status);
    /// @notice The address is not an accredited custodian.
    error NotCustodian(address account);
    /// @notice The caller is neither the twin's owner nor one of its delegates.
    error NotTwinController(bytes32 twinId, address account);
    /// @notice The caller is not the twin's owner.
    error NotTwinOwner(bytes32 twinId, address account);
    /// @notice The caller is not the pending owner of the twin.
    error NotPendingOwner(bytes32 twinId, address account);
    /// @notice The category mask is empty or has undefined bits.
    error InvalidCategories(uint32 categories);
    /// @notice The source kind is `None` or undefined.
    error InvalidSourceKind(SourceKind kind);
    /// @notice The address is not an authorized source of the twin.
    error UnknownSource(bytes32 twinId, address source);
    /// @notice The address is already a delegate of the twin.
    error DelegateAlreadyAppointed(bytes32 twinId, address delegate);
    /// @notice The address is not a delegate of the twin.
    error UnknownDelegate(bytes32 twinId, address delegate);
    /// @notice The owner cannot be its own delegate, source or successor.
    error OwnerNotAllowed(bytes32 twinId, address owner);
    /// @notice The signed request's deadline has passed.
    error SignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signature is not the given signer's over this request, chain and contract.
    error InvalidSignature(address signer);

    /// @notice Creates a twin owned by the caller, built by an accredited custodian. Its id is
    /// `twinIdOf(msg.sender, salt)`: nobody else can create a twin under it.
    /// @param salt Any value the patient chooses (a random one keeps the id unlinkable to the patient's other twins;
    /// never an MRN); zero is fine.
    /// @param metadataCommitment Hash of the twin's off-chain metadata.
    /// @param custodian An accredited custodian.
    /// @return twinId The new twin's id.
    function createTwin(bytes32 salt, bytes32 metadataCommitment, address custodian) external returns (bytes32 twinId);

    /// @notice Creates a twin for a patient, by the custodian (the caller), with the patient's EIP-712 signature
    /// over `CreateTwin(address patient,bytes32 salt,bytes32 metadataCommitment,address custodian,uint256 nonce,uint256 deadline)`.
    /// Its id is `twinIdOf(patient, salt)`.
    /// @param patient The patient who signed and will own the twin (an EOA or an ERC-1271 wallet).
    /// @param salt The patient's salt for the id.
    /// @param metadataCommitment Hash of the twin's off-chain metadata.
    /// @param nonce The patient's current nonce (see `nonces`); a replayed signature fails on it.
    /// @param deadline Last timestamp at which the signature is valid.
    /// @param signature The patient's signature.
    /// @return twinId The new twin's id.
    function createTwinFor(
        address patient,
        bytes32 salt,
        bytes32 metadataCommitment,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 twinId);

    /// @notice Replaces the metadata commitment. Owner or delegate.
    function updateMetadata(bytes32 twinId, bytes32 metadataCommitment) external;

    /// @notice Moves the twin to another accredited custodian. Owner or delegate.
    function changeCustodian(bytes32 twinId, address newCustodian) external;

    /// @notice Authorizes a data source to write the given categories, or changes its categories. Owner or delegate.
    /// @param source The source's address (the key it signs updates with).
    /// @param kind What kind of source it is.
    /// @param categories DataCategory bits it may write; non-empty.
    function authorizeSource(bytes32 twinId, address source, SourceKind kind, uint32 categories) external;

    /// @notice Removes a data source. Owner or delegate.
    function removeSource(bytes32 twinId, address source) external;

    /// @notice Appoints a guardian or delegate who may act for the patient. Owner only.
    function appointDelegate(bytes32 twinId, address delegate) external;

    /// @notice Removes a delegate. The owner, or the delegate itself (resigning). Also cancels a pending ownership
    /// transfer that this delegate started or that names it as the new owner (`OwnershipTransferStarted` with a
    /// zero new owner).
    function removeDelegate(bytes32 twinId, address delegate) external;

    /// @notice Starts a two-step ownership transfer (key rotation, or recovery by a guardian); zero cancels.
    /// Owner or delegate; the caller is recorded as the one who started it (see `pendingTransferOf`).
    function transferOwnership(bytes32 twinId, address newOwner) external;

    /// @notice Accepts a pending ownership transfer. The pending owner only. Every delegate of the twin ends
    /// (`DelegatesCleared`: the new owner appoints its own), and if the new owner was a source of the twin it stops
    /// being one (`SourceRemoved`).
    function acceptOwnership(bytes32 twinId) external;

    /// @notice Suspends an active twin: no grant, emergency access or source works until resumed. Owner or delegate.
    function suspendTwin(bytes32 twinId) external;

    /// @notice Resumes a suspended twin. Owner or delegate.
    function resumeTwin(bytes32 twinId) external;

    /// @notice Marks the twin erased, for good. Off-chain keys are destroyed; the anchors remain as proof. Owner
    /// or delegate.
    function eraseTwin(bytes32 twinId) external;

    /// @notice The twin's metadata commitment (zero for an unknown id).
    function metadataOf(bytes32 twinId) external view returns (bytes32);

    /// @notice The address that may accept ownership of the twin, or zero.
    function pendingOwnerOf(bytes32 twinId) external view returns (address);

    /// @notice The pending ownership transfer of the twin: the address that may accept it and the controller who
    /// started it (both zero if none).
    function pendingTransferOf(bytes32 twinId) external view returns (address newOwner, address startedBy);

    /// @notice The twin's status (`None` for an unknown id).
    function statusOf(bytes32 twinId) external view returns (TwinStatus);

    /// @notice The twin's owner (zero for an unknown id).
    function ownerOf(bytes32 twinId) external view returns (address);

    /// @notice The twin's custodian (zero for an unknown id).
    function custodianOf(bytes32 twinId) external view returns (address);

    /// @notice Whether `account` is the owner or a current delegate of the twin; false on an erased twin (nobody
    /// controls it any more).
    function isController(bytes32 twinId, address account) external view returns (bool);

    /// @notice Whether `account` is a delegate of the twin appointed since its last ownership change (still answers
    /// on an erased twin, for the audit trail).
    function isDelegate(bytes32 twinId, address account) external view returns (bool);

    /// @notice The source's authorization on the twin (zero if none).
    function sourceOf(bytes32 twinId, address source) external view returns (SourceAuthorization memory);

    /// @notice The categories `source` may write now: its authorization if the twin is active, else zero.
    function writableCategories(bytes32 twinId, address source) external view returns (uint32);

    /// @notice The twin's status and whether `account` controls it (owner or delegate, as `isController`: false on an
    /// erased twin), in one call.
    function accessContext(bytes32 twinId, address account) external view returns (TwinStatus status, bool controller);

    /// @notice The id of the twin `patient` creates with `salt`: `keccak256(abi.encode(patient, salt))`.
    function twinIdOf(address patient, bytes32 salt) external pure returns (bytes32);

    /// @notice Whether `account` is an accredited custodian.
    function isCustodian(address account) external view returns (bool);

    /// @notice Whether `account` is an accredited emergency responder.
    function isEmergencyResponder(address account) external view returns (bool);
}
