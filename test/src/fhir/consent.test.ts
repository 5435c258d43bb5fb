import { expect } from "chai";
import fc from "fast-check";
import { TwinLedgerError } from "../../../src/errors";
import {
  FhirConsentError,
  FhirValidationError,
  OPEN_ENDED_UNTIL,
  consentToGrant,
  grantToConsent,
  mapConsent,
  type ConsentGrant,
} from "../../../src/fhir";
import {
  ALL_ACTIONS,
  ALL_CATEGORIES,
  ALL_PURPOSES,
  Action,
  DataCategory,
  Purpose,
  mask,
} from "../../../src/vocabulary";
import { sample } from "./helpers";

const ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction";
const RESOURCE_TYPES = "http://hl7.org/fhir/resource-types";
/** 9999-12-31T23:59:59Z */
const FHIR_LAST_SECOND = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;

/** An active R4 Consent with the given policy rule and root provision. */
function consent(
  provision: Record<string, unknown>,
  policy = "OPTIN",
  scope = "patient-privacy",
): Record<string, unknown> {
  return {
    resourceType: "Consent",
    id: "c1",
    status: "active",
    scope: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: scope }] },
    category: [{ coding: [{ system: "http://loinc.org", code: "59284-0" }] }],
    patient: { reference: "Patient/p1" },
    dateTime: "2024-01-01T00:00:00Z",
    policyRule: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: policy }] },
    provision,
  };
}
const purpose = (code: string) => ({ system: ACT_REASON, code });
const action = (code: string) => ({ coding: [{ system: CONSENT_ACTION, code }] });
const cls = (code: string) => ({ system: RESOURCE_TYPES, code });

function unmappable(fn: () => unknown): FhirConsentError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(FhirConsentError);
    expect((error as FhirConsentError).code).to.equal("FHIR_CONSENT_UNMAPPABLE");
    return error as FhirConsentError;
  }
  expect.fail("expected a FhirConsentError");
}

describe("fhir: consent mapping", () => {
  it("maps PurposeOfUse codes to purposes", () => {
    const cases: [string, number][] = [
      ["TREAT", Purpose.TREATMENT],
      ["HRESCH", Purpose.RESEARCH],
      ["CLMATTCH", Purpose.INSURANCE_CLAIM],
      ["COVERAGE", Purpose.INSURANCE_CLAIM],
      ["ETREAT", Purpose.EMERGENCY],
      ["PUBHLTH", Purpose.PUBLIC_HEALTH],
      ["CAREMGT", Purpose.CARE_COORDINATION],
      ["CLINTRCH", Purpose.CLINICAL_TRIAL],
      ["PATRQT", Purpose.PERSONAL_USE],
      ["HCOMPL", Purpose.AUDIT],
    ];
    for (const [code, bit] of cases) {
      expect(consentToGrant(consent({ purpose: [purpose(code)] })).purposes, code).to.equal(bit);
    }
    const several = consentToGrant(consent({ purpose: [purpose("TREAT"), purpose("ETREAT")] }));
    expect(several.purposes).to.equal(Purpose.TREATMENT | Purpose.EMERGENCY);
  });

  it("maps consent actions and resource-type classes", () => {
    const grant = consentToGrant(
      consent({
        action: [action("access"), action("disclose"), action("collect")],
        class: [cls("Condition"), cls("AllergyIntolerance"), cls("Patient")],
        purpose: [purpose("TREAT")],
      }),
    );
    expect(grant.actions).to.equal(Action.READ | Action.SHARE | Action.WRITE);
    expect(grant.categories).to.equal(DataCategory.CONDITIONS | DataCategory.ALLERGIES | DataCategory.DEMOGRAPHICS);
  });

  it("reads the window: start and end at their precision, open end as the largest uint40", () => {
    const open = consentToGrant(consent({ period: { start: "2024-02-01" } }));
    expect(open.validFrom).to.equal(Date.UTC(2024, 1, 1) / 1000);
    expect(open.validUntil).to.equal(OPEN_ENDED_UNTIL);
    const month = consentToGrant(consent({ period: { start: "2024-02", end: "2024-02" } }));
    expect([month.validFrom, month.validUntil]).to.deep.equal([
      Date.UTC(2024, 1, 1) / 1000,
      Date.UTC(2024, 2, 1) / 1000,
    ]);
    // without a period, the consent holds from when it was given
    expect(consentToGrant(consent({})).validFrom).to.equal(Date.UTC(2024, 0, 1) / 1000);
  });

  it("limits purposes by scope when no provision names any", () => {
    expect(consentToGrant(consent({}, "OPTIN", "research")).purposes).to.equal(Purpose.RESEARCH);
    expect(consentToGrant(consent({}, "OPTIN", "treatment")).purposes).to.equal(Purpose.TREATMENT);
  });

  it("takes a deny out exactly when it covers the grant in all but one dimension", () => {
    const mapped = mapConsent(
      consent({
        purpose: [purpose("TREAT")],
        provision: [{ type: "deny", class: [cls("MolecularSequence")] }],
      }),
    );
    expect(mapped.grant.categories).to.equal(ALL_CATEGORIES & ~DataCategory.GENOMICS);
    expect(mapped.exact).to.equal(true);
  });

  it("narrows on the safe side, with a note, when a deny is partial in two dimensions", () => {
    const c = consent({
      provision: [
        {
          type: "deny",
          class: [{ system: "https://twinledger.example.org/fhir/CodeSystem/data-category", code: "MENTAL_HEALTH" }],
          purpose: [purpose("HRESCH")],
        },
      ],
    });
    const mapped = mapConsent(c);
    // "no mental health data for research" cannot be one grant: mental health goes for every purpose
    expect(mapped.grant.categories).to.equal(ALL_CATEGORIES & ~DataCategory.MENTAL_HEALTH);
    expect(mapped.grant.purposes).to.equal(ALL_PURPOSES);
    expect(mapped.exact).to.equal(false);
    expect(mapped.notes).to.have.length(1);
    expect(mapped.notes[0]).to.match(/^Consent\.provision\.provision\[0\]: .*MENTAL_HEALTH/);
    expect(unmappable(() => mapConsent(c, { strict: true })).path).to.equal("Consent.provision.provision[0]");
  });

  it("grants an opt-out consent's permits only", () => {
    const grant = consentToGrant(
      consent(
        { provision: [{ type: "permit", class: [cls("Observation")], action: [action("access")] }] },
        "OPTOUT",
        "research",
      ),
    );
    expect(grant).to.include({
      categories: DataCategory.LABS | DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
      actions: Action.READ,
      purposes: Purpose.RESEARCH,
    });
    expect(unmappable(() => mapConsent(consent({}, "OPTOUT"))).path).to.equal("Consent.provision");
  });

  it("unites permits that differ in one dimension and refuses those that differ in more", () => {
    const one = consentToGrant(
      consent({
        provision: [
          { type: "permit", class: [cls("Condition")], purpose: [purpose("TREAT")] },
          { type: "permit", class: [cls("Encounter")], purpose: [purpose("TREAT")] },
        ],
      }),
    );
    expect(one.categories).to.equal(DataCategory.CONDITIONS | DataCategory.ENCOUNTERS);
    const two = consent({
      provision: [
        { type: "permit", class: [cls("Condition")], purpose: [purpose("TREAT")] },
        { type: "permit", class: [cls("Encounter")], purpose: [purpose("HRESCH")] },
      ],
    });
    expect(unmappable(() => consentToGrant(two)).message).to.contain("differ in more than one");
  });

  it("leaves out permits it cannot express and refuses consents that then grant nothing", () => {
    const labelled = consent({
      provision: [
        { type: "permit", class: [cls("Condition")] },
        {
          type: "permit",
          class: [cls("Encounter")],
          securityLabel: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "PSY" }],
        },
      ],
    });
    const mapped = mapConsent(labelled);
    expect(mapped.grant.categories).to.equal(DataCategory.CONDITIONS);
    expect(mapped.notes.some((n) => n.includes("securityLabel cannot be expressed"))).to.equal(true);
    // Condition alone names part of CONDITIONS, which also holds family history: said, not hidden.
    expect(mapped.notes.some((n) => n.includes("CONDITIONS category, which also holds FamilyMemberHistory"))).to.equal(
      true,
    );
    const unknownPurpose = consent({ purpose: [{ system: "http://example.org/purposes", code: "MARKETING" }] });
    expect(unmappable(() => consentToGrant(unknownPurpose)).message).to.contain("grants no purposes");
  });

  it("refuses consents that are not active or have no opt-in/opt-out rule", () => {
    expect(unmappable(() => consentToGrant({ ...consent({}), status: "inactive" })).path).to.equal("Consent.status");
    expect(unmappable(() => consentToGrant(consent({}, "NOPP"))).path).to.equal("Consent.policyRule");
  });

  it("refuses malformed consents as FHIR_INVALID", () => {
    const noScope = consent({});
    delete noScope.scope;
    const error = (() => {
      try {
        consentToGrant(noScope);
      } catch (e) {
        return e;
      }
    })();
    expect(error).to.be.instanceOf(FhirValidationError);
    expect((error as FhirValidationError).path).to.equal("Consent.scope");
    const nestedWithoutType = consent({ provision: [{ class: [cls("Condition")] }] });
    expect(() => consentToGrant(nestedWithoutType)).to.throw(
      FhirValidationError,
      "Consent.provision.provision[0].type",
    );
  });

  it("writes a grant as a valid opt-in Consent naming the grantee", () => {
    const grant: ConsentGrant = {
      categories: mask(DataCategory, ["VITALS", "WEARABLE_STREAMS"]),
      actions: Action.READ | Action.AGGREGATE,
      purposes: Purpose.DEVICE_MONITORING | Purpose.TREATMENT,
      validFrom: 1_700_000_000,
      validUntil: 1_700_086_400,
    };
    const written = grantToConsent(grant, {
      patient: { reference: "Patient/p1" },
      grantee: { reference: "Practitioner/dr-1" },
      id: "grant-1",
    });
    expect(written.status).to.equal("active");
    expect(written.provision?.period).to.deep.equal({ start: "2023-11-14T22:13:20Z", end: "2023-11-15T22:13:19Z" });
    expect(written.provision?.purpose).to.deep.equal([
      { system: ACT_REASON, code: "TREAT" },
      { system: "https://twinledger.example.org/fhir/CodeSystem/purpose", code: "DEVICE_MONITORING" },
    ]);
    const back = mapConsent(written);
    expect(back.grant).to.deep.equal(grant);
    expect(back.grantees).to.deep.equal([{ role: "IRCP", reference: { reference: "Practitioner/dr-1" } }]);
    expect(back.exact).to.equal(true);
  });

  it("refuses to write grants the contract would refuse", () => {
    const good: ConsentGrant = { categories: 1, actions: 1, purposes: 1, validFrom: 0, validUntil: 10 };
    const bad: Partial<ConsentGrant>[] = [
      { categories: 0 },
      { categories: ALL_CATEGORIES + 1 },
      { actions: 1 << 4 },
      { purposes: 0 },
      { validFrom: 10 },
      { validUntil: OPEN_ENDED_UNTIL + 1 },
      { validFrom: -1 },
      { validFrom: FHIR_LAST_SECOND + 1, validUntil: OPEN_ENDED_UNTIL },
    ];
    for (const change of bad) {
      expect(() => grantToConsent({ ...good, ...change }, { patient: { reference: "Patient/p1" } }))
        .to.throw(TwinLedgerError)
        .with.property("code", "INVALID_GRANT");
    }
  });

  it("property: any grant round-trips through a FHIR Consent exactly", () => {
    const bits = (all: number) => fc.integer({ min: 1, max: all });
    const grants = fc
      .record({
        categories: bits(ALL_CATEGORIES),
        actions: bits(ALL_ACTIONS),
        purposes: bits(ALL_PURPOSES),
        from: fc.integer({ min: 0, max: FHIR_LAST_SECOND }),
        length: fc.integer({ min: 1, max: OPEN_ENDED_UNTIL }),
      })
      .map(({ from, length, ...masks }) => ({
        ...masks,
        validFrom: from,
        validUntil: Math.min(OPEN_ENDED_UNTIL, from + length),
      }));
    fc.assert(
      fc.property(grants, (grant) => {
        const written = grantToConsent(grant, { patient: { reference: "Patient/p1" } });
        const mapped = mapConsent(JSON.parse(JSON.stringify(written)), { strict: true });
        // FHIR dates end with the year 9999: a later end is written as none
        const validUntil = grant.validUntil - 1 > FHIR_LAST_SECOND ? OPEN_ENDED_UNTIL : grant.validUntil;
        expect(mapped.grant).to.deep.equal({ ...grant, validUntil });
      }),
      { numRuns: 300 },
    );
  });

  it("the HL7 examples round-trip through grantToConsent", () => {
    for (const file of ["consent-example.json", "consent-example-smartonfhir.json"]) {
      const grant = consentToGrant(sample(file));
      expect(consentToGrant(grantToConsent(grant, { patient: { reference: "Patient/p1" } }))).to.deep.equal(grant);
    }
  });
});
