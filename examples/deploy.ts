// Deploys TwinLedger to a local node (`npx hardhat node` or anvil on 127.0.0.1:8545) at its deterministic addresses,
// or finds it there, and records the addresses in ./deployments/localhost for attachDeployment.
import { JsonRpcProvider } from "ethers";
import {
  CONTRACT_ABIS,
  DEPLOYMENT_SALT,
  DETERMINISTIC_DEPLOYER,
  deployTwinLedger,
  writeDeploymentRecords,
} from "twinledger/chain";

const RPC_URL = process.env.RPC_URL ?? "http://127.0.0.1:8545";

async function main(): Promise<void> {
  // cacheTimeout -1: by default ethers answers a call identical to one made in the last 250 ms from its cache.
  const provider = new JsonRpcProvider(RPC_URL, undefined, { cacheTimeout: -1, pollingInterval: 100 });
  const deployer = await provider.getSigner(0); // the node's unlocked account 0: the registry's admin
  const governance = await provider.getSigner(1);

  // CREATE2 through the deterministic deployment proxy (put in place on a development node if missing): the same
  // addresses on every chain for this release, salt and admin. Contracts already there are left as they are.
  const deployment = await deployTwinLedger({ deployer, strategy: "create2", governance: [governance.address] });
  for (const c of deployment.existing) console.log(`${c.name} already at ${c.address}: skipped`);
  for (const c of deployment.contracts) console.log(`${c.name} deployed at ${c.address}`);

  const { chainId } = await provider.getNetwork();
  writeDeploymentRecords([...deployment.existing, ...deployment.contracts], {
    network: "localhost",
    chainId: Number(chainId),
    abis: CONTRACT_ABIS,
    strategy: "create2",
    salt: DEPLOYMENT_SALT,
    factory: DETERMINISTIC_DEPLOYER.address,
  });
  console.log("records in ./deployments/localhost");
  provider.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
