import { ZeroHash } from "ethers";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { CohortQueryRequest } from "../../chain/typed-data";
import { checksumAddress } from "../../crypto/address";
import {
  Aggregate,
  answerCohortQuery,
  categoryOf,
  contributionEntries,
  ResearchError,
  secureRandom,
  type CohortAnswer,
  type CohortQuery,
  type RandomSource,
  type StudyTerms,
} from "../../research";
import type { AccessLogInput } from "../access-log";
import { checkAudience } from "../audience";
import { cohortInputsOf, flaggedDevicesOf, type CohortInputs } from "../cohort";
import { enrolledTwinsAt, STUDY_APPROVED, type ResearchChain } from "../enrolments";
import { GatewayError } from "../errors";
import type { CohortQueryBody, CohortQueryResponse } from "../types";
import type { GatewayContext, RoutePluginOptions } from "./context";
import { fail } from "./errors";
import { checkSignedParams } from "./signed-params";
import { COHORT_BODY_SCHEMA, COHORT_RESPONSE_SCHEMA } from "./research-schemas";
import { ERROR_RESPONSES } from "./schemas";

/** What the access log's refusal counters name a cohort query by (refusals are counted, never entries). */
export const COHORT_QUERY_TYPE = "cohort-query";

/** A study's state as the route needs it: at the head, and its status at the block asked. */
interface StudyAtBlock {
  readonly sponsor: string;
  /** The study's Purpose bit (RESEARCH or CLINICAL_TRIAL): the purpose its contributions are logged under. */
  readonly purpose: number;
  readonly terms: StudyTerms;
}

/** The steps before freshness, none logged: signature (and the per-signer limit), params hash, audience. */
async function authenticate(
  ctx: GatewayContext,
  request: FastifyRequest<{ Body: CohortQueryBody }>,
  reply: FastifyReply,
): Promise<{ sponsor: string; digest: string }> {
  const { request: signed, params, signature, sponsor: claimed } = request.body;
  const value: CohortQueryRequest = signed;
  const digest = (await ctx.hashers).cohort.digest(value);
  const sponsor = ctx.recoverSigner(digest, signature, claimed);
  await ctx.limits.signer(request, reply, sponsor);
  checkSignedParams(params, signed.paramsHash);
  checkAudience(signed, ctx.audience());
  return { sponsor, digest };
}

/** The block asked (0: the head), checked mined. */
async function blockAsked(chain: ResearchChain, atBlock: number): Promise<number> {
  const provider = chain.studies.runner?.provider;
  if (provider === undefined || provider === null) throw new GatewayError("internal", "StudyRegistry has no provider");
  const head = await provider.getBlockNumber();
  if (atBlock > head) fail("invalid-block", `block ${atBlock} is not mined yet`);
  return atBlock === 0 ? head : atBlock;
}

/**
 * The study, checked in order: it exists (404 `unknown-study`), the signer is its sponsor (403 `not-sponsor`), it is
 * approved now and was at the block asked, within its window at that block's time (409 `study-not-open`); then the
 * aggregate and the category are among the study's (403 `aggregate-not-allowed`, `category-not-allowed`).
 */
async function checkStudy(
  chain: ResearchChain,
  studyId: bigint,
  atBlock: number,
  sponsor: string,
  query: CohortQuery,
): Promise<StudyAtBlock> {
  const { studies } = chain;
  const now = await studies.studyOf(studyId, { blockTag: "latest" });
  if (Number(now.status) === 0) fail("unknown-study", "no study has this id");
  if (checksumAddress(now.sponsor) !== checksumAddress(sponsor))
    fail("not-sponsor", "only the study's sponsor may ask its cohort queries");
  if (Number(now.status) !== STUDY_APPROVED) fail("study-not-open", "the study is not approved, or closed");
  const [then, block] = await Promise.all([
    studies.studyOf(studyId, { blockTag: atBlock }).catch(() => null),
    studies.runner?.provider?.getBlock(atBlock),
  ]);
  const time = BigInt(block?.timestamp ?? 0);
  if (then === null || Number(then.status) !== STUDY_APPROVED || time < then.windowStart || time >= then.windowEnd) {
    fail("study-not-open", `the study was not approved and open at block ${atBlock}`);
  }
  if ((Aggregate[query.aggregate] & Number(now.aggregates)) === 0) {
    fail("aggregate-not-allowed", `the study may not ask for a ${query.aggregate}`);
  }
  if ((categoryOf(query.subject) & Number(now.categories)) === 0) {
    fail("category-not-allowed", `the study may not read ${query.subject.kind} data`);
  }
  const terms: StudyTerms = {
    minCohort: Number(now.minCohort),
    aggregates: Number(now.aggregates),
    categories: Number(now.categories),
    remainingMilli: Number(now.budget - now.spent),
  };
  return { sponsor: checksumAddress(now.sponsor), purpose: Number(now.purpose), terms };
}

/** The research module's refusals as the gateway answers them. */
function researchRefusal(error: ResearchError): GatewayError {
  switch (error.code) {
    case "RESEARCH_COHORT_TOO_SMALL":
      return new GatewayError("cohort-too-small", error.message);
    case "RESEARCH_BUDGET_EXHAUSTED":
      return new GatewayError("budget-exhausted", error.message);
    case "RESEARCH_INVALID_QUERY":
      return new GatewayError("invalid-params", error.message);
  }
}

/** StudyRegistry's reverts of `spendBudget` (a concurrent answer, a replica, a close in between) as refusals. */
function chainRefusal(error: unknown): GatewayError {
  const name = (error as { revert?: { name?: string } } | null)?.revert?.name;
  switch (name) {
    case "CohortTooSmall":
      return new GatewayError("cohort-too-small", "fewer contributors than the study's k");
    case "BudgetExhausted":
      return new GatewayError("budget-exhausted", "the study has not that much ε left");
    case "InvalidStudyStatus":
    case "OutsideWindow":
      return new GatewayError("study-not-open", "the study is not open now");
    case "AggregateNotAllowed":
      return new GatewayError("aggregate-not-allowed", "the study may not ask for this aggregate");
  }
  return new GatewayError("chain-unavailable", "the answer could not be recorded on chain", { cause: error });
}

/** Records the answer on chain as the operator; resolves once mined. */
async function record(chain: ResearchChain, studyId: bigint, answer: CohortAnswer, atBlock: number) {
  try {
    const tx = await chain.studies.spendBudget(
      studyId,
      Aggregate[answer.aggregate],
      answer.epsilonMilli,
      answer.contributors.length,
      answer.commitment.root,
      atBlock,
    );
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) throw new Error("spendBudget failed");
    const parsed = receipt.logs
      .map((log) => chain.studies.interface.parseLog(log))
      .find((event) => event?.name === "BudgetSpent");
    const queryIndex = parsed === null || parsed === undefined ? "" : String(parsed.args.queryIndex);
    const remaining = parsed === null || parsed === undefined ? 0 : Number(parsed.args.remaining);
    return { transactionHash: receipt.hash, blockNumber: receipt.blockNumber, queryIndex, remaining };
  } catch (error) {
    throw chainRefusal(error);
  }
}

/** What an answer is computed from: the block asked, the study's terms, the enrolled twins' views, flagged devices. */
interface Cohort {
  readonly atBlock: number;
  readonly study: StudyAtBlock;
  readonly enrolled: ReadonlySet<string>;
  readonly inputs: CohortInputs;
  readonly flaggedDevices?: ReadonlySet<string>;
}

/** The chain's and the data's part of an answer, each failure a refusal (nothing spent or logged yet). */
async function cohortOf(
  ctx: GatewayContext,
  chain: ResearchChain,
  body: CohortQueryBody,
  sponsor: string,
): Promise<Cohort> {
  const query = body.params;
  const studyId = BigInt(body.request.studyId);
  let atBlock: number;
  let study: StudyAtBlock;
  let enrolled: string[];
  try {
    atBlock = await blockAsked(chain, body.request.atBlock);
    study = await checkStudy(chain, studyId, atBlock, sponsor, query);
    enrolled = await enrolledTwinsAt(chain, studyId, atBlock);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError("chain-unavailable", "StudyRegistry could not be read", { cause: error });
  }
  let inputs: CohortInputs;
  try {
    inputs = await cohortInputsOf(ctx.data, enrolled, query, atBlock, study.terms.categories);
  } catch (error) {
    throw new GatewayError("data-unavailable", "the twins' data could not be read", { cause: error });
  }
  const cohort = { atBlock, study, enrolled: new Set(enrolled), inputs };
  if (ctx.devices === null || query.subject.kind !== "vital") return cohort;
  try {
    return { ...cohort, flaggedDevices: await flaggedDevicesOf(ctx.devices, inputs.twins) };
  } catch (error) {
    throw new GatewayError("chain-unavailable", "DeviceRegistry could not be read", { cause: error });
  }
}

/** The answer to one admitted cohort query: every check, the answer, its record on chain and its log entries. */
async function answer(
  ctx: GatewayContext,
  chain: ResearchChain,
  body: CohortQueryBody,
  signer: { sponsor: string; digest: string },
  random: RandomSource,
): Promise<CohortQueryResponse> {
  const query = body.params;
  const studyId = BigInt(body.request.studyId);
  const { atBlock, study, enrolled, inputs, flaggedDevices } = await cohortOf(ctx, chain, body, signer.sponsor);
  let result: CohortAnswer;
  try {
    result = answerCohortQuery(inputs.twins, query, study.terms, {
      isEnrolled: (id) => enrolled.has(id.toLowerCase()),
      random,
      ...(flaggedDevices !== undefined && { flaggedDevices }),
    });
  } catch (error) {
    if (error instanceof ResearchError) throw researchRefusal(error);
    throw error;
  }
  const recorded = await record(chain, studyId, result, atBlock);
  const entries = contributionEntries(result, query, {
    time: ctx.clock(),
    sponsor: study.sponsor,
    requestHash: signer.digest,
    studyId,
    purpose: study.purpose,
    categoryOf: (twinId) => inputs.categories.get(twinId.toLowerCase()),
  });
  await Promise.all(entries.map((entry) => ctx.accessLog.append(entry)));
  return {
    studyId: studyId.toString(),
    sponsor: study.sponsor,
    atBlock,
    aggregate: result.aggregate,
    category: categoryOf(query.subject),
    ...(result.value !== undefined && { value: result.value }),
    ...(result.bins !== undefined && { bins: result.bins }),
    noiseScale: result.noiseScale,
    epsilonSpentMilli: result.epsilonMilli,
    epsilonRemainingMilli: recorded.remaining,
    contributors: result.contributors.length,
    contributorsRoot: result.commitment.root,
    setAside: result.setAside,
    queryIndex: recorded.queryIndex,
    transactionHash: recorded.transactionHash,
    recordedInBlock: recorded.blockNumber,
    requestHash: signer.digest,
  };
}

/**
 * `POST /v1/cohort-query`: a study sponsor's EIP-712-signed cohort query, checked in order (shape, signature, params
 * hash, audience, freshness, replay, then on chain: the study, its sponsor, its status at the head and at the block
 * asked, its aggregates and categories), answered over the twins enrolled at that block (k, ε), recorded on chain
 * (`spendBudget`: ε and the contributors' root) and appended to each contributor's access log. Answers are taken one
 * at a time per gateway (the budget read and its spending are not interleaved). A refusal spends nothing and appends
 * nothing: it is counted (per period and code, no twin, no reader).
 */
export const researchRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  const random = secureRandom();
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };

  app.post<{ Body: CohortQueryBody }>(
    "/v1/cohort-query",
    {
      schema: {
        summary: "Ask a signed cohort query over the twins enrolled in a study (its sponsor)",
        tags: ["research"],
        body: COHORT_BODY_SCHEMA,
        response: { 200: COHORT_RESPONSE_SCHEMA, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const chain = ctx.research;
      if (chain === null) fail("research-unavailable", "this gateway serves no studies");
      const signer = await authenticate(ctx, request, reply);
      const entry: AccessLogInput = {
        time: ctx.clock(),
        twinId: ZeroHash,
        reader: signer.sponsor,
        queryType: COHORT_QUERY_TYPE,
        category: 0,
        purpose: 0,
        decision: "allowed",
        status: 200,
        requestHash: signer.digest,
      };
      await ctx.admit(entry, request.body.request.issuedAt, request.body.request.nonce);
      try {
        const response = await serially(() => answer(ctx, chain, request.body, signer, random));
        return await reply.code(200).send(response);
      } catch (error) {
        if (error instanceof GatewayError && error.code !== "internal") {
          await ctx.accessLog.countRefusal(entry.time, error.code);
        }
        throw error;
      }
    },
  );
};
