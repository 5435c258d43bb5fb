import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { JsonRpcProvider, type Provider } from "ethers";
import { TwinLedgerError } from "../errors";

/** What a raw JSON-RPC caller answers: the `result` of one call (no ethers cache or batching in front of it). */
export interface JsonRpcSend {
  send(method: string, params: readonly unknown[]): Promise<unknown>;
}

export interface JsonRpcHttpOptions {
  /** Request headers (an API key, say); `content-type` is set here. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Bound on one call, ms; default 10,000. */
  readonly timeoutMs?: number;
  /** Keep-alive connections at most; default 4. */
  readonly maxSockets?: number;
}

/** A failed JSON-RPC call: `RPC_ERROR` (the node answered an error, its code in `rpcCode`), `RPC_HTTP`, `RPC_UNREACHABLE`. */
export class JsonRpcCallError extends TwinLedgerError {
  constructor(
    code: "RPC_ERROR" | "RPC_HTTP" | "RPC_UNREACHABLE",
    message: string,
    /** The JSON-RPC error code the node answered (RPC_ERROR only). */
    readonly rpcCode: number | null = null,
  ) {
    super(code, message);
  }
}

/** The largest answer read, bytes: a head or a block header is far below; anything past it is refused. */
const MAX_RESPONSE_BYTES = 1 << 20;

/**
 * A minimal JSON-RPC client over HTTP(S) keep-alive connections, for the one call the gateway makes at every event-loop
 * turn that has requests: the chain head (src/service/head-follower.ts). ethers' `JsonRpcProvider` holds each request
 * for `batchStallTime` (10 ms by default) to batch it with others, and builds a `FetchRequest` per call: at a poll per
 * turn, that stall is added to every query's latency and bounds a gateway at about concurrency / 10 ms. This client
 * sends one request per call at once, on a kept-alive connection.
 *
 * Errors are `JsonRpcCallError`s with code `RPC_ERROR` (the node answered a JSON-RPC error: its code in `rpcCode`),
 * `RPC_HTTP` (a non-2xx status or an answer that is not JSON-RPC) or `RPC_UNREACHABLE` (connection refused, reset or
 * timed out). The URL (which may hold a key) is never in a message.
 */
export class JsonRpcHttpClient implements JsonRpcSend {
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  #id = 0;

  constructor(url: string, options: JsonRpcHttpOptions = {}) {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new TwinLedgerError("RPC_URL", "a JSON-RPC URL must be http: or https:");
    }
    this.#url = parsed;
    this.#headers = { ...options.headers, "content-type": "application/json" };
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 4 };
    const https = parsed.protocol === "https:";
    this.#agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.#request = https ? httpsRequest : httpRequest;
  }

  send(method: string, params: readonly unknown[]): Promise<unknown> {
    const id = ++this.#id;
    const body = JSON.stringify({ jsonrpc: "2.0", id, method, params });
    return new Promise<unknown>((resolve, reject) => {
      const fail: Fail = (code, message, rpcCode) =>
        reject(new JsonRpcCallError(code, `${method}: ${message}`, rpcCode));
      const request = this.#request(
        this.#url,
        {
          method: "POST",
          agent: this.#agent,
          headers: { ...this.#headers, "content-length": Buffer.byteLength(body) },
          timeout: this.#timeoutMs,
        },
        (response) => {
          readBody(response).then(
            (text) => {
              if (text === null) return fail("RPC_HTTP", "the answer is too large");
              const status = response.statusCode ?? 0;
              if (status < 200 || status >= 300) return fail("RPC_HTTP", `the node answered HTTP ${status}`);
              let answer: unknown;
              try {
                answer = JSON.parse(text);
              } catch {
                return fail("RPC_HTTP", "the answer is not JSON");
              }
              settle(answer, id, resolve, fail);
            },
            () => fail("RPC_UNREACHABLE", "the connection broke while reading the answer"),
          );
        },
      );
      request.on("timeout", () => request.destroy(new Error("timeout")));
      request.on("error", (error) =>
        fail("RPC_UNREACHABLE", error.message === "timeout" ? "no answer in time" : "the node could not be reached"),
      );
      request.end(body);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}

type Fail = (code: "RPC_ERROR" | "RPC_HTTP" | "RPC_UNREACHABLE", message: string, rpcCode?: number | null) => void;

function settle(answer: unknown, id: number, resolve: (result: unknown) => void, fail: Fail): void {
  if (answer === null || typeof answer !== "object" || Array.isArray(answer)) {
    return fail("RPC_HTTP", "the answer is not a JSON-RPC response");
  }
  const { id: answeredId, result, error } = answer as { id?: unknown; result?: unknown; error?: unknown };
  if (answeredId !== id) return fail("RPC_HTTP", "the answer is for another request");
  if (error !== undefined && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const text = typeof message === "string" ? message.slice(0, 200) : "error";
    return fail("RPC_ERROR", `the node answered an error: ${text}`, typeof code === "number" ? code : null);
  }
  if (!("result" in (answer as object))) return fail("RPC_HTTP", "the answer has neither result nor error");
  resolve(result);
}

/** The body as text, or null past MAX_RESPONSE_BYTES. */
function readBody(response: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        response.destroy();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    response.on("error", reject);
  });
}

/**
 * A direct JSON-RPC caller for `provider` when it is an ethers `JsonRpcProvider` over plain HTTP(S) with nothing
 * custom in its connection (no preflight, process or retry function): the same URL and headers, without the
 * provider's batching stall and cache. Null otherwise (an injected wallet, Hardhat's provider, a WebSocket or a
 * connection with custom hooks): the caller then uses `provider.send`.
 */
export function directJsonRpc(
  provider: Provider,
  options: Omit<JsonRpcHttpOptions, "headers"> = {},
): JsonRpcHttpClient | null {
  if (!(provider instanceof JsonRpcProvider)) return null;
  const connection = provider._getConnection();
  if (connection.preflightFunc !== null || connection.processFunc !== null || connection.retryFunc !== null)
    return null;
  if (!/^https?:\/\//i.test(connection.url)) return null;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(connection.headers)) {
    if (name.toLowerCase() !== "accept-encoding") headers[name] = value;
  }
  return new JsonRpcHttpClient(connection.url, {
    ...options,
    headers,
    timeoutMs: options.timeoutMs ?? Math.min(connection.timeout, 10_000),
  });
}
