import { expect } from "chai";
import * as fs from "fs";
import { DataCategory } from "../../../src/vocabulary";
import { OPEN_ENDED_UNTIL, ingest, ingestWearable, mapConsent } from "../../../src/fhir";
import { Action, ALL_CATEGORIES, ALL_PURPOSES } from "../../../src/vocabulary";
import { SAMPLES_DIR, byKey, countBy, refused, sample } from "./helpers";

/** The published FHIR R4 samples in ../shared/fhir-samples (see SOURCES.md there): what each yields. */
describe("fhir: published samples", () => {
  it("finds every sample file the tests below cover", () => {
    const files = fs.readdirSync(SAMPLES_DIR).filter((f) => f.endsWith(".json"));
    expect(files).to.have.length(20);
  });

  describe("synthea-patient-bundle.json (transaction, 364 entries)", () => {
    const bundle = sample("synthea-patient-bundle.json");
    const result = ingest(bundle);

    it("models 328 records (the 39 DocumentReferences included) and skips the other 36 entries, counted by type", () => {
      expect(result.records).to.have.length(328);
      expect(result.skipped).to.deep.equal({
        Location: 2,
        Organization: 2,
        Practitioner: 2,
        PractitionerRole: 2,
        CareTeam: 5,
        CarePlan: 5,
        Goal: 7,
        Provenance: 1,
        "Observation(survey)": 10,
      });
      const skippedTotal = Object.values(result.skipped).reduce((a, b) => a + b, 0);
      expect(result.records.length + skippedTotal).to.equal(364);
      expect(result.warnings).to.equal(undefined);
    });

    it("puts each record in its consent category", () => {
      expect(countBy(result.records, (r) => r.category)).to.deep.equal({
        [DataCategory.DEMOGRAPHICS]: 1,
        [DataCategory.CONDITIONS]: 9,
        [DataCategory.MEDICATIONS]: 13,
        [DataCategory.ALLERGIES]: 4,
        [DataCategory.PROCEDURES]: 21 + 16,
        // 39 Encounters and 39 DocumentReference visit notes (clinical-note, not lab or imaging)
        [DataCategory.ENCOUNTERS]: 39 + 39,
        // 53 laboratory Observations, 4 LAB reports and 26 cardiology/pathology notes
        [DataCategory.LABS]: 83,
        // 90 vital-signs Observations, panels and pain scores included
        [DataCategory.VITALS]: 90,
        // 13 notes in the Radiology section (LP29684-5)
        [DataCategory.IMAGING]: 13,
      });
      expect(countBy(result.records, (r) => r.kind)).to.deep.equal({
        demographics: 1,
        encounter: 39,
        "diagnostic-report": 43,
        allergy: 4,
        medication: 13,
        procedure: 21,
        condition: 9,
        vital: 90,
        lab: 53,
        immunization: 16,
        document: 39,
      });
    });

    it("keys records by type/id and keeps code, display, status and clinical time", () => {
      const condition = byKey(result.records, "Condition/f16fbf43-31bc-442f-bbc5-1784331b77ce");
      expect(condition).to.include({
        kind: "condition",
        category: DataCategory.CONDITIONS,
        code: "http://snomed.info/sct|444814009",
        display: "Viral sinusitis (disorder)",
        status: "resolved",
        effectiveAt: "2010-03-01T03:48:02-05:00",
      });
      const medication = byKey(result.records, "MedicationRequest/213bce23-a9f0-453b-b35a-a8089759287a");
      expect(medication).to.include({ code: "http://www.nlm.nih.gov/research/umls/rxnorm|665078", status: "active" });
      const patient = byKey(result.records, "Patient/2fda17e1-68f5-4450-bb37-775162f27530");
      expect(patient.kind).to.equal("demographics");
      expect(patient.resource).to.deep.equal((bundle.entry as { resource: unknown }[])[0].resource);
    });

    it("turns vital signs into readings in canonical units: 13 blood pressures, 10 each of the others, 1 glucose", () => {
      expect(countBy(result.readings, (r) => r.sign)).to.deep.equal({
        bodyHeight: 10,
        bodyWeight: 10,
        bmi: 10,
        systolic: 13,
        diastolic: 13,
        heartRate: 10,
        respiratoryRate: 10,
        glucose: 1,
      });
      // Synthea lists the diastolic component first; the LOINC code decides, not the order.
      const bp = result.readings.filter((r) => r.recordKey === "Observation/826190fc-88c6-4486-b5ca-ade867a80b42");
      expect(bp.map((r) => [r.sign, r.value, r.unit])).to.deep.equal([
        ["diastolic", 80, "mm[Hg]"],
        ["systolic", 132, "mm[Hg]"],
      ]);
      expect(bp[0].at).to.equal(Date.parse("2010-08-29T04:48:02-04:00"));
      expect(bp[0].category).to.equal(DataCategory.VITALS);
      const glucose = result.readings.find((r) => r.sign === "glucose")!;
      expect(glucose).to.include({ value: 118.92, unit: "mg/dL", category: DataCategory.LABS });
    });
  });

  describe("HL7 vital-sign examples", () => {
    const one = (file: string) => {
      const result = ingest(sample(file));
      expect(result.records).to.have.length(1);
      return result;
    };

    it("heart rate: 44 /min, VITALS", () => {
      const { records, readings } = one("observation-example-heart-rate.json");
      expect(records[0]).to.include({ key: "Observation/heart-rate", category: DataCategory.VITALS, kind: "vital" });
      expect(readings).to.deep.equal([
        {
          sign: "heartRate",
          value: 44,
          unit: "/min",
          at: Date.UTC(1999, 6, 2),
          category: DataCategory.VITALS,
          recordKey: "Observation/heart-rate",
        },
      ]);
    });

    it("blood pressure: systolic 107 and diastolic 60 mm[Hg]", () => {
      const { readings } = one("observation-example-bloodpressure.json");
      expect(readings.map((r) => [r.sign, r.value, r.unit])).to.deep.equal([
        ["systolic", 107, "mm[Hg]"],
        ["diastolic", 60, "mm[Hg]"],
      ]);
      expect(readings[0].at).to.equal(Date.UTC(2012, 8, 17));
    });

    it("SpO2 coded 2708-6 and 59408-5 with a device: 95 %, WEARABLE_STREAMS, source DeviceMetric/example", () => {
      const { records, readings } = one("observation-example-satO2.json");
      expect(records[0].category).to.equal(DataCategory.WEARABLE_STREAMS);
      expect(records[0].code).to.equal("http://loinc.org|2708-6");
      expect(readings).to.have.length(1);
      expect(readings[0]).to.include({
        sign: "oxygenSaturation",
        value: 95,
        unit: "%",
        source: "DeviceMetric/example",
      });
      expect(readings[0].at).to.equal(Date.parse("2014-12-05T09:30:10+01:00"));
    });

    it("body temperature: 36.5 Cel", () => {
      const { readings } = one("observation-example-body-temperature.json");
      expect(readings.map((r) => [r.sign, r.value, r.unit])).to.deep.equal([["bodyTemperature", 36.5, "Cel"]]);
    });

    it("glucose 15074-8 in mmol/L, uncategorized: LABS, 6.3 mmol/L read as 113.5 mg/dL at the period start", () => {
      const { records, readings } = one("observation-example-f001-glucose.json");
      expect(records[0]).to.include({
        kind: "lab",
        category: DataCategory.LABS,
        effectiveAt: "2013-04-02T09:30:10+01:00",
      });
      expect(readings).to.have.length(1);
      expect(readings[0]).to.include({ sign: "glucose", value: 113.5, unit: "mg/dL" });
      expect(readings[0].at).to.equal(Date.parse("2013-04-02T09:30:10+01:00"));
    });

    it("respiratory rate: 26 /min", () => {
      const { readings } = one("observation-example-respiratory-rate.json");
      expect(readings.map((r) => [r.sign, r.value, r.unit])).to.deep.equal([["respiratoryRate", 26, "/min"]]);
    });

    it("body height in inches: converted to cm", () => {
      const { readings } = one("observation-example-body-height.json");
      expect(readings.map((r) => [r.sign, r.value, r.unit])).to.deep.equal([["bodyHeight", 169.93, "cm"]]);
    });

    it("body weight 185 [lb_av]: 83.91 kg", () => {
      const { records, readings } = one("observation-example.json");
      expect(records[0].code).to.equal("http://loinc.org|29463-7");
      expect(readings.map((r) => [r.sign, r.value, r.unit])).to.deep.equal([["bodyWeight", 83.91, "kg"]]);
    });

    it("vital-signs panel: a VITALS record with members and no reading", () => {
      const { records, readings } = one("observation-example-vitals-panel.json");
      expect(records[0]).to.include({ category: DataCategory.VITALS, code: "http://loinc.org|85353-1" });
      expect(readings).to.deep.equal([]);
    });

    it("EKG waveform (SampledData, device): a WEARABLE_STREAMS record and no reading", () => {
      const { records, readings } = one("observation-example-sample-data.json");
      expect(records[0]).to.include({ key: "Observation/ekg", category: DataCategory.WEARABLE_STREAMS });
      expect(records[0].code).to.equal("urn:oid:2.16.840.1.113883.6.24|131328");
      expect(readings).to.deep.equal([]);
    });

    it("cancelled blood pressure: no record, no reading, counted as Observation(cancelled)", () => {
      const result = ingest(sample("observation-example-bloodpressure-cancel.json"));
      expect(result).to.deep.equal({
        records: [],
        readings: [],
        skipped: { "Observation(cancelled)": 1 },
        patient: "Patient/example",
      });
    });

    it("patient example: one DEMOGRAPHICS record, status active", () => {
      const { records } = one("patient-example.json");
      expect(records[0]).to.include({ key: "Patient/example", kind: "demographics", status: "active" });
      expect(records[0].category).to.equal(DataCategory.DEMOGRAPHICS);
    });
  });

  describe("validator edge cases", () => {
    it("obs-vital-signs-mdc.json (PHD pulse rate, malformed unit text): accepted with a warning, 48 /min from the device", () => {
      const result = ingest(sample("obs-vital-signs-mdc.json"));
      expect(result.records).to.have.length(1);
      expect(result.records[0]).to.include({
        category: DataCategory.WEARABLE_STREAMS,
        code: "http://loinc.org|8867-4",
      });
      expect(result.readings).to.have.length(1);
      expect(result.readings[0]).to.include({
        sign: "heartRate",
        value: 48,
        unit: "/min",
        source: "Device/phd-74E8FFFEFF051C00.001C05FFE874",
      });
      expect(result.readings[0].at).to.equal(Date.parse("2018-11-13T17:59:02-05:00"));
      expect(result.warnings).to.deep.equal([
        {
          path: "Observation.valueQuantity.unit",
          message: "Observation/spotnumeric-1.0.0.3: unit display is malformed; the UCUM code was used",
        },
      ]);
    });

    it("bundle-duplicate-id.json: refused at the first relative fullUrl", () => {
      const error = refused(() => ingest(sample("bundle-duplicate-id.json")));
      expect(error.code).to.equal("FHIR_INVALID");
      expect(error.path).to.equal("Bundle.entry[0].fullUrl");
      expect(error.resourceType).to.equal("Bundle");
      expect(error.message).to.equal(
        "Bundle/bundle-duplicate-id at Bundle.entry[0].fullUrl: fullUrl must be an absolute URI, not a relative reference",
      );
    });

    it("bundle-duplicate-id.json with absolute fullUrls: the same id on two types is allowed", () => {
      const bundle = sample("bundle-duplicate-id.json") as { entry: { fullUrl: string }[] };
      for (const entry of bundle.entry) entry.fullUrl = `https://ehr.example.org/fhir/${entry.fullUrl}`;
      const result = ingest(bundle);
      expect(result.records.map((r) => r.key)).to.deep.equal(["Patient/1"]);
      expect(result.skipped).to.deep.equal({ RelatedPerson: 1 });
    });

    it("PulseOxBundle_25Oct2022.json (searchset): refused, the second Observation's component has no value (vs-3)", () => {
      const error = refused(() => ingest(sample("PulseOxBundle_25Oct2022.json")));
      expect(error.path).to.equal("Bundle.entry[1].resource.component[0]");
      expect(error.resourceType).to.equal("Observation");
      expect(error.resourceId).to.equal("1825");
      expect(error.message).to.contain("vs-3");
    });

    it("PulseOxBundle_25Oct2022.json without the faulty entry: 95 % SpO2 on a date-only effectivePeriod start", () => {
      const bundle = sample("PulseOxBundle_25Oct2022.json") as { entry: unknown[]; total: number };
      bundle.entry = bundle.entry.slice(0, 1);
      bundle.total = 1;
      const result = ingest(bundle, { patient: "Patient/1763" });
      expect(result.records.map((r) => [r.key, r.category])).to.deep.equal([["Observation/1814", DataCategory.VITALS]]);
      expect(result.readings.map((r) => [r.sign, r.value, r.at])).to.deep.equal([
        ["oxygenSaturation", 95, Date.UTC(2015, 5, 22)],
      ]);
    });
  });

  describe("Consent and AuditEvent", () => {
    it("ingest skips Consents and AuditEvents with a count", () => {
      for (const [file, type] of [
        ["consent-example.json", "Consent"],
        ["consent-example-smartonfhir.json", "Consent"],
        ["auditevent-example.json", "AuditEvent"],
        ["auditevent-example-disclosure.json", "AuditEvent"],
      ]) {
        const { records, readings, skipped } = ingest(sample(file));
        expect({ records, readings, skipped }).to.deep.equal(
          { records: [], readings: [], skipped: { [type]: 1 } },
          file,
        );
      }
    });

    it("consent-example.json (OPTIN, 1964-01-01 to 2016-01-01, no limits): every category, READ, every purpose", () => {
      const mapped = mapConsent(sample("consent-example.json"));
      expect(mapped.grant).to.deep.equal({
        categories: ALL_CATEGORIES,
        actions: Action.READ,
        purposes: ALL_PURPOSES,
        validFrom: 0,
        // the end date includes all of 2016-01-01
        validUntil: Date.UTC(2016, 0, 2) / 1000,
      });
      expect(mapped.patient).to.deep.equal({ reference: "Patient/f001", display: "P. van de Heuvel" });
      expect(mapped.grantees).to.deep.equal([]);
      expect(mapped.exact).to.equal(true);
    });

    it("consent-example-smartonfhir.json (30 minutes, permit access to MedicationRequest): MEDICATIONS, READ", () => {
      const mapped = mapConsent(sample("consent-example-smartonfhir.json"));
      expect(mapped.grant).to.deep.equal({
        categories: DataCategory.MEDICATIONS,
        actions: Action.READ,
        purposes: ALL_PURPOSES,
        validFrom: Date.parse("2016-06-23T17:02:33+10:00") / 1000,
        validUntil: Date.parse("2016-06-23T17:32:33+10:00") / 1000 + 1,
      });
      expect(mapped.grant.validUntil).to.be.lessThan(OPEN_ENDED_UNTIL);
      expect(mapped.exact).to.equal(false);
      expect(mapped.notes).to.deep.equal([
        "Consent.provision.provision[0].class: grants the whole MEDICATIONS category, which also holds MedicationStatement, Medication",
      ]);
    });
  });

  it("a wearable upload of the HL7 heart-rate example is WEARABLE_STREAMS with the app as source", () => {
    const result = ingestWearable(sample("observation-example-heart-rate.json"), { source: "app:phr-demo" });
    expect(result.records[0].category).to.equal(DataCategory.WEARABLE_STREAMS);
    expect(result.readings[0]).to.include({ source: "app:phr-demo", category: DataCategory.WEARABLE_STREAMS });
  });
});
