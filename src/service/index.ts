/**
 * The query gateway: requests signed by the reader's Ethereum key (EIP-712), consent checked on chain at the head
 * for every query, answers carrying their proofs (update, batch and state anchors), every authenticated access in an
 * append-only log whose Merkle roots are anchored on chain (`TwinUpdateLog.anchorAccessLog`).
 */
export {
  createGateway,
  ACCESS_LOG_QUERY_TYPE,
  DEFAULT_BODY_LIMIT,
  DEFAULT_FRESHNESS_SECONDS,
  type Gateway,
  type GatewayOptions,
} from "./gateway";
export {
  AccessLog,
  ACCESS_LOG_LEAF_ENCODING,
  DEFAULT_ACCESS_LOG_PAGE,
  DEFAULT_REFUSAL_PERIOD_MS,
  MAX_ACCESS_LOG_PAGE,
  leafHashOf,
  leafOf,
  verifyAccessLogProof,
  type AccessLogAnchorRecord,
  type AccessLogAnchorWriter,
  type AccessLogEntry,
  type AccessLogInput,
  type AccessLogLeaf,
  type AccessLogOptions,
  type AccessLogPage,
  type ProvenAccessLogEntry,
  type RefusalCount,
} from "./access-log";
export {
  AccessDecision,
  ConsentChecker,
  HeadTracker,
  REFUSAL_MESSAGE,
  REFUSAL_STATUS,
  reasonOf,
  type ConsentCheckerOptions,
  type RefusalReason,
} from "./consent";
export { HeadFollower, type ChainHead, type HeadFollowerStats } from "./head-follower";
export { audienceOf, checkAudience, operatorOf, originOf, type GatewayAudience } from "./audience";
export { AccessLogNonceStore, type NonceStore, type NonceUse } from "./nonces";
export { OperatorStanding, STANDING_STATUS, type StandingReason } from "./standing";
export { WallClockWindows } from "./windows";
export { GATEWAY_ERROR_STATUS, GatewayError, type GatewayErrorCode } from "./errors";
export {
  AGGREGATE_REFUSALS,
  DEFAULT_RATE_LIMITS,
  LogPolicy,
  RateLimits,
  type RateLimitOptions,
  type RateLimitWindow,
} from "./rate-limits";
export { SignatureVerifier } from "./signatures";
export {
  ALERT_CATEGORIES,
  CONDITIONS_MEDICATIONS_CATEGORIES,
  MAX_RAW_POINTS,
  QUERY_TYPE_NAMES,
  QUERY_TYPE_SPECS,
  READING_CATEGORIES,
  SUMMARY_CATEGORIES,
  actionOf,
  type AnswerProofs,
  type BatchRef,
  type QueryAnswerMap,
  type QueryParamsMap,
  type QueryType,
  type QueryTypeSpec,
  type ReadingProof,
  type RecordProof,
} from "./queries";
export type { SetAsideAnswer, SetAsideField } from "./queries/set-aside";
export {
  GatewayClient,
  verifyAccessLog,
  verifyAnswer,
  type AnswerVerification,
  type GatewayClientOptions,
  type GatewayResult,
  type QueryOptions,
} from "./client";
export type {
  AccessLogResponse,
  CohortQueryBody,
  CohortQueryResponse,
  ErrorResponse,
  QueryBody,
  QueryResponse,
} from "./types";
export {
  enrolmentsOf,
  enrolledTwinsAt,
  STUDY_STATUS_NAMES,
  type EnrolmentEvent,
  type ResearchChain,
  type StudyEnrolment,
  type StudyStatusName,
} from "./enrolments";
export { COHORT_QUERY_TYPE } from "./routes/research";
export { contributionQueryType } from "../research";
export {
  FhirRequestSigner,
  AUTHORIZATION_SCHEME,
  FHIR_SCOPES_QUERY_TYPE,
  FHIR_SEARCH_QUERY_TYPE,
  type FhirRequestSignerOptions,
} from "./fhir-api/authorization";
export { EXTENSION as FHIR_PROOF_EXTENSIONS, proofsOfBundle } from "./fhir-api/bundle";
export { FHIR_RESOURCE_TYPES, scopesOf, type FhirResourceType } from "./smart-scopes";
