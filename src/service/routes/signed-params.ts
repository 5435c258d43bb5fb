import { canonicalHash } from "../../twin/canonical";
import { TwinEngineError } from "../../twin/errors";
import { fail } from "./errors";

/**
 * The params a request carries are the ones its signer signed: keccak256 of their canonical JSON equals the signed
 * `paramsHash` (the query and cohort-query routes both check it, after the signature and before the audience).
 * @throws GatewayError `invalid-params` for a number with no canonical form, `params-mismatch` for other params.
 */
export function checkSignedParams(params: unknown, signedParamsHash: string): void {
  let paramsHash: string;
  try {
    paramsHash = canonicalHash(params);
  } catch (error) {
    if (error instanceof TwinEngineError) fail("invalid-params", "params hold a number with no canonical form");
    throw error;
  }
  if (paramsHash !== signedParamsHash.toLowerCase()) {
    fail("params-mismatch", "keccak256 of the canonical JSON of params is not the signed paramsHash");
  }
}
