// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Action, Purpose, DataCategory, TwinStatus} from "../../../contracts/Common.sol";

/// @title LedgerModel
/// @notice The ghost state of the invariant suites: a plain model of who owns, controls, writes and may read what,
/// kept by the handlers after every call that succeeded. It knows nothing of the contracts' ABI: it states the v2
/// rules (issue 9) in the simplest terms, and the handlers translate between it and the contracts' calls.
/// @dev Everything is public storage so that the invariants (and traces) can read it.
contract LedgerModel {
    uint256 public constant MAX_TWINS = 3;
    /// @dev ConsentPolicy's constants (v2), restated so that the model reads no contract.
    uint40 public constant EMERGENCY_COOLDOWN = 24 hours;
    uint40 public constant REQUEST_LIFETIME = 30 days;

    /// @notice The small universe `checkAccess` is compared on (with every actor and twin slot): 2 x 2 x 2 questions,
    /// the categories, actions and purposes that the handlers' grants and emergency policies are biased towards.
    uint32[2] public CATEGORIES = [DataCategory.VITALS, DataCategory.WEARABLE_STREAMS];
    uint8[2] public ACTIONS = [Action.READ, Action.AGGREGATE];
    uint16[2] public PURPOSES = [Purpose.TREATMENT, Purpose.EMERGENCY];

    struct Twin {
        bytes32 id;
        address creator; // the patient whose id (twinIdOf(creator, salt)) the twin has
        TwinStatus status;
        uint64 delegateEpoch; // moves on at each ownership change: every delegate ends
        address owner;
        address custodian;
        address pendingOwner;
        address pendingStartedBy;
    }

    struct Grant {
        bool exists;
        bool revoked;
        uint32 categories;
        uint8 actions;
        uint16 purposes;
        uint40 validFrom;
        uint40 validUntil;
    }

    struct EmergencyPolicy {
        bool allowed;
        uint32 maxDuration;
        uint32 categories;
    }

    /// @dev A responder's break-glass access: first opening, end, cooldown, and the cap in force at the last opening
    /// (first opening + the policy's maximum then): the access may never end later than `cap`.
    struct EmergencyAccess {
        uint40 openedAt;
        uint40 until;
        uint40 cooldownUntil;
        uint40 cap;
    }

    struct Request {
        uint256 twin; // slot
        address requester;
        uint32 categories;
        uint16 purposes;
        uint32 duration;
        uint40 expiresAt;
        bool pending;
    }

    /// @dev A custodian's committed versions: the last committer, its epoch and version.
    struct TwinState {
        address custodian;
        uint32 epoch;
        uint64 version;
    }

    struct Batch {
        uint256 twin; // slot
        address source;
        bytes32 root;
        bytes32 hash0;
        bytes32 hash1;
        uint64 time0;
        uint64 time1;
    }

    /// @dev A two-record batch (one EMR ingest): leaves (category, contentHash, cidHash).
    struct RecordBatch {
        uint256 twin; // slot
        address source;
        uint32 categories;
        uint32 category0;
        uint32 category1;
        bytes32 root;
        bytes32 hash0;
        bytes32 hash1;
        bytes32 cid0;
        bytes32 cid1;
    }

    /// @dev Twin slots; a slot is used once `created[slot]`.
    Twin[MAX_TWINS] internal _twins;
    bool[MAX_TWINS] public created;
    mapping(uint256 slot => mapping(address account => uint64 epochPlusOne)) internal _delegates;
    mapping(uint256 slot => mapping(address account => uint32 categories)) public sourceCategories;
    /// @dev Whether the source's last authorization was as an EMR (else a device); read with `sourceCategories`.
    mapping(uint256 slot => mapping(address account => bool)) public emrSource;
    mapping(uint256 slot => mapping(address grantee => Grant)) internal _grants;
    mapping(uint256 slot => mapping(address grantee => uint32)) public grantEpoch;
    mapping(address signer => mapping(uint256 nonce => bool)) public nonceUsed;
    mapping(uint256 slot => mapping(address account => bool)) public blocked;
    mapping(uint256 slot => EmergencyPolicy) internal _emergencyPolicies;
    mapping(uint256 slot => mapping(address responder => EmergencyAccess)) internal _emergencyAccess;
    mapping(uint256 slot => mapping(address requester => uint256 requestId)) public latestRequest;
    mapping(uint256 slot => uint64) public sequence;
    mapping(uint256 slot => TwinState) internal _states;
    mapping(address account => bool) public isCustodian;
    mapping(address account => bool) public isResponder;
    Request[] internal _requests; // index = requestId - 1
    Batch[] internal _batches;
    RecordBatch[] internal _recordBatches;

    /// @notice Calls whose outcome (success or revert) differed from what the model expected, with the first reason.
    uint256 public violations;
    string public firstViolation;
    /// @notice Calls made through the handlers, and those that succeeded (for the summary).
    uint256 public calls;
    uint256 public successes;
    /// @notice Relays that succeeded with a signature made in an earlier epoch of its pair (must stay zero).
    uint256 public staleRelays;
    /// @notice Successful calls per handler call name (how far the campaign got: see the README).
    mapping(string what => uint256) public successesOf;

    // ------------------------------------------------------------------------------------------------------------
    // Writes (handlers only; no access control: the model is a test fixture)
    // ------------------------------------------------------------------------------------------------------------

    function outcome(bool ok, bool expected, string memory what) external {
        ++calls;
        if (ok) {
            ++successes;
            ++successesOf[what];
        }
        if (ok != expected) {
            if (violations == 0)
                firstViolation = string.concat(what, ok ? ": succeeded, model refuses" : ": reverted, model allows");
            ++violations;
        }
    }

    /// @notice Records a fact that contradicts the model (a returned value that differs, ...).
    function violation(string memory what) external {
        if (violations == 0) firstViolation = what;
        ++violations;
    }

    function staleRelay() external {
        ++staleRelays;
    }

    function createTwin(uint256 slot, bytes32 id, address owner, address custodian) external {
        created[slot] = true;
        _twins[slot] = Twin({
            id: id,
            creator: owner,
            status: TwinStatus.Active,
            delegateEpoch: 0,
            owner: owner,
            custodian: custodian,
            pendingOwner: address(0),
            pendingStartedBy: address(0)
        });
    }

    function setStatus(uint256 slot, TwinStatus status) external {
        _twins[slot].status = status;
        if (status == TwinStatus.Erased) _clearPending(slot);
    }

    function setCustodian(uint256 slot, address custodian) external {
        _twins[slot].custodian = custodian;
    }

    function setPendingOwner(uint256 slot, address newOwner, address startedBy) external {
        _twins[slot].pendingOwner = newOwner;
        _twins[slot].pendingStartedBy = newOwner == address(0) ? address(0) : startedBy;
    }

    /// @notice Ownership changes: the pending transfer ends, every delegate ends, the new owner is no source.
    function setOwner(uint256 slot, address owner) external {
        _twins[slot].owner = owner;
        ++_twins[slot].delegateEpoch;
        _clearPending(slot);
        sourceCategories[slot][owner] = 0;
    }

    function setDelegate(uint256 slot, address account, bool delegate) external {
        _delegates[slot][account] = delegate ? _twins[slot].delegateEpoch + 1 : 0;
        // A removed delegate takes the pending transfer it started, or that names it, with it.
        Twin storage t = _twins[slot];
        if (!delegate && (t.pendingStartedBy == account || t.pendingOwner == account)) _clearPending(slot);
    }

    /// @notice A device source authorized (RegistryHandler authorizes every source as `SourceKind.Device`), or removed.
    function setSource(uint256 slot, address account, uint32 categories) external {
        sourceCategories[slot][account] = categories;
        emrSource[slot][account] = false;
    }

    /// @notice An EMR source authorized (DeviceHandler: a custodian may flag only a device source).
    function setEmrSource(uint256 slot, address account, uint32 categories) external {
        sourceCategories[slot][account] = categories;
        emrSource[slot][account] = true;
    }

    /// @notice A controller's write to the pair (grant, signed grant, update, request granted): new terms, next epoch.
    function setGrant(uint256 slot, address grantee, Grant calldata g) external {
        _grants[slot][grantee] = g;
        ++grantEpoch[slot][grantee];
    }

    /// @notice A revoke: a live grant is revoked, and the epoch moves on whatever the grant.
    function revokeGrant(uint256 slot, address grantee) external {
        if (_grants[slot][grantee].exists) _grants[slot][grantee].revoked = true;
        ++grantEpoch[slot][grantee];
    }

    function useNonce(address signer, uint256 nonce) external {
        nonceUsed[signer][nonce] = true;
    }

    function setBlocked(uint256 slot, address account, bool isBlocked) external {
        blocked[slot][account] = isBlocked;
        EmergencyAccess storage a = _emergencyAccess[slot][account];
        if (isBlocked && block.timestamp < a.until) {
            a.openedAt = 0;
            a.until = 0;
        }
    }

    function setEmergencyPolicy(uint256 slot, EmergencyPolicy calldata p) external {
        _emergencyPolicies[slot] = p;
    }

    /// @notice Opens (or re-opens) a responder's access for `duration` under the policy in force: a re-opening
    /// while open never ends past the first opening + the maximum. Returns the end.
    function openEmergency(uint256 slot, address responder, uint32 duration) external returns (uint40 until) {
        EmergencyAccess storage a = _emergencyAccess[slot][responder];
        uint40 now_ = uint40(block.timestamp);
        if (now_ >= a.until) a.openedAt = now_;
        uint40 cap = a.openedAt + _emergencyPolicies[slot].maxDuration;
        until = now_ + duration;
        if (until > cap) until = cap;
        a.until = until;
        a.cap = cap;
    }

    function closeEmergency(uint256 slot, address responder, bool byController) external {
        EmergencyAccess storage a = _emergencyAccess[slot][responder];
        a.openedAt = 0;
        a.until = 0;
        if (byController) a.cooldownUntil = uint40(block.timestamp) + EMERGENCY_COOLDOWN;
    }

    function addRequest(Request calldata r) external returns (uint256 requestId) {
        _requests.push(r);
        requestId = _requests.length;
        latestRequest[r.twin][r.requester] = requestId;
    }

    function closeRequest(uint256 requestId) external {
        _requests[requestId - 1].pending = false;
    }

    function setRole(bool custodianRole, address account, bool has) external {
        if (custodianRole) isCustodian[account] = has;
        else isResponder[account] = has;
    }

    function bumpSequence(uint256 slot) external returns (uint64) {
        return ++sequence[slot];
    }

    /// @notice A commit by `custodian`: the next version of its epoch, or version 1 of a new epoch.
    function commit(uint256 slot, address custodian) external {
        TwinState storage s = _states[slot];
        if (s.custodian == custodian) {
            ++s.version;
        } else {
            s.custodian = custodian;
            ++s.epoch;
            s.version = 1;
        }
    }

    function addBatch(Batch calldata b) external {
        _batches.push(b);
    }

    function addRecordBatch(RecordBatch calldata b) external {
        _recordBatches.push(b);
    }

    function _clearPending(uint256 slot) internal {
        _twins[slot].pendingOwner = address(0);
        _twins[slot].pendingStartedBy = address(0);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reads
    // ------------------------------------------------------------------------------------------------------------

    function twin(uint256 slot) external view returns (Twin memory) {
        return _twins[slot];
    }

    function twinId(uint256 slot) external view returns (bytes32) {
        return _twins[slot].id;
    }

    function statusOf(uint256 slot) public view returns (TwinStatus) {
        return _twins[slot].status;
    }

    function ownerOf(uint256 slot) external view returns (address) {
        return _twins[slot].owner;
    }

    /// @notice A delegate appointed since the twin's last ownership change (still answers on an erased twin).
    function isDelegate(uint256 slot, address account) public view returns (bool) {
        return created[slot] && _delegates[slot][account] == _twins[slot].delegateEpoch + 1;
    }

    /// @notice Owner or current delegate of a twin that exists, whatever its status: who may revoke, deny a request,
    /// close an emergency access or block an account.
    function holdsControl(uint256 slot, address account) public view returns (bool) {
        return created[slot] && account != address(0) && (account == _twins[slot].owner || isDelegate(slot, account));
    }

    /// @notice The registry's `isController`: owner or current delegate, and nobody on an erased twin.
    function isController(uint256 slot, address account) public view returns (bool) {
        return holdsControl(slot, account) && _twins[slot].status != TwinStatus.Erased;
    }

    /// @notice An authorized source of kind `SourceKind.Device` (the owner is never a source: `setOwner`).
    function isDeviceSource(uint256 slot, address account) external view returns (bool) {
        return sourceCategories[slot][account] != 0 && !emrSource[slot][account];
    }

    function grantOf(uint256 slot, address grantee) external view returns (Grant memory) {
        return _grants[slot][grantee];
    }

    /// @notice Exists and not revoked (an expired grant is live: it can be updated, and revoking it stamps it).
    function isLive(uint256 slot, address grantee) public view returns (bool) {
        Grant storage g = _grants[slot][grantee];
        return g.exists && !g.revoked;
    }

    function emergencyPolicyOf(uint256 slot) external view returns (EmergencyPolicy memory) {
        return _emergencyPolicies[slot];
    }

    function emergencyAccessOf(uint256 slot, address responder) external view returns (EmergencyAccess memory) {
        return _emergencyAccess[slot][responder];
    }

    function emergencyUntil(uint256 slot, address responder) public view returns (uint40) {
        return _emergencyAccess[slot][responder].until;
    }

    function requestCount() external view returns (uint256) {
        return _requests.length;
    }

    function requestOf(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId - 1];
    }

    /// @notice Whether the requester has an open (pending and unexpired) request on the twin.
    function hasOpenRequest(uint256 slot, address requester) external view returns (bool) {
        uint256 id = latestRequest[slot][requester];
        if (id == 0) return false;
        Request storage r = _requests[id - 1];
        return r.pending && block.timestamp < r.expiresAt;
    }

    function stateOf(uint256 slot) external view returns (TwinState memory) {
        return _states[slot];
    }

    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    function batchAt(uint256 i) external view returns (Batch memory) {
        return _batches[i];
    }

    function hasBatch(uint256 slot, address source, bytes32 root) external view returns (bool) {
        for (uint256 i; i < _batches.length; ++i) {
            Batch storage b = _batches[i];
            if (b.twin == slot && b.source == source && b.root == root) return true;
        }
        return false;
    }

    function recordBatchCount() external view returns (uint256) {
        return _recordBatches.length;
    }

    function recordBatchAt(uint256 i) external view returns (RecordBatch memory) {
        return _recordBatches[i];
    }

    function hasRecordBatch(uint256 slot, address source, bytes32 root) external view returns (bool) {
        for (uint256 i; i < _recordBatches.length; ++i) {
            RecordBatch storage b = _recordBatches[i];
            if (b.twin == slot && b.source == source && b.root == root) return true;
        }
        return false;
    }

    /// @notice Whether the grant alone allows (twin status aside).
    function grantAllows(
        uint256 slot,
        address account,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) public view returns (bool) {
        Grant storage g = _grants[slot][account];
        return
            g.exists &&
            !g.revoked &&
            g.validFrom <= block.timestamp &&
            block.timestamp < g.validUntil &&
            category & ~g.categories == 0 &&
            action & ~g.actions == 0 &&
            purpose & ~g.purposes == 0;
    }

    /// @notice Whether an open emergency access alone allows (twin status aside).
    function emergencyAllows(
        uint256 slot,
        address account,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) public view returns (bool) {
        EmergencyPolicy storage p = _emergencyPolicies[slot];
        return
            block.timestamp < _emergencyAccess[slot][account].until &&
            action == Action.READ &&
            purpose == Purpose.EMERGENCY &&
            p.allowed &&
            category & ~p.categories == 0 &&
            isResponder[account];
    }

    /// @notice The model's answer to "may `account` do `action` on `category` for `purpose` now?".
    function allowed(
        uint256 slot,
        address account,
        uint8 action,
        uint32 category,
        uint16 purpose
    ) public view returns (bool) {
        if (!created[slot]) return false;
        TwinStatus status = _twins[slot].status;
        if (status == TwinStatus.Erased) return false;
        if (isController(slot, account)) return true;
        if (status != TwinStatus.Active) return false;
        if (grantAllows(slot, account, action, category, purpose)) return true;
        // A blocked account without a grant is refused; its grants (the patient's explicit acts) still apply.
        if (blocked[slot][account] && !_grants[slot][account].exists) return false;
        return emergencyAllows(slot, account, action, category, purpose);
    }

    /// @notice The model's answers for one account on one twin over the whole universe, one bit per question:
    /// bit `4c + 2a + p` answers (CATEGORIES[c], ACTIONS[a], PURPOSES[p]).
    function allowedMask(uint256 slot, address account) external view returns (uint256 mask) {
        for (uint256 c; c < 2; ++c) {
            for (uint256 a; a < 2; ++a) {
                for (uint256 p; p < 2; ++p) {
                    if (allowed(slot, account, ACTIONS[a], CATEGORIES[c], PURPOSES[p]))
                        mask |= 1 << (4 * c + 2 * a + p);
                }
            }
        }
    }
}
