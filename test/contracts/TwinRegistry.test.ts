import { loadFixture, setCode, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { expect } from "chai";
import type { ContractTransactionResponse, TypedDataDomain } from "ethers";
import hre, { artifacts, ethers } from "hardhat";
import { MockERC1271Wallet__factory, TwinRegistryLens__factory, TwinRegistry__factory } from "../../typechain-types";
import { ALL_CATEGORIES, DataCategory, SourceKind, TwinStatus } from "../../src/vocabulary";
import {
  CONSENT_DOMAIN_NAME,
  CREATE_TWIN_DEADLINE_SECONDS,
  CREATE_TWIN_TYPES,
  REGISTRY_DOMAIN_NAME,
  domainOf,
  signCreateTwin as signCreateTwinOffChain,
} from "../../src/chain/typed-data";
import { DEFAULT_ADMIN_DELAY, deployTwinLedger } from "../../src/chain/deploy";
import { twinIdOf } from "../../src/chain/twin-id";
import {
  EMR_CATEGORIES,
  METADATA,
  PATIENT_ADDRESS,
  TWIN_ID,
  TWIN_SALT,
  WEARABLE_CATEGORIES,
  createTwinOf,
  deployFixture,
  twinFixture,
  type Actors,
} from "../fixtures";

/*
 * TwinRegistry: every external function's success, reverts, events and state after; every role boundary.
 * Reverts go through `expectRejected`, which also checks that no view of the registry changed.
 */

type Deployed = Awaited<ReturnType<typeof deployFixture>>;
type ActorName = keyof Actors;

/** The salt of a second twin; OTHER_TWIN is the patient's twin with it (created by signature in createTwinFor). */
const OTHER_SALT = ethers.id("twin:salt:bob");
const OTHER_TWIN = twinIdOf(PATIENT_ADDRESS, OTHER_SALT);
const UNKNOWN_TWIN = ethers.id("twin:pseudonym:nobody");
const NEW_METADATA = ethers.id("metadata-commitment:v2");
const UNDEFINED_CATEGORY = 1 << 13;

const CUSTODIAN_ROLE = ethers.id("CUSTODIAN_ROLE");
const GOVERNANCE_ROLE = ethers.id("GOVERNANCE_ROLE");
const EMERGENCY_RESPONDER_ROLE = ethers.id("EMERGENCY_RESPONDER_ROLE");
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

/** The accounts whose relation to the twins (controller, delegate, source) the revert checks compare. */
const WATCHED: readonly ActorName[] = ["patient", "guardian", "clinician", "researcher", "stranger", "emr", "wearable"];
/** The accounts whose roles and nonces the revert checks compare. */
const WATCHED_HOLDERS: readonly ActorName[] = [
  "admin",
  "governance",
  "hospital",
  "hospital2",
  "responder",
  "stranger",
  "patient",
];

/** Where the test-only TwinRegistryLens is installed (with hardhat_setCode, so that fixtures need not deploy it). */
const LENS_ADDRESS = "0x000000000000000000000000000000000000a11e";

// ------------------------------------------------------------------------------------------------------------
// Fixtures, on top of the shared ones
// ------------------------------------------------------------------------------------------------------------

/** `twinFixture` with the guardian appointed as the patient's delegate. */
async function delegateFixture() {
  const f = await twinFixture();
  await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.guardian.address);
  return f;
}

/**
 * The people around a twin who do not control it: besides strangers, custodians, sources and responders, the
 * researcher is a former delegate (appointed, then resigned) and the clinician is the pending owner.
 */
async function boundaryFixture() {
  const f = await delegateFixture();
  const { registry, patient, researcher, clinician } = f;
  await registry.connect(patient).appointDelegate(TWIN_ID, researcher.address);
  await registry.connect(researcher).removeDelegate(TWIN_ID, researcher.address);
  await registry.connect(patient).transferOwnership(TWIN_ID, clinician.address);
  return f;
}

/**
 * Ownership moved from the patient to the clinician. The patient's delegates (guardian, researcher) ended with the
 * change; the clinician appointed the guardian again, so the researcher is a delegate of the previous owner only.
 */
async function transferredFixture() {
  const f = await delegateFixture();
  await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.researcher.address);
  await f.registry.connect(f.patient).transferOwnership(TWIN_ID, f.clinician.address);
  await f.registry.connect(f.clinician).acceptOwnership(TWIN_ID);
  await f.registry.connect(f.clinician).appointDelegate(TWIN_ID, f.guardian.address);
  return f;
}

/** `delegateFixture` with the twin suspended. */
async function suspendedFixture() {
  const f = await delegateFixture();
  await f.registry.connect(f.patient).suspendTwin(TWIN_ID);
  return f;
}

/** `delegateFixture` with a transfer to the clinician pending, then the twin erased. */
async function erasedFixture() {
  const f = await delegateFixture();
  await f.registry.connect(f.patient).transferOwnership(TWIN_ID, f.clinician.address);
  await f.registry.connect(f.patient).eraseTwin(TWIN_ID);
  return f;
}

/** `deployFixture` plus an ERC-1271 wallet whose key is the patient's EOA. */
async function walletFixture() {
  const f = await deployFixture();
  const wallet = await new MockERC1271Wallet__factory(f.patient).deploy(f.patient.address);
  return { ...f, wallet };
}

// ------------------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------------------

/** The twin as the views report it, as plain values. */
async function twinView(f: Deployed, twinId: string = TWIN_ID) {
  const { registry } = f;
  return {
    owner: await registry.ownerOf(twinId),
    status: Number(await registry.statusOf(twinId)),
    custodian: await registry.custodianOf(twinId),
    metadata: await registry.metadataOf(twinId),
    pendingOwner: await registry.pendingOwnerOf(twinId),
    transferStartedBy: (await registry.pendingTransferOf(twinId)).startedBy,
  };
}

async function sourceView(f: Deployed, source: string, twinId: string = TWIN_ID) {
  const s = await f.registry.sourceOf(twinId, source);
  return { categories: Number(s.categories), kind: Number(s.kind), authorizedAt: Number(s.authorizedAt) };
}

let lensCode: string | undefined;

/**
 * Everything the registry's views say about the given twins (twin fields; controller, delegate, source, writable
 * categories and access context of each watched account) and the watched holders' roles and nonces, as 32-byte
 * words, read in one call through the test-only TwinRegistryLens.
 */
async function registryState(f: Deployed, twinIds: readonly string[]): Promise<string[]> {
  lensCode ??= (await artifacts.readArtifact("TwinRegistryLens")).deployedBytecode;
  await setCode(LENS_ADDRESS, lensCode);
  const lens = TwinRegistryLens__factory.connect(LENS_ADDRESS, ethers.provider);
  const accounts = WATCHED.map((name) => f[name].address);
  const holders = WATCHED_HOLDERS.map((name) => f[name].address);
  const state = await lens.snapshot(await f.registry.getAddress(), [...twinIds], accounts, holders);
  const words: string[] = [];
  for (let offset = 0; offset < ethers.dataLength(state); offset += 32) {
    words.push(ethers.dataSlice(state, offset, offset + 32));
  }
  return words;
}

/**
 * Under `hardhat coverage` the views are instrumented and each snapshot costs seconds; the unchanged-state check
 * adds nothing to coverage, so it runs in plain test runs only.
 */
const UNDER_COVERAGE =
  (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true;

/** Expects `send` to revert with the registry's custom error `error(...args)`, and no view to change. */
async function expectRejected(
  f: Deployed,
  send: () => Promise<unknown>,
  error: string,
  args: readonly unknown[] = [],
  twinIds: readonly string[] = [TWIN_ID, OTHER_TWIN],
): Promise<void> {
  const before = UNDER_COVERAGE ? [] : await registryState(f, twinIds);
  await expect(send())
    .to.be.revertedWithCustomError(f.registry, error)
    .withArgs(...args);
  if (!UNDER_COVERAGE) expect(await registryState(f, twinIds)).to.deep.equal(before);
}

async function timestampOf(tx: ContractTransactionResponse): Promise<number> {
  const receipt = await tx.wait();
  const block = await ethers.provider.getBlock(receipt!.blockNumber);
  return block!.timestamp;
}

// EIP-712 -----------------------------------------------------------------------------------------------------

interface CreateTwinRequest {
  patient: string;
  salt: string;
  metadataCommitment: string;
  custodian: string;
  nonce: bigint;
  deadline: bigint;
}

async function registryDomain(f: Deployed): Promise<TypedDataDomain> {
  return domainOf(REGISTRY_DOMAIN_NAME, (await ethers.provider.getNetwork()).chainId, await f.registry.getAddress());
}

/**
 * A `CreateTwin` request for OTHER_TWIN (salt OTHER_SALT) by the patient at `hospital`, valid for an hour, signed by the patient;
 * `request`, `signer` and `domain` override the parts a test varies.
 */
async function signCreateTwin(
  f: Deployed,
  options: { request?: Partial<CreateTwinRequest>; signer?: HardhatEthersSigner; domain?: TypedDataDomain } = {},
) {
  const patient = options.request?.patient ?? f.patient.address;
  const request: CreateTwinRequest = {
    patient,
    salt: OTHER_SALT,
    metadataCommitment: METADATA,
    custodian: f.hospital.address,
    nonce: await f.registry.nonces(patient),
    deadline: BigInt(await time.latest()) + 3600n,
    ...options.request,
  };
  const domain = { ...(await registryDomain(f)), ...options.domain };
  const signature = await (options.signer ?? f.patient).signTypedData(domain, CREATE_TWIN_TYPES, request);
  return { request, signature };
}

function submitCreateTwin(f: Deployed, by: HardhatEthersSigner, request: CreateTwinRequest, signature: string) {
  return f.registry
    .connect(by)
    .createTwinFor(
      request.patient,
      request.salt,
      request.metadataCommitment,
      request.nonce,
      request.deadline,
      signature,
    );
}

// Custodian ids (white box) ------------------------------------------------------------------------------------

/**
 * Reads the registry's private custodian-id tables from storage. The slot of `_custodianById` is found as the
 * mapping whose entry 1 holds the first accredited custodian (deployFixture accredits `hospital` first);
 * `_custodianIds` is declared just before it and `_custodianCount` just after.
 */
async function custodianIds(f: Deployed) {
  const address = await f.registry.getAddress();
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const read = async (slot: string | bigint) => BigInt(await ethers.provider.getStorage(address, slot));
  for (let slot = 0n; slot < 64n; slot++) {
    const entry = ethers.keccak256(coder.encode(["uint256", "uint256"], [1n, slot]));
    if ((await read(entry)) === BigInt(f.hospital.address)) {
      return {
        idOf: (account: string) => read(ethers.keccak256(coder.encode(["address", "uint256"], [account, slot - 1n]))),
        accountOf: async (id: bigint) =>
          ethers.getAddress(
            ethers.toBeHex(await read(ethers.keccak256(coder.encode(["uint256", "uint256"], [id, slot]))), 20),
          ),
        count: async () => (await read(slot + 1n)) & 0xffffffffn,
      };
    }
  }
  throw new Error("custodian id tables not found in storage");
}

// ------------------------------------------------------------------------------------------------------------
// The mutating functions, for the shared role-boundary, unknown-twin and erased-twin behaviours
// ------------------------------------------------------------------------------------------------------------

interface Mutation {
  readonly name: string;
  /** Only the owner or a delegate may call it. */
  readonly controllerOnly: boolean;
  /** Brings an otherwise suitable twin into the state the call needs (e.g. suspended for resumeTwin). */
  readonly prepare?: (f: Deployed) => Promise<unknown>;
  readonly send: (f: Deployed, by: HardhatEthersSigner, twinId: string) => Promise<ContractTransactionResponse>;
}

const M = {
  updateMetadata: {
    name: "updateMetadata",
    controllerOnly: true,
    send: (f, by, twinId) => f.registry.connect(by).updateMetadata(twinId, NEW_METADATA),
  },
  changeCustodian: {
    name: "changeCustodian",
    controllerOnly: true,
    send: (f, by, twinId) => f.registry.connect(by).changeCustodian(twinId, f.hospital2.address),
  },
  authorizeSource: {
    name: "authorizeSource",
    controllerOnly: true,
    send: (f, by, twinId) =>
      f.registry.connect(by).authorizeSource(twinId, f.researcher.address, SourceKind.App, DataCategory.VITALS),
  },
  removeSource: {
    name: "removeSource",
    controllerOnly: true,
    send: (f, by, twinId) => f.registry.connect(by).removeSource(twinId, f.emr.address),
  },
  appointDelegate: {
    name: "appointDelegate",
    controllerOnly: false,
    send: (f, by, twinId) => f.registry.connect(by).appointDelegate(twinId, f.researcher.address),
  },
  removeDelegate: {
    name: "removeDelegate",
    controllerOnly: false,
    send: (f, by, twinId) => f.registry.connect(by).removeDelegate(twinId, f.guardian.address),
  },
  transferOwnership: {
    name: "transferOwnership",
    controllerOnly: true,
    send: (f, by, twinId) => f.registry.connect(by).transferOwnership(twinId, f.researcher.address),
  },
  acceptOwnership: {
    name: "acceptOwnership",
    controllerOnly: false,
    send: (f, by, twinId) => f.registry.connect(by).acceptOwnership(twinId),
  },
  suspendTwin: {
    name: "suspendTwin",
    controllerOnly: true,
    send: (f, by, twinId) => f.registry.connect(by).suspendTwin(twinId),
  },
  resumeTwin: {
    name: "resumeTwin",
    controllerOnly: true,
    prepare: (f) => f.registry.connect(f.guardian).suspendTwin(TWIN_ID),
    send: (f, by, twinId) => f.registry.connect(by).resumeTwin(twinId),
  },
  eraseTwin: {
    name: "eraseTwin",
    controllerOnly: true,
    send: (f, by, twinId) => f.registry.connect(by).eraseTwin(twinId),
  },
} satisfies Record<string, Mutation>;

const MUTATIONS: readonly Mutation[] = Object.values(M);

/** Accounts that control nothing on the boundary fixture's twin, and why. */
const NON_CONTROLLERS: readonly [ActorName, string][] = [
  ["stranger", "a stranger"],
  ["hospital", "the twin's custodian"],
  ["emr", "an authorized source"],
  ["responder", "an emergency responder"],
  ["governance", "governance"],
  ["admin", "the default admin"],
  ["researcher", "a former delegate"],
  ["clinician", "the pending owner"],
];

/** Only the twin's owner or a delegate may call `m`: everyone else gets NotTwinController and changes nothing. */
function shouldRejectNonControllers(m: Mutation): void {
  describe(`${m.name}: rejects everyone but the owner and its delegates`, () => {
    for (const [name, who] of NON_CONTROLLERS) {
      it(`rejects ${who}`, async () => {
        const f = await loadFixture(boundaryFixture);
        await m.prepare?.(f);
        await expectRejected(f, () => m.send(f, f[name], TWIN_ID), "NotTwinController", [TWIN_ID, f[name].address]);
      });
    }
    it("rejects the previous owner once ownership has moved", async () => {
      const f = await loadFixture(transferredFixture);
      await m.prepare?.(f);
      await expectRejected(f, () => m.send(f, f.patient, TWIN_ID), "NotTwinController", [TWIN_ID, f.patient.address]);
    });
    it("regression: rejects a delegate of the previous owner once ownership has moved", async () => {
      const f = await loadFixture(transferredFixture);
      await m.prepare?.(f);
      await expectRejected(f, () => m.send(f, f.researcher, TWIN_ID), "NotTwinController", [
        TWIN_ID,
        f.researcher.address,
      ]);
    });
  });
}

/** `m` on an id that no twin has: UnknownTwin, whoever calls. */
function shouldRejectUnknownTwin(m: Mutation): void {
  it(`${m.name} reverts with UnknownTwin`, async () => {
    const f = await loadFixture(twinFixture);
    await expectRejected(f, () => m.send(f, f.patient, UNKNOWN_TWIN), "UnknownTwin", [UNKNOWN_TWIN], [UNKNOWN_TWIN]);
  });
}

// ------------------------------------------------------------------------------------------------------------

describe("TwinRegistry", () => {
  describe("deployment", () => {
    it("makes the deployer the default admin and appoints governance", async () => {
      const { registry, admin, governance, stranger } = await loadFixture(deployFixture);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await registry.hasRole(GOVERNANCE_ROLE, governance.address)).to.equal(true);
      expect(await registry.hasRole(GOVERNANCE_ROLE, admin.address)).to.equal(false);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, stranger.address)).to.equal(false);
    });

    it("has governance administer custodians and responders, and the default admin administer governance", async () => {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.getRoleAdmin(CUSTODIAN_ROLE)).to.equal(GOVERNANCE_ROLE);
      expect(await registry.getRoleAdmin(EMERGENCY_RESPONDER_ROLE)).to.equal(GOVERNANCE_ROLE);
      expect(await registry.getRoleAdmin(GOVERNANCE_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await registry.getRoleAdmin(DEFAULT_ADMIN_ROLE)).to.equal(DEFAULT_ADMIN_ROLE);
    });

    it("publishes its role ids and the CreateTwin type hash", async () => {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.GOVERNANCE_ROLE()).to.equal(GOVERNANCE_ROLE);
      expect(await registry.CUSTODIAN_ROLE()).to.equal(CUSTODIAN_ROLE);
      expect(await registry.EMERGENCY_RESPONDER_ROLE()).to.equal(EMERGENCY_RESPONDER_ROLE);
      expect(await registry.DEFAULT_ADMIN_ROLE()).to.equal(DEFAULT_ADMIN_ROLE);
      const typeString = ethers.TypedDataEncoder.from(CREATE_TWIN_TYPES).encodeType("CreateTwin");
      expect(typeString).to.equal(
        "CreateTwin(address patient,bytes32 salt,bytes32 metadataCommitment,address custodian,uint256 nonce,uint256 deadline)",
      );
      expect(await registry.CREATE_TWIN_TYPEHASH()).to.equal(ethers.id(typeString));
    });

    it("publishes its EIP-712 domain (EIP-5267)", async () => {
      const f = await loadFixture(deployFixture);
      const domain = await f.registry.eip712Domain();
      const expected = await registryDomain(f);
      expect(domain.fields).to.equal("0x0f"); // name, version, chainId, verifyingContract
      expect(domain.name).to.equal(expected.name);
      expect(domain.version).to.equal(expected.version);
      expect(domain.chainId).to.equal(expected.chainId);
      expect(domain.verifyingContract).to.equal(expected.verifyingContract);
      expect(domain.salt).to.equal(ethers.ZeroHash);
      expect(domain.extensions).to.deep.equal([]);
    });

    it("supports the AccessControl, AccessControlDefaultAdminRules and ERC-165 interfaces", async () => {
      const { registry } = await loadFixture(deployFixture);
      expect(await registry.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await registry.supportsInterface("0x31498786")).to.equal(true); // IAccessControlDefaultAdminRules
      expect(await registry.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await registry.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("wires ConsentPolicy and TwinUpdateLog to the registry and records the deployment", async () => {
      const { registry, consent, updateLog, contracts, admin } = await loadFixture(deployFixture);
      const registryAddress = await registry.getAddress();
      expect(await consent.registry()).to.equal(registryAddress);
      expect(await updateLog.registry()).to.equal(registryAddress);
      const record = contracts.find((c) => c.name === "TwinRegistry");
      expect(record?.address).to.equal(registryAddress);
      expect(record?.constructorArgs).to.deep.equal([0, admin.address]);
    });

    it("has one default admin, with the delay it was deployed with (the fixture's: 0)", async () => {
      const { registry, admin } = await loadFixture(deployFixture);
      expect(await registry.defaultAdmin()).to.equal(admin.address);
      expect(await registry.owner()).to.equal(admin.address);
      expect(await registry.defaultAdminDelay()).to.equal(0n);
      const [pending, schedule] = await registry.pendingDefaultAdmin();
      expect([pending, schedule]).to.deep.equal([ethers.ZeroAddress, 0n]);
    });

    it("deploys with a 2-day admin delay by default, or the one given", async () => {
      const { admin, governance } = await loadFixture(deployFixture);
      expect(DEFAULT_ADMIN_DELAY).to.equal(2 * 24 * 3600);
      const byDefault = await deployTwinLedger({ deployer: admin });
      expect(await byDefault.registry.defaultAdminDelay()).to.equal(BigInt(DEFAULT_ADMIN_DELAY));
      expect(byDefault.contracts[0].constructorArgs).to.deep.equal([DEFAULT_ADMIN_DELAY, admin.address]);
      const given = await deployTwinLedger({ deployer: admin, admin: governance.address, adminDelay: 3600 });
      expect(await given.registry.defaultAdminDelay()).to.equal(3600n);
      expect(await given.registry.defaultAdmin()).to.equal(governance.address);
      for (const adminDelay of [-1, 1.5, 2 ** 48]) {
        await expect(deployTwinLedger({ deployer: admin, adminDelay })).to.be.rejectedWith(RangeError);
      }
    });

    it("refuses a zero admin", async () => {
      const { admin, registry } = await loadFixture(deployFixture);
      await expect(new TwinRegistry__factory(admin).deploy(0, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(registry, "AccessControlInvalidDefaultAdmin")
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe("governance", () => {
    it("accredits and removes custodians", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, governance, stranger } = f;
      await expect(registry.connect(governance).grantRole(CUSTODIAN_ROLE, stranger.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(CUSTODIAN_ROLE, stranger.address, governance.address);
      expect(await registry.isCustodian(stranger.address)).to.equal(true);
      await expect(registry.connect(governance).revokeRole(CUSTODIAN_ROLE, stranger.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(CUSTODIAN_ROLE, stranger.address, governance.address);
      expect(await registry.isCustodian(stranger.address)).to.equal(false);
    });

    it("accredits and removes emergency responders", async () => {
      const { registry, governance, stranger, responder } = await loadFixture(deployFixture);
      expect(await registry.isEmergencyResponder(responder.address)).to.equal(true);
      await expect(registry.connect(governance).grantRole(EMERGENCY_RESPONDER_ROLE, stranger.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(EMERGENCY_RESPONDER_ROLE, stranger.address, governance.address);
      expect(await registry.isEmergencyResponder(stranger.address)).to.equal(true);
      expect(await registry.isCustodian(stranger.address)).to.equal(false);
      await expect(registry.connect(governance).revokeRole(EMERGENCY_RESPONDER_ROLE, responder.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(EMERGENCY_RESPONDER_ROLE, responder.address, governance.address);
      expect(await registry.isEmergencyResponder(responder.address)).to.equal(false);
    });

    it("emits nothing when the role is already held or already absent", async () => {
      const { registry, governance, hospital, stranger } = await loadFixture(deployFixture);
      await expect(registry.connect(governance).grantRole(CUSTODIAN_ROLE, hospital.address)).not.to.emit(
        registry,
        "RoleGranted",
      );
      await expect(registry.connect(governance).revokeRole(CUSTODIAN_ROLE, stranger.address)).not.to.emit(
        registry,
        "RoleRevoked",
      );
    });

    for (const [name, who] of [
      ["stranger", "a stranger"],
      ["hospital", "a custodian"],
      ["responder", "an emergency responder"],
      ["admin", "the default admin without the governance role"],
    ] as const) {
      for (const role of ["CUSTODIAN_ROLE", "EMERGENCY_RESPONDER_ROLE"] as const) {
        it(`does not let ${who} accredit or remove (${role})`, async () => {
          const f = await loadFixture(deployFixture);
          const roleId = ethers.id(role);
          const by = f[name];
          await expectRejected(
            f,
            () => f.registry.connect(by).grantRole(roleId, f.stranger.address),
            "AccessControlUnauthorizedAccount",
            [by.address, GOVERNANCE_ROLE],
          );
          const holder = role === "CUSTODIAN_ROLE" ? f.hospital2 : f.responder;
          await expectRejected(
            f,
            () => f.registry.connect(by).revokeRole(roleId, holder.address),
            "AccessControlUnauthorizedAccount",
            [by.address, GOVERNANCE_ROLE],
          );
        });
      }
    }

    it("lets the default admin appoint and remove governance, and nobody else", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, admin, governance, stranger } = f;
      await expectRejected(
        f,
        () => registry.connect(governance).grantRole(GOVERNANCE_ROLE, stranger.address),
        "AccessControlUnauthorizedAccount",
        [governance.address, DEFAULT_ADMIN_ROLE],
      );
      await expectRejected(
        f,
        () => registry.connect(stranger).revokeRole(GOVERNANCE_ROLE, governance.address),
        "AccessControlUnauthorizedAccount",
        [stranger.address, DEFAULT_ADMIN_ROLE],
      );
      await expect(registry.connect(admin).grantRole(GOVERNANCE_ROLE, stranger.address))
        .to.emit(registry, "RoleGranted")
        .withArgs(GOVERNANCE_ROLE, stranger.address, admin.address);
      await registry.connect(stranger).grantRole(CUSTODIAN_ROLE, f.clinician.address);
      expect(await registry.isCustodian(f.clinician.address)).to.equal(true);
      await expect(registry.connect(admin).revokeRole(GOVERNANCE_ROLE, governance.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(GOVERNANCE_ROLE, governance.address, admin.address);
      await expectRejected(
        f,
        () => registry.connect(governance).grantRole(CUSTODIAN_ROLE, f.researcher.address),
        "AccessControlUnauthorizedAccount",
        [governance.address, GOVERNANCE_ROLE],
      );
    });

    it("hands the default admin over in two steps (begin, then accept by the new admin)", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, admin, stranger } = f;
      await expect(registry.connect(admin).beginDefaultAdminTransfer(stranger.address)).to.emit(
        registry,
        "DefaultAdminTransferScheduled",
      );
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      const tx = registry.connect(stranger).acceptDefaultAdminTransfer();
      await expect(tx).to.emit(registry, "RoleRevoked").withArgs(DEFAULT_ADMIN_ROLE, admin.address, stranger.address);
      await expect(tx)
        .to.emit(registry, "RoleGranted")
        .withArgs(DEFAULT_ADMIN_ROLE, stranger.address, stranger.address);
      expect(await registry.defaultAdmin()).to.equal(stranger.address);
      expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(false);
      await expectRejected(
        f,
        () => registry.connect(admin).grantRole(GOVERNANCE_ROLE, admin.address),
        "AccessControlUnauthorizedAccount",
        [admin.address, DEFAULT_ADMIN_ROLE],
      );
      await registry.connect(stranger).grantRole(GOVERNANCE_ROLE, stranger.address);
      expect(await registry.hasRole(GOVERNANCE_ROLE, stranger.address)).to.equal(true);
    });

    it("regression: the default admin is never granted, revoked or handed over at once, not even by the admin", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, admin, governance, stranger } = f;
      // v1 (plain AccessControl) let the admin grant the role outright, and any holder renounce it at once.
      for (const send of [
        () => registry.connect(admin).grantRole(DEFAULT_ADMIN_ROLE, stranger.address),
        () => registry.connect(admin).revokeRole(DEFAULT_ADMIN_ROLE, admin.address),
        () => registry.connect(governance).grantRole(DEFAULT_ADMIN_ROLE, governance.address),
      ]) {
        await expectRejected(f, send, "AccessControlEnforcedDefaultAdminRules");
      }
      await expectRejected(
        f,
        () => registry.connect(admin).renounceRole(DEFAULT_ADMIN_ROLE, admin.address),
        "AccessControlEnforcedDefaultAdminDelay",
        [0],
      );
      await expectRejected(
        f,
        () => registry.connect(governance).beginDefaultAdminTransfer(governance.address),
        "AccessControlUnauthorizedAccount",
        [governance.address, DEFAULT_ADMIN_ROLE],
      );
    });

    it("regression: with the default 2-day delay, a new admin cannot accept before the delay has passed", async () => {
      const { admin, stranger } = await loadFixture(deployFixture);
      const { registry } = await deployTwinLedger({ deployer: admin });
      await registry.connect(admin).beginDefaultAdminTransfer(stranger.address);
      const [, schedule] = await registry.pendingDefaultAdmin();
      expect(schedule).to.equal(BigInt(await time.latest()) + BigInt(DEFAULT_ADMIN_DELAY));
      await expect(registry.connect(stranger).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(registry, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.increaseTo(schedule + 1n);
      await registry.connect(stranger).acceptDefaultAdminTransfer();
      expect(await registry.defaultAdmin()).to.equal(stranger.address);
    });

    it("lets the admin renounce, in two steps, after which nobody administers governance", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, admin, governance } = f;
      await registry.connect(admin).beginDefaultAdminTransfer(ethers.ZeroAddress);
      await time.increase(1);
      await expect(registry.connect(admin).renounceRole(DEFAULT_ADMIN_ROLE, admin.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(DEFAULT_ADMIN_ROLE, admin.address, admin.address);
      expect(await registry.defaultAdmin()).to.equal(ethers.ZeroAddress);
      await expectRejected(
        f,
        () => registry.connect(admin).grantRole(GOVERNANCE_ROLE, admin.address),
        "AccessControlUnauthorizedAccount",
        [admin.address, DEFAULT_ADMIN_ROLE],
      );
      // Governance keeps accrediting.
      await registry.connect(governance).grantRole(CUSTODIAN_ROLE, f.clinician.address);
      expect(await registry.isCustodian(f.clinician.address)).to.equal(true);
    });

    it("lets a custodian give up its own accreditation, but not another's", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, hospital, hospital2 } = f;
      await expectRejected(
        f,
        () => registry.connect(hospital).renounceRole(CUSTODIAN_ROLE, hospital2.address),
        "AccessControlBadConfirmation",
      );
      await expect(registry.connect(hospital).renounceRole(CUSTODIAN_ROLE, hospital.address))
        .to.emit(registry, "RoleRevoked")
        .withArgs(CUSTODIAN_ROLE, hospital.address, hospital.address);
      expect(await registry.isCustodian(hospital.address)).to.equal(false);
    });
  });

  describe("custodian ids", () => {
    it("gives each custodian the next compact id on its first accreditation", async () => {
      const f = await loadFixture(deployFixture);
      const ids = await custodianIds(f);
      expect(await ids.idOf(f.hospital.address)).to.equal(1n);
      expect(await ids.idOf(f.hospital2.address)).to.equal(2n);
      expect(await ids.count()).to.equal(2n);
      await f.registry.connect(f.governance).grantRole(CUSTODIAN_ROLE, f.clinician.address);
      expect(await ids.idOf(f.clinician.address)).to.equal(3n);
      expect(await ids.accountOf(3n)).to.equal(f.clinician.address);
      expect(await ids.count()).to.equal(3n);
    });

    it("gives no id for other roles, nor for a repeated grant", async () => {
      const f = await loadFixture(deployFixture);
      const ids = await custodianIds(f);
      expect(await ids.idOf(f.responder.address)).to.equal(0n);
      await f.registry.connect(f.governance).grantRole(EMERGENCY_RESPONDER_ROLE, f.stranger.address);
      await f.registry.connect(f.admin).grantRole(GOVERNANCE_ROLE, f.stranger.address);
      await f.registry.connect(f.governance).grantRole(CUSTODIAN_ROLE, f.hospital.address);
      await f.registry.connect(f.admin).beginDefaultAdminTransfer(f.clinician.address);
      await f.registry.connect(f.clinician).acceptDefaultAdminTransfer();
      expect(await ids.idOf(f.stranger.address)).to.equal(0n);
      expect(await ids.idOf(f.clinician.address)).to.equal(0n);
      expect(await ids.count()).to.equal(2n);
    });

    it("keeps a removed custodian's id when it is accredited again, and never reuses ids", async () => {
      const f = await loadFixture(deployFixture);
      const ids = await custodianIds(f);
      await f.registry.connect(f.governance).revokeRole(CUSTODIAN_ROLE, f.hospital.address);
      await f.registry.connect(f.governance).grantRole(CUSTODIAN_ROLE, f.clinician.address);
      await f.registry.connect(f.governance).grantRole(CUSTODIAN_ROLE, f.hospital.address);
      expect(await ids.idOf(f.hospital.address)).to.equal(1n);
      expect(await ids.accountOf(1n)).to.equal(f.hospital.address);
      expect(await ids.idOf(f.clinician.address)).to.equal(3n);
      expect(await ids.count()).to.equal(3n);
    });

    it("keeps reporting a removed custodian on its twins, and refuses it for new twins", async () => {
      const f = await loadFixture(twinFixture);
      const { registry, governance, hospital, clinician } = f;
      await registry.connect(governance).revokeRole(CUSTODIAN_ROLE, hospital.address);
      expect(await registry.custodianOf(TWIN_ID)).to.equal(hospital.address);
      const clinicianTwin = twinIdOf(clinician.address, OTHER_SALT);
      await expectRejected(
        f,
        () => registry.connect(clinician).createTwin(OTHER_SALT, METADATA, hospital.address),
        "NotCustodian",
        [hospital.address],
        [TWIN_ID, clinicianTwin],
      );
      await registry.connect(governance).grantRole(CUSTODIAN_ROLE, hospital.address);
      await expect(registry.connect(clinician).createTwin(OTHER_SALT, METADATA, hospital.address))
        .to.emit(registry, "TwinCreated")
        .withArgs(clinicianTwin, clinician.address, hospital.address, METADATA);
      expect(await registry.custodianOf(clinicianTwin)).to.equal(hospital.address);
      expect(await registry.custodianOf(TWIN_ID)).to.equal(hospital.address);
    });
  });

  describe("createTwin", () => {
    it("creates an active twin owned by the caller, under the id derived from the caller and the salt", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, patient, hospital } = f;
      expect(await registry.twinIdOf(patient.address, TWIN_SALT)).to.equal(TWIN_ID);
      expect(await registry.connect(patient).createTwin.staticCall(TWIN_SALT, METADATA, hospital.address)).to.equal(
        TWIN_ID,
      );
      const tx = registry.connect(patient).createTwin(TWIN_SALT, METADATA, hospital.address);
      await expect(tx).to.emit(registry, "TwinCreated").withArgs(TWIN_ID, patient.address, hospital.address, METADATA);
      expect(await twinView(f)).to.deep.equal({
        owner: patient.address,
        status: TwinStatus.Active,
        custodian: hospital.address,
        metadata: METADATA,
        pendingOwner: ethers.ZeroAddress,
        transferStartedBy: ethers.ZeroAddress,
      });
      expect(await registry.isController(TWIN_ID, patient.address)).to.equal(true);
      expect(await registry.isDelegate(TWIN_ID, patient.address)).to.equal(false);
      expect(await registry.isController(TWIN_ID, hospital.address)).to.equal(false);
      const [status, controller] = await registry.accessContext(TWIN_ID, patient.address);
      expect([Number(status), controller]).to.deep.equal([TwinStatus.Active, true]);
      expect(await registry.nonces(patient.address)).to.equal(0n);
    });

    it("accepts a zero salt: the id is a hash all the same", async () => {
      const f = await loadFixture(deployFixture);
      const id = twinIdOf(f.patient.address, ethers.ZeroHash);
      expect(id).to.not.equal(ethers.ZeroHash);
      await expect(f.registry.connect(f.patient).createTwin(ethers.ZeroHash, METADATA, f.hospital.address))
        .to.emit(f.registry, "TwinCreated")
        .withArgs(id, f.patient.address, f.hospital.address, METADATA);
      expect(await f.registry.ownerOf(id)).to.equal(f.patient.address);
    });

    it("keeps twins apart", async () => {
      const f = await loadFixture(twinFixture);
      const { registry, clinician, hospital2, patient, emr } = f;
      const clinicianTwin = twinIdOf(clinician.address, OTHER_SALT);
      await registry.connect(clinician).createTwin(OTHER_SALT, NEW_METADATA, hospital2.address);
      expect(await twinView(f, clinicianTwin)).to.include({
        owner: clinician.address,
        custodian: hospital2.address,
        metadata: NEW_METADATA,
      });
      expect(await registry.isController(clinicianTwin, patient.address)).to.equal(false);
      expect(await registry.isController(TWIN_ID, clinician.address)).to.equal(false);
      expect(await registry.writableCategories(clinicianTwin, emr.address)).to.equal(0n);
      expect(await registry.custodianOf(TWIN_ID)).to.equal(f.hospital.address);
    });

    it("lets one patient own several twins, one per salt", async () => {
      const f = await loadFixture(twinFixture);
      await f.registry.connect(f.patient).createTwin(OTHER_SALT, METADATA, f.hospital2.address);
      expect(await f.registry.ownerOf(OTHER_TWIN)).to.equal(f.patient.address);
      expect(await f.registry.ownerOf(TWIN_ID)).to.equal(f.patient.address);
      expect(OTHER_TWIN).to.not.equal(TWIN_ID);
    });

    it("createTwinOf (test helper) returns the id of the twin it created", async () => {
      const f = await loadFixture(deployFixture);
      const id = await createTwinOf(f.registry, f.stranger, "helper", f.hospital);
      expect(id).to.equal(twinIdOf(f.stranger.address, ethers.id("helper")));
      expect(await f.registry.ownerOf(id)).to.equal(f.stranger.address);
      const id2 = await createTwinOf(f.registry, f.stranger, "helper-2", f.hospital2.address);
      expect(await f.registry.custodianOf(id2)).to.equal(f.hospital2.address);
    });

    it("reverts with EmptyCommitment for a zero commitment", async () => {
      const f = await loadFixture(deployFixture);
      await expectRejected(
        f,
        () => f.registry.connect(f.patient).createTwin(TWIN_SALT, ethers.ZeroHash, f.hospital.address),
        "EmptyCommitment",
      );
    });

    for (const [name, who] of [
      ["stranger", "an unaccredited address"],
      ["responder", "an emergency responder"],
      ["governance", "governance"],
    ] as const) {
      it(`reverts with NotCustodian when the custodian is ${who}`, async () => {
        const f = await loadFixture(deployFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).createTwin(TWIN_SALT, METADATA, f[name].address),
          "NotCustodian",
          [f[name].address],
        );
      });
    }

    it("reverts with NotCustodian for the zero custodian", async () => {
      const f = await loadFixture(deployFixture);
      await expectRejected(
        f,
        () => f.registry.connect(f.patient).createTwin(TWIN_SALT, METADATA, ethers.ZeroAddress),
        "NotCustodian",
        [ethers.ZeroAddress],
      );
    });

    it("reverts with TwinAlreadyExists when the patient reuses a salt", async () => {
      const f = await loadFixture(twinFixture);
      await expectRejected(
        f,
        () => f.registry.connect(f.patient).createTwin(TWIN_SALT, NEW_METADATA, f.hospital2.address),
        "TwinAlreadyExists",
        [TWIN_ID],
      );
    });

    it("regression: someone else using the patient's salt creates its own twin, not the patient's", async () => {
      const f = await loadFixture(twinFixture);
      const { registry, stranger, patient, hospital2 } = f;
      // v1 took the id as given: the first to register an id owned it (TwinAlreadyExists for everyone else).
      const strangerTwin = twinIdOf(stranger.address, TWIN_SALT);
      await expect(registry.connect(stranger).createTwin(TWIN_SALT, NEW_METADATA, hospital2.address))
        .to.emit(registry, "TwinCreated")
        .withArgs(strangerTwin, stranger.address, hospital2.address, NEW_METADATA);
      expect(strangerTwin).to.not.equal(TWIN_ID);
      expect(await twinView(f)).to.include({ owner: patient.address, metadata: METADATA });
      expect(await registry.isController(TWIN_ID, stranger.address)).to.equal(false);
    });
  });

  describe("createTwinFor", () => {
    it("creates the patient's twin from the patient's signature, submitted by the custodian", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, patient, hospital } = f;
      const { request, signature } = await signCreateTwin(f);
      const args = [
        request.patient,
        request.salt,
        request.metadataCommitment,
        request.nonce,
        request.deadline,
      ] as const;
      expect(await registry.connect(hospital).createTwinFor.staticCall(...args, signature)).to.equal(OTHER_TWIN);
      await expect(submitCreateTwin(f, hospital, request, signature))
        .to.emit(registry, "TwinCreated")
        .withArgs(OTHER_TWIN, patient.address, hospital.address, METADATA);
      expect(await twinView(f, OTHER_TWIN)).to.deep.equal({
        owner: patient.address,
        status: TwinStatus.Active,
        custodian: hospital.address,
        metadata: METADATA,
        pendingOwner: ethers.ZeroAddress,
        transferStartedBy: ethers.ZeroAddress,
      });
      expect(await registry.nonces(patient.address)).to.equal(1n);
      expect(await registry.isController(OTHER_TWIN, hospital.address)).to.equal(false);
    });

    it("accepts the signature made by the off-chain signing module (src/chain/typed-data), 15 minutes by default", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, patient, hospital } = f;
      const now = await time.latest();
      const signed = await signCreateTwinOffChain(
        patient,
        { chainId: (await ethers.provider.getNetwork()).chainId, address: await registry.getAddress() },
        { salt: TWIN_SALT, metadataCommitment: METADATA, custodian: hospital.address, nonce: 0n },
        now,
      );
      expect(CREATE_TWIN_DEADLINE_SECONDS).to.equal(15 * 60);
      expect(signed).to.include({
        patient: patient.address,
        salt: TWIN_SALT,
        twinId: TWIN_ID,
        nonce: 0n,
        deadline: now + CREATE_TWIN_DEADLINE_SECONDS,
      });
      const submit = () =>
        registry
          .connect(hospital)
          .createTwinFor(signed.patient, signed.salt, METADATA, signed.nonce, signed.deadline, signed.signature);
      await time.setNextBlockTimestamp(signed.deadline + 1);
      await expect(submit()).to.be.revertedWithCustomError(registry, "SignatureExpired");
    });

    it("signs with the local clock when no time is given, and with a given deadline", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, patient, hospital } = f;
      const ref = { chainId: (await ethers.provider.getNetwork()).chainId, address: await registry.getAddress() };
      const request = { salt: TWIN_SALT, metadataCommitment: METADATA, custodian: hospital.address, nonce: 0n };
      const before = Math.floor(Date.now() / 1000);
      const byClock = await signCreateTwinOffChain(patient, ref, request);
      expect(byClock.deadline - CREATE_TWIN_DEADLINE_SECONDS).to.be.within(before, Math.floor(Date.now() / 1000));
      const deadline = (await time.latest()) + 600;
      const signed = await signCreateTwinOffChain(patient, ref, { ...request, deadline });
      expect(signed.deadline).to.equal(deadline);
      await expect(
        registry.connect(hospital).createTwinFor(patient.address, TWIN_SALT, METADATA, 0n, deadline, signed.signature),
      )
        .to.emit(registry, "TwinCreated")
        .withArgs(signed.twinId, patient.address, hospital.address, METADATA);
    });

    it("accepts a signature in the second of its deadline", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f);
      await time.setNextBlockTimestamp(request.deadline);
      await expect(submitCreateTwin(f, f.hospital, request, signature)).to.emit(f.registry, "TwinCreated");
    });

    it("takes the patient's nonces in order", async () => {
      const f = await loadFixture(deployFixture);
      const first = await signCreateTwin(f);
      await submitCreateTwin(f, f.hospital, first.request, first.signature);
      const second = await signCreateTwin(f, { request: { salt: TWIN_SALT } });
      expect(second.request.nonce).to.equal(1n);
      await submitCreateTwin(f, f.hospital, second.request, second.signature);
      expect(await f.registry.nonces(f.patient.address)).to.equal(2n);
      expect(await f.registry.ownerOf(TWIN_ID)).to.equal(f.patient.address);
    });

    it("reverts with InvalidAccountNonce on a replay", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f);
      await submitCreateTwin(f, f.hospital, request, signature);
      await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "InvalidAccountNonce", [
        f.patient.address,
        1n,
      ]);
    });

    it("reverts with InvalidAccountNonce for a nonce ahead of the patient's", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f, { request: { nonce: 1n } });
      await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "InvalidAccountNonce", [
        f.patient.address,
        0n,
      ]);
    });

    it("reverts with SignatureExpired after the deadline", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f);
      const late = request.deadline + 1n;
      await time.setNextBlockTimestamp(late);
      await expect(submitCreateTwin(f, f.hospital, request, signature))
        .to.be.revertedWithCustomError(f.registry, "SignatureExpired")
        .withArgs(request.deadline, late);
      expect(await f.registry.statusOf(OTHER_TWIN)).to.equal(TwinStatus.None);
      expect(await f.registry.nonces(f.patient.address)).to.equal(0n);
    });

    it("reverts with InvalidSignature when someone else signed", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f, { signer: f.stranger });
      await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "InvalidSignature", [
        f.patient.address,
      ]);
    });

    it("reverts with InvalidSignature for a signature on another chain", async () => {
      const f = await loadFixture(deployFixture);
      const chainId = (await ethers.provider.getNetwork()).chainId + 1n;
      const { request, signature } = await signCreateTwin(f, { domain: { chainId } });
      await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "InvalidSignature", [
        f.patient.address,
      ]);
    });

    it("reverts with InvalidSignature for a signature on another contract", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f, {
        domain: { verifyingContract: await f.consent.getAddress() },
      });
      await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "InvalidSignature", [
        f.patient.address,
      ]);
    });

    it("reverts with InvalidSignature for a signature under another domain name or version", async () => {
      const f = await loadFixture(deployFixture);
      for (const domain of [{ name: CONSENT_DOMAIN_NAME }, { version: "2" }]) {
        const { request, signature } = await signCreateTwin(f, { domain });
        await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "InvalidSignature", [
          f.patient.address,
        ]);
      }
    });

    it("reverts with InvalidSignature when another custodian submits it than the one signed for", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f);
      await expectRejected(f, () => submitCreateTwin(f, f.hospital2, request, signature), "InvalidSignature", [
        f.patient.address,
      ]);
    });

    for (const [field, value] of [
      ["salt", TWIN_SALT],
      ["metadataCommitment", NEW_METADATA],
      ["deadline", 2n ** 40n],
    ] as const) {
      it(`reverts with InvalidSignature when ${field} differs from what was signed`, async () => {
        const f = await loadFixture(deployFixture);
        const { request, signature } = await signCreateTwin(f);
        const tampered = { ...request, [field]: value };
        await expectRejected(f, () => submitCreateTwin(f, f.hospital, tampered, signature), "InvalidSignature", [
          f.patient.address,
        ]);
      });
    }

    it("reverts with InvalidSignature for a malformed signature", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f);
      for (const bad of ["0x", ethers.dataSlice(signature, 0, 64), ethers.zeroPadValue("0x", 65)]) {
        await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, bad), "InvalidSignature", [
          f.patient.address,
        ]);
      }
    });

    it("reverts with NotCustodian when the caller is not an accredited custodian", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f, { request: { custodian: f.stranger.address } });
      await expectRejected(f, () => submitCreateTwin(f, f.stranger, request, signature), "NotCustodian", [
        f.stranger.address,
      ]);
    });

    it("reverts with ZeroAddress for the zero patient", async () => {
      const f = await loadFixture(deployFixture);
      const { request, signature } = await signCreateTwin(f, { request: { patient: ethers.ZeroAddress } });
      await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "ZeroAddress");
    });

    it("reverts with EmptyCommitment and TwinAlreadyExists as createTwin does", async () => {
      const f = await loadFixture(twinFixture);
      const cases = [
        [{ metadataCommitment: ethers.ZeroHash }, "EmptyCommitment", []],
        [{ salt: TWIN_SALT }, "TwinAlreadyExists", [TWIN_ID]],
      ] as const;
      for (const [request, error, args] of cases) {
        const signed = await signCreateTwin(f, { request });
        await expectRejected(f, () => submitCreateTwin(f, f.hospital, signed.request, signed.signature), error, args);
      }
    });

    it("regression: a squatter front-running createTwinFor with the patient's salt cannot take the patient's id", async () => {
      const f = await loadFixture(deployFixture);
      const { registry, patient, hospital, hospital2, stranger: squatter, emr } = f;
      // The patient signs for the hospital; the squatter sees salt and metadata in the mempool and goes first,
      // naming the real hospital (in v1 it took the id itself and the hospital's transaction then failed).
      const { request, signature } = await signCreateTwin(f);
      const squatterTwin = twinIdOf(squatter.address, OTHER_SALT);
      await expect(registry.connect(squatter).createTwin(OTHER_SALT, METADATA, hospital.address))
        .to.emit(registry, "TwinCreated")
        .withArgs(squatterTwin, squatter.address, hospital.address, METADATA);
      await registry.connect(squatter).authorizeSource(squatterTwin, emr.address, SourceKind.Emr, EMR_CATEGORIES);
      expect(squatterTwin).to.not.equal(OTHER_TWIN);
      expect(await registry.statusOf(OTHER_TWIN)).to.equal(TwinStatus.None);
      // Nor can it go through createTwinFor: with its own signature it is the patient of its own id; with the
      // patient's signature under its own name the signature fails.
      const own = await signCreateTwin(f, {
        request: { patient: squatter.address, salt: ethers.id("twin:salt:squatter"), custodian: hospital2.address },
        signer: squatter,
      });
      await submitCreateTwin(f, hospital2, own.request, own.signature);
      expect(await registry.statusOf(OTHER_TWIN)).to.equal(TwinStatus.None);
      await expectRejected(
        f,
        () => submitCreateTwin(f, hospital, { ...request, patient: squatter.address, nonce: 1n }, signature),
        "InvalidSignature",
        [squatter.address],
      );
      // The patient's twin is created as signed, owned by the patient; the squatter controls nothing on it.
      await expect(submitCreateTwin(f, hospital, request, signature))
        .to.emit(registry, "TwinCreated")
        .withArgs(OTHER_TWIN, patient.address, hospital.address, METADATA);
      expect(await registry.ownerOf(OTHER_TWIN)).to.equal(patient.address);
      expect(await registry.isController(OTHER_TWIN, squatter.address)).to.equal(false);
      expect(await registry.writableCategories(OTHER_TWIN, emr.address)).to.equal(0n);
    });

    describe("for an ERC-1271 wallet patient", () => {
      it("creates the twin when the wallet accepts the signature, and the wallet then controls it", async () => {
        const f = await loadFixture(walletFixture);
        const { registry, wallet, hospital, patient, guardian } = f;
        const walletAddress = await wallet.getAddress();
        const walletTwin = twinIdOf(walletAddress, OTHER_SALT);
        const { request, signature } = await signCreateTwin(f, { request: { patient: walletAddress } });
        await expect(submitCreateTwin(f, hospital, request, signature))
          .to.emit(registry, "TwinCreated")
          .withArgs(walletTwin, walletAddress, hospital.address, METADATA);
        expect(await registry.ownerOf(walletTwin)).to.equal(walletAddress);
        expect(await registry.nonces(walletAddress)).to.equal(1n);
        // The wallet's key is not the owner (nor is the key's own twin id taken); the wallet acts through its calls.
        expect(await registry.isController(walletTwin, patient.address)).to.equal(false);
        expect(await registry.statusOf(OTHER_TWIN)).to.equal(TwinStatus.None);
        const call = registry.interface.encodeFunctionData("appointDelegate", [walletTwin, guardian.address]);
        await expect(wallet.connect(patient).execute(await registry.getAddress(), call))
          .to.emit(registry, "DelegateAppointed")
          .withArgs(walletTwin, guardian.address);
        expect(await registry.isDelegate(walletTwin, guardian.address)).to.equal(true);
        await expect(wallet.connect(guardian).execute(await registry.getAddress(), call))
          .to.be.revertedWithCustomError(wallet, "NotWalletSigner")
          .withArgs(guardian.address);
      });

      it("reverts with InvalidSignature when the wallet refuses the signature", async () => {
        const f = await loadFixture(walletFixture);
        const walletAddress = await f.wallet.getAddress();
        const { request, signature } = await signCreateTwin(f, {
          request: { patient: walletAddress },
          signer: f.stranger,
        });
        await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "InvalidSignature", [
          walletAddress,
        ]);
      });

      it("reverts with InvalidSignature for a contract patient that is no ERC-1271 wallet", async () => {
        const f = await loadFixture(walletFixture);
        const consentAddress = await f.consent.getAddress();
        const { request, signature } = await signCreateTwin(f, { request: { patient: consentAddress } });
        await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "InvalidSignature", [
          consentAddress,
        ]);
      });
    });
  });

  describe("updateMetadata", () => {
    for (const by of ["patient", "guardian"] as const) {
      it(`replaces the commitment (${by === "patient" ? "owner" : "delegate"})`, async () => {
        const f = await loadFixture(delegateFixture);
        const before = await twinView(f);
        await expect(f.registry.connect(f[by]).updateMetadata(TWIN_ID, NEW_METADATA))
          .to.emit(f.registry, "TwinMetadataUpdated")
          .withArgs(TWIN_ID, NEW_METADATA);
        expect(await twinView(f)).to.deep.equal({ ...before, metadata: NEW_METADATA });
      });
    }

    it("works on a suspended twin", async () => {
      const f = await loadFixture(suspendedFixture);
      await f.registry.connect(f.patient).updateMetadata(TWIN_ID, NEW_METADATA);
      expect(await f.registry.metadataOf(TWIN_ID)).to.equal(NEW_METADATA);
    });

    it("reverts with EmptyCommitment for a zero commitment", async () => {
      const f = await loadFixture(twinFixture);
      await expectRejected(
        f,
        () => f.registry.connect(f.patient).updateMetadata(TWIN_ID, ethers.ZeroHash),
        "EmptyCommitment",
      );
    });

    shouldRejectNonControllers(M.updateMetadata);
  });

  describe("changeCustodian", () => {
    for (const by of ["patient", "guardian"] as const) {
      it(`moves the twin to another accredited custodian (${by === "patient" ? "owner" : "delegate"})`, async () => {
        const f = await loadFixture(delegateFixture);
        const before = await twinView(f);
        await expect(f.registry.connect(f[by]).changeCustodian(TWIN_ID, f.hospital2.address))
          .to.emit(f.registry, "CustodianChanged")
          .withArgs(TWIN_ID, f.hospital.address, f.hospital2.address);
        expect(await twinView(f)).to.deep.equal({ ...before, custodian: f.hospital2.address });
      });
    }

    it("names a previous custodian that has since lost its accreditation", async () => {
      const f = await loadFixture(twinFixture);
      await f.registry.connect(f.governance).revokeRole(CUSTODIAN_ROLE, f.hospital.address);
      await expect(f.registry.connect(f.patient).changeCustodian(TWIN_ID, f.hospital2.address))
        .to.emit(f.registry, "CustodianChanged")
        .withArgs(TWIN_ID, f.hospital.address, f.hospital2.address);
      expect(await f.registry.custodianOf(TWIN_ID)).to.equal(f.hospital2.address);
    });

    it("works on a suspended twin", async () => {
      const f = await loadFixture(suspendedFixture);
      await f.registry.connect(f.guardian).changeCustodian(TWIN_ID, f.hospital2.address);
      expect(await f.registry.custodianOf(TWIN_ID)).to.equal(f.hospital2.address);
    });

    it("reverts with NotCustodian for an unaccredited, removed or zero custodian", async () => {
      const f = await loadFixture(twinFixture);
      await f.registry.connect(f.governance).revokeRole(CUSTODIAN_ROLE, f.hospital2.address);
      for (const account of [f.stranger.address, f.hospital2.address, f.responder.address, ethers.ZeroAddress]) {
        await expectRejected(f, () => f.registry.connect(f.patient).changeCustodian(TWIN_ID, account), "NotCustodian", [
          account,
        ]);
      }
    });

    shouldRejectNonControllers(M.changeCustodian);
  });

  describe("sources", () => {
    describe("authorizeSource", () => {
      for (const by of ["patient", "guardian"] as const) {
        it(`authorizes a source for its categories (${by === "patient" ? "owner" : "delegate"})`, async () => {
          const f = await loadFixture(delegateFixture);
          const { registry, researcher } = f;
          const categories = DataCategory.VITALS | DataCategory.LABS;
          const tx = await registry
            .connect(f[by])
            .authorizeSource(TWIN_ID, researcher.address, SourceKind.Lab, categories);
          await expect(tx)
            .to.emit(registry, "SourceAuthorized")
            .withArgs(TWIN_ID, researcher.address, SourceKind.Lab, categories);
          expect(await sourceView(f, researcher.address)).to.deep.equal({
            categories,
            kind: SourceKind.Lab,
            authorizedAt: await timestampOf(tx),
          });
          expect(await registry.writableCategories(TWIN_ID, researcher.address)).to.equal(categories);
          expect(await registry.isController(TWIN_ID, researcher.address)).to.equal(false);
        });
      }

      it("the fixture's EMR and wearable sources are authorized", async () => {
        const f = await loadFixture(twinFixture);
        expect(await f.registry.writableCategories(TWIN_ID, f.emr.address)).to.equal(EMR_CATEGORIES);
        expect(await f.registry.writableCategories(TWIN_ID, f.wearable.address)).to.equal(WEARABLE_CATEGORIES);
        expect((await sourceView(f, f.wearable.address)).kind).to.equal(SourceKind.Device);
      });

      it("changes a source's categories and kind, and restamps it", async () => {
        const f = await loadFixture(twinFixture);
        const { registry, emr, patient } = f;
        await time.increase(3600);
        const tx = await registry
          .connect(patient)
          .authorizeSource(TWIN_ID, emr.address, SourceKind.Lab, DataCategory.LABS);
        await expect(tx)
          .to.emit(registry, "SourceAuthorized")
          .withArgs(TWIN_ID, emr.address, SourceKind.Lab, DataCategory.LABS);
        expect(await sourceView(f, emr.address)).to.deep.equal({
          categories: DataCategory.LABS,
          kind: SourceKind.Lab,
          authorizedAt: await timestampOf(tx),
        });
        expect(await registry.writableCategories(TWIN_ID, emr.address)).to.equal(DataCategory.LABS);
      });

      it("accepts every defined category, and every defined kind", async () => {
        const f = await loadFixture(twinFixture);
        for (const kind of [SourceKind.Emr, SourceKind.Device, SourceKind.App, SourceKind.Lab]) {
          await f.registry.connect(f.patient).authorizeSource(TWIN_ID, f.researcher.address, kind, ALL_CATEGORIES);
          expect(await sourceView(f, f.researcher.address)).to.include({ kind, categories: ALL_CATEGORIES });
        }
      });

      it("is per twin", async () => {
        const f = await loadFixture(twinFixture);
        await f.registry.connect(f.patient).createTwin(OTHER_SALT, METADATA, f.hospital.address);
        expect(await f.registry.writableCategories(OTHER_TWIN, f.emr.address)).to.equal(0n);
        expect(await sourceView(f, f.emr.address, OTHER_TWIN)).to.deep.equal({
          categories: 0,
          kind: 0,
          authorizedAt: 0,
        });
      });

      for (const categories of [0, UNDEFINED_CATEGORY, ALL_CATEGORIES | UNDEFINED_CATEGORY, 2 ** 31, 2 ** 32 - 1]) {
        it(`reverts with InvalidCategories for 0x${categories.toString(16)}`, async () => {
          const f = await loadFixture(twinFixture);
          await expectRejected(
            f,
            () => f.registry.connect(f.patient).authorizeSource(TWIN_ID, f.emr.address, SourceKind.Emr, categories),
            "InvalidCategories",
            [categories],
          );
        });
      }

      it("reverts with InvalidSourceKind for None", async () => {
        const f = await loadFixture(twinFixture);
        await expectRejected(
          f,
          () =>
            f.registry
              .connect(f.patient)
              .authorizeSource(TWIN_ID, f.researcher.address, SourceKind.None, DataCategory.LABS),
          "InvalidSourceKind",
          [SourceKind.None],
        );
      });

      it("reverts without a reason for an undefined kind (the ABI decoder refuses it)", async () => {
        const f = await loadFixture(twinFixture);
        await expect(
          f.registry.connect(f.patient).authorizeSource(TWIN_ID, f.researcher.address, 5, DataCategory.LABS),
        ).to.be.revertedWithoutReason();
        expect(await sourceView(f, f.researcher.address)).to.deep.equal({ categories: 0, kind: 0, authorizedAt: 0 });
      });

      it("reverts with ZeroAddress for the zero source", async () => {
        const f = await loadFixture(twinFixture);
        await expectRejected(
          f,
          () =>
            f.registry.connect(f.patient).authorizeSource(TWIN_ID, ethers.ZeroAddress, SourceKind.Emr, EMR_CATEGORIES),
          "ZeroAddress",
        );
      });

      it("reverts with OwnerNotAllowed when the owner would be its own source", async () => {
        const f = await loadFixture(delegateFixture);
        await expectRejected(
          f,
          () =>
            f.registry
              .connect(f.guardian)
              .authorizeSource(TWIN_ID, f.patient.address, SourceKind.App, DataCategory.VITALS),
          "OwnerNotAllowed",
          [TWIN_ID, f.patient.address],
        );
      });

      shouldRejectNonControllers(M.authorizeSource);
    });

    describe("removeSource", () => {
      for (const by of ["patient", "guardian"] as const) {
        it(`removes a source (${by === "patient" ? "owner" : "delegate"})`, async () => {
          const f = await loadFixture(delegateFixture);
          const { registry, emr, wearable } = f;
          await expect(registry.connect(f[by]).removeSource(TWIN_ID, emr.address))
            .to.emit(registry, "SourceRemoved")
            .withArgs(TWIN_ID, emr.address);
          expect(await sourceView(f, emr.address)).to.deep.equal({ categories: 0, kind: 0, authorizedAt: 0 });
          expect(await registry.writableCategories(TWIN_ID, emr.address)).to.equal(0n);
          expect(await registry.writableCategories(TWIN_ID, wearable.address)).to.equal(WEARABLE_CATEGORIES);
        });
      }

      it("reverts with UnknownSource for an address that is no source, or no longer one", async () => {
        const f = await loadFixture(twinFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).removeSource(TWIN_ID, f.stranger.address),
          "UnknownSource",
          [TWIN_ID, f.stranger.address],
        );
        await f.registry.connect(f.patient).removeSource(TWIN_ID, f.emr.address);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).removeSource(TWIN_ID, f.emr.address),
          "UnknownSource",
          [TWIN_ID, f.emr.address],
        );
      });

      it("does not let a source remove itself", async () => {
        const f = await loadFixture(twinFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.emr).removeSource(TWIN_ID, f.emr.address),
          "NotTwinController",
          [TWIN_ID, f.emr.address],
        );
      });

      shouldRejectNonControllers(M.removeSource);
    });

    describe("writableCategories", () => {
      it("is zero while the twin is suspended, and comes back when it resumes", async () => {
        const f = await loadFixture(suspendedFixture);
        expect(await f.registry.writableCategories(TWIN_ID, f.emr.address)).to.equal(0n);
        expect((await sourceView(f, f.emr.address)).categories).to.equal(EMR_CATEGORIES);
        await f.registry.connect(f.patient).resumeTwin(TWIN_ID);
        expect(await f.registry.writableCategories(TWIN_ID, f.emr.address)).to.equal(EMR_CATEGORIES);
      });

      it("is zero once the twin is erased, though the authorization stays on record", async () => {
        const f = await loadFixture(erasedFixture);
        expect(await f.registry.writableCategories(TWIN_ID, f.emr.address)).to.equal(0n);
        expect((await sourceView(f, f.emr.address)).categories).to.equal(EMR_CATEGORIES);
      });

      it("is zero on an unknown twin and for an unknown source", async () => {
        const f = await loadFixture(twinFixture);
        expect(await f.registry.writableCategories(UNKNOWN_TWIN, f.emr.address)).to.equal(0n);
        expect(await f.registry.writableCategories(TWIN_ID, f.stranger.address)).to.equal(0n);
      });
    });
  });

  describe("delegates", () => {
    describe("appointDelegate", () => {
      it("lets the owner appoint a delegate, who then controls the twin", async () => {
        const f = await loadFixture(twinFixture);
        const { registry, patient, guardian } = f;
        expect(await registry.isController(TWIN_ID, guardian.address)).to.equal(false);
        await expect(registry.connect(patient).appointDelegate(TWIN_ID, guardian.address))
          .to.emit(registry, "DelegateAppointed")
          .withArgs(TWIN_ID, guardian.address);
        expect(await registry.isDelegate(TWIN_ID, guardian.address)).to.equal(true);
        expect(await registry.isController(TWIN_ID, guardian.address)).to.equal(true);
        const [status, controller] = await registry.accessContext(TWIN_ID, guardian.address);
        expect([Number(status), controller]).to.deep.equal([TwinStatus.Active, true]);
        expect(await registry.ownerOf(TWIN_ID)).to.equal(patient.address);
      });

      it("allows several delegates, and appointing on a suspended twin", async () => {
        const f = await loadFixture(suspendedFixture);
        await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.researcher.address);
        expect(await f.registry.isDelegate(TWIN_ID, f.researcher.address)).to.equal(true);
        expect(await f.registry.isDelegate(TWIN_ID, f.guardian.address)).to.equal(true);
      });

      it("is per twin", async () => {
        const f = await loadFixture(delegateFixture);
        await f.registry.connect(f.patient).createTwin(OTHER_SALT, METADATA, f.hospital.address);
        expect(await f.registry.isDelegate(OTHER_TWIN, f.guardian.address)).to.equal(false);
        expect(await f.registry.isController(OTHER_TWIN, f.guardian.address)).to.equal(false);
      });

      for (const [name, who] of [
        ["guardian", "a delegate"],
        ["stranger", "a stranger"],
        ["clinician", "the pending owner"],
        ["hospital", "the custodian"],
        ["emr", "a source"],
      ] as const) {
        it(`reverts with NotTwinOwner when ${who} appoints`, async () => {
          const f = await loadFixture(boundaryFixture);
          await expectRejected(
            f,
            () => f.registry.connect(f[name]).appointDelegate(TWIN_ID, f.researcher.address),
            "NotTwinOwner",
            [TWIN_ID, f[name].address],
          );
        });
      }

      it("reverts with NotTwinOwner when the previous owner appoints", async () => {
        const f = await loadFixture(transferredFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.researcher.address),
          "NotTwinOwner",
          [TWIN_ID, f.patient.address],
        );
      });

      it("reverts with ZeroAddress for the zero delegate", async () => {
        const f = await loadFixture(twinFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).appointDelegate(TWIN_ID, ethers.ZeroAddress),
          "ZeroAddress",
        );
      });

      it("reverts with OwnerNotAllowed when the owner appoints itself", async () => {
        const f = await loadFixture(twinFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.patient.address),
          "OwnerNotAllowed",
          [TWIN_ID, f.patient.address],
        );
      });

      it("reverts with DelegateAlreadyAppointed for a current delegate", async () => {
        const f = await loadFixture(delegateFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.guardian.address),
          "DelegateAlreadyAppointed",
          [TWIN_ID, f.guardian.address],
        );
      });
    });

    describe("removeDelegate", () => {
      it("lets the owner remove a delegate, who then controls nothing", async () => {
        const f = await loadFixture(delegateFixture);
        const { registry, patient, guardian } = f;
        await expect(registry.connect(patient).removeDelegate(TWIN_ID, guardian.address))
          .to.emit(registry, "DelegateRemoved")
          .withArgs(TWIN_ID, guardian.address, patient.address);
        expect(await registry.isDelegate(TWIN_ID, guardian.address)).to.equal(false);
        expect(await registry.isController(TWIN_ID, guardian.address)).to.equal(false);
        await expectRejected(f, () => registry.connect(guardian).suspendTwin(TWIN_ID), "NotTwinController", [
          TWIN_ID,
          guardian.address,
        ]);
      });

      it("lets a delegate resign", async () => {
        const f = await loadFixture(delegateFixture);
        const { registry, guardian } = f;
        await expect(registry.connect(guardian).removeDelegate(TWIN_ID, guardian.address))
          .to.emit(registry, "DelegateRemoved")
          .withArgs(TWIN_ID, guardian.address, guardian.address);
        expect(await registry.isController(TWIN_ID, guardian.address)).to.equal(false);
      });

      it("lets a resigned delegate be appointed again", async () => {
        const f = await loadFixture(boundaryFixture);
        await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.researcher.address);
        expect(await f.registry.isDelegate(TWIN_ID, f.researcher.address)).to.equal(true);
      });

      it("works on a suspended twin", async () => {
        const f = await loadFixture(suspendedFixture);
        await f.registry.connect(f.patient).removeDelegate(TWIN_ID, f.guardian.address);
        expect(await f.registry.isDelegate(TWIN_ID, f.guardian.address)).to.equal(false);
      });

      it("reverts with NotTwinOwner when a delegate removes another delegate", async () => {
        const f = await loadFixture(delegateFixture);
        await f.registry.connect(f.patient).appointDelegate(TWIN_ID, f.researcher.address);
        await expectRejected(
          f,
          () => f.registry.connect(f.guardian).removeDelegate(TWIN_ID, f.researcher.address),
          "NotTwinOwner",
          [TWIN_ID, f.guardian.address],
        );
      });

      for (const [name, who] of [
        ["stranger", "a stranger"],
        ["clinician", "the pending owner"],
        ["hospital", "the custodian"],
      ] as const) {
        it(`reverts with NotTwinOwner when ${who} removes a delegate`, async () => {
          const f = await loadFixture(boundaryFixture);
          await expectRejected(
            f,
            () => f.registry.connect(f[name]).removeDelegate(TWIN_ID, f.guardian.address),
            "NotTwinOwner",
            [TWIN_ID, f[name].address],
          );
        });
      }

      it("reverts with NotTwinOwner when the previous owner removes a delegate", async () => {
        const f = await loadFixture(transferredFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).removeDelegate(TWIN_ID, f.guardian.address),
          "NotTwinOwner",
          [TWIN_ID, f.patient.address],
        );
      });

      it("reverts with UnknownDelegate for an address that is no delegate", async () => {
        const f = await loadFixture(boundaryFixture);
        for (const account of [f.stranger.address, f.researcher.address, f.patient.address]) {
          await expectRejected(
            f,
            () => f.registry.connect(f.patient).removeDelegate(TWIN_ID, account),
            "UnknownDelegate",
            [TWIN_ID, account],
          );
        }
        // Someone "resigning" who never was a delegate.
        await expectRejected(
          f,
          () => f.registry.connect(f.stranger).removeDelegate(TWIN_ID, f.stranger.address),
          "UnknownDelegate",
          [TWIN_ID, f.stranger.address],
        );
      });
    });

    it("a delegate manages sources, suspends, resumes and starts a transfer for the patient", async () => {
      const f = await loadFixture(delegateFixture);
      const { registry, guardian, researcher, emr, patient } = f;
      await registry
        .connect(guardian)
        .authorizeSource(TWIN_ID, researcher.address, SourceKind.App, DataCategory.VITALS);
      await registry.connect(guardian).removeSource(TWIN_ID, emr.address);
      await expect(registry.connect(guardian).suspendTwin(TWIN_ID))
        .to.emit(registry, "TwinSuspended")
        .withArgs(TWIN_ID, guardian.address);
      await expect(registry.connect(guardian).resumeTwin(TWIN_ID))
        .to.emit(registry, "TwinResumed")
        .withArgs(TWIN_ID, guardian.address);
      await expect(registry.connect(guardian).transferOwnership(TWIN_ID, researcher.address))
        .to.emit(registry, "OwnershipTransferStarted")
        .withArgs(TWIN_ID, patient.address, researcher.address);
      expect(await twinView(f)).to.include({
        owner: patient.address,
        status: TwinStatus.Active,
        pendingOwner: researcher.address,
      });
      expect(await registry.writableCategories(TWIN_ID, researcher.address)).to.equal(DataCategory.VITALS);
      expect(await registry.writableCategories(TWIN_ID, emr.address)).to.equal(0n);
    });
  });

  describe("ownership transfer", () => {
    describe("transferOwnership", () => {
      it("lets the owner start a transfer", async () => {
        const f = await loadFixture(delegateFixture);
        const before = await twinView(f);
        await expect(f.registry.connect(f.patient).transferOwnership(TWIN_ID, f.clinician.address))
          .to.emit(f.registry, "OwnershipTransferStarted")
          .withArgs(TWIN_ID, f.patient.address, f.clinician.address);
        expect(await twinView(f)).to.deep.equal({
          ...before,
          pendingOwner: f.clinician.address,
          transferStartedBy: f.patient.address,
        });
        expect(await f.registry.isController(TWIN_ID, f.clinician.address)).to.equal(false);
      });

      it("records the delegate who starts or retargets a transfer (pendingTransferOf)", async () => {
        const f = await loadFixture(boundaryFixture);
        const { registry, patient, guardian, clinician, researcher } = f;
        expect(await registry.pendingTransferOf(TWIN_ID)).to.deep.equal([clinician.address, patient.address]);
        await registry.connect(guardian).transferOwnership(TWIN_ID, researcher.address);
        expect(await registry.pendingTransferOf(TWIN_ID)).to.deep.equal([researcher.address, guardian.address]);
        expect(await registry.pendingOwnerOf(TWIN_ID)).to.equal(researcher.address);
        expect(await registry.pendingTransferOf(UNKNOWN_TWIN)).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress]);
      });

      it("retargets a pending transfer, and the earlier pending owner can no longer accept", async () => {
        const f = await loadFixture(boundaryFixture);
        await f.registry.connect(f.patient).transferOwnership(TWIN_ID, f.researcher.address);
        expect(await f.registry.pendingOwnerOf(TWIN_ID)).to.equal(f.researcher.address);
        await expectRejected(f, () => f.registry.connect(f.clinician).acceptOwnership(TWIN_ID), "NotPendingOwner", [
          TWIN_ID,
          f.clinician.address,
        ]);
      });

      it("cancels a pending transfer with the zero address", async () => {
        const f = await loadFixture(boundaryFixture);
        await expect(f.registry.connect(f.guardian).transferOwnership(TWIN_ID, ethers.ZeroAddress))
          .to.emit(f.registry, "OwnershipTransferStarted")
          .withArgs(TWIN_ID, f.patient.address, ethers.ZeroAddress);
        expect(await f.registry.pendingTransferOf(TWIN_ID)).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress]);
        await expectRejected(f, () => f.registry.connect(f.clinician).acceptOwnership(TWIN_ID), "NotPendingOwner", [
          TWIN_ID,
          f.clinician.address,
        ]);
      });

      it("works on a suspended twin, which stays suspended after the transfer", async () => {
        const f = await loadFixture(suspendedFixture);
        await f.registry.connect(f.patient).transferOwnership(TWIN_ID, f.clinician.address);
        await f.registry.connect(f.clinician).acceptOwnership(TWIN_ID);
        expect(await twinView(f)).to.include({ owner: f.clinician.address, status: TwinStatus.Suspended });
      });

      it("reverts with OwnerNotAllowed for the current owner", async () => {
        const f = await loadFixture(delegateFixture);
        for (const by of [f.patient, f.guardian]) {
          await expectRejected(
            f,
            () => f.registry.connect(by).transferOwnership(TWIN_ID, f.patient.address),
            "OwnerNotAllowed",
            [TWIN_ID, f.patient.address],
          );
        }
      });

      shouldRejectNonControllers(M.transferOwnership);
    });

    describe("acceptOwnership", () => {
      it("moves the twin to the pending owner; the old owner and its delegates lose control, sources stay", async () => {
        const f = await loadFixture(boundaryFixture);
        const { registry, patient, clinician, guardian, emr } = f;
        const before = await twinView(f);
        const tx = registry.connect(clinician).acceptOwnership(TWIN_ID);
        await expect(tx)
          .to.emit(registry, "OwnershipTransferred")
          .withArgs(TWIN_ID, patient.address, clinician.address);
        await expect(tx).to.emit(registry, "DelegatesCleared").withArgs(TWIN_ID);
        await expect(tx).not.to.emit(registry, "DelegateRemoved");
        await expect(tx).not.to.emit(registry, "SourceRemoved");
        expect(await twinView(f)).to.deep.equal({
          ...before,
          owner: clinician.address,
          pendingOwner: ethers.ZeroAddress,
          transferStartedBy: ethers.ZeroAddress,
        });
        expect(await registry.isController(TWIN_ID, clinician.address)).to.equal(true);
        expect(await registry.isController(TWIN_ID, patient.address)).to.equal(false);
        expect(await registry.isDelegate(TWIN_ID, guardian.address)).to.equal(false);
        expect(await registry.isController(TWIN_ID, guardian.address)).to.equal(false);
        expect(await registry.writableCategories(TWIN_ID, emr.address)).to.equal(EMR_CATEGORIES);
        await expectRejected(f, () => registry.connect(clinician).acceptOwnership(TWIN_ID), "NotPendingOwner", [
          TWIN_ID,
          clinician.address,
        ]);
      });

      it("gives the new owner the owner's powers", async () => {
        const f = await loadFixture(transferredFixture);
        const { registry, clinician, guardian, researcher, patient } = f;
        await registry.connect(clinician).appointDelegate(TWIN_ID, researcher.address);
        await registry.connect(clinician).removeDelegate(TWIN_ID, guardian.address);
        await registry
          .connect(clinician)
          .authorizeSource(TWIN_ID, patient.address, SourceKind.App, DataCategory.VITALS);
        await registry.connect(clinician).transferOwnership(TWIN_ID, patient.address);
        await registry.connect(patient).acceptOwnership(TWIN_ID);
        expect(await registry.ownerOf(TWIN_ID)).to.equal(patient.address);
        expect(await registry.isController(TWIN_ID, clinician.address)).to.equal(false);
        // The clinician's delegate ended with the change too.
        expect(await registry.isController(TWIN_ID, researcher.address)).to.equal(false);
      });

      it("recovers the twin through a guardian: the delegate starts, a new key accepts", async () => {
        const f = await loadFixture(delegateFixture);
        const { registry, patient, guardian, researcher: newKey } = f;
        await registry.connect(guardian).transferOwnership(TWIN_ID, newKey.address);
        await expect(registry.connect(newKey).acceptOwnership(TWIN_ID))
          .to.emit(registry, "OwnershipTransferred")
          .withArgs(TWIN_ID, patient.address, newKey.address);
        expect(await registry.ownerOf(TWIN_ID)).to.equal(newKey.address);
        expect(await registry.isController(TWIN_ID, patient.address)).to.equal(false);
        // The guardian ended with the change; the patient, now holding the new key, appoints it again.
        expect(await registry.isDelegate(TWIN_ID, guardian.address)).to.equal(false);
        await registry.connect(newKey).appointDelegate(TWIN_ID, guardian.address);
        expect(await registry.isController(TWIN_ID, guardian.address)).to.equal(true);
        await expectRejected(
          f,
          () => registry.connect(patient).transferOwnership(TWIN_ID, patient.address),
          "NotTwinController",
          [TWIN_ID, patient.address],
        );
      });

      it("a delegate who accepts ownership is the owner, no longer a delegate", async () => {
        const f = await loadFixture(delegateFixture);
        const { registry, patient, guardian } = f;
        await registry.connect(guardian).transferOwnership(TWIN_ID, guardian.address);
        const tx = registry.connect(guardian).acceptOwnership(TWIN_ID);
        await expect(tx).to.emit(registry, "DelegatesCleared").withArgs(TWIN_ID);
        await expect(tx).to.emit(registry, "OwnershipTransferred").withArgs(TWIN_ID, patient.address, guardian.address);
        expect(await registry.ownerOf(TWIN_ID)).to.equal(guardian.address);
        expect(await registry.isDelegate(TWIN_ID, guardian.address)).to.equal(false);
        expect(await registry.isController(TWIN_ID, guardian.address)).to.equal(true);
        expect(await registry.isController(TWIN_ID, patient.address)).to.equal(false);
        // As owner it cannot be its own delegate, and can appoint the old owner as one.
        await expectRejected(
          f,
          () => registry.connect(guardian).appointDelegate(TWIN_ID, guardian.address),
          "OwnerNotAllowed",
          [TWIN_ID, guardian.address],
        );
        await registry.connect(guardian).appointDelegate(TWIN_ID, patient.address);
        expect(await registry.isController(TWIN_ID, patient.address)).to.equal(true);
      });

      for (const [name, who] of [
        ["stranger", "a stranger"],
        ["patient", "the owner"],
        ["guardian", "a delegate"],
        ["researcher", "a former delegate"],
      ] as const) {
        it(`reverts with NotPendingOwner when ${who} accepts`, async () => {
          const f = await loadFixture(boundaryFixture);
          await expectRejected(f, () => f.registry.connect(f[name]).acceptOwnership(TWIN_ID), "NotPendingOwner", [
            TWIN_ID,
            f[name].address,
          ]);
        });
      }

      it("reverts with NotPendingOwner when no transfer is pending", async () => {
        const f = await loadFixture(delegateFixture);
        for (const by of [f.stranger, f.patient]) {
          await expectRejected(f, () => f.registry.connect(by).acceptOwnership(TWIN_ID), "NotPendingOwner", [
            TWIN_ID,
            by.address,
          ]);
        }
      });
    });
  });

  describe("suspend and resume", () => {
    for (const by of ["patient", "guardian"] as const) {
      it(`suspends an active twin and resumes it (${by === "patient" ? "owner" : "delegate"})`, async () => {
        const f = await loadFixture(delegateFixture);
        const { registry } = f;
        const signer = f[by];
        const before = await twinView(f);
        await expect(registry.connect(signer).suspendTwin(TWIN_ID))
          .to.emit(registry, "TwinSuspended")
          .withArgs(TWIN_ID, signer.address);
        expect(await twinView(f)).to.deep.equal({ ...before, status: TwinStatus.Suspended });
        const [status, controller] = await registry.accessContext(TWIN_ID, signer.address);
        expect([Number(status), controller]).to.deep.equal([TwinStatus.Suspended, true]);
        await expect(registry.connect(signer).resumeTwin(TWIN_ID))
          .to.emit(registry, "TwinResumed")
          .withArgs(TWIN_ID, signer.address);
        expect(await twinView(f)).to.deep.equal(before);
      });
    }

    it("reverts with TwinNotActive when suspending a suspended twin", async () => {
      const f = await loadFixture(suspendedFixture);
      await expectRejected(f, () => f.registry.connect(f.guardian).suspendTwin(TWIN_ID), "TwinNotActive", [
        TWIN_ID,
        TwinStatus.Suspended,
      ]);
    });

    it("reverts with TwinNotSuspended when resuming an active twin", async () => {
      const f = await loadFixture(delegateFixture);
      await expectRejected(f, () => f.registry.connect(f.patient).resumeTwin(TWIN_ID), "TwinNotSuspended", [
        TWIN_ID,
        TwinStatus.Active,
      ]);
    });

    shouldRejectNonControllers(M.suspendTwin);
    shouldRejectNonControllers(M.resumeTwin);
  });

  describe("eraseTwin", () => {
    it("erases an active twin (owner) and clears a pending transfer", async () => {
      const f = await loadFixture(boundaryFixture);
      const { registry, patient } = f;
      const before = await twinView(f);
      await expect(registry.connect(patient).eraseTwin(TWIN_ID))
        .to.emit(registry, "TwinErased")
        .withArgs(TWIN_ID, patient.address);
      // Metadata commitment, custodian and creation time stay as the proof of what was anchored.
      expect(await twinView(f)).to.deep.equal({
        ...before,
        status: TwinStatus.Erased,
        pendingOwner: ethers.ZeroAddress,
        transferStartedBy: ethers.ZeroAddress,
      });
      const [status, controller] = await registry.accessContext(TWIN_ID, patient.address);
      expect([Number(status), controller]).to.deep.equal([TwinStatus.Erased, false]);
      expect(await registry.writableCategories(TWIN_ID, f.emr.address)).to.equal(0n);
    });

    it("erases a suspended twin (delegate)", async () => {
      const f = await loadFixture(suspendedFixture);
      await expect(f.registry.connect(f.guardian).eraseTwin(TWIN_ID))
        .to.emit(f.registry, "TwinErased")
        .withArgs(TWIN_ID, f.guardian.address);
      expect(await f.registry.statusOf(TWIN_ID)).to.equal(TwinStatus.Erased);
    });

    describe("nothing changes an erased twin afterwards", () => {
      for (const m of MUTATIONS) {
        it(`${m.name} reverts with TwinNotActive(twinId, Erased)`, async () => {
          const f = await loadFixture(erasedFixture);
          // The formerly pending owner for acceptOwnership; for the rest the owner, then the delegate.
          const callers = m === M.acceptOwnership ? [f.clinician] : [f.patient, f.guardian];
          for (const by of callers) {
            await expectRejected(f, () => m.send(f, by, TWIN_ID), "TwinNotActive", [TWIN_ID, TwinStatus.Erased]);
          }
        });
      }

      it("a stranger gets TwinNotActive too: the status check comes first", async () => {
        const f = await loadFixture(erasedFixture);
        await expectRejected(f, () => M.eraseTwin.send(f, f.stranger, TWIN_ID), "TwinNotActive", [
          TWIN_ID,
          TwinStatus.Erased,
        ]);
      });

      it("its id cannot be taken again, directly or by signature", async () => {
        const f = await loadFixture(erasedFixture);
        await expectRejected(
          f,
          () => f.registry.connect(f.patient).createTwin(TWIN_SALT, NEW_METADATA, f.hospital.address),
          "TwinAlreadyExists",
          [TWIN_ID],
        );
        const { request, signature } = await signCreateTwin(f, { request: { salt: TWIN_SALT } });
        await expectRejected(f, () => submitCreateTwin(f, f.hospital, request, signature), "TwinAlreadyExists", [
          TWIN_ID,
        ]);
      });
    });

    shouldRejectNonControllers(M.eraseTwin);
  });

  describe("gap 8 decisions (issue 9): who controls a twin, as a patient would expect", () => {
    describe("a removed delegate's pending ownership business is cancelled", () => {
      for (const how of ["removed by the owner", "resigning"] as const) {
        it(`regression: a transfer the delegate started is cancelled (${how})`, async () => {
          const f = await loadFixture(delegateFixture);
          const { registry, patient, guardian, researcher: accomplice } = f;
          await registry.connect(guardian).transferOwnership(TWIN_ID, accomplice.address);
          const by = how === "resigning" ? guardian : patient;
          const tx = registry.connect(by).removeDelegate(TWIN_ID, guardian.address);
          await expect(tx).to.emit(registry, "DelegateRemoved").withArgs(TWIN_ID, guardian.address, by.address);
          await expect(tx)
            .to.emit(registry, "OwnershipTransferStarted")
            .withArgs(TWIN_ID, patient.address, ethers.ZeroAddress);
          expect(await registry.pendingTransferOf(TWIN_ID)).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress]);
          // In v1 the dismissed guardian's accomplice could still accept and take the twin.
          await expectRejected(f, () => registry.connect(accomplice).acceptOwnership(TWIN_ID), "NotPendingOwner", [
            TWIN_ID,
            accomplice.address,
          ]);
          expect(await registry.ownerOf(TWIN_ID)).to.equal(patient.address);
        });
      }

      it("regression: a transfer that names the removed delegate as new owner is cancelled", async () => {
        const f = await loadFixture(delegateFixture);
        const { registry, patient, guardian } = f;
        await registry.connect(patient).transferOwnership(TWIN_ID, guardian.address);
        await expect(registry.connect(patient).removeDelegate(TWIN_ID, guardian.address))
          .to.emit(registry, "OwnershipTransferStarted")
          .withArgs(TWIN_ID, patient.address, ethers.ZeroAddress);
        expect(await registry.pendingOwnerOf(TWIN_ID)).to.equal(ethers.ZeroAddress);
        await expectRejected(f, () => registry.connect(guardian).acceptOwnership(TWIN_ID), "NotPendingOwner", [
          TWIN_ID,
          guardian.address,
        ]);
      });

      it("a transfer that neither came from nor names the removed delegate stays", async () => {
        const f = await loadFixture(boundaryFixture);
        const { registry, patient, guardian, clinician } = f;
        // Pending: started by the patient, for the clinician. The guardian goes.
        const tx = registry.connect(patient).removeDelegate(TWIN_ID, guardian.address);
        await expect(tx).to.emit(registry, "DelegateRemoved");
        await expect(tx).not.to.emit(registry, "OwnershipTransferStarted");
        expect(await registry.pendingTransferOf(TWIN_ID)).to.deep.equal([clinician.address, patient.address]);
        await registry.connect(clinician).acceptOwnership(TWIN_ID);
        expect(await registry.ownerOf(TWIN_ID)).to.equal(clinician.address);
      });

      it("another delegate's transfer stays when one delegate resigns", async () => {
        const f = await loadFixture(delegateFixture);
        const { registry, patient, guardian, researcher, clinician } = f;
        await registry.connect(patient).appointDelegate(TWIN_ID, researcher.address);
        await registry.connect(guardian).transferOwnership(TWIN_ID, clinician.address);
        await expect(registry.connect(researcher).removeDelegate(TWIN_ID, researcher.address)).not.to.emit(
          registry,
          "OwnershipTransferStarted",
        );
        expect(await registry.pendingTransferOf(TWIN_ID)).to.deep.equal([clinician.address, guardian.address]);
      });
    });

    describe("delegates do not survive an ownership change", () => {
      it("regression: every delegate of the previous owner ends, in one step, and may be appointed again", async () => {
        const f = await loadFixture(delegateFixture);
        const { registry, patient, guardian, researcher, clinician } = f;
        await registry.connect(patient).appointDelegate(TWIN_ID, researcher.address);
        await registry.connect(patient).transferOwnership(TWIN_ID, clinician.address);
        await expect(registry.connect(clinician).acceptOwnership(TWIN_ID))
          .to.emit(registry, "DelegatesCleared")
          .withArgs(TWIN_ID);
        for (const former of [guardian, researcher]) {
          // In v1 both stayed delegates of the new owner, appointed by someone who no longer owns the twin.
          expect(await registry.isDelegate(TWIN_ID, former.address)).to.equal(false);
          expect(await registry.isController(TWIN_ID, former.address)).to.equal(false);
          const [, controller] = await registry.accessContext(TWIN_ID, former.address);
          expect(controller).to.equal(false);
          await expectRejected(f, () => registry.connect(former).suspendTwin(TWIN_ID), "NotTwinController", [
            TWIN_ID,
            former.address,
          ]);
          await expectRejected(
            f,
            () => registry.connect(former).removeDelegate(TWIN_ID, former.address),
            "UnknownDelegate",
            [TWIN_ID, former.address],
          );
        }
        await expect(registry.connect(clinician).appointDelegate(TWIN_ID, guardian.address))
          .to.emit(registry, "DelegateAppointed")
          .withArgs(TWIN_ID, guardian.address);
        expect(await registry.isController(TWIN_ID, guardian.address)).to.equal(true);
        expect(await registry.isController(TWIN_ID, researcher.address)).to.equal(false);
      });

      it("ends delegates at every change: a delegate appointed between two changes ends at the second", async () => {
        const f = await loadFixture(transferredFixture);
        const { registry, clinician, guardian, patient } = f;
        expect(await registry.isDelegate(TWIN_ID, guardian.address)).to.equal(true);
        await registry.connect(guardian).transferOwnership(TWIN_ID, patient.address);
        await registry.connect(patient).acceptOwnership(TWIN_ID);
        expect(await registry.isDelegate(TWIN_ID, guardian.address)).to.equal(false);
        expect(await registry.isController(TWIN_ID, clinician.address)).to.equal(false);
      });
    });

    describe("a source who becomes owner stops being a source", () => {
      it("regression: the EMR source that accepts ownership loses its source authorization", async () => {
        const f = await loadFixture(twinFixture);
        const { registry, patient, emr, wearable } = f;
        await registry.connect(patient).transferOwnership(TWIN_ID, emr.address);
        const tx = registry.connect(emr).acceptOwnership(TWIN_ID);
        await expect(tx).to.emit(registry, "SourceRemoved").withArgs(TWIN_ID, emr.address);
        await expect(tx).to.emit(registry, "OwnershipTransferred").withArgs(TWIN_ID, patient.address, emr.address);
        // In v1 the new owner kept writing as a source of its own twin, which authorizeSource never allows.
        expect(await sourceView(f, emr.address)).to.deep.equal({ categories: 0, kind: 0, authorizedAt: 0 });
        expect(await registry.writableCategories(TWIN_ID, emr.address)).to.equal(0n);
        expect(await registry.writableCategories(TWIN_ID, wearable.address)).to.equal(WEARABLE_CATEGORIES);
        await expectRejected(
          f,
          () => registry.connect(emr).authorizeSource(TWIN_ID, emr.address, SourceKind.Emr, EMR_CATEGORIES),
          "OwnerNotAllowed",
          [TWIN_ID, emr.address],
        );
      });
    });

    describe("nobody controls an erased twin", () => {
      it("regression: isController and accessContext answer false for the owner and delegates of an erased twin", async () => {
        const f = await loadFixture(erasedFixture);
        const { registry, patient, guardian } = f;
        for (const account of [patient, guardian]) {
          // v1 answered true: a former owner looked in control of a twin nobody can act on.
          expect(await registry.isController(TWIN_ID, account.address)).to.equal(false);
          const [status, controller] = await registry.accessContext(TWIN_ID, account.address);
          expect([Number(status), controller]).to.deep.equal([TwinStatus.Erased, false]);
        }
        // The audit trail stays.
        expect(await registry.ownerOf(TWIN_ID)).to.equal(patient.address);
        expect(await registry.isDelegate(TWIN_ID, guardian.address)).to.equal(true);
      });
    });
  });

  describe("unknown twin", () => {
    for (const m of MUTATIONS) shouldRejectUnknownTwin(m);

    it("views report nothing for an unknown twin", async () => {
      const f = await loadFixture(twinFixture);
      expect(await twinView(f, UNKNOWN_TWIN)).to.deep.equal({
        owner: ethers.ZeroAddress,
        status: TwinStatus.None,
        custodian: ethers.ZeroAddress,
        metadata: ethers.ZeroHash,
        pendingOwner: ethers.ZeroAddress,
        transferStartedBy: ethers.ZeroAddress,
      });
      expect(await f.registry.isController(UNKNOWN_TWIN, f.patient.address)).to.equal(false);
      const [status, controller] = await f.registry.accessContext(UNKNOWN_TWIN, f.patient.address);
      expect([Number(status), controller]).to.deep.equal([TwinStatus.None, false]);
    });

    it("the zero address controls no twin, not even an unknown one (whose owner reads as zero)", async () => {
      const f = await loadFixture(twinFixture);
      expect(await f.registry.isController(UNKNOWN_TWIN, ethers.ZeroAddress)).to.equal(false);
      expect(await f.registry.isController(TWIN_ID, ethers.ZeroAddress)).to.equal(false);
      const [, controller] = await f.registry.accessContext(UNKNOWN_TWIN, ethers.ZeroAddress);
      expect(controller).to.equal(false);
    });
  });
});
