import type { FastifyInstance } from "fastify";
import type { Signer } from "ethers";
import type { ConsentPolicy, TwinRegistry, TwinUpdateLog } from "../../typechain-types";
import { TwinStatus } from "../vocabulary";
import { operatorOf } from "./audience";

/**
 * The web app's few routes beside the gateway's API (registered with app-static.ts, same origin, so the page needs
 * no CORS): `GET /app-api/config` (chain id, contract addresses, the operator, and for a local demo the demo
 * accounts), `POST /app-rpc` (the node's JSON-RPC, read methods and `eth_sendRawTransaction` only: a transaction
 * is signed in the page, by the wallet or a demo key, never by the node), and `POST /app-api/erased/:twinId` (after
 * the patient's `eraseTwin`, asks the service to destroy its keys; acts only when the chain says the twin is erased).
 */
export interface DemoAccount {
  /** e.g. "Patient (demo)". */
  readonly label: string;
  readonly role: "patient" | "clinician" | "researcher" | "responder";
  /** The key, for local demos only: the page holds it and says so. */
  readonly privateKey: string;
}

export interface WebAppHooks {
  /** Relay JSON-RPC to the node the contracts are connected to under /app-rpc. Default true. */
  readonly rpc?: boolean;
  /** Demo accounts the page offers to sign in with (local use only). */
  readonly demoAccounts?: readonly DemoAccount[];
  /** The StudyRegistry address, when there is one: the page shows the twin's study enrolments from it. */
  readonly studies?: string;
  /**
   * Relays the patient's signed grants (`POST /app-api/relay/grant`: ConsentPolicy.grantBySig, paid by this
   * signer); the contract checks the signature, the relayer only pays the gas. Off when absent.
   */
  readonly relayer?: Signer;
  /** Called once the chain says a twin is erased: the service destroys its keys and redacts its log. */
  readonly onErased?: (twinId: string) => Promise<{ destroyedKeys: number; redactedEntries: number }>;
}

export interface AppApiOptions {
  readonly consent: ConsentPolicy;
  readonly registry: TwinRegistry;
  readonly updateLog?: TwinUpdateLog;
  readonly operator?: string;
  readonly chainId: bigint | number;
}

/** The JSON-RPC methods the page may ask of the node: reads, and sending a transaction it signed itself. */
export const APP_RPC_METHODS: ReadonlySet<string> = new Set([
  "eth_chainId",
  "net_version",
  "eth_blockNumber",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_call",
  "eth_estimateGas",
  "eth_gasPrice",
  "eth_maxPriorityFeePerGas",
  "eth_feeHistory",
  "eth_getBalance",
  "eth_getCode",
  "eth_getTransactionCount",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
  "eth_getLogs",
  "eth_sendRawTransaction",
]);

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** A grant signed by the patient (src/chain/typed-data.ts signGrant), the nonce as a decimal string. */
interface RelayedGrant {
  readonly terms: {
    twinId: string;
    grantee: string;
    categories: number;
    actions: number;
    purposes: number;
    validFrom: number;
    validUntil: number;
  };
  readonly signer: string;
  readonly epoch: number;
  readonly nonce: string;
  readonly deadline: number;
  readonly signature: string;
}

const UINT = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const RELAYED_GRANT_SCHEMA = {
  type: "object",
  required: ["terms", "signer", "epoch", "nonce", "deadline", "signature"],
  properties: {
    terms: {
      type: "object",
      required: ["twinId", "grantee", "categories", "actions", "purposes", "validFrom", "validUntil"],
      additionalProperties: false,
      properties: {
        twinId: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" },
        grantee: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
        categories: UINT,
        actions: UINT,
        purposes: UINT,
        validFrom: UINT,
        validUntil: UINT,
      },
    },
    signer: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
    epoch: UINT,
    nonce: { type: "string", pattern: "^[0-9]{1,78}$" },
    deadline: UINT,
    signature: { type: "string", pattern: "^0x[0-9a-fA-F]+$", maxLength: 4096 },
  },
} as const;

interface RpcRequest {
  readonly jsonrpc?: string;
  readonly id?: string | number | null;
  readonly method?: unknown;
  readonly params?: unknown;
}

type Send = (method: string, params: unknown[]) => Promise<unknown>;

export function registerAppApi(app: FastifyInstance, options: AppApiOptions & { readonly webApp: WebAppHooks }): void {
  const { webApp, consent, registry } = options;
  const operator = operatorOf(options);
  operator.catch(() => undefined);

  app.get("/app-api/config", async () => ({
    chainId: Number(options.chainId),
    consent: await consent.getAddress(),
    registry: await registry.getAddress(),
    updateLog: options.updateLog === undefined ? null : await options.updateLog.getAddress(),
    operator: await operator,
    rpc: webApp.rpc === false ? null : "/app-rpc",
    studies: webApp.studies ?? null,
    demoAccounts: webApp.demoAccounts ?? [],
  }));

  if (webApp.rpc !== false) {
    const provider = consent.runner?.provider as { send?: Send } | null | undefined;
    const send = provider?.send?.bind(provider);
    if (send === undefined) throw new Error("the web app's RPC relay needs a provider with send()");
    const one = async (request: RpcRequest) => {
      const id = request.id ?? null;
      if (typeof request.method !== "string" || !APP_RPC_METHODS.has(request.method)) {
        return { jsonrpc: "2.0", id, error: { code: -32601, message: "method not available" } };
      }
      try {
        const params = Array.isArray(request.params) ? (request.params as unknown[]) : [];
        return { jsonrpc: "2.0", id, result: await send(request.method, params) };
      } catch (error) {
        return { jsonrpc: "2.0", id, error: rpcError(error) };
      }
    };
    app.post<{ Body: RpcRequest | RpcRequest[] }>("/app-rpc", { bodyLimit: 256 * 1024 }, async (request) => {
      const body = request.body;
      if (Array.isArray(body)) return Promise.all(body.slice(0, 50).map(one));
      return one(body ?? {});
    });
  }

  const relayer = webApp.relayer;
  if (relayer !== undefined) {
    app.post<{ Body: RelayedGrant }>(
      "/app-api/relay/grant",
      { schema: { body: RELAYED_GRANT_SCHEMA } },
      async (request, reply) => {
        const g = request.body;
        try {
          const tx = await consent
            .connect(relayer)
            .grantBySig(g.terms, g.signer, g.epoch, BigInt(g.nonce), g.deadline, g.signature);
          return { transactionHash: tx.hash };
        } catch (error) {
          return reply.code(400).send({ error: "relay-refused", message: rpcError(error).message });
        }
      },
    );
  }

  app.post<{ Params: { twinId: string } }>("/app-api/erased/:twinId", async (request, reply) => {
    const { twinId } = request.params;
    if (!BYTES32.test(twinId)) return reply.code(400).send({ error: "invalid-body", message: "not a twin id" });
    const status = Number(await registry.statusOf(twinId));
    if (status !== TwinStatus.Erased) {
      return reply.code(409).send({ error: "not-erased", message: "the chain does not say this twin is erased" });
    }
    if (webApp.onErased === undefined) return { destroyedKeys: 0, redactedEntries: 0 };
    return webApp.onErased(twinId.toLowerCase());
  });
}

/** A node's error as JSON-RPC error, with the revert data a wallet library decodes; nothing else of the node's. */
function rpcError(error: unknown): { code: number; message: string; data?: string } {
  const e = error as { code?: unknown; message?: unknown; data?: unknown; error?: { data?: unknown } };
  const data = typeof e.data === "string" ? e.data : typeof e.error?.data === "string" ? e.error.data : undefined;
  const message = typeof e.message === "string" ? e.message.split("\n")[0]!.slice(0, 300) : "error";
  return { code: typeof e.code === "number" ? e.code : 3, message, ...(data !== undefined && { data }) };
}
