import { isAbsoluteUri, type Checker, type Json } from "./check";

/** The Bundle-level rules of R4 (bdl-1 … bdl-8) that each entry of a Bundle must keep. */

export const BUNDLE_TYPES = [
  "document",
  "message",
  "transaction",
  "transaction-response",
  "batch",
  "batch-response",
  "history",
  "searchset",
  "collection",
] as const;
export type BundleType = (typeof BUNDLE_TYPES)[number];

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"] as const;
const SEARCH_MODES = ["match", "include", "outcome"] as const;

/** Bundle-level rules of one entry; returns its fullUrl and search mode. */
export function checkEntry(
  entry: Json,
  i: number,
  type: BundleType,
  c: Checker,
  fullUrls: Map<string, number>,
): { fullUrl?: string; searchMode?: string } {
  const path = `Bundle.entry[${i}]`;
  let fullUrl: string | undefined;
  if (entry.fullUrl !== undefined) {
    fullUrl = c.uri(entry.fullUrl, `${path}.fullUrl`);
    if (!isAbsoluteUri(fullUrl)) c.fail(`${path}.fullUrl`, "fullUrl must be an absolute URI, not a relative reference");
    if (/\/_history\//.test(fullUrl))
      c.fail(`${path}.fullUrl`, "fullUrl cannot be a version-specific reference (bdl-8)");
    const version = versionOf(entry.resource);
    const key = type === "history" ? `${fullUrl}|${version ?? ""}` : fullUrl;
    const earlier = fullUrls.get(key);
    if (earlier !== undefined)
      c.fail(`${path}.fullUrl`, `fullUrl is not unique: entry[${earlier}] has the same (bdl-7)`);
    fullUrls.set(key, i);
  }
  const needsRequest = type === "transaction" || type === "batch" || type === "history";
  let method: string | undefined;
  if (entry.request !== undefined) {
    if (!needsRequest) c.fail(`${path}.request`, "only transaction, batch and history entries have a request (bdl-3)");
    const request = c.object(entry.request, `${path}.request`);
    method = c.code(request.method, `${path}.request.method`, METHODS);
    c.required(request.url, `${path}.request.url`);
    c.uri(request.url, `${path}.request.url`);
  } else if (needsRequest) {
    c.fail(`${path}.request`, `a ${type} entry needs a request (bdl-3)`);
  }
  let searchMode: string | undefined;
  if (entry.search !== undefined) {
    if (type !== "searchset") c.fail(`${path}.search`, "only searchset entries have search (bdl-2)");
    const search = c.object(entry.search, `${path}.search`);
    searchMode = c.optCode(search.mode, `${path}.search.mode`, SEARCH_MODES);
    if (search.score !== undefined) c.decimal(search.score, `${path}.search.score`);
  }
  const responses = type === "transaction-response" || type === "batch-response" || type === "history";
  if (entry.response !== undefined && !responses)
    c.fail(`${path}.response`, "only response and history entries have a response (bdl-4)");
  if (entry.resource === undefined) {
    const bodiless = method === "GET" || method === "HEAD" || method === "DELETE" || responses;
    if (!bodiless) c.fail(`${path}.resource`, "required element is missing");
  }
  return { fullUrl, searchMode };
}

function versionOf(resource: unknown): string | undefined {
  if (typeof resource !== "object" || resource === null) return undefined;
  const meta = (resource as Json).meta;
  if (typeof meta !== "object" || meta === null) return undefined;
  const v = (meta as Json).versionId;
  return typeof v === "string" ? v : undefined;
}
