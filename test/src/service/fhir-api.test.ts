import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Bundle, OperationOutcome, Resource } from "@medplum/fhirtypes";
import { expect } from "chai";
import { ethers } from "hardhat";
import { toUtf8Bytes } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { contentHash } from "../../../src/crypto/content-hash";
import type { TwinRecord } from "../../../src/fhir/records";
import type { ProvenRecord } from "../../../src/pipeline/reader";
import { anchorRecordBatch } from "../../../src/pipeline/record-anchoring";
import { verifyAnswer, type QueryResponse } from "../../../src/service";
import { FhirRequestSigner } from "../../../src/service/fhir-api/authorization";
import { EXTENSION, proofsOfBundle } from "../../../src/service/fhir-api/bundle";
import { importEsm } from "../../../src/esm";
import { cidOf } from "../../../src/store/cid";
import { Action, ALL_CATEGORIES, DataCategory, Purpose, type DataCategoryBit } from "../../../src/vocabulary";
import { procedure } from "../twin/builders";
import { FakeTwinData, gatewayFixture, GatewayHarness, grant } from "./harness";

/** fhir-kit-client is an ES module only: loaded with a real dynamic import (ts-node compiles to CommonJS). */
type FhirKit = typeof import("fhir-kit-client");

const OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";

function observation(id: string, category: DataCategoryBit, code: string, loinc: string, at: string): TwinRecord {
  return {
    key: `Observation/${id}`,
    kind: category === DataCategory.LABS ? "lab" : "vital",
    category,
    effectiveAt: at,
    code: `http://loinc.org|${loinc}`,
    status: "final",
    resource: {
      resourceType: "Observation",
      id,
      status: "final",
      category: [{ coding: [{ system: OBSERVATION_CATEGORY, code }] }],
      code: { coding: [{ system: "http://loinc.org", code: loinc }] },
      subject: { reference: "Patient/p1" },
      effectiveDateTime: at,
      valueQuantity: { value: 70, unit: "/min", system: "http://unitsofmeasure.org", code: "/min" },
    },
  };
}

/** The gateway fixture plus Observations (a lab, two vitals, a wearable one) and a procedure, anchored on chain. */
async function fhirFixture() {
  const f = await gatewayFixture();
  const emrRecords = [
    observation("lab1", DataCategory.LABS, "laboratory", "4548-4", "2025-03-01T09:00:00Z"),
    observation("hr1", DataCategory.VITALS, "vital-signs", "8867-4", "2025-01-10T09:00:00Z"),
    observation("hr2", DataCategory.VITALS, "vital-signs", "8867-4", "2025-06-10T09:00:00Z"),
    procedure("pr1", "2024-11-02"),
  ];
  const wearableRecords = [observation("w1", DataCategory.WEARABLE_STREAMS, "vital-signs", "8867-4", "2025-06-11")];
  const anchorAll = async (source: HardhatEthersSigner, records: TwinRecord[]): Promise<ProvenRecord[]> => {
    const stored = records.map((record) => {
      const envelope = toUtf8Bytes(`envelope:${record.key}`);
      return { record, category: record.category, contentHash: contentHash(envelope), cid: cidOf(envelope) };
    });
    const batch = await anchorRecordBatch(f.updateLog, source, f.twinId, stored);
    return batch.anchors.map((anchor, i) => ({ record: records[i], anchor }));
  };
  const proven = [
    ...(await f.data.records(f.twinId, ALL_CATEGORIES)),
    ...(await anchorAll(f.emr, emrRecords)),
    ...(await anchorAll(f.wearable, wearableRecords)),
  ];
  const data = new FakeTwinData();
  const { version, anchor } = f.data.version(f.twinId);
  data.set(f.twinId, { version, anchor, records: proven, readings: [] });
  return { ...f, data };
}

describe("query gateway: FHIR R4 read API", function () {
  let h: GatewayHarness;
  let kit: FhirKit;
  let base: string;

  const READ_EMR =
    DataCategory.CONDITIONS |
    DataCategory.MEDICATIONS |
    DataCategory.ALLERGIES |
    DataCategory.LABS |
    DataCategory.VITALS;

  before(async () => {
    kit = await importEsm<FhirKit>("fhir-kit-client");
    const f = await loadFixture(fhirFixture);
    // The origin is the listening address, so that the `next` links the gateway writes are reachable.
    h = new GatewayHarness(f, { data: f.data, origin: undefined });
    await h.open();
    base = `${h.url}/fhir/r4`;
    await grant(f, f.clinician.address, { categories: READ_EMR, actions: Action.READ, purposes: Purpose.TREATMENT });
  });
  after(async () => h.close());

  const signerFor = (reader: HardhatEthersSigner, twinId = h.f.twinId, purpose: number = Purpose.TREATMENT) =>
    new FhirRequestSigner({
      baseUrl: base,
      signer: reader,
      chainId: h.f.chainId,
      consentAddress: h.f.consentAddress,
      operator: h.f.hospital.address,
      twinId,
      purpose,
    });

  const clientFor = (reader: HardhatEthersSigner, twinId?: string) => {
    const signer = signerFor(reader, twinId);
    return new kit.Client({ baseUrl: base, requestSigner: (url, init) => signer.sign(url, init) });
  };

  /** A signed GET, answered as status, headers and JSON. */
  const get = async (reader: HardhatEthersSigner, path: string, twinId?: string, init: RequestInit = {}) => {
    const url = `${base}/${path}`;
    const authorization = await signerFor(reader, twinId).authorization(url);
    const response = await fetch(url, { ...init, headers: { authorization, ...(init.headers ?? {}) } });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  const ids = (bundle: Bundle): string[] =>
    (bundle.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
  const outcomeOf = (text: string) => JSON.parse(text) as OperationOutcome;

  describe("searches with fhir-kit-client", () => {
    it("Condition: a searchset of the twin's conditions, no total, each entry's anchor verified on chain", async () => {
      const bundle = (await clientFor(h.f.clinician).search({
        resourceType: "Condition",
        searchParams: { patient: "Patient/p1" },
      })) as unknown as Bundle;
      expect(bundle.resourceType).to.equal("Bundle");
      expect(bundle.type).to.equal("searchset");
      expect(bundle).to.not.have.property("total");
      expect(ids(bundle)).to.deep.equal(["Condition/c1", "Condition/c2"]);
      expect(bundle.entry![0].search).to.deep.equal({ mode: "match" });
      expect(bundle.entry![0].fullUrl).to.equal(`${base}/Condition/c1`);
      expect(bundle.entry![0].extension![0].url).to.equal(EXTENSION.record);

      const { proofs, logIndex } = proofsOfBundle(bundle);
      expect(logIndex).to.be.a("number");
      const response = {
        queryType: "fhir-export",
        twinId: h.f.twinId,
        reader: h.f.clinician.address,
        category: DataCategory.CONDITIONS,
        purpose: Purpose.TREATMENT,
        logIndex: logIndex!,
        answer: { categories: DataCategory.CONDITIONS, refusedCategories: 0, bundle },
        proofs,
      } as QueryResponse;
      const verdict = await verifyAnswer(response, { updateLog: h.f.updateLog });
      expect(verdict.failures).to.deep.equal([]);
      expect(verdict.checked.records).to.equal(2);
      expect(verdict.checked.state).to.equal(true);
    });

    it("paging: _count and next links over the allowed matches only, each page signed anew", async () => {
      const client = clientFor(h.f.clinician);
      const first = (await client.search({
        resourceType: "Observation",
        searchParams: { _count: 2 },
      })) as unknown as Bundle;
      expect(ids(first)).to.deep.equal(["Observation/lab1", "Observation/hr1"]);
      const next = first.link?.find((l) => l.relation === "next");
      expect(next?.url).to.match(/_offset=2/);
      const second = (await client.nextPage({ bundle: first as never })) as unknown as Bundle;
      // The wearable Observation is not granted: not counted, no further page.
      expect(ids(second)).to.deep.equal(["Observation/hr2"]);
      expect(second.link?.some((l) => l.relation === "next")).to.equal(false);
      expect(second).to.not.have.property("total");
    });

    it("code, date (prefixes, a range), category and _id", async () => {
      const client = clientFor(h.f.clinician);
      const search = async (searchParams: Record<string, string | string[]>) =>
        ids((await client.search({ resourceType: "Observation", searchParams })) as unknown as Bundle);
      expect(await search({ code: "http://loinc.org|8867-4" })).to.deep.equal(["Observation/hr1", "Observation/hr2"]);
      expect(await search({ code: "4548-4" })).to.deep.equal(["Observation/lab1"]);
      expect(await search({ code: "http://snomed.info/sct|4548-4" })).to.deep.equal([]);
      expect(await search({ date: ["ge2025-01-01", "lt2025-06"] })).to.deep.equal([
        "Observation/lab1",
        "Observation/hr1",
      ]);
      expect(await search({ date: "gt2025-03-01" })).to.deep.equal(["Observation/hr2"]);
      expect(await search({ date: "le2025-03-01" })).to.deep.equal(["Observation/lab1", "Observation/hr1"]);
      expect(await search({ date: "2025-06-10" })).to.deep.equal(["Observation/hr2"]);
      expect(await search({ date: "eq2025" })).to.deep.equal([
        "Observation/lab1",
        "Observation/hr1",
        "Observation/hr2",
      ]);
      expect(await search({ category: "vital-signs" })).to.deep.equal(["Observation/hr1", "Observation/hr2"]);
      expect(await search({ category: `${OBSERVATION_CATEGORY}|laboratory` })).to.deep.equal(["Observation/lab1"]);
      expect(await search({ _id: "hr2,lab1" })).to.deep.equal(["Observation/lab1", "Observation/hr2"]);
    });

    it("read: one resource with its proofs in meta; absent and not allowed answer alike (404)", async () => {
      const client = clientFor(h.f.clinician);
      const c1 = (await client.read({ resourceType: "Condition", id: "c1" })) as Resource;
      expect(c1.resourceType).to.equal("Condition");
      expect(c1.meta?.extension?.map((e) => e.url)).to.include.members([EXTENSION.record, EXTENSION.logIndex]);
      const absent = await get(h.f.clinician, "Observation/nothing");
      const hidden = await get(h.f.clinician, "Observation/w1"); // wearable: not granted
      expect(absent.status).to.equal(404);
      expect(hidden.status).to.equal(404);
      expect(hidden.text).to.equal(absent.text);
    });

    it("the CapabilityStatement (unsigned) lists the seven resource types", async () => {
      const statement = (await clientFor(h.f.clinician).capabilityStatement()) as unknown as {
        fhirVersion: string;
        rest: { resource: { type: string }[] }[];
      };
      expect(statement.fhirVersion).to.equal("4.0.1");
      expect(statement.rest[0].resource.map((r) => r.type)).to.have.length(7);
    });
  });

  describe("SMART v2 scopes", () => {
    it("$smart-scopes: the scopes the grant holds for the signed purpose", async () => {
      const held = await get(h.f.clinician, "$smart-scopes");
      expect(held.status).to.equal(200);
      const body = JSON.parse(held.text) as { scopes: string[]; scope: string; categories: number };
      expect(body.scopes).to.deep.equal([
        "patient/Condition.rs",
        "patient/MedicationRequest.rs",
        "patient/AllergyIntolerance.rs",
        "patient/Observation.rs?category=laboratory",
        "patient/Observation.rs?category=vital-signs",
      ]);
      expect(body.scope).to.equal(body.scopes.join(" "));
      expect(body.categories).to.equal(READ_EMR);
    });

    it("a request beyond the scopes: 403 OperationOutcome naming the missing scope", async () => {
      const wearable = await get(h.f.clinician, "Observation?category=wearable");
      expect(wearable.status).to.equal(403);
      const outcome = outcomeOf(wearable.text);
      expect(outcome.resourceType).to.equal("OperationOutcome");
      expect(outcome.issue[0].code).to.equal("forbidden");
      expect(outcome.issue[0].details?.coding?.[0].code).to.equal("category-not-granted");
      expect(outcome.issue[0].diagnostics).to.contain("patient/Observation.rs?category=wearable");
      expect(wearable.headers.get("www-authenticate")).to.contain('scope="patient/Observation.rs?category=wearable"');

      const procedures = await get(h.f.clinician, "Procedure");
      expect(procedures.status).to.equal(403);
      expect(outcomeOf(procedures.text).issue[0].diagnostics).to.contain("patient/Procedure.rs");
    });

    it("another purpose holds no scope: refused, naming the scopes the request needs", async () => {
      const url = `${base}/Condition`;
      const authorization = await signerFor(h.f.clinician, h.f.twinId, Purpose.RESEARCH).authorization(url);
      const response = await fetch(url, { headers: { authorization } });
      expect(response.status).to.equal(403);
      const outcome = (await response.json()) as OperationOutcome;
      expect(outcome.issue[0].details?.coding?.[0].code).to.equal("wrong-purpose");
      expect(outcome.issue[0].diagnostics).to.contain("patient/Condition.rs");
    });
  });

  describe("nothing the consent hides", () => {
    it("a stranger cannot tell a twin held here from one that does not exist: one refusal for both", async () => {
      const unknownTwin = ethers.id("no such twin");
      for (const path of ["Condition", "Observation?category=laboratory", "$smart-scopes", "Patient/p1"]) {
        const held = await get(h.f.researcher, path);
        const none = await get(h.f.researcher, path, unknownTwin);
        expect(held.status, path).to.equal(403);
        expect(none.status, path).to.equal(held.status);
        expect(none.text, path).to.equal(held.text);
        expect(none.headers.get("www-authenticate"), path).to.equal(held.headers.get("www-authenticate"));
        expect(outcomeOf(held.text).issue[0].details?.coding?.[0].code).to.equal("no-access");
      }
      // Nor is a refusal of a stranger an entry under the twin.
      expect(
        held((await h.gateway.accessLog.pageOf(h.f.twinId, { limit: 500 })).entries, h.f.researcher.address),
      ).to.equal(0);
    });

    it("the owner holds every scope and reads the wearable Observations the clinician may not", async () => {
      const held = JSON.parse((await get(h.f.patient, "$smart-scopes")).text) as { scopes: string[] };
      expect(held.scopes).to.have.length(9);
      const wearable = await get(h.f.patient, "Observation?category=wearable");
      expect(wearable.status).to.equal(200);
      expect(ids(JSON.parse(wearable.text) as Bundle)).to.deep.equal(["Observation/w1"]);
    });

    it("the twin's grantee is refused alike on a twin this gateway does not hold", async () => {
      const none = await get(h.f.clinician, "Condition", ethers.id("another twin"));
      const stranger = await get(h.f.researcher, "Condition");
      expect(none.status).to.equal(403);
      expect(none.text).to.equal(stranger.text);
    });
  });

  describe("the signed request", () => {
    it("no Authorization: 401; signed for another URL: 400 params-mismatch; replayed: 409", async () => {
      const missing = await fetch(`${base}/Condition`);
      expect(missing.status).to.equal(401);
      expect(((await missing.json()) as OperationOutcome).issue[0].code).to.equal("login");

      const signer = signerFor(h.f.clinician);
      const authorization = await signer.authorization(`${base}/Condition?code=x`);
      const other = await fetch(`${base}/Condition?code=y`, { headers: { authorization } });
      expect(other.status).to.equal(400);
      expect(((await other.json()) as OperationOutcome).issue[0].details?.coding?.[0].code).to.equal("params-mismatch");

      const once = await fetch(`${base}/Condition?code=x`, { headers: { authorization } });
      expect(once.status).to.equal(200);
      const again = await fetch(`${base}/Condition?code=x`, { headers: { authorization } });
      expect(again.status).to.equal(409);
    });

    it("the audience and the freshness window are checked as on /v1/query", async () => {
      const url = `${base}/Condition`;
      const code = async (authorization: string) => {
        const response = await fetch(url, { headers: { authorization } });
        return [response.status, ((await response.json()) as OperationOutcome).issue[0].details?.coding?.[0].code];
      };
      const elsewhere = new FhirRequestSigner({
        baseUrl: base,
        origin: "https://elsewhere.test",
        signer: h.f.clinician,
        chainId: h.f.chainId,
        consentAddress: h.f.consentAddress,
        operator: h.f.hospital.address,
        twinId: h.f.twinId,
        purpose: Purpose.TREATMENT,
      });
      expect(await code(await elsewhere.authorization(url))).to.deep.equal([401, "wrong-audience"]);
      const stale = Math.floor(Date.now() / 1000) - 3600;
      expect(await code(await signerFor(h.f.clinician).authorization(url, { issuedAt: stale }))).to.deep.equal([
        401,
        "expired-request",
      ]);
      const category = DataCategory.CONDITIONS | DataCategory.MEDICATIONS;
      expect(await code(await signerFor(h.f.clinician).authorization(url, { category }))).to.deep.equal([
        400,
        "invalid-category",
      ]);
    });

    it("unknown search parameters, bad dates and unknown types are refused as OperationOutcomes", async () => {
      for (const [path, status] of [
        ["Condition?name=x", 400],
        ["Condition?date=yesterday", 400],
        ["Observation?category=survey", 400],
        ["Encounter", 404],
      ] as const) {
        const url = `${base}/${path}`;
        const response = await fetch(url, { headers: { authorization: "TwinLedger e30" } });
        expect(response.status, path).to.equal(status);
        expect(((await response.json()) as OperationOutcome).resourceType, path).to.equal("OperationOutcome");
      }
    });
  });
});

describe("query gateway: FHIR R4 read API, an erased twin", function () {
  it("answers a grantee of an erased twin as it answers a stranger of any twin", async () => {
    const f = await loadFixture(fhirFixture);
    const data = new FakeTwinData();
    const { version, anchor } = f.data.version(f.twinId);
    data.set(f.twinId, {
      version,
      anchor,
      records: [...(await f.data.records(f.twinId, ALL_CATEGORIES))],
      readings: [],
    });
    const h = new GatewayHarness(f, { data, origin: undefined });
    await h.open();
    try {
      await grant(f, f.clinician.address, {
        categories: DataCategory.CONDITIONS,
        actions: Action.READ,
        purposes: Purpose.TREATMENT,
      });
      const base = `${h.url}/fhir/r4`;
      const get = async (reader: HardhatEthersSigner, twinId: string) => {
        const url = `${base}/Condition`;
        const signer = new FhirRequestSigner({
          baseUrl: base,
          signer: reader,
          chainId: f.chainId,
          consentAddress: f.consentAddress,
          operator: f.hospital.address,
          twinId,
          purpose: Purpose.TREATMENT,
        });
        const response = await fetch(url, { headers: { authorization: await signer.authorization(url) } });
        return { status: response.status, text: await response.text() };
      };
      expect((await get(f.clinician, f.twinId)).status).to.equal(200);
      data.holdings.set(f.twinId.toLowerCase(), "erased");
      const erased = await get(f.clinician, f.twinId);
      const stranger = await get(f.researcher, ethers.id("nowhere"));
      expect(erased.status).to.equal(403);
      expect(erased.text).to.equal(stranger.text);
    } finally {
      await h.close();
    }
  });
});

function held(entries: readonly { entry: { reader: string } }[], reader: string): number {
  return entries.filter((e) => e.entry.reader === reader).length;
}
