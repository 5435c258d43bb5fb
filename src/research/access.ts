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

/** The access-log entries of an answer's contributors. */
export function contributionEntries(
  answer: CohortAnswer,
  query: CohortQuery,
  context: { readonly time: number; readonly sponsor: string; readonly requestHash: string },
): ContributionEntry[] {
  return answer.contributors.map((c) => ({
    time: context.time,
    twinId: c.twinId,
    reader: context.sponsor,
    queryType: `cohort-${answer.aggregate}`,
    category: categoryOf(query.subject),
    purpose: Purpose.RESEARCH,
    decision: "contributed",
    status: 200,
    requestHash: context.requestHash,
  }));
}
