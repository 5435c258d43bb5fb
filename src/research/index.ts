export { contributionEntries, contributionQueryType, type ContributionContext, type ContributionEntry } from "./access";
export { enrolledAt, recordAnswer, studyTermsOf } from "./chain";
export {
  Aggregate,
  answerCohortQuery,
  categoryOf,
  type AggregateName,
  type CodedEntry,
  type CohortAnswer,
  type CohortOptions,
  type CohortQuery,
  type CohortSubject,
  type CohortTwin,
  type HistogramBin,
  type StudyTerms,
} from "./cohort";
export {
  commitContributors,
  CONTRIBUTOR_LEAF_ENCODING,
  verifyContributor,
  type Contributor,
  type ContributorCommitment,
} from "./contributors";
export { ResearchError, type ResearchErrorCode } from "./errors";
export { clamp, laplaceCdf, laplaceMechanism, laplaceScale, sampleLaplace } from "./laplace";
export { privateQuantile } from "./quantile";
export { seededRandom, secureRandom, type RandomSource } from "./random";
