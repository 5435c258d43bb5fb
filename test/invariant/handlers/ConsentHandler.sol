// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {HandlerBase} from "./HandlerBase.sol";
import {Actors} from "../base/Actors.sol";
import {LedgerModel} from "../model/LedgerModel.sol";
import {ConsentPolicy} from "../../../contracts/ConsentPolicy.sol";
import {IConsentPolicy} from "../../../contracts/interfaces/IConsentPolicy.sol";
import {Action, DataCategory, Purpose} from "../../../contracts/Common.sol";

/// @title ConsentHandler
/// @notice Drives ConsentPolicy: direct and signed grants (relayed at once or kept and relayed later), updates,
/// revocations, consent requests, emergency policies and break-glass access, each tried by entitled actors and by
/// anyone else.
contract ConsentHandler is HandlerBase {
    ConsentPolicy public immutable consent;

    /// @dev A signed grant not relayed yet: anyone who saw it may relay it later.
    struct Signed {
        IConsentPolicy.GrantTerms terms;
        uint256 slot;
        address signer;
        uint256 nonce;
        uint256 deadline;
        bytes signature;
    }

    Signed[] internal _signed;
    /// @dev The model of the signers' sequential nonces (v1).
    mapping(address signer => uint256) public nonceOf;

    constructor(Actors actors_, LedgerModel model_, ConsentPolicy consent_) HandlerBase(actors_, model_) {
        consent = consent_;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Grants
    // ------------------------------------------------------------------------------------------------------------

    function grant(uint256 actorSeed, uint256 slotSeed, uint256 granteeSeed, uint256 termsSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        IConsentPolicy.GrantTerms memory t = _terms(slot, actors.grantee(granteeSeed), termsSeed);
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

    /// @notice A signed grant is kept unrelayed (by the grantee, or by whoever saw it), to be relayed later.
    function signGrant(uint256 signerSeed, uint256 slotSeed, uint256 granteeSeed, uint256 termsSeed) external {
        if (_signed.length >= 8) return;
        _signed.push(_sign(signerSeed, slotSeed, granteeSeed, termsSeed));
    }

    /// @notice Relays a kept signature, perhaps long after it was signed (and perhaps a second time).
    function relaySigned(uint256 indexSeed) external {
        if (_signed.length == 0) return;
        _relay(_signed[indexSeed % _signed.length]);
    }

    function revoke(uint256 actorSeed, uint256 slotSeed, uint256 granteeSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = _caller(slot, actorSeed);
        address grantee = actors.grantee(granteeSeed);
        // v1: whatever the twin's status, but only a live grant can be revoked (NoActiveGrant otherwise).
        bool expected = model.isController(slot, actor) && model.isLive(slot, grantee);
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

    function requestConsent(uint256 actorSeed, uint256 slotSeed, uint256 termsSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = actorSeed % 2 == 0 ? actors.grantee(actorSeed >> 1) : actors.any(actorSeed >> 1);
        uint32 categories = _categories(termsSeed);
        uint16 purposes = _purposes(termsSeed >> 32);
        uint32 duration = uint32(bound(termsSeed >> 64, 0, 400 days));
        bool expected = _active(slot) && duration != 0 && duration <= consent.MAX_REQUEST_DURATION();
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.requestConsent(id, categories, purposes, duration, keccak256("reason")) returns (
            uint256 requestId
        ) {
            _report(true, expected, "requestConsent");
            uint256 modelId = model.addRequest(LedgerModel.Request(slot, actor, categories, purposes, duration, true));
            if (modelId != requestId) _report(false, true, "requestConsent: id differs from the model's");
        } catch {
            _report(false, expected, "requestConsent");
        }
    }

    function grantRequest(uint256 actorSeed, uint256 requestSeed, uint8 actions) external {
        if (model.requestCount() == 0) return;
        uint256 requestId = (requestSeed % model.requestCount()) + 1;
        LedgerModel.Request memory r = model.requestOf(requestId);
        // Governance and the stranger may ask, but the fuzzer never lets a patient say yes to them.
        if (r.requester == actors.at(actors.GOVERNANCE()) || r.requester == actors.at(actors.STRANGER())) return;
        address actor = _caller(r.twin, actorSeed);
        actions = uint8(bound(actions, 1, Action.ALL));
        bool expected = r.pending && _active(r.twin) && model.isController(r.twin, actor);
        vm.prank(actor);
        try consent.grantRequest(requestId, actions, 0) {
            _report(true, expected, "grantRequest");
            model.closeRequest(requestId);
            // v1: the request's terms replace whatever grant the requester held (gap 8: it may narrow it).
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
        bool expected = r.pending && model.isController(r.twin, actor);
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
    // Emergency access
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

    function openEmergencyAccess(uint256 actorSeed, uint256 slotSeed, uint256 durationSeed) external {
        uint256 slot = _slot(slotSeed);
        address actor = actorSeed % 2 == 0 ? actors.responderCandidate(actorSeed >> 1) : actors.any(actorSeed >> 1);
        LedgerModel.EmergencyPolicy memory p = model.emergencyPolicyOf(slot);
        uint32 duration = uint32(bound(durationSeed, 0, uint256(p.maxDuration) + 1 hours));
        bool expected =
            model.isResponder(actor) && _active(slot) && p.allowed && duration != 0 && duration <= p.maxDuration;
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.openEmergencyAccess(id, duration, keccak256("ambulance")) {
            _report(true, expected, "openEmergencyAccess");
            // v1: opening again replaces the end, with no cap from the first opening (gap 2).
            model.setEmergencyUntil(slot, actor, uint40(block.timestamp) + duration);
        } catch {
            _report(false, expected, "openEmergencyAccess");
        }
    }

    function closeEmergencyAccess(uint256 actorSeed, uint256 slotSeed, uint256 responderSeed) external {
        uint256 slot = _slot(slotSeed);
        address responder = actors.responderCandidate(responderSeed);
        address actor = actorSeed % 3 == 0 ? responder : _caller(slot, actorSeed);
        bool expected =
            (actor == responder || model.isController(slot, actor)) &&
                block.timestamp < model.emergencyUntil(slot, responder);
        bytes32 id = _id(slot);
        vm.prank(actor);
        try consent.closeEmergencyAccess(id, responder) {
            _report(true, expected, "closeEmergencyAccess");
            model.setEmergencyUntil(slot, responder, 0);
        } catch {
            _report(false, expected, "closeEmergencyAccess");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Signs grant terms with a signer's key over v1's EIP-712 type, at the signer's current (model) nonce.
    function _sign(
        uint256 signerSeed,
        uint256 slotSeed,
        uint256 granteeSeed,
        uint256 termsSeed
    ) internal view returns (Signed memory s) {
        s.slot = _slot(slotSeed);
        s.signer = _caller(s.slot, signerSeed);
        s.terms = _terms(s.slot, actors.grantee(granteeSeed), termsSeed);
        s.nonce = nonceOf[s.signer];
        s.deadline = block.timestamp + bound(termsSeed >> 128, 0, 2 days);
        bytes32 structHash = keccak256(abi.encode(consent.GRANT_TYPEHASH(), s.terms, s.signer, s.nonce, s.deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", consent.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(actors.keyOf(actors.indexOf(s.signer)), digest);
        s.signature = abi.encodePacked(r, sig, v);
    }

    function _relay(Signed memory s) internal {
        bool expected =
            block.timestamp <= s.deadline &&
                s.nonce == nonceOf[s.signer] &&
                _active(s.slot) &&
                model.isController(s.slot, s.signer) &&
                _validWindow(s.terms);
        // Anyone relays: here the stranger.
        vm.prank(actors.at(actors.STRANGER()));
        try consent.grantBySig(s.terms, s.signer, s.nonce, s.deadline, s.signature) {
            _report(true, expected, "grantBySig");
            ++nonceOf[s.signer];
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
