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

/**
 * The studies a cohort contribution (an access-log entry with decision `contributed`, its reader the sponsor) may
 * have gone to: the sponsor's studies the twin was enrolled in at the entry's time (the entry does not name the study).
 */
export function studiesOfContribution(
  enrolments: readonly EnrolmentView[],
  sponsor: string,
  time: number,
): EnrolmentView[] {
  const ofSponsor = enrolments.filter((e) => e.sponsor.toLowerCase() === sponsor.toLowerCase());
  const during = ofSponsor.filter((e) => e.enrolledAt <= time && (e.withdrawnAt === null || time < e.withdrawnAt));
  return during.length > 0 ? during : ofSponsor;
}
