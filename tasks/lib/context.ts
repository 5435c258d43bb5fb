import { getAddress, id, isAddress, isHexString, type ContractTransactionResponse, type Signer } from "ethers";
import { HardhatPluginError } from "hardhat/plugins";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { attachDeployment } from "../../src/chain/deployments";
import { ContractRevertError, decodeError, withDecodedRevert } from "../../src/chain/decode-error";
import type { ConsentPolicy, TwinRegistry, TwinUpdateLog } from "../../typechain-types";
import { ConsentPolicy__factory, TwinRegistry__factory, TwinUpdateLog__factory } from "../../typechain-types";

/** The options every task takes (see tasks/index.ts). */
export interface CommonArgs {
  readonly registry?: string;
  readonly consent?: string;
  readonly log?: string;
  readonly deployments?: string;
  readonly from?: string;
  readonly json: boolean;
}

export interface TaskContext {
  readonly hre: HardhatRuntimeEnvironment;
  readonly args: CommonArgs;
  readonly signer: Signer;
  readonly signerAddress: string;
  readonly chainId: bigint;
  readonly registry: TwinRegistry;
  readonly consent: ConsentPolicy;
  readonly updateLog: TwinUpdateLog;
  /** Which contract is at which address, for decodeError. */
  readonly addresses: Readonly<Record<string, string>>;
  /** The block the deployment record says the contracts were deployed in (0 when given by flags). */
  readonly deploymentBlock: number;
}

const PLUGIN = "twinledger";

/** A bad argument or a refused call: Hardhat prints the message without a stack trace. */
export function fail(message: string, cause?: Error): never {
  throw new HardhatPluginError(PLUGIN, message, cause);
}

/** The signer `--from` names (an address, or an index into the network's accounts); the first account by default. */
export async function signerOf(hre: HardhatRuntimeEnvironment, from: string | undefined): Promise<Signer> {
  const signers = await hre.ethers.getSigners();
  if (from === undefined || from === "") {
    if (signers.length === 0) fail(`network ${hre.network.name} has no accounts configured: set them or pass --from`);
    return signers[0];
  }
  if (/^\d+$/.test(from)) {
    const signer = signers[Number(from)];
    if (!signer) fail(`--from ${from}: network ${hre.network.name} has ${signers.length} accounts`);
    return signer;
  }
  if (!isAddress(from)) fail(`--from must be an account index or an address, got "${from}"`);
  const found = signers.find((s) => s.address.toLowerCase() === from.toLowerCase());
  return found ?? hre.ethers.getSigner(getAddress(from));
}

/** The contracts: `--registry/--consent/--log` when all three are given, else the network's deployment records. */
export async function contextOf(hre: HardhatRuntimeEnvironment, args: CommonArgs): Promise<TaskContext> {
  const signer = await signerOf(hre, args.from);
  const signerAddress = await signer.getAddress();
  const { chainId } = await hre.ethers.provider.getNetwork();
  const flags = [args.registry, args.consent, args.log].filter((a) => a !== undefined && a !== "");
  let registry: TwinRegistry, consent: ConsentPolicy, updateLog: TwinUpdateLog;
  let deploymentBlock = 0;
  if (flags.length === 3) {
    registry = TwinRegistry__factory.connect(address(args.registry!, "--registry"), signer);
    consent = ConsentPolicy__factory.connect(address(args.consent!, "--consent"), signer);
    updateLog = TwinUpdateLog__factory.connect(address(args.log!, "--log"), signer);
  } else if (flags.length > 0) {
    fail("give all three of --registry, --consent and --log, or none (to use the network's deployment records)");
  } else {
    try {
      const attached = args.deployments
        ? attachDeployment(hre.network.name, signer, args.deployments)
        : attachDeployment(hre.network.name, signer);
      ({ registry, consent, updateLog } = attached);
      deploymentBlock = Math.min(...Object.values(attached.records).map((r) => r.blockNumber ?? 0));
    } catch (error) {
      fail(
        `${(error as Error).message}: deploy first (npm run deploy -- --network ${hre.network.name}) or pass --registry, --consent and --log`,
        error as Error,
      );
    }
  }
  for (const [name, contract] of [
    ["TwinRegistry", registry],
    ["ConsentPolicy", consent],
    ["TwinUpdateLog", updateLog],
  ] as const) {
    const code = await hre.ethers.provider.getCode(await contract.getAddress());
    if (code === "0x")
      fail(`no ${name} at ${await contract.getAddress()} on ${hre.network.name}: wrong network or address`);
  }
  const addresses = {
    TwinRegistry: await registry.getAddress(),
    ConsentPolicy: await consent.getAddress(),
    TwinUpdateLog: await updateLog.getAddress(),
  };
  return { hre, args, signer, signerAddress, chainId, registry, consent, updateLog, addresses, deploymentBlock };
}

/** What a sent transaction did. */
export interface Sent {
  readonly hash: string;
  readonly blockNumber: number;
  readonly gasUsed: bigint;
}

/** Sends a transaction and waits for it; a revert becomes a task error with the decoded error and what to do. */
export async function send(
  ctx: TaskContext,
  what: string,
  run: () => Promise<ContractTransactionResponse>,
): Promise<Sent> {
  const receipt = await call(ctx, what, async () => (await run()).wait());
  if (!receipt) fail(`${what}: the transaction was dropped`);
  return { hash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
}

/**
 * Runs a call; a revert becomes a task error with the decoded error and what to do. `what` names the call as
 * `Contract.function` when it is one, which tells decodeError the raiser of an error several contracts declare.
 */
export async function call<T>(ctx: TaskContext, what: string, run: () => Promise<T>): Promise<T> {
  const contract = what.split(".")[0];
  try {
    return await withDecodedRevert(run, { addresses: ctx.addresses, chainId: ctx.chainId, contract });
  } catch (error) {
    if (error instanceof ContractRevertError) {
      const d = error.decoded;
      const where = d.contract ? `${d.contract}.` : "";
      fail(
        `${what.replace(/^\w+\./, "")} was refused: ${where}${d.name}${formatArgs(d.args)}\n  ${stripSignature(d.message)}`,
        error,
      );
    }
    const decoded = decodeError(error);
    fail(`${what} failed: ${decoded.message}`, error as Error);
  }
}

function formatArgs(args: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(args);
  return entries.length === 0 ? "" : `(${entries.map(([k, v]) => `${k}=${String(v)}`).join(", ")})`;
}

const stripSignature = (message: string) => message.replace(/^\w+\([^)]*\): /, "");

// ---------------------------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------------------------

export function address(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") fail(`${flag} is required (an address)`);
  if (!isAddress(value)) fail(`${flag} must be an address (0x and 40 hex digits), got "${value}"`);
  return getAddress(value);
}

export function bytes32(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") fail(`${flag} is required (0x and 64 hex digits)`);
  if (!isHexString(value, 32)) fail(`${flag} must be 0x and 64 hex digits, got "${value}"`);
  return value.toLowerCase();
}

/** A 32-byte value given as hex, or any text, hashed (keccak256 of its UTF-8). */
export function bytes32OrText(value: string): string {
  return isHexString(value, 32) ? value.toLowerCase() : id(value);
}

/** A mask from names (`VITALS,LABS`), `all`, or a number (decimal or 0x hex). */
export function maskOf(value: string | undefined, table: Readonly<Record<string, number>>, flag: string): number {
  if (value === undefined || value.trim() === "") fail(`${flag} is required: ${Object.keys(table).join(", ")}, or all`);
  const text = value.trim();
  if (/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) return Number(text);
  if (text.toLowerCase() === "all") return Object.values(table).reduce((m, bit) => m | bit, 0);
  let mask = 0;
  for (const name of text.split(",").map((n) => n.trim().toUpperCase().replace(/-/g, "_"))) {
    const bit = table[name];
    if (bit === undefined) fail(`${flag}: unknown name "${name}"; expected ${Object.keys(table).join(", ")}, or all`);
    mask |= bit;
  }
  return mask;
}

/** Exactly one name of a table (or its number). */
export function oneOf(value: string | undefined, table: Readonly<Record<string, number>>, flag: string): number {
  const mask = maskOf(value, table, flag);
  if (mask === 0 || (mask & (mask - 1)) !== 0) fail(`${flag} names exactly one of ${Object.keys(table).join(", ")}`);
  return mask;
}

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds from `90`, `90s`, `15m`, `4h`, `30d`, `2w`. */
export function durationOf(value: string, flag: string): number {
  const match = /^(\d+)\s*([smhdw]?)$/.exec(value.trim());
  if (!match) fail(`${flag} must be a duration such as 3600, 15m, 4h, 30d or 2w; got "${value}"`);
  const seconds = Number(match[1]) * UNITS[match[2] || "s"];
  if (seconds <= 0 || !Number.isSafeInteger(seconds)) fail(`${flag} must be a positive duration, got "${value}"`);
  return seconds;
}

/** Unix seconds from a number or an ISO 8601 date. */
export function timeOf(value: string, flag: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) fail(`${flag} must be unix seconds or an ISO 8601 date, got "${value}"`);
  return Math.floor(ms / 1000);
}

/** The latest block's time: windows are judged by block time, not the wall clock. */
export async function blockTime(ctx: TaskContext): Promise<number> {
  const block = await ctx.hre.ethers.provider.getBlock("latest");
  return block ? block.timestamp : Math.floor(Date.now() / 1000);
}

export const iso = (seconds: number | bigint) =>
  Number(seconds) === 0 ? "—" : new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
