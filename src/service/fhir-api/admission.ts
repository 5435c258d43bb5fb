import type { FastifyReply, FastifyRequest } from "fastify";
import type { GatewayQuery } from "../../chain/typed-data";
import { canonicalHash } from "../../twin/canonical";
import { ALL_PURPOSES } from "../../vocabulary";
import type { AccessLogInput, NonceUse } from "../access-log";
import { checkAudience } from "../audience";
import { REFUSAL_MESSAGE, REFUSAL_STATUS, type RefusalReason } from "../consent";
import type { GatewayErrorCode } from "../errors";
import type { GatewayContext } from "../routes/context";
import { fail } from "../routes/errors";
import { FHIR_CATEGORIES, missingScopes, type FhirResourceType } from "../smart-scopes";
import { parseAuthorization, type FhirRequestParams } from "./authorization";
import { FHIR_JSON, operationOutcome } from "./bundle";

/**
 * The steps of a signed FHIR request up to the consent decision, and its refusals (see routes.ts). A request beyond
 * the scopes held is refused naming the missing scopes; a stranger, and a twin this gateway does not hold, get
 * {@link NO_ACCESS}, one and the same answer.
 */

/** Refusals that show the reader no standing on the twin, or no twin: answered all alike. */
const STRANGER: ReadonlySet<string> = new Set(["no-consent", "blocked", "unknown-twin", "erased", "suspended"]);

/** The one refusal of a stranger, whatever the twin (held here, elsewhere, nowhere). */
export const NO_ACCESS = {
  status: 403,
  code: "no-access",
  message: "this reader has no access to this twin at this gateway",
} as const;

export function sendOutcome(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply
    .code(status)
    .type(FHIR_JSON)
    .send(operationOutcome(status, code, message));
}

/** A signed request admitted past the consent decision. */
export interface Admitted {
  readonly query: GatewayQuery;
  readonly entry: AccessLogInput;
  readonly claim: NonceUse;
  /** The categories the consent allows of those asked. */
  readonly allowed: number;
}

/** What a route expects of its signed request. */
export interface AdmissionSpec {
  readonly queryType: string;
  readonly params: FhirRequestParams;
  /** The categories the request reads (its signed `category` must be them); null: any subset of the API's. */
  readonly categories: number | null;
  /** The resource type whose scopes a refusal names. */
  readonly scopeType?: FhirResourceType;
}

export class FhirAdmission {
  constructor(private readonly ctx: GatewayContext) {}

  /** The refusal of a request past the freshness step: logged (LogPolicy), a stranger's answered as NO_ACCESS. */
  async refuse(
    reply: FastifyReply,
    a: Pick<Admitted, "entry" | "claim">,
    reason: RefusalReason | GatewayErrorCode | "not-found",
    status: number,
    message: string,
  ): Promise<FastifyReply> {
    const logIndex = await this.ctx.logPolicy.refusal({ ...a.entry, decision: reason, status });
    if (STRANGER.has(reason) && logIndex === null) {
      return sendOutcome(reply, NO_ACCESS.status, NO_ACCESS.code, NO_ACCESS.message);
    }
    return sendOutcome(reply, status, reason, message);
  }

  /** A refusal for scopes not held: the OperationOutcome names them, and so does WWW-Authenticate (RFC 6750). */
  refuseScopes(reply: FastifyReply, a: Admitted, reason: RefusalReason, missing: readonly string[]) {
    if (missing.length > 0) {
      reply.header("www-authenticate", `Bearer error="insufficient_scope", scope="${missing.join(" ")}"`);
    }
    const scopes = missing.length > 0 ? `; missing scope ${missing.join(" ")}` : "";
    return this.refuse(reply, a, reason, REFUSAL_STATUS[reason], `${REFUSAL_MESSAGE[reason]}${scopes}`);
  }

  /**
   * Authorization header, query type, category, purpose, signature, per-signer limit, params hash, audience,
   * freshness and replay (throwing, as `/v1/query` does), then consent and the twin's holding (refusals sent here).
   * @returns the admitted request, or null when a refusal was sent.
   */
  async admit(request: FastifyRequest, reply: FastifyReply, spec: AdmissionSpec): Promise<Admitted | null> {
    const { ctx } = this;
    const { query, signature, reader: claimed } = parseAuthorization(request.headers.authorization);
    if (query.queryType !== spec.queryType) fail("unknown-query-type", `this route takes queryType ${spec.queryType}`);
    const named = spec.categories;
    if (
      query.category === 0 ||
      (named !== null ? query.category !== named : (query.category & ~FHIR_CATEGORIES) !== 0)
    ) {
      fail("invalid-category", "the signed category is not the categories this request reads");
    }
    if (query.purpose === 0 || (query.purpose & ~ALL_PURPOSES) !== 0) {
      fail("invalid-purpose", "purpose must be a non-empty mask of defined Purpose bits");
    }
    const digest = (await ctx.hashers).query.digest(query);
    const reader = ctx.recoverSigner(digest, signature, claimed);
    await ctx.limits.signer(request, reply, reader);
    if (canonicalHash(spec.params) !== query.paramsHash.toLowerCase()) {
      fail("params-mismatch", "the signed paramsHash is not that of this request's path and search");
    }
    checkAudience(query, ctx.audience());
    const entry: AccessLogInput = {
      time: ctx.clock(),
      twinId: query.twinId,
      reader,
      queryType: spec.queryType,
      category: query.category,
      purpose: query.purpose,
      decision: "allowed",
      status: 200,
      requestHash: digest,
    };
    const claim = await ctx.admit(entry, query.issuedAt, query.nonce);
    return this.decide(reply, spec, { query, entry, claim, allowed: 0 });
  }

  /** Consent at the head (READ of each category asked), then the twin as the pipeline holds it. */
  private async decide(reply: FastifyReply, spec: AdmissionSpec, a: Admitted): Promise<Admitted | null> {
    const { query } = a;
    let outcome;
    try {
      outcome = await this.ctx.consent.perCategory(query.twinId, a.entry.reader, query.category, query.purpose);
    } catch {
      await this.refuse(reply, a, "chain-unavailable", 503, "the consent check could not reach the chain");
      return null;
    }
    const admitted: Admitted = { ...a, allowed: outcome.allowed };
    if (outcome.reason !== null) {
      const type = spec.scopeType;
      const missing = type === undefined ? [] : missingScopes(type, query.category, outcome.allowed);
      await this.refuseScopes(reply, admitted, outcome.reason, missing);
      return null;
    }
    const holding = this.ctx.data.holding(query.twinId);
    if (holding !== "active") {
      await this.refuse(reply, admitted, holding === "erased" ? "erased" : "unknown-twin", 404, "no such twin");
      return null;
    }
    return admitted;
  }
}
