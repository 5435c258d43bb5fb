import { JsonRpcProvider, Wallet, id, type JsonRpcSigner } from "ethers";
import { buildReadingTree, buildRecordTree, recordsAnchorOf } from "../chain/anchors";
import { deployTwinLedger, type TwinLedgerDeployment } from "../chain/deploy";
import { twinIdOf } from "../chain/twin-id";
import { signCreateTwin, signGrant } from "../chain/typed-data";
import { ALL_CATEGORIES, Action, DataCategory, Purpose, SourceKind } from "../vocabulary";
import { BUNDLE_RECORDS, cidBytes, syntheticRecords } from "./gas";
import { REFERENCES } from "./references";
import { summarize } from "./stats";
import type { IntervalExperiment, TimedOperation } from "./types";

const DAY = 86_400;
const GAS = "0x30d40"; // 200,000: above every call sent here, so no estimate is needed per request

/** What the network part runs against: a JSON-RPC endpoint on 127.0.0.1 with unlocked accounts. */
export interface RpcContext {
  readonly url: string;
  readonly provider: JsonRpcProvider;
  readonly signers: readonly JsonRpcSigner[];
  readonly ledger: TwinLedgerDeployment;
  readonly twinId: string;
  readonly roles: {
    readonly admin: JsonRpcSigner;
    readonly hospital: JsonRpcSigner;
    readonly emr: JsonRpcSigner;
    readonly wearable: JsonRpcSigner;
    readonly patient: JsonRpcSigner;
    readonly relayer: JsonRpcSigner;
    readonly clinician: JsonRpcSigner;
  };
}

/** A provider for latency measurement: no request batching (it would add its stall time), a fixed network. */
export function rpcProvider(url: string): JsonRpcProvider {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`the evaluation only talks to 127.0.0.1, not ${url}`);
  const provider = new JsonRpcProvider(
    url,
    { chainId: 31337, name: "hardhat" },
    {
      staticNetwork: true,
      batchMaxCount: 1,
      pollingInterval: 20,
    },
  );
  return provider;
}

/** Deploys TwinLedger on the node through JSON-RPC and sets up one twin with its sources and a grant. */
export async function setUpRpc(url: string): Promise<RpcContext> {
  const provider = rpcProvider(url);
  const signers = await provider.listAccounts();
  const [admin, hospital, , emr, wearable, , relayer, clinician, , patient] = signers;
  const ledger = await deployTwinLedger({ deployer: admin, governance: [admin.address] });
  const { registry, consent } = ledger;
  await (await registry.grantRole(await registry.CUSTODIAN_ROLE(), hospital.address)).wait();
  const salt = id("evaluation:network:twin");
  const twinId = twinIdOf(patient.address, salt);
  await (await registry.connect(patient).createTwin(salt, id("meta"), hospital.address)).wait();
  await (await registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, ALL_CATEGORIES)).wait();
  await (
    await registry
      .connect(patient)
      .authorizeSource(twinId, wearable.address, SourceKind.Device, DataCategory.WEARABLE_STREAMS)
  ).wait();
  const block = await provider.getBlock("latest");
  const t = block?.timestamp ?? Math.floor(Date.now() / 1000);
  await (
    await consent
      .connect(patient)
      .grant(twinId, clinician.address, ALL_CATEGORIES, Action.READ, Purpose.TREATMENT, t, t + 365 * DAY)
  ).wait();
  return {
    url,
    provider,
    signers,
    ledger,
    twinId,
    roles: { admin, hospital, emr, wearable, patient, relayer, clinician },
  };
}

/** Polls eth_getTransactionReceipt until the transaction is mined (bounded by `timeoutMs`). */
export async function waitReceipt(
  provider: JsonRpcProvider,
  hash: string,
  pollMs: number,
  timeoutMs: number,
): Promise<{ status: string; blockNumber: string }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const receipt = (await provider.send("eth_getTransactionReceipt", [hash])) as {
      status: string;
      blockNumber: string;
    } | null;
    if (receipt) return receipt;
    if (performance.now() > deadline) throw new Error(`transaction ${hash} not mined within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function sendRaw(provider: JsonRpcProvider, from: string, to: string, data: string): Promise<string> {
  return (await provider.send("eth_sendTransaction", [{ from, to, data, gas: GAS }])) as string;
}

/**
 * Confirmation latency with automine: each transaction sent alone over JSON-RPC (eth_sendTransaction) and
 * its receipt polled until present.
 */
export async function measureConfirmations(ctx: RpcContext, runs: number, tick: () => void): Promise<TimedOperation[]> {
  const { provider, ledger, twinId, roles } = ctx;
  const updateLogAddress = await ledger.updateLog.getAddress();
  const consentAddress = await ledger.consent.getAddress();
  const confirm = async (from: string, to: string, data: string): Promise<number> => {
    const t = performance.now();
    const hash = await sendRaw(provider, from, to, data);
    const receipt = await waitReceipt(provider, hash, 2, 30_000);
    if (receipt.status !== "0x1") throw new Error("transaction reverted");
    return performance.now() - t;
  };
  const record: number[] = [];
  const records: number[] = [];
  const anchor: number[] = [];
  const grant: number[] = [];
  const warmup = 3;
  const block = await provider.getBlock("latest");
  const t0 = block?.timestamp ?? 0;
  for (let i = -warmup; i < runs; i++) {
    const ms = await confirm(
      roles.emr.address,
      updateLogAddress,
      ledger.updateLog.interface.encodeFunctionData("recordUpdate", [
        twinId,
        DataCategory.CONDITIONS,
        id(`network:blob:${i}`),
        cidBytes(`network:blob:${i}`),
      ]),
    );
    if (i >= 0) record.push(ms);
    const bundle = recordsAnchorOf(buildRecordTree(syntheticRecords(`network:bundle:${i}`, BUNDLE_RECORDS)));
    const msRecords = await confirm(
      roles.emr.address,
      updateLogAddress,
      ledger.updateLog.interface.encodeFunctionData("anchorRecords", [twinId, bundle.recordsRoot, bundle.categories]),
    );
    if (i >= 0) records.push(msRecords);
    const tree = buildReadingTree(
      Array.from({ length: 16 }, (_, k) => ({ readingHash: id(`network:reading:${i}:${k}`), timestamp: t0 - 100 + k })),
    );
    const msAnchor = await confirm(
      roles.wearable.address,
      updateLogAddress,
      ledger.updateLog.interface.encodeFunctionData("anchorBatch", [twinId, tree.root]),
    );
    if (i >= 0) anchor.push(msAnchor);
    const msGrant = await confirm(
      roles.patient.address,
      consentAddress,
      ledger.consent.interface.encodeFunctionData("grant", [
        twinId,
        roles.relayer.address,
        DataCategory.VITALS,
        Action.READ,
        Purpose.TREATMENT,
        t0,
        t0 + 30 * DAY + i + warmup,
      ]),
    );
    if (i >= 0) grant.push(msGrant);
    tick();
  }
  return [
    {
      id: "rpc-recordUpdate",
      what: "recordUpdate: send to receipt over JSON-RPC (automine)",
      warmup,
      ms: summarize(record),
    },
    {
      id: "rpc-anchorRecords",
      what: `anchorRecords (an EMR bundle of ${BUNDLE_RECORDS} records): send to receipt over JSON-RPC (automine)`,
      warmup,
      ms: summarize(records),
    },
    {
      id: "rpc-anchorBatch",
      what: "anchorBatch: send to receipt over JSON-RPC (automine)",
      warmup,
      ms: summarize(anchor),
    },
    { id: "rpc-grant", what: "grant: send to receipt over JSON-RPC (automine)", warmup, ms: summarize(grant) },
  ];
}

/** A consent check (isAuthorized) as one eth_call over JSON-RPC. */
export async function measureRpcCall(ctx: RpcContext, runs: number): Promise<TimedOperation> {
  const { provider, ledger, twinId, roles } = ctx;
  const to = await ledger.consent.getAddress();
  const data = ledger.consent.interface.encodeFunctionData("isAuthorized", [
    twinId,
    roles.clinician.address,
    Action.READ,
    DataCategory.VITALS,
    Purpose.TREATMENT,
  ]);
  const warmup = 10;
  const samples: number[] = [];
  for (let i = -warmup; i < runs; i++) {
    const t = performance.now();
    await provider.send("eth_call", [{ to, data }, "latest"]);
    if (i >= 0) samples.push(performance.now() - t);
  }
  return { id: "rpc-isAuthorized", what: "isAuthorized as one eth_call over JSON-RPC", warmup, ms: summarize(samples) };
}

/**
 * The paper's experiment, repeated: `requests` consent grants, each signed off chain by its patient (EIP-712) and
 * relayed with grantBySig, all sent concurrently right after a block, mined by interval mining every `blockSeconds`;
 * the clock stops when every grant is mined and checked on chain (isAuthorized true for its grantee).
 */
export async function measureIntervalExperiment(
  ctx: RpcContext,
  requests: number,
  blockSeconds: number,
  tick: (what: string) => void,
): Promise<IntervalExperiment> {
  const { provider, ledger, roles } = ctx;
  const { registry, consent } = ledger;
  const registryAddress = await registry.getAddress();
  const consentAddress = await consent.getAddress();
  const chainId = 31337n;
  const patients = Array.from({ length: requests }, (_, i) => new Wallet(id(`evaluation:network:patient:${i}`)));
  const saltOf = (i: number) => id(`evaluation:network:paper-twin:${i}`);
  const twins = patients.map((patient, i) => twinIdOf(patient.address, saltOf(i)));
  const twinOf = (i: number) => twins[i];

  // Set-up (automine): the hospital creates each patient's twin with the patient's signature.
  tick("set-up: twins for the experiment");
  const setupBlock = await provider.getBlock("latest");
  const t0 = setupBlock?.timestamp ?? Math.floor(Date.now() / 1000);
  const setupHashes = await Promise.all(
    patients.map(async (patient, i) => {
      const signed = await signCreateTwin(
        patient,
        { chainId, address: registryAddress },
        {
          salt: saltOf(i),
          metadataCommitment: id(`meta:${i}`),
          custodian: roles.hospital.address,
          nonce: 0n,
          deadline: t0 + DAY,
        },
      );
      return sendRaw(
        provider,
        roles.hospital.address,
        registryAddress,
        registry.interface.encodeFunctionData("createTwinFor", [
          signed.patient,
          signed.salt,
          signed.metadataCommitment,
          signed.nonce,
          signed.deadline,
          signed.signature,
        ]),
      );
    }),
  );
  for (const hash of setupHashes) {
    const receipt = await waitReceipt(provider, hash, 5, 60_000);
    if (receipt.status !== "0x1") throw new Error("createTwinFor reverted in the set-up");
  }

  const blockMs = Math.round(blockSeconds * 1000);
  await provider.send("evm_setAutomine", [false]);
  await provider.send("evm_setIntervalMining", [blockMs]);
  try {
    // Start right after a block, so that the run waits a whole block interval (the worst case).
    tick(`waiting for a ${blockSeconds}-s block to start on`);
    const startBlock = Number(await provider.send("eth_blockNumber", []));
    const alignDeadline = performance.now() + blockMs * 3;
    while (Number(await provider.send("eth_blockNumber", [])) === startBlock) {
      if (performance.now() > alignDeadline) throw new Error("interval mining produced no block");
      await new Promise((r) => setTimeout(r, 10));
    }
    const head = await provider.getBlock("latest");
    const now = head?.timestamp ?? t0;
    tick(`${requests} requests in flight`);
    const start = performance.now();
    const confirmations: number[] = [];
    const outcomes = await Promise.all(
      patients.map(async (patient, i) => {
        const sent = performance.now();
        const terms = {
          twinId: twinOf(i),
          grantee: roles.clinician.address,
          categories: DataCategory.VITALS,
          actions: Action.READ,
          purposes: Purpose.TREATMENT,
          validFrom: now,
          validUntil: now + 30 * DAY,
        };
        // A fresh pair: epoch 0; the patient's first nonce.
        const signed = await signGrant(patient, { chainId, address: consentAddress }, terms, 0n, now + DAY, 0);
        const hash = await sendRaw(
          provider,
          roles.relayer.address,
          consentAddress,
          consent.interface.encodeFunctionData("grantBySig", [
            terms,
            signed.signer,
            signed.epoch,
            signed.nonce,
            signed.deadline,
            signed.signature,
          ]),
        );
        const receipt = await waitReceipt(provider, hash, 50, blockMs * 5 + 30_000);
        confirmations.push(performance.now() - sent);
        const allowed = await consent.isAuthorized(
          twinOf(i),
          roles.clinician.address,
          Action.READ,
          DataCategory.VITALS,
          Purpose.TREATMENT,
        );
        return { ok: receipt.status === "0x1", block: receipt.blockNumber, allowed };
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const paperPerRequest = REFERENCES.paperRequestsSeconds.value / REFERENCES.paperRequests.value;
    return {
      requests,
      blockSeconds,
      endToEndSeconds: seconds,
      perRequestSeconds: seconds / requests,
      blocks: new Set(outcomes.map((o) => o.block)).size,
      confirmed: outcomes.filter((o) => o.ok).length,
      checked: outcomes.filter((o) => o.ok && o.allowed).length,
      confirmationMs: summarize(confirmations),
      speedupOverPaper: (paperPerRequest * requests) / seconds,
      description:
        `${requests} consent grants, each signed by its own patient (EIP-712) and relayed with grantBySig by one ` +
        `relayer, all sent at once right after a block; interval mining every ${blockSeconds} s ` +
        `(evm_setAutomine false, evm_setIntervalMining ${blockMs}); the clock runs from the first signature until ` +
        `every grant is mined and checked with isAuthorized on chain. The paper's pace is ${paperPerRequest} s a request.`,
    };
  } finally {
    await provider.send("evm_setIntervalMining", [0]);
    await provider.send("evm_setAutomine", [true]);
  }
}
