import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { hexlify, toUtf8Bytes } from "ethers";
import { ethers } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { batchAnchorOf, buildReadingTree, proveReading } from "../../../src/chain/anchors";
import { contentHash } from "../../../src/crypto/content-hash";
import type { TwinRecord, VitalReading } from "../../../src/fhir/records";
import type {
  BatchAnchor,
  ProvenReading,
  ProvenRecord,
  ReadingsQuery,
  StateAnchor,
  TwinDataReader,
  TwinHolding,
} from "../../../src/pipeline/reader";
import { readingCommitment, readingTimestampSeconds } from "../../../src/pipeline/reading-commitment";
import { anchorRecordBatch } from "../../../src/pipeline/record-anchoring";
import { createGateway, GatewayClient, type Gateway, type GatewayOptions } from "../../../src/service";
import { cidOf, parseCid } from "../../../src/store/cid";
import { TwinEngine, type TwinVersion } from "../../../src/twin";
import { DataCategory } from "../../../src/vocabulary";
import { twinFixture } from "../../fixtures";
import { allergy, condition, medication, reading } from "../twin/builders";

/**
 * A small in-memory TwinDataReader whose records, readings and version are really anchored on the fixture's chain
 * (a record batch and a v1 recordUpdate by the EMR, anchorBatch by the wearable, commitTwinState by the hospital), so that answers verify.
 */
export class FakeTwinData implements TwinDataReader {
  readonly holdings = new Map<string, TwinHolding>();
  private readonly versions = new Map<string, { version: TwinVersion; anchor: StateAnchor | null }>();
  private readonly recordsOf = new Map<string, ProvenRecord[]>();
  private readonly readingsOf = new Map<string, ProvenReading[]>();

  set(
    twinId: string,
    value: { version: TwinVersion; anchor: StateAnchor | null; records: ProvenRecord[]; readings: ProvenReading[] },
  ) {
    const key = twinId.toLowerCase();
    this.holdings.set(key, "active");
    this.versions.set(key, { version: value.version, anchor: value.anchor });
    this.recordsOf.set(key, value.records);
    this.readingsOf.set(key, value.readings);
  }

  holding(twinId: string): TwinHolding {
    return this.holdings.get(twinId.toLowerCase()) ?? "unknown";
  }

  version(twinId: string) {
    const found = this.versions.get(twinId.toLowerCase());
    if (found === undefined) throw new Error("no such twin");
    return found;
  }

  async records(twinId: string, categoryMask: number): Promise<readonly ProvenRecord[]> {
    return (this.recordsOf.get(twinId.toLowerCase()) ?? []).filter((p) => (p.record.category & categoryMask) !== 0);
  }

  async readings(twinId: string, query: ReadingsQuery): Promise<readonly ProvenReading[]> {
    return (this.readingsOf.get(twinId.toLowerCase()) ?? []).filter(
      ({ reading: r }) =>
        (query.signs === undefined || query.signs.includes(r.sign)) &&
        (query.from === undefined || r.at >= query.from) &&
        (query.to === undefined || r.at < query.to),
    );
  }
}

export const HEART_RATES = [62, 64, 71, 68, 75, 80, 77, 66];

/** `twinFixture` plus an anchored twin in a FakeTwinData (2 conditions, 1 medication, 1 allergy, 8 heart rates). */
export async function gatewayFixture() {
  const f = await twinFixture();
  const { updateLog, emr, wearable, hospital, twinId } = f;
  const records: TwinRecord[] = [
    condition("c1", { display: "Essential hypertension", status: "active" }),
    condition("c2", { display: "Asthma", status: "resolved" }),
    medication("m1", { display: "Amlodipine 5 mg", status: "active" }),
    allergy("a1", { display: "Penicillin", status: "active" }),
  ];
  const stored = records.map((record) => {
    const envelope = toUtf8Bytes(`envelope:${record.key}`);
    return { record, category: record.category, contentHash: contentHash(envelope), cid: cidOf(envelope) };
  });
  // The first three records in one record batch (sequence 1), as the pipeline anchors an ingest; the last by a v1
  // recordUpdate (sequence 2), whose anchors still verify.
  const batch3 = await anchorRecordBatch(updateLog, emr, twinId, stored.slice(0, 3));
  const proven: ProvenRecord[] = batch3.anchors.map((anchor, i) => ({ record: stored[i].record, anchor }));
  const last = stored[3];
  const receipt = (await (
    await updateLog.connect(emr).recordUpdate(twinId, last.category, last.contentHash, parseCid(last.cid).bytes)
  ).wait())!;
  proven.push({
    record: last.record,
    anchor: {
      kind: "update",
      sequence: "2",
      contentHash: last.contentHash,
      cid: last.cid,
      blockNumber: receipt.blockNumber,
      transactionHash: receipt.hash,
    },
  });

  // Eight wearable heart rates, 10 minutes apart, ending an hour before the chain's clock.
  const end = ((await time.latest()) - 3600) * 1000;
  const readings: VitalReading[] = HEART_RATES.map((value, i) =>
    reading("heartRate", value, end - (HEART_RATES.length - 1 - i) * 600_000, {
      category: DataCategory.WEARABLE_STREAMS,
      source: "Device/watch",
    }),
  );
  const salts = readings.map((_, i) => ethers.id(`salt:${i}`));
  const leaves = readings.map((r, i) => ({
    readingHash: readingCommitment(salts[i], twinId, r),
    timestamp: readingTimestampSeconds(r),
  }));
  const tree = buildReadingTree(leaves);
  const batch = batchAnchorOf(tree);
  const batchReceipt = (await (await updateLog.connect(wearable).anchorBatch(twinId, batch.merkleRoot)).wait())!;
  const provenReadings: ProvenReading[] = readings.map((r, i) => {
    const anchor: BatchAnchor = {
      kind: "batch",
      merkleRoot: batch.merkleRoot,
      source: wearable.address,
      readingHash: leaves[i].readingHash,
      timestamp: leaves[i].timestamp,
      salt: salts[i],
      proof: proveReading(tree, leaves[i].readingHash, leaves[i].timestamp),
      blockNumber: batchReceipt.blockNumber,
    };
    return { reading: r, anchor };
  });

  const version = new TwinEngine().apply({
    records,
    readings,
    sourceHashes: proven.map((p) => p.anchor.contentHash),
  });
  const commit = (await (
    await updateLog.connect(hospital).commitTwinState(twinId, version.stateRoot, version.sourcesRoot, version.version)
  ).wait())!;
  const state: StateAnchor = {
    version: version.version,
    chainVersion: version.version, // the hospital's first commit: version 1 of epoch 1
    epoch: 1,
    stateRoot: version.stateRoot,
    sourcesRoot: version.sourcesRoot,
    blockNumber: commit.blockNumber,
    transactionHash: commit.hash,
  };
  const data = new FakeTwinData();
  data.set(twinId, { version, anchor: state, records: proven, readings: provenReadings });
  const { chainId } = await ethers.provider.getNetwork();
  return { ...f, data, state, chainId, consentAddress: await f.consent.getAddress() };
}

export type GatewayFixture = Awaited<ReturnType<typeof gatewayFixture>>;

/** A running gateway over a fixture, its clients, and a temp folder for its database. */
export class GatewayHarness {
  gateway!: Gateway;
  url!: string;
  readonly dir = mkdtempSync(join(tmpdir(), "twinledger-gateway-"));
  readonly dbPath = join(this.dir, "access-log.sqlite");

  constructor(
    readonly f: GatewayFixture,
    private readonly extra: Partial<GatewayOptions> = {},
  ) {}

  static async start(extra: Partial<GatewayOptions> = {}, data?: TwinDataReader): Promise<GatewayHarness> {
    const f = await loadFixture(gatewayFixture);
    const harness = new GatewayHarness(f, data ? { data, ...extra } : extra);
    await harness.open();
    return harness;
  }

  async open(): Promise<void> {
    const { f } = this;
    this.gateway = createGateway({
      data: f.data,
      consent: f.consent,
      registry: f.registry,
      updateLog: f.updateLog.connect(f.hospital),
      chainId: f.chainId,
      dbPath: this.dbPath,
      auditors: [f.governance.address],
      ...this.extra,
    });
    this.url = await this.gateway.listen();
  }

  /** Closes the gateway and opens a new one on the same database (a restart). */
  async restart(): Promise<void> {
    await this.gateway.close();
    await this.open();
  }

  client(signer: HardhatEthersSigner): GatewayClient {
    return new GatewayClient({
      baseUrl: this.url,
      signer,
      chainId: this.f.chainId,
      consentAddress: this.f.consentAddress,
    });
  }

  async raw(
    body: string,
    contentType = "application/json",
    path = "/v1/query",
  ): Promise<{ status: number; body: { error: string; message: string } }> {
    const response = await fetch(`${this.url}${path}`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });
    return { status: response.status, body: (await response.json()) as { error: string; message: string } };
  }

  async close(): Promise<void> {
    await this.gateway.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const FAR_FUTURE = 2 ** 40 - 1;

/** A grant from the patient to `grantee`, open-ended unless `validUntil` is given. */
export async function grant(
  f: GatewayFixture,
  grantee: string,
  terms: { categories: number; actions: number; purposes: number; validFrom?: number; validUntil?: number },
): Promise<void> {
  await (
    await f.consent
      .connect(f.patient)
      .grant(
        f.twinId,
        grantee,
        terms.categories,
        terms.actions,
        terms.purposes,
        terms.validFrom ?? 0,
        terms.validUntil ?? FAR_FUTURE,
      )
  ).wait();
}

export const randomNonce = (): string => hexlify(ethers.randomBytes(32));
