// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Action, DataCategory, Purpose, TwinStatus} from "../../../contracts/Common.sol";

/// @title LedgerModel
/// @notice The ghost state of the invariant suites: a plain model of who owns, controls, writes and may read what,
/// kept by the handlers after every call that succeeded. It knows nothing of the contracts' ABI, so the same model
/// serves v1 and v2; what changes between versions is the handlers' calls and the few rules marked "v1".
/// @dev Everything is public storage so that the invariants (and traces) can read it.
contract LedgerModel {
    uint256 public constant MAX_TWINS = 3;

    /// @notice The small universe `checkAccess` is compared on (with every actor and twin slot): 2 x 2 x 2 questions,
    /// the categories, actions and purposes that the handlers' grants and emergency policies are biased towards.
    uint32[2] public CATEGORIES = [DataCategory.VITALS, DataCategory.WEARABLE_STREAMS];
    uint8[2] public ACTIONS = [Action.READ, Action.AGGREGATE];
    uint16[2] public PURPOSES = [Purpose.TREATMENT, Purpose.EMERGENCY];

    struct Twin {
        bytes32 id;
        address owner;
        address custodian;
        address pendingOwner;
        address pendingStartedBy;
        TwinStatus status;
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

    struct Request {
        uint256 twin; // slot
        address requester;
        uint32 categories;
        uint16 purposes;
        uint32 duration;
        bool pending;
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

    /// @dev Twin slots; a slot is used once `created[slot]`.
    Twin[MAX_TWINS] internal _twins;
    bool[MAX_TWINS] public created;
    mapping(uint256 slot => mapping(address account => bool)) public isDelegate;
    mapping(uint256 slot => mapping(address account => uint32 categories)) public sourceCategories;
    mapping(uint256 slot => mapping(address grantee => Grant)) internal _grants;
    mapping(uint256 slot => EmergencyPolicy) internal _emergencyPolicies;
    mapping(uint256 slot => mapping(address responder => uint40 until)) public emergencyUntil;
    mapping(uint256 slot => uint64) public sequence;
    mapping(uint256 slot => uint64) public version;
    mapping(address account => bool) public isCustodian;
    mapping(address account => bool) public isResponder;
    Request[] internal _requests; // index = requestId - 1
    Batch[] internal _batches;

    /// @notice Calls whose outcome (success or revert) differed from what the model expected, with the first reason.
    uint256 public violations;
    string public firstViolation;
    /// @notice Calls made through the handlers, and those the model expected to succeed (for the summary).
    uint256 public calls;
    uint256 public successes;

    // ------------------------------------------------------------------------------------------------------------
    // Writes (handlers only; no access control: the model is a test fixture)
    // ------------------------------------------------------------------------------------------------------------

    function outcome(bool ok, bool expected, string memory what) external {
        ++calls;
        if (ok) ++successes;
        if (ok != expected) {
            if (violations == 0)
                firstViolation = string.concat(what, ok ? ": succeeded, model refuses" : ": reverted, model allows");
            ++violations;
        }
    }

    function createTwin(uint256 slot, bytes32 id, address owner, address custodian) external {
        created[slot] = true;
        _twins[slot] = Twin(id, owner, custodian, address(0), address(0), TwinStatus.Active);
    }

    function setStatus(uint256 slot, TwinStatus status) external {
        _twins[slot].status = status;
        if (status == TwinStatus.Erased) {
            _twins[slot].pendingOwner = address(0);
            _twins[slot].pendingStartedBy = address(0);
        }
    }

    function setCustodian(uint256 slot, address custodian) external {
        _twins[slot].custodian = custodian;
    }

    function setPendingOwner(uint256 slot, address newOwner, address startedBy) external {
        _twins[slot].pendingOwner = newOwner;
        _twins[slot].pendingStartedBy = newOwner == address(0) ? address(0) : startedBy;
    }

    function setOwner(uint256 slot, address owner) external {
        _twins[slot].owner = owner;
        _twins[slot].pendingOwner = address(0);
        _twins[slot].pendingStartedBy = address(0);
    }

    function setDelegate(uint256 slot, address account, bool delegate) external {
        isDelegate[slot][account] = delegate;
    }

    function setSource(uint256 slot, address account, uint32 categories) external {
        sourceCategories[slot][account] = categories;
    }

    function setGrant(uint256 slot, address grantee, Grant calldata g) external {
        _grants[slot][grantee] = g;
    }

    function revokeGrant(uint256 slot, address grantee) external {
        _grants[slot][grantee].revoked = true;
    }

    function setEmergencyPolicy(uint256 slot, EmergencyPolicy calldata p) external {
        _emergencyPolicies[slot] = p;
    }

    function setEmergencyUntil(uint256 slot, address responder, uint40 until) external {
        emergencyUntil[slot][responder] = until;
    }

    function addRequest(Request calldata r) external returns (uint256 requestId) {
        _requests.push(r);
        return _requests.length;
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

    function setVersion(uint256 slot, uint64 v) external {
        version[slot] = v;
    }

    function addBatch(Batch calldata b) external {
        _batches.push(b);
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

    /// @notice Owner or delegate of a twin that exists (whatever its status: v1 keeps controllers after erasure).
    function isController(uint256 slot, address account) public view returns (bool) {
        return created[slot] && account != address(0) && (account == _twins[slot].owner || isDelegate[slot][account]);
    }

    function grantOf(uint256 slot, address grantee) external view returns (Grant memory) {
        return _grants[slot][grantee];
    }

    function isLive(uint256 slot, address grantee) public view returns (bool) {
        Grant storage g = _grants[slot][grantee];
        return g.exists && !g.revoked;
    }

    function emergencyPolicyOf(uint256 slot) external view returns (EmergencyPolicy memory) {
        return _emergencyPolicies[slot];
    }

    function requestCount() external view returns (uint256) {
        return _requests.length;
    }

    function requestOf(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId - 1];
    }

    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    function batchAt(uint256 i) external view returns (Batch memory) {
        return _batches[i];
    }

    function hasBatch(uint256 slot, bytes32 root) external view returns (bool) {
        for (uint256 i; i < _batches.length; ++i) if (_batches[i].twin == slot && _batches[i].root == root) return true;
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
            block.timestamp < emergencyUntil[slot][account] &&
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
    ) external view returns (bool) {
        if (!created[slot]) return false;
        TwinStatus status = _twins[slot].status;
        if (status == TwinStatus.Erased) return false;
        if (isController(slot, account)) return true;
        if (status != TwinStatus.Active) return false;
        return
            grantAllows(slot, account, action, category, purpose) ||
            emergencyAllows(slot, account, action, category, purpose);
    }

    /// @notice The model's answers for one account on one twin over the whole universe, one bit per question:
    /// bit `4c + 2a + p` answers (CATEGORIES[c], ACTIONS[a], PURPOSES[p]).
    function allowedMask(uint256 slot, address account) external view returns (uint256 mask) {
        for (uint256 c; c < 2; ++c) {
            for (uint256 a; a < 2; ++a) {
                for (uint256 p; p < 2; ++p) {
                    if (this.allowed(slot, account, ACTIONS[a], CATEGORIES[c], PURPOSES[p]))
                        mask |= 1 << (4 * c + 2 * a + p);
                }
            }
        }
    }
}
