import type { StudyRegistry } from "../../typechain-types";
import { Aggregate, type CohortAnswer, type StudyTerms } from "./cohort";

/**
 * The research module's calls to StudyRegistry: the study's terms for `answerCohortQuery`, the twins enrolled at a
 * block, and the record of an answer (ε spent, contributor root), which the chain refuses below k or past the budget.
 */

/** The study's terms as `answerCohortQuery` takes them. */
export async function studyTermsOf(studies: StudyRegistry, studyId: bigint): Promise<StudyTerms> {
  const study = await studies.studyOf(studyId);
  return {
    minCohort: Number(study.minCohort),
    aggregates: Number(study.aggregates),
    categories: Number(study.categories),
    remainingMilli: Number(study.budget - study.spent),
  };
}

/** The ids among `twinIds` enrolled in the study at `blockNumber` (`isEnrolledAt`, asked in parallel). */
export async function enrolledAt(
  studies: StudyRegistry,
  studyId: bigint,
  twinIds: readonly string[],
  blockNumber: number,
): Promise<Set<string>> {
  const answers = await Promise.all(twinIds.map((id) => studies.isEnrolledAt(studyId, id, blockNumber)));
  return new Set(twinIds.filter((_, i) => answers[i]));
}

/** Records the answer on chain (`spendBudget`) by the operator `studies` is connected with; resolves once mined. */
export async function recordAnswer(
  studies: StudyRegistry,
  studyId: bigint,
  answer: CohortAnswer,
  atBlock: number,
): Promise<{ readonly transactionHash: string; readonly blockNumber: number }> {
  const tx = await studies.spendBudget(
    studyId,
    Aggregate[answer.aggregate],
    answer.epsilonMilli,
    answer.contributors.length,
    answer.commitment.root,
    atBlock,
  );
  const receipt = await tx.wait();
  if (receipt === null) throw new Error("spendBudget: no receipt");
  return { transactionHash: receipt.hash, blockNumber: receipt.blockNumber };
}
