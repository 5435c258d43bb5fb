import { expect } from "chai";
import { ethers } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createGateway,
  GatewayClient,
  SUMMARY_CATEGORIES,
  verifyAccessLog,
  verifyAnswer,
  type Gateway,
} from "../../../src/service";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { cohortSmall, removeFolders, startService, type Service } from "../pipeline/harness";

/** The gateway over the real pipeline (src/pipeline TwinPipeline): ingest, anchor, commit, then query and verify. */
describe("query gateway over TwinPipeline", function () {
  let service: Service;
  let gateway: Gateway;
  let client: GatewayClient;
  let dir: string;

  before(async () => {
    const cohort = await cohortSmall();
    service = await startService({ batchPolicy: { maxReadings: 64, maxAgeMs: 60 * 60_000 } });
    const { pipeline, f } = service;
    const patient = cohort.patients[1];
    await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
    await pipeline.ingestWearable(f.twinId, patient.wearable, { deviceSigner: f.wearable });
    await pipeline.flush(f.twinId);
    await (
      await f.consent
        .connect(f.patient)
        .grant(f.twinId, f.clinician.address, SUMMARY_CATEGORIES, Action.READ, Purpose.TREATMENT, 0, 2 ** 40 - 1)
    ).wait();

    dir = mkdtempSync(join(tmpdir(), "twinledger-gateway-pipeline-"));
    gateway = createGateway({
      data: pipeline,
      consent: f.consent,
      registry: f.registry,
      updateLog: f.updateLog.connect(f.hospital),
      chainId: (await ethers.provider.getNetwork()).chainId,
      dbPath: join(dir, "access-log.sqlite"),
    });
    client = new GatewayClient({
      baseUrl: await gateway.listen(),
      signer: f.clinician,
      chainId: (await ethers.provider.getNetwork()).chainId,
      consentAddress: await f.consent.getAddress(),
      operator: f.hospital.address,
    });
  });

  after(async () => {
    await gateway?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await removeFolders(service?.folders);
  });

  for (const [queryType, params] of [
    ["summary", {}],
    ["latest-vitals", {}],
    ["conditions-medications", {}],
    ["vitals-series", { sign: "heartRate" }],
    ["vitals-series", { sign: "heartRate", bucket: "hour" }],
  ] as const) {
    it(`${queryType} ${JSON.stringify(params)}: answered, and every proof verifies on chain`, async () => {
      const result = await client.query(service.f.twinId, queryType, params, { purpose: Purpose.TREATMENT });
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      if (!result.ok) return;
      expect(result.body.proofs.state).to.not.equal(null);
      const verdict = await verifyAnswer(result.body, { updateLog: service.f.updateLog });
      expect(verdict.failures).to.deep.equal([]);
    });
  }

  it("fhir-export of the granted EMR categories: records proven; the access log anchors and verifies", async () => {
    const { f } = service;
    const category = DataCategory.CONDITIONS | DataCategory.MEDICATIONS | DataCategory.ALLERGIES;
    const result = await client.query(f.twinId, "fhir-export", {}, { purpose: Purpose.TREATMENT, category });
    expect(result.ok, JSON.stringify(result.body)).to.equal(true);
    if (!result.ok) return;
    expect(result.body.answer.bundle.resourceType).to.equal("Bundle");
    expect(result.body.proofs.records?.length).to.equal(result.body.answer.bundle.entry?.length ?? 0);
    expect((await verifyAnswer(result.body, { updateLog: f.updateLog })).valid).to.equal(true);

    await gateway.anchorNow();
    const patientClient = new GatewayClient({
      baseUrl: gateway.app.listeningOrigin,
      signer: f.patient,
      chainId: (await ethers.provider.getNetwork()).chainId,
      consentAddress: await f.consent.getAddress(),
      operator: f.hospital.address,
    });
    const log = await patientClient.accessLog(f.twinId);
    if (!log.ok) throw new Error(JSON.stringify(log.body));
    expect(log.body.entries.filter((e) => e.entry.decision === "allowed").length).to.be.greaterThan(5);
    expect(await verifyAccessLog(log.body, { updateLog: f.updateLog, operator: f.hospital.address })).to.deep.equal([]);
  });
});
