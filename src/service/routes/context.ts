import { getAddress } from "ethers";
import type { WebAppOptions } from "../app-static";
import type { FastifyInstance } from "fastify";
import type {
  ConsentPolicy,
  DeviceRegistry,
  StudyRegistry,
  TwinRegistry,
  TwinUpdateLog,
} from "../../../typechain-types";
import {
  ACCESS_LOG_REQUEST_TYPES,
  COHORT_QUERY_TYPES,
  domainOf,
  GATEWAY_DOMAIN_NAME,
  QUERY_TYPES,
  TypedDataHasher,
} from "../../chain/typed-data";
import type { TwinDataReader } from "../../pipeline/reader";
import { AccessLog, type AccessLogInput, type NonceUse } from "../access-log";
import { AnswerCache, type AnswerCacheOptions } from "../answer-cache";
import { audienceOf, operatorOf, originOf, type GatewayAudience } from "../audience";
import { ConsentChecker } from "../consent";
import { EnrolmentIndex, type ResearchChain } from "../enrolments";
import { GatewayError } from "../errors";
import { AccessLogNonceStore, type NonceStore } from "../nonces";
import { LogPolicy, RateLimits, type RateLimitOptions } from "../rate-limits";
import { SignatureVerifier } from "../signatures";

/**
 * What the gateway's route plugins share: the options, the access log, the consent checker, the signature
 * verifier, the EIP-712 hashers, the audience and the admission step (freshness and replay). Built once per gateway
 * by {@link createGatewayContext} and handed to every plugin as its options.
 */
export interface GatewayOptions extends WebAppOptions {
  /** The pipeline's read side (src/pipeline TwinPipeline, or any TwinDataReader). */
  readonly data: TwinDataReader;
  readonly consent: ConsentPolicy;
  readonly registry: TwinRegistry;
  /** Connected to the operator's signer (an accredited custodian): needed by `anchorNow` and the interval. */
  readonly updateLog?: TwinUpdateLog;
  readonly chainId: bigint | number;
  /** SQLite file of the access log and nonces (`:memory:` for a throwaway gateway); unused with `databaseUrl`. */
  readonly dbPath: string;
  /**
   * PostgreSQL URL of the access log and nonces, shared by the replicas of one operator's gateway (entry points
   * pass `databaseUrlFromEnv()`, i.e. `DATABASE_URL`); default the SQLite file `dbPath`.
   */
  readonly databaseUrl?: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Largest |now − issuedAt|, seconds. Default 60. */
  readonly freshnessSeconds?: number;
  /** Largest body, bytes. Default 64 KiB. */
  readonly bodyLimit?: number;
  /** Anchor the new access-log entries every this many ms (needs `updateLog`); off if absent or 0. */
  readonly anchorIntervalMs?: number;
  /** Addresses that may read any twin's access log. */
  readonly auditors?: readonly string[];
  /** Gateway clock, epoch ms. Default Date.now. */
  readonly clock?: () => number;
  /**
   * The operator's address: the audience every request must name, and whose standing (custodian of the twin,
   * accredited) is checked at the head. Default: the signer `updateLog` is connected to.
   */
  readonly operator?: string;
  /**
   * The origin readers address (`https://host[:port]`), part of every request's signed audience. Default: the
   * listening address (`http://127.0.0.1:<port>`); set it behind a proxy or a DNS name.
   */
  readonly origin?: string;
  /** Where used nonces are kept; default the access log's per-process store. Replicas share one. */
  readonly nonceStore?: NonceStore;
  /** Poll for new heads every this many ms even without requests; default only on requests. */
  readonly headPollMs?: number;
  /** Limits per client address and per signer, and the refusal counters' period (defaults: rate-limits.ts). */
  readonly limits?: RateLimitOptions;
  /** Called with errors of the anchoring interval (never with request data). */
  readonly onAnchorError?: (error: unknown) => void;
  /**
   * StudyRegistry connected to the operator's signer (OPERATOR_ROLE): cohort queries (`POST /v1/cohort-query`) and
   * the study enrolments in access-log answers. Without it cohort queries are 503 `research-unavailable` and
   * access-log answers list no studies.
   */
  readonly studies?: StudyRegistry;
  /** The block StudyRegistry was deployed in: its events are read from there (default 0). */
  readonly studiesFromBlock?: number;
  /** DeviceRegistry: readings from devices it flags are set aside in cohort answers (default: none set aside). */
  readonly devices?: DeviceRegistry;
  /**
   * Answers kept for the same question about a twin whose data did not change (answer-cache.ts; only with a `data`
   * that gives `revision`, as TwinPipeline does); `false` builds every answer. Default: 32 Mi characters, 60 s.
   */
  readonly answerCache?: AnswerCacheOptions | false;
}

export const DEFAULT_FRESHNESS_SECONDS = 60;
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** The EIP-712 encoders of the gateway's signed structs, with the domain separator built once. */
export interface GatewayHashers {
  readonly query: TypedDataHasher;
  readonly logRequest: TypedDataHasher;
  readonly cohort: TypedDataHasher;
}

export interface GatewayContext {
  readonly data: TwinDataReader;
  readonly registry: TwinRegistry;
  readonly clock: () => number;
  /** Largest |now − issuedAt|, seconds. */
  readonly freshness: number;
  /** Checksummed addresses that may read any twin's access log. */
  readonly auditors: ReadonlySet<string>;
  readonly consent: ConsentChecker;
  /** Answers kept while their twin's data is unchanged; null when the `answerCache` option is false. */
  readonly answers: AnswerCache | null;
  readonly accessLog: AccessLog;
  readonly logPolicy: LogPolicy;
  readonly limits: RateLimits;
  readonly hashers: Promise<GatewayHashers>;
  /** StudyRegistry (as the operator) and where its events start; null when the gateway serves no studies. */
  readonly research: ResearchChain | null;
  readonly devices: DeviceRegistry | null;
  /** The operator's address, once known. */
  readonly operator: Promise<string>;
  /** The gateway's audience, null until its origin is known (given, or the listening address). */
  audience(): GatewayAudience | null;
  /** Sets the origin (the listening address when none was configured). */
  setOrigin(origin: string): Promise<void>;
  /** The signer of `digest`; `claimed`, when given, must be it (401 `bad-signature`). */
  recoverSigner(digest: string, signature: string, claimed: string | undefined): string;
  /**
   * Freshness alone: a request issued (unix seconds) more than `freshness` s from `entry.time` has its refusal recorded
   * and throws 401 `expired-request`. (`admit` checks it first too.)
   */
  refuseStale(entry: AccessLogInput, issuedAt: number): Promise<void>;
  /** Freshness and replay of a signed request; records the refusal and throws when stale or replayed. */
  admit(entry: AccessLogInput, issuedAt: number, nonce: string): Promise<NonceUse>;
}

/** The options every route plugin takes. */
export interface RoutePluginOptions {
  readonly ctx: GatewayContext;
}

function fail(code: "expired-request" | "replayed", message: string): never {
  throw new GatewayError(code, message);
}

/**
 * Builds the shared services of a gateway on `app` (the rate limits register their plugin and hook on it, so call
 * this before the route plugins are registered).
 */
export function createGatewayContext(options: GatewayOptions, app: FastifyInstance): GatewayContext {
  const freshness = options.freshnessSeconds ?? DEFAULT_FRESHNESS_SECONDS;
  const clock = options.clock ?? Date.now;
  const operator = operatorOf(options);
  let audience: GatewayAudience | null = null;
  const setOrigin = (origin: string): Promise<void> =>
    operator.then((address) => void (audience = audienceOf(address, origin))).catch(() => undefined);
  if (options.origin !== undefined) void setOrigin(originOf(options.origin));
  const consent = new ConsentChecker(options.consent, {
    registry: options.registry,
    operator,
    clock,
    ...(options.headPollMs !== undefined && { headPollMs: options.headPollMs }),
  });
  const signatures = new SignatureVerifier();
  const accessLog = new AccessLog(options.dbPath, {
    refusalPeriodMs: options.limits?.refusalPeriodMs,
    databaseUrl: options.databaseUrl,
  });
  const nonces: NonceStore = options.nonceStore ?? new AccessLogNonceStore(accessLog);
  const logPolicy = new LogPolicy(accessLog, options.consent);
  const hashers = options.consent.getAddress().then((address) => {
    const domain = domainOf(GATEWAY_DOMAIN_NAME, options.chainId, address);
    return {
      query: new TypedDataHasher(domain, QUERY_TYPES),
      logRequest: new TypedDataHasher(domain, ACCESS_LOG_REQUEST_TYPES),
      cohort: new TypedDataHasher(domain, COHORT_QUERY_TYPES),
    };
  });
  hashers.catch(() => undefined);

  async function refuseStale(entry: AccessLogInput, issuedAt: number): Promise<void> {
    if (Math.abs(Math.floor(entry.time / 1000) - issuedAt) <= freshness) return;
    await logPolicy.refusalNow({ ...entry, decision: "expired-request", status: 401 });
    fail("expired-request", `issuedAt is more than ${freshness} s from the gateway's clock`);
  }

  async function admit(entry: AccessLogInput, issuedAt: number, nonce: string): Promise<NonceUse> {
    await refuseStale(entry, issuedAt);
    const nowSec = Math.floor(entry.time / 1000);
    const claim = await nonces.claim(entry.reader, nonce, issuedAt + freshness, nowSec);
    if (claim === null) {
      await logPolicy.refusalNow({ ...entry, decision: "replayed", status: 409 });
      fail("replayed", "this nonce was already used by this reader");
    }
    return claim;
  }

  return {
    data: options.data,
    registry: options.registry,
    clock,
    freshness,
    auditors: new Set((options.auditors ?? []).map((a) => getAddress(a))),
    consent,
    answers: options.answerCache === false ? null : new AnswerCache(options.answerCache),
    accessLog,
    logPolicy,
    limits: new RateLimits(app, options.limits),
    hashers,
    research: researchOf(options),
    devices: options.devices ?? null,
    operator,
    audience: () => audience,
    setOrigin,
    recoverSigner: (digest, signature, claimed) => signatures.signer(digest, signature, claimed),
    refuseStale,
    admit,
  };
}

/** The research contracts of the options, with an enrolment index, or null when the gateway serves no studies. */
function researchOf(options: GatewayOptions): ResearchChain | null {
  if (options.studies === undefined) return null;
  const fromBlock = options.studiesFromBlock ?? 0;
  return { studies: options.studies, fromBlock, index: new EnrolmentIndex(options.studies, fromBlock) };
}
