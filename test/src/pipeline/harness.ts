import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexlify, Wallet, type Signer } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import type { Cohort } from "../../../src/fhir";
import { TwinPipeline, type BatchPolicy } from "../../../src/pipeline";
import { FolderKeyStore, LocalFolderBlobStore, RecordVault } from "../../../src/store";
import { twinFixture } from "../../fixtures";
import type { DeviceRegistry } from "../../../typechain-types";

/** A fresh key pair (the service's reader key, a patient's, a grantee's). */
export const newWallet = (): Wallet => new Wallet(hexlify(randomBytes(32)));

import { existsSync } from "node:fs";
import { REPO_ROOT, SAMPLES_DIR } from "../fhir/helpers";

/**
 * The shared FHIR samples: next to the repository, or, in a git worktree under a folder of worktrees, next to that
 * folder.
 */
export const SAMPLES = existsSync(SAMPLES_DIR) ? SAMPLES_DIR : join(REPO_ROOT, "..", "..", "shared", "fhir-samples");

export async function sample(name: string): Promise<string> {
  return readFile(join(SAMPLES, name), "utf8");
}

export async function cohortSmall(): Promise<Cohort> {
  return JSON.parse(await readFile(join(__dirname, "../../fixtures/cohort-small.json"), "utf8")) as Cohort;
}

/**
 * The same EMR export with one change to its Patient (a new telecom entry, numbered `n`): a re-ingest of it
 * changes exactly one record, so it makes a new twin version, where an unchanged re-ingest makes none.
 */
export function withPatientChange<T>(bundle: T, n: number): T {
  const copy = JSON.parse(JSON.stringify(bundle)) as { entry?: { resource?: Record<string, unknown> }[] };
  const patient = copy.entry?.find((e) => e.resource?.resourceType === "Patient")?.resource;
  if (patient === undefined) throw new Error("the bundle has no Patient");
  const telecom = Array.isArray(patient.telecom) ? patient.telecom : [];
  patient.telecom = [...telecom, { system: "phone", value: `555-0${100 + n}`, use: "home" }];
  return copy as T;
}

/**
 * The same EMR export with a note numbered `n` added to each Condition, updated later (`meta.lastUpdated`, as an
 * EMR stamps a changed resource): a re-ingest stores those anew, and the twin keeps them as the newer versions.
 */
export function withConditionNotes<T>(bundle: T, n: number): T {
  const copy = JSON.parse(JSON.stringify(bundle)) as { entry?: { resource?: Record<string, unknown> }[] };
  for (const entry of copy.entry ?? []) {
    if (entry.resource?.resourceType !== "Condition") continue;
    entry.resource.note = [{ text: `follow-up ${n}` }];
    const meta = (entry.resource.meta ?? {}) as Record<string, unknown>;
    entry.resource.meta = { ...meta, lastUpdated: new Date(Date.UTC(2030, 0, n)).toISOString() };
  }
  return copy as T;
}

export type Fixture = Awaited<ReturnType<typeof twinFixture>>;

/** The folders of one custodian service: blobs, wrapped keys and the pipeline index side by side. */
export interface ServiceFolders {
  readonly root: string;
  readonly blobs: LocalFolderBlobStore;
  readonly keys: FolderKeyStore;
  readonly vault: RecordVault;
  readonly indexFolder: string;
}

export async function serviceFolders(): Promise<ServiceFolders> {
  const root = await mkdtemp(join(tmpdir(), "twinledger-pipeline-"));
  return reopenFolders(root);
}

/** New store objects over existing folders (as a restarted service would build). */
export function reopenFolders(root: string): ServiceFolders {
  const blobs = new LocalFolderBlobStore(join(root, "blobs"), { fsync: false });
  const keys = new FolderKeyStore(join(root, "keys"), { fsync: false });
  return { root, blobs, keys, vault: new RecordVault(blobs, keys), indexFolder: join(root, "pipeline") };
}

export async function removeFolders(folders: ServiceFolders | undefined): Promise<void> {
  if (folders) await rm(folders.root, { recursive: true, force: true });
}

/** Everything a pipeline test needs: the chain fixture, the service's folders and keys, the pipeline. */
export interface Service {
  readonly f: Fixture;
  readonly folders: ServiceFolders;
  readonly custodianKey: Wallet;
  readonly patientKey: Wallet;
  readonly pipeline: TwinPipeline;
  /** A clock the test moves (epoch ms). */
  readonly clock: { now: number };
  /** Open another pipeline over the same folders (a restart). */
  restart(): Promise<TwinPipeline>;
}

export async function startService(
  options: {
    batchPolicy?: Partial<BatchPolicy>;
    deviceSigner?: (f: Fixture) => Signer;
    /** The pipeline index on PostgreSQL (a URL from `freshDatabase`) instead of SQLite. */
    databaseUrl?: string;
    /** The DeviceRegistry whose flags the pipeline reads. */
    deviceRegistry?: (f: Fixture) => Promise<DeviceRegistry>;
  } = {},
): Promise<Service> {
  const f = await loadFixture(twinFixture);
  const deviceRegistry = options.deviceRegistry ? await options.deviceRegistry(f) : undefined;
  const folders = await serviceFolders();
  const custodianKey = newWallet();
  const patientKey = newWallet();
  const clock = { now: Date.UTC(2024, 0, 2) };
  const open = (stores: ServiceFolders) =>
    TwinPipeline.open({
      updateLog: f.updateLog,
      vault: stores.vault,
      custodianKey,
      custodianSigner: f.hospital,
      patientPublicKey: () => patientKey.signingKey.publicKey,
      indexFolder: stores.indexFolder,
      // The suites written for v1 batching ask for "size" mode unless they say otherwise.
      batchPolicy: { mode: "size", ...(options.batchPolicy ?? { maxReadings: 64, maxAgeMs: 60 * 60_000 }) },
      clock: () => clock.now,
      fsync: false,
      ...(options.deviceSigner ? { deviceSigner: options.deviceSigner(f) } : {}),
      ...(options.databaseUrl !== undefined ? { databaseUrl: options.databaseUrl } : {}),
      ...(deviceRegistry !== undefined ? { deviceRegistry } : {}),
    });
  const pipeline = await open(folders);
  return { f, folders, custodianKey, patientKey, pipeline, clock, restart: () => open(reopenFolders(folders.root)) };
}

/** Count the blobs stored under a blob store's folder (single files and packed), plus any temporary (dot) file left. */
export async function countBlobs(blobs: LocalFolderBlobStore | string): Promise<number> {
  const { readdir } = await import("node:fs/promises");
  const store = typeof blobs === "string" ? new LocalFolderBlobStore(blobs, { fsync: false }) : blobs;
  const temporaries = async (dir: string): Promise<number> => {
    let count = 0;
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) count += await temporaries(join(dir, entry.name));
      else if (entry.name.startsWith(".")) count += 1;
    }
    return count;
  };
  return (await store.cids()).length + (await temporaries(store.root));
}
