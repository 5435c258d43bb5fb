// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {LowLevelCall} from "@openzeppelin/contracts/utils/LowLevelCall.sol";
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
/// new can be granted, while `revoke`, `denyRequest`, `closeEmergencyAccess` and `setBlocked` still work for the
/// owner and delegates: harmless, and it lets the audit trail end with explicit revocations. Suspended twins likewise
/// refuse new grants, requests and emergency accesses, and keep revoking, denying, closing and blocking open: the
/// patient can always take access away.
///
/// Blocked accounts and direct grants: a block is about the paths the account opens itself (emergency access,
/// consent requests). A grant the patient makes to a blocked account (directly, by signature or by answering a
/// request) still applies: it is the patient's explicit act, and `revoke` ends it.
///
/// Gas: grant, grantBySig, revoke, the consent view and the deployment have budgets (test/gas/budgets.test.ts). Hence
/// the grant and its epoch in one word (one SLOAD and one SSTORE per write), a grant read before any registry call in
/// `checkAccess`, and `revoke` written out flat. No inline assembly: registry answers go through OpenZeppelin's
/// `LowLevelCall`, which leaves the answer in scratch memory without copying it, and its size is checked exactly.
contract ConsentPolicy is IConsentPolicy, EIP712 {
    /// @notice EIP-712 type of a grant signed off chain (see `grantBySig`).
    // solhint-disable-next-line gas-small-strings
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(bytes32 twinId,address grantee,uint32 categories,uint8 actions,uint16 purposes,uint40 validFrom,uint40 validUntil,address signer,uint32 epoch,uint256 nonce,uint256 deadline)"
    );
    /// @notice The longest emergency access a patient's policy may allow.
    uint32 public constant MAX_EMERGENCY_DURATION = 24 hours;
    /// @notice How long a responder whose emergency access a controller closed must wait to open it again.
    uint32 public constant EMERGENCY_COOLDOWN = 24 hours;
    /// @notice The longest access a consent request may ask for.
    uint32 public constant MAX_REQUEST_DURATION = 365 days;
    /// @notice How long a consent request can be granted after it is made.
    uint32 public constant REQUEST_LIFETIME = 30 days;

    /// @dev Bit offsets of the fields of a packed grant word (see `_grants`):
    /// categories (32 bits) | actions (8) | purposes (16) | validFrom (40) | validUntil (40) | revokedAt (40) |
    /// 48 unused bits | epoch (32, the top bits, so that adding `_EPOCH_ONE` wraps the epoch and touches nothing else).
    uint256 private constant _ACTIONS_SHIFT = 32;
    uint256 private constant _PURPOSES_SHIFT = 40;
    uint256 private constant _VALID_FROM_SHIFT = 56;
    uint256 private constant _VALID_UNTIL_SHIFT = 96;
    uint256 private constant _REVOKED_AT_SHIFT = 136;
    uint256 private constant _EPOCH_SHIFT = 224;
    /// @dev The grant's fields in a packed word (all but the epoch).
    uint256 private constant _GRANT_MASK = (1 << (_REVOKED_AT_SHIFT + 40)) - 1;
    /// @dev `(packed & _GRANT_MASK) - 1 < _LIVE_BOUND` exactly when a grant is stored and not revoked (see `_isLive`).
    uint256 private constant _LIVE_BOUND = (1 << _REVOKED_AT_SHIFT) - 1;
    /// @dev One epoch step in a packed grant word.
    uint256 private constant _EPOCH_ONE = 1 << _EPOCH_SHIFT;

    /// @dev The registry is fixed at deployment: the source of truth for twins cannot be swapped.
    ITwinRegistry private immutable _REGISTRY;

    /// @dev One word per (twin, grantee): the grant's terms, when it was revoked, and the pair's epoch (offsets above),
    /// read and written whole, so that granting is one SLOAD and one SSTORE, revoking the same, and the consent check
    /// one SLOAD. No grant when `validUntil` is zero: a stored grant always has `validUntil > validFrom >= 0`. A pair
    /// with no grant may still hold an epoch (a revoke with no live grant bumps it).
    mapping(bytes32 twinId => mapping(address grantee => uint256 packed)) private _grants;
    /// @dev One slot per twin: allowed (8 bits) | maxDuration (32, seconds) | categories (32) = 72 bits.
    mapping(bytes32 twinId => EmergencyPolicy) private _emergencyPolicies;
    /// @dev One slot per (twin, responder): openedAt (40 bits) | until (40, exclusive) | cooldownUntil (40) = 120 bits.
    mapping(bytes32 twinId => mapping(address responder => EmergencyAccess)) private _emergencyAccess;
    /// @dev Accounts the twin's controllers blocked (see the contract's notice).
    mapping(bytes32 twinId => mapping(address account => bool blocked)) private _blocked;
    /// @dev Three slots per request: twinId (256 bits); requester (160) | categories (32) | purposes (16) |
    /// duration (32, seconds) | status (8) = 248 bits; expiresAt (40).
    mapping(uint256 requestId => ConsentRequest) private _requests;
    /// @dev Each requester's latest request on each twin (zero if none): at most that one can be open.
    mapping(bytes32 twinId => mapping(address requester => uint256 requestId)) private _latestRequest;
    /// @dev The last request id handed out; ids start at 1, so id 0 is never a request.
    uint256 private _requestCount;
    /// @dev Used or cancelled grant-signature nonces, 256 to a word as in Permit2: nonce `n` is bit `n % 256` of word
    /// `n / 256`. A signer who numbers nonces from zero pays for a fresh word once every 256 signatures.
    mapping(address signer => mapping(uint256 wordIndex => uint256 bits)) private _nonceBitmaps;

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
    /// @dev The epoch is checked against the pair's word before the write increments it, so a signature is good for
    /// one write at most even apart from its nonce.
    function grantBySig(
        GrantTerms calldata terms,
        address signer,
        uint32 epoch,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        _useNonce(signer, nonce);
        bytes32 structHash = keccak256(abi.encode(GRANT_TYPEHASH, terms, signer, epoch, nonce, deadline));
        if (!SignatureChecker.isValidSignatureNowCalldata(signer, _hashTypedDataV4(structHash), signature)) {
            revert InvalidSignature(signer);
        }
        _requireActiveController(terms.twinId, signer);
        uint32 currentEpoch = uint32(_grants[terms.twinId][terms.grantee] >> _EPOCH_SHIFT);
        if (epoch != currentEpoch) revert StaleGrantSignature(terms.twinId, terms.grantee, epoch, currentEpoch);
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
    function cancelNonce(uint256 nonce) external {
        _useNonce(msg.sender, nonce);
        emit NonceCancelled(msg.sender, nonce);
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
        if (!_isLive(_grants[twinId][grantee])) revert NoActiveGrant(twinId, grantee);
        _writeGrant(twinId, grantee, categories, actions, purposes, validFrom, validUntil, msg.sender, true);
    }

    /// @inheritdoc IConsentPolicy
    /// @dev Works on suspended and erased twins too. The patient taking access away is a hot path with a gas budget,
    /// so it is written out flat (each private call costs tens of gas): `_isController` inline, then one SLOAD and
    /// one SSTORE on the pair's word, its slot hashed once. The epoch is the word's top field, so adding `_EPOCH_ONE`
    /// increments it and wraps it at 2**32 (unreachable in practice) rather than ever making a revoke revert.
    ///
    /// Budget: 35,000 gas on the owner's typical path; this costs about 35,260 (+0.8%, within the +10% that issue 9
    /// allows for its fixes). The reason: the registry's answer size is now checked exactly (gap 7) and the call is
    /// plain Solidity (`abi.encodeCall` and OpenZeppelin's `LowLevelCall`) instead of the unreviewed inline assembly
    /// of v1, which wrote the call into free memory without allocating it; the epoch increment (gap 1) adds a few gas.
    function revoke(bytes32 twinId, address grantee) external {
        (uint256 owner, ) = _askRegistry(abi.encodeCall(ITwinRegistry.ownerOf, (twinId)), 32);
        if (owner != uint160(msg.sender) && !_isDelegate(twinId, msg.sender)) {
            revert NotTwinController(twinId, msg.sender);
        }
        mapping(address => uint256) storage grants = _grants[twinId];
        uint256 packed = grants[grantee];
        uint256 next;
        unchecked {
            next = packed + _EPOCH_ONE;
        }
        if (_isLive(packed)) next |= block.timestamp << _REVOKED_AT_SHIFT;
        grants[grantee] = next;
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
        if (_blocked[twinId][msg.sender]) revert AccountIsBlocked(twinId, msg.sender);
        _checkCategories(categories);
        _checkPurposes(purposes);
        if (duration == 0 || duration > MAX_REQUEST_DURATION) revert InvalidDuration(duration);
        uint256 latest = _latestRequest[twinId][msg.sender];
        if (latest != 0 && _isOpen(_requests[latest])) revert RequestAlreadyOpen(latest);
        unchecked {
            // Cannot overflow: one id per transaction.
            requestId = ++_requestCount;
        }
        _latestRequest[twinId][msg.sender] = requestId;
        _requests[requestId] = ConsentRequest({
            twinId: twinId,
            requester: msg.sender,
            categories: categories,
            purposes: purposes,
            duration: duration,
            status: RequestStatus.Pending,
            expiresAt: uint40(block.timestamp) + REQUEST_LIFETIME
        });
        emit ConsentRequested(requestId, twinId, msg.sender, categories, purposes, duration, reasonHash);
    }

    /// @inheritdoc IConsentPolicy
    /// @dev "Neither revoked nor expired": an expired grant allows nothing any more, so replacing it narrows nothing,
    /// while a current or future one might be wider than the request.
    function grantRequest(uint256 requestId, uint8 actions, uint40 validFrom) external {
        ConsentRequest storage r = _pendingRequest(requestId);
        bytes32 twinId = r.twinId;
        _requireActiveController(twinId, msg.sender);
        uint40 expiresAt = r.expiresAt;
        if (!(block.timestamp < expiresAt)) revert RequestExpired(requestId, expiresAt);
        address requester = r.requester;
        uint256 current = _grants[twinId][requester];
        if (_isLive(current) && block.timestamp < uint40(current >> _VALID_UNTIL_SHIFT)) {
            revert GrantExists(twinId, requester);
        }
        uint40 from = validFrom == 0 ? uint40(block.timestamp) : validFrom;
        uint40 until;
        unchecked {
            // A window ending past the uint40 range wraps below `from`, and `_writeGrant` refuses it (InvalidWindow).
            until = from + r.duration;
        }
        r.status = RequestStatus.Granted;
        _writeGrant(twinId, requester, r.categories, actions, r.purposes, from, until, msg.sender, false);
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
    // Emergency access and blocking
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
    /// @dev An access that is not open (never opened, ended or closed) starts afresh: `openedAt` is now. One that is
    /// open keeps its `openedAt`, and its new end is capped at `openedAt + maxDuration`, so re-opening before the end
    /// cannot stretch an access past the patient's maximum. A re-opening can also shorten the access.
    function openEmergencyAccess(bytes32 twinId, uint32 duration, bytes32 reasonHash) external {
        if (!_isResponder(msg.sender)) revert NotEmergencyResponder(msg.sender);
        if (!_isActive(twinId)) revert TwinNotActive(twinId);
        if (_blocked[twinId][msg.sender]) revert AccountIsBlocked(twinId, msg.sender);
        EmergencyPolicy storage policy = _emergencyPolicies[twinId];
        if (!policy.allowed) revert EmergencyAccessNotAllowed(twinId);
        uint32 maxDuration = policy.maxDuration;
        if (duration == 0 || duration > maxDuration) revert EmergencyDurationTooLong(duration, maxDuration);
        if (reasonHash == bytes32(0)) revert EmptyReason();
        EmergencyAccess storage access = _emergencyAccess[twinId][msg.sender];
        uint40 cooldownUntil = access.cooldownUntil;
        if (block.timestamp < cooldownUntil) revert EmergencyCooldown(twinId, msg.sender, cooldownUntil);
        // Checked, though it cannot overflow before the year 36000: durations are at most a day.
        uint40 now_ = uint40(block.timestamp);
        uint40 until = now_ + duration;
        if (now_ < access.until) {
            uint40 cap = access.openedAt + maxDuration;
            if (until > cap) until = cap;
            // Only when the patient lowered the maximum after the opening: nothing is left to give.
            if (!(now_ < until)) revert EmergencyDurationTooLong(duration, 0);
        } else {
            access.openedAt = now_;
        }
        access.until = until;
        emit EmergencyAccessOpened(twinId, msg.sender, until, policy.categories, reasonHash);
    }

    /// @inheritdoc IConsentPolicy
    /// @dev A responder closing their own access starts no cooldown: it only ever shortens their access.
    function closeEmergencyAccess(bytes32 twinId, address responder) external {
        if (msg.sender != responder && !_isController(twinId, msg.sender)) {
            revert NotAllowedToClose(twinId, msg.sender);
        }
        EmergencyAccess storage access = _emergencyAccess[twinId][responder];
        if (!(block.timestamp < access.until)) revert NoEmergencyAccess(twinId, responder);
        access.openedAt = 0;
        access.until = 0;
        if (msg.sender != responder) access.cooldownUntil = uint40(block.timestamp) + EMERGENCY_COOLDOWN;
        emit EmergencyAccessClosed(twinId, responder, msg.sender);
    }

    /// @inheritdoc IConsentPolicy
    function setBlocked(bytes32 twinId, address account, bool blocked) external {
        _requireController(twinId, msg.sender);
        _blocked[twinId][account] = blocked;
        emit AccountBlocked(twinId, account, blocked);
        EmergencyAccess storage access = _emergencyAccess[twinId][account];
        if (blocked && block.timestamp < access.until) {
            access.openedAt = 0;
            access.until = 0;
            emit EmergencyAccessClosed(twinId, account, msg.sender);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // The consent check
    // ----------------------------------------------------------------------------------------------------------

    /// @inheritdoc IConsentPolicy
    /// @dev Gas: the grant is read first, and a grant that allows costs one registry call (`statusOf`). Only when
    /// there is none, it refuses, or the twin is not active, is `accessContext` asked, for the controller rule and
    /// the precise reason. A blocked account never has an open emergency access (blocking closes it, and a blocked
    /// account cannot open one), so with a grant the grant's reason stands, and without one the answer is `Blocked`.
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
        uint256 packed = _grants[twinId][account];
        bool hasGrant = uint40(packed >> _VALID_UNTIL_SHIFT) != 0;
        AccessDecision decision = AccessDecision.NoConsent;
        if (hasGrant) {
            decision = _grantDecision(packed, action, category, purpose);
            if (decision == AccessDecision.Allowed && _isActive(twinId)) return decision;
        }
        (uint256 status, bool controller) = _accessContext(twinId, account);
        if (status == uint256(TwinStatus.None)) return AccessDecision.UnknownTwin;
        if (status == uint256(TwinStatus.Erased)) return AccessDecision.TwinErased;
        if (controller) return AccessDecision.Allowed;
        if (status == uint256(TwinStatus.Suspended)) return AccessDecision.TwinSuspended;
        // The twin is active and the grant, if any, refuses: only an emergency access can still allow.
        if (!hasGrant && _blocked[twinId][account]) return AccessDecision.Blocked;
        uint40 until = _emergencyAccess[twinId][account].until;
        if (until != 0) {
            AccessDecision emergency = _emergencyDecision(twinId, account, until, action, category, purpose);
            if (emergency == AccessDecision.Allowed || !hasGrant) return emergency;
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
        uint256 packed = _grants[twinId][grantee];
        return
            Grant({
                categories: uint32(packed),
                actions: uint8(packed >> _ACTIONS_SHIFT),
                purposes: uint16(packed >> _PURPOSES_SHIFT),
                validFrom: uint40(packed >> _VALID_FROM_SHIFT),
                validUntil: uint40(packed >> _VALID_UNTIL_SHIFT),
                revokedAt: uint40(packed >> _REVOKED_AT_SHIFT)
            });
    }

    /// @inheritdoc IConsentPolicy
    function grantEpochOf(bytes32 twinId, address grantee) external view returns (uint32) {
        return uint32(_grants[twinId][grantee] >> _EPOCH_SHIFT);
    }

    /// @inheritdoc IConsentPolicy
    function nonceUsed(address signer, uint256 nonce) external view returns (bool) {
        return _nonceBitmaps[signer][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IConsentPolicy
    function emergencyPolicyOf(bytes32 twinId) external view returns (EmergencyPolicy memory) {
        return _emergencyPolicies[twinId];
    }

    /// @inheritdoc IConsentPolicy
    function emergencyAccessUntil(bytes32 twinId, address responder) external view returns (uint40) {
        return _emergencyAccess[twinId][responder].until;
    }

    /// @inheritdoc IConsentPolicy
    function emergencyAccessOf(bytes32 twinId, address responder) external view returns (EmergencyAccess memory) {
        return _emergencyAccess[twinId][responder];
    }

    /// @inheritdoc IConsentPolicy
    function isBlocked(bytes32 twinId, address account) external view returns (bool) {
        return _blocked[twinId][account];
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
    // Internals: grants and nonces
    // ----------------------------------------------------------------------------------------------------------

    /// @dev Validates the terms and writes the grant, not revoked, with the pair's epoch incremented, in one SSTORE.
    /// `update` only chooses the event.
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
        uint256 epochBits;
        unchecked {
            // The epoch is the top field: the addition wraps it at 2**32 and touches nothing else.
            epochBits = ((_grants[twinId][grantee] >> _EPOCH_SHIFT) << _EPOCH_SHIFT) + _EPOCH_ONE;
        }
        _grants[twinId][grantee] =
            epochBits |
            uint256(categories) |
            (uint256(actions) << _ACTIONS_SHIFT) |
            (uint256(purposes) << _PURPOSES_SHIFT) |
            (uint256(validFrom) << _VALID_FROM_SHIFT) |
            (uint256(validUntil) << _VALID_UNTIL_SHIFT);
        if (update) {
            emit ConsentUpdated(twinId, grantee, grantor, categories, actions, purposes, validFrom, validUntil);
        } else {
            emit ConsentGranted(twinId, grantee, grantor, categories, actions, purposes, validFrom, validUntil);
        }
    }

    /// @dev Marks the signer's nonce used, or reverts with `NonceAlreadyUsed` if it is used or cancelled already.
    function _useNonce(address signer, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonceBitmaps[signer][nonce >> 8];
        if (bits & bit != 0) revert NonceAlreadyUsed(signer, nonce);
        _nonceBitmaps[signer][nonce >> 8] = bits | bit;
    }

    /// @dev Whether a packed grant exists and is not revoked (expired is live): its terms and revokedAt, the low 176
    /// bits, are in `(0, 2**136)`, since revokedAt is their top field and a stored grant has a non-zero validUntil
    /// below it. One comparison: zero wraps to the top.
    function _isLive(uint256 packed) private pure returns (bool) {
        unchecked {
            return (packed & _GRANT_MASK) - 1 < _LIVE_BOUND;
        }
    }

    /// @dev What an existing grant answers, the twin's status aside.
    function _grantDecision(
        uint256 packed,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) private view returns (AccessDecision) {
        if (uint40(packed >> _REVOKED_AT_SHIFT) != 0) return AccessDecision.Revoked;
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

    /// @dev Whether a request is open: pending and not expired.
    function _isOpen(ConsentRequest storage r) private view returns (bool) {
        return r.status == RequestStatus.Pending && block.timestamp < r.expiresAt;
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
        (uint256 status, ) = _askRegistry(abi.encodeCall(ITwinRegistry.statusOf, (twinId)), 32);
        return status == uint256(TwinStatus.Active);
    }

    /// @dev The twin's status (a raw `TwinStatus` value) and whether `account` controls it, in one registry call.
    /// Booleans count as true only when exactly 1, so a malformed answer fails closed.
    function _accessContext(bytes32 twinId, address account) private view returns (uint256 status, bool controller) {
        uint256 word1;
        (status, word1) = _askRegistry(abi.encodeCall(ITwinRegistry.accessContext, (twinId, account)), 64);
        controller = word1 == 1;
    }

    /// @dev `ITwinRegistry.isController` in two steps: the owner first, with the registry's cheapest view, and the
    /// delegates only for anyone else. The patient revoking is the path that must stay cheap (one call); a delegate
    /// pays a second, warm call. `account` is never zero here (a caller), so an unknown twin's zero owner never
    /// matches. `revoke` has the same two steps inline.
    function _isController(bytes32 twinId, address account) private view returns (bool) {
        (uint256 owner, ) = _askRegistry(abi.encodeCall(ITwinRegistry.ownerOf, (twinId)), 32);
        return owner == uint160(account) || _isDelegate(twinId, account);
    }

    /// @dev Whether `account` is a delegate of the twin (`ITwinRegistry.isDelegate`).
    function _isDelegate(bytes32 twinId, address account) private view returns (bool) {
        (uint256 delegate, ) = _askRegistry(abi.encodeCall(ITwinRegistry.isDelegate, (twinId, account)), 32);
        return delegate == 1;
    }

    /// @dev Whether `account` is an accredited emergency responder now (`ITwinRegistry.isEmergencyResponder`).
    function _isResponder(address account) private view returns (bool) {
        (uint256 responder, ) = _askRegistry(abi.encodeCall(ITwinRegistry.isEmergencyResponder, (account)), 32);
        return responder == 1;
    }

    /// @dev Calls a view of the registry with `call` (its selector and arguments) and returns the first two words of
    /// the answer, which must be exactly `size` bytes (32 for one-word views, 64 for `accessContext`), else
    /// `InvalidRegistryAnswer`: the answer is never read past its end, and a short or long one fails closed. A
    /// registry revert is bubbled up. `LowLevelCall` leaves the answer in scratch memory rather than copying it into a
    /// new `bytes`, which the budgets of `revoke` and `checkAccess` could not pay for.
    function _askRegistry(bytes memory call, uint256 size) private view returns (uint256 word0, uint256 word1) {
        (bool success, bytes32 first, bytes32 second) = LowLevelCall.staticcallReturn64Bytes(address(_REGISTRY), call);
        if (!success) LowLevelCall.bubbleRevert();
        uint256 answered = LowLevelCall.returnDataSize();
        if (answered != size) revert InvalidRegistryAnswer(bytes4(call), answered, size);
        return (uint256(first), uint256(second));
    }
}
