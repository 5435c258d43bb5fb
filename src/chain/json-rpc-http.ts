import { JsonRpcProvider, type Provider } from "ethers";
import { Pool } from "undici";
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
 * sends one request per call at once, on a kept-alive connection, through undici's lowest-level call (`dispatch`: no
 * body stream or request object per call; a poll cost the gateway ~2.5 times more CPU through Node's `http.request`).
 *
 * Errors are `JsonRpcCallError`s with code `RPC_ERROR` (the node answered a JSON-RPC error: its code in `rpcCode`),
 * `RPC_HTTP` (a non-2xx status or an answer that is not JSON-RPC) or `RPC_UNREACHABLE` (connection refused, reset or
 * timed out). The URL (which may hold a key) is never in a message.
 */
export class JsonRpcHttpClient implements JsonRpcSend {
  readonly #origin: string;
  readonly #poolOptions: Pool.Options;
  /** The kept-alive connections; a new pool after `close`. */
  #pool: Pool | null = null;
  /** Path and query of the URL (the origin is the pool's). */
  readonly #path: string;
  readonly #headers: Record<string, string>;
  #id = 0;

  constructor(url: string, options: JsonRpcHttpOptions = {}) {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new TwinLedgerError("RPC_URL", "a JSON-RPC URL must be http: or https:");
    }
    this.#path = `${parsed.pathname}${parsed.search}`;
    this.#headers = { ...options.headers, "content-type": "application/json" };
    if (parsed.username !== "" || parsed.password !== "") {
      // credentials in the URL, as Node's http.request would send them
      const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
      this.#headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.#origin = parsed.origin;
    this.#poolOptions = {
      connections: options.maxSockets ?? 4,
      connectTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    };
  }

  send(method: string, params: readonly unknown[]): Promise<unknown> {
    const id = ++this.#id;
    const body = JSON.stringify({ jsonrpc: "2.0", id, method, params });
    return new Promise<unknown>((resolve, reject) => {
      let done = false;
      const fail: Fail = (code, message, rpcCode) => {
        if (done) return;
        done = true;
        reject(new JsonRpcCallError(code, `${method}: ${message}`, rpcCode));
      };
      const succeed = (result: unknown) => {
        if (done) return;
        done = true;
        resolve(result);
      };
      const chunks: Buffer[] = [];
      let size = 0;
      let status = 0;
      // undici's lowest-level call (no body stream, no promise of its own): a poll is a few small writes and reads
      this.#pool ??= new Pool(this.#origin, this.#poolOptions);
      this.#pool.dispatch(
        { path: this.#path, method: "POST", headers: this.#headers, body },
        {
          onRequestStart: () => undefined, // (undici tells the handler API by this method)
          onResponseStart: (_controller, statusCode) => {
            status = statusCode;
          },
          onResponseData: (controller, chunk) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              fail("RPC_HTTP", "the answer is too large");
              controller.abort(new Error("too large"));
              return;
            }
            chunks.push(chunk);
          },
          onResponseEnd: () => {
            if (done) return;
            if (status < 200 || status >= 300) return fail("RPC_HTTP", `the node answered HTTP ${status}`);
            let answer: unknown;
            try {
              answer = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
              return fail("RPC_HTTP", "the answer is not JSON");
            }
            settle(answer, id, succeed, fail);
          },
          onResponseError: (_controller, error) => fail("RPC_UNREACHABLE", unreachable(error, status !== 0)),
        },
      );
    });
  }

  /** Closes the kept-alive connections (a later call opens new ones); calls in flight fail RPC_UNREACHABLE. */
  close(): void {
    const pool = this.#pool;
    this.#pool = null;
    pool?.destroy().catch(() => undefined);
  }
}

/** What failed, without the URL (which may hold a key): a timeout, a broken answer or a node not reached. */
function unreachable(error: Error, answering: boolean): string {
  const code = (error as { code?: unknown }).code;
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT") {
    return "no answer in time";
  }
  return answering ? "the connection broke while reading the answer" : "the node could not be reached";
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
