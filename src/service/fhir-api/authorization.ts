import { hexlify, randomBytes, type Signer } from "ethers";
import { domainOf, GATEWAY_DOMAIN_NAME, QUERY_TYPES, type GatewayQuery } from "../../chain/typed-data";
import { canonicalHash } from "../../twin/canonical";
import { audienceOf, type GatewayAudience } from "../audience";
import { GatewayError } from "../errors";
import { FHIR_CATEGORIES, FHIR_RESOURCE_TYPES, type FhirResourceType } from "../smart-scopes";
import { parseSearch, searchParamsOf, type SearchParams } from "./search";

/**
 * The FHIR API's authorization: the gateway's EIP-712 `Query` (src/chain/typed-data.ts), signed by the reader and
 * carried in a header,
 *
 *     Authorization: TwinLedger <base64url(JSON {query, signature, reader?})>
 *
 * with `query.queryType` `fhir-search` (a search or a read) or `fhir-scopes` (the scopes endpoint), and `params` (not
 * sent: the gateway derives them from the request) `{path, search}`: the request's path below the FHIR base
 * (`Observation`, `Observation/<id>`, `$smart-scopes`) and its query string as a multi-map, each list sorted
 * (`searchParamsOf`). `paramsHash` is keccak256 of their canonical JSON, so the signature covers the URL asked.
 * `category` is what the request reads: for a search, the categories of its resource type narrowed by an Observation
 * `category` parameter (`requestCategories`); for the scopes endpoint, a non-empty subset of the API's categories.
 * Audience, freshness and replay are checked as for `POST /v1/query`: every request needs a fresh signature (a `next`
 * link is a URL to sign anew).
 */
export const AUTHORIZATION_SCHEME = "TwinLedger";
export const FHIR_SEARCH_QUERY_TYPE = "fhir-search";
export const FHIR_SCOPES_QUERY_TYPE = "fhir-scopes";
/** The path of the scopes endpoint below the FHIR base. */
export const SCOPES_PATH = "$smart-scopes";
/** The paths below the FHIR base that take no signature (the CapabilityStatement). */
export const UNSIGNED_PATHS: readonly string[] = ["metadata"];

/** What the header carries. */
export interface SignedFhirRequest {
  readonly query: GatewayQuery;
  readonly signature: string;
  readonly reader?: string;
}

/** The signed params of a FHIR request. */
export interface FhirRequestParams {
  readonly path: string;
  readonly search: SearchParams;
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
/** Largest header value accepted (a signed query is about 700 characters). */
const MAX_HEADER = 4096;

function bad(message: string): GatewayError {
  return new GatewayError("bad-signature", message);
}

const isInt = (value: unknown, max: number): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= max;
const isText = (value: unknown, pattern: RegExp): value is string => typeof value === "string" && pattern.test(value);

/**
 * Reads the `Authorization` header.
 * @throws GatewayError `bad-signature` (401) when it is missing or not a well-formed signed query.
 */
export function parseAuthorization(header: string | undefined): SignedFhirRequest {
  if (header === undefined) throw bad(`send Authorization: ${AUTHORIZATION_SCHEME} <signed query>`);
  const [scheme, token, ...rest] = header.trim().split(/\s+/);
  if (scheme !== AUTHORIZATION_SCHEME || token === undefined || rest.length > 0 || header.length > MAX_HEADER) {
    throw bad(`send Authorization: ${AUTHORIZATION_SCHEME} <signed query>`);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad("the Authorization token is not base64url JSON");
  }
  const { query, signature, reader } = (value ?? {}) as Record<string, unknown>;
  const q = (query ?? {}) as Record<string, unknown>;
  const ok =
    isText(signature, SIGNATURE) &&
    (reader === undefined || isText(reader, ADDRESS)) &&
    isText(q.operator, ADDRESS) &&
    typeof q.origin === "string" &&
    q.origin.length <= 512 &&
    isText(q.twinId, BYTES32) &&
    typeof q.queryType === "string" &&
    isInt(q.category, 0xffffffff) &&
    isInt(q.purpose, 0xffff) &&
    isInt(q.issuedAt, Number.MAX_SAFE_INTEGER) &&
    isText(q.nonce, BYTES32) &&
    isText(q.paramsHash, BYTES32);
  if (!ok) throw bad("the Authorization token is not a signed query");
  const signed: GatewayQuery = {
    operator: q.operator as string,
    origin: q.origin as string,
    twinId: q.twinId as string,
    queryType: q.queryType as string,
    category: q.category as number,
    purpose: q.purpose as number,
    issuedAt: q.issuedAt as number,
    nonce: q.nonce as string,
    paramsHash: q.paramsHash as string,
  };
  return { query: signed, signature: signature as string, ...(reader !== undefined && { reader: reader as string }) };
}

/** The Authorization header value of a signed request. */
export function formatAuthorization(request: SignedFhirRequest): string {
  return `${AUTHORIZATION_SCHEME} ${Buffer.from(JSON.stringify(request), "utf8").toString("base64url")}`;
}

/** The resource type a path below the FHIR base names (`Observation`, `Observation/<id>`), if one the API serves. */
export function resourceTypeOf(path: string): FhirResourceType | undefined {
  const type = path.split("/")[0];
  return (FHIR_RESOURCE_TYPES as readonly string[]).includes(type) ? (type as FhirResourceType) : undefined;
}

/** The categories a request reads, as its signed `category` must name them (see the module comment). */
export function requestCategories(path: string, search: SearchParams): number {
  if (path === SCOPES_PATH) return FHIR_CATEGORIES;
  const type = resourceTypeOf(path);
  if (type === undefined) throw new GatewayError("invalid-params", "no such resource type at this API");
  const id = path.includes("/") ? path.slice(path.indexOf("/") + 1) : undefined;
  return parseSearch(type, search, id).categories;
}

// ---------------------------------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------------------------------

export interface FhirRequestSignerOptions {
  /** The FHIR base as readers reach it, e.g. `https://gateway.example/fhir/r4`. */
  readonly baseUrl: string;
  readonly signer: Signer;
  readonly chainId: bigint | number;
  /** The ConsentPolicy address: the gateway domain's verifyingContract. */
  readonly consentAddress: string;
  /** The gateway operator's address (the audience). */
  readonly operator: string;
  /** The gateway's origin as signed; default the origin of `baseUrl`. */
  readonly origin?: string;
  readonly twinId: string;
  /** The purpose bits signed into every request. */
  readonly purpose: number;
  /** Clock for issuedAt, epoch ms; default Date.now. */
  readonly clock?: () => number;
}

/**
 * Signs FHIR API requests for one reader, twin and purpose: `authorization(url)` is the header value for a GET of
 * `url` (any URL below `baseUrl`, a `next` link included). With fhir-kit-client, pass `requestSigner: (url, init) =>
 * signer.sign(url, init)`: every request, paging included, then carries its own signature.
 */
export class FhirRequestSigner {
  private readonly domain: ReturnType<typeof domainOf>;
  private readonly base: URL;
  readonly audience: GatewayAudience;

  constructor(private readonly options: FhirRequestSignerOptions) {
    this.domain = domainOf(GATEWAY_DOMAIN_NAME, options.chainId, options.consentAddress);
    this.base = new URL(options.baseUrl.replace(/\/+$/, ""));
    this.audience = audienceOf(options.operator, options.origin ?? options.baseUrl);
  }

  /** The signed params of a URL below the base. */
  paramsOf(url: string): FhirRequestParams {
    const target = new URL(url, `${this.base.href}/`);
    const prefix = `${this.base.pathname.replace(/\/+$/, "")}/`;
    if (!target.pathname.startsWith(prefix)) throw new GatewayError("invalid-params", "the URL is not below the base");
    return {
      path: decodeURIComponent(target.pathname.slice(prefix.length)),
      search: searchParamsOf(target.searchParams),
    };
  }

  /** The `Authorization` header value for a GET of `url`. */
  async authorization(url: string, overrides: { nonce?: string; issuedAt?: number; category?: number } = {}) {
    const params = this.paramsOf(url);
    const query: GatewayQuery = {
      ...this.audience,
      twinId: this.options.twinId,
      queryType: params.path === SCOPES_PATH ? FHIR_SCOPES_QUERY_TYPE : FHIR_SEARCH_QUERY_TYPE,
      category: overrides.category ?? requestCategories(params.path, params.search),
      purpose: this.options.purpose,
      issuedAt: overrides.issuedAt ?? Math.floor((this.options.clock ?? Date.now)() / 1000),
      nonce: overrides.nonce ?? hexlify(randomBytes(32)),
      paramsHash: canonicalHash(params),
    };
    const signature = await this.options.signer.signTypedData(this.domain, QUERY_TYPES, query);
    return formatAuthorization({ query, signature, reader: await this.options.signer.getAddress() });
  }

  /** A fhir-kit-client `requestSigner`: sets the Authorization header of each request it sends. */
  async sign(url: string, init: { headers?: unknown }): Promise<void> {
    if (UNSIGNED_PATHS.includes(this.paramsOf(url).path)) return;
    const value = await this.authorization(url);
    if (init.headers instanceof Headers) init.headers.set("authorization", value);
    else init.headers = { ...(init.headers as Record<string, string> | undefined), authorization: value };
  }
}
