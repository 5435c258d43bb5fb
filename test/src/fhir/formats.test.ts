import { expect } from "chai";
import { Readable } from "stream";
import { ingest, ingestNdjson, ingestNdjsonStream, ingestResource, ingestStream } from "../../../src/fhir";
import { vitalObservation } from "./helpers";

/**
 * Issue 11, "input formats": the same resources give the same records whichever form they come
 * in: transaction, batch, collection, searchset, history and document Bundles, single resources,
 * and NDJSON (text or stream).
 */
const patient = { resourceType: "Patient", id: "p1" };
const condition = {
  resourceType: "Condition",
  id: "c1",
  clinicalStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/condition-clinical", code: "active" }] },
  code: { coding: [{ system: "http://snomed.info/sct", code: "38341003", display: "Hypertension" }] },
  subject: { reference: "Patient/p1" },
};
const observation = vitalObservation();
const resources = [patient, condition, observation] as { resourceType: string; id: string }[];
const base = "https://ehr.example.org/fhir";
const fullUrl = (r: { resourceType: string; id: string }) => `${base}/${r.resourceType}/${r.id}`;

const bundle = (type: string, entry: object[]) => ({ resourceType: "Bundle", type, entry });
const request = (method: string) => (r: { resourceType: string; id: string }) => ({
  fullUrl: fullUrl(r),
  resource: r,
  request: { method, url: method === "POST" ? r.resourceType : `${r.resourceType}/${r.id}` },
});

describe("fhir: every input format gives the same records", () => {
  const expected = ingest(
    bundle(
      "collection",
      resources.map((resource) => ({ resource })),
    ),
  ).records;

  const forms: Record<string, () => unknown> = {
    transaction: () => bundle("transaction", resources.map(request("PUT"))),
    batch: () => bundle("batch", resources.map(request("PUT"))),
    searchset: () =>
      bundle(
        "searchset",
        resources.map((r) => ({ fullUrl: fullUrl(r), resource: r, search: { mode: "match" } })),
      ),
    history: () =>
      bundle(
        "history",
        resources.map((r) => ({
          fullUrl: fullUrl(r),
          resource: r,
          request: { method: "PUT", url: `${r.resourceType}/${r.id}` },
          response: { status: "200" },
        })),
      ),
    document: () =>
      bundle("document", [
        {
          fullUrl: `${base}/Composition/doc1`,
          resource: {
            resourceType: "Composition",
            id: "doc1",
            status: "final",
            type: { coding: [{ system: "http://loinc.org", code: "60591-5" }] },
            subject: { reference: "Patient/p1" },
            date: "2024-01-01",
            author: [{ display: "Dr X" }],
            title: "Patient summary",
          },
        },
        ...resources.map((r) => ({ fullUrl: fullUrl(r), resource: r })),
      ]),
  };

  for (const [name, make] of Object.entries(forms)) {
    it(`${name} Bundle`, () => {
      const result = ingest(make());
      expect(result.records).to.deep.equal(expected);
      expect(result.patient).to.equal("Patient/p1");
    });
  }

  it("single resources, one by one", () => {
    const records = resources.flatMap((r) => ingestResource(r, { patient: "Patient/p1" }).records);
    expect(records).to.deep.equal(expected);
  });

  it("NDJSON text and stream, one resource a line (CRLF and blank lines allowed)", async () => {
    const text = `${resources.map((r) => JSON.stringify(r)).join("\r\n")}\n\n`;
    expect(ingestNdjson(text).records).to.deep.equal(expected);
    expect((await ingestNdjsonStream(Readable.from([text.slice(0, 50), text.slice(50)]))).records).to.deep.equal(
      expected,
    );
  });

  it("a Bundle as a stream of text chunks", async () => {
    const text = JSON.stringify(forms.transaction());
    expect((await ingestStream(Readable.from([text.slice(0, 77), text.slice(77)]))).records).to.deep.equal(expected);
  });
});
