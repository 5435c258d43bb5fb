import type { Provider } from "ethers";
import type { StudyRegistry } from "../../typechain-types";

/**
 * Study enrolments as the gateway reads them from StudyRegistry's events (`TwinEnrolled`, `TwinWithdrawn`): the twins
 * enrolled in a study at a block (the cohort a query is answered over), and a twin's enrolments and withdrawals (what
 * its access log shows the patient). The events carry the block they hold from, so one `eth_getLogs` per kind answers
 * for any block, where `isEnrolledAt` would be one call per twin.
 */

/** Where a study stands, as `IStudyRegistry.StudyStatus` numbers it. */
export const STUDY_STATUS_NAMES = ["none", "proposed", "approved", "rejected", "closed"] as const;
export type StudyStatusName = (typeof STUDY_STATUS_NAMES)[number];

/** `IStudyRegistry.StudyStatus.Approved`. */
export const STUDY_APPROVED = 2;

/** The research contracts a gateway reads (and, for `studies`, writes as the operator). */
export interface ResearchChain {
  /** Connected to the operator's signer, which holds StudyRegistry's OPERATOR_ROLE (it records answers). */
  readonly studies: StudyRegistry;
  /** The first block to read StudyRegistry's events from (its deployment block; default 0). */
  readonly fromBlock: number;
}

/** One enrolment or withdrawal, as its event shows it. */
export interface EnrolmentEvent {
  readonly blockNumber: number;
  /** The block's time, epoch ms (as access-log entries' `time`). */
  readonly at: number;
  readonly transactionHash: string;
  /** The twin's owner or delegate who sent it. */
  readonly by: string;
}

/** A study the twin was enrolled in: the study's terms and where it stands, the enrolment and the withdrawal. */
export interface StudyEnrolment {
  /** Decimal string (uint256). */
  readonly studyId: string;
  readonly sponsor: string;
  /** The study's Purpose bit (RESEARCH or CLINICAL_TRIAL). */
  readonly purpose: number;
  /** DataCategory bits the study may aggregate. */
  readonly categories: number;
  /** Aggregate bits (count 1, mean 2, quantile 4, histogram 8) the study may ask for. */
  readonly aggregates: number;
  readonly status: StudyStatusName;
  readonly enrolled: EnrolmentEvent;
  /** Null while the twin is enrolled. */
  readonly withdrawn: EnrolmentEvent | null;
}

/** The twins (lower-case ids) enrolled in `studyId` at `atBlock`: enrolled at or before it and not withdrawn by then. */
export async function enrolledTwinsAt(chain: ResearchChain, studyId: bigint, atBlock: number): Promise<string[]> {
  const { studies, fromBlock } = chain;
  const [enrolled, withdrawn] = await Promise.all([
    studies.queryFilter(studies.filters.TwinEnrolled(studyId), fromBlock, atBlock),
    studies.queryFilter(studies.filters.TwinWithdrawn(studyId), fromBlock, atBlock),
  ]);
  const gone = new Set(withdrawn.map((e) => e.args.twinId.toLowerCase()));
  const twins = new Set<string>();
  for (const e of enrolled) {
    const twinId = e.args.twinId.toLowerCase();
    if (!gone.has(twinId)) twins.add(twinId);
  }
  return [...twins];
}

/** The studies the twin was ever enrolled in, by study id, with their withdrawals; read at the head. */
export async function enrolmentsOf(chain: ResearchChain, twinId: string): Promise<StudyEnrolment[]> {
  const { studies, fromBlock } = chain;
  const [enrolled, withdrawn] = await Promise.all([
    studies.queryFilter(studies.filters.TwinEnrolled(undefined, twinId), fromBlock, "latest"),
    studies.queryFilter(studies.filters.TwinWithdrawn(undefined, twinId), fromBlock, "latest"),
  ]);
  if (enrolled.length === 0) return [];
  const provider = studies.runner?.provider;
  if (provider === undefined || provider === null) throw new Error("StudyRegistry has no provider");
  const times = await blockTimes(
    provider,
    [...enrolled, ...withdrawn].map((e) => e.blockNumber),
  );
  const eventOf = (e: (typeof enrolled)[number]): EnrolmentEvent => ({
    blockNumber: e.blockNumber,
    at: times.get(e.blockNumber) ?? 0,
    transactionHash: e.transactionHash,
    by: e.args.by,
  });
  const withdrawals = new Map(withdrawn.map((e) => [e.args.studyId, eventOf(e)]));
  const sorted = [...enrolled].sort((a, b) => (a.args.studyId < b.args.studyId ? -1 : 1));
  return Promise.all(
    sorted.map(async (e): Promise<StudyEnrolment> => {
      const study = await studies.studyOf(e.args.studyId);
      return {
        studyId: e.args.studyId.toString(),
        sponsor: study.sponsor,
        purpose: Number(study.purpose),
        categories: Number(study.categories),
        aggregates: Number(study.aggregates),
        status: STUDY_STATUS_NAMES[Number(study.status)] ?? "none",
        enrolled: eventOf(e),
        withdrawn: withdrawals.get(e.args.studyId) ?? null,
      };
    }),
  );
}

/** Each block's time, epoch ms, asked once per block. */
async function blockTimes(provider: Provider, blockNumbers: readonly number[]): Promise<Map<number, number>> {
  const unique = [...new Set(blockNumbers)];
  const blocks = await Promise.all(unique.map((n) => provider.getBlock(n)));
  return new Map(unique.map((n, i) => [n, (blocks[i]?.timestamp ?? 0) * 1000]));
}
