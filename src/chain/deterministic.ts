import { concat, getAddress, getCreate2Address, keccak256, type Provider, type Signer } from "ethers";
import { TwinLedgerError } from "../errors";

/**
 * The deterministic deployment proxy (Arachnid's, the one Hardhat Ignition's and Foundry's create2 deployments use):
 * a contract that CREATE2s whatever init code it is sent, behind `salt ‖ initCode`. It sits at the same address on
 * every chain because it was deployed by a pre-EIP-155 transaction from a one-time signer whose key nobody knows
 * (the signature is made up: r = s = 0x2222…). So a contract deployed through it with the same salt and the same
 * init code has the same address on every EVM chain.
 */
export const DETERMINISTIC_DEPLOYER = {
  /** The proxy's address (the signer's nonce-0 CREATE address). */
  address: "0x4e59b44847b379578588920cA78FbF26c0B4956C",
  /** The one-time signer recovered from the presigned transaction. */
  signer: "0x3fAB184622Dc19b6109349B94811493BF2a45362",
  /** The presigned deployment: nonce 0, gas price 100 gwei, gas limit 100,000, no chain id (pre-EIP-155). */
  transaction:
    "0xf8a58085174876e800830186a08080b853604580600e600039806000f350fe7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf31ba02222222222222222222222222222222222222222222222222222222222222222a02222222222222222222222222222222222222222222222222222222222222222",
  /** What the signer must hold to pay for it: 100 gwei × 100,000 gas. */
  cost: 100_000n * 100_000_000_000n,
  /** The proxy's runtime code: calldata = salt (32 bytes) ‖ init code; returns the new address (20 bytes). */
  runtimeCode:
    "0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3",
} as const;

/** How the proxy came to be there: it already was, by the presigned transaction, or written in by a dev node's setCode. */
export type FactoryInstall = "present" | "presigned-transaction" | "set-code";

/** The address CREATE2 through the proxy gives `initCode` (creation code and encoded constructor arguments). */
export function create2Address(salt: string, initCode: string): string {
  return getCreate2Address(DETERMINISTIC_DEPLOYER.address, salt, keccak256(initCode));
}

/** Whether an account holds code. */
export async function hasCode(provider: Provider, address: string): Promise<boolean> {
  return (await provider.getCode(address)) !== "0x";
}

function providerOf(signer: Signer): Provider & { send?(method: string, params: unknown[]): Promise<unknown> } {
  const provider = signer.provider;
  if (!provider)
    throw new TwinLedgerError("DEPLOYER_NO_PROVIDER", "the deployer signer is not connected to a provider");
  return provider as Provider & { send?(method: string, params: unknown[]): Promise<unknown> };
}

/** The development nodes whose state the deploy code may write: the Hardhat network (in process or `hardhat node`) and anvil. */
async function devNode(provider: {
  send?(method: string, params: unknown[]): Promise<unknown>;
}): Promise<string | null> {
  if (!provider.send) return null;
  const version = String(await provider.send("web3_clientVersion", []).catch(() => ""));
  if (/hardhat/i.test(version)) return "hardhat";
  if (/anvil/i.test(version)) return "anvil";
  return null;
}

async function sendPresigned(deployer: Signer, provider: Provider): Promise<boolean> {
  const { signer, cost, transaction } = DETERMINISTIC_DEPLOYER;
  if ((await provider.getTransactionCount(signer)) !== 0) return false;
  const balance = await provider.getBalance(signer);
  if (balance < cost) await (await deployer.sendTransaction({ to: signer, value: cost - balance })).wait();
  try {
    await (await provider.broadcastTransaction(transaction)).wait();
  } catch {
    return false; // e.g. a node that refuses transactions without a chain id
  }
  return hasCode(provider, DETERMINISTIC_DEPLOYER.address);
}

/**
 * Puts the deterministic deployment proxy in place if the chain lacks it. On a development node (the Hardhat network,
 * `hardhat node`, anvil) it funds the one-time signer and sends the presigned transaction, as on a public chain; if the
 * node refuses it (no chain id, or the signer's nonce used), it writes the proxy's runtime code with `hardhat_setCode`
 * / `anvil_setCode`. On any other chain a missing proxy is a typed error: the proxy exists on nearly every public chain,
 * and where it does not, sending its presigned transaction is a decision for the operator.
 */
export async function ensureDeterministicDeployer(deployer: Signer): Promise<FactoryInstall> {
  const provider = providerOf(deployer);
  const { address, runtimeCode } = DETERMINISTIC_DEPLOYER;
  if (await hasCode(provider, address)) return "present";
  const node = await devNode(provider);
  if (!node) {
    throw new TwinLedgerError(
      "DEPLOYER_FACTORY_MISSING",
      `the deterministic deployment proxy ${address} is not on this chain: fund ${DETERMINISTIC_DEPLOYER.signer} with ` +
        `0.01 ETH and broadcast its presigned transaction (DETERMINISTIC_DEPLOYER.transaction), then deploy again`,
    );
  }
  if (await sendPresigned(deployer, provider)) return "presigned-transaction";
  await provider.send!(`${node}_setCode`, [address, runtimeCode]);
  if (!(await hasCode(provider, address))) {
    throw new TwinLedgerError("DEPLOYER_FACTORY_MISSING", `${node}_setCode did not put the proxy at ${address}`);
  }
  return "set-code";
}

/**
 * Deploys `initCode` through the proxy with `salt` and returns the new address with the receipt. The proxy reverts if
 * the address already holds code (CREATE2 collision): callers check first (`hasCode`).
 */
export async function deployThroughProxy(deployer: Signer, salt: string, initCode: string) {
  const address = create2Address(salt, initCode);
  const tx = await deployer.sendTransaction({ to: DETERMINISTIC_DEPLOYER.address, data: concat([salt, initCode]) });
  const receipt = await tx.wait();
  if (!receipt || receipt.status !== 1) throw new TwinLedgerError("DEPLOYMENT_FAILED", `CREATE2 to ${address} failed`);
  if (!(await hasCode(providerOf(deployer), address))) {
    throw new TwinLedgerError(
      "DEPLOYMENT_FAILED",
      `no code at ${address} after the CREATE2 deployment ${receipt.hash}`,
    );
  }
  return { address: getAddress(address), receipt };
}
