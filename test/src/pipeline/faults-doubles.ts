import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type Provider, type Signer, type TransactionRequest, type TransactionResponse } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { TwinPipeline, type TwinPipelineOptions } from "../../../src/pipeline";
import { RecordVault, StoreError, type BlobStore } from "../../../src/store";
import { twinFixture } from "../../fixtures";
import { DelegatingSigner } from "./delegating-signer";
import { newWallet, reopenFolders, serviceFolders, type Fixture, type ServiceFolders } from "./harness";

/**
 * What a faulty send does: go through, fail before reaching the node, fail after the node took it (`lost`: once mined;
 * `unanswered`: at once, the transaction left pending in the mempool when blocks are not mined on every send), or
 * fail after the node took it and dropped it from its mempool (`dropped`, Hardhat's `hardhat_dropTransaction`).
 */
export type SendFault = "ok" | "down" | "timeout" | "lost" | "unanswered" | "dropped";

/**
 * A signer whose sends fail on demand, over a real one: `down` (ECONNREFUSED, nothing sent), `timeout` (a slow node:
 * rejects after a delay, nothing sent), `lost` (the transaction is sent and mined, then the call fails as if the
 * connection dropped before the answer).
 */
export class FaultySigner extends DelegatingSigner {
  sends = 0;
  /** Hashes of the transactions that reached the node, in order. */
  readonly sent: string[] = [];
  constructor(
    inner: Signer,
    readonly fault: (send: number) => SendFault,
  ) {
    super(inner);
  }
  connect(provider: Provider | null): FaultySigner {
    return new FaultySigner(this.inner.connect(provider), this.fault);
  }
  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    this.sends += 1;
    const fault = this.fault(this.sends);
    if (fault === "down")
      throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
    if (fault === "timeout") {
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw Object.assign(new Error("request timeout"), { code: "TIMEOUT" });
    }
    const response = await this.inner.sendTransaction(tx);
    this.sent.push(response.hash);
    if (fault === "lost") await response.wait();
    if (fault === "dropped") {
      const provider = this.provider as unknown as { send(method: string, params: unknown[]): Promise<unknown> };
      await provider.send("hardhat_dropTransaction", [response.hash]);
    }
    if (fault === "lost" || fault === "unanswered" || fault === "dropped") {
      throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    }
    return response;
  }
}

/** A blob store that runs out of space: after `room` blobs, every write throws ENOSPC (a batch half written). */
export class FullDiskBlobStore implements BlobStore {
  written = 0;
  constructor(
    readonly inner: BlobStore & { delete(cid: string): Promise<boolean> },
    public room: number,
  ) {}
  async put(bytes: Uint8Array): Promise<string> {
    if (this.written >= this.room) {
      const cause = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      throw new StoreError("STORE_IO", "cannot write a blob", { cause });
    }
    this.written += 1;
    return this.inner.put(bytes);
  }
  async putMany(blobs: readonly Uint8Array[]): Promise<string[]> {
    const cids: string[] = [];
    for (const bytes of blobs) cids.push(await this.put(bytes));
    return cids;
  }
  get(cid: string): Promise<Uint8Array> {
    return this.inner.get(cid);
  }
  has(cid: string): Promise<boolean> {
    return this.inner.has(cid);
  }
  delete(cid: string): Promise<boolean> {
    return this.inner.delete(cid);
  }
}

/**
 * Files under a folder's subfolders, recursively (blobs in their shards, wrapped keys in their twin folders), dot files
 * (temporaries) too; files at the top (the key store's own secret) are not counted.
 */
export async function countFiles(root: string, top = true): Promise<number> {
  let count = 0;
  let names: import("node:fs").Dirent[];
  try {
    names = await readdir(root, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of names) {
    if (entry.isDirectory()) count += await countFiles(join(root, entry.name), false);
    else if (!top) count += 1;
  }
  return count;
}

/** A custodian service over its folders, opened with extra options (fault hooks, store doubles). */
export interface FaultService {
  readonly f: Fixture;
  readonly folders: ServiceFolders;
  open(extra?: Partial<TwinPipelineOptions>): Promise<TwinPipeline>;
}

/** @param databaseUrl The pipeline index (and its journal) on PostgreSQL instead of SQLite. */
export async function faultService(databaseUrl?: string): Promise<FaultService> {
  const f = await loadFixture(twinFixture);
  const folders = await serviceFolders();
  const custodianKey = newWallet();
  const patientKey = newWallet();
  return {
    f,
    folders,
    open: (extra = {}) => {
      const stores = reopenFolders(folders.root);
      return TwinPipeline.open({
        updateLog: f.updateLog,
        vault: stores.vault,
        custodianKey,
        custodianSigner: f.hospital,
        patientPublicKey: () => patientKey.signingKey.publicKey,
        indexFolder: stores.indexFolder,
        clock: () => Date.UTC(2024, 0, 2),
        fsync: false,
        ...(databaseUrl !== undefined ? { databaseUrl } : {}),
        ...extra,
      });
    },
  };
}

/** The vault of a service's folders with its blob store replaced. */
export function vaultWith(folders: ServiceFolders, blobs: BlobStore): RecordVault {
  return new RecordVault(blobs, reopenFolders(folders.root).keys);
}

/** How many record batches the chain holds for a twin (RecordsAnchored events). */
export async function recordBatchesOnChain(f: Fixture): Promise<number> {
  return (await f.updateLog.queryFilter(f.updateLog.filters.RecordsAnchored(f.twinId))).length;
}

/** How many reading batches the chain holds for a twin (BatchAnchored events). */
export async function readingBatchesOnChain(f: Fixture): Promise<number> {
  return (await f.updateLog.queryFilter(f.updateLog.filters.BatchAnchored(f.twinId))).length;
}
