// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Action, DataCategory, Purpose, TwinStatus} from "./Common.sol";
import {IConsentPolicy} from "./interfaces/IConsentPolicy.sol";
import {ITwinRegistry} from "./interfaces/ITwinRegistry.sol";

/// @title ConsentPolicy
/// @notice The patient's consent policies over their twins: grants, signed grants, consent requests and
/// break-glass emergency access, with one view (`checkAccess`) that the query gateway asks before every answer.
/// @dev Twins, owners, delegates and accredited responders live in the registry; this contract reads them and never
/// copies them, so a change of owner, delegate, status or accreditation holds here at once.
///
/// Erased twins: every grant and emergency access on them is void (`checkAccess` answers `TwinErased`) and nothing
/// new can be granted, while `revoke`, `denyRequest` and `closeEmergencyAccess` still work for the owner and
/// delegates: harmless, and it lets the audit trail end with explicit revocations. Suspended twins likewise refuse
/// new grants, requests and emergency accesses, and keep revoking, denying and closing open: the patient can always
/// take access away.
///
/// Gas: grant, grantBySig, revoke, the consent view and the deployment have budgets (test/gas/budgets.test.ts). Hence
/// the hand-packed grant slot, registry calls without the ABI coder (`_askRegistry`), a grant read before any
/// registry call in `checkAccess`, and `revoke` written out flat; each place says why.
contract ConsentPolicy is IConsentPolicy, EIP712, Nonces {
    /// @notice EIP-712 type of a grant signed off chain (see `grantBySig`).
    // solhint-disable-next-line gas-small-strings
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(bytes32 twinId,address grantee,uint32 categories,uint8 actions,uint16 purposes,uint40 validFrom,uint40 validUntil,address signer,uint256 nonce,uint256 deadline)"
    );
    /// @notice The longest emergency access a patient's policy may allow.
    uint32 public constant MAX_EMERGENCY_DURATION = 24 hours;
    /// @notice The longest access a consent request may ask for.
    uint32 public constant MAX_REQUEST_DURATION = 365 days;

    /// @dev Bit offsets of the fields of a packed grant (the storage layout Solidity gives `Grant`):
    /// categories (32 bits) | actions (8) | purposes (16) | validFrom (40) | validUntil (40) | revokedAt (40).
    uint256 private constant _ACTIONS_SHIFT = 32;
    uint256 private constant _PURPOSES_SHIFT = 40;
    uint256 private constant _VALID_FROM_SHIFT = 56;
    uint256 private constant _VALID_UNTIL_SHIFT = 96;
    uint256 private constant _REVOKED_AT_SHIFT = 136;
    /// @dev `packed - 1 < _LIVE_BOUND` exactly when a grant is stored and not revoked (see `_isLive`).
    uint256 private constant _LIVE_BOUND = (1 << _REVOKED_AT_SHIFT) - 1;

    /// @dev The registry is fixed at deployment: the source of truth for twins cannot be swapped.
    ITwinRegistry private immutable _REGISTRY;

    /// @dev One slot per grant (176 of 256 bits, offsets above), read and written as one word so that granting is
    /// one SSTORE, revoking one SLOAD and one SSTORE, and the consent check one SLOAD. A zero word means no grant: a
    /// stored grant always has `validUntil > validFrom >= 0`, so a non-zero validUntil.
    mapping(bytes32 twinId => mapping(address grantee => Grant)) private _grants;
    /// @dev One slot per twin: allowed (8 bits) | maxDuration (32, seconds) | categories (32) = 72 bits.
    mapping(bytes32 twinId => EmergencyPolicy) private _emergencyPolicies;
    /// @dev End (exclusive, 40 bits) of each responder's emergency access; zero when closed or never opened.
    mapping(bytes32 twinId => mapping(address responder => uint40 until)) private _emergencyUntil;
    /// @dev Two slots per request: twinId (256 bits), then requester (160) | categories (32) | purposes (16) |
    /// duration (32, seconds) | status (8) = 248 bits.
    mapping(uint256 requestId => ConsentRequest) private _requests;
    /// @dev The last request id handed out; ids start at 1, so id 0 is never a request.
    uint256 private _requestCount;

    /// @param registry_ The twin registry this policy reads owners, delegates, statuses and roles from.
    constructor(ITwinRegistry registry_) EIP712("TwinLedger ConsentPolicy", "1") {
        if (address(registry_) == address(0)) revert ZeroRegistry();
        _REGISTRY = registry_;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Grants
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentPolicy
    function grant(
        bytes32 twinId,
        address grantee,
        uint32 categories,
        uint8 actions,
        uint16 purposes,
        uint40 validFrom,
        uint40 validUntil
    ) external {
        _requireActiveController(twinId, msg.sender);
        _writeGrant(twinId, grantee, categories, actions, purposes, validFrom, validUntil, msg.sender, false);
    }

    /// @inheritdoc IConsentPolicy
    /// @dev `terms` is a static struct, so its ABI encoding is its seven members in place, one word each: exactly the
    /// EIP-712 encoding of the first seven members of `Grant`.
    function grantBySig(
        GrantTerms calldata terms,
        address signer,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        _useCheckedNonce(signer, nonce);
        bytes32 structHash;
        bytes32 typeHash = GRANT_TYPEHASH;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), terms, 0xe0)
            mstore(add(ptr, 0x100), signer)
            mstore(add(ptr, 0x120), nonce)
            mstore(add(ptr, 0x140), deadline)
            structHash := keccak256(ptr, 0x160)
        }
        bytes32 digest = _hashTypedDataV4(structHash);
        if (!SignatureChecker.isValidSignatureNowCalldata(signer, digest, signature)) revert InvalidSignature(signer);
        _requireActiveController(terms.twinId, signer);
        _writeGrant(
            terms.twinId,
            terms.grantee,
            terms.categories,
            terms.actions,
            terms.purposes,
            terms.validFrom,
            terms.validUntil,
            signer,
            false
        );
    }

    /// @inheritdoc IConsentPolicy
    function updateGrant(
        bytes32 twinId,
        address grantee,
        uint32 categories,
        uint8 actions,
        uint16 purposes,
        uint40 validFrom,
        uint40 validUntil
    ) external {
        _requireActiveController(twinId, msg.sender);
        _requireLiveGrant(_grants[twinId][grantee], twinId, grantee);
        _writeGrant(twinId, grantee, categories, actions, purposes, validFrom, validUntil, msg.sender, true);
    }

    /// @inheritdoc IConsentPolicy
    /// @dev Works on suspended and erased twins too. The patient taking access away is a hot path with a gas budget,
    /// so it is written out flat (each private call costs tens of gas): `_isController` inline, then one SLOAD and
    /// one SSTORE on the grant's slot.
    function revoke(bytes32 twinId, address grantee) external {
        (uint256 owner, ) = _askRegistry(ITwinRegistry.ownerOf.selector, twinId, address(0));
        if (owner != uint160(msg.sender) && !_isDelegate(twinId, msg.sender)) {
            revert NotTwinController(twinId, msg.sender);
        }
        Grant storage slot = _grants[twinId][grantee];
        uint256 packed;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            packed := sload(slot.slot)
        }
        if (!_isLive(packed)) revert NoActiveGrant(twinId, grantee);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(slot.slot, or(packed, shl(_REVOKED_AT_SHIFT, timestamp())))
        }
        emit ConsentRevoked(twinId, grantee, msg.sender);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Consent requests
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentPolicy
    function requestConsent(
        bytes32 twinId,
        uint32 categories,
        uint16 purposes,
        uint32 duration,
        bytes32 reasonHash
    ) external returns (uint256 requestId) {
        if (!_isActive(twinId)) revert TwinNotActive(twinId);
        _checkCategories(categories);
        _checkPurposes(purposes);
        if (duration == 0 || duration > MAX_REQUEST_DURATION) revert InvalidDuration(duration);
        unchecked {
            // Cannot overflow: one id per transaction.
            requestId = ++_requestCount;
        }
        ConsentRequest storage r = _requests[requestId];
        r.twinId = twinId;
        // The second slot in one SSTORE (the layout Solidity gives the struct, see `_requests`).
        uint256 rest =
            uint160(msg.sender) |
                (uint256(categories) << 160) |
                (uint256(purposes) << 192) |
                (uint256(duration) << 208) |
                (uint256(RequestStatus.Pending) << 240);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(add(r.slot, 1), rest)
        }
        emit ConsentRequested(requestId, twinId, msg.sender, categories, purposes, duration, reasonHash);
    }

    /// @inheritdoc IConsentPolicy
    function grantRequest(uint256 requestId, uint8 actions, uint40 validFrom) external {
        ConsentRequest storage r = _pendingRequest(requestId);
        bytes32 twinId = r.twinId;
        _requireActiveController(twinId, msg.sender);
        uint40 from = validFrom == 0 ? uint40(block.timestamp) : validFrom;
        uint40 until;
        unchecked {
            // A window ending past the uint40 range wraps below `from`, and `_writeGrant` refuses it (InvalidWindow).
            until = from + r.duration;
        }
        r.status = RequestStatus.Granted;
        _writeGrant(twinId, r.requester, r.categories, actions, r.purposes, from, until, msg.sender, false);
        emit ConsentRequestClosed(requestId, twinId, msg.sender, RequestStatus.Granted);
    }

    /// @inheritdoc IConsentPolicy
    function denyRequest(uint256 requestId) external {
        ConsentRequest storage r = _pendingRequest(requestId);
        bytes32 twinId = r.twinId;
        _requireController(twinId, msg.sender);
        r.status = RequestStatus.Denied;
        emit ConsentRequestClosed(requestId, twinId, msg.sender, RequestStatus.Denied);
    }

    /// @inheritdoc IConsentPolicy
    function withdrawRequest(uint256 requestId) external {
        ConsentRequest storage r = _pendingRequest(requestId);
        if (r.requester != msg.sender) revert NotRequester(requestId, msg.sender);
        r.status = RequestStatus.Withdrawn;
        emit ConsentRequestClosed(requestId, r.twinId, msg.sender, RequestStatus.Withdrawn);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Emergency access
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentPolicy
    /// @dev A policy that does not allow emergency access may keep a zero duration and no categories (or values
    /// prepared for later); undefined category bits and durations above the cap are refused either way.
    function setEmergencyPolicy(bytes32 twinId, bool allowed, uint32 maxDuration, uint32 categories) external {
        _requireActiveController(twinId, msg.sender);
        if (maxDuration > MAX_EMERGENCY_DURATION || (allowed && maxDuration == 0)) {
            revert EmergencyDurationTooLong(maxDuration, MAX_EMERGENCY_DURATION);
        }
        if (categories > DataCategory.ALL || (allowed && categories == 0)) revert InvalidCategories(categories);
        EmergencyPolicy storage policy = _emergencyPolicies[twinId];
        policy.allowed = allowed;
        policy.maxDuration = maxDuration;
        policy.categories = categories;
        emit EmergencyPolicySet(twinId, allowed, maxDuration, categories);
    }

    /// @inheritdoc IConsentPolicy
    /// @dev Opening again while open replaces the end; every opening leaves its own event.
    function openEmergencyAccess(bytes32 twinId, uint32 duration, bytes32 reasonHash) external {
        if (!_isResponder(msg.sender)) revert NotEmergencyResponder(msg.sender);
        if (!_isActive(twinId)) revert TwinNotActive(twinId);
        EmergencyPolicy storage policy = _emergencyPolicies[twinId];
        if (!policy.allowed) revert EmergencyAccessNotAllowed(twinId);
        if (duration == 0 || duration > policy.maxDuration) {
            revert EmergencyDurationTooLong(duration, policy.maxDuration);
        }
        if (reasonHash == bytes32(0)) revert EmptyReason();
        uint40 until;
        unchecked {
            // Cannot overflow before the year 36000: duration is at most a day.
            until = uint40(block.timestamp) + duration;
        }
        _emergencyUntil[twinId][msg.sender] = until;
        emit EmergencyAccessOpened(twinId, msg.sender, until, policy.categories, reasonHash);
    }

    /// @inheritdoc IConsentPolicy
    function closeEmergencyAccess(bytes32 twinId, address responder) external {
        if (msg.sender != responder && !_isController(twinId, msg.sender)) {
            revert NotAllowedToClose(twinId, msg.sender);
        }
        if (!(block.timestamp < _emergencyUntil[twinId][responder])) revert NoEmergencyAccess(twinId, responder);
        delete _emergencyUntil[twinId][responder];
        emit EmergencyAccessClosed(twinId, responder, msg.sender);
    }

    // ----------------------------------------------------------------------------------------------------------
    // The consent check
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentPolicy
    /// @dev Gas: the grant is read first, and a grant that allows costs one registry call (`statusOf`). Only when
    /// there is none, it refuses, or the twin is not active, is `accessContext` asked, for the controller rule and
    /// the precise reason.
    function checkAccess(
        bytes32 twinId,
        address account,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) public view returns (AccessDecision) {
        _checkCategories(category);
        _checkActions(action);
        _checkPurposes(purpose);
        uint256 packed = _loadGrant(_grants[twinId][account]);
        AccessDecision decision = AccessDecision.NoConsent;
        if (packed != 0) {
            decision = _grantDecision(packed, action, category, purpose);
            if (decision == AccessDecision.Allowed && _isActive(twinId)) return decision;
        }
        (uint256 status, bool controller) = _accessContext(twinId, account);
        if (status == uint256(TwinStatus.None)) return AccessDecision.UnknownTwin;
        if (status == uint256(TwinStatus.Erased)) return AccessDecision.TwinErased;
        if (controller) return AccessDecision.Allowed;
        if (status == uint256(TwinStatus.Suspended)) return AccessDecision.TwinSuspended;
        // The twin is active and the grant, if any, refuses: only an emergency access can still allow.
        uint40 until = _emergencyUntil[twinId][account];
        if (until != 0) {
            AccessDecision emergency = _emergencyDecision(twinId, account, until, action, category, purpose);
            if (emergency == AccessDecision.Allowed || packed == 0) return emergency;
        }
        return decision;
    }

    /// @inheritdoc IConsentPolicy
    function isAuthorized(
        bytes32 twinId,
        address account,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) external view returns (bool) {
        return checkAccess(twinId, account, action, category, purpose) == AccessDecision.Allowed;
    }

    // ----------------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentPolicy
    function grantOf(bytes32 twinId, address grantee) external view returns (Grant memory) {
        return _grants[twinId][grantee];
    }

    /// @inheritdoc IConsentPolicy
    function emergencyPolicyOf(bytes32 twinId) external view returns (EmergencyPolicy memory) {
        return _emergencyPolicies[twinId];
    }

    /// @inheritdoc IConsentPolicy
    function emergencyAccessUntil(bytes32 twinId, address responder) external view returns (uint40) {
        return _emergencyUntil[twinId][responder];
    }

    /// @inheritdoc IConsentPolicy
    function requestOf(uint256 requestId) external view returns (ConsentRequest memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IConsentPolicy
    function registry() external view returns (ITwinRegistry) {
        return _REGISTRY;
    }

    /// @notice The EIP-712 domain separator of this contract, for off-chain signers of `grantBySig`.
    /// @return The domain separator of ("TwinLedger ConsentPolicy", "1", this chain, this contract).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ----------------------------------------------------------------------------------------------------------
    // Internals: grants
    // ----------------------------------------------------------------------------------------------------------

    /// @dev Validates the terms and writes the grant in one SSTORE, not revoked. `update` only chooses the event.
    function _writeGrant(
        bytes32 twinId,
        address grantee,
        uint32 categories,
        uint8 actions,
        uint16 purposes,
        uint40 validFrom,
        uint40 validUntil,
        address grantor,
        bool update
    ) private {
        if (grantee == address(0)) revert ZeroGrantee();
        _checkCategories(categories);
        _checkActions(actions);
        _checkPurposes(purposes);
        if (!(validUntil > validFrom && validUntil > block.timestamp)) revert InvalidWindow(validFrom, validUntil);
        _storeGrant(
            _grants[twinId][grantee],
            uint256(categories) |
                (uint256(actions) << _ACTIONS_SHIFT) |
                (uint256(purposes) << _PURPOSES_SHIFT) |
                (uint256(validFrom) << _VALID_FROM_SHIFT) |
                (uint256(validUntil) << _VALID_UNTIL_SHIFT)
        );
        if (update) {
            emit ConsentUpdated(twinId, grantee, grantor, categories, actions, purposes, validFrom, validUntil);
        } else {
            emit ConsentGranted(twinId, grantee, grantor, categories, actions, purposes, validFrom, validUntil);
        }
    }

    /// @dev The grant in `slot` as one word (see the offsets above).
    function _loadGrant(Grant storage slot) private view returns (uint256 packed) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            packed := sload(slot.slot)
        }
    }

    /// @dev Writes the grant in `slot` as one word: one SSTORE, where Solidity would update it field by field.
    function _storeGrant(Grant storage slot, uint256 packed) private {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            sstore(slot.slot, packed)
        }
    }

    /// @dev Reverts unless the grant in `slot` exists and is not revoked (expired is fine).
    function _requireLiveGrant(Grant storage slot, bytes32 twinId, address grantee) private view {
        if (!_isLive(_loadGrant(slot))) revert NoActiveGrant(twinId, grantee);
    }

    /// @dev Whether a packed grant exists and is not revoked: `0 < packed < 2**136`, since revokedAt is the top field
    /// and a stored grant has a non-zero validUntil below it. One comparison: zero wraps to the top.
    function _isLive(uint256 packed) private pure returns (bool) {
        unchecked {
            return packed - 1 < _LIVE_BOUND;
        }
    }

    /// @dev What an existing grant answers, the twin's status aside.
    function _grantDecision(
        uint256 packed,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) private view returns (AccessDecision) {
        if (packed >> _REVOKED_AT_SHIFT != 0) return AccessDecision.Revoked;
        if (block.timestamp < uint40(packed >> _VALID_FROM_SHIFT)) return AccessDecision.NotYetValid;
        if (!(block.timestamp < uint40(packed >> _VALID_UNTIL_SHIFT))) return AccessDecision.Expired;
        if (category & ~uint32(packed) != 0) return AccessDecision.CategoryNotGranted;
        if (action & ~uint8(packed >> _ACTIONS_SHIFT) != 0) return AccessDecision.ActionNotGranted;
        if (purpose & ~uint16(packed >> _PURPOSES_SHIFT) != 0) return AccessDecision.PurposeNotGranted;
        return AccessDecision.Allowed;
    }

    /// @dev What an open emergency access (`until != 0`) answers on an active twin. The patient's current policy
    /// applies, so narrowing or disallowing it holds for accesses already open (a disallowed policy answers
    /// `Revoked`), and so does the loss of the responder's accreditation (`NoConsent`). The registry is asked last.
    function _emergencyDecision(
        bytes32 twinId,
        address account,
        uint40 until,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) private view returns (AccessDecision) {
        if (!(block.timestamp < until)) return AccessDecision.Expired;
        if (action != Action.READ) return AccessDecision.ActionNotGranted;
        if (purpose != Purpose.EMERGENCY) return AccessDecision.PurposeNotGranted;
        EmergencyPolicy storage policy = _emergencyPolicies[twinId];
        if (!policy.allowed) return AccessDecision.Revoked;
        if (category & ~policy.categories != 0) return AccessDecision.CategoryNotGranted;
        if (!_isResponder(account)) return AccessDecision.NoConsent;
        return AccessDecision.Allowed;
    }

    /// @dev The request, which must exist and be pending.
    function _pendingRequest(uint256 requestId) private view returns (ConsentRequest storage r) {
        r = _requests[requestId];
        RequestStatus status = r.status;
        if (status == RequestStatus.None) revert UnknownRequest(requestId);
        if (status != RequestStatus.Pending) revert RequestNotPending(requestId, status);
    }

    /// @dev The `ALL` masks are contiguous low bits, so "non-zero with no undefined bit" is a range check.
    function _checkCategories(uint32 categories) private pure {
        if (categories == 0 || categories > DataCategory.ALL) revert InvalidCategories(categories);
    }

    /// @dev See `_checkCategories`.
    function _checkActions(uint8 actions) private pure {
        if (actions == 0 || actions > Action.ALL) revert InvalidActions(actions);
    }

    /// @dev See `_checkCategories`.
    function _checkPurposes(uint16 purposes) private pure {
        if (purposes == 0 || purposes > Purpose.ALL) revert InvalidPurposes(purposes);
    }

    // ----------------------------------------------------------------------------------------------------------
    // Internals: the registry
    // ----------------------------------------------------------------------------------------------------------

    /// @dev Reverts unless `account` is the owner or a delegate of an active twin.
    function _requireActiveController(bytes32 twinId, address account) private view {
        (uint256 status, bool controller) = _accessContext(twinId, account);
        if (status != uint256(TwinStatus.Active)) revert TwinNotActive(twinId);
        if (!controller) revert NotTwinController(twinId, account);
    }

    /// @dev Reverts unless `account` is the owner or a delegate of the twin, whatever its status.
    function _requireController(bytes32 twinId, address account) private view {
        if (!_isController(twinId, account)) revert NotTwinController(twinId, account);
    }

    /// @dev Statuses stay raw words here: comparing enum values costs a range check each time.
    function _isActive(bytes32 twinId) private view returns (bool) {
        (uint256 status, ) = _askRegistry(ITwinRegistry.statusOf.selector, twinId, address(0));
        return status == uint256(TwinStatus.Active);
    }

    /// @dev The twin's status (a raw `TwinStatus` value) and whether `account` controls it, in one registry call.
    function _accessContext(bytes32 twinId, address account) private view returns (uint256 status, bool controller) {
        uint256 word1;
        (status, word1) = _askRegistry(ITwinRegistry.accessContext.selector, twinId, account);
        controller = word1 != 0;
    }

    /// @dev `ITwinRegistry.isController` in two steps: the owner first, with the registry's cheapest view, and the
    /// delegates only for anyone else. The patient revoking is the path that must stay cheap (one call); a delegate
    /// pays a second, warm call. `account` is never zero here (a caller), so an unknown twin's zero owner never
    /// matches. `revoke` has the same two steps inline.
    function _isController(bytes32 twinId, address account) private view returns (bool) {
        (uint256 owner, ) = _askRegistry(ITwinRegistry.ownerOf.selector, twinId, address(0));
        return owner == uint160(account) || _isDelegate(twinId, account);
    }

    /// @dev Whether `account` is a delegate of the twin (`ITwinRegistry.isDelegate`).
    function _isDelegate(bytes32 twinId, address account) private view returns (bool) {
        (uint256 delegate, ) = _askRegistry(ITwinRegistry.isDelegate.selector, twinId, account);
        return delegate != 0;
    }

    /// @dev Whether `account` is an accredited emergency responder now (`ITwinRegistry.isEmergencyResponder`).
    function _isResponder(address account) private view returns (bool) {
        (uint256 responder, ) = _askRegistry(
            ITwinRegistry.isEmergencyResponder.selector,
            bytes32(uint256(uint160(account))),
            address(0)
        );
        return responder != 0;
    }

    /// @dev Calls the view `selector(first, second)` of the registry and returns the first two words of its answer
    /// (views of one argument ignore the extra word; `word1` means something only for two-word answers). Written
    /// without the ABI coder, whose copies and checks cost a few hundred gas a call that the budgets of `revoke` and
    /// `checkAccess` do not have, and some 500 bytes of code: the registry is fixed and trusted (its views never
    /// revert), so only a call failure or an answer shorter than a word reverts, bubbling the registry's revert data.
    function _askRegistry(
        bytes4 selector,
        bytes32 first,
        address second
    ) private view returns (uint256 word0, uint256 word1) {
        address target = address(_REGISTRY);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), first)
            mstore(add(ptr, 0x24), second)
            if iszero(and(gt(returndatasize(), 0x1f), staticcall(gas(), target, ptr, 0x44, 0x00, 0x40))) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            word0 := mload(0x00)
            word1 := mload(0x20)
        }
    }
}
