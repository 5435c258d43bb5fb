// SPDX-License-Identifier: MIT
// solhint-disable one-contract-per-file
// (One vocabulary file on purpose: the three bitmask tables and the enums are read together, and
// src/vocabulary.ts mirrors this one file.)
pragma solidity 0.8.28;

/// @title TwinLedger shared vocabulary
/// @notice The bitmasks and enums that the registry, the consent policies and the update log
/// share with each other and with off-chain code (src/vocabulary.ts mirrors them, and a test
/// holds the two equal). Health data never appears here: only which *kind* of data is meant.

/// @dev Data categories, one bit each, combined into a `uint32` mask.
library DataCategory {
    uint32 internal constant DEMOGRAPHICS = 1 << 0; // Patient resource: birth year, gender, address region
    uint32 internal constant CONDITIONS = 1 << 1; // problem list (Condition)
    uint32 internal constant MEDICATIONS = 1 << 2; // MedicationRequest / MedicationStatement / administrations
    uint32 internal constant ALLERGIES = 1 << 3; // AllergyIntolerance
    uint32 internal constant PROCEDURES = 1 << 4; // Procedure, immunizations and other interventions
    uint32 internal constant ENCOUNTERS = 1 << 5; // Encounter timeline
    uint32 internal constant LABS = 1 << 6; // laboratory Observations, DiagnosticReport
    uint32 internal constant VITALS = 1 << 7; // vital-sign Observations taken in care
    uint32 internal constant WEARABLE_STREAMS = 1 << 8; // device readings (PHR), anchored in Merkle batches
    uint32 internal constant IMAGING = 1 << 9; // ImagingStudy and reports
    uint32 internal constant GENOMICS = 1 << 10; // genetic results
    uint32 internal constant MENTAL_HEALTH = 1 << 11; // specially protected notes and scores
    uint32 internal constant TWIN_MODEL = 1 << 12; // the twin's derived state: trends, alerts, risk scores
    uint32 internal constant COVERAGE = 1 << 13; // insurance: Coverage, Claim, ExplanationOfBenefit
    /// @dev All categories defined so far; masks with other bits set are refused.
    uint32 internal constant ALL = (1 << 14) - 1;
}

/// @dev What a grantee may do with the data in the granted categories, combined into a `uint8` mask.
library Action {
    uint8 internal constant READ = 1 << 0; // read individual records
    uint8 internal constant AGGREGATE = 1 << 1; // receive only aggregates (counts, means, series)
    uint8 internal constant WRITE = 1 << 2; // contribute records (through an authorized source)
    uint8 internal constant SHARE = 1 << 3; // pass on to a third party under the same terms
    uint8 internal constant ALL = (1 << 4) - 1;
}

/// @dev Why the data is used, one bit each, combined into a `uint16` mask.
library Purpose {
    uint16 internal constant TREATMENT = 1 << 0;
    uint16 internal constant RESEARCH = 1 << 1;
    uint16 internal constant INSURANCE_CLAIM = 1 << 2;
    uint16 internal constant EMERGENCY = 1 << 3;
    uint16 internal constant PUBLIC_HEALTH = 1 << 4;
    uint16 internal constant CARE_COORDINATION = 1 << 5;
    uint16 internal constant CLINICAL_TRIAL = 1 << 6;
    uint16 internal constant DEVICE_MONITORING = 1 << 7;
    uint16 internal constant PERSONAL_USE = 1 << 8;
    uint16 internal constant AUDIT = 1 << 9;
    uint16 internal constant ALL = (1 << 10) - 1;
}

/// @dev Lifecycle of a twin. `None` is the zero value of an unknown twin.
enum TwinStatus {
    None,
    Active,
    Suspended,
    Erased
}

/// @dev Kinds of data source a patient authorizes on a twin.
enum SourceKind {
    None,
    Emr, // a hospital's electronic medical record system
    Device, // a wearable or home device (PHR)
    App, // a patient-facing app entering data for the patient
    Lab // a laboratory information system
}
