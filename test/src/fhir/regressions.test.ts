import { expect } from "chai";
import { Readable } from "stream";
import {
  FhirLimitError,
  exportBundle,
  ingest,
  ingestNdjson,
  ingestNdjsonStream,
  ingestResource,
  ingestStream,
  parseFhirJson,
  planReingest,
  rebuildRecord,
} from "../../../src/fhir";
import { clinicalLists } from "../../../src/twin/clinical";
import { ALL_CATEGORIES, DataCategory } from "../../../src/vocabulary";
import { byKey, collection, refused, vitalObservation } from "./helpers";

const LOINC = "http://loinc.org";
const UCUM = "http://unitsofmeasure.org";
const patient = (id = "p1", extra: Record<string, unknown> = {}) => ({ resourceType: "Patient", id, ...extra });

/** A vital-signs Observation with the given LOINC code and UCUM quantity. */
function vital(id: string, code: string, value: number, unit: string, extra: Record<string, unknown> = {}) {
  return vitalObservation({
    id,
    code: { coding: [{ system: LOINC, code }] },
    valueQuantity: { value, unit, system: UCUM, code: unit },
    ...extra,
  });
}

/** Issue 11: each defect has a test that fails on 9a6a5cd. */
describe("fhir: issue 11 regressions", () => {
  describe("1. tolerant where R4 is", () => {
    it("regression: a Coding without system is kept, its system unknown, with a warning", () => {
      const condition = {
        resourceType: "Condition",
        id: "c1",
        subject: { reference: "Patient/p1" },
        clinicalStatus: { coding: [{ code: "active" }] },
        code: { coding: [{ code: "44054006", display: "Diabetes" }] },
      };
      const result = ingest(collection([patient(), condition]));
      const record = byKey(result.records, "Condition/c1");
      expect(record).to.include({ code: "|44054006", display: "Diabetes", status: "active" });
      expect(result.warnings!.map((w) => w.path)).to.deep.equal([
        "Bundle.entry[1].resource.code.coding[0].system",
        "Bundle.entry[1].resource.clinicalStatus.coding[0].system",
      ]);
      expect(result.warnings!.every((w) => !w.message.includes("44054006"))).to.equal(true);
    });

    it("regression: an invalid OID is reported as an invalid OID", () => {
      const obs = vitalObservation({ performer: [{ reference: "urn:oid:1.02.3" }] });
      expect(refused(() => ingestResource(obs)).reason).to.contain("invalid OID");
      const coded = vitalObservation({ code: { coding: [{ system: "urn:oid:1..2", code: "x" }] } });
      expect(refused(() => ingestResource(coded)).reason).to.contain("invalid OID");
    });

    it("regression: a version-specific fullUrl is refused (bdl-8)", () => {
      const bundle = {
        resourceType: "Bundle",
        type: "collection",
        entry: [{ fullUrl: "https://ehr.example.org/fhir/Patient/p1/_history/2", resource: patient() }],
      };
      const error = refused(() => ingest(bundle));
      expect(error.path).to.equal("Bundle.entry[0].fullUrl");
      expect(error.reason).to.contain("bdl-8");
    });

    it("regression: a text-only Observation.code (R4 allows it) is accepted", () => {
      const obs = vitalObservation({
        code: { text: "Blood typing" },
        category: undefined,
        valueQuantity: undefined,
        valueString: "A+",
      });
      expect(
        ingest(
          collection([
            patient(),
            {
              ...obs,
              category: [
                {
                  coding: [
                    { system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" },
                  ],
                },
              ],
            },
          ]),
        ).records,
      ).to.have.length(2);
    });
  });

  describe("2. conditional references", () => {
    const transaction = {
      resourceType: "Bundle",
      type: "transaction",
      entry: [
        {
          fullUrl: "urn:uuid:11111111-1111-4111-8111-111111111111",
          resource: patient("p1", { identifier: [{ system: "http://hospital.example/mrn", value: "42" }] }),
          request: { method: "PUT", url: "Patient?identifier=http://hospital.example/mrn|42" },
        },
        {
          fullUrl: "urn:uuid:22222222-2222-4222-8222-222222222222",
          resource: vitalObservation({
            id: undefined,
            subject: { reference: "Patient?identifier=http://hospital.example/mrn|42" },
          }),
          request: { method: "POST", url: "Observation" },
        },
      ],
    };

    it("regression: a record with a conditional subject rebuilds alone (what ingestEmr re-checks)", () => {
      const result = ingest(transaction);
      const record = byKey(result.records, "Observation/22222222-2222-4222-8222-222222222222");
      // 9a6a5cd: the pipeline's decodeRecord calls ingestResource, which refuses the conditional reference.
      expect(refused(() => ingestResource({ ...record.resource })).reason).to.contain("conditional reference");
      const rebuilt = rebuildRecord(record.resource, record.key);
      expect(rebuilt.record.digest).to.equal(record.digest);
      expect(rebuilt.readings).to.have.length(1);
    });

    it("regression: errors carry the entry index", () => {
      const bad = structuredClone(transaction);
      (bad.entry[1].resource as Record<string, unknown>).valueQuantity = { value: "x" };
      const error = refused(() => ingest(bad));
      expect(error.entryIndex).to.equal(1);
      const rebuildError = refused(() =>
        rebuildRecord(bad.entry[1].resource, "Observation/22222222-2222-4222-8222-222222222222", { entryIndex: 1 }),
      );
      expect(rebuildError.entryIndex).to.equal(1);
      expect(rebuildError.message).to.contain("(entry 1)");
    });
  });

  describe("3. deep nesting", () => {
    it("regression: an extension nested 1,500 levels is a typed limit error, not a RangeError", () => {
      let extension: Record<string, unknown> = { url: "http://x", valueString: "leaf" };
      for (let i = 0; i < 1500; i++) extension = { url: "http://x", extension: [extension] };
      const obs = vitalObservation({ extension: [extension] });
      const error = refused(() => ingestResource(obs));
      expect(error).to.be.instanceOf(FhirLimitError);
      expect((error as FhirLimitError).limit).to.equal("maxDepth");
      const text = JSON.stringify(obs);
      expect(() => parseFhirJson(text)).to.throw(FhirLimitError);
    });

    it("regression: a reference nested deep is still found (the walk is iterative)", () => {
      let extension: Record<string, unknown> = { url: "http://x", valueReference: { reference: "not a reference" } };
      for (let i = 0; i < 25; i++) extension = { url: "http://x", extension: [extension] };
      expect(refused(() => ingestResource(vitalObservation({ extension: [extension] }))).reason).to.contain(
        "not a well-formed",
      );
    });
  });

  describe("4. one twin, one patient", () => {
    it("regression: an Observation for another patient is refused with its path", () => {
      const error = refused(() =>
        ingest(collection([patient("p1"), vitalObservation({ subject: { reference: "Patient/someone-else" } })])),
      );
      expect(error.path).to.equal("Bundle.entry[1].resource.subject.reference");
      expect(error.reason).to.contain("another patient");
    });

    it("regression: two Patients are refused", () => {
      const error = refused(() => ingest(collection([patient("p1"), patient("p2")])));
      expect(error.path).to.equal("Bundle.entry[1].resource");
      expect(error.reason).to.contain("second Patient");
    });

    it("regression: a Patient-less bundle needs IngestOptions.patient, and every subject must match it", () => {
      const bundle = collection([vitalObservation()]);
      expect(refused(() => ingest(bundle)).reason).to.contain("IngestOptions.patient");
      expect(ingest(bundle, { patient: "Patient/p1" })).to.include({ patient: "Patient/p1" });
      expect(ingest(bundle, { patient: "https://ehr.example.org/fhir/Patient/p1" }).records).to.have.length(1);
      expect(refused(() => ingest(bundle, { patient: "Patient/p2" })).reason).to.contain("another patient");
      expect(refused(() => ingest(collection([patient("p1")]), { patient: "Patient/p2" })).reason).to.contain(
        "not the twin's patient",
      );
    });

    it("regression: a subject that is not a Patient, or names none, is refused for a record", () => {
      const group = vitalObservation({ subject: { reference: "Group/g1" } });
      expect(refused(() => ingest(collection([patient(), group]))).reason).to.contain("does not resolve");
      const displayOnly = vitalObservation({ subject: { display: "John" } });
      expect(refused(() => ingest(collection([patient(), displayOnly]))).path).to.equal(
        "Bundle.entry[1].resource.subject",
      );
    });
  });

  describe("5. readings", () => {
    const readings = (...resources: Record<string, unknown>[]) =>
      ingest(collection([patient(), ...resources])).readings.map((r) => [r.sign, r.value, r.unit]);

    it("regression: BMI 39156-5, oral temperature 8331-1 and body weight 3141-9 become readings", () => {
      expect(
        readings(
          vital("bmi", "39156-5", 24.5, "kg/m2"),
          vital("oral", "8331-1", 98.6, "[degF]"),
          vital("w", "3141-9", 150, "[lb_av]"),
        ),
      ).to.deep.equal([
        ["bmi", 24.5, "kg/m2"],
        ["bodyTemperature", 37, "Cel"],
        ["bodyWeight", 68.04, "kg"],
      ]);
    });

    it("regression: the rest of the vital-signs profile and its alternates", () => {
      const bp = (id: string, panel: string) =>
        vitalObservation({
          id,
          code: { coding: [{ system: LOINC, code: panel }] },
          valueQuantity: undefined,
          component: [
            {
              code: { coding: [{ system: LOINC, code: "8480-6" }] },
              valueQuantity: { value: 16, system: UCUM, code: "kPa" },
            },
            {
              code: { coding: [{ system: LOINC, code: "8462-4" }] },
              valueQuantity: { value: 80, system: UCUM, code: "mm[Hg]" },
            },
          ],
        });
      expect(
        readings(
          vital("hc", "9843-4", 35, "cm"),
          vital("spo2", "59408-5", 0.97, "1"),
          vital("rr", "9279-1", 16, "/min"),
          vital("ht", "8302-2", 70, "[in_i]"),
          bp("bp1", "85354-9"),
          bp("bp2", "55284-4"),
        ),
      ).to.deep.equal([
        ["headCircumference", 35, "cm"],
        ["oxygenSaturation", 97, "%"],
        ["respiratoryRate", 16, "/min"],
        ["bodyHeight", 177.8, "cm"],
        ["systolic", 120.01, "mm[Hg]"],
        ["diastolic", 80, "mm[Hg]"],
        ["systolic", 120.01, "mm[Hg]"],
        ["diastolic", 80, "mm[Hg]"],
      ]);
    });
  });

  describe("6. names", () => {
    const medication = {
      resourceType: "Medication",
      id: "m1",
      code: {
        coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "197361", display: "Amlodipine 5 MG" }],
      },
    };
    const statement = (ref: string, extra: Record<string, unknown> = {}) => ({
      resourceType: "MedicationStatement",
      id: "ms1",
      status: "active",
      medicationReference: { reference: ref },
      subject: { reference: "Patient/p1" },
      ...extra,
    });

    it("regression: a medication's name comes from the referenced Medication (bundle entry, either order)", () => {
      const result = ingest(collection([patient(), statement("Medication/m1"), medication]));
      expect(byKey(result.records, "MedicationStatement/ms1")).to.include({
        display: "Amlodipine 5 MG",
        code: "http://www.nlm.nih.gov/research/umls/rxnorm|197361",
      });
    });

    it("regression: ... or a contained one", () => {
      const contained = statement("#med", { contained: [{ ...medication, id: "med" }] });
      expect(ingest(collection([patient(), contained])).records[1]).to.include({ display: "Amlodipine 5 MG" });
    });

    it("regression: the allergen is reaction.substance when code is absent", () => {
      const allergy = {
        resourceType: "AllergyIntolerance",
        id: "a1",
        patient: { reference: "Patient/p1" },
        reaction: [
          {
            substance: { coding: [{ system: "http://snomed.info/sct", code: "227493005", display: "Cashew nuts" }] },
            manifestation: [{ text: "Hives" }],
          },
        ],
      };
      expect(ingest(collection([patient(), allergy])).records[1]).to.include({
        display: "Cashew nuts",
        code: "http://snomed.info/sct|227493005",
      });
    });

    it('regression: a placeholder code.text ("Null") gives way to coding.display; a real text wins', () => {
      const condition = (text: string) => ({
        resourceType: "Condition",
        id: "c1",
        subject: { reference: "Patient/p1" },
        clinicalStatus: {
          coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }],
        },
        code: { text, coding: [{ system: "http://snomed.info/sct", code: "38341003", display: "Hypertension" }] },
      });
      expect(ingest(collection([patient(), condition("Null")])).records[1].display).to.equal("Hypertension");
      expect(ingest(collection([patient(), condition("High blood pressure")])).records[1].display).to.equal(
        "High blood pressure",
      );
    });

    it("regression: a condition without clinicalStatus stays unknown, not active", () => {
      const condition = {
        resourceType: "Condition",
        id: "pneumonia",
        subject: { reference: "Patient/p1" },
        onsetDateTime: "1998-02-01",
        code: { coding: [{ system: "http://snomed.info/sct", code: "233604007", display: "Pneumonia" }] },
      };
      const { records } = ingest(collection([patient(), condition]));
      expect(records[1].status).to.equal("unknown");
      expect(clinicalLists(records).problems[0].state).to.equal("unknown");
    });
  });

  describe("7. incomplete exports", () => {
    it("regression: an error OperationOutcome in a bundle warns that the export is incomplete", () => {
      const outcome = {
        resourceType: "OperationOutcome",
        id: "oo",
        issue: [{ severity: "error", code: "too-costly", diagnostics: "Too many results" }],
      };
      const bundle = {
        resourceType: "Bundle",
        type: "searchset",
        entry: [
          { fullUrl: "https://ehr.example.org/fhir/Patient/p1", resource: patient(), search: { mode: "match" } },
          { fullUrl: "urn:uuid:33333333-3333-4333-8333-333333333333", resource: outcome, search: { mode: "outcome" } },
        ],
      };
      const result = ingest(bundle);
      expect(result.incomplete).to.equal(true);
      expect(result.warnings!.map((w) => w.message).join()).to.contain("incomplete");
    });
  });

  describe("8. size", () => {
    it("regression: a 50 MB string is refused by the string limit (typed), from an object, text or a stream", async () => {
      const huge = "x".repeat(50 * 1024 * 1024);
      const condition = {
        resourceType: "Condition",
        id: "c1",
        subject: { reference: "Patient/p1" },
        note: [{ text: huge }],
      };
      const error = refused(() => ingestResource(condition));
      expect(error).to.be.instanceOf(FhirLimitError);
      expect((error as FhirLimitError).limit).to.equal("maxStringLength");
      expect(error.path).to.equal("Condition.note[0].text");
      const text = JSON.stringify(condition);
      expect(() => parseFhirJson(text, { maxInputBytes: 1024 * 1024 })).to.throw(FhirLimitError);
      let streamed: unknown;
      try {
        await ingestStream(Readable.from([text]));
      } catch (e) {
        streamed = e;
      }
      expect(streamed).to.be.instanceOf(FhirLimitError);
    });

    it("regression: entry count and resource size are limited, configurably", () => {
      const bundle = collection([patient(), vitalObservation(), vitalObservation({ id: "hr-2" })]);
      expect((refused(() => ingest(bundle, { limits: { maxEntries: 2 } })) as FhirLimitError).limit).to.equal(
        "maxEntries",
      );
      expect((refused(() => ingest(bundle, { limits: { maxResourceBytes: 100 } })) as FhirLimitError).limit).to.equal(
        "maxResourceBytes",
      );
    });

    it("regression: a streamed Bundle gives the same records as an in-memory one", async () => {
      const bundle = collection([patient(), vitalObservation(), vitalObservation({ id: "hr-2" })]);
      const text = JSON.stringify(bundle);
      const chunks = text.match(/[\s\S]{1,7}/g)!;
      const streamed = await ingestStream(Readable.from(chunks));
      expect(streamed).to.deep.equal(ingest(bundle));
    });

    it("regression: NDJSON, one resource a line, errors with line numbers", async () => {
      const text = [JSON.stringify(patient()), "", JSON.stringify(vitalObservation()), "{not json"].join("\n");
      const error = refused(() => ingestNdjson(text));
      expect(error.line).to.equal(4);
      expect(error.message).to.contain("(line 4)");
      const skipped = ingestNdjson(text, { invalidLines: "skip" });
      expect(skipped.records.map((r) => r.key)).to.deep.equal(["Patient/p1", "Observation/hr-1"]);
      expect(skipped.rejected).to.deep.equal([{ line: 4, path: "$", reason: "not well-formed JSON" }]);
      const streamed = await ingestNdjsonStream(Readable.from([text.slice(0, 50), text.slice(50)]), {
        invalidLines: "skip",
      });
      expect(streamed.records.map((r) => r.key)).to.deep.equal(["Patient/p1", "Observation/hr-1"]);
    });
  });

  describe("9. re-ingest", () => {
    it("regression: the same content gives the same digest; a change gives another", () => {
      const bundle = collection([patient(), vitalObservation()]);
      const first = ingest(bundle).records;
      const held = new Map(first.map((r) => [r.key, r.digest!]));
      // A server re-serving the same content bumps versionId/lastUpdated and may reorder keys.
      const again = collection([
        patient("p1", { meta: { versionId: "7", lastUpdated: "2025-01-01T00:00:00Z" } }),
        Object.fromEntries(Object.entries(vitalObservation()).reverse()),
      ]);
      expect(planReingest(held, ingest(again).records)).to.deep.equal({
        added: [],
        changed: [],
        unchanged: ["Patient/p1", "Observation/hr-1"],
      });
      const changed = ingest(
        collection([patient(), vitalObservation({ valueQuantity: { value: 90, system: UCUM, code: "/min" } })]),
      );
      const plan = planReingest(held, changed.records);
      expect(plan.changed.map((r) => r.key)).to.deep.equal(["Observation/hr-1"]);
      expect(plan.unchanged).to.deep.equal(["Patient/p1"]);
    });
  });

  describe("export", () => {
    it("regression: the export validates with ingest's checks, and round-trips to the same records", () => {
      const medication = {
        resourceType: "Medication",
        id: "m1",
        code: {
          coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "197361", display: "Amlodipine" }],
        },
      };
      const statement = {
        resourceType: "MedicationStatement",
        id: "ms1",
        status: "active",
        medicationReference: { reference: "Medication/m1" },
        subject: { reference: "Patient/p1" },
      };
      const { records } = ingest(collection([patient(), statement, medication, vitalObservation()]));
      const exported = exportBundle(records, ALL_CATEGORIES);
      expect(ingest(exported).records).to.deep.equal(records);
      const broken = [
        { ...records[3], resource: { ...records[3].resource, status: "bogus" } },
      ] as unknown as typeof records;
      refused(() => exportBundle(broken, DataCategory.VITALS));
    });
  });
});
