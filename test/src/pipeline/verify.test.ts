import { expect } from "chai";
import { ethers } from "hardhat";
import { cidHashOf, proveReading } from "../../../src/chain/anchors";
import { contentHash } from "../../../src/crypto";
import {
  prepareBatch,
  recordsAnchorIn,
  recordTreeOf,
  verifyReadingAnchor,
  verifyRecordAnchor,
  verifyStateAnchor,
  type BatchAnchor,
  type ProvenReading,
  type ProvenRecord,
  type RecordsAnchor,
  type StateAnchor,
  type UpdateAnchor,
  type VerifyOptions,
  VerifiedAnchors,
} from "../../../src/pipeline";
import { cidOf, parseCid } from "../../../src/store";
import { DataCategory } from "../../../src/vocabulary";
import { cohortSmall, removeFolders, startService, type Service } from "./harness";

describe("pipeline/verify: a reader checks answers against the chain", function () {
  let service: Service;
  let records: readonly ProvenRecord[];
  let reading: ProvenReading & { anchor: BatchAnchor };
  let states: readonly StateAnchor[];
  let plainAccess: VerifyOptions;
  /** A record anchored by a v1 recordUpdate (as indexes written before record batches hold). */
  let update: UpdateAnchor;
  let updateEnvelope: Uint8Array;

  before(async () => {
    service = await startService({ batchPolicy: { maxReadings: 100, maxAgeMs: 60 * 60_000 } });
    const { pipeline, f } = service;
    const patient = (await cohortSmall()).patients[1];
    await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
    await pipeline.ingestWearable(f.twinId, patient.wearable, { deviceSigner: f.wearable });
    records = await pipeline.records(f.twinId, 0xffffffff);
    reading = (await pipeline.readings(f.twinId, {})).find((p) => p.anchor !== null) as typeof reading;
    states = pipeline.anchors(f.twinId).states;
    updateEnvelope = new TextEncoder().encode("envelope of a v1 update");
    const cid = cidOf(updateEnvelope);
    const receipt = (await (
      await f.updateLog
        .connect(f.emr)
        .recordUpdate(f.twinId, DataCategory.CONDITIONS, contentHash(updateEnvelope), parseCid(cid).bytes)
    ).wait())!;
    const sequence = String((await f.updateLog.logHeadOf(f.twinId)).sequence);
    update = {
      kind: "update",
      sequence,
      contentHash: contentHash(updateEnvelope),
      cid,
      blockNumber: receipt.blockNumber,
      transactionHash: receipt.hash,
    };
    // a reader needs only a provider and the log's address
    plainAccess = { runner: ethers.provider, address: await f.updateLog.getAddress(), twinId: f.twinId };
  });
  after(() => removeFolders(service?.folders));

  const variants: [string, () => VerifiedAnchors | undefined][] = [
    ["asking the chain each time", () => undefined],
    ["keeping the facts checked (VerifiedAnchors)", () => new VerifiedAnchors()],
  ];
  for (const [variant, cacheOf] of variants) {
    describe(variant, () => {
      let access: VerifyOptions;
      before(() => {
        const verified = cacheOf();
        access = { ...plainAccess, ...(verified !== undefined && { verified }) };
      });

      describe("record anchors", () => {
        it("accepts every record's anchor, with its envelope", async () => {
          for (const { anchor } of records.slice(0, 8)) {
            const envelope = await service.folders.blobs.get(anchor.cid);
            expect(await verifyRecordAnchor(anchor, { ...access, envelope })).to.deep.equal({
              valid: true,
              reason: null,
            });
          }
        });

        it("rejects a tampered proof, category, content hash, cid, source, root or sequence, and other envelopes", async () => {
          const [a, b] = records.map((p) => p.anchor as RecordsAnchor);
          expect(a.kind).to.equal("records");
          const envelope = await service.folders.blobs.get(a.cid);
          const reason = async (anchor: RecordsAnchor, extra: { envelope?: Uint8Array; twinId?: string } = {}) =>
            (await verifyRecordAnchor(anchor, { ...access, ...extra })).reason;
          const proof = [...a.proof];
          proof[0] = ethers.id("forged sibling");
          expect(await reason({ ...a, proof })).to.equal("PROOF_INVALID");
          expect(await reason({ ...a, proof: a.proof.slice(1) })).to.equal("PROOF_INVALID");
          const otherCategory = a.category === DataCategory.CONDITIONS ? DataCategory.LABS : DataCategory.CONDITIONS;
          expect(await reason({ ...a, category: otherCategory })).to.equal("PROOF_INVALID");
          expect(await reason({ ...a, contentHash: b.contentHash })).to.equal("PROOF_INVALID");
          expect(await reason({ ...a, cid: b.cid })).to.equal("PROOF_INVALID");
          expect(await reason({ ...a, recordsRoot: ethers.id("another root") })).to.equal("PROOF_INVALID");
          expect(await reason({ ...a, source: service.f.wearable.address })).to.equal("NOT_ANCHORED");
          expect(await reason(a, { twinId: ethers.id("another twin") })).to.equal("NOT_ANCHORED");
          expect(await reason({ ...a, sequence: "2" })).to.equal("SEQUENCE_MISMATCH");
          expect(await reason({ ...a, sequence: "-1" })).to.equal("MALFORMED_ANCHOR");
          expect(await reason({ ...a, cid: "not-a-cid" })).to.equal("MALFORMED_ANCHOR");
          expect(await reason({ ...a, source: "0x1234" })).to.equal("MALFORMED_ANCHOR");
          expect(await reason({ ...a, category: 3 })).to.equal("MALFORMED_ANCHOR");
          // a well-formed batch that was never anchored: the proof holds off chain, the chain says no
          const tree = recordTreeOf([a]);
          expect(await reason(recordsAnchorIn(tree, a, a))).to.equal("NOT_ANCHORED");
          const altered = Uint8Array.from(envelope);
          altered[20] ^= 1;
          expect(await reason(a, { envelope: altered })).to.equal("ENVELOPE_MISMATCH");
          expect(await reason(b, { envelope })).to.equal("ENVELOPE_MISMATCH");
        });

        it("agrees with verifyRecord on chain", async () => {
          const [a] = records.map((p) => p.anchor as RecordsAnchor);
          const { f } = service;
          const onChain = (anchor: RecordsAnchor) =>
            f.updateLog.verifyRecord(
              f.twinId,
              anchor.source,
              anchor.recordsRoot,
              anchor.category,
              anchor.contentHash,
              cidHashOfAnchor(anchor),
              [...anchor.proof],
            );
          expect(await onChain(a)).to.equal(true);
          expect(await onChain({ ...a, source: f.wearable.address })).to.equal(false);
          expect(await onChain({ ...a, category: DataCategory.IMAGING })).to.equal(false);
        });

        it("still verifies a record anchored by a v1 recordUpdate, and rejects it altered", async () => {
          const reason = async (anchor: UpdateAnchor, extra: { envelope?: Uint8Array; twinId?: string } = {}) =>
            (await verifyRecordAnchor(anchor, { ...access, ...extra })).reason;
          expect(await reason(update, { envelope: updateEnvelope })).to.equal(null);
          const b = records[0].anchor;
          expect(await reason({ ...update, contentHash: b.contentHash })).to.equal("CONTENT_HASH_MISMATCH");
          expect(await reason({ ...update, cid: b.cid })).to.equal("CID_MISMATCH");
          expect(await reason({ ...update, sequence: "1" })).to.equal("NO_EVENT"); // sequence 1 is a record batch
          expect(await reason({ ...update, sequence: "100000" })).to.equal("NO_EVENT");
          expect(await reason({ ...update, blockNumber: update.blockNumber + 1 })).to.equal("LOCATION_MISMATCH");
          expect(await reason(update, { twinId: ethers.id("another twin") })).to.equal("NO_EVENT");
          expect(await reason(update, { envelope: new TextEncoder().encode("other") })).to.equal("ENVELOPE_MISMATCH");
        });
      });

      describe("reading anchors", () => {
        it("accepts a reading with its salt and proof", async () => {
          expect(await verifyReadingAnchor(reading.reading, reading.anchor, access)).to.deep.equal({
            valid: true,
            reason: null,
          });
        });

        it("rejects an altered reading, salt, time, proof or an unanchored root", async () => {
          const { anchor } = reading;
          const reason = async (r: typeof reading.reading, a: BatchAnchor) =>
            (await verifyReadingAnchor(r, a, access)).reason;
          expect(await reason({ ...reading.reading, value: reading.reading.value + 1 }, anchor)).to.equal(
            "COMMITMENT_MISMATCH",
          );
          expect(await reason(reading.reading, { ...anchor, salt: "0x" + "00".repeat(32) })).to.equal(
            "COMMITMENT_MISMATCH",
          );
          expect(await reason(reading.reading, { ...anchor, timestamp: anchor.timestamp + 1 })).to.equal(
            "COMMITMENT_MISMATCH",
          );
          const proof = [...anchor.proof];
          proof[0] = ethers.id("forged sibling");
          expect(await reason(reading.reading, { ...anchor, proof })).to.equal("PROOF_INVALID");
          expect(await reason(reading.reading, { ...anchor, proof: ["0x12"] })).to.equal("MALFORMED_ANCHOR");
          // batches are keyed by source: the same root from another source is not anchored
          expect(await reason(reading.reading, { ...anchor, source: service.f.emr.address })).to.equal("NOT_ANCHORED");

          // a well-formed batch that was never anchored: the proof holds off chain, the chain says no
          const batch = prepareBatch(service.f.twinId, [reading.reading]);
          const local: BatchAnchor = {
            ...anchor,
            merkleRoot: batch.merkleRoot,
            readingHash: batch.readingHashes[0],
            salt: batch.readings[0].salt,
            proof: proveReading(batch.tree, batch.readingHashes[0], anchor.timestamp),
          };
          expect(await reason(reading.reading, local)).to.equal("NOT_ANCHORED");
        });
      });

      describe("state anchors", () => {
        it("accepts every committed version, the latest one against the version answered", async () => {
          expect(states.map((s) => s.version)).to.deep.equal([1, 2]);
          expect(states.map((s) => [s.epoch, s.chainVersion])).to.deep.equal([
            [1, 1],
            [1, 2],
          ]);
          for (const state of states) expect((await verifyStateAnchor(state, access)).valid).to.equal(true);
          const { version } = service.pipeline.version(service.f.twinId);
          expect((await verifyStateAnchor(states[1], { ...access, version })).valid).to.equal(true);
        });

        it("rejects altered roots, an uncommitted version and a version that is not the anchored one", async () => {
          const [first, latest] = states;
          const reason = async (anchor: StateAnchor) => (await verifyStateAnchor(anchor, access)).reason;
          expect(await reason({ ...latest, stateRoot: first.stateRoot })).to.equal("STATE_MISMATCH");
          expect(await reason({ ...latest, sourcesRoot: ethers.id("x") })).to.equal("STATE_MISMATCH");
          expect(await reason({ ...latest, chainVersion: 99 })).to.equal("NO_EVENT");
          expect(await reason({ ...latest, epoch: 2 })).to.equal("NO_EVENT");
          expect(await reason({ ...latest, transactionHash: first.transactionHash })).to.equal("LOCATION_MISMATCH");
          expect(await reason({ ...latest, version: 0 })).to.equal("MALFORMED_ANCHOR");
          expect(await reason({ ...latest, chainVersion: 0 })).to.equal("MALFORMED_ANCHOR");
          const { version } = service.pipeline.version(service.f.twinId);
          expect((await verifyStateAnchor(first, { ...access, version })).reason).to.equal("STATE_MISMATCH");
        });
      });
    });
  }

  describe("VerifiedAnchors", () => {
    /** The access with a runner that counts what it asks the node. */
    function counting(verified: VerifiedAnchors): { access: VerifyOptions; asked: () => number } {
      let asked = 0;
      const provider = new Proxy(ethers.provider, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if ((property === "call" || property === "getLogs") && typeof value === "function") {
            return (...args: unknown[]) => {
              asked += 1;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      return { access: { ...plainAccess, runner: provider, verified }, asked: () => asked };
    }

    it("asks the chain once per anchor, then checks off chain", async () => {
      const verified = new VerifiedAnchors();
      const { access, asked } = counting(verified);
      const [record] = records;
      const expectValid = async (p: Promise<{ valid: boolean }>) => expect((await p).valid).to.equal(true);
      await expectValid(verifyRecordAnchor(record.anchor, access));
      await expectValid(verifyReadingAnchor(reading.reading, reading.anchor, access));
      await expectValid(verifyStateAnchor(states[1], access));
      const first = asked();
      expect(first).to.be.greaterThan(0);
      expect(verified.size).to.equal(3);
      await expectValid(verifyRecordAnchor(record.anchor, access));
      await expectValid(verifyReadingAnchor(reading.reading, reading.anchor, access));
      await expectValid(verifyStateAnchor(states[1], access));
      expect(asked()).to.equal(first, "the second round is answered from the facts kept");
      verified.clear();
      expect(verified.size).to.equal(0);
      await expectValid(verifyRecordAnchor(record.anchor, access));
      expect(asked()).to.be.greaterThan(first);
    });

    it("keeps no negative answer", async () => {
      const verified = new VerifiedAnchors();
      const { access, asked } = counting(verified);
      const a = records[0].anchor as RecordsAnchor;
      const missing = recordsAnchorIn(recordTreeOf([a]), a, a);
      expect((await verifyRecordAnchor(missing, access)).reason).to.equal("NOT_ANCHORED");
      const before = asked();
      expect((await verifyRecordAnchor(missing, access)).reason).to.equal("NOT_ANCHORED");
      expect(asked()).to.be.greaterThan(before, "a failed check is asked again");
      expect(verified.size).to.equal(0);

      // A well-formed batch never anchored: refused off chain as on chain, and asked again next time.
      const batch = prepareBatch(service.f.twinId, [reading.reading]);
      const local: BatchAnchor = {
        ...reading.anchor,
        merkleRoot: batch.merkleRoot,
        readingHash: batch.readingHashes[0],
        salt: batch.readings[0].salt,
        proof: proveReading(batch.tree, batch.readingHashes[0], reading.anchor.timestamp),
      };
      expect((await verifyReadingAnchor(reading.reading, local, access)).reason).to.equal("NOT_ANCHORED");
      const asking = asked();
      expect((await verifyReadingAnchor(reading.reading, local, access)).reason).to.equal("NOT_ANCHORED");
      expect(asked()).to.be.greaterThan(asking);
      expect(verified.size).to.equal(0);
    });
  });
});

function cidHashOfAnchor(anchor: RecordsAnchor): string {
  return cidHashOf(parseCid(anchor.cid).bytes);
}
