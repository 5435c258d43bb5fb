import { expect } from "chai";
import {
  FhirLimitError,
  FhirValidationError,
  ingest,
  ingestResource,
  ingestStream,
  parseFhirJson,
  type IngestResult,
} from "../../../src/fhir";
import { collection, refused, vitalObservation } from "./helpers";

/**
 * Hostile and odd input (issue 11, item 3): each gets a typed refusal (FhirValidationError or
 * FhirLimitError) or a defined outcome; never an untyped exception, a polluted prototype or a hang.
 */

const patient = { resourceType: "Patient", id: "p1" };

/** Ingests JSON text the way the gateway does: parse with the limits, then ingest. */
function ingestText(text: string): IngestResult {
  return ingest(parseFhirJson(text));
}

/** Either a result or a typed refusal; any other exception fails the test. */
function typedOutcome(fn: () => IngestResult): IngestResult | FhirValidationError {
  try {
    return fn();
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(FhirValidationError);
    return error as FhirValidationError;
  }
}

describe("fhir: hostile input", () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted, "Object.prototype polluted").to.equal(undefined);
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted")).to.equal(false);
  });

  describe("prototype-pollution keys", () => {
    const keys = ["__proto__", "constructor", "prototype"];
    const payload = '{"polluted":1,"prototype":{"polluted":1}}';

    it("in any object of a resource, from text: accepted as data or refused, never polluting", () => {
      const observation = JSON.stringify(vitalObservation());
      const places = [
        (k: string) => observation.replace('{"resourceType"', `{"${k}":${payload},"resourceType"`),
        (k: string) => observation.replace('"code":"8867-4"', `"code":"8867-4","${k}":${payload}`),
        (k: string) => observation.replace('"valueQuantity":{', `"valueQuantity":{"${k}":${payload},`),
        (k: string) => observation.replace('"subject":{', `"subject":{"${k}":${payload},`),
      ];
      for (const key of keys) {
        for (const place of places) {
          const text = `{"resourceType":"Bundle","type":"collection","${key}":${payload},"entry":[{"resource":${JSON.stringify(patient)}},{"resource":${place(key)}}]}`;
          const outcome = typedOutcome(() => ingestText(text));
          if (!(outcome instanceof FhirValidationError)) {
            expect(outcome.records.map((r) => r.key)).to.deep.equal(["Patient/p1", "Observation/hr-1"]);
            expect(outcome.readings.map((r) => r.value)).to.deep.equal([72]);
          }
        }
      }
    });

    it("as resourceType, id, code, unit or system values: typed refusals or plain data", () => {
      for (const key of keys) {
        expect(refused(() => ingestResource({ resourceType: key, id: "x" })).path).to.equal("Resource.resourceType");
        const asUnit = vitalObservation({
          valueQuantity: { value: 72, unit: key, system: "http://unitsofmeasure.org", code: key },
        });
        refused(() => ingestResource(asUnit));
        const asText = vitalObservation({ valueQuantity: { value: 72, unit: key } });
        refused(() => ingestResource(asText));
        const asCode = vitalObservation({ code: { coding: [{ system: "http://loinc.org", code: key }] } });
        typedOutcome(() => ingestResource(asCode));
        const asSystem = vitalObservation({ code: { coding: [{ system: key, code: "8867-4" }] } });
        typedOutcome(() => ingestResource(asSystem));
        if (key !== "__proto__") {
          const asId = typedOutcome(() => ingestResource(vitalObservation({ id: key })));
          expect((asId as IngestResult).records[0].key).to.equal(`Observation/${key}`);
        }
      }
    });

    it("survive the digest and the record copy as own members", () => {
      const text = JSON.stringify(vitalObservation()).replace(
        '{"resourceType"',
        '{"extension":[{"url":"http://x","__proto__":{"polluted":1},"valueString":"v"}],"resourceType"',
      );
      const result = ingest(parseFhirJson(text));
      const extension = (result.records[0].resource as unknown as { extension: object[] }).extension[0];
      expect(Object.keys(extension)).to.include("__proto__");
      expect(Object.getPrototypeOf(extension)).to.equal(Object.prototype);
      expect(result.records[0].digest).to.match(/^sha256:[0-9a-f]{64}$/);
    });
  });

  describe("numbers", () => {
    it("a number too large for a double (1e400) is refused as not finite", () => {
      const text = JSON.stringify(vitalObservation()).replace('"value":72', '"value":1e400');
      expect(refused(() => ingestText(text)).reason).to.equal("expected a finite number");
    });

    it("a huge heart rate is refused by the plausible range; a huge lab value is kept as data", () => {
      expect(
        refused(() => ingestResource(vitalObservation({ valueQuantity: { value: 1e308, unit: "/min" } }))).reason,
      ).to.contain("plausible range");
      const lab = vitalObservation({
        category: [
          { coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "laboratory" }] },
        ],
        code: { coding: [{ system: "http://loinc.org", code: "2160-0" }] },
        valueQuantity: { value: 1.7976931348623157e308, unit: "mg/dL" },
      });
      expect(ingestResource(lab).records.length).to.equal(1);
      const digits = JSON.stringify(lab).replace("1.7976931348623157e+308", "1" + "0".repeat(5000));
      expect(refused(() => ingestText(digits)).reason).to.equal("expected a finite number");
    });

    it("NaN-like strings and integers out of range are refused", () => {
      for (const value of ["NaN", "Infinity", "72", "", "0x48"]) {
        expect(
          refused(() => ingestResource(vitalObservation({ valueQuantity: { value, unit: "/min" } }))).path,
        ).to.equal("Observation.valueQuantity.value");
      }
      expect(
        refused(() => ingestResource(vitalObservation({ valueInteger: 2 ** 31, valueQuantity: undefined }))).path,
      ).to.equal("Observation.valueInteger");
    });
  });

  describe("dates", () => {
    it("an impossible calendar day (2023-02-30) is refused, 2024-02-29 is not", () => {
      expect(refused(() => ingestResource(vitalObservation({ effectiveDateTime: "2023-02-30" }))).path).to.equal(
        "Observation.effectiveDateTime",
      );
      expect(
        refused(() => ingestResource(vitalObservation({ effectiveDateTime: "2023-02-29T08:00:00Z" }))).path,
      ).to.equal("Observation.effectiveDateTime");
      expect(ingestResource(vitalObservation({ effectiveDateTime: "2024-02-29T08:00:00Z" })).readings.length).to.equal(
        1,
      );
    });

    it("offsets are applied: the same instant in two zones gives the same reading time", () => {
      const utc = ingestResource(vitalObservation({ effectiveDateTime: "2024-03-01T08:00:00Z" })).readings[0].at;
      const india = ingestResource(vitalObservation({ effectiveDateTime: "2024-03-01T13:30:00+05:30" })).readings[0].at;
      const kiribati = ingestResource(vitalObservation({ effectiveDateTime: "2024-03-01T22:00:00+14:00" })).readings[0]
        .at;
      expect(india).to.equal(utc);
      expect(kiribati).to.equal(utc);
      for (const bad of [
        "2024-03-01T08:00:00+15:00",
        "2024-03-01T08:00:00",
        "2024-03-01T08:00Z",
        "2024-03-01T24:00:00Z",
      ]) {
        refused(() => ingestResource(vitalObservation({ effectiveDateTime: bad })));
      }
    });

    it("a leap second (23:59:60) is accepted and read as the next second", () => {
      const leap = ingestResource(vitalObservation({ effectiveDateTime: "2016-12-31T23:59:60Z" })).readings[0].at;
      expect(leap).to.equal(Date.parse("2017-01-01T00:00:00Z"));
      const instant = ingestResource(vitalObservation({ issued: "2016-12-31T23:59:60.5Z" }));
      expect(instant.records.length).to.equal(1);
    });
  });

  describe("quantities that are not measurements", () => {
    it("a valueQuantity without a value is kept in the record, no reading, a warning", () => {
      const result = ingestResource(
        vitalObservation({ valueQuantity: { unit: "/min", system: "http://unitsofmeasure.org", code: "/min" } }),
      );
      expect(result.records.length).to.equal(1);
      expect(result.readings).to.deep.equal([]);
      expect(result.warnings!.map((w) => w.path)).to.deep.equal(["Observation.valueQuantity.value"]);
    });

    it("a comparator (<, <=, >=, >) makes the value a bound: never a reading", () => {
      for (const comparator of ["<", "<=", ">=", ">"]) {
        const result = ingestResource(
          vitalObservation({
            valueQuantity: { value: 250, comparator, unit: "/min", system: "http://unitsofmeasure.org", code: "/min" },
          }),
        );
        expect(result.readings, comparator).to.deep.equal([]);
        expect(result.warnings!.map((w) => w.path)).to.deep.equal(["Observation.valueQuantity.comparator"]);
      }
      refused(() => ingestResource(vitalObservation({ valueQuantity: { value: 72, comparator: "~", unit: "/min" } })));
    });
  });

  describe("bundles and references", () => {
    it("duplicate fullUrls are refused, naming both entries (bdl-7)", () => {
      const bundle = collection([patient, vitalObservation(), vitalObservation({ id: "hr-2" })]);
      const entries = bundle.entry as { fullUrl: string }[];
      entries[2].fullUrl = entries[1].fullUrl;
      const error = refused(() => ingest(bundle));
      expect(error.entryIndex).to.equal(2);
      expect(error.reason).to.contain("entry[1]");
    });

    it("circular references between entries are accepted: references are checked, never followed", () => {
      const a = vitalObservation({ id: "a", hasMember: [{ reference: "Observation/b" }] });
      const b = vitalObservation({
        id: "b",
        hasMember: [{ reference: "Observation/a" }],
        derivedFrom: [{ reference: "Observation/b" }],
      });
      const result = ingest(collection([patient, a, b]));
      expect(result.records.map((r) => r.key)).to.deep.equal(["Patient/p1", "Observation/a", "Observation/b"]);
    });

    it("a reference to a #contained id that does not exist is kept with a warning", () => {
      const obs = vitalObservation({ performer: [{ reference: "#nobody" }] });
      const result = ingestResource(obs);
      expect(result.records.length).to.equal(1);
      expect(result.warnings!.map((w) => w.path)).to.deep.equal(["Observation.performer[0].reference"]);
      expect(result.warnings![0].message).to.not.contain("nobody");
    });

    it("a contained resource with its own contained resources is refused (dom-2)", () => {
      const obs = vitalObservation({
        contained: [{ resourceType: "Practitioner", id: "pr", contained: [{ resourceType: "Organization", id: "o" }] }],
        performer: [{ reference: "#pr" }],
      });
      const error = refused(() => ingest(collection([patient, obs])));
      expect(error.path).to.equal("Bundle.entry[1].resource.contained[0].contained");
      expect(error.entryIndex).to.equal(1);
    });

    it("a Bundle inside a Bundle is skipped with a count and a warning, its entries not ingested", () => {
      const inner = collection([
        { resourceType: "Patient", id: "someone-else" },
        vitalObservation({ id: "x", subject: { reference: "Patient/someone-else" } }),
      ]);
      inner.id = "inner";
      const result = ingest(collection([patient, vitalObservation(), inner]));
      expect(result.records.map((r) => r.key)).to.deep.equal(["Patient/p1", "Observation/hr-1"]);
      expect(result.skipped).to.deep.equal({ Bundle: 1 });
      expect(result.warnings!.map((w) => w.path)).to.deep.equal(["Bundle.entry[2].resource"]);
    });

    it("a Bundle nested as deep as the depth limit allows is refused by that limit, typed", () => {
      let bundle: Record<string, unknown> = collection([patient]);
      for (let i = 0; i < 40; i++)
        bundle = { resourceType: "Bundle", type: "collection", entry: [{ resource: bundle }] };
      const error = refused(() => ingest(bundle));
      expect(error).to.be.instanceOf(FhirLimitError);
      expect(() => parseFhirJson(JSON.stringify(bundle))).to.throw(FhirLimitError);
    });
  });

  describe("a 100,000-entry bundle of tiny resources", () => {
    const text = (n: number): string => {
      const parts = [
        `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}}`,
      ];
      for (let i = 0; i < n; i++) parts.push(`,{"resource":{"resourceType":"Basic","id":"b${i}","code":{"text":"t"}}}`);
      parts.push("]}");
      return parts.join("");
    };

    it("is refused at once past maxEntries, from text, a stream or an object", async () => {
      const big = text(100_000);
      const started = Date.now();
      const fromText = (() => {
        try {
          parseFhirJson(big, { maxEntries: 10_000 });
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(fromText).to.be.instanceOf(FhirLimitError);
      expect((fromText as FhirLimitError).limit).to.equal("maxEntries");
      let streamed: unknown;
      try {
        await ingestStream([big], { limits: { maxEntries: 10_000 } });
      } catch (e) {
        streamed = e;
      }
      expect((streamed as FhirLimitError).limit).to.equal("maxEntries");
      const object = JSON.parse(big) as Record<string, unknown>;
      expect((refused(() => ingest(object, { limits: { maxEntries: 10_000 } })) as FhirLimitError).limit).to.equal(
        "maxEntries",
      );
      expect(Date.now() - started).to.be.lessThan(20_000);
    });

    it("is ingested within the default limits, every entry counted", async () => {
      const result = await ingestStream([text(100_000)]);
      expect(result.records.length).to.equal(1);
      expect(result.skipped).to.deep.equal({ Basic: 100_000 });
    });
  });
});
