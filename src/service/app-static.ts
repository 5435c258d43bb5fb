import { readFile, realpath } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import { registerAppApi, type AppApiOptions, type WebAppHooks } from "./app-api";

/**
 * The web app (app/, built by `npm run app:build` into dist-app/) served by the gateway under `/app/`, with its
 * config and JSON-RPC relay (app-api.ts). Every answer under `/app/` carries a Content-Security-Policy of
 * `default-src 'self'`: the page loads nothing from elsewhere (no CDN, no fonts, no analytics) and talks only to this
 * origin. Off unless `GatewayOptions.webApp` is set.
 */
export interface WebAppOptions {
  readonly webApp?: WebAppHooks & {
    /** The built app's folder (dist-app/). */
    readonly root: string;
  };
}

/** The headers of every page and asset: nothing from another origin, no framing, no referrer. */
export const APP_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

/** Registers the app's routes on the gateway when `options.webApp` is set (called by createGateway). */
export function registerWebApp(app: FastifyInstance, options: WebAppOptions & AppApiOptions): void {
  const webApp = options.webApp;
  if (webApp === undefined) return;
  const root = path.resolve(webApp.root);
  const send = async (reply: FastifyReply, relative: string) => {
    const file = path.resolve(root, relative);
    const type = CONTENT_TYPES[path.extname(file)];
    let body: Buffer | null = null;
    if (type !== undefined && (file + path.sep).startsWith(root + path.sep)) {
      try {
        // Inside the root after links are followed too.
        if ((await realpath(file)).startsWith((await realpath(root)) + path.sep)) body = await readFile(file);
      } catch {
        body = null;
      }
    }
    reply.headers(APP_SECURITY_HEADERS);
    if (body === null) return reply.code(404).send({ error: "not-found", message: "no such file" });
    // Hashed asset names never change content; the page itself is asked again each time.
    const immutable = relative.startsWith("assets/");
    return reply
      .code(200)
      .header("content-type", type)
      .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
      .send(body);
  };
  app.get("/app", (_request, reply) => reply.redirect("/app/"));
  app.get("/app/", (_request, reply) => send(reply, "index.html"));
  app.get<{ Params: { "*": string } }>("/app/*", (request, reply) => send(reply, request.params["*"] || "index.html"));
  registerAppApi(app, { ...options, webApp });
}
