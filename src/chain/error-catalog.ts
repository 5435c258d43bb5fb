/**
 * What to do about each custom error the five contracts can raise, keyed by the error's signature
 * (`Name(type,...)`, as the ABI spells it; two contracts may share a name with different arguments). A signature
 * several contracts declare has one sentence that fits each of them. `{arg}` in a fix is replaced by the decoded
 * argument of that name, as the first contract declaring the error names it (TwinRegistry, ConsentPolicy,
 * TwinUpdateLog, StudyRegistry, DeviceRegistry, in this order). The meaning of each error is its NatSpec
 * in contracts/interfaces (or OpenZeppelin's); docs/ERRORS.md is generated from both (scripts/errors-doc.ts),
 * and a test fails when an error in the ABIs has no entry here or the docs are not current.
 */
export const ERROR_FIXES: Readonly<Record<string, string>> = {
  // TwinRegistry (ITwinRegistry)
  "ZeroAddress()": "Pass a non-zero address.",
  "EmptyCommitment()":
    "Pass a non-zero commitment, hash or root (for a twin's metadata, twinMetadataCommitment() makes one).",
  "TwinAlreadyExists(bytes32)": "Twin {twinId} exists already: create with another salt, or use the existing twin.",
  "UnknownTwin(bytes32)": "No twin {twinId}: check the id (twinIdOf(patient, salt)) and the network.",
  "TwinNotActive(bytes32,uint8)":
    "Twin {twinId} is {status}: a controller resumes a suspended twin (resumeTwin); an erased twin cannot be used.",
  "TwinNotSuspended(bytes32,uint8)": "Twin {twinId} is {status}: only a suspended twin can be resumed.",
  "NotCustodian(address)":
    "{account} is not an accredited custodian: a GOVERNANCE_ROLE holder accredits it with registry.grantRole(CUSTODIAN_ROLE, account).",
  "NotTwinController(bytes32,address)":
    "{account} is neither the owner nor a delegate of twin {twinId}: send from the owner or a delegate (appointDelegate).",
  "NotTwinOwner(bytes32,address)": "{account} is not the owner of twin {twinId}: send from ownerOf(twinId).",
  "NotPendingOwner(bytes32,address)":
    "{account} is not the pending owner of twin {twinId}: send acceptOwnership from pendingOwnerOf(twinId).",
  "InvalidCategories(uint32)":
    "Category mask {categories} is empty or has undefined bits: combine DataCategory bits (src/vocabulary.ts).",
  "InvalidSourceKind(uint8)": "Source kind {kind} is None or undefined: pass a SourceKind (Emr, Device, App, Lab).",
  "UnknownSource(bytes32,address)":
    "{source} is not an authorized source of twin {twinId}: authorize it first (authorizeSource).",
  "DelegateAlreadyAppointed(bytes32,address)": "{delegate} is a delegate of twin {twinId} already: nothing to do.",
  "UnknownDelegate(bytes32,address)": "{delegate} is not a delegate of twin {twinId}: nothing to remove.",
  "OwnerNotAllowed(bytes32,address)":
    "The owner {owner} cannot be its own delegate, source or successor: name another address.",
  "SignatureExpired(uint256,uint256)":
    "The signature's deadline {deadline} is before the block time {timestamp}: sign again with a later deadline.",
  "InvalidSignature(address)":
    "The signature is not {signer}'s over these values for this chain and contract: sign with {signer}, with this chain id and this contract as the EIP-712 domain (diagnoseGrantSignature tells where a grant was signed for).",
  "InvalidAccountNonce(address,uint256)":
    "Sign again with {account}'s current nonce {currentNonce} (registry.nonces(account)).",
  // OpenZeppelin, in TwinRegistry (AccessControlDefaultAdminRules, SafeCast, EIP712's ShortStrings)
  "AccessControlUnauthorizedAccount(address,bytes32)":
    "{account} lacks {neededRole}: send from an account that holds it, or have the role's admin grant it (grantRole).",
  "AccessControlBadConfirmation()":
    "renounceRole must name the caller itself: send it from the account giving up the role.",
  "AccessControlEnforcedDefaultAdminDelay(uint48)":
    "The default-admin handover is not due: wait until {schedule} (block time; 0 means none was begun: beginDefaultAdminTransfer first).",
  "AccessControlEnforcedDefaultAdminRules()":
    "DEFAULT_ADMIN_ROLE changes only in two delayed steps: beginDefaultAdminTransfer, then acceptDefaultAdminTransfer; never grantRole/revokeRole it.",
  "AccessControlInvalidDefaultAdmin(address)":
    "{defaultAdmin} cannot take the default admin role: accept from the pending default admin (pendingDefaultAdmin()), never the zero address.",
  "SafeCastOverflowedUintDowncast(uint8,uint256)": "{value} does not fit in {bits} bits: pass a smaller value.",
  "InvalidShortString()":
    "Raised only by a constructor given an over-long EIP-712 name: deploy with the project's code.",
  "StringTooLong(string)":
    "Raised only by a constructor given an over-long EIP-712 name: deploy with the project's code.",
  // ConsentPolicy (IConsentPolicy)
  "ZeroRegistry()": "Deploy with the TwinRegistry's address, not zero.",
  "ZeroGrantee()": "Name a grantee other than the zero address.",
  "TwinNotActive(bytes32)":
    "Twin {twinId} is unknown, suspended or erased: check the id, or have a controller resume it (resumeTwin).",
  "InvalidActions(uint8)":
    "Action mask {actions} is empty or has undefined bits: combine Action bits (src/vocabulary.ts).",
  "InvalidPurposes(uint16)":
    "Purpose mask {purposes} is empty or has undefined bits: combine Purpose bits (src/vocabulary.ts).",
  "InvalidWindow(uint40,uint40)":
    "The window {validFrom}..{validUntil} ends before it starts or has ended (block time): pass a future end after the start.",
  "NoActiveGrant(bytes32,address)": "{grantee} holds no live grant on twin {twinId}: nothing to revoke or update.",
  "NonceAlreadyUsed(address,uint256)":
    "{signer}'s nonce {nonce} was used or cancelled: sign again with an unused nonce (randomGrantNonce(), nonceUsed()).",
  "StaleGrantSignature(bytes32,address,uint32,uint32)":
    "The grant was signed for epoch {epoch} but the pair is at {currentEpoch}: sign again with grantEpochOf(twinId, grantee).",
  "InvalidDuration(uint256)":
    "Duration {duration} is zero or above MAX_REQUEST_DURATION: ask for a shorter, non-zero one.",
  "UnknownRequest(uint256)": "No request {requestId}: check the id (ids start at 1; requestOf(id)).",
  "RequestNotPending(uint256,uint8)": "Request {requestId} is {status}, no longer pending: nothing to do.",
  "NotRequester(uint256,address)":
    "{account} did not make request {requestId}: withdraw it from the requester's account.",
  "RequestExpired(uint256,uint40)": "Request {requestId} expired at {expiresAt}: the requester asks again.",
  "RequestAlreadyOpen(uint256)":
    "Request {requestId} of this requester is still open: wait for it, or withdraw it first.",
  "GrantExists(bytes32,address)":
    "{grantee} already holds a live grant on twin {twinId}: the patient changes it with updateGrant instead.",
  "NotEmergencyResponder(address)":
    "{account} is not an accredited emergency responder: governance grants it EMERGENCY_RESPONDER_ROLE on the registry.",
  "EmergencyAccessNotAllowed(bytes32)":
    "Twin {twinId}'s patient does not allow emergency access: a controller enables it (setEmergencyPolicy).",
  "EmergencyDurationTooLong(uint256,uint256)":
    "Duration {duration} is zero or above the twin's maximum {maxDuration}: ask for at most {maxDuration} seconds.",
  "EmptyReason()": "Pass a non-zero reason hash (emergencyReasonCommitment() makes one).",
  "NoEmergencyAccess(bytes32,address)":
    "No emergency access is open for {responder} on twin {twinId}: nothing to close.",
  "NotAllowedToClose(bytes32,address)":
    "{account} may not close this emergency access: send from the responder or a controller of twin {twinId}.",
  "EmergencyCooldown(bytes32,address,uint40)":
    "A controller closed {responder}'s emergency access: it cannot be opened again before {until} (block time).",
  "AccountIsBlocked(bytes32,address)":
    "{account} is blocked on twin {twinId}: only a controller can unblock it (setBlocked(twinId, account, false)).",
  "InvalidRegistryAnswer(bytes4,uint256,uint256)":
    "The registry answered {selector} with {size} bytes instead of {expected}: this ConsentPolicy points at a contract that is not a TwinRegistry; redeploy it with the right registry.",
  // TwinUpdateLog (ITwinUpdateLog)
  "InvalidCategory(uint32)":
    "Category {category} is not valid here: recordUpdate takes exactly one DataCategory bit, anchorRecords a non-empty mask of defined bits.",
  "SourceNotAuthorized(bytes32,address,uint32)":
    "{source} may not write category {category} on twin {twinId}: a controller authorizes it (authorizeSource) for those categories.",
  "EmptyHash()": "Pass a non-zero content hash or Merkle root.",
  "EmptyCid()": "Pass the content id (CID) of the stored blob.",
  "CidTooLong(uint256,uint256)": "The CID is {length} bytes, above {maxLength}: store a binary CIDv1.",
  "BatchAlreadyAnchored(bytes32,address,bytes32)":
    "{source} anchored reading root {merkleRoot} for twin {twinId} already: nothing to do.",
  "RecordsAlreadyAnchored(bytes32,address,bytes32)":
    "{source} anchored records root {recordsRoot} for twin {twinId} already: nothing to do.",
  "NotTwinCustodian(bytes32,address)":
    "{account} is not twin {twinId}'s accredited custodian: send from custodianOf(twinId), accredited by governance.",
  "UnexpectedVersion(uint64,uint64)":
    "Version {version} is not the next one: commit version {expected} (twinStateOf(twinId).version + 1, or 1 for a new custodian).",
  "EmptyAccessLogRoot()": "Pass a non-zero access-log root.",
  "InvalidAccessLogRange(uint64,uint64)":
    "The range {fromIndex}..{toIndex} starts after it ends: pass fromIndex ≤ toIndex.",
  "AccessLogAlreadyAnchored(address,bytes32)": "{operator} anchored access-log root {root} already: nothing to do.",
  // StudyRegistry (IStudyRegistry); shares ZeroRegistry, InvalidCategories, InvalidWindow, EmptyCommitment,
  // TwinNotActive, NotTwinController and OpenZeppelin's AccessControl errors with the contracts above
  "UnknownStudy(uint256)": "No study {studyId}: check the id (ids start at 1; studyCount()) and the network.",
  "InvalidPurpose(uint16)":
    "Purpose {purpose} is not allowed for a study: pass exactly Purpose.RESEARCH or Purpose.CLINICAL_TRIAL (one bit).",
  "InvalidAggregates(uint8)":
    "Aggregate mask {aggregates} is empty or has undefined bits (an answer takes exactly one bit): combine AGGREGATE_* bits.",
  "InvalidMinCohort(uint32,uint32)":
    "k = {minCohort} is below the floor {floor}: declare a minimum cohort of at least {floor} twins.",
  "InvalidBudget(uint48)": "The privacy budget or ε {budget} must be positive: pass a non-zero milli-ε amount.",
  "InvalidStudyStatus(uint256,uint8)":
    "Study {studyId} is {status}: review only a Proposed study; enrol in, answer for or close only an Approved one.",
  "NotSponsor(uint256,address)":
    "{account} may not close study {studyId}: send from its sponsor or an ETHICS_BOARD_ROLE holder.",
  "OutsideWindow(uint256,uint256)":
    "Time {timestamp} is outside study {studyId}'s window: enrol or answer between its windowStart and windowEnd (studyOf(studyId)).",
  "AlreadyEnrolled(uint256,bytes32)":
    "Twin {twinId} is enrolled in study {studyId} already, or withdrew from it (final): nothing to do.",
  "NotEnrolled(uint256,bytes32)": "Twin {twinId} is not enrolled in study {studyId}: nothing to withdraw.",
  "AggregateNotAllowed(uint256,uint8)":
    "Study {studyId} did not declare aggregate {aggregate}: answer only with one of its aggregates (studyOf(studyId).aggregates).",
  "CohortTooSmall(uint256,uint32,uint32)":
    "{contributors} contributors are fewer than study {studyId}'s k = {minCohort}: do not release this answer.",
  "BudgetExhausted(uint256,uint48,uint48)":
    "Study {studyId} has {remaining} milli-ε left, less than the {requested} asked: spend less, or the study asks no more.",
  "BlockNotPast(uint64,uint256)":
    "Block {atBlock} is not mined yet (current {currentBlock}): record an answer computed at an earlier block.",
  // DeviceRegistry (IDeviceRegistry); shares ZeroAddress, EmptyCommitment and OpenZeppelin's AccessControl errors
  "DeviceAlreadyRegistered(address)":
    "Device {device} is registered already: its manufacturer updates it (updateDevice) instead.",
  "UnknownDevice(address)": "No device {device}: check the address, or have its manufacturer register it first.",
  "NotManufacturer(address,address)":
    "{account} is not the manufacturer of device {device}: send from deviceOf(device).manufacturer, while it holds MANUFACTURER_ROLE.",
  "NotTwinCustodian(bytes32,address,address)":
    "{account} is not twin {twinId}'s custodian, or {device} is not a source of it: flag as custodianOf(twinId), a device the twin authorized.",
  "InvalidFlagReason(uint8)":
    "Flag reason {reason} is None or undefined: pass a FlagReason (Recall, CalibrationExpired, Malfunction, Other).",
  "NotFlagged(address)": "Device {device} is not flagged: nothing to clear.",
  "NotFlagger(address,address,address)":
    "{account} did not flag device {device}: only its flagger {flaggedBy} (a manufacturer while accredited) or governance (DEFAULT_ADMIN_ROLE) clears it.",
  "AlreadyFlagged(address,address)":
    "Device {device} is flagged by {flaggedBy}: only that account or governance clears or replaces the flag; ask them, or leave it.",
};

/** Solidity's panic codes (0x4e487b71), with what each means. */
export const PANIC_REASONS: Readonly<Record<number, string>> = {
  0x00: "generic compiler panic",
  0x01: "assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division or modulo by zero",
  0x21: "conversion to an enum out of range",
  0x22: "incorrectly encoded storage byte array",
  0x31: "pop() on an empty array",
  0x32: "array index out of bounds",
  0x41: "too much memory allocated",
  0x51: "call to a zero-initialized internal function",
};
