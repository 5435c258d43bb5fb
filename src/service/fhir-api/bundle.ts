import type { Bundle, BundleLink, Extension, OperationOutcome } from "@medplum/fhirtypes";
import { exportBundle } from "../../fhir/export";
import type { ProvenRecord, RecordAnchor, StateAnchor } from "../../pipeline/reader";
import type { AnswerProofs, RecordProof } from "../queries";
import type { SearchParams } from "./search";

/**
 * The FHIR API's answers: searchset Bundles of the records the consent allows, with their proofs in extensions, and
 * OperationOutcomes for refusals.
 *
 * Proofs: `Bundle.meta.extension` holds the state anchor the page was read at ({@link EXTENSION.state}, the
 * `StateAnchor` as JSON), the access-log entry of the request ({@link EXTENSION.logIndex}) and the categories answered
 * ({@link EXTENSION.categories}); each `Bundle.entry.extension` holds its record's anchor ({@link EXTENSION.record},
 * the `RecordAnchor` as JSON: a leaf of a record batch with its Merkle proof, or a v1 update), what `verifyAnswer`
 * checks for a `fhir-export` (see {@link proofsOfBundle}).
 *
 * Nothing counts what the consent hides: no `Bundle.total`, and paging over the allowed matches only (a `next` link
 * when more of them remain, with its `_offset` among them).
 */
export const EXTENSION = {
  state: "https://twinledger.dev/fhir/StructureDefinition/state-anchor",
  record: "https://twinledger.dev/fhir/StructureDefinition/record-anchor",
  logIndex: "https://twinledger.dev/fhir/StructureDefinition/access-log-index",
  categories: "https://twinledger.dev/fhir/StructureDefinition/categories",
} as const;

/** The system of the gateway's error and refusal codes in `OperationOutcome.issue.details`. */
export const ERROR_CODE_SYSTEM = "https://twinledger.dev/fhir/CodeSystem/gateway-error";

export const FHIR_JSON = "application/fhir+json; charset=utf-8";

/** A page of matches to answer. */
export interface SearchPage {
  /** The FHIR base as readers reach it (`<origin>/fhir/r4`). */
  readonly base: string;
  /** The path below the base (`Observation`). */
  readonly path: string;
  readonly search: SearchParams;
  /** The allowed matches of the whole search, in the twin's order. */
  readonly matches: readonly ProvenRecord[];
  readonly offset: number;
  readonly count: number;
  readonly categories: number;
  readonly state: StateAnchor | null;
}

function urlOf(base: string, path: string, search: SearchParams, offset?: number): string {
  const query = new URLSearchParams();
  for (const name of Object.keys(search).sort()) {
    if (name === "_offset") continue;
    for (const value of search[name]) query.append(name, value);
  }
  if (offset !== undefined && offset > 0) query.set("_offset", String(offset));
  const text = query.toString();
  return `${base}/${path}${text === "" ? "" : `?${text}`}`;
}

/** The searchset Bundle of one page, its proofs in extensions, no total (the log index is stamped after). */
export function searchsetOf(page: SearchPage): Bundle {
  const slice = page.matches.slice(page.offset, page.offset + page.count);
  const bundle = exportBundle(
    slice.map((p) => p.record),
    page.categories,
    { type: "searchset", fullUrlBase: page.base },
  );
  delete bundle.total; // a total would be a count; the matches are only the allowed ones, but no count is answered
  const link: BundleLink[] = [{ relation: "self", url: urlOf(page.base, page.path, page.search, page.offset) }];
  if (page.offset + page.count < page.matches.length) {
    link.push({ relation: "next", url: urlOf(page.base, page.path, page.search, page.offset + page.count) });
  }
  const meta: Extension[] = [
    ...(page.state !== null ? [{ url: EXTENSION.state, valueString: JSON.stringify(page.state) }] : []),
    { url: EXTENSION.categories, valueUnsignedInt: page.categories },
  ];
  return {
    resourceType: "Bundle",
    meta: { extension: meta },
    type: "searchset",
    link,
    ...(bundle.entry !== undefined && {
      entry: bundle.entry.map((entry, i) => ({
        extension: [{ url: EXTENSION.record, valueString: JSON.stringify(slice[i].anchor) }],
        ...entry,
      })),
    }),
  };
}

/** Adds the access-log entry of the request that read the Bundle to its meta. */
export function stampLogIndex(bundle: Bundle, logIndex: number): Bundle {
  const extension = [...(bundle.meta?.extension ?? []), { url: EXTENSION.logIndex, valueUnsignedInt: logIndex }];
  return { ...bundle, meta: { ...bundle.meta, extension } };
}

/** The proofs a Bundle of this API carries, as `verifyAnswer` takes them, and its access-log entry. */
export function proofsOfBundle(bundle: Bundle): { proofs: AnswerProofs; logIndex: number | null } {
  const meta = bundle.meta?.extension ?? [];
  const state = meta.find((e) => e.url === EXTENSION.state)?.valueString;
  const logIndex = meta.find((e) => e.url === EXTENSION.logIndex)?.valueUnsignedInt ?? null;
  const records: RecordProof[] = (bundle.entry ?? []).flatMap((entry) => {
    const anchor = entry.extension?.find((e) => e.url === EXTENSION.record)?.valueString;
    const resource = entry.resource;
    return anchor === undefined || resource === undefined
      ? []
      : [{ key: `${resource.resourceType}/${resource.id}`, anchor: JSON.parse(anchor) as RecordAnchor }];
  });
  return { proofs: { state: state === undefined ? null : (JSON.parse(state) as StateAnchor), records }, logIndex };
}

/** FHIR's issue type for an HTTP status. */
function issueType(status: number): OperationOutcome["issue"][number]["code"] {
  if (status === 401) return "login";
  if (status === 403) return "forbidden";
  if (status === 404) return "not-found";
  if (status === 409) return "conflict";
  if (status === 410) return "deleted";
  if (status === 413) return "too-costly";
  if (status === 429) return "throttled";
  if (status === 503) return "transient";
  if (status >= 500) return "exception";
  return "invalid";
}

/** An OperationOutcome of one error issue: the gateway's code in `details`, the message in `diagnostics`. */
export function operationOutcome(status: number, code: string, message: string): OperationOutcome {
  return {
    resourceType: "OperationOutcome",
    issue: [
      {
        severity: "error",
        code: issueType(status),
        details: { coding: [{ system: ERROR_CODE_SYSTEM, code }], text: message },
        diagnostics: message,
      },
    ],
  };
}
