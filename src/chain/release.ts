import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { keccak256, type InterfaceAbi, type Provider } from "ethers";
import { ConsentPolicy__factory, TwinRegistry__factory, TwinUpdateLog__factory } from "../../typechain-types";
import { TwinLedgerError } from "../errors";
import {
  CONTRACT_NAMES,
  DEFAULT_ADMIN_DELAY,
  DEPLOYMENT_SALT,
  predictTwinLedgerAddresses,
  type ContractName,
} from "./deploy";
import { CONTRACT_ABIS } from "./deployments";
import { DETERMINISTIC_DEPLOYER } from "./deterministic";
import { DEFAULT_DEPLOYMENTS_DIR } from "./package-root";

/** The release manifest: `deployments/release.json`, committed and shipped in the package. */
export const RELEASE_MANIFEST = "release.json";

/**
 * The development admin of the canonical addresses: account 0 of the test mnemonic ("test test … junk") that the
 * Hardhat network, `hardhat node` and anvil all fund, so `npm run deploy` gives these addresses on each of them.
 */
export const DEVELOPMENT_ADMIN = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/** What a verifier needs of one contract's code, with the ABI integrators attach with. */
export interface ReleasedContract {
  readonly abi: InterfaceAbi;
  /** keccak256 of the creation code, without constructor arguments. */
  readonly creationCodeHash: string;
  /** The runtime code as compiled: zeros where the constructor writes immutables. */
  readonly deployedBytecode: string;
  /** Byte ranges [start, length] of the immutables in the runtime code, masked when codes are compared. */
  readonly immutableReferences: readonly (readonly [number, number])[];
}

export interface ReleaseManifest {
  readonly version: string;
  readonly factory: string;
  readonly salt: string;
  readonly saltLabel: string;
  /** The CREATE2 addresses for the development admin and the default delay: the same on every chain. */
  readonly development: {
    readonly admin: string;
    readonly adminDelay: number;
    readonly addresses: Record<ContractName, string>;
  };
  readonly contracts: Record<ContractName, ReleasedContract>;
}

/** The runtime side of a compiled contract, as solc's standard JSON output gives it. */
export interface CompiledRuntime {
  readonly deployedBytecode: string;
  readonly immutableReferences: Record<string, readonly { start: number; length: number }[]>;
}

const CREATION_CODE: Record<ContractName, string> = {
  TwinRegistry: TwinRegistry__factory.bytecode,
  ConsentPolicy: ConsentPolicy__factory.bytecode,
  TwinUpdateLog: TwinUpdateLog__factory.bytecode,
};

/** Builds the manifest from the typechain bindings (ABI, creation code) and the compiler's runtime output. */
export async function buildReleaseManifest(
  version: string,
  runtime: Record<ContractName, CompiledRuntime>,
): Promise<ReleaseManifest> {
  const contracts = Object.fromEntries(
    CONTRACT_NAMES.map((name) => {
      const refs = Object.values(runtime[name].immutableReferences)
        .flat()
        .map((r) => [r.start, r.length] as const)
        .sort((a, b) => a[0] - b[0]);
      const bytecode = runtime[name].deployedBytecode;
      const released: ReleasedContract = {
        abi: CONTRACT_ABIS[name],
        creationCodeHash: keccak256(CREATION_CODE[name]),
        deployedBytecode: bytecode.startsWith("0x") ? bytecode : `0x${bytecode}`,
        immutableReferences: refs,
      };
      return [name, released];
    }),
  ) as Record<ContractName, ReleasedContract>;
  return {
    version,
    factory: DETERMINISTIC_DEPLOYER.address,
    salt: DEPLOYMENT_SALT,
    saltLabel: "TwinLedger v2",
    development: {
      admin: DEVELOPMENT_ADMIN,
      adminDelay: DEFAULT_ADMIN_DELAY,
      addresses: await predictTwinLedgerAddresses({ admin: DEVELOPMENT_ADMIN }),
    },
    contracts,
  };
}

/** Reads the release manifest, by default the one shipped with the package. */
export function readReleaseManifest(dir: string = DEFAULT_DEPLOYMENTS_DIR): ReleaseManifest {
  const file = path.join(dir, RELEASE_MANIFEST);
  if (!existsSync(file)) throw new TwinLedgerError("RELEASE_MANIFEST_MISSING", `no release manifest at ${file}`);
  return JSON.parse(readFileSync(file, "utf8")) as ReleaseManifest;
}

function masked(code: string, refs: readonly (readonly [number, number])[]): string {
  const bytes = Buffer.from(code.slice(2), "hex");
  for (const [start, length] of refs) bytes.fill(0, start, start + length);
  return bytes.toString("hex");
}

/** Why the code at an address is not the release's: `"none"` (no code), `"length"`, `"bytecode"`; or `"match"`. */
export type CodeCheck = "match" | "none" | "length" | "bytecode";

/** Compares the runtime code at `address` with the released code of `name`, the immutables masked. */
export async function checkDeployedCode(
  provider: Provider,
  name: ContractName,
  address: string,
  manifest: ReleaseManifest = readReleaseManifest(),
): Promise<CodeCheck> {
  const code = await provider.getCode(address);
  if (code === "0x") return "none";
  const released = manifest.contracts[name];
  if (code.length !== released.deployedBytecode.length) return "length";
  const refs = released.immutableReferences;
  return masked(code, refs) === masked(released.deployedBytecode, refs) ? "match" : "bytecode";
}

/** Throws DEPLOYMENT_CODE_MISMATCH unless each address holds its contract's released code. */
export async function verifyDeployedCode(
  provider: Provider,
  addresses: Partial<Record<ContractName, string>>,
  manifest: ReleaseManifest = readReleaseManifest(),
): Promise<void> {
  for (const name of CONTRACT_NAMES) {
    const address = addresses[name];
    if (!address) continue;
    const result = await checkDeployedCode(provider, name, address, manifest);
    if (result !== "match") {
      throw new TwinLedgerError(
        "DEPLOYMENT_CODE_MISMATCH",
        `${name} at ${address}: ${result === "none" ? "no code" : `code differs from release ${manifest.version} (${result})`}`,
      );
    }
  }
}
