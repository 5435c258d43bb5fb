import type { FastifyPluginAsync } from "fastify";
import type { RoutePluginOptions } from "./context";

export const HEALTH_RESPONSE_SCHEMA = {
  type: "object",
  required: ["status"],
  additionalProperties: false,
  properties: {
    status: { type: "string", enum: ["ok", "starting"], description: "`starting` until the origin is known." },
  },
} as const;

/**
 * `GET /health`: liveness for a load balancer or an orchestrator, unsigned. Says only whether the gateway is ready
 * to check signed requests (it knows its audience); nothing of twins, the chain or the log.
 */
export const healthRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness and readiness",
        tags: ["operations"],
        response: { 200: HEALTH_RESPONSE_SCHEMA, 503: HEALTH_RESPONSE_SCHEMA },
      },
    },
    async (_request, reply) =>
      ctx.audience() === null ? reply.code(503).send({ status: "starting" }) : reply.send({ status: "ok" }),
  );
};
