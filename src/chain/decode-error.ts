import {
  ErrorFragment,
  getAddress,
  id,
  Interface,
  isHexString,
  verifyTypedData,
  ZeroHash,
  type TypedDataDomain,
} from "ethers";
import {
  ConsentPolicy__factory,
  DeviceRegistry__factory,
  StudyRegistry__factory,
  TwinRegistry__factory,
  TwinUpdateLog__factory,
} from "../../typechain-types";
import { TwinLedgerError } from "../errors";
import { SourceKind, TwinStatus } from "../vocabulary";
import { ERROR_FIXES, PANIC_REASONS } from "./error-catalog";
import { CONSENT_DOMAIN_NAME, domainOf, GRANT_TYPES, type GrantTerms } from "./typed-data";

/**
 * Reverts made readable. On a real send ethers reports only "execution reverted (unknown custom error)"; `decodeError`
 * finds the revert data wherever the provider put it and names the contract's custom error, its arguments and what
 * to do. `diagnoseGrantSignature` says which chain and contract a `grantBySig` signature was made for.
 */

/** A decoded argument: integers as bigint, addresses and fixed bytes as hex strings, enums by name. */
export type DecodedArg = bigint | string | boolean;

export type DecodedErrorKind =
  /** One of the contracts' custom errors (or an OpenZeppelin error they raise). */
  | "custom"
  /** `Panic(uint256)`: an assert, an overflow, an index out of bounds. */
  | "panic"
  /** `Error(string)`: a `require` with a message. */
  | "revert"
  /** A revert without data (out of gas, a call to an address without code, a bare `revert()`). */
  | "empty"
  /** Revert data whose selector none of the contracts declares. */
  | "unknown"
  /** Not a revert at all (a network error, a bad argument): `message` is the error's own. */
  | "other";

export interface DecodedError {
  readonly kind: DecodedErrorKind;
  /** The contract that raised it: the transaction's target when known, else the first that declares the error. */
  readonly contract: string | null;
  /** Every contract whose ABI declares this error (several share `InvalidSignature(address)`, for instance). */
  readonly contracts: readonly string[];
  /** The error's name: `NotCustodian`, `Panic`, `Error`, or `unknown`. */
  readonly name: string;
  /** `Name(type,...)` as in the ABI, or null. */
  readonly signature: string | null;
  /** The first four bytes of the revert data, or null when there was none. */
  readonly selector: string | null;
  /** The arguments by their names in the ABI. */
  readonly args: Readonly<Record<string, DecodedArg>>;
  /** The raw revert data, or null. */
  readonly data: string | null;
  /** One or two sentences: what went wrong and what to do. */
  readonly message: string;
  /** For `InvalidSignature` on `grantBySig`: where the signature was made for, when decodeError could tell. */
  readonly grantSignature?: GrantSignatureDiagnosis;
}

/** The contracts whose errors decodeError knows, by name. */
const ABIS = {
  TwinRegistry: TwinRegistry__factory.abi,
  ConsentPolicy: ConsentPolicy__factory.abi,
  TwinUpdateLog: TwinUpdateLog__factory.abi,
  StudyRegistry: StudyRegistry__factory.abi,
  DeviceRegistry: DeviceRegistry__factory.abi,
} as const;
const CONTRACT_NAMES = Object.keys(ABIS).join(", ");

interface Declaration {
  readonly fragment: ErrorFragment;
  /** The Solidity types of the arguments (`enum TwinStatus`...), which ethers' fragments do not keep. */
  readonly internalTypes: readonly string[];
}

/**
 * One error signature. `fragment` is its first declarer's (the catalog's `{arg}` names are that one's); `declarations`
 * holds each declarer's own, whose argument names may differ (`InvalidWindow(uint40,uint40)`: ConsentPolicy's
 * `validFrom, validUntil`, StudyRegistry's `windowStart, windowEnd`).
 */
interface KnownError extends Declaration {
  readonly contracts: string[];
  readonly declarations: Map<string, Declaration>;
}

interface AbiErrorEntry {
  readonly type: string;
  readonly inputs?: readonly { readonly internalType?: string }[];
}

const KNOWN_ERRORS: ReadonlyMap<string, KnownError> = (() => {
  const out = new Map<string, KnownError>();
  for (const [name, abi] of Object.entries(ABIS)) {
    for (const entry of abi as readonly AbiErrorEntry[]) {
      if (entry.type !== "error") continue;
      const fragment = ErrorFragment.from(entry);
      const declaration = { fragment, internalTypes: (entry.inputs ?? []).map((i) => i.internalType ?? "") };
      const known = out.get(fragment.selector);
      if (known) {
        known.contracts.push(name);
        known.declarations.set(name, declaration);
      } else
        out.set(fragment.selector, { ...declaration, contracts: [name], declarations: new Map([[name, declaration]]) });
    }
  }
  return out;
})();

/** Every custom error of the five contracts: its signature, selector and the contracts that declare it. */
export function knownErrors(): { signature: string; selector: string; contracts: readonly string[] }[] {
  return [...KNOWN_ERRORS.values()].map(({ fragment, contracts }) => ({
    signature: fragment.format("sighash"),
    selector: fragment.selector,
    contracts: [...contracts],
  }));
}

const ERROR_STRING_SELECTOR = "0x08c379a0";
const PANIC_SELECTOR = "0x4e487b71";
const BUILTIN = new Interface(["error Error(string message)", "error Panic(uint256 code)"]);

/** The role names of TwinRegistry, by their hash, to name `neededRole`. */
const ROLE_NAMES: Readonly<Record<string, string>> = {
  [ZeroHash]: "DEFAULT_ADMIN_ROLE",
  [id("GOVERNANCE_ROLE")]: "GOVERNANCE_ROLE",
  [id("CUSTODIAN_ROLE")]: "CUSTODIAN_ROLE",
  [id("EMERGENCY_RESPONDER_ROLE")]: "EMERGENCY_RESPONDER_ROLE",
  [id("ETHICS_BOARD_ROLE")]: "ETHICS_BOARD_ROLE",
  [id("OPERATOR_ROLE")]: "OPERATOR_ROLE",
  [id("MANUFACTURER_ROLE")]: "MANUFACTURER_ROLE",
};
const REQUEST_STATUS = ["None", "Pending", "Granted", "Denied", "Withdrawn"];
const STUDY_STATUS = ["None", "Proposed", "Approved", "Rejected", "Closed"];

/** Keys under which an error object holds the *request* (its calldata), never the revert data. */
const REQUEST_KEYS = new Set(["transaction", "tx", "payload", "params", "request", "receipt", "invocation"]);

/**
 * The revert data carried by an error from ethers v6 (`CALL_EXCEPTION`'s `data`, `info.error.data`), Hardhat's
 * in-process provider (`data`, or "return data: 0x..." in the message), or a JSON-RPC error object from
 * `hardhat node` or anvil (`data`, `data.data`, `error.data`). "0x" for a revert without data; null when none.
 */
export function revertDataOf(error: unknown): string | null {
  const seen = new Set<unknown>();
  let empty = false;
  const visit = (value: unknown, depth: number): string | null => {
    if (value === null || typeof value !== "object" || depth > 6 || seen.has(value)) return null;
    seen.add(value);
    const record = value as Record<string, unknown>;
    const data = record.data;
    if (typeof data === "string" && isHexString(data) && data.length % 2 === 0) {
      if (data.length >= 10) return data;
      if (data === "0x") empty = true;
    }
    for (const [key, child] of Object.entries(record)) {
      if (REQUEST_KEYS.has(key)) continue;
      const found = visit(child, depth + 1);
      if (found) return found;
    }
    return null;
  };
  const found = visit(error, 0) ?? fromMessages(error, new Set());
  return found ?? (empty ? "0x" : null);
}

/** Revert data quoted in a message: Hardhat's "return data: 0x..", ethers' `data="0x.."`. */
function fromMessages(error: unknown, seen: Set<unknown>): string | null {
  if (error === null || typeof error !== "object" || seen.has(error) || seen.size > 20) return null;
  seen.add(error);
  const record = error as Record<string, unknown>;
  if (typeof record.message === "string") {
    const match = /(?:return data: |data=")(0x[0-9a-fA-F]{8,})/.exec(record.message);
    if (match && match[1].length % 2 === 0) return match[1];
  }
  for (const key of ["error", "info", "cause", "original"]) {
    const found = fromMessages(record[key], seen);
    if (found) return found;
  }
  return null;
}

/** The transaction the failed call or send carried, when the error holds it (ethers puts it in `transaction`). */
function transactionOf(error: unknown): { to?: string; data?: string } | null {
  if (error === null || typeof error !== "object") return null;
  const tx = (error as Record<string, unknown>).transaction;
  return tx !== null && typeof tx === "object" ? (tx as { to?: string; data?: string }) : null;
}

export interface DecodeErrorOptions {
  /** The name of the contract that was called, when known (names the raiser of an error several contracts declare). */
  readonly contract?: string;
  /** Which contract is at which address, to name the raiser of an error several contracts declare. */
  readonly addresses?: Readonly<Record<string, string>>;
  /** The transaction that failed, when the error does not carry it (for the grantBySig diagnosis). */
  readonly transaction?: { readonly to?: string; readonly data?: string };
  /** The chain the call went to, for the grantBySig diagnosis (without it, the diagnosis tries common chains). */
  readonly chainId?: bigint | number;
}

/** Turns a failed call, send or gas estimate into the contract's error, its named arguments and what to do. */
export function decodeError(error: unknown, options: DecodeErrorOptions = {}): DecodedError {
  // ethers reports a revert without data as CALL_EXCEPTION with `data: null` ("missing revert data").
  const callException = (error as { code?: unknown } | null)?.code === "CALL_EXCEPTION";
  const data = revertDataOf(error) ?? (callException ? "0x" : null);
  const base = { contract: null, contracts: [], signature: null, args: {}, data };
  if (data === null) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, kind: "other", name: "other", selector: null, message };
  }
  if (data === "0x") {
    const message =
      "The call reverted without data: it ran out of gas, called an address without code (check the address and network), or hit a bare revert.";
    return { ...base, kind: "empty", name: "empty", selector: null, message };
  }
  const selector = data.slice(0, 10).toLowerCase();
  if (selector === ERROR_STRING_SELECTOR || selector === PANIC_SELECTOR) return decodeBuiltin(data, selector);
  const known = KNOWN_ERRORS.get(selector);
  if (!known) {
    const message = `The call reverted with an error none of ${CONTRACT_NAMES} declares (selector ${selector}): is the address one of theirs, on this network?`;
    return { ...base, kind: "unknown", name: "unknown", selector, message };
  }
  const transaction = options.transaction ?? transactionOf(error);
  const signature = known.fragment.format("sighash");
  const contract =
    options.contract && known.contracts.includes(options.contract)
      ? options.contract
      : raiser(known.contracts, transaction?.to, options.addresses);
  // `args` by the raiser's names; the catalog's sentence by the first declarer's, which it is written with.
  const args = namedArgs(known.declarations.get(contract) ?? known, data);
  let message = fill(ERROR_FIXES[signature] ?? "See docs/ERRORS.md.", namedArgs(known, data));
  let grantSignature: GrantSignatureDiagnosis | undefined;
  if (known.fragment.name === "InvalidSignature" && transaction?.to && transaction.data) {
    grantSignature = diagnoseGrantBySigCall(transaction.to, transaction.data, options.chainId);
    if (grantSignature) message = grantSignature.message;
  }
  const decoded = { ...base, kind: "custom" as const, name: known.fragment.name, signature, selector, args };
  return { ...decoded, contract, contracts: [...known.contracts], message: `${signature}: ${message}`, grantSignature };
}

function decodeBuiltin(data: string, selector: string): DecodedError {
  const fragment = BUILTIN.getError(selector)!;
  const base = { contract: null, contracts: [], selector, data, signature: fragment.format("sighash") };
  let values: DecodedArg[];
  try {
    values = [...BUILTIN.decodeErrorResult(fragment, data)] as DecodedArg[];
  } catch {
    return { ...base, kind: "unknown", name: fragment.name, args: {}, message: `Malformed ${fragment.name} data.` };
  }
  if (fragment.name === "Error") {
    const reason = String(values[0]);
    return { ...base, kind: "revert", name: "Error", args: { message: reason }, message: `Reverted: ${reason}` };
  }
  const code = BigInt(values[0]);
  const reason = PANIC_REASONS[Number(code)] ?? "unknown panic code";
  const message = `Panic 0x${code.toString(16)} (${reason}): a bug or an unchecked input; report it with the call that caused it.`;
  return { ...base, kind: "panic", name: "Panic", args: { code }, message };
}

function namedArgs({ fragment, internalTypes }: Declaration, data: string): Record<string, DecodedArg> {
  const values = new Interface([fragment]).decodeErrorResult(fragment, data);
  return Object.fromEntries(
    fragment.inputs.map((input, i) => [input.name || `arg${i}`, named(input.name, internalTypes[i], values[i])]),
  );
}

/** Enums by name, roles by name; other values as ethers decodes them. */
function named(name: string, internalType: string, value: unknown): DecodedArg {
  if (typeof value === "bigint" && internalType.startsWith("enum ")) {
    const table = internalType.endsWith("TwinStatus")
      ? TwinStatus
      : internalType.endsWith("SourceKind")
        ? SourceKind
        : internalType.endsWith("RequestStatus")
          ? REQUEST_STATUS
          : internalType.endsWith("StudyStatus")
            ? STUDY_STATUS
            : [];
    return (table as Record<number, string | undefined>)[Number(value)] ?? value;
  }
  if (name === "neededRole" && typeof value === "string") return ROLE_NAMES[value] ?? value;
  return value as DecodedArg;
}

function raiser(
  contracts: readonly string[],
  to: string | undefined,
  addresses: Readonly<Record<string, string>> | undefined,
): string {
  if (to && addresses) {
    const match = Object.entries(addresses).find(([, address]) => address.toLowerCase() === to.toLowerCase());
    if (match && contracts.includes(match[0])) return match[0];
  }
  return contracts[0];
}

function fill(template: string, args: Readonly<Record<string, DecodedArg>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in args ? String(args[name]) : whole));
}

/** A grant signature checked against the domain it is used in and the domains it may have been made for. */
export interface GrantSignatureDiagnosis {
  /** The signature is the signer's under the local domain (then InvalidSignature came from something else). */
  readonly validHere: boolean;
  /** Who the signature recovers to under the local domain (an EOA's signature; a contract wallet recovers to none). */
  readonly recoveredHere: string | null;
  /** The domain under which the signature is the signer's, when one was found. */
  readonly signedFor: { readonly chainId: bigint; readonly verifyingContract: string } | null;
  readonly message: string;
}

export interface SignedGrantValues {
  readonly terms: GrantTerms;
  readonly signer: string;
  readonly epoch: number | bigint;
  readonly nonce: bigint;
  readonly deadline: number | bigint;
  readonly signature: string;
}

/** Chains tried when the signature is not valid here and no claimed domain names one: mainnets and testnets. */
export const COMMON_CHAIN_IDS: readonly bigint[] = [
  1n,
  11155111n,
  17000n,
  560048n,
  31337n,
  1337n,
  10n,
  137n,
  8453n,
  42161n,
];

/**
 * Which chain and ConsentPolicy a `grantBySig` signature was made for. Recovers the signer under the local domain;
 * if it is not the named signer, tries the claimed domain (the typed data's `domain`, as the wallet was shown it),
 * then the local contract on `candidateChainIds` and the `candidateContracts` on the local chain.
 */
export function diagnoseGrantSignature(
  grant: SignedGrantValues,
  local: { readonly chainId: bigint | number; readonly address: string },
  candidates: {
    readonly claimed?: TypedDataDomain;
    readonly chainIds?: readonly bigint[];
    readonly contracts?: readonly string[];
  } = {},
): GrantSignatureDiagnosis {
  const signer = getAddress(grant.signer);
  const value = { ...grant.terms, signer, epoch: grant.epoch, nonce: grant.nonce, deadline: grant.deadline };
  const recover = (chainId: bigint | number, address: string): string | null => {
    try {
      return verifyTypedData(domainOf(CONSENT_DOMAIN_NAME, chainId, address), GRANT_TYPES, value, grant.signature);
    } catch {
      return null;
    }
  };
  const here = { chainId: BigInt(local.chainId), verifyingContract: getAddress(local.address) };
  const recoveredHere = recover(here.chainId, here.verifyingContract);
  if (recoveredHere === signer) {
    const message = `The signature is ${signer}'s for chain ${here.chainId} and ConsentPolicy ${here.verifyingContract}: the InvalidSignature is not about the domain (a contract wallet refusing it?).`;
    return { validHere: true, recoveredHere, signedFor: here, message };
  }
  const tries: { chainId: bigint; verifyingContract: string }[] = [];
  const claimed = candidates.claimed;
  if (claimed?.chainId !== undefined && claimed.chainId !== null && typeof claimed.verifyingContract === "string") {
    tries.push({ chainId: BigInt(claimed.chainId), verifyingContract: getAddress(claimed.verifyingContract) });
  }
  for (const chainId of candidates.chainIds ?? COMMON_CHAIN_IDS)
    tries.push({ chainId, verifyingContract: here.verifyingContract });
  for (const c of candidates.contracts ?? []) tries.push({ chainId: here.chainId, verifyingContract: getAddress(c) });
  if (claimed?.chainId !== undefined && claimed.chainId !== null) {
    for (const c of candidates.contracts ?? [])
      tries.push({ chainId: BigInt(claimed.chainId), verifyingContract: getAddress(c) });
  }
  const signedFor = tries.find((t) => recover(t.chainId, t.verifyingContract) === signer) ?? null;
  const where = `this is chain ${here.chainId}, ConsentPolicy ${here.verifyingContract}`;
  let message: string;
  if (signedFor) {
    const parts: string[] = [];
    if (signedFor.chainId !== here.chainId) parts.push(`chain ${signedFor.chainId}`);
    if (signedFor.verifyingContract !== here.verifyingContract) parts.push(`contract ${signedFor.verifyingContract}`);
    message = `${signer} signed this grant for ${parts.join(" / ")}, but ${where}: sign it again with this chain id and this ConsentPolicy as the EIP-712 domain.`;
  } else {
    message = `The signature is not ${signer}'s over these terms, epoch, nonce and deadline on any domain tried (${where}): sign again with ${signer} over exactly the values relayed.`;
  }
  return { validHere: false, recoveredHere, signedFor, message };
}

const CONSENT_INTERFACE = new Interface(ABIS.ConsentPolicy);

/** The diagnosis of a failed `grantBySig` transaction, from its calldata; null for another function. */
function diagnoseGrantBySigCall(
  to: string,
  calldata: string,
  chainId: bigint | number | undefined,
): GrantSignatureDiagnosis | undefined {
  let parsed;
  try {
    parsed = CONSENT_INTERFACE.parseTransaction({ data: calldata });
  } catch {
    return undefined;
  }
  if (!parsed || parsed.name !== "grantBySig") return undefined;
  const [t, signer, epoch, nonce, deadline, signature] = parsed.args as unknown as [
    Record<keyof GrantTerms, string | bigint>,
    string,
    bigint,
    bigint,
    bigint,
    string,
  ];
  const terms: GrantTerms = {
    twinId: String(t.twinId),
    grantee: String(t.grantee),
    categories: Number(t.categories),
    actions: Number(t.actions),
    purposes: Number(t.purposes),
    validFrom: Number(t.validFrom),
    validUntil: Number(t.validUntil),
  };
  const grant = { terms, signer, epoch, nonce, deadline, signature };
  if (chainId !== undefined) return diagnoseGrantSignature(grant, { chainId, address: to });
  // Without the local chain id: find where it was signed for, and say so without claiming where "here" is.
  for (const candidate of COMMON_CHAIN_IDS) {
    const d = diagnoseGrantSignature(grant, { chainId: candidate, address: to });
    if (d.validHere) {
      const message = `${getAddress(signer)} signed this grant for chain ${candidate} and ConsentPolicy ${getAddress(to)}: if this is another chain, sign it again with this chain's id in the EIP-712 domain.`;
      return { ...d, validHere: false, message };
    }
  }
  return undefined;
}

/** A contract call that reverted, with the decoded error; `code` is `CONTRACT_REVERT`. */
export class ContractRevertError extends TwinLedgerError {
  constructor(
    readonly decoded: DecodedError,
    options?: { cause?: unknown },
  ) {
    super("CONTRACT_REVERT", decoded.message, options);
  }
}

/**
 * Runs a contract call, send or estimate; a revert is rethrown as a `ContractRevertError` carrying `decodeError`'s
 * answer (other failures are rethrown as they are).
 */
export async function withDecodedRevert<T>(run: () => Promise<T>, options: DecodeErrorOptions = {}): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const decoded = decodeError(error, options);
    if (decoded.kind === "other") throw error;
    throw new ContractRevertError(decoded, { cause: error });
  }
}
