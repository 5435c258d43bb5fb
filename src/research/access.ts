import { Purpose } from "../vocabulary";
import { categoryOf, type CohortAnswer, type CohortQuery } from "./cohort";

/**
 * What each contributing twin's access log records of a cohort answer: one entry per contributor, shaped as the
 * gateway's `AccessLogInput` (src/service/access-log.ts; declared here structurally so that research does not reach
 * up into the service) and appended with `AccessLog.append(entry)`. The reader is the study's sponsor, the purpose
 * RESEARCH, the decision `contributed`: the patient's audit trail shows which study used which category and when.
 */
export interface ContributionEntry {
  readonly time: number;
  readonly twinId: string;
  readonly reader: string;
  readonly queryType: string;
  readonly category: number;
  readonly purpose: number;
  readonly decision: string;
  readonly status: number;
  readonly requestHash: string;
}

/**
 * The queryType of a contribution: `cohort-<aggregate>` and, when the study is named, `:study-<studyId>` (the
 * gateway's entries: `cohort-mean:study-1`), so that the patient's log says which study used the twin.
 */
export function contributionQueryType(aggregate: string, studyId?: bigint | string): string {
  return studyId === undefined ? `cohort-${aggregate}` : `cohort-${aggregate}:study-${studyId.toString()}`;
}

/** Who asked, when, and for which study. */
export interface ContributionContext {
  readonly time: number;
  readonly sponsor: string;
  readonly requestHash: string;
  /** The study: named in each entry's queryType. */
  readonly studyId?: bigint | string;
  /** The study's Purpose bit (default RESEARCH; CLINICAL_TRIAL for a trial). */
  readonly purpose?: number;
  /** The DataCategory bits read of each twin (default: the subject's category). */
  readonly categoryOf?: (twinId: string) => number | undefined;
}

/** The access-log entries of an answer's contributors. */
export function contributionEntries(
  answer: CohortAnswer,
  query: CohortQuery,
  context: ContributionContext,
): ContributionEntry[] {
  const queryType = contributionQueryType(answer.aggregate, context.studyId);
  const category = categoryOf(query.subject);
  return answer.contributors.map((c) => ({
    time: context.time,
    twinId: c.twinId,
    reader: context.sponsor,
    queryType,
    category: context.categoryOf?.(c.twinId) ?? category,
    purpose: context.purpose ?? Purpose.RESEARCH,
    decision: "contributed",
    status: 200,
    requestHash: context.requestHash,
  }));
}
