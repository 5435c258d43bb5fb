import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import fc from "fast-check";
import hre, { ethers } from "hardhat";
import {
  MAX_CID_LENGTH,
  ZERO_HEAD,
  batchAnchorOf,
  buildReadingTree,
  nextHead,
  proveReading,
  type Reading,
  type ReadingTree,
} from "../../src/chain/anchors";
import { ALL_CATEGORIES, DataCategory, SourceKind } from "../../src/vocabulary";
import { TwinUpdateLog__factory } from "../../typechain-types";
import { METADATA, twinFixture } from "../fixtures";

/** solidity-coverage instruments the bytecode, so absolute gas figures only hold outside coverage. */
const COVERAGE = (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true;

const GAS_BUDGET = {
  recordUpdate: 45_000n,
  anchorBatch: 60_000n,
  deployment: 2_000_000n,
  codeSize: 24 * 1024,
};

/** A binary CIDv1 (raw codec, sha2-256): 0x01 0x55 0x12 0x20 followed by the 32-byte digest. */
function binaryCid(seed: string): string {
  return ethers.concat(["0x01551220", ethers.id(seed)]);
}

const OTHER_TWIN = ethers.id("twin:pseudonym:bob");
const UNKNOWN_TWIN = ethers.id("twin:pseudonym:nobody");

/** The twin fixture plus a second twin (owned by the guardian account) with its own device source. */
async function twoTwinsFixture() {
  const f = await twinFixture();
  const { registry, guardian, hospital2, clinician } = f;
  await registry.connect(guardian).createTwin(OTHER_TWIN, METADATA, hospital2.address);
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

async function anchorTree(f: Fixture, tree: ReadingTree, twinId = f.twinId, source = f.wearable) {
  const { merkleRoot, count, from, to } = batchAnchorOf(tree);
  return f.updateLog.connect(source).anchorBatch(twinId, merkleRoot, count, from, to);
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
      const { updateLog, twinId } = await loadFixture(twinFixture);
      const head = await updateLog.logHeadOf(twinId);
      expect(head.sequence).to.equal(0n);
      expect(head.head).to.equal(ZERO_HEAD);
      const batch = await updateLog.batchOf(twinId, ethers.id("root"));
      expect([batch.count, batch.from, batch.to, batch.anchoredAt]).to.deep.equal([0n, 0n, 0n, 0n]);
      const state = await updateLog.twinStateOf(twinId);
      expect(state.version).to.equal(0n);
      expect(state.stateRoot).to.equal(ethers.ZeroHash);
    });

    it("deploys within 2,000,000 gas and 24 KiB", async function () {
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

  describe("anchorBatch", () => {
    it("anchors a batch: the event, and one slot with count, range and anchoring time", async () => {
      const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
      const now = await time.latest();
      const root = ethers.id("root");
      const at = now + 10;
      await time.setNextBlockTimestamp(at);
      await expect(updateLog.connect(wearable).anchorBatch(twinId, root, 120, now - 3600, now))
        .to.emit(updateLog, "BatchAnchored")
        .withArgs(twinId, root, wearable.address, 120, now - 3600, now);
      const batch = await updateLog.batchOf(twinId, root);
      expect([batch.count, batch.from, batch.to, batch.anchoredAt]).to.deep.equal([
        120n,
        BigInt(now - 3600),
        BigInt(now),
        BigInt(at),
      ]);
    });

    it("takes the extreme values of every field", async () => {
      const MAX_ROOT = ethers.toBeHex(ethers.MaxUint256, 32);
      const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
      const at = (await time.latest()) + 5;
      await time.setNextBlockTimestamp(at);
      // from = to = the block time, the largest count: the packing keeps each field apart.
      await updateLog.connect(wearable).anchorBatch(twinId, MAX_ROOT, 2 ** 32 - 1, at, at);
      const batch = await updateLog.batchOf(twinId, MAX_ROOT);
      expect([batch.count, batch.from, batch.to, batch.anchoredAt]).to.deep.equal([
        2n ** 32n - 1n,
        BigInt(at),
        BigInt(at),
        BigInt(at),
      ]);
      await updateLog.connect(wearable).anchorBatch(twinId, ethers.id("zero"), 1, 0, 0);
      const first = await updateLog.batchOf(twinId, ethers.id("zero"));
      expect([first.count, first.from, first.to]).to.deep.equal([1n, 0n, 0n]);
    });

    it("lets the same root be anchored once per twin", async () => {
      const { updateLog, wearable, otherSource, twinId, otherTwinId } = await loadFixture(twoTwinsFixture);
      const now = await time.latest();
      const root = ethers.id("root");
      await updateLog.connect(wearable).anchorBatch(twinId, root, 10, now - 10, now);
      await expect(updateLog.connect(wearable).anchorBatch(twinId, root, 11, now - 9, now))
        .to.be.revertedWithCustomError(updateLog, "BatchAlreadyAnchored")
        .withArgs(twinId, root);
      expect((await updateLog.batchOf(twinId, root)).count).to.equal(10n);
      await expect(updateLog.connect(otherSource).anchorBatch(otherTwinId, root, 12, now - 8, now))
        .to.emit(updateLog, "BatchAnchored")
        .withArgs(otherTwinId, root, otherSource.address, 12, now - 8, now);
    });

    describe("refuses malformed arguments", () => {
      it("EmptyHash for a zero root", async () => {
        const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
        const now = await time.latest();
        await expect(
          updateLog.connect(wearable).anchorBatch(twinId, ethers.ZeroHash, 1, now, now),
        ).to.be.revertedWithCustomError(updateLog, "EmptyHash");
      });

      it("EmptyBatch for a zero count", async () => {
        const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
        const now = await time.latest();
        await expect(
          updateLog.connect(wearable).anchorBatch(twinId, ethers.id("root"), 0, now, now),
        ).to.be.revertedWithCustomError(updateLog, "EmptyBatch");
      });

      it("InvalidBatchRange(from, to) for a range that ends before it starts", async () => {
        const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
        const now = await time.latest();
        await expect(updateLog.connect(wearable).anchorBatch(twinId, ethers.id("root"), 2, now, now - 1))
          .to.be.revertedWithCustomError(updateLog, "InvalidBatchRange")
          .withArgs(now, now - 1);
      });

      it("InvalidBatchRange(from, to) for a range that ends after the block", async () => {
        const { updateLog, wearable, twinId } = await loadFixture(twoTwinsFixture);
        const at = (await time.latest()) + 100;
        await time.setNextBlockTimestamp(at);
        await expect(updateLog.connect(wearable).anchorBatch(twinId, ethers.id("root"), 2, at - 10, at + 1))
          .to.be.revertedWithCustomError(updateLog, "InvalidBatchRange")
          .withArgs(at - 10, at + 1);
      });
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
          const now = await time.latest();
          const root = ethers.id("root");
          await expect(f.updateLog.connect(signer).anchorBatch(f.twinId, root, 1, now, now))
            .to.be.revertedWithCustomError(f.updateLog, "SourceNotAuthorized")
            .withArgs(f.twinId, signer.address, DataCategory.WEARABLE_STREAMS);
          expect((await f.updateLog.batchOf(f.twinId, root)).anchoredAt).to.equal(0n);
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
        it(`TwinNotActive for ${name}, and nothing changes`, async () => {
          const f = await loadFixture(twoTwinsFixture);
          const twinId = await setup(f);
          const now = await time.latest();
          const root = ethers.id("root");
          await expect(f.updateLog.connect(f.wearable).anchorBatch(twinId, root, 1, now, now))
            .to.be.revertedWithCustomError(f.updateLog, "TwinNotActive")
            .withArgs(twinId);
          expect((await f.updateLog.batchOf(twinId, root)).anchoredAt).to.equal(0n);
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

    it("rejects a wrong proof, a wrong timestamp, a wrong hash, an unknown root and another twin's root", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const { updateLog, twinId, otherTwinId } = f;
      const readings = readingsOf(16, (await time.latest()) - 100);
      const tree = buildReadingTree(readings);
      await anchorTree(f, tree);
      const [a, b] = readings;
      const proofA = proveReading(tree, a.readingHash, a.timestamp);
      const proofB = proveReading(tree, b.readingHash, b.timestamp);
      expect(await updateLog.verifyReading(twinId, tree.root, a.readingHash, a.timestamp, proofA)).to.equal(true);
      // Another reading's proof.
      expect(await updateLog.verifyReading(twinId, tree.root, a.readingHash, a.timestamp, proofB)).to.equal(false);
      // A truncated proof, an empty one and a proof with one node flipped.
      expect(await updateLog.verifyReading(twinId, tree.root, a.readingHash, a.timestamp, proofA.slice(1))).to.equal(
        false,
      );
      expect(await updateLog.verifyReading(twinId, tree.root, a.readingHash, a.timestamp, [])).to.equal(false);
      const flipped = [ethers.toBeHex(BigInt(proofA[0]) ^ 1n, 32), ...proofA.slice(1)];
      expect(await updateLog.verifyReading(twinId, tree.root, a.readingHash, a.timestamp, flipped)).to.equal(false);
      // The right hash at another time inside the range, another hash at the right time.
      expect(await updateLog.verifyReading(twinId, tree.root, a.readingHash, b.timestamp, proofA)).to.equal(false);
      expect(await updateLog.verifyReading(twinId, tree.root, b.readingHash, a.timestamp, proofA)).to.equal(false);
      // A root never anchored, and this twin's root asked of another twin.
      expect(await updateLog.verifyReading(twinId, ethers.id("nope"), a.readingHash, a.timestamp, proofA)).to.equal(
        false,
      );
      expect(await updateLog.verifyReading(otherTwinId, tree.root, a.readingHash, a.timestamp, proofA)).to.equal(false);
    });

    it("rejects a proven reading whose time lies outside the anchored range", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const start = (await time.latest()) - 100;
      const readings = readingsOf(3, start); // times start, start + 1, start + 2
      const tree = buildReadingTree(readings);
      // The source anchors the tree with a range that leaves out the first and the last reading.
      await f.updateLog.connect(f.wearable).anchorBatch(f.twinId, tree.root, 3, start + 1, start + 1);
      const verify = ({ readingHash, timestamp }: Reading) =>
        f.updateLog.verifyReading(
          f.twinId,
          tree.root,
          readingHash,
          timestamp,
          proveReading(tree, readingHash, timestamp),
        );
      expect(await verify(readings[0])).to.equal(false); // before `from`
      expect(await verify(readings[1])).to.equal(true);
      expect(await verify(readings[2])).to.equal(false); // after `to`
    });

    it("keeps verifying after the twin is erased: anchors outlive the twin", async () => {
      const f = await loadFixture(twoTwinsFixture);
      const readings = readingsOf(4, (await time.latest()) - 10);
      const tree = buildReadingTree(readings);
      await anchorTree(f, tree);
      await f.registry.connect(f.patient).eraseTwin(f.twinId);
      const { readingHash, timestamp } = readings[2];
      const proof = proveReading(tree, readingHash, timestamp);
      expect(await f.updateLog.verifyReading(f.twinId, tree.root, readingHash, timestamp, proof)).to.equal(true);
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
      await fc.assert(
        fc.asyncProperty(batches, async (readings) => {
          const tree = buildReadingTree(readings);
          const { merkleRoot } = batchAnchorOf(tree);
          if ((await f.updateLog.batchOf(f.twinId, merkleRoot)).anchoredAt === 0n) await anchorTree(f, tree);
          for (const { readingHash, timestamp } of readings) {
            const proof = proveReading(tree, readingHash, timestamp);
            expect(await f.updateLog.verifyReading(f.twinId, merkleRoot, readingHash, timestamp, proof)).to.equal(true);
          }
        }),
        { numRuns: 25 },
      );
    });
  });

  describe("commitTwinState", () => {
    it("commits a version with its roots, block and time, and the event", async () => {
      const { updateLog, hospital, twinId } = await loadFixture(twoTwinsFixture);
      const stateRoot = ethers.id("state:1");
      const sourcesRoot = ethers.id("sources:1");
      const at = (await time.latest()) + 7;
      await time.setNextBlockTimestamp(at);
      const tx = updateLog.connect(hospital).commitTwinState(twinId, stateRoot, sourcesRoot, 1);
      await expect(tx)
        .to.emit(updateLog, "TwinStateCommitted")
        .withArgs(twinId, 1n, hospital.address, stateRoot, sourcesRoot);
      const receipt = await (await tx).wait();
      const state = await updateLog.twinStateOf(twinId);
      expect(state.stateRoot).to.equal(stateRoot);
      expect(state.sourcesRoot).to.equal(sourcesRoot);
      expect(state.version).to.equal(1n);
      expect(state.blockNumber).to.equal(BigInt(receipt!.blockNumber));
      expect(state.timestamp).to.equal(BigInt(at));
    });

    it("takes any strictly greater version and refuses a stale one with StaleVersion(version, current)", async () => {
      const { updateLog, hospital, twinId } = await loadFixture(twoTwinsFixture);
      const commit = (version: bigint | number) =>
        updateLog
          .connect(hospital)
          .commitTwinState(twinId, ethers.id(`s${version}`), ethers.id(`r${version}`), version);
      await expect(commit(0)).to.be.revertedWithCustomError(updateLog, "StaleVersion").withArgs(0n, 0n);
      await commit(5);
      await expect(commit(5)).to.be.revertedWithCustomError(updateLog, "StaleVersion").withArgs(5n, 5n);
      await expect(commit(3)).to.be.revertedWithCustomError(updateLog, "StaleVersion").withArgs(3n, 5n);
      await commit(6);
      await commit(2n ** 64n - 1n);
      expect((await updateLog.twinStateOf(twinId)).version).to.equal(2n ** 64n - 1n);
      expect((await updateLog.twinStateOf(twinId)).stateRoot).to.equal(ethers.id(`s${2n ** 64n - 1n}`));
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
        await f.updateLog.connect(f.hospital).commitTwinState(f.twinId, ethers.id("s1"), ethers.id("r1"), 1);
        const before = await f.updateLog.twinStateOf(f.twinId);
        const signer = await setup(f);
        await expect(f.updateLog.connect(signer).commitTwinState(f.twinId, ethers.id("s2"), ethers.id("r2"), 2))
          .to.be.revertedWithCustomError(f.updateLog, "NotTwinCustodian")
          .withArgs(f.twinId, signer.address);
        expect(await f.updateLog.twinStateOf(f.twinId)).to.deep.equal(before);
      });
    }

    it("lets the new custodian continue the versions after a change of custodian", async () => {
      const { updateLog, registry, patient, hospital, hospital2, twinId } = await loadFixture(twoTwinsFixture);
      await updateLog.connect(hospital).commitTwinState(twinId, ethers.id("s1"), ethers.id("r1"), 1);
      await registry.connect(patient).changeCustodian(twinId, hospital2.address);
      await expect(updateLog.connect(hospital2).commitTwinState(twinId, ethers.id("s1"), ethers.id("r1"), 1))
        .to.be.revertedWithCustomError(updateLog, "StaleVersion")
        .withArgs(1n, 1n);
      await expect(updateLog.connect(hospital2).commitTwinState(twinId, ethers.id("s2"), ethers.id("r2"), 2))
        .to.emit(updateLog, "TwinStateCommitted")
        .withArgs(twinId, 2n, hospital2.address, ethers.id("s2"), ethers.id("r2"));
    });

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
      it(`TwinNotActive for ${name}, even for its custodian, and nothing changes`, async () => {
        const f = await loadFixture(twoTwinsFixture);
        await f.updateLog.connect(f.hospital).commitTwinState(f.twinId, ethers.id("s1"), ethers.id("r1"), 1);
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
        // What the contract spends, without the calldata bytes (the root's and count's bytes differ).
        execution.push(receipt!.gasUsed - intrinsicGas(tx.data));
      }
      expect(execution[1]).to.equal(execution[0]);
      const difference = total[1] > total[0] ? total[1] - total[0] : total[0] - total[1];
      expect(difference).to.be.lessThanOrEqual(200n); // calldata bytes only
      for (const gas of total) expect(gas).to.be.lessThanOrEqual(GAS_BUDGET.anchorBatch);
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
