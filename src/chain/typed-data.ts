import {
  concat,
  getBytes,
  hexlify,
  randomBytes,
  TypedDataEncoder,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import { bytesToHex } from "@noble/hashes/utils.js";
import { keccak256 } from "../crypto/keccak";
import { FlatStructHasher } from "./flat-struct-hash";
import { twinIdOf } from "./twin-id";

/**
 * The EIP-712 domains and types of TwinLedger's signed actions, in one place. The contracts hold the
 * same strings (TwinRegistry.CREATE_TWIN_TYPEHASH, ConsentPolicy.GRANT_TYPEHASH); tests hold them equal.
 */

export const REGISTRY_DOMAIN_NAME = "TwinLedger TwinRegistry";
export const CONSENT_DOMAIN_NAME = "TwinLedger ConsentPolicy";
export const DOMAIN_VERSION = "1";

export function domainOf(name: string, chainId: bigint | number, verifyingContract: string): TypedDataDomain {
  return { name, version: DOMAIN_VERSION, chainId, verifyingContract };
}

export const CREATE_TWIN_TYPES: Record<string, TypedDataField[]> = {
  CreateTwin: [
    { name: "patient", type: "address" },
    { name: "salt", type: "bytes32" },
    { name: "metadataCommitment", type: "bytes32" },
    { name: "custodian", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const GRANT_TYPES: Record<string, TypedDataField[]> = {
  Grant: [
    { name: "twinId", type: "bytes32" },
    { name: "grantee", type: "address" },
    { name: "categories", type: "uint32" },
    { name: "actions", type: "uint8" },
    { name: "purposes", type: "uint16" },
    { name: "validFrom", type: "uint40" },
    { name: "validUntil", type: "uint40" },
    { name: "signer", type: "address" },
    { name: "epoch", type: "uint32" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/**
 * How long a signed grant stays relayable when the caller names no deadline: short, so that a signature the patient
 * did not mean to leave lying around soon stops mattering (a revoke, a newer grant or `cancelNonce` void it sooner).
 */
export const GRANT_SIGNATURE_LIFETIME = 15 * 60;

/** The terms of a grant, as `ConsentPolicy.grant` and `grantBySig` take them. */
export interface GrantTerms {
  twinId: string;
  grantee: string;
  categories: number;
  actions: number;
  purposes: number;
  validFrom: number;
  validUntil: number;
}

export interface SignedGrant {
  terms: GrantTerms;
  signer: string;
  /** The (twin, grantee) pair's epoch the signature names (`ConsentPolicy.grantEpochOf`). */
  epoch: number;
  nonce: bigint;
  deadline: number;
  signature: string;
}

/**
 * Signs a grant off chain for `ConsentPolicy.grantBySig`, to be relayed by anyone:
 * `grantBySig(s.terms, s.signer, s.epoch, s.nonce, s.deadline, s.signature)`.
 * @param nonce Any of the signer's nonces not used or cancelled yet (`ConsentPolicy.nonceUsed`); they are unordered.
 * Numbering them from zero is cheapest on chain (256 share a storage word); a random one never collides.
 * @param deadline Last second (unix) the signature may be relayed; by default `GRANT_SIGNATURE_LIFETIME` from the
 * latest block's time (or from the clock without a provider).
 * @param epoch The pair's current epoch, `ConsentPolicy.grantEpochOf(terms.twinId, terms.grantee)`: any grant, update
 * or revoke of the pair by the patient voids a signature made for an earlier epoch. Zero for a pair never written.
 */
export async function signGrant(
  signer: Signer,
  consent: { chainId: bigint | number; address: string },
  terms: GrantTerms,
  nonce: bigint,
  deadline?: number,
  epoch = 0,
): Promise<SignedGrant> {
  const signerAddress = await signer.getAddress();
  const until = deadline ?? (await currentTime(signer)) + GRANT_SIGNATURE_LIFETIME;
  const signature = await signer.signTypedData(
    domainOf(CONSENT_DOMAIN_NAME, consent.chainId, consent.address),
    GRANT_TYPES,
    { ...terms, signer: signerAddress, epoch, nonce, deadline: until },
  );
  return { terms, signer: signerAddress, epoch, nonce, deadline: until, signature };
}

/** A random 256-bit nonce for `signGrant`, for signers who do not keep count (one fresh storage word each on chain). */
export function randomGrantNonce(): bigint {
  return BigInt(hexlify(randomBytes(32)));
}

/** The chain's time (the latest block's timestamp) when the signer has a provider, else the clock, in unix seconds. */
async function currentTime(signer: Signer): Promise<number> {
  const block = signer.provider ? await signer.provider.getBlock("latest") : null;
  return block ? block.timestamp : Math.floor(Date.now() / 1000);
}

/**
 * How long a `CreateTwin` signature stays valid when the caller names no deadline: 15 minutes. A custodian submits
 * it at once; a short life limits what a leaked, unrelayed signature can do.
 */
export const CREATE_TWIN_DEADLINE_SECONDS = 15 * 60;

/** What the patient signs for `TwinRegistry.createTwinFor`. */
export interface CreateTwinRequest {
  /** The patient's salt; the twin's id is `twinIdOf(patient, salt)`. */
  salt: string;
  metadataCommitment: string;
  /** The custodian that will submit it (the contract takes `msg.sender`). */
  custodian: string;
  /** The patient's current nonce (`TwinRegistry.nonces(patient)`). */
  nonce: bigint;
  /** Unix seconds; defaults to `now + CREATE_TWIN_DEADLINE_SECONDS`. */
  deadline?: number;
}

/** A signed `CreateTwin`, with everything `createTwinFor` takes and the id the twin will get. */
export interface SignedCreateTwin {
  patient: string;
  salt: string;
  metadataCommitment: string;
  custodian: string;
  nonce: bigint;
  deadline: number;
  /** `twinIdOf(patient, salt)`. */
  twinId: string;
  signature: string;
}

/**
 * The patient's signature letting `custodian` create their twin with `TwinRegistry.createTwinFor`. Without a
 * deadline, the signature is valid for `CREATE_TWIN_DEADLINE_SECONDS` from `now` (Unix seconds; defaults to the
 * local clock; pass the chain's latest block time where the two differ).
 */
export async function signCreateTwin(
  patient: Signer,
  registry: { chainId: bigint | number; address: string },
  request: CreateTwinRequest,
  now: number = Math.floor(Date.now() / 1000),
): Promise<SignedCreateTwin> {
  const patientAddress = await patient.getAddress();
  const value = {
    patient: patientAddress,
    salt: request.salt,
    metadataCommitment: request.metadataCommitment,
    custodian: request.custodian,
    nonce: request.nonce,
    deadline: request.deadline ?? now + CREATE_TWIN_DEADLINE_SECONDS,
  };
  const signature = await patient.signTypedData(
    domainOf(REGISTRY_DOMAIN_NAME, registry.chainId, registry.address),
    CREATE_TWIN_TYPES,
    value,
  );
  return { ...value, twinId: twinIdOf(patientAddress, request.salt), signature };
}

/**
 * The query gateway's domain: `{name: GATEWAY_DOMAIN_NAME, version: "1", chainId, verifyingContract: ConsentPolicy}`.
 * The gateway is off chain; binding its signatures to the ConsentPolicy address and chain id keeps a query signed for
 * one deployment from being replayed against another.
 */
export const GATEWAY_DOMAIN_NAME = "TwinLedger Gateway";

/**
 * A reader's signed query (src/service): `paramsHash` is keccak256 of the canonical JSON of the query's params.
 * `operator` and `origin` are its audience: the address of the gateway's operator (the custodian that runs it) and
 * the gateway's origin (`scheme://host[:port]`, as `new URL(base).origin` writes it); a gateway refuses a query
 * addressed to another (issue 10, item 5), so a body seen in transit cannot be replayed to another gateway.
 */
export const QUERY_TYPES: Record<string, TypedDataField[]> = {
  Query: [
    { name: "operator", type: "address" },
    { name: "origin", type: "string" },
    { name: "twinId", type: "bytes32" },
    { name: "queryType", type: "string" },
    { name: "category", type: "uint32" },
    { name: "purpose", type: "uint16" },
    { name: "issuedAt", type: "uint64" },
    { name: "nonce", type: "bytes32" },
    { name: "paramsHash", type: "bytes32" },
  ],
};

/** A signed request for a twin's access log, by the twin's owner or delegate or an auditor (src/service). */
export const ACCESS_LOG_REQUEST_TYPES: Record<string, TypedDataField[]> = {
  AccessLogRequest: [
    { name: "operator", type: "address" },
    { name: "origin", type: "string" },
    { name: "twinId", type: "bytes32" },
    { name: "issuedAt", type: "uint64" },
    { name: "nonce", type: "bytes32" },
  ],
};

/**
 * A study sponsor's signed cohort query (src/service/routes/research.ts): an aggregate over the twins enrolled in
 * `studyId` at `atBlock` (0: the gateway's head), `paramsHash` keccak256 of the canonical JSON of the query's params
 * (aggregate, subject, window, ε, …). Same domain and audience as `Query`; nonces share the sponsor's replay window.
 */
export const COHORT_QUERY_TYPES: Record<string, TypedDataField[]> = {
  CohortQuery: [
    { name: "operator", type: "address" },
    { name: "origin", type: "string" },
    { name: "studyId", type: "uint256" },
    { name: "atBlock", type: "uint64" },
    { name: "issuedAt", type: "uint64" },
    { name: "nonce", type: "bytes32" },
    { name: "paramsHash", type: "bytes32" },
  ],
};

/** The fields of a signed cohort query, as `COHORT_QUERY_TYPES` lists them. */
export interface CohortQueryRequest {
  /** The audience: the gateway operator's address. */
  operator: string;
  /** The audience: the gateway's origin, `scheme://host[:port]`. */
  origin: string;
  /** The study's id, a decimal string (uint256). */
  studyId: string;
  /** The block the answer is computed at; 0 asks for the gateway's head. */
  atBlock: number;
  /** Unix seconds. */
  issuedAt: number;
  nonce: string;
  paramsHash: string;
}

/** The fields of a signed gateway query, as `QUERY_TYPES` lists them. */
export interface GatewayQuery {
  /** The audience: the gateway operator's address. */
  operator: string;
  /** The audience: the gateway's origin, `scheme://host[:port]`. */
  origin: string;
  twinId: string;
  queryType: string;
  category: number;
  purpose: number;
  /** Unix seconds. */
  issuedAt: number;
  nonce: string;
  paramsHash: string;
}

/** The fields of a signed access-log request, as `ACCESS_LOG_REQUEST_TYPES` lists them. */
export interface AccessLogRequest {
  /** The audience: the gateway operator's address. */
  operator: string;
  /** The audience: the gateway's origin, `scheme://host[:port]`. */
  origin: string;
  twinId: string;
  /** Unix seconds. */
  issuedAt: number;
  nonce: string;
}

/**
 * An EIP-712 typed-data hasher for one domain and one struct type, with the encoder and the domain separator built
 * once: `digest(value)` is `keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(value))`, what
 * `TypedDataEncoder.hash(domain, types, value)` gives, without rebuilding them on every call (the gateway hashes
 * every request, a client every query). Hashes with src/crypto/keccak.ts (native where it loads, noble in the browser).
 */
export class TypedDataHasher {
  private readonly struct: FlatStructHasher;
  private readonly prefix: Uint8Array;
  readonly domainSeparator: string;

  constructor(domain: TypedDataDomain, types: Record<string, TypedDataField[]>) {
    this.struct = new FlatStructHasher(types);
    this.domainSeparator = TypedDataEncoder.hashDomain(domain);
    this.prefix = getBytes(concat(["0x1901", this.domainSeparator]));
  }

  digest(value: object): string {
    const message = new Uint8Array(66);
    message.set(this.prefix, 0);
    message.set(this.struct.hashStruct(value as Record<string, unknown>), 34);
    return `0x${bytesToHex(keccak256(message))}`;
  }
}
