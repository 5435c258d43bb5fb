/**
 * TwinLedger v1's figures, for the report's v1 → v2 comparisons (issue 9). Measured by this evaluation (full mode,
 * same compiler settings) on the v1 contracts, unchanged from f113bba to 9a6a5cd; the EMR ingest figure is the one
 * issue 9 quotes. Our own measurements, not outside figures: they stay next to the code, not in references.ts.
 */

/** Where the v1 figures come from. */
export const V1_SOURCE = "v1 contracts (9a6a5cd), `npm run evaluate` full mode at f113bba";

/** v1 deployment gas and runtime bytes per contract. */
export const V1_DEPLOYMENTS: Readonly<Record<string, { readonly gas: number; readonly runtimeBytes: number }>> = {
  TwinRegistry: { gas: 1_987_933, runtimeBytes: 8_520 },
  ConsentPolicy: { gas: 1_966_127, runtimeBytes: 8_808 },
  TwinUpdateLog: { gas: 1_212_853, runtimeBytes: 5_359 },
};

/** v1 average gas per function over the evaluation's workload (`Contract.method`). */
export const V1_FUNCTION_AVG: Readonly<Record<string, number>> = {
  "ConsentPolicy.closeEmergencyAccess": 30_508,
  "ConsentPolicy.denyRequest": 36_785,
  "ConsentPolicy.grant": 47_196,
  "ConsentPolicy.grantBySig": 88_015,
  "ConsentPolicy.grantRequest": 47_033,
  "ConsentPolicy.openEmergencyAccess": 58_365,
  "ConsentPolicy.requestConsent": 81_878,
  "ConsentPolicy.revoke": 34_968,
  "ConsentPolicy.setEmergencyPolicy": 53_076,
  "ConsentPolicy.updateGrant": 38_964,
  "ConsentPolicy.withdrawRequest": 31_387,
  "TwinRegistry.acceptOwnership": 32_088,
  "TwinRegistry.appointDelegate": 49_212,
  "TwinRegistry.authorizeSource": 45_206,
  "TwinRegistry.changeCustodian": 36_892,
  "TwinRegistry.createTwin": 74_435,
  "TwinRegistry.createTwinFor": 105_885,
  "TwinRegistry.eraseTwin": 31_522,
  "TwinRegistry.removeDelegate": 27_560,
  "TwinRegistry.removeSource": 27_298,
  "TwinRegistry.resumeTwin": 29_422,
  "TwinRegistry.suspendTwin": 29_379,
  "TwinRegistry.transferOwnership": 49_551,
  "TwinRegistry.updateMetadata": 31_676,
  "TwinUpdateLog.anchorBatch": 56_413,
  "TwinUpdateLog.commitTwinState": 78_675,
  "TwinUpdateLog.recordUpdate": 46_425,
};

/** What v2 changed in a function's work, where its gas moved for a reason of the ABI (issue 9). */
export const V2_CHANGES: Readonly<Record<string, string>> = {
  "ConsentPolicy.grant": "bumps the (twin, grantee) epoch, voiding older signatures",
  "ConsentPolicy.updateGrant": "bumps the (twin, grantee) epoch",
  "ConsentPolicy.revoke": "bumps the (twin, grantee) epoch; no longer reverts without a live grant",
  "ConsentPolicy.grantBySig": "signed epoch checked; unordered nonces (bitmap) instead of a sequential nonce",
  "ConsentPolicy.grantRequest": "bumps the epoch; refuses to narrow a live grant; requests expire",
  "ConsentPolicy.requestConsent":
    "expiry stored; one open request per (twin, requester) kept; blocked requesters refused",
  "ConsentPolicy.openEmergencyAccess": "end capped at first opening + maximum; cooldown and block checked",
  "ConsentPolicy.closeEmergencyAccess": "starts the responder's cooldown",
  "ConsentPolicy.cancelNonce": "new: a signer voids one of their unrelayed signatures",
  "ConsentPolicy.setBlocked": "new: the patient blocks an account for their twin",
  "TwinRegistry.createTwin": "takes a salt; the id is keccak256(patient, salt), derived on chain",
  "TwinRegistry.createTwinFor": "signs a salt; the id is derived on chain",
  "TwinRegistry.acceptOwnership": "ends every delegate (delegate epoch) and a source who becomes owner",
  "TwinRegistry.removeDelegate": "cancels a pending transfer the delegate started or is named in",
  "TwinRegistry.transferOwnership": "records who started the transfer (pendingTransferOf)",
  "TwinUpdateLog.recordUpdate":
    "unchanged; only its typical path here (a twin's first anchor is now its EMR record batch)",
  "TwinUpdateLog.anchorBatch": "keyed by (twin, source, root); no count or time range on chain",
  "TwinUpdateLog.commitTwinState": "versions per custodian epoch (version == current + 1); custodian and epoch stored",
  "TwinUpdateLog.anchorRecords": "new: one record batch per EMR ingest",
};

/** Gas of v1's ingest of a 22-record EMR bundle (22 recordUpdates), as issue 9 quotes it. */
export const V1_EMR_BUNDLE_22 = 944_462;
