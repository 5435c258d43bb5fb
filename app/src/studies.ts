import type { Chain } from "./env";
import type { ReadPoint } from "./head";

/** The twin's cohort studies, as StudyRegistry holds them: its enrolments and withdrawals, with each study's terms. */

export const STUDY_STATUS = ["none", "proposed", "approved", "rejected", "closed"] as const;

export interface EnrolmentView {
  readonly studyId: bigint;
  readonly sponsor: string;
  readonly purpose: number;
  readonly categories: number;
  readonly status: (typeof STUDY_STATUS)[number];
  /** Blocks of the enrolment and of the withdrawal (0: none), and their times (epoch ms; null: none). */
  readonly enrolledBlock: number;
  readonly enrolledAt: number;
  readonly withdrawnBlock: number;
  readonly withdrawnAt: number | null;
}

/** Every study the twin was ever enrolled in (TwinEnrolled), as it stands at the view's block. */
export async function enrolmentsOf(chain: Chain, twinId: string, at: ReadPoint): Promise<EnrolmentView[]> {
  const studies = chain.studies;
  if (studies === null) return [];
  const { blockTag } = at;
  const events = await studies.queryFilter(studies.filters.TwinEnrolled(undefined, twinId), 0, blockTag);
  const ids = [...new Set(events.map((e) => e.args.studyId))];
  const timeOf = async (block: number) => ((await chain.provider.getBlock(block))?.timestamp ?? 0) * 1000;
  return Promise.all(
    ids.map(async (studyId) => {
      const [study, [enrolled, withdrawn]] = await Promise.all([
        studies.studyOf(studyId, { blockTag }),
        studies.enrolmentOf(studyId, twinId, { blockTag }),
      ]);
      return {
        studyId,
        sponsor: study.sponsor,
        purpose: Number(study.purpose),
        categories: Number(study.categories),
        status: STUDY_STATUS[Number(study.status)] ?? "none",
        enrolledBlock: Number(enrolled),
        enrolledAt: await timeOf(Number(enrolled)),
        withdrawnBlock: Number(withdrawn),
        withdrawnAt: withdrawn === 0n ? null : await timeOf(Number(withdrawn)),
      };
    }),
  );
}

/** What a cohort contribution's queryType says: `cohort-<aggregate>:study-<id>` (the gateway's cohort route). */
export function parseContributionType(queryType: string): { aggregate: string; studyId: bigint | null } {
  const match = /^cohort-([a-z]+)(?::study-(\d+))?$/.exec(queryType);
  if (match === null) return { aggregate: queryType, studyId: null };
  return { aggregate: match[1], studyId: match[2] === undefined ? null : BigInt(match[2]) };
}

/**
 * The studies a cohort contribution (an access-log entry with decision `contributed`, its reader the sponsor) went
 * to: the study its queryType names, when that study is the sponsor's; otherwise (an entry that does not name it)
 * the sponsor's studies the twin was enrolled in at the entry's time.
 */
export function studiesOfContribution(
  enrolments: readonly EnrolmentView[],
  sponsor: string,
  time: number,
  queryType = "",
): EnrolmentView[] {
  const ofSponsor = enrolments.filter((e) => e.sponsor.toLowerCase() === sponsor.toLowerCase());
  const named = parseContributionType(queryType).studyId;
  const exact = ofSponsor.filter((e) => e.studyId === named);
  if (exact.length > 0) return exact;
  const during = ofSponsor.filter((e) => e.enrolledAt <= time && (e.withdrawnAt === null || time < e.withdrawnAt));
  return during.length > 0 ? during : ofSponsor;
}
