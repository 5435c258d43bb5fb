import { JsonRpcProvider, Network } from "ethers";
import {
  IConsentPolicy__factory,
  IStudyRegistry__factory,
  ITwinRegistry__factory,
  ITwinUpdateLog__factory,
  type IConsentPolicy,
  type IStudyRegistry,
  type ITwinRegistry,
  type ITwinUpdateLog,
} from "../../typechain-types";
import { ChainHead } from "./head";

/** What the gateway tells the page (GET /app-api/config, src/service/app-api.ts). */
export interface AppConfig {
  readonly chainId: number;
  readonly consent: string;
  readonly registry: string;
  readonly updateLog: string;
  readonly operator: string;
  readonly rpc: string | null;
  /** The StudyRegistry (cohort studies), when the gateway names one. */
  readonly studies?: string | null;
  readonly demoAccounts: readonly DemoAccount[];
}

export interface DemoAccount {
  readonly label: string;
  readonly role: "patient" | "clinician" | "researcher" | "responder";
  readonly privateKey: string;
}

/**
 * The chain as the page reads it: the node's JSON-RPC relayed by the gateway (same origin), and the typechain bindings
 * of the contracts' interfaces (contracts/interfaces/I*.sol: the v2 ABI, without the deploy bytecode).
 */
export interface Chain {
  readonly config: AppConfig;
  readonly provider: JsonRpcProvider;
  readonly consent: IConsentPolicy;
  readonly registry: ITwinRegistry;
  readonly updateLog: ITwinUpdateLog;
  /** Cohort studies the twin may be enrolled in; null when the gateway names no StudyRegistry. */
  readonly studies: IStudyRegistry | null;
  /** The block the page reads at, and the blocks its actions were mined in (head.ts). */
  readonly head: ChainHead;
}

export async function loadChain(): Promise<Chain> {
  const response = await fetch("/app-api/config");
  if (!response.ok) throw new Error(`the gateway's app config answered ${response.status}`);
  const config = (await response.json()) as AppConfig;
  if (config.rpc === null) throw new Error("the gateway relays no JSON-RPC for the app");
  const network = Network.from(config.chainId);
  const provider = new JsonRpcProvider(new URL(config.rpc, location.origin).href, network, {
    staticNetwork: network,
    batchMaxCount: 20,
    pollingInterval: 1000,
    // No 250 ms cache of identical calls: a read after an action must never be answered from one before it.
    cacheTimeout: -1,
  });
  return {
    config,
    provider,
    consent: IConsentPolicy__factory.connect(config.consent, provider),
    registry: ITwinRegistry__factory.connect(config.registry, provider),
    updateLog: ITwinUpdateLog__factory.connect(config.updateLog, provider),
    studies: config.studies ? IStudyRegistry__factory.connect(config.studies, provider) : null,
    head: new ChainHead(provider),
  };
}
