import { ethers } from "hardhat";
import { ZeroHash } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { commit } from "../../../src/chain/commitments";
import { deployResearch } from "../../../src/chain/deploy-research";
import type { TwinRecord, VitalReading } from "../../../src/fhir/records";
import type { ProvenRecord, StateAnchor } from "../../../src/pipeline/reader";
import { Aggregate, type CohortQuery } from "../../../src/research";
import { TwinEngine } from "../../../src/twin";
import { DataCategory, Purpose } from "../../../src/vocabulary";
import { createTwinOf } from "../../fixtures";
import { condition, HOUR, reading, T0 } from "../twin/builders";
import { FakeTwinData, gatewayFixture } from "./harness";

/**
 * The cohort-query suites' fixture: the gateway fixture, StudyRegistry and DeviceRegistry (the hospital, the gateway's
 * operator, holds OPERATOR_ROLE; governance is the ethics board; the wearable account a manufacturer), six twins of
 * owners 12..17 held by the gateway, each with a day of heart rates (VITALS; twin 0's from a registered device) and,
 * for twins 0 and 1 only, SpO2 readings and a hypertension condition. Study 1 (the researcher's: VITALS│CONDITIONS,
 * count│mean, k = 3, budget 2.5 ε) is approved with twins 0..3 enrolled; study 2 is registered and never reviewed.
 */

export const COHORT_SIZE = 6;
export const ENROLLED = 4;
export const K = 3;
export const BUDGET = 2500;
export const HYPERTENSION = "http://snomed.info/sct|38341003";

export const meanHeartRate = (epsilonMilli = 1000): CohortQuery => ({
  aggregate: "mean",
  subject: { kind: "vital", sign: "heartRate", bounds: [40, 120] },
  window: { from: T0, to: T0 + 24 * HOUR },
  epsilonMilli,
});

/** SpO2 only twins 0 and 1 have: two contributors, below k. */
export const meanSpO2: CohortQuery = {
  aggregate: "mean",
  subject: { kind: "vital", sign: "oxygenSaturation", bounds: [80, 100] },
  window: { from: T0, to: T0 + 24 * HOUR },
  epsilonMilli: 500,
};

function twinData(i: number, device: string): { readings: VitalReading[]; records: TwinRecord[] } {
  const readings = Array.from({ length: 24 }, (_, h) =>
    reading("heartRate", 60 + 3 * i + (h % 4), T0 + h * HOUR, {
      category: DataCategory.VITALS,
      source: i === 0 ? device : `Device/monitor-${i}`,
    }),
  );
  const records: TwinRecord[] = [];
  if (i < 2) {
    readings.push(reading("oxygenSaturation", 96, T0 + HOUR, { category: DataCategory.VITALS }));
    records.push(condition(`c${i}`, { code: "38341003", display: "Hypertension", onset: "2025-06-01" }));
  }
  return { readings, records };
}

export async function cohortFixture() {
  const f = await gatewayFixture();
  const { studies, devices } = await deployResearch({
    deployer: f.admin,
    registry: await f.registry.getAddress(),
    ethicsBoard: [f.governance.address],
    operators: [f.hospital.address],
    manufacturers: [f.wearable.address],
  });
  const device = ethers.Wallet.createRandom().address;
  const c = (label: string) => commit(label).commitment;
  await (await devices.connect(f.wearable).registerDevice(device, c("model"), c("fw"), c("calibration"))).wait();

  const owners: HardhatEthersSigner[] = (await ethers.getSigners()).slice(12, 12 + COHORT_SIZE);
  const twinIds: string[] = [];
  const data = new FakeTwinData();
  for (const [i, owner] of owners.entries()) {
    const twinId = await createTwinOf(f.registry, owner, `cohort twin ${i}`, f.hospital);
    twinIds.push(twinId);
    const { readings, records } = twinData(i, device);
    const version = new TwinEngine().apply({ records, readings, sourceHashes: [] });
    const anchor: StateAnchor = {
      version: version.version,
      chainVersion: 1,
      epoch: 1,
      stateRoot: version.stateRoot,
      sourcesRoot: version.sourcesRoot,
      blockNumber: await ethers.provider.getBlockNumber(),
      transactionHash: ZeroHash,
    };
    const proven: ProvenRecord[] = records.map((record) => ({
      record,
      anchor: {
        kind: "update",
        sequence: "1",
        contentHash: ZeroHash,
        cid: "",
        blockNumber: 0,
        transactionHash: ZeroHash,
      },
    }));
    data.set(twinId, {
      version,
      anchor,
      records: proven,
      readings: readings.map((r) => ({ reading: r, anchor: null })),
    });
  }

  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  const terms = {
    purpose: Purpose.RESEARCH,
    categories: DataCategory.VITALS | DataCategory.CONDITIONS,
    aggregates: Aggregate.count | Aggregate.mean,
    minCohort: K,
    budget: BUDGET,
    windowStart: now,
    windowEnd: now + 365 * 24 * 3600,
    protocolCommitment: c("protocol"),
  };
  await (await studies.connect(f.researcher).registerStudy(terms)).wait();
  await (await studies.connect(f.governance).reviewStudy(1, true)).wait();
  await (await studies.connect(f.researcher).registerStudy(terms)).wait(); // study 2: never reviewed
  for (let i = 0; i < ENROLLED; i += 1) await (await studies.connect(owners[i]).enrol(1, twinIds[i])).wait();
  return { ...f, data, studies, devices, device, owners, twinIds };
}

export type CohortFixture = Awaited<ReturnType<typeof cohortFixture>>;
