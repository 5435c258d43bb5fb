import type { FastifyPluginAsync } from "fastify";
import type { AccessLogRequest } from "../../chain/typed-data";
import type { AccessLogInput } from "../access-log";
import { enrolmentsOf, type StudyEnrolment } from "../enrolments";
import type { AccessLogResponse } from "../types";
import type { RoutePluginOptions } from "./context";
import { fail } from "./errors";
import { STUDY_ENROLMENTS_SCHEMA } from "./research-schemas";
import { ADDRESS, ANY_OBJECT, BYTES32, DECIMAL, ERROR_RESPONSES, SIGNATURE } from "./schemas";

/** The query type logged for access-log reads. */
export const ACCESS_LOG_QUERY_TYPE = "access-log";

export const ACCESS_LOG_PARAMS_SCHEMA = {
  type: "object",
  required: ["twinId"],
  properties: { twinId: { type: "string", pattern: BYTES32 } },
} as const;

export const ACCESS_LOG_QUERY_SCHEMA = {
  type: "object",
  required: ["issuedAt", "nonce", "signature"],
  additionalProperties: false,
  properties: {
    issuedAt: { type: "string", pattern: DECIMAL, description: "Unix seconds, as signed." },
    nonce: { type: "string", pattern: BYTES32 },
    signature: { type: "string", pattern: SIGNATURE, description: "EIP-712 `AccessLogRequest` signature." },
    reader: { type: "string", pattern: ADDRESS, description: "The signer; a signature by anyone else is a 401." },
    cursor: { type: "string", pattern: DECIMAL, description: "Entries after this index (absent: from the start)." },
    limit: { type: "string", pattern: DECIMAL, description: "At most this many entries (default 100, at most 500)." },
  },
} as const;

const ANCHOR_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["root", "fromIndex", "toIndex", "transactionHash", "blockNumber", "anchoredAt"],
  properties: {
    root: { type: "string" },
    fromIndex: { type: "integer" },
    toIndex: { type: "integer" },
    transactionHash: { type: "string" },
    blockNumber: { type: "integer" },
    anchoredAt: { type: "integer", description: "Gateway clock, epoch ms." },
  },
} as const;

export const ACCESS_LOG_RESPONSE_SCHEMA = {
  type: "object",
  required: ["twinId", "logIndex", "anchors", "entries", "nextCursor"],
  additionalProperties: false,
  properties: {
    twinId: { type: "string" },
    logIndex: { type: "integer", description: "The entry of this read itself." },
    anchors: { type: "array", items: ANCHOR_SCHEMA, description: "The anchored ranges covering this page." },
    entries: {
      type: "array",
      description: "This twin's entries after `cursor`, oldest first, with their leaves and Merkle proofs.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["entry", "leaf", "anchor", "proof"],
        properties: {
          entry: ANY_OBJECT,
          leaf: { type: "array", items: { type: "string" } },
          anchor: { anyOf: [ANCHOR_SCHEMA, { type: "null" }] },
          proof: { anyOf: [{ type: "array", items: { type: "string" } }, { type: "null" }] },
        },
      },
    },
    nextCursor: { type: ["integer", "null"] },
    studies: STUDY_ENROLMENTS_SCHEMA,
  },
} as const;

interface AccessLogRoute {
  Params: { twinId: string };
  Querystring: { issuedAt: string; nonce: string; signature: string; reader?: string; cursor?: string; limit?: string };
}

/**
 * `GET /v1/access-log/:twinId`: a twin's access log, for a signed `AccessLogRequest` of the twin's owner or a
 * delegate (`registry.isController` at the head) or an auditor; the entries with their proofs to anchored roots, and
 * the twin's study enrolments and withdrawals (StudyRegistry events at the head, when the gateway serves studies).
 */
export const accessLogRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  app.get<AccessLogRoute>(
    "/v1/access-log/:twinId",
    {
      schema: {
        summary: "Read a twin's access log (owner, delegate or auditor)",
        tags: ["access log"],
        params: ACCESS_LOG_PARAMS_SCHEMA,
        querystring: ACCESS_LOG_QUERY_SCHEMA,
        response: { 200: ACCESS_LOG_RESPONSE_SCHEMA, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { twinId } = request.params;
      const { nonce, signature, reader: claimed } = request.query;
      const issuedAt = Number(request.query.issuedAt);
      const cursor = request.query.cursor === undefined ? undefined : Number(request.query.cursor);
      const limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
      const audience = ctx.audience();
      if (audience === null) fail("wrong-audience", "the gateway does not know its origin yet");
      // Signed for this gateway's audience: one signed for another does not recover the claimed reader (401).
      const value: AccessLogRequest = { ...audience, twinId, issuedAt, nonce };
      const digest = (await ctx.hashers).logRequest.digest(value);
      const requester = ctx.recoverSigner(digest, signature, claimed);
      await ctx.limits.signer(request, reply, requester);
      const entry: AccessLogInput = {
        time: ctx.clock(),
        twinId,
        reader: requester,
        queryType: ACCESS_LOG_QUERY_TYPE,
        category: 0,
        purpose: 0,
        decision: "allowed",
        status: 200,
        requestHash: digest,
      };
      await ctx.admit(entry, issuedAt, nonce);
      let authorized = ctx.auditors.has(requester);
      if (!authorized) {
        try {
          authorized = await ctx.registry.isController(twinId, requester, { blockTag: "latest" });
        } catch {
          await ctx.accessLog.append({ ...entry, decision: "chain-unavailable", status: 503 });
          fail("chain-unavailable", "the registry could not be reached");
        }
      }
      if (!authorized) {
        await ctx.logPolicy.refusalNow({ ...entry, decision: "not-authorized", status: 403 });
        return reply.code(403).send({
          error: "not-authorized",
          message: "only the twin's owner or delegates, or an auditor, may read its access log",
        });
      }
      let studies: StudyEnrolment[] | undefined;
      if (ctx.research !== null) {
        try {
          studies = await enrolmentsOf(ctx.research, twinId);
        } catch {
          await ctx.accessLog.append({ ...entry, decision: "chain-unavailable", status: 503 });
          fail("chain-unavailable", "StudyRegistry could not be reached");
        }
      }
      const logIndex = await ctx.accessLog.append(entry);
      const response: AccessLogResponse = {
        twinId: twinId.toLowerCase(),
        logIndex,
        ...(await ctx.accessLog.pageOf(twinId, { cursor, limit })),
        ...(studies !== undefined && { studies }),
      };
      return reply.code(200).send(response);
    },
  );
};
