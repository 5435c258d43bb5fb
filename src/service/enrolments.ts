import { toBeHex, zeroPadValue, type Provider } from "ethers";
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
  /** The studies' enrolment intervals read so far. */
  readonly index: EnrolmentIndex;
}

/** A twin's enrolment in a study: enrolled from `enrolledAt`, no longer from `withdrawnAt`. */
interface Interval {
  enrolledAt: number;
  withdrawnAt: number | null;
}

/** What is known of a study: its twins' intervals from the events up to `block` (whose hash was `hash`). */
interface StudyScan {
  readonly twins: Map<string, Interval>;
  readonly block: number;
  readonly hash: string;
}

/**
 * The enrolment intervals of each study asked about, from StudyRegistry's `TwinEnrolled` and `TwinWithdrawn` logs
 * (one `eth_getLogs` for both, topics decoded directly), read once and then only for the blocks after those already
 * read. The last block read is checked by hash on every use: a reorganization below it reads the study again.
 */
export class EnrolmentIndex {
  readonly #scans = new Map<bigint, StudyScan>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly studies: StudyRegistry,
    private readonly fromBlock: number,
  ) {}

  /** The twins (lower-case ids) enrolled in `studyId` at `atBlock` (a mined block). */
  enrolledAt(studyId: bigint, atBlock: number): Promise<string[]> {
    const run = this.#queue.then(async () => {
      const scan = await this.#scanTo(studyId, atBlock);
      const twins: string[] = [];
      for (const [twinId, { enrolledAt, withdrawnAt }] of scan.twins) {
        if (enrolledAt <= atBlock && (withdrawnAt === null || withdrawnAt > atBlock)) twins.push(twinId);
      }
      return twins;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #scanTo(studyId: bigint, atBlock: number): Promise<StudyScan> {
    const provider = providerOf(this.studies);
    let scan = this.#scans.get(studyId);
    if (scan !== undefined && (await provider.getBlock(scan.block))?.hash !== scan.hash) scan = undefined;
    if (scan !== undefined && scan.block >= atBlock) return scan;
    const twins = scan?.twins ?? new Map<string, Interval>();
    const from = scan === undefined ? this.fromBlock : scan.block + 1;
    const enrolledTopic = this.studies.interface.getEvent("TwinEnrolled").topicHash;
    const withdrawnTopic = this.studies.interface.getEvent("TwinWithdrawn").topicHash;
    const logs = await provider.getLogs({
      address: await this.studies.getAddress(),
      topics: [[enrolledTopic, withdrawnTopic], zeroPadValue(toBeHex(studyId), 32)],
      fromBlock: from,
      toBlock: atBlock,
    });
    for (const log of logs) {
      const twinId = log.topics[2].toLowerCase();
      if (log.topics[0] === enrolledTopic) twins.set(twinId, { enrolledAt: log.blockNumber, withdrawnAt: null });
      else {
        const interval = twins.get(twinId);
        if (interval !== undefined) interval.withdrawnAt = log.blockNumber;
      }
    }
    const block = await provider.getBlock(atBlock);
    if (block === null || block.hash === null) throw new Error(`block ${atBlock} is not known`);
    scan = { twins, block: atBlock, hash: block.hash };
    this.#scans.set(studyId, scan);
    return scan;
  }
}

function providerOf(studies: StudyRegistry): Provider {
  const provider = studies.runner?.provider;
  if (provider === undefined || provider === null) throw new Error("StudyRegistry has no provider");
  return provider;
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
export function enrolledTwinsAt(chain: ResearchChain, studyId: bigint, atBlock: number): Promise<string[]> {
  return chain.index.enrolledAt(studyId, atBlock);
}

/** The studies the twin was ever enrolled in, by study id, with their withdrawals; read at the head. */
export async function enrolmentsOf(chain: ResearchChain, twinId: string): Promise<StudyEnrolment[]> {
  const { studies, fromBlock } = chain;
  const [enrolled, withdrawn] = await Promise.all([
    studies.queryFilter(studies.filters.TwinEnrolled(undefined, twinId), fromBlock, "latest"),
    studies.queryFilter(studies.filters.TwinWithdrawn(undefined, twinId), fromBlock, "latest"),
  ]);
  if (enrolled.length === 0) return [];
  const times = await blockTimes(
    providerOf(studies),
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
