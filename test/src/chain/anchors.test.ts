import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ethers } from "hardhat";
import { twinIdOf } from "../../../src/chain/twin-id";
import fc from "fast-check";
import {
  AnchorError,
  HEAD_ENCODING,
  MAX_CID_LENGTH,
  READING_LEAF_ENCODING,
  ZERO_HEAD,
  RECORD_LEAF_ENCODING,
  batchAnchorOf,
  buildReadingTree,
  buildRecordTree,
  cidHashOf,
  loadReadingTree,
  loadRecordTree,
  nextHead,
  nextRecordsHead,
  proveReading,
  proveAllRecords,
  proveRecord,
  readingLeaf,
  recordLeaf,
  recordsAnchorOf,
  verifyReadingProof,
  verifyRecordProof,
  verifyUpdateChain,
  type AnchorErrorCode,
  type LogEntryLike,
  type RecordInput,
  type RecordsAnchoredLike,
  type UpdateRecordedLike,
} from "../../../src/chain/anchors";
import { TwinLedgerError } from "../../../src/errors";
import { ALL_CATEGORIES, DataCategory, SourceKind } from "../../../src/vocabulary";
import { METADATA, twinFixture } from "../../fixtures";

function expectAnchorError(fn: () => unknown, code: AnchorErrorCode): void {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(AnchorError);
    expect(error).to.be.instanceOf(TwinLedgerError);
    expect((error as AnchorError).code).to.equal(code);
    return;
  }
  expect.fail(`expected an AnchorError ${code}`);
}

const TWIN = ethers.id("twin");
const SOURCE = "0x00000000000000000000000000000000000000a1";
const HASH = ethers.id("blob");
const CID = ethers.concat(["0x01551220", ethers.id("cid")]);

describe("src/chain/anchors", () => {
  describe("nextHead", () => {
    it("hashes the seven words of the NatSpec layout, head left-aligned, and keeps the first 24 bytes", () => {
      const previous = `0x${"ab".repeat(24)}`;
      // Laid out by hand, independently of the ABI coder: bytes24 is padded on the right, the numbers and the
      // address on the left.
      const words = ethers.concat([
        ethers.zeroPadBytes(previous, 32),
        TWIN,
        ethers.zeroPadValue(ethers.toBeHex(7), 32),
        ethers.zeroPadValue(SOURCE, 32),
        ethers.zeroPadValue(ethers.toBeHex(DataCategory.LABS), 32),
        HASH,
        ethers.keccak256(CID),
      ]);
      expect(ethers.dataLength(words)).to.equal(7 * 32);
      const expected = ethers.dataSlice(ethers.keccak256(words), 0, 24);
      expect(nextHead(previous, TWIN, 7, SOURCE, DataCategory.LABS, HASH, CID)).to.equal(expected);
      expect(HEAD_ENCODING).to.have.length(7);
    });

    it("gives the same head for bytes or hex, number or bigint, any address case", () => {
      const a = nextHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS, HASH, CID);
      const b = nextHead(
        ethers.getBytes(ZERO_HEAD),
        ethers.getBytes(TWIN),
        1n,
        ethers.getAddress(SOURCE),
        BigInt(DataCategory.LABS),
        ethers.getBytes(HASH),
        ethers.getBytes(CID),
      );
      expect(a).to.equal(b);
      expect(a).to.match(/^0x[0-9a-f]{48}$/);
    });

    it("changes with every input", () => {
      const base = nextHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS, HASH, CID);
      const variants = [
        nextHead(`0x${"00".repeat(23)}01`, TWIN, 1, SOURCE, DataCategory.LABS, HASH, CID),
        nextHead(ZERO_HEAD, ethers.id("other"), 1, SOURCE, DataCategory.LABS, HASH, CID),
        nextHead(ZERO_HEAD, TWIN, 2, SOURCE, DataCategory.LABS, HASH, CID),
        nextHead(ZERO_HEAD, TWIN, 1, "0x00000000000000000000000000000000000000a2", DataCategory.LABS, HASH, CID),
        nextHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.VITALS, HASH, CID),
        nextHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS, ethers.id("other"), CID),
        nextHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS, HASH, `${CID}00`),
      ];
      expect(new Set([base, ...variants]).size).to.equal(variants.length + 1);
    });

    const bad: [string, () => unknown][] = [
      ["a 23-byte previous head", () => nextHead(`0x${"00".repeat(23)}`, TWIN, 1, SOURCE, 1, HASH, CID)],
      ["a 32-byte previous head", () => nextHead(ethers.ZeroHash, TWIN, 1, SOURCE, 1, HASH, CID)],
      ["a 31-byte twin id", () => nextHead(ZERO_HEAD, ethers.dataSlice(TWIN, 1), 1, SOURCE, 1, HASH, CID)],
      ["a twin id that is not hex", () => nextHead(ZERO_HEAD, "twin", 1, SOURCE, 1, HASH, CID)],
      ["odd-length hex", () => nextHead(ZERO_HEAD, TWIN, 1, SOURCE, 1, `${HASH}0`, CID)],
      ["a negative sequence", () => nextHead(ZERO_HEAD, TWIN, -1, SOURCE, 1, HASH, CID)],
      ["a sequence over uint64", () => nextHead(ZERO_HEAD, TWIN, 2n ** 64n, SOURCE, 1, HASH, CID)],
      ["a fractional sequence", () => nextHead(ZERO_HEAD, TWIN, 1.5, SOURCE, 1, HASH, CID)],
      ["a category over uint32", () => nextHead(ZERO_HEAD, TWIN, 1, SOURCE, 2 ** 32, HASH, CID)],
      ["a malformed address", () => nextHead(ZERO_HEAD, TWIN, 1, "0x1234", 1, HASH, CID)],
      ["an empty cid", () => nextHead(ZERO_HEAD, TWIN, 1, SOURCE, 1, HASH, "0x")],
      ["a cid over MAX_CID_LENGTH", () => nextHead(ZERO_HEAD, TWIN, 1, SOURCE, 1, HASH, `0x${"01".repeat(97)}`)],
      ["a cid as a base32 string", () => nextHead(ZERO_HEAD, TWIN, 1, SOURCE, 1, HASH, "bafkreiabc")],
    ];
    for (const [name, fn] of bad) {
      it(`refuses ${name} with ANCHOR_INVALID_INPUT`, () => expectAnchorError(fn, "ANCHOR_INVALID_INPUT"));
    }

    it("takes a cid of exactly MAX_CID_LENGTH bytes", () => {
      expect(nextHead(ZERO_HEAD, TWIN, 1, SOURCE, 1, HASH, `0x${"01".repeat(MAX_CID_LENGTH)}`)).to.have.length(50);
    });
  });

  describe("verifyUpdateChain", () => {
    /** The guardian (hardhat account 7) owns the second twin; its id is derived from the guardian and a salt. */
    const OTHER_SALT = ethers.id("twin:pseudonym:bob");
    const OTHER_TWIN = twinIdOf("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955", OTHER_SALT);

    /** Six updates on the twin, interleaved with two on another twin, and the twin's events and head. */
    async function chainFixture() {
      const f = await twinFixture();
      const { registry, updateLog, emr, wearable, guardian, hospital, clinician, twinId } = f;
      await registry.connect(guardian).createTwin(OTHER_SALT, METADATA, hospital.address);
      await registry
        .connect(guardian)
        .authorizeSource(OTHER_TWIN, clinician.address, SourceKind.Lab, DataCategory.LABS);
      const writes = [
        { source: emr, category: DataCategory.CONDITIONS },
        { source: wearable, category: DataCategory.WEARABLE_STREAMS },
        { source: emr, category: DataCategory.LABS },
        { source: emr, category: DataCategory.MEDICATIONS },
        { source: wearable, category: DataCategory.WEARABLE_STREAMS },
        { source: emr, category: DataCategory.VITALS },
      ];
      for (const [i, { source, category }] of writes.entries()) {
        await updateLog
          .connect(source)
          .recordUpdate(twinId, category, ethers.id(`blob:${i}`), ethers.toBeHex(i + 1, 36));
        if (i % 3 === 0) {
          await updateLog.connect(clinician).recordUpdate(OTHER_TWIN, DataCategory.LABS, ethers.id(`o:${i}`), "0x0102");
        }
      }
      const events = (await updateLog.queryFilter(updateLog.filters.UpdateRecorded(twinId))).map((e) => e.args);
      const otherEvents = (await updateLog.queryFilter(updateLog.filters.UpdateRecorded(OTHER_TWIN))).map(
        (e) => e.args,
      );
      const head = await updateLog.logHeadOf(twinId);
      return { ...f, events, otherEvents, head };
    }

    /** A plain copy of an event's fields (typechain results are read-only). */
    function copy(event: UpdateRecordedLike): UpdateRecordedLike {
      const { twinId, sequence, source, category, contentHash, cid, head } = event;
      return { twinId, sequence, source, category, contentHash, cid, head };
    }

    it("accepts the events of a twin as queried, against logHeadOf", async () => {
      const { events, head } = await loadFixture(chainFixture);
      expect(events).to.have.length(6);
      expect(verifyUpdateChain(events, head)).to.deep.equal({ valid: true, sequence: 6n, head: head.head });
    });

    it("accepts an empty log against the zero head", () => {
      expect(verifyUpdateChain([], { sequence: 0n, head: ZERO_HEAD })).to.deep.equal({
        valid: true,
        sequence: 0n,
        head: ZERO_HEAD,
      });
    });

    it("continues from a checkpoint", async () => {
      const { events, head } = await loadFixture(chainFixture);
      const checkpoint = { sequence: events[2].sequence, head: events[2].head };
      expect(verifyUpdateChain(events.slice(3), head, checkpoint).valid).to.equal(true);
      // From the wrong checkpoint the first event no longer hashes to its head.
      const wrong = { sequence: events[2].sequence, head: events[1].head };
      expect(verifyUpdateChain(events.slice(3), head, wrong)).to.include({
        valid: false,
        fault: "HEAD_MISMATCH",
        index: 0,
      });
    });

    it("detects two reordered events", async () => {
      const { events, head } = await loadFixture(chainFixture);
      const reordered = [...events];
      [reordered[2], reordered[3]] = [reordered[3], reordered[2]];
      expect(verifyUpdateChain(reordered, head)).to.include({ valid: false, fault: "SEQUENCE_MISMATCH", index: 2 });
    });

    it("detects reordered events renumbered to hide it", async () => {
      const { events, head } = await loadFixture(chainFixture);
      const reordered = events.map(copy);
      [reordered[2], reordered[3]] = [
        { ...reordered[3], sequence: 3n },
        { ...reordered[2], sequence: 4n },
      ];
      expect(verifyUpdateChain(reordered, head)).to.include({ valid: false, fault: "HEAD_MISMATCH", index: 2 });
    });

    it("detects a dropped event in the middle, a repeated one, and one dropped at the end", async () => {
      const { events, head } = await loadFixture(chainFixture);
      const dropped = [...events.slice(0, 2), ...events.slice(3)];
      expect(verifyUpdateChain(dropped, head)).to.include({ valid: false, fault: "SEQUENCE_MISMATCH", index: 2 });
      const repeated = [...events.slice(0, 3), events[2], ...events.slice(3)];
      expect(verifyUpdateChain(repeated, head)).to.include({ valid: false, fault: "SEQUENCE_MISMATCH", index: 3 });
      const truncated = events.slice(0, 5);
      expect(verifyUpdateChain(truncated, head)).to.include({
        valid: false,
        fault: "EXPECTED_HEAD_MISMATCH",
        index: 5,
      });
    });

    const alterations: [string, (e: UpdateRecordedLike) => UpdateRecordedLike][] = [
      ["content hash", (e) => ({ ...e, contentHash: ethers.id("forged") })],
      ["cid", (e) => ({ ...e, cid: "0x0bad" })],
      ["category", (e) => ({ ...e, category: DataCategory.GENOMICS })],
      ["source", (e) => ({ ...e, source: "0x00000000000000000000000000000000000000a1" })],
      ["head", (e) => ({ ...e, head: `0x${"11".repeat(24)}` })],
    ];
    for (const [field, alter] of alterations) {
      it(`detects an altered ${field}`, async () => {
        const { events, head } = await loadFixture(chainFixture);
        const altered = events.map(copy);
        altered[4] = alter(altered[4]);
        expect(verifyUpdateChain(altered, head)).to.include({ valid: false, fault: "HEAD_MISMATCH", index: 4 });
      });
    }

    it("detects a rewritten history whose heads were all recomputed, at the on-chain head", async () => {
      const { events, head } = await loadFixture(chainFixture);
      const forged = events.map(copy);
      forged[1] = { ...forged[1], contentHash: ethers.id("forged") };
      let previous = ZERO_HEAD;
      for (const [i, e] of forged.entries()) {
        previous = nextHead(previous, e.twinId, e.sequence, e.source, e.category, e.contentHash, e.cid);
        forged[i] = { ...e, head: previous };
      }
      expect(verifyUpdateChain(forged, head)).to.include({ valid: false, fault: "EXPECTED_HEAD_MISMATCH", index: 6 });
      // At the same length, the message says the heads differ.
      const result = verifyUpdateChain(forged, head);
      expect(result.valid === false && result.message).to.match(/another head/);
    });

    it("detects another twin's event in the list", async () => {
      const { events, otherEvents, head } = await loadFixture(chainFixture);
      const mixed = [...events.slice(0, 3), otherEvents[0], ...events.slice(3)];
      expect(verifyUpdateChain(mixed, head)).to.include({ valid: false, fault: "TWIN_MISMATCH", index: 3 });
    });

    it("checks another twin's events against that twin's head only", async () => {
      const { updateLog, otherEvents, head } = await loadFixture(chainFixture);
      expect(verifyUpdateChain(otherEvents, await updateLog.logHeadOf(OTHER_TWIN)).valid).to.equal(true);
      expect(verifyUpdateChain(otherEvents, head)).to.include({ valid: false, fault: "EXPECTED_HEAD_MISMATCH" });
    });

    it("refuses a malformed expected head or checkpoint with ANCHOR_INVALID_INPUT", async () => {
      const { events, head } = await loadFixture(chainFixture);
      expectAnchorError(
        () => verifyUpdateChain(events, { sequence: 6n, head: ethers.ZeroHash }),
        "ANCHOR_INVALID_INPUT",
      );
      expectAnchorError(() => verifyUpdateChain(events, { sequence: -1, head: ZERO_HEAD }), "ANCHOR_INVALID_INPUT");
      expectAnchorError(() => verifyUpdateChain(events, head, { sequence: 0n, head: "0x00" }), "ANCHOR_INVALID_INPUT");
      expectAnchorError(
        () => verifyUpdateChain([{ ...copy(events[0]), twinId: "0x01" }], head),
        "ANCHOR_INVALID_INPUT",
      );
    });
  });

  describe("nextRecordsHead", () => {
    const ROOT = ethers.id("records-root");

    it("hashes the seven words of the NatSpec layout with the mask and a zero last word", () => {
      const previous = `0x${"cd".repeat(24)}`;
      const mask = DataCategory.LABS | DataCategory.VITALS;
      const words = ethers.concat([
        ethers.zeroPadBytes(previous, 32),
        TWIN,
        ethers.zeroPadValue(ethers.toBeHex(9), 32),
        ethers.zeroPadValue(SOURCE, 32),
        ethers.zeroPadValue(ethers.toBeHex(mask), 32),
        ROOT,
        ethers.ZeroHash,
      ]);
      const expected = ethers.dataSlice(ethers.keccak256(words), 0, 24);
      expect(nextRecordsHead(previous, TWIN, 9, SOURCE, mask, ROOT)).to.equal(expected);
      expect(
        nextRecordsHead(ethers.getBytes(previous), ethers.getBytes(TWIN), 9n, SOURCE, BigInt(mask), ROOT),
      ).to.equal(expected);
    });

    it("differs from an update step over the same words (the last word is keccak256(cid) there, never zero)", () => {
      expect(nextRecordsHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS, HASH)).to.not.equal(
        nextHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS, HASH, CID),
      );
    });

    it("changes with every input", () => {
      const base = nextRecordsHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS, ROOT);
      const variants = [
        nextRecordsHead(`0x${"00".repeat(23)}01`, TWIN, 1, SOURCE, DataCategory.LABS, ROOT),
        nextRecordsHead(ZERO_HEAD, ethers.id("other"), 1, SOURCE, DataCategory.LABS, ROOT),
        nextRecordsHead(ZERO_HEAD, TWIN, 2, SOURCE, DataCategory.LABS, ROOT),
        nextRecordsHead(ZERO_HEAD, TWIN, 1, "0x00000000000000000000000000000000000000a2", DataCategory.LABS, ROOT),
        nextRecordsHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS | DataCategory.VITALS, ROOT),
        nextRecordsHead(ZERO_HEAD, TWIN, 1, SOURCE, DataCategory.LABS, ethers.id("other")),
      ];
      expect(new Set([base, ...variants]).size).to.equal(variants.length + 1);
    });

    const bad: [string, () => unknown][] = [
      ["a 32-byte previous head", () => nextRecordsHead(ethers.ZeroHash, TWIN, 1, SOURCE, 1, ROOT)],
      ["a 31-byte root", () => nextRecordsHead(ZERO_HEAD, TWIN, 1, SOURCE, 1, ethers.dataSlice(ROOT, 1))],
      ["a sequence over uint64", () => nextRecordsHead(ZERO_HEAD, TWIN, 2n ** 64n, SOURCE, 1, ROOT)],
      ["a mask over uint32", () => nextRecordsHead(ZERO_HEAD, TWIN, 1, SOURCE, 2 ** 32, ROOT)],
      ["a malformed address", () => nextRecordsHead(ZERO_HEAD, TWIN, 1, "0x1234", 1, ROOT)],
    ];
    for (const [name, fn] of bad) {
      it(`refuses ${name} with ANCHOR_INVALID_INPUT`, () => expectAnchorError(fn, "ANCHOR_INVALID_INPUT"));
    }
  });

  describe("verifyUpdateChain over updates and record batches", () => {
    /** A chain of four entries built off chain: update, records, records, update. */
    function mixedChain(): { entries: LogEntryLike[]; head: string } {
      const entries: LogEntryLike[] = [];
      let head = ZERO_HEAD;
      const update = (sequence: number, category: number, seed: string): UpdateRecordedLike => {
        head = nextHead(head, TWIN, sequence, SOURCE, category, ethers.id(seed), CID);
        return { twinId: TWIN, sequence, source: SOURCE, category, contentHash: ethers.id(seed), cid: CID, head };
      };
      const records = (sequence: number, categories: number, seed: string): RecordsAnchoredLike => {
        head = nextRecordsHead(head, TWIN, sequence, SOURCE, categories, ethers.id(seed));
        return { twinId: TWIN, sequence, source: SOURCE, categories, recordsRoot: ethers.id(seed), head };
      };
      entries.push(update(1, DataCategory.LABS, "u1"));
      entries.push(records(2, DataCategory.LABS | DataCategory.VITALS, "b2"));
      entries.push(records(3, DataCategory.CONDITIONS, "b3"));
      entries.push(update(4, DataCategory.VITALS, "u4"));
      return { entries, head };
    }

    it("accepts a chain that mixes both kinds of entry", () => {
      const { entries, head } = mixedChain();
      expect(verifyUpdateChain(entries, { sequence: 4n, head })).to.deep.equal({ valid: true, sequence: 4n, head });
    });

    it("detects an altered record batch, a dropped one and a batch passed off as an update", () => {
      const { entries, head } = mixedChain();
      const expected = { sequence: 4n, head };
      const batch = entries[1] as RecordsAnchoredLike;
      for (const altered of [
        { ...batch, categories: DataCategory.LABS },
        { ...batch, recordsRoot: ethers.id("forged") },
        { ...batch, source: "0x00000000000000000000000000000000000000a2" },
      ]) {
        const verdict = verifyUpdateChain([entries[0], altered, ...entries.slice(2)], expected);
        expect(verdict).to.include({ valid: false, fault: "HEAD_MISMATCH", index: 1 });
      }
      expect(verifyUpdateChain([entries[0], ...entries.slice(2)], expected)).to.include({
        valid: false,
        fault: "SEQUENCE_MISMATCH",
        index: 1,
      });
      const disguised: UpdateRecordedLike = {
        twinId: TWIN,
        sequence: 2,
        source: SOURCE,
        category: batch.categories,
        contentHash: batch.recordsRoot,
        cid: CID,
        head: batch.head,
      };
      expect(verifyUpdateChain([entries[0], disguised, ...entries.slice(2)], expected)).to.include({
        valid: false,
        fault: "HEAD_MISMATCH",
        index: 1,
      });
    });
  });

  describe("record trees", () => {
    const categories = [DataCategory.CONDITIONS, DataCategory.LABS, DataCategory.VITALS, DataCategory.MEDICATIONS];
    const records: RecordInput[] = Array.from({ length: 22 }, (_, i) => ({
      category: categories[i % categories.length],
      contentHash: ethers.id(`record:${i}`),
      cid: ethers.concat(["0x01551220", ethers.id(`cid:${i}`)]),
    }));

    it("hashes leaves as the contract does: keccak256(keccak256(abi.encode(uint32, bytes32, keccak256(cid))))", () => {
      const tree = buildRecordTree(records);
      for (const { category, contentHash, cid } of records) {
        const cidHash = ethers.keccak256(cid);
        expect(cidHashOf(cid)).to.equal(cidHash);
        const byHand = ethers.keccak256(
          ethers.keccak256(ethers.concat([ethers.zeroPadValue(ethers.toBeHex(category), 32), contentHash, cidHash])),
        );
        expect(recordLeaf(category, contentHash, cidHash)).to.equal(byHand);
        expect(tree.leafHash([String(category), ethers.hexlify(contentHash), cidHash])).to.equal(byHand);
      }
      expect(RECORD_LEAF_ENCODING).to.deep.equal(["uint32", "bytes32", "bytes32"]);
    });

    it("is the StandardMerkleTree over (uint32, bytes32, bytes32), whatever the order of the records", () => {
      const tree = buildRecordTree(records);
      const reference = StandardMerkleTree.of(
        records.map((r) => [r.category, r.contentHash, ethers.keccak256(r.cid)]),
        ["uint32", "bytes32", "bytes32"],
      );
      expect(tree.root).to.equal(reference.root);
      expect(buildRecordTree([...records].reverse()).root).to.equal(tree.root);
      expect(tree.length).to.equal(records.length);
    });

    it("proves every record alone, and the proofs check off chain for that record only", () => {
      const tree = buildRecordTree(records);
      for (const record of records) {
        const proof = proveRecord(tree, record);
        const cidHash = cidHashOf(record.cid);
        expect(verifyRecordProof(tree.root, record.category, record.contentHash, cidHash, proof)).to.equal(true);
        expect(verifyRecordProof(tree.root, DataCategory.GENOMICS, record.contentHash, cidHash, proof)).to.equal(false);
        expect(verifyRecordProof(tree.root, record.category, ethers.id("x"), cidHash, proof)).to.equal(false);
        expect(verifyRecordProof(tree.root, record.category, record.contentHash, ethers.id("x"), proof)).to.equal(
          false,
        );
      }
      const single = buildRecordTree([records[0]]);
      expect(single.root).to.equal(recordLeaf(records[0].category, records[0].contentHash, cidHashOf(records[0].cid)));
      expect(proveRecord(single, records[0])).to.deep.equal([]);
    });

    it("summarizes a tree as the arguments of anchorRecords: the root and the OR of the categories", () => {
      const tree = buildRecordTree(records);
      expect(recordsAnchorOf(tree)).to.deep.equal({
        recordsRoot: tree.root,
        categories: DataCategory.CONDITIONS | DataCategory.LABS | DataCategory.VITALS | DataCategory.MEDICATIONS,
      });
      expect(recordsAnchorOf(buildRecordTree([records[1]])).categories).to.equal(DataCategory.LABS);
    });

    it("accepts bytes or hex, number or bigint for the same record", () => {
      const tree = buildRecordTree(records);
      const r = records[3];
      expect(
        proveRecord(tree, {
          category: BigInt(r.category),
          contentHash: ethers.getBytes(r.contentHash),
          cid: ethers.getBytes(r.cid),
        }),
      ).to.deep.equal(proveRecord(tree, r));
    });

    it("round-trips through dump and loadRecordTree", () => {
      const tree = buildRecordTree(records);
      const loaded = loadRecordTree(JSON.parse(JSON.stringify(tree.dump())));
      expect(loaded.root).to.equal(tree.root);
      expect(proveRecord(loaded, records[7])).to.deep.equal(proveRecord(tree, records[7]));
    });

    it("refuses to load another tree shape, a tampered tree or a leaf with an invalid category", () => {
      const dump = buildRecordTree(records).dump();
      expectAnchorError(
        () => loadRecordTree({ ...dump, leafEncoding: ["uint256", "bytes32", "bytes32"] }),
        "ANCHOR_INVALID_INPUT",
      );
      expectAnchorError(() => loadRecordTree({ ...dump, leafEncoding: ["uint32"] }), "ANCHOR_INVALID_INPUT");
      const tampered = { ...dump, tree: [ethers.id("forged"), ...dump.tree.slice(1)] };
      expectAnchorError(() => loadRecordTree(tampered), "ANCHOR_INVALID_INPUT");
      const twoBits = StandardMerkleTree.of(
        [[DataCategory.LABS | DataCategory.VITALS, ethers.id("a"), ethers.id("b")]],
        ["uint32", "bytes32", "bytes32"],
      );
      expectAnchorError(() => loadRecordTree(JSON.parse(JSON.stringify(twoBits.dump()))), "ANCHOR_INVALID_INPUT");
    });

    it("refuses an empty bundle, a repeated record and malformed records", () => {
      expectAnchorError(() => buildRecordTree([]), "ANCHOR_EMPTY_BATCH");
      expectAnchorError(
        () => buildRecordTree([records[0], records[1], { ...records[0], cid: ethers.getBytes(records[0].cid) }]),
        "ANCHOR_DUPLICATE_RECORD",
      );
      // The same blob under another category is another record.
      expect(buildRecordTree([records[0], { ...records[0], category: DataCategory.ALLERGIES }]).length).to.equal(2);
      const r = records[0];
      for (const bad of [
        { ...r, category: 0 },
        { ...r, category: DataCategory.LABS | DataCategory.VITALS },
        { ...r, category: ALL_CATEGORIES + 1 },
        { ...r, category: 2 ** 32 },
        { ...r, category: -1 },
        { ...r, contentHash: "0x1234" },
        { ...r, cid: "0x" },
        { ...r, cid: `0x${"01".repeat(MAX_CID_LENGTH + 1)}` },
        { ...r, cid: "bafkreiabc" },
      ]) {
        expectAnchorError(() => buildRecordTree([bad]), "ANCHOR_INVALID_INPUT");
      }
    });

    it("refuses a proof for a record not in the tree, and malformed roots and nodes off chain", () => {
      const tree = buildRecordTree(records);
      expectAnchorError(
        () => proveRecord(tree, { ...records[0], category: DataCategory.GENOMICS }),
        "ANCHOR_RECORD_NOT_FOUND",
      );
      expectAnchorError(() => proveRecord(tree, { ...records[0], cid: "0x01" }), "ANCHOR_RECORD_NOT_FOUND");
      const cidHash = cidHashOf(records[0].cid);
      const { category, contentHash } = records[0];
      expectAnchorError(
        () => verifyRecordProof(tree.root, category, contentHash, cidHash, ["0x12"]),
        "ANCHOR_INVALID_INPUT",
      );
      expectAnchorError(() => verifyRecordProof("0x12", category, contentHash, cidHash, []), "ANCHOR_INVALID_INPUT");
      expectAnchorError(() => verifyRecordProof(tree.root, 3, contentHash, cidHash, []), "ANCHOR_INVALID_INPUT");
    });

    it("property: verifyRecordProof agrees with StandardMerkleTree.verify, for true and altered proofs", () => {
      const record = fc.record({
        category: fc.integer({ min: 0, max: 12 }).map((bit) => 1 << bit),
        contentHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b)),
        cid: fc.uint8Array({ minLength: 1, maxLength: MAX_CID_LENGTH }).map((b) => ethers.hexlify(b)),
      });
      fc.assert(
        fc.property(
          fc.uniqueArray(record, {
            minLength: 1,
            maxLength: 40,
            selector: (r) => `${r.category}/${r.contentHash}/${r.cid}`,
          }),
          fc.nat(),
          fc.nat(),
          (rs, pick, flip) => {
            const tree = buildRecordTree(rs);
            const r = rs[pick % rs.length];
            const cidHash = cidHashOf(r.cid);
            const proof = proveRecord(tree, r);
            const altered = proof.length === 0 ? [ethers.ZeroHash] : [...proof];
            if (proof.length > 0) {
              const i = flip % proof.length;
              altered[i] = ethers.keccak256(altered[i]);
            }
            const standard = (p: string[]) =>
              StandardMerkleTree.verify(tree.root, [...RECORD_LEAF_ENCODING], [r.category, r.contentHash, cidHash], p);
            return (
              standard(proof) &&
              verifyRecordProof(tree.root, r.category, r.contentHash, cidHash, proof) &&
              verifyRecordProof(tree.root, r.category, r.contentHash, cidHash, altered) === standard(altered)
            );
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe("reading trees", () => {
    const T0 = 1_700_000_000;
    const readings = Array.from({ length: 9 }, (_, i) => ({
      readingHash: ethers.id(`reading:${i}`),
      timestamp: T0 + i,
    }));

    it("hashes leaves as the contract does: keccak256(keccak256(abi.encode(bytes32, uint64)))", () => {
      const tree = buildReadingTree(readings);
      for (const { readingHash, timestamp } of readings) {
        const byHand = ethers.keccak256(
          ethers.keccak256(ethers.concat([readingHash, ethers.zeroPadValue(ethers.toBeHex(timestamp), 32)])),
        );
        expect(readingLeaf(readingHash, timestamp)).to.equal(byHand);
        expect(tree.leafHash([readingHash, String(timestamp)])).to.equal(byHand);
      }
      expect(READING_LEAF_ENCODING).to.deep.equal(["bytes32", "uint64"]);
    });

    it("is the StandardMerkleTree over (bytes32, uint64), whatever the order of the readings", () => {
      const tree = buildReadingTree(readings);
      const reference = StandardMerkleTree.of(
        readings.map((r) => [r.readingHash, r.timestamp]),
        ["bytes32", "uint64"],
      );
      expect(tree.root).to.equal(reference.root);
      expect(buildReadingTree([...readings].reverse()).root).to.equal(tree.root);
      expect(tree.length).to.equal(readings.length);
    });

    it("proves every reading, and the proofs check off chain", () => {
      const tree = buildReadingTree(readings);
      for (const { readingHash, timestamp } of readings) {
        const proof = proveReading(tree, readingHash, timestamp);
        expect(verifyReadingProof(tree.root, readingHash, timestamp, proof)).to.equal(true);
        expect(verifyReadingProof(tree.root, readingHash, timestamp + 1, proof)).to.equal(false);
      }
      // A single reading: the root is its leaf and the proof is empty.
      const single = buildReadingTree([readings[0]]);
      expect(single.root).to.equal(readingLeaf(readings[0].readingHash, readings[0].timestamp));
      expect(proveReading(single, readings[0].readingHash, readings[0].timestamp)).to.deep.equal([]);
    });

    it("accepts bytes or hex, number or bigint for the same reading", () => {
      const tree = buildReadingTree(readings);
      const { readingHash, timestamp } = readings[3];
      expect(proveReading(tree, ethers.getBytes(readingHash), BigInt(timestamp))).to.deep.equal(
        proveReading(tree, readingHash.toUpperCase().replace("0X", "0x"), timestamp),
      );
    });

    it("summarizes a tree as the arguments of anchorBatch", () => {
      const shuffled = [readings[4], readings[8], readings[0], readings[5]];
      const tree = buildReadingTree(shuffled);
      expect(batchAnchorOf(tree)).to.deep.equal({ merkleRoot: tree.root, count: 4, from: T0, to: T0 + 8 });
    });

    it("round-trips through dump and loadReadingTree", () => {
      const tree = buildReadingTree(readings);
      const loaded = loadReadingTree(JSON.parse(JSON.stringify(tree.dump())));
      expect(loaded.root).to.equal(tree.root);
      const { readingHash, timestamp } = readings[5];
      expect(proveReading(loaded, readingHash, timestamp)).to.deep.equal(proveReading(tree, readingHash, timestamp));
    });

    it("refuses to load another tree shape or a tampered tree", () => {
      const dump = buildReadingTree(readings).dump();
      expectAnchorError(
        () => loadReadingTree({ ...dump, leafEncoding: ["bytes32", "uint256"] }),
        "ANCHOR_INVALID_INPUT",
      );
      expectAnchorError(() => loadReadingTree({ ...dump, leafEncoding: ["bytes32"] }), "ANCHOR_INVALID_INPUT");
      const tampered = { ...dump, tree: [ethers.id("forged"), ...dump.tree.slice(1)] };
      expectAnchorError(() => loadReadingTree(tampered), "ANCHOR_INVALID_INPUT");
    });

    it("refuses an empty batch, a repeated reading and malformed readings", () => {
      expectAnchorError(() => buildReadingTree([]), "ANCHOR_EMPTY_BATCH");
      expectAnchorError(
        () =>
          buildReadingTree([
            readings[0],
            readings[1],
            { ...readings[0], readingHash: readings[0].readingHash.toUpperCase().replace("0X", "0x") },
          ]),
        "ANCHOR_DUPLICATE_READING",
      );
      // The same hash at another time is another reading.
      expect(buildReadingTree([readings[0], { ...readings[0], timestamp: T0 + 100 }]).length).to.equal(2);
      for (const bad of [
        { readingHash: "0x1234", timestamp: T0 },
        { readingHash: "not hex", timestamp: T0 },
        { readingHash: "0x" + "zz".repeat(32), timestamp: T0 }, // the shape of a hash, not hex
        { readingHash: "0X" + "11".repeat(32), timestamp: T0 },
        { readingHash: "0x" + "1".repeat(65), timestamp: T0 },
        { readingHash: readings[0].readingHash, timestamp: -1 },
        { readingHash: readings[0].readingHash, timestamp: 2n ** 64n },
        { readingHash: readings[0].readingHash, timestamp: 1.5 },
        { readingHash: readings[0].readingHash, timestamp: Number.MAX_SAFE_INTEGER + 1 },
      ]) {
        expectAnchorError(() => buildReadingTree([bad]), "ANCHOR_INVALID_INPUT");
      }
    });

    it("accepts the largest uint64 time in a tree but will not summarize it for anchorBatch (uint40)", () => {
      const tree = buildReadingTree([{ readingHash: readings[0].readingHash, timestamp: 2n ** 64n - 1n }]);
      expectAnchorError(() => batchAnchorOf(tree), "ANCHOR_BATCH_RANGE");
      const edge = buildReadingTree([{ readingHash: readings[0].readingHash, timestamp: 2n ** 40n - 1n }]);
      expect(batchAnchorOf(edge).to).to.equal(2 ** 40 - 1);
    });

    it("refuses a proof for a reading not in the tree", () => {
      const tree = buildReadingTree(readings);
      expectAnchorError(() => proveReading(tree, ethers.id("absent"), T0), "ANCHOR_READING_NOT_FOUND");
      expectAnchorError(() => proveReading(tree, readings[0].readingHash, T0 + 1), "ANCHOR_READING_NOT_FOUND");
    });

    it("refuses malformed proof nodes and roots off chain", () => {
      const tree = buildReadingTree(readings);
      const { readingHash, timestamp } = readings[0];
      expectAnchorError(() => verifyReadingProof(tree.root, readingHash, timestamp, ["0x12"]), "ANCHOR_INVALID_INPUT");
      expectAnchorError(() => verifyReadingProof("0x12", readingHash, timestamp, []), "ANCHOR_INVALID_INPUT");
    });

    const reading = fc.record({
      readingHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b)),
      timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    });

    it("property: proofs verify off chain for their own reading and root only", () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(reading, { minLength: 2, maxLength: 30, selector: (r) => `${r.readingHash}/${r.timestamp}` }),
          (rs) => {
            const tree = buildReadingTree(rs);
            const [first, second] = rs;
            const proof = proveReading(tree, first.readingHash, first.timestamp);
            return (
              verifyReadingProof(tree.root, first.readingHash, first.timestamp, proof) &&
              !verifyReadingProof(tree.root, second.readingHash, second.timestamp, proof)
            );
          },
        ),
        { numRuns: 50 },
      );
    });

    it("property: verifyReadingProof agrees with StandardMerkleTree.verify, for true and altered proofs", () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(reading, { minLength: 1, maxLength: 40, selector: (r) => `${r.readingHash}/${r.timestamp}` }),
          fc.nat(),
          fc.nat(),
          (rs, pick, flip) => {
            const tree = buildReadingTree(rs);
            const r = rs[pick % rs.length];
            const proof = proveReading(tree, r.readingHash, r.timestamp);
            const altered = proof.length === 0 ? [ethers.ZeroHash] : [...proof];
            if (proof.length > 0) {
              const i = flip % proof.length;
              altered[i] = ethers.keccak256(altered[i]);
            }
            const standard = (p: string[]) =>
              StandardMerkleTree.verify(tree.root, ["bytes32", "uint64"], [r.readingHash, r.timestamp], p);
            return (
              verifyReadingProof(tree.root, r.readingHash, r.timestamp, proof) === standard(proof) &&
              standard(proof) &&
              verifyReadingProof(tree.root, r.readingHash, r.timestamp, altered) === standard(altered) &&
              verifyReadingProof(tree.root.toUpperCase().replace("0X", "0x"), r.readingHash, r.timestamp, proof)
            );
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});

describe("chain/anchors: proveAllRecords", () => {
  it("gives every record the proof proveRecord gives it, in the order the records were given", () => {
    for (const n of [1, 2, 3, 7, 22, 65]) {
      const records = Array.from({ length: n }, (_, i) => ({
        category: 1 << (i % 13),
        contentHash: ethers.id(`content:${n}:${i}`),
        cid: ethers.toUtf8Bytes(`cid:${n}:${i}`),
      }));
      const tree = buildRecordTree(records);
      expect(proveAllRecords(tree)).to.deep.equal(records.map((r) => proveRecord(tree, r)));
    }
  });
});
