import { getAddress, isAddress, type ContractRunner } from "ethers";
import { checksumOrNull } from "../crypto/address";
import { GatewayError } from "./errors";

/**
 * The audience of a signed request (issue 10, item 5): which gateway it is addressed to. Every `Query` and
 * `AccessLogRequest` signs the gateway operator's address and the gateway's origin; a gateway answers only requests
 * addressed to its own operator and origin, so a body seen in transit (a proxy, a log, another operator's gateway)
 * cannot be replayed to another gateway. Replicas of one operator behind one origin share the audience and must
 * share the nonce store (src/service/nonces.ts).
 */
export interface GatewayAudience {
  /** The operator's address, checksummed: the custodian whose key runs the gateway. */
  readonly operator: string;
  /** `scheme://host[:port]`, normalized by {@link originOf}. */
  readonly origin: string;
}

/**
 * The origin of a URL as the signature carries it: `new URL(url).origin` (scheme and host lower case, the default
 * port dropped, no path and no trailing slash), so `HTTP://Gateway.example:443/` and `https://gateway.example` differ
 * by scheme only where they really differ.
 * @throws GatewayError `wrong-audience` when `url` is not an absolute http(s) URL.
 */
export function originOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GatewayError("wrong-audience", "the origin is not an absolute URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new GatewayError("wrong-audience", "the origin must be http or https");
  }
  return parsed.origin;
}

/** The audience of a gateway, checked and normalized. */
export function audienceOf(operator: string, origin: string): GatewayAudience {
  if (!isAddress(operator)) throw new GatewayError("internal", "the gateway's operator is not an address");
  return { operator: getAddress(operator), origin: originOf(origin) };
}

/**
 * The checksummed form of an address (null when it is none): cached in src/crypto/address.ts (a checksum per query was
 * 4% of its CPU); ethers for the forms it alone takes (ICAP).
 */
function checksummed(address: string): string | null {
  return checksumOrNull(address) ?? (isAddress(address) ? getAddress(address) : null);
}

/** The last origin found to be its own {@link originOf} (a gateway's own origin: parsed once, not per request). */
let lastNormalizedOrigin: string | null = null;

function isNormalizedOrigin(origin: string): boolean {
  if (origin === lastNormalizedOrigin) return true;
  let normalized: string;
  try {
    normalized = originOf(origin);
  } catch {
    return false;
  }
  if (normalized !== origin) return false;
  lastNormalizedOrigin = origin;
  return true;
}

/**
 * Refuses a request addressed to another gateway (401 `wrong-audience`). The signature covers the audience the
 * request names, so comparing the named audience with ours is enough once the signature is checked; a request
 * whose named audience was altered does not recover its signer.
 */
export function checkAudience(named: { operator: string; origin: string }, ours: GatewayAudience | null): void {
  if (ours === null) throw new GatewayError("wrong-audience", "the gateway does not know its origin yet");
  if (checksummed(named.operator) !== ours.operator) {
    throw new GatewayError("wrong-audience", "the query is addressed to another gateway operator");
  }
  // Exact string equality with ours: what was signed must be our origin as written, not merely equivalent to it; and
  // ours must be an origin as originOf writes it (so the named one is too), which is checked once, not per request.
  if (named.origin !== ours.origin || !isNormalizedOrigin(ours.origin)) {
    throw new GatewayError("wrong-audience", "the query is addressed to another gateway origin");
  }
}

/**
 * The gateway's operator: `operator` when given, else the address of the signer `updateLog` is connected to (the
 * custodian that anchors the access log).
 * @throws GatewayError `internal` when neither names one.
 */
export function operatorOf(options: {
  readonly operator?: string;
  readonly updateLog?: { readonly runner: ContractRunner | null };
}): Promise<string> {
  if (options.operator !== undefined) {
    if (!isAddress(options.operator)) throw new GatewayError("internal", "the gateway's operator is not an address");
    return Promise.resolve(getAddress(options.operator));
  }
  const runner = options.updateLog?.runner as { getAddress?: () => Promise<string> } | null | undefined;
  if (runner?.getAddress === undefined) {
    throw new GatewayError(
      "internal",
      "the gateway needs its operator's address: pass `operator`, or an updateLog connected to the operator",
    );
  }
  return runner.getAddress().then((address) => getAddress(address));
}
