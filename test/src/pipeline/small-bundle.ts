/** A small EMR export: a Patient and a Condition, or a heart-rate Observation (3 records over 2 ingests). */
export function smallBundle(part: 1 | 2): Record<string, unknown> {
  const subject = { reference: "Patient/p-small" };
  const entries =
    part === 1
      ? [
          { resourceType: "Patient", id: "p-small", name: [{ family: "Test" }], birthDate: "1970-01-01" },
          {
            resourceType: "Condition",
            id: "c-small",
            subject,
            clinicalStatus: {
              coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }],
            },
            code: { coding: [{ system: "http://snomed.info/sct", code: "38341003", display: "Hypertension" }] },
            onsetDateTime: "2020-01-01",
          },
        ]
      : [
          {
            resourceType: "Observation",
            id: "o-small",
            status: "final",
            subject,
            category: [
              {
                coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "vital-signs" }],
              },
            ],
            code: { coding: [{ system: "http://loinc.org", code: "8867-4", display: "Heart rate" }] },
            effectiveDateTime: "2023-05-01T10:00:00Z",
            valueQuantity: { value: 72, unit: "/min", system: "http://unitsofmeasure.org", code: "/min" },
          },
        ];
  return {
    resourceType: "Bundle",
    type: "collection",
    entry: entries.map((resource) => ({
      fullUrl: `http://example.org/fhir/${resource.resourceType}/${resource.id}`,
      resource,
    })),
  };
}
