import type { Bundle } from "@medplum/fhirtypes";
import { expect } from "chai";
import { ethers } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TwinDataReader } from "../../../src/pipeline/reader";
import { createGateway, GatewayClient, verifyAnswer, type Gateway } from "../../../src/service";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { cohortSmall, removeFolders, startService, type Service } from "../pipeline/harness";

const STREAMS = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

/** The pipeline as the gateway reads it, counting the reads an answer is built from. */
function counted(data: TwinDataReader): { data: TwinDataReader; reads: () => number } {
  let reads = 0;
  return {
    reads: () => reads,
    data: {
      holding: (twinId) => data.holding(twinId),
      version: (twinId) => (reads++, data.version(twinId)),
      records: (twinId, mask) => data.records(twinId, mask),
      readings: (twinId, query) => data.readings(twinId, query),
      revision: (twinId) => data.revision!(twinId),
    },
  };
}

/** The wearable bundle split in two by its observations (other resources in both halves). */
function halves(bundle: Bundle): [Bundle, Bundle] {
  const entries = bundle.entry ?? [];
  const observations = entries.filter((e) => e.resource?.resourceType === "Observation");
  const others = entries.filter((e) => e.resource?.resourceType !== "Observation");
  const half = Math.floor(observations.length / 2);
  return [
    { ...bundle, entry: [...others, ...observations.slice(0, half)] },
    { ...bundle, entry: [...others, ...observations.slice(half)] },
  ];
}

/**
 * The gateway's answer cache over the real pipeline (answer-cache.ts, TwinPipeline.revision): the same question is
 * answered from what was kept while the twin is unchanged, and never once new readings, anchors or device flags
 * changed what the answer is built from.
 */
describe("answer cache over TwinPipeline", function () {
  let service: Service;
  let dir: string;
  const gateways: Gateway[] = [];
  let second: Bundle;

  before(async () => {
    const cohort = await cohortSmall();
    service = await startService({ batchPolicy: { maxReadings: 4096, maxAgeMs: 60 * 60_000 } });
    const { pipeline, f } = service;
    const patient = cohort.patients[1];
    const [first, rest] = halves(patient.wearable);
    second = rest;
    await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
    await pipeline.ingestWearable(f.twinId, first, { deviceSigner: f.wearable });
    await pipeline.flush(f.twinId);
    await (
      await f.consent
        .connect(f.patient)
        .grant(f.twinId, f.clinician.address, STREAMS, Action.READ, Purpose.TREATMENT, 0, 2 ** 40 - 1)
    ).wait();
    dir = mkdtempSync(join(tmpdir(), "twinledger-answer-cache-"));
  });

  after(async () => {
    for (const gateway of gateways) await gateway.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await removeFolders(service?.folders);
  });

  async function open(data: TwinDataReader, answerCache?: false) {
    const { f } = service;
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const gateway = createGateway({
      data,
      consent: f.consent,
      registry: f.registry,
      chainId,
      dbPath: join(dir, `access-log-${gateways.length}.sqlite`),
      operator: f.hospital.address,
      ...(answerCache === false && { answerCache }),
    });
    gateways.push(gateway);
    const client = new GatewayClient({
      baseUrl: await gateway.listen(),
      signer: f.clinician,
      chainId,
      consentAddress: await f.consent.getAddress(),
      operator: f.hospital.address,
    });
    return async () => {
      const result = await client.query(
        f.twinId,
        "latest-vitals",
        {},
        { purpose: Purpose.TREATMENT, category: STREAMS },
      );
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      if (!result.ok) throw new Error("refused");
      expect((await verifyAnswer(result.body, { updateLog: f.updateLog })).failures).to.deep.equal([]);
      return result.body;
    };
  }

  it("the same question is answered from what was kept, logged each time; new readings and flags are seen at once", async () => {
    const { pipeline, f } = service;
    const { data, reads } = counted(pipeline);
    const ask = await open(data);

    const first = await ask();
    const again = await ask();
    expect(reads()).to.equal(1); // built once
    expect(again.logIndex).to.equal(first.logIndex + 1); // and still logged
    expect({ answer: again.answer, proofs: again.proofs }).to.deep.equal({
      answer: first.answer,
      proofs: first.proofs,
    });

    // Readings received are not in the twin's version before they are flushed: the same answer.
    await pipeline.ingestWearable(f.twinId, second, { deviceSigner: f.wearable });
    expect((await ask()).answer).to.deep.equal(first.answer);

    // Flushed (anchored, applied, committed): the next answer has them (regression: a kept answer is never stale).
    await pipeline.flush(f.twinId);
    const anchored = await ask();
    expect(anchored.answer).to.not.deep.equal(first.answer);
    expect(anchored.proofs.state!.version).to.be.greaterThan(first.proofs.state!.version);
    expect(Math.max(...anchored.proofs.readings!.map((p) => p.reading.at))).to.be.greaterThan(
      Math.max(...first.proofs.readings!.map((p) => p.reading.at)),
    );

    // The device flagged: its readings are set aside in the next answer.
    pipeline.setFlaggedDevices([f.wearable.address]);
    const flagged = await ask();
    expect(flagged.answer.setAside?.devices).to.deep.equal([f.wearable.address]);
    pipeline.setFlaggedDevices([]);
    expect((await ask()).answer).to.deep.equal(anchored.answer);
  });

  it("answerCache: false builds every answer", async () => {
    const { data, reads } = counted(service.pipeline);
    const ask = await open(data, false);
    const first = await ask();
    const again = await ask();
    expect(reads()).to.equal(2);
    expect(again.answer).to.deep.equal(first.answer);
  });
});
