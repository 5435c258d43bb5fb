// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ITwinRegistry} from "./ITwinRegistry.sol";

/// @title IConsentPolicy
/// @notice The patient's consent policies over a twin: grants to a grantee over data categories, actions and
/// purposes (bitmasks, see Common.sol) within a validity window; grants signed off chain (EIP-712) and relayed by
/// anyone; consent requests from would-be readers; time-boxed emergency access for accredited responders where the
/// patient's policy allows it. One view answers: may this address do this action on this category for this
/// purpose now?
/// @dev One grant per (twin, grantee): granting again replaces it. A grant answers a query when the query's
/// category, action and purpose bits are all inside the grant's masks, `validFrom <= now < validUntil`, the grant
/// is not revoked and the twin is active. The twin's owner and delegates are always allowed on a twin that is not
/// erased. An open emergency access allows `Action.READ` on the categories of the patient's emergency policy for
/// `Purpose.EMERGENCY` only.
///
/// Twin status: granting, updating, answering requests, asking for consent, setting the emergency policy and opening
/// emergency access need an active twin (`TwinNotActive` otherwise). Revoking, denying a request and closing an
/// emergency access work whatever the status, so the patient can always take access away; on an erased twin they
/// are harmless (every grant there is void already) and let the audit trail end with an explicit revocation.
///
/// Signed grants can be cancelled: each (twin, grantee) pair has an epoch that every controller write to the pair
/// (grant, grantBySig, updateGrant, revoke, grantRequest) increments, and a signature names the epoch it was made
/// in, so any later write by the patient voids it; each signer's nonces are unordered (a bitmap, as in Permit2), so
/// an unrelayed signature blocks no other, and a signer may cancel one.
///
/// Blocking: the patient may block an account on a twin. A blocked account cannot open emergency access (an open one
/// is closed at once) nor ask for consent, and `checkAccess` answers `Blocked` for it where it holds no grant. Grants
/// the patient makes to it directly (grant, grantBySig, updateGrant, grantRequest) still apply: each is the patient's
/// explicit act, later than or independent of the block, and revoking is how to end one.
interface IConsentPolicy {
    /// @notice The terms of a grant, as signed off chain.
    /// @param twinId The twin.
    /// @param grantee Who receives access.
    /// @param categories DataCategory bits; non-empty.
    /// @param actions Action bits; non-empty.
    /// @param purposes Purpose bits; non-empty.
    /// @param validFrom First second of validity.
    /// @param validUntil First second after validity; greater than `validFrom`.
    struct GrantTerms {
        bytes32 twinId;
        address grantee;
        uint32 categories;
        uint8 actions;
        uint16 purposes;
        uint40 validFrom;
        uint40 validUntil;
    }

    /// @notice A grant as stored: one slot.
    /// @param categories DataCategory bits.
    /// @param actions Action bits.
    /// @param purposes Purpose bits.
    /// @param validFrom First second of validity.
    /// @param validUntil First second after validity.
    /// @param revokedAt When it was revoked, or zero.
    struct Grant {
        uint32 categories;
        uint8 actions;
        uint16 purposes;
        uint40 validFrom;
        uint40 validUntil;
        uint40 revokedAt;
    }

    /// @notice The patient's emergency policy for a twin.
    /// @param allowed Whether accredited responders may open emergency access at all.
    /// @param maxDuration The longest emergency access, in seconds (at most `MAX_EMERGENCY_DURATION`).
    /// @param categories The categories an emergency access may read.
    struct EmergencyPolicy {
        bool allowed;
        uint32 maxDuration;
        uint32 categories;
    }

    /// @notice Lifecycle of a consent request.
    enum RequestStatus {
        None,
        Pending,
        Granted,
        Denied,
        Withdrawn
    }

    /// @notice A consent request by a would-be reader.
    /// @param expiresAt First second at which the request can no longer be granted (`REQUEST_LIFETIME` after it was
    /// made); it can still be denied or withdrawn, and no longer counts as open.
    struct ConsentRequest {
        bytes32 twinId;
        address requester;
        uint32 categories;
        uint16 purposes;
        uint32 duration;
        RequestStatus status;
        uint40 expiresAt;
    }

    /// @notice A responder's emergency access to a twin.
    /// @param openedAt When the access now open (or last open) was first opened; re-opening never moves it. Zero once
    /// closed by `closeEmergencyAccess` or a block.
    /// @param until End (exclusive) of the access; open while `block.timestamp < until`. Zero once closed.
    /// @param cooldownUntil Before this time the responder cannot open access again (set when a controller closes it).
    struct EmergencyAccess {
        uint40 openedAt;
        uint40 until;
        uint40 cooldownUntil;
    }

    /// @notice The answer of `checkAccess`: `Allowed`, or why not (the query gateway's refusal reasons).
    enum AccessDecision {
        Allowed,
        UnknownTwin,
        TwinSuspended,
        TwinErased,
        NoConsent,
        NotYetValid,
        Expired,
        Revoked,
        CategoryNotGranted,
        ActionNotGranted,
        PurposeNotGranted,
        Blocked
    }

    /// @notice Emitted when a grant is made or replaced (directly, by signature, or answering a request). `grantor` is
    /// the owner or delegate who granted: the caller, or the signer of `grantBySig`.
    event ConsentGranted(
        bytes32 indexed twinId,
        address indexed grantee,
        address indexed grantor,
        uint32 categories,
        uint8 actions,
        uint16 purposes,
        uint40 validFrom,
        uint40 validUntil
    );
    /// @notice Emitted when the terms of a live grant are changed.
    event ConsentUpdated(
        bytes32 indexed twinId,
        address indexed grantee,
        address indexed grantor,
        uint32 categories,
        uint8 actions,
        uint16 purposes,
        uint40 validFrom,
        uint40 validUntil
    );
    /// @notice Emitted when a grant is revoked; it holds from this block on.
    event ConsentRevoked(bytes32 indexed twinId, address indexed grantee, address indexed revokedBy);
    /// @notice Emitted when a would-be reader asks for consent; the patient's app listens for it.
    event ConsentRequested(
        uint256 indexed requestId,
        bytes32 indexed twinId,
        address indexed requester,
        uint32 categories,
        uint16 purposes,
        uint32 duration,
        bytes32 reasonHash
    );
    /// @notice Emitted when a request is granted, denied or withdrawn.
    event ConsentRequestClosed(
        uint256 indexed requestId,
        bytes32 indexed twinId,
        address indexed closedBy,
        RequestStatus status
    );
    /// @notice Emitted when the patient sets the twin's emergency policy.
    // solhint-disable-next-line gas-indexed-events
    event EmergencyPolicySet(bytes32 indexed twinId, bool allowed, uint32 maxDuration, uint32 categories);
    /// @notice Emitted when an accredited responder opens emergency (break-glass) access.
    // solhint-disable-next-line gas-indexed-events
    event EmergencyAccessOpened(
        bytes32 indexed twinId,
        address indexed responder,
        uint40 until,
        uint32 categories,
        bytes32 reasonHash
    );
    /// @notice Emitted when emergency access is closed before it ends, by the patient, a delegate or the responder
    /// (also when a block closes it).
    event EmergencyAccessClosed(bytes32 indexed twinId, address indexed responder, address indexed closedBy);
    /// @notice Emitted when a signer cancels one of their grant-signature nonces.
    // solhint-disable-next-line gas-indexed-events
    event NonceCancelled(address indexed signer, uint256 nonce);
    /// @notice Emitted when a controller blocks or unblocks an account on a twin.
    // solhint-disable-next-line gas-indexed-events
    event AccountBlocked(bytes32 indexed twinId, address indexed account, bool blocked);

    /// @notice The registry address was zero.
    error ZeroRegistry();
    /// @notice The grantee was the zero address.
    error ZeroGrantee();
    /// @notice The caller (or signer) is neither the twin's owner nor one of its delegates.
    error NotTwinController(bytes32 twinId, address account);
    /// @notice The twin is unknown, suspended or erased.
    error TwinNotActive(bytes32 twinId);
    /// @notice The category mask is empty or has undefined bits.
    error InvalidCategories(uint32 categories);
    /// @notice The action mask is empty or has undefined bits.
    error InvalidActions(uint8 actions);
    /// @notice The purpose mask is empty or has undefined bits.
    error InvalidPurposes(uint16 purposes);
    /// @notice The window ends before (or when) it starts, or has already ended.
    error InvalidWindow(uint40 validFrom, uint40 validUntil);
    /// @notice There is no live (unrevoked) grant for the grantee on the twin.
    error NoActiveGrant(bytes32 twinId, address grantee);
    /// @notice The signed grant's deadline has passed.
    error SignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signature is not the signer's over these terms, nonce, chain and contract.
    error InvalidSignature(address signer);
    /// @notice The requested duration is zero or longer than `MAX_REQUEST_DURATION`.
    error InvalidDuration(uint256 duration);
    /// @notice No request has this id.
    error UnknownRequest(uint256 requestId);
    /// @notice The request was already granted, denied or withdrawn.
    error RequestNotPending(uint256 requestId, RequestStatus status);
    /// @notice The caller is not the one who made the request.
    error NotRequester(uint256 requestId, address account);
    /// @notice The caller is not an accredited emergency responder.
    error NotEmergencyResponder(address account);
    /// @notice The twin's emergency policy does not allow emergency access.
    error EmergencyAccessNotAllowed(bytes32 twinId);
    /// @notice The emergency duration is zero or above the patient's maximum.
    error EmergencyDurationTooLong(uint256 duration, uint256 maxDuration);
    /// @notice The reason hash was zero: emergency access must always carry one.
    error EmptyReason();
    /// @notice No emergency access is open for the responder on the twin.
    error NoEmergencyAccess(bytes32 twinId, address responder);
    /// @notice The caller may not close this emergency access.
    error NotAllowedToClose(bytes32 twinId, address account);
    /// @notice The signer's nonce was used or cancelled already.
    error NonceAlreadyUsed(address signer, uint256 nonce);
    /// @notice The signature was made in an earlier epoch of the (twin, grantee) pair: a controller has granted,
    /// updated or revoked since, which voids it.
    error StaleGrantSignature(bytes32 twinId, address grantee, uint32 epoch, uint32 currentEpoch);
    /// @notice A controller closed the responder's emergency access; they cannot open it again before `until`.
    error EmergencyCooldown(bytes32 twinId, address responder, uint40 until);
    /// @notice The account is blocked on the twin.
    error AccountIsBlocked(bytes32 twinId, address account);
    /// @notice The request has expired and can no longer be granted.
    error RequestExpired(uint256 requestId, uint40 expiresAt);
    /// @notice The requester already has an open (pending and unexpired) request on the twin.
    error RequestAlreadyOpen(uint256 requestId);
    /// @notice The requester holds a grant that is neither revoked nor expired; `updateGrant` changes it.
    error GrantExists(bytes32 twinId, address grantee);
    /// @notice The registry answered `selector` with `size` bytes where the view answers exactly `expected`.
    error InvalidRegistryAnswer(bytes4 selector, uint256 size, uint256 expected);

    /// @notice Grants (or replaces the grant of) `grantee` on a twin. Owner or delegate.
    function grant(
        bytes32 twinId,
        address grantee,
        uint32 categories,
        uint8 actions,
        uint16 purposes,
        uint40 validFrom,
        uint40 validUntil
    ) external;

    /// @notice The same grant, signed off chain by the owner or a delegate over
    /// `Grant(bytes32 twinId,address grantee,uint32 categories,uint8 actions,uint16 purposes,uint40 validFrom,uint40 validUntil,address signer,uint32 epoch,uint256 nonce,uint256 deadline)`
    /// and submitted by anyone. Refused once a controller has written the pair since the signature was made
    /// (`StaleGrantSignature`), or once the nonce is used or cancelled (`NonceAlreadyUsed`). Increments the epoch.
    /// @param terms The grant's terms.
    /// @param signer Owner or delegate of the twin who signed (an EOA or an ERC-1271 wallet).
    /// @param epoch The pair's epoch when signing (`grantEpochOf(terms.twinId, terms.grantee)`).
    /// @param nonce Any nonce of the signer not used or cancelled yet (see `nonceUsed`); nonces are unordered.
    /// @param deadline Last timestamp at which the signature may be used.
    /// @param signature The signature.
    function grantBySig(
        GrantTerms calldata terms,
        address signer,
        uint32 epoch,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Cancels one of the caller's grant-signature nonces: a signature using it can no longer be relayed.
    /// Reverts with `NonceAlreadyUsed` if it is used or cancelled already. Emits `NonceCancelled`.
    function cancelNonce(uint256 nonce) external;

    /// @notice Changes the terms of a live grant: one that exists and is not revoked (an expired one may be renewed).
    /// Owner or delegate, on an active twin. The new terms are checked as in `grant`; emits `ConsentUpdated`.
    /// Increments the pair's epoch, like `grant`.
    function updateGrant(
        bytes32 twinId,
        address grantee,
        uint32 categories,
        uint8 actions,
        uint16 purposes,
        uint40 validFrom,
        uint40 validUntil
    ) external;

    /// @notice Revokes the grant of `grantee`; it holds from this block on. Owner or delegate, whatever the twin's
    /// status (`NotTwinController` for anyone else). Always increments the pair's epoch, voiding every signature for
    /// the pair not relayed yet, and emits `ConsentRevoked`; a live grant (an expired one too) gets `revokedAt`, and
    /// with no live grant (none, or revoked already) the revoke only voids those signatures. A new `grant` replaces
    /// a revoked one.
    function revoke(bytes32 twinId, address grantee) external;

    /// @notice Asks the patient for consent. Anyone not blocked on the twin (`AccountIsBlocked`), on an active twin;
    /// the request is an event the patient's app listens to. Ids are sequential from 1. A request expires
    /// `REQUEST_LIFETIME` after it is made, and a requester has at most one open (pending and unexpired) request per
    /// twin (`RequestAlreadyOpen`).
    /// @param categories DataCategory bits asked for.
    /// @param purposes Purpose bits asked for.
    /// @param duration How long access is asked for, in seconds (at most `MAX_REQUEST_DURATION`).
    /// @param reasonHash Hash of the off-chain reason text; never the text itself.
    /// @return requestId The request's id.
    function requestConsent(
        bytes32 twinId,
        uint32 categories,
        uint16 purposes,
        uint32 duration,
        bytes32 reasonHash
    ) external returns (uint256 requestId);

    /// @notice Answers a pending request with a grant of what it asked for, from `validFrom` for its duration, to the
    /// requester. Owner or delegate, on an active twin. Emits `ConsentGranted`, then `ConsentRequestClosed(Granted)`.
    /// A window that would have ended already, or past the uint40 range, reverts with `InvalidWindow`; an expired
    /// request with `RequestExpired`. It never narrows a grant: if the requester holds one that is neither revoked nor
    /// expired, it reverts with `GrantExists` (the patient changes that grant with `updateGrant` instead). It grants a
    /// blocked requester too: answering is the patient's explicit act. Increments the pair's epoch.
    /// @param actions Action bits granted.
    /// @param validFrom Start of the window; zero means now.
    function grantRequest(uint256 requestId, uint8 actions, uint40 validFrom) external;

    /// @notice Denies a pending request (expired or not). Owner or delegate, whatever the twin's status.
    function denyRequest(uint256 requestId) external;

    /// @notice Withdraws one's own pending request (expired or not).
    function withdrawRequest(uint256 requestId) external;

    /// @notice Sets whether, for how long at most and on which categories emergency access may be opened. Owner or
    /// delegate, on an active twin. Until set, emergency access is not allowed. `maxDuration` is at most
    /// `MAX_EMERGENCY_DURATION` (else `EmergencyDurationTooLong(maxDuration, MAX_EMERGENCY_DURATION)`), and non-zero
    /// when allowed; `categories` has no undefined bit, and is non-empty when allowed (else `InvalidCategories`). The
    /// policy in force applies to accesses already open.
    function setEmergencyPolicy(bytes32 twinId, bool allowed, uint32 maxDuration, uint32 categories) external;

    /// @notice Opens emergency (break-glass) access to the twin for the caller, an accredited emergency responder not
    /// blocked on the twin (`AccountIsBlocked`) and not in a cooldown (`EmergencyCooldown`), on an active twin whose
    /// policy allows it, until `now + duration`. Opening again while open replaces the end, but never past
    /// `openedAt + maxDuration` of the policy in force: the end is capped, and the event carries the capped end (a
    /// re-opening with nothing left to give reverts with `EmergencyDurationTooLong(duration, 0)`). Each opening emits
    /// `EmergencyAccessOpened`.
    /// @param duration Seconds; at most the patient's maximum.
    /// @param reasonHash Hash of the off-chain reason; required.
    function openEmergencyAccess(bytes32 twinId, uint32 duration, bytes32 reasonHash) external;

    /// @notice Closes an open emergency access at once. Owner, delegate (whatever the twin's status), or the responder
    /// itself. An access that has ended already is not open (`NoEmergencyAccess`). When someone other than the
    /// responder closes it, the responder cannot open again on the twin for `EMERGENCY_COOLDOWN`.
    function closeEmergencyAccess(bytes32 twinId, address responder) external;

    /// @notice Blocks or unblocks `account` on the twin (see the contract's notice). Owner or delegate, whatever the
    /// twin's status. Blocking closes the account's open emergency access at once (emitting `EmergencyAccessClosed`).
    /// Emits `AccountBlocked`.
    function setBlocked(bytes32 twinId, address account, bool blocked) external;

    /// @notice Whether `account` may do `action` on `category` for `purpose` now, and if not, why.
    /// @dev Masks with several bits ask for all of them. Reverts on empty or undefined masks (`InvalidActions`,
    /// `InvalidCategories`, `InvalidPurposes`). The answer, in order: `UnknownTwin`; `TwinErased`; `Allowed` for the
    /// owner and delegates; `TwinSuspended`; then `Allowed` if the grant or an open emergency access allows. Otherwise
    /// the grant's reason (`Revoked`, `NotYetValid`, `Expired`, `CategoryNotGranted`, `ActionNotGranted`,
    /// `PurposeNotGranted`, in that order); without a grant, `Blocked` for an account blocked on the twin, else the
    /// emergency access's reason (`Expired`, `ActionNotGranted` unless exactly `Action.READ`, `PurposeNotGranted`
    /// unless exactly `Purpose.EMERGENCY`, `Revoked` when the patient's policy no longer allows emergency access,
    /// `CategoryNotGranted` outside its categories, `NoConsent` when the responder has lost accreditation), or
    /// `NoConsent` with neither. A blocked account's grant answers as any grant (see the contract's notice).
    function checkAccess(
        bytes32 twinId,
        address account,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) external view returns (AccessDecision);

    /// @notice `checkAccess(...) == AccessDecision.Allowed`.
    function isAuthorized(
        bytes32 twinId,
        address account,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) external view returns (bool);

    /// @notice The stored grant of `grantee` on the twin (zero if none).
    function grantOf(bytes32 twinId, address grantee) external view returns (Grant memory);

    /// @notice The twin's emergency policy.
    function emergencyPolicyOf(bytes32 twinId) external view returns (EmergencyPolicy memory);

    /// @notice When the responder's emergency access ends (zero or past if none is open).
    function emergencyAccessUntil(bytes32 twinId, address responder) external view returns (uint40);

    /// @notice The responder's emergency access on the twin: first opening, end and cooldown.
    function emergencyAccessOf(bytes32 twinId, address responder) external view returns (EmergencyAccess memory);

    /// @notice Whether `account` is blocked on the twin.
    function isBlocked(bytes32 twinId, address account) external view returns (bool);

    /// @notice Whether the signer's grant-signature `nonce` is used or cancelled.
    function nonceUsed(address signer, uint256 nonce) external view returns (bool);

    /// @notice The (twin, grantee) pair's epoch, which a signed grant must name (see `grantBySig`).
    function grantEpochOf(bytes32 twinId, address grantee) external view returns (uint32);

    /// @notice A consent request.
    function requestOf(uint256 requestId) external view returns (ConsentRequest memory);

    /// @notice The registry this policy reads twins, controllers and roles from.
    function registry() external view returns (ITwinRegistry);
}
