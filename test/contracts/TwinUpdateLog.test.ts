import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import fc from "fast-check";
import hre, { ethers } from "hardhat";
import { twinIdOf } from "../../src/chain/twin-id";
import {
  MAX_CID_LENGTH,
  ZERO_HEAD,
  buildReadingTree,
  buildRecordTree,
  cidHashOf,
  nextHead,
  nextRecordsHead,
  proveReading,
  proveRecord,
  recordsAnchorOf,
  verifyUpdateChain,
  type LogEntryLike,
  type Reading,
  type ReadingTree,
  type RecordInput,
  type RecordTree,
} from "../../src/chain/anchors";
import { ALL_CATEGORIES, DataCategory, SourceKind } from "../../src/vocabulary";
import { TwinUpdateLog__factory } from "../../typechain-types";
import { EMR_CATEGORIES, METADATA, twinFixture } from "../fixtures";

/** solidity-coverage instruments the bytecode, so absolute gas figures only hold outside coverage. */
const COVERAGE = (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true;

const GAS_BUDGET = {
  recordUpdate: 45_000n,
  anchorBatch: 60_000n,
  anchorRecords: 120_000n,
  deployment: 3_000_000n,
  codeSize: 24 * 1024,
};

const UINT64_MAX = 2n ** 64n - 1n;

/** A binary CIDv1 (raw codec, sha2-256): 0x01 0x55 0x12 0x20 followed by the 32-byte digest. */
function binaryCid(seed: string): string {
  return ethers.concat(["0x01551220", ethers.id(seed)]);
}

/** The guardian (hardhat account 7) owns the second twin; its id is derived from the guardian and a salt. */
const OTHER_SALT = ethers.id("twin:pseudonym:bob");
const OTHER_TWIN = twinIdOf("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955", OTHER_SALT);
const UNKNOWN_TWIN = ethers.id("twin:pseudonym:nobody");

/** The twin fixture plus a second twin (owned by the guardian account) with its own device source. */
async function twoTwinsFixture() {
  const f = await twinFixture();
  const { registry, guardian, hospital2, clinician } = f;
  await registry.connect(guardian).createTwin(OTHER_SALT, METADATA, hospital2.address);
  await registry
    .connect(guardian)
    .authorizeSource(
      OTHER_TWIN,
      clinician.address,
      SourceKind.Device,
      DataCategory.WEARABLE_STREAMS | DataCategory.VITALS,
    );
  return { ...f, otherTwinId: OTHER_TWIN, otherSource: clinician };
}

/** `twoTwinsFixture` plus a second source on the patient's twin (the researcher account as a wearable and a lab). */
async function twoSourcesFixture() {
  const f = await twoTwinsFixture();
  await f.registry
    .connect(f.patient)
    .authorizeSource(
      f.twinId,
      f.researcher.address,
      SourceKind.Device,
      DataCategory.WEARABLE_STREAMS | DataCategory.LABS,
    );
  return { ...f, secondSource: f.researcher };
}

type Fixture = Awaited<ReturnType<typeof twoTwinsFixture>>;

async function gasUsed(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt.gasUsed;
}

/** The intrinsic cost of a transaction's calldata (EIP-2028: 4 per zero byte, 16 per non-zero byte) plus 21,000. */
function intrinsicGas(data: string): bigint {
  let gas = 21_000n;
  for (const byte of ethers.getBytes(data)) gas += byte === 0 ? 4n : 16n;
  return gas;
}

/** `count` distinct readings one second apart (hashes derived from one keccak, to keep 10,000 of them cheap). */
function readingsOf(count: number, firstTime: number, tag = "r"): Reading[] {
  const base = BigInt(ethers.id(tag));
  return Array.from({ length: count }, (_, i) => ({
    readingHash: ethers.toBeHex(base ^ BigInt(i), 32),
    timestamp: firstTime + i,
  }));
}

/** The categories of an EMR ingest, in a mixed order. */
const EMR_MIX = [
  DataCategory.DEMOGRAPHICS,
  DataCategory.CONDITIONS,
  DataCategory.MEDICATIONS,
  DataCategory.LABS,
  DataCategory.VITALS,
  DataCategory.ENCOUNTERS,
  DataCategory.ALLERGIES,
  DataCategory.PROCEDURES,
];

/** `count` distinct records cycling through `categories`. */
function recordsOf(count: number, categories: readonly number[] = EMR_MIX, tag = "rec"): RecordInput[] {
  const base = BigInt(ethers.id(tag));
  return Array.from({ length: count }, (_, i) => ({
    category: categories[i % categories.length],
    contentHash: ethers.toBeHex(base ^ BigInt(i), 32),
    cid: ethers.concat(["0x01551220", ethers.toBeHex(base ^ BigInt(i + count), 32)]),
  }));
}

async function anchorTree(f: Fixture, tree: ReadingTree, twinId = f.twinId, source = f.wearable) {
  return f.updateLog.connect(source).anchorBatch(twinId, tree.root);
}

async function anchorRecordTree(f: Fixture, tree: RecordTree, twinId = f.twinId, source = f.emr) {
  const { recordsRoot, categories } = recordsAnchorOf(tree);
  return f.updateLog.connect(source).anchorRecords(twinId, recordsRoot, categories);
}

describe("TwinUpdateLog", () => {
  describe("deployment", () => {
    it("reads the registry it was deployed with and exposes MAX_CID_LENGTH", async () => {
      const { updateLog, registry } = await loadFixture(twinFixture);
      expect(await updateLog.registry()).to.equal(await registry.getAddress());
      expect(await updateLog.MAX_CID_LENGTH()).to.equal(96n);
      expect(await updateLog.MAX_CID_LENGTH()).to.equal(BigInt(MAX_CID_LENGTH));
    });

    it("refuses a zero registry", async () => {
      const { admin, updateLog } = await loadFixture(twinFixture);
      const factory = new TwinUpdateLog__factory(admin);
      await expect(factory.deploy(ethers.ZeroAddress)).to.be.revertedWithCustomError(updateLog, "ZeroRegistry");
    });

    it("starts empty", async () => {
      const { updateLog, twinId, wearable, emr } = await loadFixture(twinFixture);
      const head = await updateLog.logHeadOf(twinId);
      expect(head.sequence).to.equal(0n);
      expect(head.head).to.equal(ZERO_HEAD);
      expect((await updateLog.batchOf(twinId, wearable.address, ethers.id("root"))).anchoredAt).to.equal(0n);
      const records = await updateLog.recordBatchOf(twinId, emr.address, ethers.id("root"));
      expect([records.sequence, records.categories, records.anchoredAt]).to.deep.equal([0n, 0n, 0n]);
      const state = await updateLog.twinStateOf(twinId);
      expect([state.version, state.epoch, state.custodian]).to.deep.equal([0n, 0n, ethers.ZeroAddress]);
      expect(state.stateRoot).to.equal(ethers.ZeroHash);
    });

    it("deploys within 3,000,000 gas and 24 KiB", async function () {
      if (COVERAGE) this.skip();
      const { contracts, updateLog } = await loadFixture(twinFixture);
      const deployment = contracts.find((c) => c.name === "TwinUpdateLog");
      expect(deployment).to.not.equal(undefined);
      expect(deployment!.receipt.gasUsed).to.be.lessThanOrEqual(GAS_BUDGET.deployment);
      const code = await ethers.provider.getCode(await updateLog.getAddress());
      expect(ethers.dataLength(code)).to.be.lessThan(GAS_BUDGET.codeSize);
    });
  });

  describe("recordUpdate", () => {
    it("records the first update with sequence 1, the head from a zero head, and the event", async () => {
      const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
      const hash = ethers.id("blob:1");
      const cid = binaryCid("blob:1");
      expect(await updateLog.connect(emr).recordUpdate.staticCall(twinId, DataCategory.LABS, hash, cid)).to.equal(1n);
      const head = nextHead(ZERO_HEAD, twinId, 1, emr.address, DataCategory.LABS, hash, cid);
      await expect(updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, hash, cid))
        .to.emit(updateLog, "UpdateRecorded")
        .withArgs(twinId, 1n, emr.address, DataCategory.LABS, hash, cid, head);
      const logHead = await updateLog.logHeadOf(twinId);
      expect(logHead.sequence).to.equal(1n);
      expect(logHead.head).to.equal(head);
    });

    it("chains several updates from several sources: the on-chain head equals the nextHead chain", async () => {
      const { updateLog, emr, wearable, twinId } = await loadFixture(twoTwinsFixture);
      const writes = [
        { source: emr, category: DataCategory.CONDITIONS },
        { source: wearable, category: DataCategory.WEARABLE_STREAMS },
        { source: emr, category: DataCategory.MEDICATIONS },
        { source: emr, category: DataCategory.VITALS },
        { source: wearable, category: DataCategory.WEARABLE_STREAMS },
        { source: emr, category: DataCategory.LABS },
      ];
      let head = ZERO_HEAD;
      for (const [i, { source, category }] of writes.entries()) {
        const sequence = BigInt(i + 1);
        const hash = ethers.id(`blob:${i}`);
        // A CID of a different length each time: 1 byte up to 96.
        const cid = ethers.hexlify(ethers.toUtf8Bytes(`bafy${"k".repeat(i * 15)}`.slice(0, Math.max(1, i * 19))));
        expect(await updateLog.connect(source).recordUpdate.staticCall(twinId, category, hash, cid)).to.equal(sequence);
        head = nextHead(head, twinId, sequence, source.address, category, hash, cid);
        await expect(updateLog.connect(source).recordUpdate(twinId, category, hash, cid))
          .to.emit(updateLog, "UpdateRecorded")
          .withArgs(twinId, sequence, source.address, category, hash, cid, head);
      }
      const logHead = await updateLog.logHeadOf(twinId);
      expect(logHead.sequence).to.equal(BigInt(writes.length));
      expect(logHead.head).to.equal(head);
    });

    it("keeps one sequence and one chain per twin", async () => {
      const { updateLog, emr, otherSource, twinId, otherTwinId } = await loadFixture(twoTwinsFixture);
      const hash = ethers.id("blob");
      const cid = binaryCid("blob");
      await updateLog.connect(emr).recordUpdate(twinId, DataCategory.VITALS, hash, cid);
      await updateLog.connect(emr).recordUpdate(twinId, DataCategory.VITALS, hash, cid);
      await expect(updateLog.connect(otherSource).recordUpdate(otherTwinId, DataCategory.VITALS, hash, cid))
        .to.emit(updateLog, "UpdateRecorded")
        .withArgs(otherTwinId, 1n, otherSource.address, DataCategory.VITALS, hash, cid, anyValue);
      const other = await updateLog.logHeadOf(otherTwinId);
      expect(other.sequence).to.equal(1n);
      expect(other.head).to.equal(
        nextHead(ZERO_HEAD, otherTwinId, 1, otherSource.address, DataCategory.VITALS, hash, cid),
      );
      expect((await updateLog.logHeadOf(twinId)).sequence).to.equal(2n);
    });

    it("accepts every defined category from a source authorized for all of them", async () => {
      const { updateLog, registry, patient, researcher, twinId } = await loadFixture(twoTwinsFixture);
      await registry.connect(patient).authorizeSource(twinId, researcher.address, SourceKind.App, ALL_CATEGORIES);
      const categories = Object.values(DataCategory);
      for (const [i, category] of categories.entries()) {
        await expect(
          updateLog.connect(researcher).recordUpdate(twinId, category, ethers.id(`c${i}`), binaryCid(`c${i}`)),
        )
          .to.emit(updateLog, "UpdateRecorded")
          .withArgs(
            twinId,
            BigInt(i + 1),
            researcher.address,
            category,
            ethers.id(`c${i}`),
            binaryCid(`c${i}`),
            anyValue,
          );
      }
      expect((await updateLog.logHeadOf(twinId)).sequence).to.equal(BigInt(categories.length));
    });

    it("accepts a CID of 1 byte and of exactly MAX_CID_LENGTH bytes", async () => {
      const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
      await updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("a"), "0x01");
      const longest = ethers.hexlify(ethers.randomBytes(MAX_CID_LENGTH));
      await expect(updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("b"), longest)).to.emit(
        updateLog,
        "UpdateRecorded",
      );
    });

    describe("refuses malformed arguments", () => {
      const cases: [string, number][] = [
        ["no category", 0],
        ["two categories", DataCategory.VITALS | DataCategory.LABS],
        ["an undefined bit", 1 << 13],
        ["the highest bit", 2 ** 31],
        ["a defined bit with an undefined one", DataCategory.VITALS | (1 << 20)],
      ];
      for (const [name, category] of cases) {
        it(`InvalidCategory for ${name}`, async () => {
          const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
          await expect(updateLog.connect(emr).recordUpdate(twinId, category, ethers.id("x"), binaryCid("x")))
            .to.be.revertedWithCustomError(updateLog, "InvalidCategory")
            .withArgs(category);
        });
      }

      it("EmptyHash for a zero content hash", async () => {
        const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
        await expect(
          updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.ZeroHash, binaryCid("x")),
        ).to.be.revertedWithCustomError(updateLog, "EmptyHash");
      });

      it("EmptyCid for an empty content id", async () => {
        const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
        await expect(
          updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("x"), "0x"),
        ).to.be.revertedWithCustomError(updateLog, "EmptyCid");
      });

      it("CidTooLong(length, max) for a content id over MAX_CID_LENGTH", async () => {
        const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
        const cid = ethers.hexlify(ethers.randomBytes(MAX_CID_LENGTH + 1));
        await expect(updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("x"), cid))
          .to.be.revertedWithCustomError(updateLog, "CidTooLong")
          .withArgs(MAX_CID_LENGTH + 1, MAX_CID_LENGTH);
      });
    });

    describe("role boundaries", () => {
      const unauthorized: [string, (f: Fixture) => Promise<{ signer: Fixture["emr"]; category: number }>][] = [
        ["the owner, who is not a source", async (f) => ({ signer: f.patient, category: DataCategory.VITALS })],
        ["the custodian, who is not a source", async (f) => ({ signer: f.hospital, category: DataCategory.LABS })],
        ["a stranger", async (f) => ({ signer: f.stranger, category: DataCategory.LABS })],
        ["the EMR writing WEARABLE_STREAMS", async (f) => ({ signer: f.emr, category: DataCategory.WEARABLE_STREAMS })],
        ["the EMR writing GENOMICS", async (f) => ({ signer: f.emr, category: DataCategory.GENOMICS })],
        ["the wearable writing VITALS", async (f) => ({ signer: f.wearable, category: DataCategory.VITALS })],
        ["a source of another twin", async (f) => ({ signer: f.otherSource, category: DataCategory.VITALS })],
        [
          "a removed source",
          async (f) => {
            await f.registry.connect(f.patient).removeSource(f.twinId, f.emr.address);
            return { signer: f.emr, category: DataCategory.LABS };
          },
        ],
        [
          "a source whose categories were narrowed",
          async (f) => {
            await f.registry
              .connect(f.patient)
              .authorizeSource(f.twinId, f.emr.address, SourceKind.Emr, DataCategory.CONDITIONS);
            return { signer: f.emr, category: DataCategory.LABS };
          },
        ],
      ];
      for (const [name, setup] of unauthorized) {
        it(`SourceNotAuthorized for ${name}, and nothing changes`, async () => {
          const f = await loadFixture(twoTwinsFixture);
          await f.updateLog.connect(f.emr).recordUpdate(f.twinId, DataCategory.CONDITIONS, ethers.id("0"), "0x01");
          const before = await f.updateLog.logHeadOf(f.twinId);
          const { signer, category } = await setup(f);
          await expect(f.updateLog.connect(signer).recordUpdate(f.twinId, category, ethers.id("x"), binaryCid("x")))
            .to.be.revertedWithCustomError(f.updateLog, "SourceNotAuthorized")
            .withArgs(f.twinId, signer.address, category);
          expect(await f.updateLog.logHeadOf(f.twinId)).to.deep.equal(before);
        });
      }

      const inactive: [string, (f: Fixture) => Promise<string>][] = [
        [
          "a suspended twin",
          async (f) => {
            await f.registry.connect(f.patient).suspendTwin(f.twinId);
            return f.twinId;
          },
        ],
        [
          "an erased twin",
          async (f) => {
            await f.registry.connect(f.patient).eraseTwin(f.twinId);
            return f.twinId;
          },
        ],
        ["an unknown twin", async () => UNKNOWN_TWIN],
      ];
      for (const [name, setup] of inactive) {
        it(`TwinNotActive for ${name}, even for its own source, and nothing changes`, async () => {
          const f = await loadFixture(twoTwinsFixture);
          await f.updateLog.connect(f.emr).recordUpdate(f.twinId, DataCategory.CONDITIONS, ethers.id("0"), "0x01");
          const before = await f.updateLog.logHeadOf(f.twinId);
          const twinId = await setup(f);
          await expect(f.updateLog.connect(f.emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("x"), "0x01"))
            .to.be.revertedWithCustomError(f.updateLog, "TwinNotActive")
            .withArgs(twinId);
          // A stranger learns the same: the twin is not active.
          await expect(f.updateLog.connect(f.stranger).recordUpdate(twinId, DataCategory.LABS, ethers.id("x"), "0x01"))
            .to.be.revertedWithCustomError(f.updateLog, "TwinNotActive")
            .withArgs(twinId);
          expect(await f.updateLog.logHeadOf(f.twinId)).to.deep.equal(before);
        });
      }

      it("continues the sequence and the chain when a suspended twin is resumed", async () => {
        const { updateLog, registry, patient, emr, twinId } = await loadFixture(twoTwinsFixture);
        const hash = ethers.id("x");
        const cid = binaryCid("x");
        await updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, hash, cid);
        await registry.connect(patient).suspendTwin(twinId);
        await registry.connect(patient).resumeTwin(twinId);
        const before = await updateLog.logHeadOf(twinId);
        await expect(updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, hash, cid))
          .to.emit(updateLog, "UpdateRecorded")
          .withArgs(
            twinId,
            2n,
            emr.address,
            DataCategory.LABS,
            hash,
            cid,
            nextHead(before.head, twinId, 2, emr.address, DataCategory.LABS, hash, cid),
          );
      });
    });
  });

  const inactiveTwins: [string, (f: Fixture) => Promise<string>][] = [
    [
      "a suspended twin",
      async (f) => {
        await f.registry.connect(f.patient).suspendTwin(f.twinId);
        return f.twinId;
      },
    ],
    [
      "an erased twin",
      async (f) => {
        await f.registry.connect(f.patient).eraseTwin(f.twinId);
        return f.twinId;
      },
    ],
    ["an unknown twin", async () => UNKNOWN_TWIN],
  ];

  describe("anchorBatch", () => {
    it("anchors a batch for (twin, source, root): the event, and one slot with the anchoring time", async () => {
      const { updateLog, wearable, otherSource, twinId } = await loadFixture(twoTwinsFixture);
      const root = ethers.id("root");
      const at = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(at);
      await expect(updateLog.connect(wearable).anchorBatch(twinId, root))
        .to.emit(updateLog, "BatchAnchored")
        .withArgs(twinId, wearable.address, root);
      expect((await updateLog.batchOf(twinId, wearable.address, root)).anchoredAt).to.equal(BigInt(at));
      // Another source, another twin: nothing anchored there.
      expect((await updateLog.batchOf(twinId, otherSource.address, root)).anchoredAt).to.equal(0n);
      expect((await updateLog.batchOf(OTHER_TWIN, wearable.address, root)).anchoredAt).to.equal(0n);
    });

    it("puts neither a count nor a time range of readings on chain: the event has three topics and no data", async () => {
      const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
      const receipt = await (await updateLog.connect(wearable).anchorBatch(twinId, ethers.id("root"))).wait();
      const [log] = receipt!.logs;
      expect(log.topics).to.have.length(4); // the signature and three indexed fields
      expect(log.data).to.equal("0x");
      // The stored batch is its anchoring time alone.
      const batchOf = updateLog.interface.getFunction("batchOf");
      expect(batchOf.outputs[0].components!.map((c) => c.name)).to.deep.equal(["anchoredAt"]);
    });

    it("takes the largest root", async () => {
      const MAX_ROOT = ethers.toBeHex(ethers.MaxUint256, 32);
      const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
      await updateLog.connect(wearable).anchorBatch(twinId, MAX_ROOT);
      expect((await updateLog.batchOf(twinId, wearable.address, MAX_ROOT)).anchoredAt).to.equal(
        BigInt(await time.latest()),
      );
    });

    it("lets the same root be anchored once per (twin, source)", async () => {
      const { updateLog, wearable, otherSource, twinId, otherTwinId } = await loadFixture(twoTwinsFixture);
      const root = ethers.id("root");
      await updateLog.connect(wearable).anchorBatch(twinId, root);
      const first = await updateLog.batchOf(twinId, wearable.address, root);
      await expect(updateLog.connect(wearable).anchorBatch(twinId, root))
        .to.be.revertedWithCustomError(updateLog, "BatchAlreadyAnchored")
        .withArgs(twinId, wearable.address, root);
      expect(await updateLog.batchOf(twinId, wearable.address, root)).to.deep.equal(first);
      await expect(updateLog.connect(otherSource).anchorBatch(otherTwinId, root))
        .to.emit(updateLog, "BatchAnchored")
        .withArgs(otherTwinId, otherSource.address, root);
    });

    it("regression: another source of the twin anchoring the same root first no longer makes the honest anchor fail", async () => {
      const f = await loadFixture(twoSourcesFixture);
      const { updateLog, wearable, secondSource, twinId } = f;
      const readings = readingsOf(8, (await time.latest()) - 100, "honest");
      const tree = buildReadingTree(readings);
      // The other wearable of the twin sees the honest root (e.g. in the mempool) and anchors it first.
      await updateLog.connect(secondSource).anchorBatch(twinId, tree.root);
      // v1 reverted here with BatchAlreadyAnchored(twinId, root).
      await expect(anchorTree(f, tree))
        .to.emit(updateLog, "BatchAnchored")
        .withArgs(twinId, wearable.address, tree.root);
      const { readingHash, timestamp } = readings[3];
      const proof = proveReading(tree, readingHash, timestamp);
      expect(
        await updateLog.verifyReading(twinId, wearable.address, tree.root, readingHash, timestamp, proof),
      ).to.equal(true);
      // A source that did not anchor the root proves nothing with it.
      for (const wrong of [f.emr, f.stranger, f.otherSource]) {
        expect(await updateLog.verifyReading(twinId, wrong.address, tree.root, readingHash, timestamp, proof)).to.equal(
          false,
        );
      }
    });

    it("EmptyHash for a zero root", async () => {
      const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
      await expect(updateLog.connect(wearable).anchorBatch(twinId, ethers.ZeroHash)).to.be.revertedWithCustomError(
        updateLog,
        "EmptyHash",
      );
    });

    describe("role boundaries", () => {
      const unauthorized: [string, (f: Fixture) => Promise<Fixture["emr"]>][] = [
        ["the EMR (no WEARABLE_STREAMS)", async (f) => f.emr],
        ["the owner, who is not a source", async (f) => f.patient],
        ["the custodian", async (f) => f.hospital],
        ["a stranger", async (f) => f.stranger],
        ["a wearable of another twin", async (f) => f.otherSource],
        [
          "a removed wearable",
          async (f) => {
            await f.registry.connect(f.patient).removeSource(f.twinId, f.wearable.address);
            return f.wearable;
          },
        ],
      ];
      for (const [name, setup] of unauthorized) {
        it(`SourceNotAuthorized(twin, caller, WEARABLE_STREAMS) for ${name}, and nothing changes`, async () => {
          const f = await loadFixture(twoTwinsFixture);
          const signer = await setup(f);
          const root = ethers.id("root");
          await expect(f.updateLog.connect(signer).anchorBatch(f.twinId, root))
            .to.be.revertedWithCustomError(f.updateLog, "SourceNotAuthorized")
            .withArgs(f.twinId, signer.address, DataCategory.WEARABLE_STREAMS);
          expect((await f.updateLog.batchOf(f.twinId, signer.address, root)).anchoredAt).to.equal(0n);
        });
      }

      for (const [name, setup] of inactiveTwins) {
        it(`TwinNotActive for ${name}, and nothing changes`, async () => {
          const f = await loadFixture(twoTwinsFixture);
          const twinId = await setup(f);
          const root = ethers.id("root");
          await expect(f.updateLog.connect(f.wearable).anchorBatch(twinId, root))
            .to.be.revertedWithCustomError(f.updateLog, "TwinNotActive")
            .withArgs(twinId);
          expect((await f.updateLog.batchOf(twinId, f.wearable.address, root)).anchoredAt).to.equal(0n);
        });
      }
    });
  });

  describe("verifyReading", () => {
    for (const [n, step] of [
      [1, 1],
      [2, 1],
      [7, 1],
      [1000, 13],
    ]) {
      it(`verifies ${step === 1 ? "every reading" : `every ${step}th reading and the last`} of an anchored tree of ${n}`, async () => {
        const f = await loadFixture(twoTwinsFixture);
        const readings = readingsOf(n, (await time.latest()) - n);
        const tree = buildReadingTree(readings);
        await anchorTree(f, tree);
        const sample = readings.filter((_, i) => i % step === 0 || i === n - 1);
        const results = await Promise.all(
          sample.map(({ readingHash, timestamp }) =>
            f.updateLog.verifyReading(
              f.twinId,
              f.wearable.address,
              tree.root,
              readingHash,
              timestamp,
              proveReading(tree, readingHash, timestamp),
            ),
          ),
        );
        expect(results.every((ok) => ok)).to.equal(true);
      });
    }

    it("rejects a wrong proof, timestamp, hash, source, an unknown root and another twin's root", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const { updateLog, twinId, otherTwinId } = f;
      const source = f.wearable.address;
      const readings = readingsOf(16, (await time.latest()) - 100);
      const tree = buildReadingTree(readings);
      await anchorTree(f, tree);
      const [a, b] = readings;
      const proofA = proveReading(tree, a.readingHash, a.timestamp);
      const proofB = proveReading(tree, b.readingHash, b.timestamp);
      const verify = (...args: [string, string, string, Reading["readingHash"], Reading["timestamp"], string[]]) =>
        updateLog.verifyReading(...args);
      expect(await verify(twinId, source, tree.root, a.readingHash, a.timestamp, proofA)).to.equal(true);
      // Another reading's proof.
      expect(await verify(twinId, source, tree.root, a.readingHash, a.timestamp, proofB)).to.equal(false);
      // A truncated proof, an empty one and a proof with one node flipped.
      expect(await verify(twinId, source, tree.root, a.readingHash, a.timestamp, proofA.slice(1))).to.equal(false);
      expect(await verify(twinId, source, tree.root, a.readingHash, a.timestamp, [])).to.equal(false);
      const flipped = [ethers.toBeHex(BigInt(proofA[0]) ^ 1n, 32), ...proofA.slice(1)];
      expect(await verify(twinId, source, tree.root, a.readingHash, a.timestamp, flipped)).to.equal(false);
      // The right hash at another time, another hash at the right time.
      expect(await verify(twinId, source, tree.root, a.readingHash, b.timestamp, proofA)).to.equal(false);
      expect(await verify(twinId, source, tree.root, b.readingHash, a.timestamp, proofA)).to.equal(false);
      // Another source of the twin, a root never anchored, and this twin's root asked of another twin.
      expect(await verify(twinId, f.emr.address, tree.root, a.readingHash, a.timestamp, proofA)).to.equal(false);
      expect(await verify(twinId, source, ethers.id("nope"), a.readingHash, a.timestamp, proofA)).to.equal(false);
      expect(await verify(otherTwinId, source, tree.root, a.readingHash, a.timestamp, proofA)).to.equal(false);
    });

    it("keeps verifying after the twin is erased: anchors outlive the twin", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const readings = readingsOf(4, (await time.latest()) - 10);
      const tree = buildReadingTree(readings);
      await anchorTree(f, tree);
      await f.registry.connect(f.patient).eraseTwin(f.twinId);
      const { readingHash, timestamp } = readings[2];
      const proof = proveReading(tree, readingHash, timestamp);
      expect(
        await f.updateLog.verifyReading(f.twinId, f.wearable.address, tree.root, readingHash, timestamp, proof),
      ).to.equal(true);
    });

    it("property: every proof from proveReading verifies on chain, for random reading sets", async function () {
      this.timeout(60_000);
      const f = await loadFixture(twoTwinsFixture);
      const now = await time.latest();
      const reading = fc.record({
        readingHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => ethers.hexlify(bytes)),
        timestamp: fc.integer({ min: 0, max: now }),
      });
      const batches = fc.uniqueArray(reading, {
        minLength: 1,
        maxLength: 40,
        selector: (r) => `${r.readingHash}/${r.timestamp}`,
      });
      const source = f.wearable.address;
      await fc.assert(
        fc.asyncProperty(batches, async (readings) => {
          const tree = buildReadingTree(readings);
          if ((await f.updateLog.batchOf(f.twinId, source, tree.root)).anchoredAt === 0n) await anchorTree(f, tree);
          for (const { readingHash, timestamp } of readings) {
            const proof = proveReading(tree, readingHash, timestamp);
            expect(
              await f.updateLog.verifyReading(f.twinId, source, tree.root, readingHash, timestamp, proof),
            ).to.equal(true);
          }
        }),
        { numRuns: 25 },
      );
    });
  });

  describe("anchorRecords", () => {
    it("anchors a bundle as the first entry of the chain: sequence 1, the records step from a zero head, one slot", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const { updateLog, emr, twinId } = f;
      const tree = buildRecordTree(recordsOf(22));
      const { recordsRoot, categories } = recordsAnchorOf(tree);
      expect(categories).to.equal(EMR_CATEGORIES);
      expect(await updateLog.connect(emr).anchorRecords.staticCall(twinId, recordsRoot, categories)).to.equal(1n);
      const head = nextRecordsHead(ZERO_HEAD, twinId, 1, emr.address, categories, recordsRoot);
      const at = (await time.latest()) + 3;
      await time.setNextBlockTimestamp(at);
      await expect(anchorRecordTree(f, tree))
        .to.emit(updateLog, "RecordsAnchored")
        .withArgs(twinId, 1n, emr.address, categories, recordsRoot, head);
      expect(await updateLog.logHeadOf(twinId)).to.deep.equal([1n, head]);
      const batch = await updateLog.recordBatchOf(twinId, emr.address, recordsRoot);
      expect([batch.sequence, batch.categories, batch.anchoredAt]).to.deep.equal([1n, BigInt(categories), BigInt(at)]);
    });

    it("shares one sequence and one hash chain with recordUpdate; verifyUpdateChain checks both kinds", async () => {
      const f = await loadFixture(twoSourcesFixture);
      const { updateLog, emr, secondSource, twinId } = f;
      const cid = binaryCid("u");
      let head = ZERO_HEAD;
      const steps: (() => Promise<void>)[] = [
        async () => {
          await updateLog.connect(emr).recordUpdate(twinId, DataCategory.CONDITIONS, ethers.id("u1"), cid);
          head = nextHead(head, twinId, 1, emr.address, DataCategory.CONDITIONS, ethers.id("u1"), cid);
        },
        async () => {
          const tree = buildRecordTree(recordsOf(5, EMR_MIX, "b2"));
          const { recordsRoot, categories } = recordsAnchorOf(tree);
          head = nextRecordsHead(head, twinId, 2, emr.address, categories, recordsRoot);
          await expect(anchorRecordTree(f, tree))
            .to.emit(updateLog, "RecordsAnchored")
            .withArgs(twinId, 2n, emr.address, categories, recordsRoot, head);
        },
        async () => {
          const tree = buildRecordTree(recordsOf(3, [DataCategory.LABS], "b3"));
          const { recordsRoot } = recordsAnchorOf(tree);
          head = nextRecordsHead(head, twinId, 3, secondSource.address, DataCategory.LABS, recordsRoot);
          await expect(updateLog.connect(secondSource).anchorRecords(twinId, recordsRoot, DataCategory.LABS))
            .to.emit(updateLog, "RecordsAnchored")
            .withArgs(twinId, 3n, secondSource.address, DataCategory.LABS, recordsRoot, head);
        },
        async () => {
          await expect(updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id("u4"), cid))
            .to.emit(updateLog, "UpdateRecorded")
            .withArgs(
              twinId,
              4n,
              emr.address,
              DataCategory.LABS,
              ethers.id("u4"),
              cid,
              nextHead(head, twinId, 4, emr.address, DataCategory.LABS, ethers.id("u4"), cid),
            );
          head = nextHead(head, twinId, 4, emr.address, DataCategory.LABS, ethers.id("u4"), cid);
        },
      ];
      for (const step of steps) await step();
      const logHead = await updateLog.logHeadOf(twinId);
      expect([logHead.sequence, logHead.head]).to.deep.equal([4n, head]);

      const updates = (await updateLog.queryFilter(updateLog.filters.UpdateRecorded(twinId))).map((e) => e.args);
      const batches = (await updateLog.queryFilter(updateLog.filters.RecordsAnchored(twinId))).map((e) => e.args);
      const entries: LogEntryLike[] = [...updates, ...batches].sort((x, y) => Number(x.sequence - y.sequence));
      expect(verifyUpdateChain(entries, logHead)).to.deep.equal({ valid: true, sequence: 4n, head });
      // The updates alone do not make the chain: the record batches are steps of it.
      expect(verifyUpdateChain(updates, logHead).valid).to.equal(false);
    });

    it("lets the same root be anchored once per (twin, source), each time a step of that twin's chain", async () => {
      const f = await loadFixture(twoSourcesFixture);
      const { updateLog, emr, secondSource, otherSource, twinId, otherTwinId } = f;
      const root = ethers.id("records");
      await updateLog.connect(emr).anchorRecords(twinId, root, DataCategory.LABS);
      const before = await updateLog.logHeadOf(twinId);
      await expect(updateLog.connect(emr).anchorRecords(twinId, root, DataCategory.LABS))
        .to.be.revertedWithCustomError(updateLog, "RecordsAlreadyAnchored")
        .withArgs(twinId, emr.address, root);
      expect(await updateLog.logHeadOf(twinId)).to.deep.equal(before);
      await expect(updateLog.connect(secondSource).anchorRecords(twinId, root, DataCategory.LABS))
        .to.emit(updateLog, "RecordsAnchored")
        .withArgs(twinId, 2n, secondSource.address, DataCategory.LABS, root, anyValue);
      await expect(updateLog.connect(otherSource).anchorRecords(otherTwinId, root, DataCategory.VITALS))
        .to.emit(updateLog, "RecordsAnchored")
        .withArgs(otherTwinId, 1n, otherSource.address, DataCategory.VITALS, root, anyValue);
    });

    it("accepts every defined category at once from a source authorized for all of them", async () => {
      const { updateLog, registry, patient, stranger, twinId } = await loadFixture(twoTwinsFixture);
      await registry.connect(patient).authorizeSource(twinId, stranger.address, SourceKind.App, ALL_CATEGORIES);
      await expect(updateLog.connect(stranger).anchorRecords(twinId, ethers.id("all"), ALL_CATEGORIES))
        .to.emit(updateLog, "RecordsAnchored")
        .withArgs(twinId, 1n, stranger.address, ALL_CATEGORIES, ethers.id("all"), anyValue);
    });

    describe("refuses malformed arguments", () => {
      const cases: [string, number][] = [
        ["an empty mask", 0],
        ["an undefined bit", 1 << 13],
        ["the highest bit", 2 ** 31],
        ["defined bits with an undefined one", DataCategory.VITALS | DataCategory.LABS | (1 << 20)],
      ];
      for (const [name, categories] of cases) {
        it(`InvalidCategory for ${name}`, async () => {
          const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
          await expect(updateLog.connect(emr).anchorRecords(twinId, ethers.id("root"), categories))
            .to.be.revertedWithCustomError(updateLog, "InvalidCategory")
            .withArgs(categories);
        });
      }

      it("EmptyHash for a zero root", async () => {
        const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
        await expect(
          updateLog.connect(emr).anchorRecords(twinId, ethers.ZeroHash, DataCategory.LABS),
        ).to.be.revertedWithCustomError(updateLog, "EmptyHash");
      });
    });

    describe("role boundaries", () => {
      const unauthorized: [string, number, (f: Fixture) => Promise<Fixture["emr"]>][] = [
        [
          "the EMR for a mask with one bit it may not write",
          EMR_CATEGORIES | DataCategory.GENOMICS,
          async (f) => f.emr,
        ],
        ["the EMR for WEARABLE_STREAMS", DataCategory.WEARABLE_STREAMS, async (f) => f.emr],
        ["the wearable for LABS", DataCategory.LABS, async (f) => f.wearable],
        ["the owner, who is not a source", DataCategory.LABS, async (f) => f.patient],
        ["the custodian", DataCategory.LABS, async (f) => f.hospital],
        ["a stranger", DataCategory.LABS, async (f) => f.stranger],
        ["a source of another twin", DataCategory.VITALS, async (f) => f.otherSource],
        [
          "a removed EMR",
          DataCategory.LABS,
          async (f) => {
            await f.registry.connect(f.patient).removeSource(f.twinId, f.emr.address);
            return f.emr;
          },
        ],
      ];
      for (const [name, categories, setup] of unauthorized) {
        it(`SourceNotAuthorized(twin, caller, mask) for ${name}, and nothing changes`, async () => {
          const f = await loadFixture(twoTwinsFixture);
          const signer = await setup(f);
          const root = ethers.id("root");
          await expect(f.updateLog.connect(signer).anchorRecords(f.twinId, root, categories))
            .to.be.revertedWithCustomError(f.updateLog, "SourceNotAuthorized")
            .withArgs(f.twinId, signer.address, categories);
          expect((await f.updateLog.recordBatchOf(f.twinId, signer.address, root)).anchoredAt).to.equal(0n);
          expect((await f.updateLog.logHeadOf(f.twinId)).sequence).to.equal(0n);
        });
      }

      for (const [name, setup] of inactiveTwins) {
        it(`TwinNotActive for ${name}, and nothing changes`, async () => {
          const f = await loadFixture(twoTwinsFixture);
          const twinId = await setup(f);
          const root = ethers.id("root");
          await expect(f.updateLog.connect(f.emr).anchorRecords(twinId, root, DataCategory.LABS))
            .to.be.revertedWithCustomError(f.updateLog, "TwinNotActive")
            .withArgs(twinId);
          expect((await f.updateLog.recordBatchOf(twinId, f.emr.address, root)).anchoredAt).to.equal(0n);
          expect((await f.updateLog.logHeadOf(twinId)).sequence).to.equal(0n);
        });
      }
    });
  });

  describe("verifyRecord", () => {
    /** verifyRecord for a record input, with its cid hashed as the tree does. */
    function verify(f: Fixture, source: string, root: string, record: RecordInput, proof: string[], twinId = f.twinId) {
      return f.updateLog.verifyRecord(
        twinId,
        source,
        root,
        record.category,
        record.contentHash,
        cidHashOf(record.cid),
        proof,
      );
    }

    for (const [n, step] of [
      [1, 1],
      [2, 1],
      [22, 1],
      [1000, 37],
    ]) {
      it(`proves ${step === 1 ? "every record" : `every ${step}th record and the last`} of an anchored bundle of ${n}, each alone`, async () => {
        const f = await loadFixture(twoTwinsFixture);
        const records = recordsOf(n);
        const tree = buildRecordTree(records);
        await anchorRecordTree(f, tree);
        const sample = records.filter((_, i) => i % step === 0 || i === n - 1);
        const results = await Promise.all(
          sample.map((record) => verify(f, f.emr.address, tree.root, record, proveRecord(tree, record))),
        );
        expect(results.every((ok) => ok)).to.equal(true);
      });
    }

    it("rejects a wrong category, a wrong source, a wrong root, another twin, a wrong hash or cid, a wrong proof", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const records = recordsOf(22);
      const tree = buildRecordTree(records);
      await anchorRecordTree(f, tree);
      const source = f.emr.address;
      const [a, b] = records;
      const proof = proveRecord(tree, a);
      expect(await verify(f, source, tree.root, a, proof)).to.equal(true);
      // Another category of the batch's mask for the same record.
      expect(a.category).to.not.equal(DataCategory.LABS);
      expect(await verify(f, source, tree.root, { ...a, category: DataCategory.LABS }, proof)).to.equal(false);
      // No category, two categories, an undefined bit.
      for (const category of [0, Number(a.category) | DataCategory.LABS, 1 << 13]) {
        expect(await verify(f, source, tree.root, { ...a, category }, proof)).to.equal(false);
      }
      // Another source of the twin, a stranger, the wearable.
      for (const wrong of [f.wearable, f.stranger, f.otherSource]) {
        expect(await verify(f, wrong.address, tree.root, a, proof)).to.equal(false);
      }
      // A root never anchored, and this twin's root asked of another twin.
      expect(await verify(f, source, ethers.id("nope"), a, proof)).to.equal(false);
      expect(await verify(f, source, tree.root, a, proof, OTHER_TWIN)).to.equal(false);
      // Another content hash, another cid, another record's proof, a truncated and an empty proof.
      expect(await verify(f, source, tree.root, { ...a, contentHash: b.contentHash }, proof)).to.equal(false);
      expect(await verify(f, source, tree.root, { ...a, cid: b.cid }, proof)).to.equal(false);
      expect(await verify(f, source, tree.root, a, proveRecord(tree, b))).to.equal(false);
      expect(await verify(f, source, tree.root, a, proof.slice(1))).to.equal(false);
      expect(await verify(f, source, tree.root, a, [])).to.equal(false);
    });

    it("rejects a proven record whose category lies outside the batch's mask", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const records = recordsOf(4, [DataCategory.LABS, DataCategory.VITALS]);
      const tree = buildRecordTree(records);
      // The source anchors the tree under LABS only: its VITALS records are not covered.
      await f.updateLog.connect(f.emr).anchorRecords(f.twinId, tree.root, DataCategory.LABS);
      const [labs, vitals] = records;
      expect(vitals.category).to.equal(DataCategory.VITALS);
      expect(await verify(f, f.emr.address, tree.root, labs, proveRecord(tree, labs))).to.equal(true);
      expect(await verify(f, f.emr.address, tree.root, vitals, proveRecord(tree, vitals))).to.equal(false);
    });

    it("keeps verifying after the twin is erased: anchors outlive the twin", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const records = recordsOf(5);
      const tree = buildRecordTree(records);
      await anchorRecordTree(f, tree);
      await f.registry.connect(f.patient).eraseTwin(f.twinId);
      expect(await verify(f, f.emr.address, tree.root, records[4], proveRecord(tree, records[4]))).to.equal(true);
    });

    it("property: every proof from proveRecord verifies on chain, for random bundles", async function () {
      this.timeout(60_000);
      const f = await loadFixture(twoTwinsFixture);
      const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b));
      const record = fc.record({
        category: fc.constantFrom(...EMR_MIX),
        contentHash: bytes32,
        cid: fc.uint8Array({ minLength: 1, maxLength: MAX_CID_LENGTH }).map((b) => ethers.hexlify(b)),
      });
      const bundles = fc.uniqueArray(record, {
        minLength: 1,
        maxLength: 30,
        selector: (r) => `${r.category}/${r.contentHash}/${r.cid}`,
      });
      await fc.assert(
        fc.asyncProperty(bundles, async (records) => {
          const tree = buildRecordTree(records);
          if ((await f.updateLog.recordBatchOf(f.twinId, f.emr.address, tree.root)).anchoredAt === 0n) {
            await anchorRecordTree(f, tree);
          }
          for (const r of records) {
            expect(await verify(f, f.emr.address, tree.root, r, proveRecord(tree, r))).to.equal(true);
          }
        }),
        { numRuns: 20 },
      );
    });
  });

  describe("commitTwinState", () => {
    /** Commits `version` with roots derived from a tag. */
    const commit = (f: Fixture, signer: Fixture["hospital"], version: bigint | number, tag = `${version}`) =>
      f.updateLog.connect(signer).commitTwinState(f.twinId, ethers.id(`s${tag}`), ethers.id(`r${tag}`), version);

    it("commits the first version (1, epoch 1) with its roots, custodian, block and time, and the event", async () => {
      const { updateLog, hospital, twinId } = await loadFixture(twoTwinsFixture);
      const stateRoot = ethers.id("state:1");
      const sourcesRoot = ethers.id("sources:1");
      const at = (await time.latest()) + 7;
      await time.setNextBlockTimestamp(at);
      const tx = updateLog.connect(hospital).commitTwinState(twinId, stateRoot, sourcesRoot, 1);
      await expect(tx)
        .to.emit(updateLog, "TwinStateCommitted")
        .withArgs(twinId, 1n, hospital.address, 1n, stateRoot, sourcesRoot);
      const receipt = await (await tx).wait();
      const state = await updateLog.twinStateOf(twinId);
      expect(state.stateRoot).to.equal(stateRoot);
      expect(state.sourcesRoot).to.equal(sourcesRoot);
      expect(state.version).to.equal(1n);
      expect(state.epoch).to.equal(1n);
      expect(state.custodian).to.equal(hospital.address);
      expect(state.blockNumber).to.equal(BigInt(receipt!.blockNumber));
      expect(state.timestamp).to.equal(BigInt(at));
    });

    it("takes exactly the next version and refuses any other with UnexpectedVersion(version, expected)", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const { updateLog, hospital } = f;
      for (const version of [0n, 2n, UINT64_MAX]) {
        await expect(commit(f, hospital, version))
          .to.be.revertedWithCustomError(updateLog, "UnexpectedVersion")
          .withArgs(version, 1n);
      }
      await commit(f, hospital, 1);
      for (const version of [0n, 1n, 3n, 7n]) {
        await expect(commit(f, hospital, version))
          .to.be.revertedWithCustomError(updateLog, "UnexpectedVersion")
          .withArgs(version, 2n);
      }
      await commit(f, hospital, 2);
      await expect(commit(f, hospital, 3))
        .to.emit(updateLog, "TwinStateCommitted")
        .withArgs(f.twinId, 3n, hospital.address, 1n, ethers.id("s3"), ethers.id("r3"));
      const state = await updateLog.twinStateOf(f.twinId);
      expect([state.version, state.epoch, state.stateRoot]).to.deep.equal([3n, 1n, ethers.id("s3")]);
    });

    it("regression: a custodian committing 2^64-1 no longer blocks anyone: the version is refused", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const { updateLog, registry, patient, hospital, hospital2, twinId } = f;
      await commit(f, hospital, 1);
      // v1 accepted any greater version, and 2^64-1 left no version for anyone after.
      await expect(commit(f, hospital, UINT64_MAX))
        .to.be.revertedWithCustomError(updateLog, "UnexpectedVersion")
        .withArgs(UINT64_MAX, 2n);
      await commit(f, hospital, 2);
      await registry.connect(patient).changeCustodian(twinId, hospital2.address);
      await expect(commit(f, hospital2, UINT64_MAX))
        .to.be.revertedWithCustomError(updateLog, "UnexpectedVersion")
        .withArgs(UINT64_MAX, 1n);
      await expect(commit(f, hospital2, 1, "next"))
        .to.emit(updateLog, "TwinStateCommitted")
        .withArgs(twinId, 1n, hospital2.address, 2n, ethers.id("snext"), ethers.id("rnext"));
    });

    it("regression: after changeCustodian the new custodian commits version 1 of a new epoch", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const { updateLog, registry, patient, hospital, hospital2, twinId } = f;
      await commit(f, hospital, 1);
      await commit(f, hospital, 2);
      await registry.connect(patient).changeCustodian(twinId, hospital2.address);
      // v1 refused the new custodian's 1 as stale; continuing the old custodian's count is now refused instead.
      await expect(commit(f, hospital2, 3))
        .to.be.revertedWithCustomError(updateLog, "UnexpectedVersion")
        .withArgs(3n, 1n);
      await expect(commit(f, hospital2, 1, "h2:1"))
        .to.emit(updateLog, "TwinStateCommitted")
        .withArgs(twinId, 1n, hospital2.address, 2n, ethers.id("sh2:1"), ethers.id("rh2:1"));
      await commit(f, hospital2, 2, "h2:2");
      let state = await updateLog.twinStateOf(twinId);
      expect([state.version, state.epoch, state.custodian]).to.deep.equal([2n, 2n, hospital2.address]);
      // Back to the first custodian: it too starts a new epoch, at 1.
      await registry.connect(patient).changeCustodian(twinId, hospital.address);
      await expect(commit(f, hospital, 3))
        .to.be.revertedWithCustomError(updateLog, "UnexpectedVersion")
        .withArgs(3n, 1n);
      await commit(f, hospital, 1, "h1:again");
      state = await updateLog.twinStateOf(twinId);
      expect([state.version, state.epoch, state.custodian, state.stateRoot]).to.deep.equal([
        1n,
        3n,
        hospital.address,
        ethers.id("sh1:again"),
      ]);
    });

    it("EmptyHash for a zero state root or a zero sources root", async () => {
      const { updateLog, hospital, twinId } = await loadFixture(twoTwinsFixture);
      await expect(
        updateLog.connect(hospital).commitTwinState(twinId, ethers.ZeroHash, ethers.id("r"), 1),
      ).to.be.revertedWithCustomError(updateLog, "EmptyHash");
      await expect(
        updateLog.connect(hospital).commitTwinState(twinId, ethers.id("s"), ethers.ZeroHash, 1),
      ).to.be.revertedWithCustomError(updateLog, "EmptyHash");
    });

    const notCustodian: [string, (f: Fixture) => Promise<Fixture["emr"]>][] = [
      ["the owner", async (f) => f.patient],
      ["a source", async (f) => f.emr],
      ["a stranger", async (f) => f.stranger],
      ["another accredited custodian", async (f) => f.hospital2],
      [
        "the previous custodian after a change of custodian",
        async (f) => {
          await f.registry.connect(f.patient).changeCustodian(f.twinId, f.hospital2.address);
          return f.hospital;
        },
      ],
      [
        "the custodian once its accreditation is revoked",
        async (f) => {
          await f.registry.connect(f.governance).revokeRole(await f.registry.CUSTODIAN_ROLE(), f.hospital.address);
          return f.hospital;
        },
      ],
    ];
    for (const [name, setup] of notCustodian) {
      it(`NotTwinCustodian(twin, caller) for ${name}, and nothing changes`, async () => {
        const f = await loadFixture(twoTwinsFixture);
        await commit(f, f.hospital, 1);
        const before = await f.updateLog.twinStateOf(f.twinId);
        const signer = await setup(f);
        for (const version of [1, 2]) {
          await expect(commit(f, signer, version))
            .to.be.revertedWithCustomError(f.updateLog, "NotTwinCustodian")
            .withArgs(f.twinId, signer.address);
        }
        expect(await f.updateLog.twinStateOf(f.twinId)).to.deep.equal(before);
      });
    }

    for (const [name, setup] of inactiveTwins) {
      it(`TwinNotActive for ${name}, even for its custodian, and nothing changes`, async () => {
        const f = await loadFixture(twoTwinsFixture);
        await commit(f, f.hospital, 1);
        const before = await f.updateLog.twinStateOf(f.twinId);
        const twinId = await setup(f);
        await expect(f.updateLog.connect(f.hospital).commitTwinState(twinId, ethers.id("s2"), ethers.id("r2"), 2))
          .to.be.revertedWithCustomError(f.updateLog, "TwinNotActive")
          .withArgs(twinId);
        expect(await f.updateLog.twinStateOf(f.twinId)).to.deep.equal(before);
      });
    }
  });

  describe("gas", () => {
    before(function () {
      if (COVERAGE) this.skip();
    });

    it(`recordUpdate: a repeat update with a 36-byte binary CID costs at most ${GAS_BUDGET.recordUpdate}`, async () => {
      const { updateLog, emr, twinId } = await loadFixture(twoTwinsFixture);
      const send = (i: number) =>
        updateLog.connect(emr).recordUpdate(twinId, DataCategory.LABS, ethers.id(`blob:${i}`), binaryCid(`blob:${i}`));
      const first = await gasUsed(send(0));
      const repeats = [await gasUsed(send(1)), await gasUsed(send(2)), await gasUsed(send(3))];
      for (const gas of repeats) expect(gas).to.be.lessThanOrEqual(GAS_BUDGET.recordUpdate);
      // The first update of a twin pays for a new slot (20,000 more for the zero-to-non-zero store).
      expect(first).to.be.greaterThan(repeats[0]);
    });

    it(`anchorBatch: costs at most ${GAS_BUDGET.anchorBatch}, and the same for 1 and 10,000 readings`, async () => {
      const f = await loadFixture(twoTwinsFixture);
      const now = await time.latest();
      const small = buildReadingTree(readingsOf(1, now - 1, "one"));
      const large = buildReadingTree(readingsOf(10_000, now - 10_000, "many"));
      const execution: bigint[] = [];
      const total: bigint[] = [];
      for (const tree of [small, large]) {
        const tx = await anchorTree(f, tree);
        const receipt = await tx.wait();
        total.push(receipt!.gasUsed);
        // What the contract spends, without the calldata bytes (the roots' bytes differ).
        execution.push(receipt!.gasUsed - intrinsicGas(tx.data));
      }
      expect(execution[1]).to.equal(execution[0]);
      for (const gas of total) expect(gas).to.be.lessThanOrEqual(GAS_BUDGET.anchorBatch);
    });

    it(`anchorRecords: costs at most ${GAS_BUDGET.anchorRecords} as a twin's first entry, the same for 1 and 1,000 records`, async () => {
      const execution: bigint[] = [];
      for (const count of [1, 22, 1000]) {
        const f = await loadFixture(twoTwinsFixture);
        const tx = await anchorRecordTree(f, buildRecordTree(recordsOf(count, EMR_MIX, `bundle:${count}`)));
        const receipt = await tx.wait();
        expect(receipt!.gasUsed).to.be.lessThanOrEqual(GAS_BUDGET.anchorRecords);
        execution.push(receipt!.gasUsed - intrinsicGas(tx.data));
      }
      expect(new Set(execution).size).to.equal(1);
    });
  });
});

describe("TwinUpdateLog: access-log anchors", () => {
  const ROOT = ethers.id("access-log:root:1");

  it("anchors a root for an accredited custodian: one packed slot and an AccessLogAnchored event", async () => {
    const { updateLog, hospital } = await loadFixture(twoTwinsFixture);
    await expect(updateLog.connect(hospital).anchorAccessLog(ROOT, 0, 9))
      .to.emit(updateLog, "AccessLogAnchored")
      .withArgs(hospital.address, ROOT, 0n, 9n);
    const anchor = await updateLog.accessLogAnchorOf(hospital.address, ROOT);
    expect(anchor.fromIndex).to.equal(0n);
    expect(anchor.toIndex).to.equal(9n);
    expect(anchor.anchoredAt).to.equal(BigInt(await time.latest()));
  });

  it("accepts a one-entry range and the largest uint64 indexes", async () => {
    const { updateLog, hospital } = await loadFixture(twoTwinsFixture);
    const max = (1n << 64n) - 1n;
    await updateLog.connect(hospital).anchorAccessLog(ROOT, max, max);
    const anchor = await updateLog.accessLogAnchorOf(hospital.address, ROOT);
    expect([anchor.fromIndex, anchor.toIndex]).to.deep.equal([max, max]);
    expect(anchor.anchoredAt).to.equal(BigInt(await time.latest()));
  });

  it("keeps anchors per operator: the same root by another custodian is its own anchor", async () => {
    const { updateLog, hospital, hospital2 } = await loadFixture(twoTwinsFixture);
    await updateLog.connect(hospital).anchorAccessLog(ROOT, 0, 3);
    await updateLog.connect(hospital2).anchorAccessLog(ROOT, 5, 7);
    expect((await updateLog.accessLogAnchorOf(hospital.address, ROOT)).toIndex).to.equal(3n);
    expect((await updateLog.accessLogAnchorOf(hospital2.address, ROOT)).fromIndex).to.equal(5n);
  });

  it("reads zero for a root that was never anchored", async () => {
    const { updateLog, hospital } = await loadFixture(twoTwinsFixture);
    const anchor = await updateLog.accessLogAnchorOf(hospital.address, ROOT);
    expect([anchor.fromIndex, anchor.toIndex, anchor.anchoredAt]).to.deep.equal([0n, 0n, 0n]);
  });

  it("refuses a zero root", async () => {
    const { updateLog, hospital } = await loadFixture(twoTwinsFixture);
    await expect(updateLog.connect(hospital).anchorAccessLog(ethers.ZeroHash, 0, 1)).to.be.revertedWithCustomError(
      updateLog,
      "EmptyAccessLogRoot",
    );
  });

  it("refuses a range that starts after it ends", async () => {
    const { updateLog, hospital } = await loadFixture(twoTwinsFixture);
    await expect(updateLog.connect(hospital).anchorAccessLog(ROOT, 5, 4))
      .to.be.revertedWithCustomError(updateLog, "InvalidAccessLogRange")
      .withArgs(5n, 4n);
  });

  it("refuses the same root twice from the same operator, and the first anchor stays", async () => {
    const { updateLog, hospital } = await loadFixture(twoTwinsFixture);
    await updateLog.connect(hospital).anchorAccessLog(ROOT, 0, 1);
    const before = await updateLog.accessLogAnchorOf(hospital.address, ROOT);
    await expect(updateLog.connect(hospital).anchorAccessLog(ROOT, 2, 3))
      .to.be.revertedWithCustomError(updateLog, "AccessLogAlreadyAnchored")
      .withArgs(hospital.address, ROOT);
    expect(await updateLog.accessLogAnchorOf(hospital.address, ROOT)).to.deep.equal(before);
  });

  it("refuses accounts that are not accredited custodians: sources, patients, de-accredited hospitals", async () => {
    const f = await loadFixture(twoTwinsFixture);
    for (const account of [f.emr, f.patient, f.stranger]) {
      await expect(f.updateLog.connect(account).anchorAccessLog(ROOT, 0, 1))
        .to.be.revertedWithCustomError(f.updateLog, "NotCustodian")
        .withArgs(account.address);
    }
    await f.registry.connect(f.governance).revokeRole(await f.registry.CUSTODIAN_ROLE(), f.hospital.address);
    await expect(f.updateLog.connect(f.hospital).anchorAccessLog(ROOT, 0, 1))
      .to.be.revertedWithCustomError(f.updateLog, "NotCustodian")
      .withArgs(f.hospital.address);
  });

  it("anchoring costs at most 60,000 gas", async function () {
    if (COVERAGE) this.skip();
    const { updateLog, hospital } = await loadFixture(twoTwinsFixture);
    expect(await gasUsed(updateLog.connect(hospital).anchorAccessLog(ROOT, 0, 99))).to.be.lessThanOrEqual(60_000n);
  });
});
