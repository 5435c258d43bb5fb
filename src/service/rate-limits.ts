import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ConsentPolicy } from "../../typechain-types";
import type { AccessLog, AccessLogInput } from "./access-log";
import { GatewayError } from "./errors";

/**
 * The gateway's limits: how many requests one client address and one signer may send (@fastify/rate-limit, 429
 * with Retry-After), and which refusals are written as access-log entries under the twin and which are only
 * counted (`LogPolicy`).
 *
 * - Per client address (the socket's address; Fastify's `trustProxy` is off, so behind a reverse proxy every client
 *   is the proxy: put the limit there or set the proxy's address in `allowAddresses`), every request, in the
 *   `onRequest` hook, before the body is parsed or a signature recovered.
 * - Per signer (the address recovered from the EIP-712 signature, never the claimed `reader`: a forged claim cannot
 *   spend someone else's budget), every authenticated request, both routes, checked right after the signature and
 *   before the nonce is claimed. A request refused by a limit is not logged.
 * - Fixed windows, in memory, per gateway process (the plugin's LocalStore, an LRU of keys): replicas each hold
 *   their own counters (a shared store, e.g. the scale-out issue's database or Redis, makes them one).
 */
export interface RateLimitWindow {
  /** Requests allowed per window. */
  readonly max: number;
  /** Window length, ms. */
  readonly windowMs: number;
}

export interface RateLimitOptions {
  /** Per client address; `false` turns it off. Default 600 per minute. */
  readonly perAddress?: RateLimitWindow | false;
  /** Per recovered signer; `false` turns it off. Default 120 per minute. */
  readonly perSigner?: RateLimitWindow | false;
  /** Client addresses the per-address limit skips (e.g. a trusted proxy or a health checker). */
  readonly allowAddresses?: readonly string[];
  /** Keys the limiter remembers per limit (least recently used forgotten beyond). Default 10,000. */
  readonly cacheSize?: number;
  /** Length of the periods of the aggregate refusal counters, ms. Default one hour (AccessLog). */
  readonly refusalPeriodMs?: number;
}

export const DEFAULT_RATE_LIMITS = {
  perAddress: { max: 600, windowMs: 60_000 },
  perSigner: { max: 120, windowMs: 60_000 },
  cacheSize: 10_000,
} as const satisfies RateLimitOptions;

type Limiter = (request: FastifyRequest) => Promise<{
  readonly isAllowed: boolean;
  readonly isExceeded?: boolean;
  readonly max?: number;
  readonly ttlInSeconds?: number;
}>;

/** The two limits of a gateway (see the module comment). */
export class RateLimits {
  private readonly signers = new WeakMap<FastifyRequest, string>();
  private byAddress: Limiter | null = null;
  private bySigner: Limiter | null = null;
  private readonly perAddress: RateLimitWindow | false;
  private readonly perSigner: RateLimitWindow | false;

  /**
   * Registers @fastify/rate-limit on `app` (no route limited by it directly) and the per-address `onRequest`
   * hook. Call before the routes are added.
   */
  constructor(app: FastifyInstance, options: RateLimitOptions = {}) {
    this.perAddress = checked(options.perAddress ?? DEFAULT_RATE_LIMITS.perAddress, "perAddress");
    this.perSigner = checked(options.perSigner ?? DEFAULT_RATE_LIMITS.perSigner, "perSigner");
    const allow = new Set(options.allowAddresses ?? []);
    void app.register(fastifyRateLimit, {
      global: false,
      cache: options.cacheSize ?? DEFAULT_RATE_LIMITS.cacheSize,
    });
    // The limiters are made once the plugin is loaded (its `createRateLimit` decorator exists from then on).
    app.after(() => {
      if (this.perAddress !== false) {
        this.byAddress = app.createRateLimit({
          max: this.perAddress.max,
          timeWindow: this.perAddress.windowMs,
          keyGenerator: (request) => `address:${request.ip}`,
          allowList: (request) => allow.has(request.ip),
        }) as Limiter;
      }
      if (this.perSigner !== false) {
        this.bySigner = app.createRateLimit({
          max: this.perSigner.max,
          timeWindow: this.perSigner.windowMs,
          keyGenerator: (request) => `signer:${this.signers.get(request) ?? ""}`,
        }) as Limiter;
      }
    });
    if (this.perAddress !== false) {
      app.addHook("onRequest", async (request, reply) => {
        if (this.byAddress !== null) enforce(await this.byAddress(request), reply, "this address");
      });
    }
  }

  /** Counts an authenticated request of `signer`; throws a 429 GatewayError (Retry-After set) past the limit. */
  async signer(request: FastifyRequest, reply: FastifyReply, signer: string): Promise<void> {
    if (this.bySigner === null) return;
    this.signers.set(request, signer.toLowerCase());
    enforce(await this.bySigner(request), reply, "this signer");
  }
}

function checked(window: RateLimitWindow | false, name: string): RateLimitWindow | false {
  if (window === false) return false;
  if (
    !Number.isSafeInteger(window.max) ||
    window.max < 1 ||
    !Number.isSafeInteger(window.windowMs) ||
    window.windowMs < 1
  ) {
    throw new GatewayError("internal", `${name} needs a positive integer max and windowMs`);
  }
  return window;
}

function enforce(
  outcome: Awaited<ReturnType<Limiter>>,
  reply: FastifyReply,
  who: "this address" | "this signer",
): void {
  if (outcome.isAllowed || outcome.isExceeded !== true) return;
  const retryAfter = Math.max(1, outcome.ttlInSeconds ?? 1);
  reply.header("retry-after", String(retryAfter));
  reply.header("x-ratelimit-limit", String(outcome.max ?? 0));
  reply.header("x-ratelimit-remaining", "0");
  reply.header("x-ratelimit-reset", String(retryAfter));
  throw new GatewayError("rate-limited", `too many requests from ${who}: retry in ${retryAfter} s`);
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Refusals that show no standing of the signer on the twin: counted in aggregate, not written under the twin.
 * - `no-consent`: no grant and no emergency access (ConsentPolicy answers NoConsent only then);
 * - `blocked`: blocked by the patient, and no grant;
 * - `unknown-twin`, `erased`: no twin to write under (an erased twin's entries are only ever reduced);
 * - `expired-request`, `replayed`: decided before the consent check, so the signer's standing is unknown, and a
 *   single captured body or key could otherwise write without end;
 * - `not-authorized`: a log read by someone who neither controls the twin nor audits.
 * `suspended` is counted too unless the signer holds a grant on the twin (asked of the chain, rare path).
 * Everything else (allowed reads, and `expired`, `revoked`, `not-yet-valid`, `wrong-purpose`, `category-not-granted`,
 * `action-not-granted`: refusals of grantees; `chain-unavailable`, `data-unavailable`, `invalid-params`...) is an
 * entry, as before.
 */
export const AGGREGATE_REFUSALS: ReadonlySet<string> = new Set([
  "no-consent",
  "blocked",
  "unknown-twin",
  "erased",
  "expired-request",
  "replayed",
  "not-authorized",
]);

/** Decides where a refusal goes: an entry under the twin (returns its index) or a counter (returns null). */
export class LogPolicy {
  constructor(
    private readonly accessLog: AccessLog,
    private readonly consent: ConsentPolicy,
  ) {}

  /** Records a refusal (`entry.decision`, `entry.status` set). */
  async refusal(entry: AccessLogInput): Promise<number | null> {
    if (await this.counted(entry)) {
      await this.accessLog.countRefusal(entry.time, entry.decision);
      // A gateway that learns of an erasure reduces what the log holds for the twin (idempotent, cheap when done).
      if (entry.decision === "erased") await this.accessLog.eraseTwin(entry.twinId);
      return null;
    }
    return this.accessLog.append(entry);
  }

  /** Without a chain call: for refusals decided before any chain call. */
  async refusalNow(entry: AccessLogInput): Promise<number | null> {
    if (AGGREGATE_REFUSALS.has(entry.decision)) {
      await this.accessLog.countRefusal(entry.time, entry.decision);
      return null;
    }
    return this.accessLog.append(entry);
  }

  private async counted(entry: AccessLogInput): Promise<boolean> {
    if (AGGREGATE_REFUSALS.has(entry.decision)) return true;
    if (entry.decision !== "suspended") return false;
    try {
      const grant = await this.consent.grantOf(entry.twinId, entry.reader, { blockTag: "latest" });
      return grant.validUntil === 0n;
    } catch {
      return false; // standing unknown: logged, as any refusal of a possible grantee
    }
  }
}
