// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Action, DataCategory, Purpose} from "../Common.sol";
import {IConsentPolicy} from "../interfaces/IConsentPolicy.sol";

/// @dev Test-only: exposes the vocabulary's constants so that test/src/vocabulary.test.ts can hold
/// src/vocabulary.ts equal to them.
contract VocabularyHarness {
    /// @notice The data category bits, in declaration order, and their union.
    function categories() external pure returns (uint32[14] memory bits, uint32 all) {
        bits = [
            DataCategory.DEMOGRAPHICS,
            DataCategory.CONDITIONS,
            DataCategory.MEDICATIONS,
            DataCategory.ALLERGIES,
            DataCategory.PROCEDURES,
            DataCategory.ENCOUNTERS,
            DataCategory.LABS,
            DataCategory.VITALS,
            DataCategory.WEARABLE_STREAMS,
            DataCategory.IMAGING,
            DataCategory.GENOMICS,
            DataCategory.MENTAL_HEALTH,
            DataCategory.TWIN_MODEL,
            DataCategory.COVERAGE
        ];
        all = DataCategory.ALL;
    }

    /// @notice The action bits, in declaration order, and their union.
    function actions() external pure returns (uint8[4] memory bits, uint8 all) {
        bits = [Action.READ, Action.AGGREGATE, Action.WRITE, Action.SHARE];
        all = Action.ALL;
    }

    /// @notice The purpose bits, in declaration order, and their union.
    function purposes() external pure returns (uint16[10] memory bits, uint16 all) {
        bits = [
            Purpose.TREATMENT,
            Purpose.RESEARCH,
            Purpose.INSURANCE_CLAIM,
            Purpose.EMERGENCY,
            Purpose.PUBLIC_HEALTH,
            Purpose.CARE_COORDINATION,
            Purpose.CLINICAL_TRIAL,
            Purpose.DEVICE_MONITORING,
            Purpose.PERSONAL_USE,
            Purpose.AUDIT
        ];
        all = Purpose.ALL;
    }

    /// @notice The values of `IConsentPolicy.AccessDecision`, in declaration order, and the largest.
    function accessDecisions() external pure returns (uint8[12] memory values, uint8 max) {
        values = [
            uint8(IConsentPolicy.AccessDecision.Allowed),
            uint8(IConsentPolicy.AccessDecision.UnknownTwin),
            uint8(IConsentPolicy.AccessDecision.TwinSuspended),
            uint8(IConsentPolicy.AccessDecision.TwinErased),
            uint8(IConsentPolicy.AccessDecision.NoConsent),
            uint8(IConsentPolicy.AccessDecision.NotYetValid),
            uint8(IConsentPolicy.AccessDecision.Expired),
            uint8(IConsentPolicy.AccessDecision.Revoked),
            uint8(IConsentPolicy.AccessDecision.CategoryNotGranted),
            uint8(IConsentPolicy.AccessDecision.ActionNotGranted),
            uint8(IConsentPolicy.AccessDecision.PurposeNotGranted),
            uint8(IConsentPolicy.AccessDecision.Blocked)
        ];
        max = uint8(type(IConsentPolicy.AccessDecision).max);
    }
}
