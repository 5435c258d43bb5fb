import { BaseWallet, BrowserProvider, SigningKey, type Eip1193Provider, type Signer } from "ethers";
import { GatewayClient, verifyAnswer, type AnswerVerification } from "../../src/service/client";
import type { QueryParamsMap, QueryType } from "../../src/service/queries";
import type { QueryResponse } from "../../src/service/types";
import { VerifiedAnchors } from "../../src/pipeline/verify";
import type { Chain, DemoAccount } from "./env";

/** Who is signed in: their address, the signer of their queries and transactions, and their gateway. */
export interface Session {
  readonly address: string;
  readonly signer: Signer;
  /** "Patient (demo)", or "Browser wallet". */
  readonly label: string;
  /** True when the key is a demo account's, held in this page. */
  readonly demo: boolean;
  readonly gateway: TwinGateway;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

export function demoSession(chain: Chain, account: DemoAccount): Session {
  // BaseWallet, not Wallet: the page never needs JSON keystores (Wallet would bundle their scrypt and AES).
  const signer = new BaseWallet(new SigningKey(account.privateKey), chain.provider);
  return { address: signer.address, signer, label: account.label, demo: true, gateway: new TwinGateway(chain, signer) };
}

/** Signs in with the injected EIP-1193 wallet: it signs every query and sends every transaction. */
export async function walletSession(chain: Chain): Promise<Session> {
  if (window.ethereum === undefined) throw new Error("no browser wallet found");
  const signer = await new BrowserProvider(window.ethereum).getSigner();
  const address = await signer.getAddress();
  return { address, signer, label: "Browser wallet", demo: false, gateway: new TwinGateway(chain, signer) };
}

export type Answer<Q extends QueryType> =
  | { readonly ok: true; readonly body: QueryResponse<Q>; readonly verification: AnswerVerification }
  | { readonly ok: false; readonly status: number; readonly error: string; readonly message: string };

/** The gateway as the page uses it: signed queries (GatewayClient), each answer's proofs checked against the chain. */
export class TwinGateway {
  private readonly client: GatewayClient;
  private readonly verified = new VerifiedAnchors(50_000);

  constructor(
    private readonly chain: Chain,
    signer: Signer,
  ) {
    this.client = new GatewayClient({
      baseUrl: location.origin,
      signer,
      chainId: chain.config.chainId,
      consentAddress: chain.config.consent,
      operator: chain.config.operator,
    });
  }

  async query<Q extends QueryType>(
    twinId: string,
    queryType: Q,
    params: QueryParamsMap[Q],
    options: { purpose: number; category?: number },
  ): Promise<Answer<Q>> {
    const result = await this.client.query(twinId, queryType, params, options);
    if (!result.ok) return { ok: false, status: result.status, error: result.body.error, message: result.body.message };
    const verification = await verifyAnswer(result.body, { updateLog: this.chain.updateLog, verified: this.verified });
    return { ok: true, body: result.body as QueryResponse<Q>, verification };
  }

  accessLog(twinId: string, cursor?: number) {
    return this.client.accessLog(twinId, cursor === undefined ? { limit: 500 } : { cursor, limit: 500 });
  }
}
