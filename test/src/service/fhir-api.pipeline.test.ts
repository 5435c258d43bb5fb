import type { Bundle } from "@medplum/fhirtypes";
import { expect } from "chai";
import { ethers } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGateway, verifyAnswer, type Gateway, type QueryResponse } from "../../../src/service";
import { FhirRequestSigner } from "../../../src/service/fhir-api/authorization";
import { proofsOfBundle } from "../../../src/service/fhir-api/bundle";
import { FHIR_RESOURCE_TYPES } from "../../../src/service/smart-scopes";
import { importEsm } from "../../../src/esm";
import { ALL_CATEGORIES, Purpose } from "../../../src/vocabulary";
import { cohortSmall, removeFolders, startService, type Service } from "../pipeline/harness";

type FhirKit = typeof import("fhir-kit-client");

/** The FHIR read API over the real pipeline: a cohort patient's twin read by its owner with fhir-kit-client. */
describe("query gateway: FHIR R4 read API over TwinPipeline", function () {
  let service: Service;
  let gateway: Gateway;
  let dir: string;
  let client: InstanceType<FhirKit["Client"]>;

  before(async () => {
    const kit = await importEsm<FhirKit>("fhir-kit-client");
    const cohort = await cohortSmall();
    service = await startService({ batchPolicy: { maxReadings: 64, maxAgeMs: 60 * 60_000 } });
    const { pipeline, f } = service;
    const patient = cohort.patients[1];
    await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
    await pipeline.ingestWearable(f.twinId, patient.wearable, { deviceSigner: f.wearable });
    await pipeline.flush(f.twinId);
    dir = mkdtempSync(join(tmpdir(), "twinledger-fhir-pipeline-"));
    const chainId = (await ethers.provider.getNetwork()).chainId;
    gateway = createGateway({
      data: pipeline,
      consent: f.consent,
      registry: f.registry,
      updateLog: f.updateLog.connect(f.hospital),
      chainId,
      dbPath: join(dir, "access-log.sqlite"),
    });
    const baseUrl = `${await gateway.listen()}/fhir/r4`;
    const signer = new FhirRequestSigner({
      baseUrl,
      signer: f.patient,
      chainId,
      consentAddress: await f.consent.getAddress(),
      operator: f.hospital.address,
      twinId: f.twinId,
      purpose: Purpose.PERSONAL_USE,
    });
    client = new kit.Client({ baseUrl, requestSigner: (url, init) => signer.sign(url, init) });
  });

  after(async () => {
    await gateway?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await removeFolders(service?.folders);
  });

  it("every resource type, every page: the twin's records of that type, each proof verified on chain", async () => {
    const { f, pipeline } = service;
    const records = await pipeline.records(f.twinId, ALL_CATEGORIES);
    let seen = 0;
    let largest = 0;
    for (const resourceType of FHIR_RESOURCE_TYPES) {
      const keys: string[] = [];
      let page = (await client.search({ resourceType, searchParams: { _count: 5 } })) as unknown as Bundle | undefined;
      while (page !== undefined) {
        expect(page).to.not.have.property("total");
        const { proofs, logIndex } = proofsOfBundle(page);
        const answer = { queryType: "fhir-export", twinId: f.twinId, logIndex, proofs } as unknown as QueryResponse;
        const verdict = await verifyAnswer(answer, { updateLog: f.updateLog });
        expect(verdict.failures, resourceType).to.deep.equal([]);
        keys.push(...(page.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
        page = (await client.nextPage({ bundle: page as never })) as unknown as Bundle | undefined;
      }
      const expected = records.filter((p) => p.record.resource.resourceType === resourceType).map((p) => p.record.key);
      expect(keys, resourceType).to.deep.equal(expected);
      seen += keys.length;
      largest = Math.max(largest, keys.length);
    }
    expect(seen).to.be.greaterThan(10);
    expect(largest, "some type pages (over 5 resources)").to.be.greaterThan(5);
  });
});
