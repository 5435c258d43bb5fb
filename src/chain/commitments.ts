import { AbiCoder, dataLength, getBytes, hexlify, isHexString, keccak256, randomBytes, toUtf8Bytes } from "ethers";
import { TwinLedgerError } from "../errors";
import { canonicalJson } from "../twin/canonical";

/**
 * Salted commitments to off-chain text: what the contracts take as a `reasonHash` (emergency access, consent
 * requests) or a `metadataCommitment` (a twin's metadata).
 *
 * A plain `keccak256(text)` is reversed by anyone who can guess the text: a word list of likely reasons
 * ("ambulance 17: unconscious patient") or of likely metadata finds it in microseconds, and equal texts give equal
 * hashes, so twins with the same metadata are linkable. A commitment here is
 *
 *     commitment = keccak256(abi.encode(bytes32 domainTag, bytes32 salt, bytes32 keccak256(content)))
 *     domainTag  = keccak256(utf8(domain))
 *
 * with a fresh 32-byte random salt per commitment. Without the salt, guessing the text gains nothing (2^256 salts to
 * try per guess); with the opening (`{domain, salt, text | bytes}`), anyone can check it (`verifyCommitment`). The
 * domain tag keeps a commitment made for one use from being presented as another (a request reason as an emergency
 * reason). The opening is kept off chain beside the text, by whoever made the commitment (the responder, the
 * requester, the patient's app), and shown only to those who may read the text: it is as sensitive as the text.
 */

/** The domain tags of the three on-chain uses; a commitment under one never verifies under another. */
export const COMMITMENT_DOMAINS = {
  /** `ConsentPolicy.openEmergencyAccess(twinId, duration, reasonHash)`. */
  emergencyReason: "TwinLedger emergency reason v1",
  /** `ConsentPolicy.requestConsent(twinId, categories, purposes, duration, reasonHash)`. */
  requestReason: "TwinLedger request reason v1",
  /** `TwinRegistry.createTwin(salt, metadataCommitment, custodian)` and `updateMetadata`. */
  twinMetadata: "TwinLedger twin metadata v1",
} as const;

/** The domain of `commit` when the caller names none. */
export const DEFAULT_COMMITMENT_DOMAIN = "TwinLedger commitment v1";

/** The ABI types hashed into a commitment: domain tag, salt, content hash. */
export const COMMITMENT_ENCODING = ["bytes32", "bytes32", "bytes32"] as const;

/** Bytes of a salt. */
export const COMMITMENT_SALT_LENGTH = 32;

/**
 * What opens a commitment: the domain, the salt and the content, either text (hashed as UTF-8) or bytes (0x hex).
 * Plain JSON: store it as it is, beside the text, where the text is kept (never on chain, never in a log).
 */
export type CommitmentOpening = {
  readonly domain: string;
  /** The 32-byte salt, 0x-prefixed lower-case hex. */
  readonly salt: string;
} & ({ readonly text: string; readonly bytes?: undefined } | { readonly bytes: string; readonly text?: undefined });

/** A commitment with what opens it. */
export interface Commitment {
  /** The 32-byte commitment to put on chain, 0x-prefixed lower-case hex. */
  readonly commitment: string;
  /** The salt (also in `opening`). */
  readonly salt: string;
  /** Keep off chain, beside the text. */
  readonly opening: CommitmentOpening;
}

export interface CommitOptions {
  /** The domain the commitment is for (`COMMITMENT_DOMAINS`); default `DEFAULT_COMMITMENT_DOMAIN`. */
  readonly domain?: string;
  /**
   * The salt, 32 bytes; default a fresh random one (`crypto.getRandomValues`). Give one only to rebuild a commitment
   * from a stored opening; never reuse a salt across texts or twins, and never use a guessable one (zero is refused).
   */
  readonly salt?: Uint8Array | string;
}

/** The error codes of this module: `COMMITMENT_INVALID_INPUT` (a malformed salt, domain, content or opening). */
export type CommitmentErrorCode = "COMMITMENT_INVALID_INPUT";

/** An error of this module; messages name the offending argument and its shape, never its content. */
export class CommitmentError extends TwinLedgerError {
  declare readonly code: CommitmentErrorCode;

  constructor(code: CommitmentErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const coder = AbiCoder.defaultAbiCoder();

/** keccak256 of a domain's UTF-8 name: the first word of every commitment under it. */
export function commitmentDomainTag(domain: string): string {
  if (typeof domain !== "string" || domain.length === 0) {
    throw new CommitmentError("COMMITMENT_INVALID_INPUT", "domain is not a non-empty string");
  }
  return keccak256(toUtf8Bytes(domain));
}

/**
 * Commits to `content` (text, hashed as UTF-8, or bytes) under a fresh random salt.
 * @returns `{commitment, salt, opening}`: put `commitment` on chain, keep `opening` off chain beside the text.
 * @throws CommitmentError `COMMITMENT_INVALID_INPUT` for a salt that is not 32 bytes or is zero, or an empty domain.
 */
export function commit(content: string | Uint8Array, options: CommitOptions = {}): Commitment {
  const domain = options.domain ?? DEFAULT_COMMITMENT_DOMAIN;
  const salt = saltOf(options.salt);
  const opening: CommitmentOpening =
    typeof content === "string" ? { domain, salt, text: content } : { domain, salt, bytes: hexlify(content) };
  return { commitment: commitmentOf(opening), salt, opening };
}

/**
 * Recomputes the commitment an opening opens.
 * @throws CommitmentError `COMMITMENT_INVALID_INPUT` for a malformed opening.
 */
export function commitmentOf(opening: CommitmentOpening): string {
  const tag = commitmentDomainTag(opening.domain);
  const salt = checkSalt(opening.salt, "opening.salt");
  return keccak256(coder.encode(COMMITMENT_ENCODING, [tag, salt, keccak256(contentBytes(opening))]));
}

/**
 * Whether `opening` opens `commitment`; `expectedDomain`, when given, must also be the opening's domain (check it:
 * an opening for another use must not pass as one for this use). A malformed commitment or opening is `false`.
 */
export function verifyCommitment(commitment: string, opening: CommitmentOpening, expectedDomain?: string): boolean {
  if (!isHexString(commitment, 32)) return false;
  if (expectedDomain !== undefined && opening.domain !== expectedDomain) return false;
  try {
    return commitmentOf(opening) === commitment.toLowerCase();
  } catch {
    return false;
  }
}

/** The `reasonHash` of `openEmergencyAccess`: a salted commitment to the reason text. */
export function emergencyReasonCommitment(reason: string, options: Omit<CommitOptions, "domain"> = {}): Commitment {
  return commit(nonEmptyText(reason, "reason"), { ...options, domain: COMMITMENT_DOMAINS.emergencyReason });
}

/** The `reasonHash` of `requestConsent`: a salted commitment to the reason text. */
export function requestReasonCommitment(reason: string, options: Omit<CommitOptions, "domain"> = {}): Commitment {
  return commit(nonEmptyText(reason, "reason"), { ...options, domain: COMMITMENT_DOMAINS.requestReason });
}

/**
 * The `metadataCommitment` of `createTwin` / `updateMetadata`: a salted commitment to the canonical JSON of the
 * twin's metadata (src/twin/canonical.ts: keys sorted, no whitespace), so that equal metadata of two twins gives
 * unrelated commitments, and the same metadata object always opens its commitment whatever its key order.
 * @throws TwinEngineError `TWIN_NOT_CANONICAL` if the metadata holds a value canonical JSON refuses (NaN, ±Infinity).
 */
export function twinMetadataCommitment(
  metadata: Readonly<Record<string, unknown>>,
  options: Omit<CommitOptions, "domain"> = {},
): Commitment {
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new CommitmentError("COMMITMENT_INVALID_INPUT", "metadata is not a JSON object");
  }
  return commit(canonicalJson(metadata), { ...options, domain: COMMITMENT_DOMAINS.twinMetadata });
}

function saltOf(salt: Uint8Array | string | undefined): string {
  if (salt === undefined) return hexlify(randomBytes(COMMITMENT_SALT_LENGTH));
  return checkSalt(salt, "salt");
}

function checkSalt(salt: Uint8Array | string, name: string): string {
  if (!(salt instanceof Uint8Array) && !isHexString(salt)) {
    throw new CommitmentError("COMMITMENT_INVALID_INPUT", `${name} is not 0x-prefixed hex or bytes`);
  }
  if (dataLength(salt) !== COMMITMENT_SALT_LENGTH) {
    throw new CommitmentError("COMMITMENT_INVALID_INPUT", `${name} is ${dataLength(salt)} bytes, expected 32`);
  }
  const bytes = getBytes(salt);
  if (bytes.every((b) => b === 0)) throw new CommitmentError("COMMITMENT_INVALID_INPUT", `${name} is zero`);
  return hexlify(bytes);
}

function contentBytes(opening: CommitmentOpening): Uint8Array {
  if (typeof opening.text === "string" && opening.bytes === undefined) return toUtf8Bytes(opening.text);
  if (typeof opening.bytes === "string" && opening.text === undefined && isHexString(opening.bytes)) {
    return getBytes(opening.bytes);
  }
  throw new CommitmentError("COMMITMENT_INVALID_INPUT", "opening holds neither text nor 0x-hex bytes (exactly one)");
}

function nonEmptyText(text: string, name: string): string {
  if (typeof text !== "string" || text.length === 0) {
    throw new CommitmentError("COMMITMENT_INVALID_INPUT", `${name} is not a non-empty string`);
  }
  return text;
}
