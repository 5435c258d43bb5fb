import { expect } from "chai";
import { TwinLedgerError } from "../../../src/errors";
import {
  FhirValidationError,
  ingest,
  ingestBundle,
  ingestResource,
  ingestWearable,
  parseFhirJson,
} from "../../../src/fhir";
import { DataCategory } from "../../../src/vocabulary";
import { collection, refused, sample, vitalObservation } from "./helpers";

const patient = (id = "p1", overrides: Record<string, unknown> = {}) => ({
  resourceType: "Patient",
  id,
  gender: "female",
  birthDate: "1980-02-29",
  ...overrides,
});

describe("fhir: validation", () => {
  describe("errors", () => {
    it("are TwinLedgerErrors with code FHIR_INVALID, the path and the resource type", () => {
      const error = refused(() =>
        ingest(collection([patient(), vitalObservation({ valueQuantity: { value: "72", code: "/min" } })])),
      );
      expect(error).to.be.instanceOf(TwinLedgerError);
      expect(error.name).to.equal("FhirValidationError");
      expect(error.code).to.equal("FHIR_INVALID");
      expect(error.path).to.equal("Bundle.entry[1].resource.valueQuantity.value");
      expect(error.resourceType).to.equal("Observation");
      expect(error.resourceId).to.equal("hr-1");
      expect(error.message).to.equal(
        "Observation/hr-1 at Bundle.entry[1].resource.valueQuantity.value: expected a finite number",
      );
    });

    it("never repeat the offending value (names, birth dates, measurements)", () => {
      const cases: [Record<string, unknown>, string][] = [
        [patient("p1", { birthDate: "1980-02-30" }), "1980-02-30"],
        [patient("p1", { name: [{ family: 12345 }] }), "12345"],
        [patient("p1", { name: [{ given: ["Secretname", ""] }] }), "Secretname"],
        [
          vitalObservation({
            valueQuantity: { value: 987654, unit: "/min", system: "http://unitsofmeasure.org", code: "/min" },
          }),
          "987654",
        ],
        [
          vitalObservation({
            valueQuantity: { value: 71, system: "http://unitsofmeasure.org", code: "furlongs/fortnight" },
          }),
          "furlongs",
        ],
        [vitalObservation({ effectiveDateTime: "yesterday 7pm" }), "yesterday"],
      ];
      for (const [resource, secret] of cases) {
        const error = refused(() => ingestResource(resource));
        expect(error.message).to.not.contain(secret);
        expect(JSON.stringify(error)).to.not.contain(secret);
      }
    });
  });

  describe("resources", () => {
    it("refuses unknown resource types and non-objects", () => {
      expect(refused(() => ingestResource({ resourceType: "Patientt", id: "x" })).path).to.equal(
        "Resource.resourceType",
      );
      expect(refused(() => ingestResource([])).path).to.equal("Resource");
      expect(refused(() => ingest(collection([{ resourceType: 7, id: "x" }]))).path).to.equal(
        "Bundle.entry[0].resource.resourceType",
      );
    });

    it("refuses malformed ids", () => {
      expect(refused(() => ingestResource(patient("has space"))).path).to.equal("Patient.id");
      expect(refused(() => ingestResource(patient("x".repeat(65)))).path).to.equal("Patient.id");
    });

    it("requires the elements R4 makes mandatory for modelled types", () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ resourceType: "Observation", id: "o", code: { text: "x" } }, "Observation.status"],
        [{ resourceType: "Observation", id: "o", status: "final" }, "Observation.code"],
        [{ resourceType: "Encounter", id: "e", status: "finished" }, "Encounter.class"],
        [{ resourceType: "Condition", id: "c", code: { text: "x" } }, "Condition.subject"],
        [{ resourceType: "AllergyIntolerance", id: "a" }, "AllergyIntolerance.patient"],
        [
          {
            resourceType: "MedicationRequest",
            id: "m",
            status: "active",
            intent: "order",
            subject: { reference: "Patient/p" },
          },
          "MedicationRequest.medication[x]",
        ],
        [
          { resourceType: "Immunization", id: "i", status: "completed", patient: { reference: "Patient/p" } },
          "Immunization.vaccineCode",
        ],
        [{ resourceType: "Procedure", id: "p", subject: { reference: "Patient/p" } }, "Procedure.status"],
        [{ resourceType: "DiagnosticReport", id: "d", status: "final" }, "DiagnosticReport.code"],
      ];
      for (const [resource, path] of cases) {
        const error = refused(() => ingestResource(resource));
        expect(error.path, path).to.equal(path);
        expect(error.message).to.contain("required element is missing");
      }
    });

    it("checks codes against their value sets", () => {
      expect(refused(() => ingestResource(vitalObservation({ status: "done" }))).path).to.equal("Observation.status");
      expect(refused(() => ingestResource(patient("p1", { gender: "F" }))).path).to.equal("Patient.gender");
    });

    it("checks dates on the calendar and FHIR's formats", () => {
      expect(refused(() => ingestResource(patient("p1", { birthDate: "1981-02-29" }))).path).to.equal(
        "Patient.birthDate",
      );
      expect(refused(() => ingestResource(patient("p1", { birthDate: "1980-02-29T10:00:00Z" }))).path).to.equal(
        "Patient.birthDate",
      );
      // a dateTime with a time needs a zone
      expect(
        refused(() => ingestResource(vitalObservation({ effectiveDateTime: "2024-03-01T08:00:00" }))).path,
      ).to.equal("Observation.effectiveDateTime");
      expect(refused(() => ingestResource(vitalObservation({ issued: "2024-03-01" }))).path).to.equal(
        "Observation.issued",
      );
      const period = { start: "2024-03-02", end: "2024-03-01" };
      expect(
        refused(() => ingestResource(vitalObservation({ effectiveDateTime: undefined, effectivePeriod: period })))
          .message,
      ).to.contain("per-1");
      expect(ingestResource(patient("p1", { birthDate: "1980" })).records).to.have.length(1);
    });

    it("requires code systems on unit codes (qty-3); a Coding without one is kept, system unknown", () => {
      const noSystem = vitalObservation({ code: { coding: [{ code: "8867-4" }] } });
      expect(ingestResource(noSystem).warnings?.map((w) => w.path)).to.deep.equal([
        "Observation.code.coding[0].system",
      ]);
      const unitNoSystem = vitalObservation({ valueQuantity: { value: 70, code: "/min" } });
      expect(refused(() => ingestResource(unitNoSystem)).message).to.contain("qty-3");
    });

    it("refuses malformed references anywhere in a resource", () => {
      const cases: [string, boolean][] = [
        ["Patient/p1", true],
        ["Patient/p1/_history/2", true],
        ["https://ehr.example.org/fhir/Patient/p1", true],
        ["urn:uuid:2fda17e1-68f5-4450-bb37-775162f27530", true],
        ["urn:oid:1.2.3.4", true],
        ["#contained-1", true],
        ["patient/p1", false],
        ["Patient/", false],
        ["Patient/p 1", false],
        ["Unicorn/1", false],
        ["urn:uuid:not-a-uuid", false],
        ["Patient?identifier=123", false],
      ];
      for (const [reference, ok] of cases) {
        const resource = vitalObservation({ subject: { reference } });
        if (ok) expect(ingestResource(resource).records, reference).to.have.length(1);
        else expect(refused(() => ingestResource(resource)).path, reference).to.equal("Observation.subject.reference");
      }
      // in resources the twin does not model too, e.g. deep inside a Provenance
      const provenance = {
        resourceType: "Provenance",
        id: "pv",
        target: [{ reference: "Patient/p1" }],
        recorded: "2024-01-01T00:00:00Z",
        agent: [{ who: { reference: "not a reference" } }],
      };
      expect(refused(() => ingestResource(provenance)).path).to.equal("Provenance.agent[0].who.reference");
    });

    it("allows conditional references only in transactions and batches", () => {
      const obs = vitalObservation({ subject: { reference: "Patient?identifier=http://x|123" } });
      const transaction = {
        resourceType: "Bundle",
        type: "transaction",
        entry: [
          {
            fullUrl: "urn:uuid:2fda17e1-68f5-4450-bb37-775162f27530",
            resource: obs,
            request: { method: "POST", url: "Observation" },
          },
          {
            fullUrl: "urn:uuid:3fda17e1-68f5-4450-bb37-775162f27530",
            resource: { resourceType: "Patient", id: "p1", identifier: [{ system: "http://x", value: "123" }] },
            request: { method: "POST", url: "Patient" },
          },
        ],
      };
      expect(ingest(transaction).records).to.have.length(2);
    });

    it("refuses two types for one choice element and values with a dataAbsentReason", () => {
      const both = vitalObservation({ valueString: "high" });
      expect(refused(() => ingestResource(both)).path).to.equal("Observation.value[x]");
      const absent = vitalObservation({ dataAbsentReason: { text: "not asked" } });
      expect(refused(() => ingestResource(absent)).message).to.contain("obs-6");
    });

    it("refuses vital-signs observations with nothing measured (vs-2)", () => {
      const empty = vitalObservation({ valueQuantity: undefined });
      expect(refused(() => ingestResource(empty)).message).to.contain("vs-2");
    });
  });

  describe("units and values of vital signs", () => {
    const reading = (sign: string, code: string, value: number, unit: string) => {
      const result = ingestResource(
        vitalObservation({
          code: { coding: [{ system: "http://loinc.org", code }] },
          valueQuantity: { value, system: "http://unitsofmeasure.org", code: unit },
        }),
      );
      expect(result.readings).to.have.length(1);
      expect(result.readings[0].sign).to.equal(sign);
      return [result.readings[0].value, result.readings[0].unit];
    };

    it("converts to one canonical unit per sign", () => {
      expect(reading("bodyTemperature", "8310-5", 98.6, "[degF]")).to.deep.equal([37, "Cel"]);
      expect(reading("bodyTemperature", "8310-5", 310.15, "K")).to.deep.equal([37, "Cel"]);
      expect(reading("glucose", "2339-0", 5.5, "mmol/L")).to.deep.equal([99.09, "mg/dL"]);
      expect(reading("glucose", "2345-7", 110, "mg/dL")).to.deep.equal([110, "mg/dL"]);
      expect(reading("bodyWeight", "29463-7", 70000, "g")).to.deep.equal([70, "kg"]);
      expect(reading("bodyHeight", "8302-2", 1.8, "m")).to.deep.equal([180, "cm"]);
      expect(reading("heartRate", "8867-4", 61, "{beats}/min")).to.deep.equal([61, "/min"]);
      expect(reading("oxygenSaturation", "59408-5", 0.97, "1")).to.deep.equal([97, "%"]);
      expect(reading("oxygenSaturation", "2708-6", 93, "%")).to.deep.equal([93, "%"]);
      expect(reading("steps", "55423-8", 1200, "{steps}")).to.deep.equal([1200, "{steps}"]);
    });

    it("reads blood pressure in kPa from its components", () => {
      const result = ingestResource(
        vitalObservation({
          code: { coding: [{ system: "http://loinc.org", code: "85354-9" }] },
          valueQuantity: undefined,
          component: [
            {
              code: { coding: [{ system: "http://loinc.org", code: "8480-6" }] },
              valueQuantity: { value: 16, system: "http://unitsofmeasure.org", code: "kPa" },
            },
            {
              code: { coding: [{ system: "http://loinc.org", code: "8462-4" }] },
              valueQuantity: { value: 80, system: "http://unitsofmeasure.org", code: "mm[Hg]" },
            },
          ],
        }),
      );
      expect(result.readings.map((r) => [r.sign, r.value, r.unit])).to.deep.equal([
        ["systolic", 120.01, "mm[Hg]"],
        ["diastolic", 80, "mm[Hg]"],
      ]);
    });

    it("uses the unit text when there is no UCUM code", () => {
      const result = ingestResource(vitalObservation({ valueQuantity: { value: 66, unit: "bpm" } }));
      expect(result.readings[0]).to.include({ value: 66, unit: "/min" });
    });

    it("refuses units it cannot convert and implausible values, naming the path", () => {
      const wrongUnit = vitalObservation({
        valueQuantity: { value: 70, system: "http://unitsofmeasure.org", code: "mg" },
      });
      const error = refused(() => ingestResource(wrongUnit));
      expect(error.path).to.equal("Observation.valueQuantity.code");
      expect(error.message).to.contain("cannot be converted to /min for heartRate");
      const negative = vitalObservation({
        valueQuantity: { value: -5, system: "http://unitsofmeasure.org", code: "/min" },
      });
      expect(refused(() => ingestResource(negative)).message).to.contain("plausible range for heartRate");
      const saturation = vitalObservation({
        code: { coding: [{ system: "http://loinc.org", code: "59408-5" }] },
        valueQuantity: { value: 101, system: "http://unitsofmeasure.org", code: "%" },
      });
      expect(refused(() => ingestResource(saturation)).path).to.equal("Observation.valueQuantity.value");
      const noValue = vitalObservation({ valueQuantity: { system: "http://unitsofmeasure.org", code: "/min" } });
      expect(refused(() => ingestResource(noValue)).path).to.equal("Observation.valueQuantity.value");
      const noTime = vitalObservation({ effectiveDateTime: undefined });
      expect(refused(() => ingestResource(noTime)).path).to.equal("Observation.effective[x]");
    });
  });

  describe("bundles", () => {
    it("refuses duplicate fullUrls (bdl-7) and duplicate Type/id, naming both entries", () => {
      const dupUrl = collection([patient("a"), patient("b")]) as { entry: { fullUrl: string }[] };
      dupUrl.entry[1].fullUrl = dupUrl.entry[0].fullUrl;
      const urlError = refused(() => ingest(dupUrl));
      expect(urlError.path).to.equal("Bundle.entry[1].fullUrl");
      expect(urlError.message).to.contain("entry[0]");

      const dupId = {
        resourceType: "Bundle",
        type: "collection",
        entry: [
          { fullUrl: "urn:uuid:00000000-0000-4000-8000-000000000001", resource: patient("same") },
          { fullUrl: "urn:uuid:00000000-0000-4000-8000-000000000002", resource: patient("same") },
        ],
      };
      const idError = refused(() => ingest(dupId));
      expect(idError.path).to.equal("Bundle.entry[1].resource.id");
      expect(idError.message).to.contain("Bundle.entry[0].resource");
    });

    it("refuses a RESTful fullUrl that names another resource", () => {
      const bundle = collection([patient("a")]) as { entry: { fullUrl: string }[] };
      bundle.entry[0].fullUrl = "https://ehr.example.org/fhir/Patient/b";
      expect(refused(() => ingest(bundle)).message).to.contain("another id");
    });

    it("is all-or-nothing: one bad entry refuses the whole bundle", () => {
      const good = sample("synthea-patient-bundle.json") as { entry: { resource: Record<string, unknown> }[] };
      good.entry[300].resource.status = 42;
      const error = refused(() => ingest(good));
      expect(error.path).to.equal("Bundle.entry[300].resource.status");
    });

    it("takes the id of a resource without one from its urn:uuid fullUrl", () => {
      const obs = vitalObservation();
      delete obs.id;
      const bundle = {
        resourceType: "Bundle",
        type: "batch",
        entry: [
          {
            fullUrl: "urn:uuid:2FDA17E1-68F5-4450-BB37-775162F27530",
            resource: obs,
            request: { method: "POST", url: "Observation" },
          },
          { request: { method: "GET", url: "Patient/p1" } },
        ],
      };
      const result = ingest(bundle, { patient: "Patient/p1" });
      expect(result.records.map((r) => r.key)).to.deep.equal(["Observation/2fda17e1-68f5-4450-bb37-775162f27530"]);
      expect(refused(() => ingestResource(obs)).message).to.contain("needs an id");
    });

    it("applies the entry rules of each bundle type (bdl-1 to bdl-5)", () => {
      const transactionWithoutRequest = {
        resourceType: "Bundle",
        type: "transaction",
        entry: [{ resource: patient() }],
      };
      expect(refused(() => ingest(transactionWithoutRequest)).path).to.equal("Bundle.entry[0].request");
      const collectionWithTotal = { ...collection([patient()]), total: 1 };
      expect(refused(() => ingest(collectionWithTotal)).path).to.equal("Bundle.total");
      const postWithoutResource = {
        resourceType: "Bundle",
        type: "transaction",
        entry: [{ request: { method: "POST", url: "Patient" } }],
      };
      expect(refused(() => ingest(postWithoutResource)).path).to.equal("Bundle.entry[0].resource");
      expect(refused(() => ingest({ resourceType: "Bundle", type: "pile" })).path).to.equal("Bundle.type");
      expect(ingest({ resourceType: "Bundle", type: "searchset", total: 0 })).to.deep.equal({
        records: [],
        readings: [],
        skipped: {},
      });
    });

    it("keeps the newest version of each resource in a history bundle", () => {
      const v2 = patient("p1", { meta: { versionId: "2" }, gender: "male" });
      const v1 = patient("p1", { meta: { versionId: "1" } });
      const url = "https://ehr.example.org/fhir/Patient/p1";
      const history = {
        resourceType: "Bundle",
        type: "history",
        entry: [
          { fullUrl: url, resource: v2, request: { method: "PUT", url: "Patient/p1" }, response: { status: "200" } },
          { fullUrl: url, resource: v1, request: { method: "POST", url: "Patient" }, response: { status: "201" } },
        ],
      };
      const result = ingest(history);
      expect(result.records).to.have.length(1);
      expect((result.records[0].resource as { gender?: string }).gender).to.equal("male");
    });

    it("skips modelled resources recorded in error, by label", () => {
      const bundle = collection([
        vitalObservation({ id: "a", status: "entered-in-error" }),
        {
          resourceType: "Condition",
          id: "c",
          subject: { reference: "Patient/p1" },
          verificationStatus: {
            coding: [
              { system: "http://terminology.hl7.org/CodeSystem/condition-ver-status", code: "entered-in-error" },
            ],
          },
        },
        {
          resourceType: "Observation",
          id: "s",
          status: "final",
          code: { coding: [{ system: "http://loinc.org", code: "72166-2" }] },
        },
      ]);
      expect(ingest(bundle, { patient: "Patient/p1" }).skipped).to.deep.equal({
        "Observation(entered-in-error)": 1,
        "Condition(entered-in-error)": 1,
        "Observation(uncategorized)": 1,
      });
    });

    it("ingestBundle refuses a single resource and ingestResource a Bundle", () => {
      expect(refused(() => ingestBundle(patient())).path).to.equal("Bundle.resourceType");
      expect(refused(() => ingestResource(collection([patient()]))).message).to.contain("not a Bundle");
    });
  });

  describe("wearable ingest", () => {
    it("makes every Observation WEARABLE_STREAMS, whatever its category", () => {
      const result = ingestWearable([
        vitalObservation({ id: "a" }),
        vitalObservation({ id: "b", effectiveDateTime: "2024-03-01T08:01:00Z" }),
      ]);
      expect(result.records.map((r) => r.category)).to.deep.equal([
        DataCategory.WEARABLE_STREAMS,
        DataCategory.WEARABLE_STREAMS,
      ]);
      expect(result.readings.map((r) => r.at)).to.deep.equal([
        Date.parse("2024-03-01T08:00:00Z"),
        Date.parse("2024-03-01T08:01:00Z"),
      ]);
    });

    it("refuses a malformed array element by index", () => {
      expect(refused(() => ingestWearable([vitalObservation(), 7])).path).to.equal("[1]");
    });
  });

  it("records hold a copy of the resource, not the caller's object", () => {
    const obs = vitalObservation();
    const result = ingestResource(obs);
    (obs.valueQuantity as { value: number }).value = 200;
    expect((result.records[0].resource as { valueQuantity: { value: number } }).valueQuantity.value).to.equal(72);
  });

  it("parseFhirJson refuses malformed JSON without quoting it", () => {
    const error = refused(() => parseFhirJson('{"name": "Jane Secret",'));
    expect(error).to.be.instanceOf(FhirValidationError);
    expect(error.path).to.equal("$");
    expect(error.message).to.not.contain("Jane");
    expect(parseFhirJson('{"resourceType":"Patient"}')).to.deep.equal({ resourceType: "Patient" });
  });
});
