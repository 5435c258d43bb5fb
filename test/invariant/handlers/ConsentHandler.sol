// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {HandlerBase} from "./HandlerBase.sol";
import {Actors} from "../base/Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {ConsentPolicy} from "../../../contracts/ConsentPolicy.sol";
import {IConsentPolicy} from "../../../contracts/interfaces/IConsentPolicy.sol";
import {Action, DataCategory, Purpose} from "../../../contracts/Common.sol";

/// @title ConsentHandler
/// @notice Drives ConsentPolicy: direct and signed grants (relayed at once or kept and relayed later, with the
/// pair's epoch of their signing and unordered nonces), nonce cancellation, updates, revocations, consent requests,
/// emergency policies, break-glass access and blocking, each tried by entitled actors and by anyone else.
contract ConsentHandler is HandlerBase {
    ConsentPolicy public immutable consent;

    /// @dev A signed grant not relayed yet: anyone who saw it may relay it later.
    struct Signed {
        IConsentPolicy.GrantTerms terms;
        uint256 slot;
        address signer;
        uint32 epoch;
        uint256 nonce;
        uint256 deadline;
        bytes signature;
    }

    Signed[] internal _signed;

    constructor(Actors actors_, LedgerModel model_, ConsentPolicy consent_) HandlerBase(actors_, model_) {
        consent = consent_;
    }

    /// @notice How many signatures are kept unrelayed (for the invariants).
    function signedCount() external view returns (uint256) {
        return _signed.length;
    }

    /// @notice A kept signature (for the invariants).
    function signedAt(uint256 i) external view returns (Signed memory) {
        return _signed[i];
    }

    // ------------------------------------------------------------------------------------------------------------
    // Grants
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Half the time on the pair of a kept signature (which the grant then voids).
    function grant(uint256 actorSeed, uint256 slotSeed, uint256 granteeSeed, uint256 termsSeed) external {
        (uint256 slot, address grantee) = _pair(slotSeed, granteeSeed);
        address actor = _caller(slot, actorSeed);
        IConsentPolicy.GrantTerms memory t = _terms(slot, grantee, termsSeed);
        bool expected = _active(slot) && model.isController(slot, actor) && _validWindow(t);
        vm.prank(actor);
        try consent.grant(t.twinId, t.grantee, t.categories, t.actions, t.purposes, t.validFrom, t.validUntil) {
            _report(true, expected, "grant");
            _writeGrant(slot, t);
        } catch {
            _report(false, expected, "grant");
        }
    }

    function updateGrant(uint256 actorSeed, uint256 slotSeed, uint256 granteeSeed, uint256 termsSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        IConsentPolicy.GrantTerms memory t = _terms(slot, actors.grantee(granteeSeed), termsSeed);
        bool expected =
            _active(slot) && model.isController(slot, actor) && model.isLive(slot, t.grantee) && _validWindow(t);
        vm.prank(actor);
        try consent.updateGrant(t.twinId, t.grantee, t.categories, t.actions, t.purposes, t.validFrom, t.validUntil) {
            _report(true, expected, "updateGrant");
            _writeGrant(slot, t);
        } catch {
            _report(false, expected, "updateGrant");
        }
    }

    /// @notice A controller (or anyone) signs a grant and someone relays it at once.
    function grantBySig(uint256 signerSeed, uint256 slotSeed, uint256 granteeSeed, uint256 termsSeed) external {
        Signed memory s = _sign(signerSeed, slotSeed, granteeSeed, termsSeed);
        _relay(s);
    }

    /// @notice A signed grant is kept unrelayed (by the grantee, or by whoever saw it), to be relayed later: after
    /// a revoke, a later grant, a cancelled nonce, an ownership change, ...
    function signGrant(uint256 signerSeed, uint256 slotSeed, uint256 granteeSeed, uint256 termsSeed) external {
        if (_signed.length >= 8) return;
        // Half the time the owner signs, so that the kept signature would relay unless something voids it.
        _signed.push(
            _sign(signerSeed % 2 == 0 ? (signerSeed >> 3) << 2 : signerSeed >> 1, slotSeed, granteeSeed, termsSeed)
        );
    }

    /// @notice Relays a kept signature, perhaps long after it was signed (and perhaps a second time).
    function relaySigned(uint256 indexSeed) external {
        if (_signed.length == 0) return;
        _relay(_signed[indexSeed % _signed.length]);
    }

    /// @notice A signer cancels a nonce: half the time the nonce of a kept signature, signed by the caller.
    function cancelNonce(uint256 actorSeed, uint256 nonceSeed) external {
        address actor = actors.any(actorSeed);
        uint256 nonce = _nonce(nonceSeed >> 1);
        if (nonceSeed % 2 == 0 && _signed.length != 0) {
            Signed storage s = _signed[(nonceSeed >> 1) % _signed.length];
            (actor, nonce) = (s.signer, s.nonce);
        }
        bool expected = !model.nonceUsed(actor, nonce);
        vm.prank(actor);
        try consent.cancelNonce(nonce) {
            _report(true, expected, "cancelNonce");
            model.useNonce(actor, nonce);
        } catch {
            _report(false, expected, "cancelNonce");
        }
    }

    /// @notice v2: a controller revokes whatever the twin's status and whether or not a grant is live; the pair's
    /// epoch moves on, voiding every signature for it not relayed yet.
    /// Half the time on the pair of a kept signature.
    function revoke(uint256 actorSeed, uint256 slotSeed, uint256 granteeSeed) external {
        (uint256 slot, address grantee) = _pair(slotSeed, granteeSeed);
        address actor = _caller(slot, actorSeed);
        bool expected = model.holdsControl(slot, actor);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.revoke(id, grantee) {
            _report(true, expected, "revoke");
            model.revokeGrant(slot, grantee);
        } catch {
            _report(false, expected, "revoke");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Consent requests
    // ------------------------------------------------------------------------------------------------------------

    /// @notice v2: not by an account blocked on the twin, at most one open (pending, unexpired) request per requester
    /// and twin; requests expire after REQUEST_LIFETIME.
    function requestConsent(uint256 actorSeed, uint256 slotSeed, uint256 termsSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = actorSeed % 2 == 0 ? actors.grantee(actorSeed >> 1) : actors.any(actorSeed >> 1);
        uint32 categories = _categories(termsSeed);
        uint16 purposes = _purposes(termsSeed >> 32);
        uint32 duration = uint32(bound(termsSeed >> 64, 0, 400 days));
        bool expected =
            _active(slot) &&
                !model.blocked(slot, actor) &&
                duration != 0 &&
                duration <= consent.MAX_REQUEST_DURATION() &&
                !model.hasOpenRequest(slot, actor);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.requestConsent(id, categories, purposes, duration, keccak256("reason")) returns (
            uint256 requestId
        ) {
            _report(true, expected, "requestConsent");
            uint256 modelId = model.addRequest(
                LedgerModel.Request(
                    slot,
                    actor,
                    categories,
                    purposes,
                    duration,
                    uint40(block.timestamp) + model.REQUEST_LIFETIME(),
                    true
                )
            );
            if (modelId != requestId) _contradiction("requestConsent: id differs from the model's");
        } catch {
            _report(false, expected, "requestConsent");
        }
    }

    /// @notice v2: an expired request cannot be granted, and granting never narrows a grant that is neither revoked
    /// nor expired (`GrantExists`).
    function grantRequest(uint256 actorSeed, uint256 requestSeed, uint8 actions) external {
        if (model.requestCount() == 0) return;
        uint256 requestId = (requestSeed % model.requestCount()) + 1;
        LedgerModel.Request memory r = model.requestOf(requestId);
        // Governance and the stranger may ask, but the fuzzer never lets a patient say yes to them.
        if (r.requester == actors.at(actors.GOVERNANCE()) || r.requester == actors.at(actors.STRANGER())) return;
        address actor = _caller(r.twin, actorSeed);
        actions = uint8(bound(actions, 1, Action.ALL));
        LedgerModel.Grant memory held = model.grantOf(r.twin, r.requester);
        bool holdsUnexpired = model.isLive(r.twin, r.requester) && block.timestamp < held.validUntil;
        bool expected =
            r.pending &&
                _active(r.twin) &&
                model.isController(r.twin, actor) &&
                block.timestamp < r.expiresAt &&
                !holdsUnexpired;
        vm.prank(actor);
        try consent.grantRequest(requestId, actions, 0) {
            _report(true, expected, "grantRequest");
            model.closeRequest(requestId);
            model.setGrant(
                r.twin,
                r.requester,
                LedgerModel.Grant(
                    true,
                    false,
                    r.categories,
                    actions,
                    r.purposes,
                    uint40(block.timestamp),
                    uint40(block.timestamp) + r.duration
                )
            );
        } catch {
            _report(false, expected, "grantRequest");
        }
    }

    function denyRequest(uint256 actorSeed, uint256 requestSeed) external {
        if (model.requestCount() == 0) return;
        uint256 requestId = (requestSeed % model.requestCount()) + 1;
        LedgerModel.Request memory r = model.requestOf(requestId);
        address actor = _caller(r.twin, actorSeed);
        bool expected = r.pending && model.holdsControl(r.twin, actor);
        vm.prank(actor);
        try consent.denyRequest(requestId) {
            _report(true, expected, "denyRequest");
            model.closeRequest(requestId);
        } catch {
            _report(false, expected, "denyRequest");
        }
    }

    function withdrawRequest(uint256 actorSeed, uint256 requestSeed) external {
        if (model.requestCount() == 0) return;
        uint256 requestId = (requestSeed % model.requestCount()) + 1;
        LedgerModel.Request memory r = model.requestOf(requestId);
        address actor = actorSeed % 2 == 0 ? r.requester : actors.any(actorSeed >> 1);
        bool expected = r.pending && actor == r.requester;
        vm.prank(actor);
        try consent.withdrawRequest(requestId) {
            _report(true, expected, "withdrawRequest");
            model.closeRequest(requestId);
        } catch {
            _report(false, expected, "withdrawRequest");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Emergency access and blocking
    // ------------------------------------------------------------------------------------------------------------

    function setEmergencyPolicy(uint256 actorSeed, uint256 slotSeed, uint256 policySeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        bool allowed = policySeed % 4 != 0;
        uint32 maxDuration = uint32(bound(policySeed >> 8, 1, consent.MAX_EMERGENCY_DURATION()));
        uint32 categories = _categories(policySeed >> 64);
        bool expected = _active(slot) && model.isController(slot, actor);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.setEmergencyPolicy(id, allowed, maxDuration, categories) {
            _report(true, expected, "setEmergencyPolicy");
            model.setEmergencyPolicy(slot, LedgerModel.EmergencyPolicy(allowed, maxDuration, categories));
        } catch {
            _report(false, expected, "setEmergencyPolicy");
        }
    }

    /// @notice v2: not by a blocked account, not during a cooldown, and a re-opening while open never ends past the
    /// first opening + the policy's maximum (nothing left to give reverts).
    /// Half the time the responder re-opens an access of its own that is still open (the cap's path), and half the
    /// time it tries again later in the same call (gap 2's attack: re-opening before the end to extend it).
    function openEmergencyAccess(uint256 actorSeed, uint256 slotSeed, uint256 durationSeed) external {
        uint256 who = actorSeed % 4;
        address actor =
            who < 2
                ? actors.at(actors.RESPONDER_A())
                : who == 2
                    ? actors.responderCandidate(actorSeed >> 2)
                    : actors.any(actorSeed >> 2);
        uint256 slot = slotSeed % 2 == 0 ? _openSlot(actor, slotSeed >> 1) : _slot(slotSeed >> 1);
        uint32 maxDuration = model.emergencyPolicyOf(slot).maxDuration;
        _open(actor, slot, uint32(bound(durationSeed, 0, uint256(maxDuration) + maxDuration / 4 + 1)));
        if ((durationSeed >> 64) % 2 == 0) {
            vm.warp(block.timestamp + bound(durationSeed >> 72, 1, uint256(maxDuration) + 1));
            _open(actor, slot, uint32(bound(durationSeed >> 128, 1, uint256(maxDuration) + 1)));
        }
    }

    function _open(address actor, uint256 slot, uint32 duration) internal {
        LedgerModel.EmergencyPolicy memory p = model.emergencyPolicyOf(slot);
        LedgerModel.EmergencyAccess memory a = model.emergencyAccessOf(slot, actor);
        bool gives = block.timestamp >= a.until || a.openedAt + p.maxDuration > block.timestamp;
        bool expected =
            model.isResponder(actor) &&
                _active(slot) &&
                !model.blocked(slot, actor) &&
                p.allowed &&
                duration != 0 &&
                duration <= p.maxDuration &&
                block.timestamp >= a.cooldownUntil &&
                gives;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.openEmergencyAccess(id, duration, keccak256("ambulance")) {
            _report(true, expected, "openEmergencyAccess");
            uint40 until = model.openEmergency(slot, actor, duration);
            IConsentPolicy.EmergencyAccess memory got = consent.emergencyAccessOf(id, actor);
            if (got.until != until || got.openedAt != model.emergencyAccessOf(slot, actor).openedAt)
                _contradiction("openEmergencyAccess: end or first opening differs from the model's");
        } catch {
            _report(false, expected, "openEmergencyAccess");
        }
    }

    /// Half the time on an access that is open.
    function closeEmergencyAccess(uint256 actorSeed, uint256 slotSeed, uint256 responderSeed) external {
        address responder = actors.responderCandidate(responderSeed);
        uint256 slot = slotSeed % 2 == 0 ? _openSlot(responder, slotSeed >> 1) : _slot(slotSeed >> 1);
        address actor = actorSeed % 3 == 0 ? responder : _caller(slot, actorSeed);
        bool expected =
            (actor == responder || model.holdsControl(slot, actor)) &&
                block.timestamp < model.emergencyUntil(slot, responder);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.closeEmergencyAccess(id, responder) {
            _report(true, expected, "closeEmergencyAccess");
            model.closeEmergency(slot, responder, actor != responder);
        } catch {
            _report(false, expected, "closeEmergencyAccess");
        }
    }

    /// @notice A controller (or anyone) blocks or unblocks an account: mostly responders and grantees, sometimes the
    /// stranger or governance.
    function setBlocked(uint256 actorSeed, uint256 slotSeed, uint256 accountSeed, bool blockIt) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        address account =
            accountSeed % 4 == 0
                ? actors.any(accountSeed >> 2)
                : accountSeed % 4 == 1
                    ? actors.grantee(accountSeed >> 2)
                    : actors.responderCandidate(accountSeed >> 2);
        // Unblocking is rarer, so that blocks last long enough to matter.
        if (!blockIt && accountSeed % 3 != 0) blockIt = true;
        bool expected = model.holdsControl(slot, actor);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.setBlocked(id, account, blockIt) {
            _report(true, expected, "setBlocked");
            model.setBlocked(slot, account, blockIt);
        } catch {
            _report(false, expected, "setBlocked");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Signs grant terms with a signer's key over v2's EIP-712 type: mostly at the pair's current epoch (a
    /// signature that a later controller write voids), sometimes at another one; nonces from a small set spanning two
    /// bitmap words, so that used and cancelled nonces come back.
    function _sign(
        uint256 signerSeed,
        uint256 slotSeed,
        uint256 granteeSeed,
        uint256 termsSeed
    ) internal view returns (Signed memory s) {
        s.slot = _slot(slotSeed);
        s.signer = _caller(s.slot, signerSeed);
        s.terms = _terms(s.slot, actors.grantee(granteeSeed), termsSeed);
        s.epoch = model.grantEpoch(s.slot, s.terms.grantee);
        if ((signerSeed >> 2) % 8 == 7) s.epoch = s.epoch == 0 ? 1 : s.epoch - 1;
        s.nonce = _nonce(granteeSeed >> 8);
        s.deadline = block.timestamp + bound(termsSeed >> 128, 0, 2 days);
        bytes32 structHash = keccak256(
            abi.encode(consent.GRANT_TYPEHASH(), s.terms, s.signer, s.epoch, s.nonce, s.deadline)
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", consent.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(actors.keyOf(actors.indexOf(s.signer)), digest);
        s.signature = abi.encodePacked(r, sig, v);
    }

    /// @dev A (twin slot, grantee) pair from seeds: half the time (when there is one) a kept signature's pair.
    function _pair(uint256 slotSeed, uint256 granteeSeed) internal view returns (uint256 slot, address grantee) {
        if (granteeSeed % 2 == 0 && _signed.length != 0) {
            Signed storage s = _signed[(granteeSeed >> 1) % _signed.length];
            return (s.slot, s.terms.grantee);
        }
        return (_slot(slotSeed), actors.grantee(granteeSeed >> 1));
    }

    /// @dev A twin slot where `responder` has an open emergency access, else one from the seed.
    function _openSlot(address responder, uint256 seed) internal view returns (uint256) {
        for (uint256 i; i < 3; ++i) if (block.timestamp < model.emergencyUntil(i, responder)) return i;
        return _slot(seed);
    }

    /// @dev A nonce from a small set: 0..5 in the first bitmap word, 256..257 in the second.
    function _nonce(uint256 seed) internal pure returns (uint256) {
        uint256 n = seed % 8;
        return n < 6 ? n : 256 + (n - 6);
    }

    function _relay(Signed memory s) internal {
        uint32 current = model.grantEpoch(s.slot, s.terms.grantee);
        bool expected =
            block.timestamp <= s.deadline &&
                !model.nonceUsed(s.signer, s.nonce) &&
                _active(s.slot) &&
                model.isController(s.slot, s.signer) &&
                s.epoch == current &&
                _validWindow(s.terms);
        // Anyone relays: here the stranger.
        vm.prank(actors.at(actors.STRANGER()));
        try consent.grantBySig(s.terms, s.signer, s.epoch, s.nonce, s.deadline, s.signature) {
            _report(true, expected, "grantBySig");
            if (s.epoch != current) model.staleRelay();
            model.useNonce(s.signer, s.nonce);
            _writeGrant(s.slot, s.terms);
        } catch {
            _report(false, expected, "grantBySig");
        }
    }

    function _writeGrant(uint256 slot, IConsentPolicy.GrantTerms memory t) internal {
        model.setGrant(
            slot,
            t.grantee,
            LedgerModel.Grant(true, false, t.categories, t.actions, t.purposes, t.validFrom, t.validUntil)
        );
    }

    /// @dev Terms from a seed: masks biased towards the categories and purposes the invariants ask about, windows
    /// that are sometimes in the future, sometimes already over or empty (refused).
    function _terms(
        uint256 slot,
        address grantee,
        uint256 seed
    ) internal view returns (IConsentPolicy.GrantTerms memory t) {
        t.twinId = _id(slot);
        t.grantee = grantee;
        t.categories = _categories(seed);
        t.actions = uint8(bound(seed >> 32, 1, Action.ALL));
        t.purposes = _purposes(seed >> 40);
        uint256 start = block.timestamp - bound(seed >> 64, 0, 2 days);
        if ((seed >> 96) % 4 == 0) start = block.timestamp + bound(seed >> 100, 1, 1 days);
        t.validFrom = uint40(start);
        t.validUntil = uint40(start + bound(seed >> 160, 0, 10 days));
    }

    function _validWindow(IConsentPolicy.GrantTerms memory t) internal view returns (bool) {
        return t.validUntil > t.validFrom && t.validUntil > block.timestamp;
    }

    /// @dev A non-empty category mask: a subset of the three categories the invariants ask about, sometimes with
    /// any other defined bits.
    function _categories(uint256 seed) internal pure returns (uint32 c) {
        uint32[3] memory pick = [DataCategory.VITALS, DataCategory.CONDITIONS, DataCategory.WEARABLE_STREAMS];
        for (uint256 i; i < 3; ++i) if ((seed >> i) & 1 == 1) c |= pick[i];
        if ((seed >> 3) % 4 == 0) c |= uint32(seed >> 8) & DataCategory.ALL;
        if (c == 0) c = DataCategory.VITALS;
    }

    /// @dev A non-empty purpose mask, biased like `_categories`.
    function _purposes(uint256 seed) internal pure returns (uint16 p) {
        uint16[3] memory pick = [Purpose.TREATMENT, Purpose.RESEARCH, Purpose.EMERGENCY];
        for (uint256 i; i < 3; ++i) if ((seed >> i) & 1 == 1) p |= pick[i];
        if ((seed >> 3) % 4 == 0) p |= uint16(seed >> 8) & Purpose.ALL;
        if (p == 0) p = Purpose.TREATMENT;
    }
}
