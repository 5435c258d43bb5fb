import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { ethers } from "hardhat";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { AbiCoder, Interface, JsonRpcProvider, ZeroAddress, ZeroHash } from "ethers";
import { readFileSync } from "node:fs";
import { errorsDoc, ERRORS_DOC } from "../../../scripts/errors-doc";
import { deployTwinLedger } from "../../../src/chain/deploy";
import { twinIdOf } from "../../../src/chain/twin-id";
import { deviceFixture, studyFixture, twinFixture, TWIN_SALT, METADATA } from "../../fixtures";
import { decodeError, diagnoseGrantSignature, knownErrors, revertDataOf } from "../../../src/chain/decode-error";
import { ERROR_FIXES } from "../../../src/chain/error-catalog";
import { signGrant, type GrantTerms } from "../../../src/chain/typed-data";
import { Action, DataCategory, Purpose, SourceKind } from "../../../src/vocabulary";
import {
  ConsentPolicy__factory,
  DeviceRegistry__factory,
  StudyRegistry__factory,
  TwinRegistry__factory,
  TwinUpdateLog__factory,
} from "../../../typechain-types";

const ABIS = {
  TwinRegistry: TwinRegistry__factory.abi,
  ConsentPolicy: ConsentPolicy__factory.abi,
  TwinUpdateLog: TwinUpdateLog__factory.abi,
  StudyRegistry: StudyRegistry__factory.abi,
  DeviceRegistry: DeviceRegistry__factory.abi,
};

type Fixture = Awaited<ReturnType<typeof twinFixture>>;
/** A typechain method seen through the three ways of invoking it. */
interface Method {
  (...args: unknown[]): Promise<unknown>;
  staticCall(...args: unknown[]): Promise<unknown>;
  estimateGas(...args: unknown[]): Promise<bigint>;
}
interface Case {
  error: string;
  contract: "TwinRegistry" | "ConsentPolicy" | "TwinUpdateLog";
  args?: Record<string, unknown>;
  setup?: (f: Fixture) => Promise<unknown>;
  call: (f: Fixture, now: number) => [unknown, unknown[]];
}

const CID = "0x01551220" + "ab".repeat(32);
const VITALS = DataCategory.VITALS;
const HOUR = 3600;

const CASES: Case[] = [
  // TwinRegistry
  {
    error: "NotCustodian",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.stranger).createTwin, [ethers.id("s"), METADATA, f.stranger.address]],
  },
  {
    error: "TwinAlreadyExists",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.patient).createTwin, [TWIN_SALT, METADATA, f.hospital.address]],
  },
  {
    error: "EmptyCommitment",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.stranger).createTwin, [ethers.id("s"), ZeroHash, f.hospital.address]],
  },
  {
    error: "NotTwinController",
    contract: "TwinRegistry",
    call: (f) => [
      f.registry.connect(f.stranger).authorizeSource,
      [f.twinId, f.stranger.address, SourceKind.Emr, VITALS],
    ],
  },
  {
    error: "InvalidSourceKind",
    contract: "TwinRegistry",
    args: { kind: "None" },
    call: (f) => [
      f.registry.connect(f.patient).authorizeSource,
      [f.twinId, f.clinician.address, SourceKind.None, VITALS],
    ],
  },
  {
    error: "InvalidCategories",
    contract: "TwinRegistry",
    args: { categories: 0n },
    call: (f) => [f.registry.connect(f.patient).authorizeSource, [f.twinId, f.clinician.address, SourceKind.Emr, 0]],
  },
  {
    error: "UnknownSource",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.patient).removeSource, [f.twinId, f.stranger.address]],
  },
  {
    error: "OwnerNotAllowed",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.patient).appointDelegate, [f.twinId, f.patient.address]],
  },
  {
    error: "UnknownDelegate",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.patient).removeDelegate, [f.twinId, f.stranger.address]],
  },
  {
    error: "NotPendingOwner",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.stranger).acceptOwnership, [f.twinId]],
  },
  {
    error: "TwinNotSuspended",
    contract: "TwinRegistry",
    args: { status: "Active" },
    call: (f) => [f.registry.connect(f.patient).resumeTwin, [f.twinId]],
  },
  {
    error: "TwinNotActive",
    contract: "TwinRegistry",
    args: { status: "Suspended" },
    setup: (f) => f.registry.connect(f.patient).suspendTwin(f.twinId),
    call: (f) => [f.registry.connect(f.patient).suspendTwin, [f.twinId]],
  },
  {
    error: "AccessControlUnauthorizedAccount",
    contract: "TwinRegistry",
    args: { neededRole: "GOVERNANCE_ROLE" },
    call: (f) => [f.registry.connect(f.stranger).grantRole, [ethers.id("CUSTODIAN_ROLE"), f.stranger.address]],
  },
  {
    error: "AccessControlEnforcedDefaultAdminRules",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.admin).grantRole, [ZeroHash, f.stranger.address]],
  },
  {
    error: "AccessControlBadConfirmation",
    contract: "TwinRegistry",
    call: (f) => [f.registry.connect(f.governance).renounceRole, [ethers.id("GOVERNANCE_ROLE"), f.stranger.address]],
  },
  // ConsentPolicy
  {
    error: "NotTwinController",
    contract: "ConsentPolicy",
    call: (f, now) => [
      f.consent.connect(f.stranger).grant,
      [f.twinId, f.clinician.address, VITALS, Action.READ, Purpose.TREATMENT, now, now + HOUR],
    ],
  },
  {
    error: "ZeroGrantee",
    contract: "ConsentPolicy",
    call: (f, now) => [
      f.consent.connect(f.patient).grant,
      [f.twinId, ZeroAddress, VITALS, Action.READ, Purpose.TREATMENT, now, now + HOUR],
    ],
  },
  {
    error: "InvalidActions",
    contract: "ConsentPolicy",
    call: (f, now) => [
      f.consent.connect(f.patient).grant,
      [f.twinId, f.clinician.address, VITALS, 0, Purpose.TREATMENT, now, now + HOUR],
    ],
  },
  {
    error: "InvalidPurposes",
    contract: "ConsentPolicy",
    call: (f, now) => [
      f.consent.connect(f.patient).grant,
      [f.twinId, f.clinician.address, VITALS, Action.READ, 0, now, now + HOUR],
    ],
  },
  {
    error: "InvalidWindow",
    contract: "ConsentPolicy",
    call: (f, now) => [
      f.consent.connect(f.patient).grant,
      [f.twinId, f.clinician.address, VITALS, Action.READ, Purpose.TREATMENT, now + HOUR, now],
    ],
  },
  {
    error: "NoActiveGrant",
    contract: "ConsentPolicy",
    call: (f, now) => [
      f.consent.connect(f.patient).updateGrant,
      [f.twinId, f.clinician.address, VITALS, Action.READ, Purpose.TREATMENT, now, now + HOUR],
    ],
  },
  {
    error: "UnknownRequest",
    contract: "ConsentPolicy",
    args: { requestId: 999n },
    call: (f) => [f.consent.connect(f.patient).grantRequest, [999, Action.READ, 0]],
  },
  {
    error: "NotEmergencyResponder",
    contract: "ConsentPolicy",
    call: (f) => [f.consent.connect(f.stranger).openEmergencyAccess, [f.twinId, HOUR, ethers.id("r")]],
  },
  {
    error: "EmergencyAccessNotAllowed",
    contract: "ConsentPolicy",
    call: (f) => [f.consent.connect(f.responder).openEmergencyAccess, [f.twinId, HOUR, ethers.id("r")]],
  },
  {
    error: "NoEmergencyAccess",
    contract: "ConsentPolicy",
    call: (f) => [f.consent.connect(f.patient).closeEmergencyAccess, [f.twinId, f.responder.address]],
  },
  {
    error: "NonceAlreadyUsed",
    contract: "ConsentPolicy",
    args: { nonce: 5n },
    setup: (f) => f.consent.connect(f.patient).cancelNonce(5),
    call: (f) => [f.consent.connect(f.patient).cancelNonce, [5]],
  },
  // TwinUpdateLog
  {
    error: "SourceNotAuthorized",
    contract: "TwinUpdateLog",
    call: (f) => [f.updateLog.connect(f.stranger).recordUpdate, [f.twinId, VITALS, ethers.id("c"), CID]],
  },
  {
    error: "InvalidCategory",
    contract: "TwinUpdateLog",
    call: (f) => [f.updateLog.connect(f.emr).recordUpdate, [f.twinId, VITALS | DataCategory.LABS, ethers.id("c"), CID]],
  },
  {
    error: "EmptyHash",
    contract: "TwinUpdateLog",
    call: (f) => [f.updateLog.connect(f.emr).recordUpdate, [f.twinId, VITALS, ZeroHash, CID]],
  },
  {
    error: "EmptyCid",
    contract: "TwinUpdateLog",
    call: (f) => [f.updateLog.connect(f.emr).recordUpdate, [f.twinId, VITALS, ethers.id("c"), "0x"]],
  },
  {
    error: "NotCustodian",
    contract: "TwinUpdateLog",
    call: (f) => [f.updateLog.connect(f.stranger).anchorAccessLog, [ethers.id("root"), 0, 1]],
  },
  {
    error: "InvalidAccessLogRange",
    contract: "TwinUpdateLog",
    call: (f) => [f.updateLog.connect(f.hospital).anchorAccessLog, [ethers.id("root"), 5, 1]],
  },
  {
    error: "EmptyAccessLogRoot",
    contract: "TwinUpdateLog",
    call: (f) => [f.updateLog.connect(f.hospital).anchorAccessLog, [ZeroHash, 0, 1]],
  },
  {
    error: "NotTwinCustodian",
    contract: "TwinUpdateLog",
    call: (f) => [f.updateLog.connect(f.stranger).commitTwinState, [f.twinId, ethers.id("s"), ethers.id("r"), 1]],
  },
  {
    error: "UnexpectedVersion",
    contract: "TwinUpdateLog",
    args: { version: 5n, expected: 1n },
    call: (f) => [f.updateLog.connect(f.hospital).commitTwinState, [f.twinId, ethers.id("s"), ethers.id("r"), 5]],
  },
];

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a revert");
}

describe("decodeError", () => {
  describe("real reverts on the in-process network (send, call, estimate)", () => {
    for (const c of CASES) {
      it(`${c.contract}.${c.error}`, async () => {
        const f = await loadFixture(twinFixture);
        if (c.setup) await c.setup(f);
        const [method, args] = c.call(f, await time.latest());
        const m = method as Method;
        for (const [mode, run] of [
          ["send", () => m(...args)],
          ["call", () => m.staticCall(...args)],
          ["estimate", () => m.estimateGas(...args)],
        ] as const) {
          const decoded = decodeError(await failure(run), { contract: c.contract });
          expect(decoded.kind, mode).to.equal("custom");
          expect(decoded.name, mode).to.equal(c.error);
          expect(decoded.contract, mode).to.equal(c.contract);
          expect(decoded.contracts).to.include(c.contract);
          expect(decoded.message, mode).to.not.match(/\{\w+\}/);
          if (c.args) expect(decoded.args, mode).to.include(c.args);
        }
      });
    }
  });

  describe("real reverts of StudyRegistry and DeviceRegistry (send, call, estimate)", () => {
    async function approvedStudy() {
      const f = await studyFixture();
      const now = await time.latest();
      await f.studies.connect(f.researcher).registerStudy(studyTerms(now, now + 30 * 24 * HOUR));
      await f.studies.connect(f.governance).reviewStudy(1, true);
      return f;
    }
    async function flaggedByCustodian() {
      const f = await deviceFixture();
      await f.devices.connect(f.hospital).flagDeviceAsCustodian(f.twinId, f.wearable.address, RECALL);
      return f;
    }
    const RECALL = 1;
    const studyTerms = (windowStart: number, windowEnd: number) => ({
      purpose: Purpose.RESEARCH,
      categories: VITALS,
      aggregates: 1,
      minCohort: 2,
      budget: 1000,
      windowStart,
      windowEnd,
      protocolCommitment: ethers.id("protocol"),
    });

    it("StudyRegistry: enrol by a stranger is NotTwinController, named for StudyRegistry with its args", async () => {
      const f = await loadFixture(approvedStudy);
      const enrol = f.studies.connect(f.stranger).enrol;
      for (const run of [
        () => enrol(1, f.twinId),
        () => enrol.staticCall(1, f.twinId),
        () => enrol.estimateGas(1, f.twinId),
      ]) {
        const d = decodeError(await failure(run), { contract: "StudyRegistry" });
        expect(d).to.include({ kind: "custom", name: "NotTwinController", contract: "StudyRegistry" });
        expect(d.contracts).to.have.members(["TwinRegistry", "ConsentPolicy", "StudyRegistry"]);
        expect(d.args).to.deep.equal({ twinId: f.twinId, account: f.stranger.address });
        expect(d.message).to.contain(`${f.stranger.address} is neither the owner nor a delegate of twin ${f.twinId}`);
      }
      // Without the hint, the failed call's target (ethers' CALL_EXCEPTION carries it; Hardhat's in-process error does
      // not, so it is given here) names the raiser.
      const to = await f.studies.getAddress();
      const addresses = { StudyRegistry: to, TwinRegistry: await f.registry.getAddress() };
      const error = await failure(() => enrol.staticCall(1, f.twinId));
      expect(decodeError(error, { addresses, transaction: { to } }).contract).to.equal("StudyRegistry");
      expect(decodeError(error).contract, "the first declarer, without a hint").to.equal("TwinRegistry");
    });

    it("StudyRegistry: UnknownStudy, InvalidStudyStatus by name, InvalidWindow with StudyRegistry's argument names", async () => {
      const f = await loadFixture(studyFixture);
      const unknown = decodeError(await failure(() => f.studies.connect(f.patient).enrol(7, f.twinId)));
      expect(unknown).to.include({ name: "UnknownStudy", contract: "StudyRegistry" });
      expect(unknown.args).to.deep.equal({ studyId: 7n });
      expect(unknown.message).to.contain("No study 7");

      const now = await time.latest();
      await f.studies.connect(f.researcher).registerStudy(studyTerms(now, now + 30 * 24 * HOUR));
      const proposed = decodeError(await failure(() => f.studies.connect(f.patient).enrol(1, f.twinId)));
      expect(proposed).to.include({ name: "InvalidStudyStatus", contract: "StudyRegistry" });
      expect(proposed.args).to.deep.equal({ studyId: 1n, status: "Proposed" });
      expect(proposed.message).to.contain("Study 1 is Proposed");

      const register = f.studies.connect(f.researcher).registerStudy;
      const window = decodeError(await failure(() => register.staticCall(studyTerms(now + HOUR, now))), {
        contract: "StudyRegistry",
      });
      expect(window).to.include({ name: "InvalidWindow", contract: "StudyRegistry" });
      expect(window.args).to.deep.equal({ windowStart: BigInt(now + HOUR), windowEnd: BigInt(now) });
      expect(window.message).to.contain(`The window ${now + HOUR}..${now} ends before it starts`);
    });

    it("DeviceRegistry: clearFlag by a non-flagger is NotFlagger; flagging over another's flag is AlreadyFlagged", async () => {
      const f = await loadFixture(flaggedByCustodian);
      const device = f.wearable.address;
      const clear = f.devices.connect(f.maker).clearFlag;
      for (const run of [() => clear(device), () => clear.staticCall(device), () => clear.estimateGas(device)]) {
        const d = decodeError(await failure(run), { contract: "DeviceRegistry" });
        expect(d).to.include({ kind: "custom", name: "NotFlagger", contract: "DeviceRegistry" });
        expect(d.contracts).to.deep.equal(["DeviceRegistry"]);
        expect(d.args).to.deep.equal({ device, flaggedBy: f.hospital.address, account: f.maker.address });
        expect(d.message).to.contain(`${f.maker.address} did not flag device ${device}`);
        expect(d.message).to.contain(`only its flagger ${f.hospital.address}`);
      }
      const again = decodeError(await failure(() => f.devices.connect(f.maker).flagDevice(device, RECALL)));
      expect(again).to.include({ name: "AlreadyFlagged", contract: "DeviceRegistry" });
      expect(again.args).to.deep.equal({ device, flaggedBy: f.hospital.address });
      expect(again.message).to.contain(`Device ${device} is flagged by ${f.hospital.address}`);
      const none = decodeError(await failure(() => f.devices.connect(f.maker).clearFlag(f.stranger.address)));
      expect(none).to.include({ name: "NotFlagged", contract: "DeviceRegistry" });
      const role = decodeError(
        await failure(() =>
          f.devices.connect(f.stranger).registerDevice(f.stranger.address, METADATA, METADATA, METADATA),
        ),
        { contract: "DeviceRegistry" },
      );
      expect(role).to.include({ name: "AccessControlUnauthorizedAccount", contract: "DeviceRegistry" });
      expect(role.args).to.include({ neededRole: "MANUFACTURER_ROLE" });
    });
  });

  it("names the arguments from the ABI and fills them into the sentence", async () => {
    const f = await loadFixture(twinFixture);
    const e = await failure(() =>
      f.registry.connect(f.stranger).grantRole(ethers.id("CUSTODIAN_ROLE"), f.stranger.address),
    );
    const d = decodeError(e);
    expect(d.args).to.deep.equal({ account: f.stranger.address, neededRole: "GOVERNANCE_ROLE" });
    expect(d.selector).to.equal(
      new Interface(TwinRegistry__factory.abi).getError("AccessControlUnauthorizedAccount")!.selector,
    );
    expect(d.message).to.contain(`${f.stranger.address} lacks GOVERNANCE_ROLE`);
  });

  it("names the raiser of a shared error from the transaction's target", () => {
    const iface = new Interface(ConsentPolicy__factory.abi);
    const data = iface.encodeErrorResult("NotTwinController", [ZeroHash, ZeroAddress]);
    const consent = "0x" + "11".repeat(20);
    const error = { code: "CALL_EXCEPTION", data, transaction: { to: consent, data: "0x" } };
    expect(decodeError(error, { addresses: { ConsentPolicy: consent } }).contract).to.equal("ConsentPolicy");
    expect(decodeError(error).contracts).to.have.members(["TwinRegistry", "ConsentPolicy", "StudyRegistry"]);
  });

  it("decodes every custom error of the five ABIs, with a fix for each, the raiser's names and no placeholder left", () => {
    const coder = AbiCoder.defaultAbiCoder();
    for (const [contract, abi] of Object.entries(ABIS)) {
      new Interface(abi).forEachError((fragment) => {
        const sample = fragment.inputs.map((p) =>
          p.type === "address"
            ? ZeroAddress
            : p.type.startsWith("bytes") && p.type !== "bytes"
              ? "0x" + "00".repeat(Number(p.type.slice(5)))
              : p.type === "string"
                ? "x"
                : 1n,
        );
        const data = fragment.selector + coder.encode(fragment.inputs, sample).slice(2);
        const rpcError = { jsonrpc: "2.0", id: 1, error: { code: 3, message: "execution reverted", data } };
        const d = decodeError(rpcError, { contract });
        expect(d.kind, fragment.format()).to.equal("custom");
        expect(d.contract, fragment.format()).to.equal(contract);
        expect(d.signature).to.equal(fragment.format("sighash"));
        expect(Object.keys(d.args)).to.deep.equal(fragment.inputs.map((p) => p.name));
        expect(d.message, fragment.format()).to.not.match(/\{\w+\}|See docs/);
      });
    }
  });

  it("keeps the fixes and the ABIs in step (a new error without a fix fails)", () => {
    const signatures = knownErrors().map((k) => k.signature);
    expect(Object.keys(ERROR_FIXES).sort()).to.deep.equal([...signatures].sort());
  });

  it("docs/ERRORS.md is current: every error of the ABIs with its meaning and fix (npx ts-node scripts/errors-doc.ts)", () => {
    const doc = errorsDoc();
    expect(
      readFileSync(ERRORS_DOC, "utf8"),
      "run `npx ts-node scripts/errors-doc.ts` and commit docs/ERRORS.md",
    ).to.equal(doc);
    for (const { signature, selector } of knownErrors()) {
      const name = signature.slice(0, signature.indexOf("("));
      const rows = doc.split("\n").filter((l) => l.startsWith(`| \`${name}(`) && l.includes(selector));
      expect(rows.length, signature).to.be.greaterThan(0);
      for (const r of rows) expect(r, signature).to.not.match(/\| — \||no fix documented/);
    }
  });

  it("decodes Panic, Error(string), empty and unknown data, wherever the provider put it", () => {
    const panic = "0x4e487b71" + AbiCoder.defaultAbiCoder().encode(["uint256"], [0x11]).slice(2);
    const d = decodeError({ info: { error: { code: -32603, data: panic } } });
    expect(d).to.include({ kind: "panic", name: "Panic" });
    expect(d.message).to.contain("overflow");
    const reason = new Interface(["error Error(string)"]).encodeErrorResult("Error", ["nope"]);
    expect(decodeError({ error: { data: { message: "x", data: reason } } })).to.include({
      kind: "revert",
      message: "Reverted: nope",
    });
    expect(decodeError({ code: "CALL_EXCEPTION", data: "0x" }).kind).to.equal("empty");
    expect(decodeError({ code: "CALL_EXCEPTION", data: null, reason: "missing revert data" }).kind).to.equal("empty");
    const unknown = decodeError({
      message: "VM Exception: reverted with an unrecognized custom error (return data: 0xdeadbeef)",
    });
    expect(unknown).to.include({ kind: "unknown", selector: "0xdeadbeef" });
    expect(unknown.message).to.contain("0xdeadbeef");
    expect(decodeError(new Error("socket hang up"))).to.include({ kind: "other", message: "socket hang up" });
  });

  it("says a revert without data is one (a real call to a function the contract lacks)", async () => {
    const f = await loadFixture(twinFixture);
    const error = await failure(() => ethers.provider.call({ to: f.registry, data: "0x12345678" }));
    const d = decodeError(error);
    expect(d.kind).to.equal("empty");
    expect(d.message).to.contain("without data");
  });

  it("never takes the request's calldata for revert data", () => {
    const calldata = "0x12345678" + "00".repeat(32);
    expect(
      revertDataOf({ transaction: { data: calldata }, info: { payload: { params: [{ data: calldata }] } } }),
    ).to.equal(null);
  });

  describe("a grantBySig signed for another chain or contract", () => {
    async function signed(f: Fixture, chainId: bigint, address: string) {
      const now = await time.latest();
      const terms: GrantTerms = {
        twinId: f.twinId,
        grantee: f.clinician.address,
        categories: VITALS,
        actions: Action.READ,
        purposes: Purpose.TREATMENT,
        validFrom: now,
        validUntil: now + HOUR,
      };
      return signGrant(f.patient, { chainId, address }, terms, 7n, now + HOUR);
    }

    for (const [label, wrongChain, wrongContract] of [
      ["another chain", true, false],
      ["another contract", false, true],
    ] as const) {
      it(`says it was signed for ${label}, from a real revert`, async () => {
        const f = await loadFixture(twinFixture);
        const { chainId } = await ethers.provider.getNetwork();
        const here = await f.consent.getAddress();
        const other = await f.registry.getAddress();
        const g = await signed(f, wrongChain ? 1n : chainId, wrongContract ? other : here);
        const args = [g.terms, g.signer, g.epoch, g.nonce, g.deadline, g.signature] as const;
        const transaction = { to: here, data: f.consent.interface.encodeFunctionData("grantBySig", [...args]) };
        const error = await failure(() => f.consent.connect(f.stranger).grantBySig(...args));
        const d = decodeError(error, { transaction, chainId });
        expect(d.name).to.equal("InvalidSignature");
        expect(d.grantSignature?.validHere).to.equal(false);
        if (wrongChain)
          expect(d.message).to.contain("signed this grant for chain 1,").and.contain(`this is chain ${chainId}`);
        // Another contract is found among the candidates diagnoseGrantSignature is given.
        const diagnosis = diagnoseGrantSignature(g, { chainId, address: here }, { contracts: [other] });
        expect(diagnosis.signedFor).to.deep.equal({
          chainId: wrongChain ? 1n : chainId,
          verifyingContract: wrongChain ? here : other,
        });
        if (wrongContract) expect(diagnosis.message).to.contain(`contract ${other}`).and.not.contain("chain 1 ");
      });
    }

    it("uses the typed data's claimed domain, and says when the signature is valid here", async () => {
      const f = await loadFixture(twinFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const here = await f.consent.getAddress();
      const elsewhere = "0x" + "42".repeat(20);
      const g = await signed(f, 424242n, elsewhere);
      const d = diagnoseGrantSignature(
        g,
        { chainId, address: here },
        { claimed: { chainId: 424242n, verifyingContract: elsewhere } },
      );
      expect(d.message).to.match(/signed this grant for chain 424242 \/ contract 0x4242/);
      const ok = diagnoseGrantSignature(await signed(f, chainId, here), { chainId, address: here });
      expect(ok.validHere).to.equal(true);
      const unsigned = diagnoseGrantSignature({ ...g, nonce: 8n }, { chainId, address: here });
      expect(unsigned.signedFor).to.equal(null);
      expect(unsigned.message).to.contain("on any domain tried");
    });
  });
});

describe("decodeError against a `hardhat node` child process", function () {
  this.timeout(120_000);
  let node: ChildProcess | undefined;
  let provider: JsonRpcProvider;
  let url: string;

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env = { ...process.env };
    delete env.HARDHAT_NETWORK;
    node = spawn(
      process.execPath,
      [require.resolve("hardhat/internal/cli/cli"), "node", "--hostname", "127.0.0.1", "--port", String(port)],
      { env, stdio: ["ignore", "pipe", "pipe"] },
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("hardhat node did not start within 60 s")), 60_000);
      node!.stdout!.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("Started HTTP")) {
          clearTimeout(timer);
          resolve();
        }
      });
      node!.once("exit", (code) => reject(new Error(`hardhat node exited with ${code}`)));
    });
    provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, polling: true, pollingInterval: 50 });
  });

  after(() => {
    provider?.destroy();
    if (node?.pid !== undefined && node.exitCode === null) node.kill("SIGTERM");
  });

  it("decodes a send, a call, an estimate and a raw JSON-RPC error; diagnoses a grant signed for chain 1", async () => {
    const [deployer, stranger, hospital, patient, relayer] = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => provider.getSigner(i)),
    );
    const { registry, consent } = await deployTwinLedger({ deployer, adminDelay: 0, governance: [deployer.address] });
    const salt = ethers.id("node:salt");
    const asStranger = registry.connect(stranger);
    for (const run of [
      () => asStranger.createTwin(salt, METADATA, stranger.address),
      () => asStranger.createTwin.staticCall(salt, METADATA, stranger.address),
      () => asStranger.createTwin.estimateGas(salt, METADATA, stranger.address),
    ]) {
      const d = decodeError(await failure(run));
      expect(d).to.include({ kind: "custom", name: "NotCustodian", contract: "TwinRegistry" });
      expect(d.args).to.deep.equal({ account: stranger.address });
    }

    const calldata = registry.interface.encodeFunctionData("createTwin", [salt, METADATA, stranger.address]);
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "eth_call",
        params: [{ from: stranger.address, to: await registry.getAddress(), data: calldata }, "latest"],
      }),
    });
    const raw = (await response.json()) as { error?: unknown };
    expect(raw.error, "a JSON-RPC error object").to.not.equal(undefined);
    expect(decodeError(raw.error)).to.include({ name: "NotCustodian" });

    await (await registry.connect(deployer).grantRole(ethers.id("CUSTODIAN_ROLE"), hospital.address)).wait();
    await (await registry.connect(patient).createTwin(salt, METADATA, hospital.address)).wait();
    const block = await provider.getBlock("latest");
    const now = block!.timestamp;
    const terms: GrantTerms = {
      twinId: twinIdOf(patient.address, salt),
      grantee: relayer.address,
      categories: VITALS,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
      validFrom: now,
      validUntil: now + HOUR,
    };
    const g = await signGrant(patient, { chainId: 1n, address: await consent.getAddress() }, terms, 1n, now + HOUR);
    const error = await failure(() =>
      consent.connect(relayer).grantBySig(g.terms, g.signer, g.epoch, g.nonce, g.deadline, g.signature),
    );
    const d = decodeError(error);
    expect(d.name).to.equal("InvalidSignature");
    expect(d.message).to.contain("signed this grant for chain 1");
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
