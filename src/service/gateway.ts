import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import type { AccessLog, AccessLogAnchorRecord } from "./access-log";
import { GatewayError } from "./errors";
import { registerWebApp } from "./app-static";
import { accessLogRoutes } from "./routes/access-log";
import {
  createGatewayContext,
  DEFAULT_BODY_LIMIT,
  type GatewayContext,
  type GatewayOptions,
  type RoutePluginOptions,
} from "./routes/context";
import { StoreUnavailableError } from "../store/sql";
import { errorBody, sendError } from "./routes/errors";
import { fhirRoutes } from "./fhir-api/routes";
import { healthRoutes } from "./routes/health";
import { openApiRoutes, registerOpenApi } from "./routes/openapi";
import { queryRoutes } from "./routes/query";
import { researchRoutes } from "./routes/research";

export { ACCESS_LOG_QUERY_TYPE } from "./routes/access-log";
export { DEFAULT_BODY_LIMIT, DEFAULT_FRESHNESS_SECONDS, type GatewayOptions } from "./routes/context";

/**
 * The query gateway: a Fastify HTTP service (127.0.0.1 by default), composed of route plugins that share one
 * {@link GatewayContext} (routes/context.ts):
 *
 * - `POST /v1/query` (routes/query.ts): a reader's EIP-712-signed query, consent checked on chain at the head,
 *   answered with its proofs;
 * - `GET /v1/access-log/:twinId` (routes/access-log.ts): a twin's access log with Merkle proofs to anchored roots,
 *   and its study enrolments;
 * - `POST /v1/cohort-query` (routes/research.ts): a study sponsor's signed cohort query over the enrolled twins,
 *   differentially private, its ε and contributors recorded on StudyRegistry, each contributor's access log told;
 * - `GET /fhir/r4/...` (fhir-api/): a FHIR R4 read API over the same signed requests and consent, SMART v2 scopes;
 * - `GET /health` and `GET /openapi.json` (routes/health.ts, routes/openapi.ts).
 *
 * Every request that passed the audience check is appended to the access log, allowed or refused (see README.md).
 */
export interface Gateway {
  readonly app: FastifyInstance;
  /**
   * Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:41234`. Before the port opens, the work
   * that would otherwise wait for the first request is done: the route schemas and serializers compiled (fastify's
   * `ready`), the access log's database opened, the chain head and the operator's accreditation read (for at most
   * {@link CHAIN_WARM_UP_MS}; a node that does not answer then is left to the first request). Rejects, the port not
   * opened, when the access log cannot be opened or the operator's address not read; `close()` then releases.
   */
  listen(): Promise<string>;
  /** Stops the interval, waits for an anchoring in progress, closes the server, drops the answers kept, closes the access log. */
  close(): Promise<void>;
  /** Anchors the access-log entries not anchored yet; null when there are none. */
  anchorNow(): Promise<AccessLogAnchorRecord | null>;
  readonly accessLog: AccessLog;
}

export function createGateway(options: GatewayOptions): Gateway {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  // JSON only: a text/plain body is refused as an unsupported media type (415), not parsed as a string.
  app.removeContentTypeParser(["text/plain"]);
  const ctx = createGatewayContext(options, app);
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof StoreUnavailableError) reply.header("retry-after", String(error.retryAfterSeconds));
    return sendError(reply, errorBody(error));
  });
  app.setNotFoundHandler((_request, reply) =>
    sendError(reply, { status: 404, code: "not-found", message: "no such route" }),
  );
  registerOpenApi(app);
  const routes: RoutePluginOptions = { ctx };
  void app.register(queryRoutes, routes);
  void app.register(accessLogRoutes, routes);
  void app.register(researchRoutes, routes);
  void app.register(fhirRoutes, { ...routes, prefix: "/fhir/r4" });
  void app.register(healthRoutes, routes);
  void app.register(openApiRoutes);
  registerWebApp(app, options); // the web app under /app/, when options.webApp is set

  const { timer, anchorNow } = anchoring(options, ctx);
  let closed = false;
  return {
    app,
    accessLog: ctx.accessLog,
    anchorNow,
    async listen(): Promise<string> {
      await ctx.hashers;
      await ctx.accessLog.ready();
      await ctx.operator;
      // Best effort, bounded: a node down or slow at start-up is left to the first request (503 chain-unavailable,
      // as at any later time), and does not keep the gateway from starting.
      await warmUpChain(ctx);
      const address = await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
      if (options.origin === undefined) await ctx.setOrigin(address);
      return address;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      ctx.consent.close();
      await app.close();
      ctx.answers?.clear(); // the answers kept are health data: they leave memory with the gateway
      await ctx.accessLog.close();
    },
  };
}

/** How long `listen()` waits for the chain head and the operator's accreditation before opening the port anyway. */
export const CHAIN_WARM_UP_MS = 2_000;

/** The consent checker's start-up reads, waited for at most {@link CHAIN_WARM_UP_MS}; never rejects. */
async function warmUpChain(ctx: GatewayContext): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CHAIN_WARM_UP_MS);
    timer.unref();
  });
  try {
    await Promise.race([ctx.consent.warmUp().catch(() => undefined), bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** `anchorNow` (the access log's new entries to `TwinUpdateLog.anchorAccessLog`) and its interval, if asked for. */
function anchoring(
  options: GatewayOptions,
  ctx: GatewayContext,
): { timer: NodeJS.Timeout | undefined; anchorNow: () => Promise<AccessLogAnchorRecord | null> } {
  const anchorNow = (): Promise<AccessLogAnchorRecord | null> => {
    const updateLog = options.updateLog;
    if (updateLog === undefined) {
      return Promise.reject(new GatewayError("internal", "anchoring needs an updateLog connected to the operator"));
    }
    return ctx.accessLog.anchor(async (root, fromIndex, toIndex) => {
      const tx = await updateLog.anchorAccessLog(root, fromIndex, toIndex);
      const receipt = await tx.wait();
      if (receipt === null || receipt.status !== 1) throw new GatewayError("internal", "the anchor transaction failed");
      return { transactionHash: receipt.hash, blockNumber: receipt.blockNumber };
    }, ctx.clock);
  };
  let timer: NodeJS.Timeout | undefined;
  if (options.anchorIntervalMs !== undefined && options.anchorIntervalMs > 0) {
    timer = setInterval(() => {
      anchorNow().catch((error: unknown) => options.onAnchorError?.(error));
    }, options.anchorIntervalMs);
    timer.unref();
  }
  return { timer, anchorNow };
}
