import { expect } from "chai";
import { JsonRpcProvider, Wallet, id, type Signer } from "ethers";
import { ethers, network } from "hardhat";
import {
  DEFAULT_ADMIN_DELAY,
  DEPLOYMENT_SALT,
  deployTwinLedger,
  predictTwinLedgerAddresses,
  type ContractName,
} from "../../../src/chain/deploy";
import {
  DETERMINISTIC_DEPLOYER,
  ensureDeterministicDeployer,
  type FactoryInstall,
} from "../../../src/chain/deterministic";
import {
  checkDeployedCode,
  DEVELOPMENT_ADMIN,
  readReleaseManifest,
  verifyDeployedCode,
} from "../../../src/chain/release";
import { startLocalNode, type LocalNode, type LocalNodeKind, type LocalNodeOptions } from "../../../scripts/local-node";

/** Account 0 of the test mnemonic, funded by the Hardhat network, `hardhat node` and anvil alike (public test key). */
const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

type Addresses = Record<ContractName, string>;

/** Deploys twice with CREATE2 and checks the second run deploys nothing; returns the addresses. */
async function deployTwice(deployer: Signer, governance: string): Promise<Addresses> {
  const first = await deployTwinLedger({ deployer, strategy: "create2", governance: [governance] });
  expect(first.contracts.map((c) => c.name)).to.deep.equal(["TwinRegistry", "ConsentPolicy", "TwinUpdateLog"]);
  expect(first.existing).to.deep.equal([]);
  const addresses = Object.fromEntries(first.contracts.map((c) => [c.name, c.address])) as Addresses;
  await verifyDeployedCode(deployer.provider!, addresses);
  expect(await first.registry.hasRole(await first.registry.GOVERNANCE_ROLE(), governance)).to.equal(true);
  expect(await first.consent.getAddress()).to.equal(addresses.ConsentPolicy);

  const again = await deployTwinLedger({ deployer, strategy: "create2", governance: [governance] });
  expect(again.contracts).to.deep.equal([]);
  expect(again.existing.map((c) => [c.name, c.address])).to.deep.equal(Object.entries(addresses));
  return addresses;
}

interface NodeRun {
  readonly addresses: Addresses;
  readonly chainId: bigint;
  readonly factory: FactoryInstall;
}

async function onNode(kind: LocalNodeKind, options: LocalNodeOptions = {}): Promise<NodeRun> {
  let node: LocalNode | undefined;
  try {
    node = await startLocalNode(kind, { timeoutMs: 60_000, ...options });
    const provider = new JsonRpcProvider(node.url, undefined, { pollingInterval: 50, cacheTimeout: -1 });
    try {
      const deployer = new Wallet(DEV_KEY, provider);
      const factory = await ensureDeterministicDeployer(deployer);
      expect(await provider.getCode(DETERMINISTIC_DEPLOYER.address)).to.equal(DETERMINISTIC_DEPLOYER.runtimeCode);
      const addresses = await deployTwice(deployer, Wallet.createRandom().address);
      return { addresses, chainId: (await provider.getNetwork()).chainId, factory };
    } finally {
      provider.destroy();
    }
  } finally {
    await node?.stop();
  }
}

describe("deterministic deployment (CREATE2 through the deterministic deployment proxy)", function () {
  this.timeout(180_000);
  const manifest = readReleaseManifest();
  let snapshot: string;

  beforeEach(async () => {
    snapshot = (await network.provider.send("evm_snapshot", [])) as string;
  });
  afterEach(async () => {
    await network.provider.send("evm_revert", [snapshot]);
  });

  it("predicts the release's development addresses from the salt, the code and the admin alone", async () => {
    const predicted = await predictTwinLedgerAddresses({ admin: DEVELOPMENT_ADMIN });
    expect(predicted).to.deep.equal(manifest.development.addresses);
    expect(manifest.salt).to.equal(DEPLOYMENT_SALT);
    expect(manifest.development.adminDelay).to.equal(DEFAULT_ADMIN_DELAY);
  });

  it("gives other addresses for another admin, admin delay or salt (they are in the init code)", async () => {
    const base = await predictTwinLedgerAddresses({ admin: DEVELOPMENT_ADMIN });
    const others = [
      await predictTwinLedgerAddresses({ admin: Wallet.createRandom().address }),
      await predictTwinLedgerAddresses({ admin: DEVELOPMENT_ADMIN, adminDelay: 0 }),
      await predictTwinLedgerAddresses({ admin: DEVELOPMENT_ADMIN, salt: id("another") }),
    ];
    for (const other of others) {
      for (const name of ["TwinRegistry", "ConsentPolicy", "TwinUpdateLog"] as const) {
        expect(other[name]).to.not.equal(base[name]);
      }
    }
  });

  it("deploys at the same addresses on the in-process network, on `hardhat node` and on anvil", async () => {
    const [deployer] = await ethers.getSigners();
    expect(deployer.address).to.equal(DEVELOPMENT_ADMIN);
    const inProcess = await deployTwice(deployer, deployer.address);
    const hardhatNode = await onNode("hardhat");
    expect(hardhatNode.factory).to.equal("presigned-transaction");
    // anvil has the proxy from its start (its default create2 deployer, the same code at the same address) ...
    const anvil = await onNode("anvil", { chainId: 4242 });
    expect(anvil.factory).to.equal("present");
    // ... and without it, the deploy code puts it there.
    const bareAnvil = await onNode("anvil", { chainId: 4343, args: ["--disable-default-create2-deployer"] });
    expect(bareAnvil.factory).to.equal("presigned-transaction");
    expect([anvil.chainId, bareAnvil.chainId]).to.deep.equal([4242n, 4343n]);
    expect(inProcess).to.deep.equal(manifest.development.addresses);
    for (const run of [hardhatNode, anvil, bareAnvil]) expect(run.addresses).to.deep.equal(inProcess);
  });

  it("writes the proxy's code with hardhat_setCode when the presigned transaction cannot be sent", async () => {
    // The one-time signer's nonce used (as on a chain where its transaction was replaced): the presigned one fails.
    await network.provider.send("hardhat_setNonce", [DETERMINISTIC_DEPLOYER.signer, "0x1"]);
    const [deployer] = await ethers.getSigners();
    expect(await ensureDeterministicDeployer(deployer)).to.equal("set-code");
    expect(await ensureDeterministicDeployer(deployer)).to.equal("present");
    const { contracts } = await deployTwinLedger({ deployer, strategy: "create2" });
    expect(contracts.map((c) => c.address)).to.deep.equal(Object.values(manifest.development.addresses));
  });

  it("tells code that is not the release's from code that is, with immutables masked", async () => {
    const [deployer] = await ethers.getSigners();
    const { contracts } = await deployTwinLedger({ deployer, strategy: "create2", adminDelay: 0 });
    const [registry, consent] = contracts;
    // adminDelay 0 puts other immutables in ConsentPolicy (the registry's address): masked, so the code matches.
    expect(await checkDeployedCode(ethers.provider, "ConsentPolicy", consent.address)).to.equal("match");
    expect(await checkDeployedCode(ethers.provider, "ConsentPolicy", registry.address)).to.not.equal("match");
    expect(await checkDeployedCode(ethers.provider, "TwinRegistry", Wallet.createRandom().address)).to.equal("none");
    await network.provider.send("hardhat_setCode", [consent.address, await ethers.provider.getCode(registry.address)]);
    await expect(verifyDeployedCode(ethers.provider, { ConsentPolicy: consent.address })).to.be.rejectedWith(
      /DEPLOYMENT_CODE_MISMATCH|code differs/,
    );
  });

  it("refuses to install the proxy on a chain that is not a development node", async () => {
    const [deployer] = await ethers.getSigners();
    const provider = deployer.provider;
    const notDev = new Proxy(provider, {
      get(target, prop, receiver) {
        if (prop === "send") {
          return async (method: string, params: unknown[]) =>
            method === "web3_clientVersion" ? "Geth/v1.14" : target.send(method, params);
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const signer = deployer.connect(notDev);
    await expect(ensureDeterministicDeployer(signer)).to.be.rejectedWith(
      /deterministic deployment proxy .* is not on this chain/,
    );
  });
});
