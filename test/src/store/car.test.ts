import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { MemoryBlobStore, StoreError, cidOf, exportCar, importCar } from "../../../src/store";

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error("expected a rejection");
}

describe("store/car: a twin's blobs as a CAR file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "twinledger-car-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function storeOf(count: number): Promise<{ store: MemoryBlobStore; cids: string[]; blobs: Uint8Array[] }> {
    const store = new MemoryBlobStore();
    const blobs = Array.from({ length: count }, (_, i) => randomBytes(1 + i * 97));
    const cids: string[] = [];
    for (const blob of blobs) cids.push(await store.put(blob));
    return { store, cids, blobs };
  }

  it("round trip: export then import into an empty store gives the same blobs under the same ids", async () => {
    const { store, cids, blobs } = await storeOf(25);
    const path = join(dir, "twin.car");
    const exported = await exportCar(store, [...cids, cids[0]], path);
    expect(exported.blocks).to.equal(25); // duplicates written once
    expect(exported.bytes).to.equal(blobs.reduce((n, b) => n + b.length, 0));
    const target = new MemoryBlobStore();
    const imported = await importCar(path, target);
    expect(imported).to.deep.equal(cids);
    for (let i = 0; i < cids.length; i++) expect(Buffer.from(await target.get(cids[i]))).to.deep.equal(blobs[i]);
  });

  it("the file starts with a CAR v1 header naming every blob as a root (what `ipfs dag import` pins)", async () => {
    const { store, cids } = await storeOf(3);
    const path = join(dir, "twin.car");
    await exportCar(store, cids, path);
    const bytes = readFileSync(path);
    // varint header length, then dag-cbor {roots: [...], version: 1}: each root's CID bytes appear in the header.
    const headerLength = bytes[0];
    const header = bytes.subarray(1, 1 + headerLength);
    expect(header.includes(Buffer.from("version"))).to.equal(true);
    expect(header.includes(Buffer.from("roots"))).to.equal(true);
    const { CID } = await import("multiformats/cid");
    for (const cid of cids) expect(header.includes(Buffer.from(CID.parse(cid).bytes))).to.equal(true);
  });

  it("a tampered block is refused with CAR_INVALID and nothing is stored", async () => {
    const { store, cids } = await storeOf(4);
    const path = join(dir, "twin.car");
    await exportCar(store, cids, path);
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0xff; // inside the last block's data
    writeFileSync(path, bytes);
    const target = new MemoryBlobStore();
    const error = await rejection(importCar(path, target));
    expect(error.code).to.equal("CAR_INVALID");
    for (const cid of cids) expect(await target.has(cid)).to.equal(false);
  });

  it("a file that is not a CAR, or a block over the size limit, is refused with CAR_INVALID", async () => {
    const path = join(dir, "junk.car");
    writeFileSync(path, randomBytes(200));
    expect((await rejection(importCar(path, new MemoryBlobStore()))).code).to.equal("CAR_INVALID");
    const { store, cids } = await storeOf(3);
    const car = join(dir, "twin.car");
    await exportCar(store, cids, car);
    expect((await rejection(importCar(car, new MemoryBlobStore(), { maxBlockBytes: 50 }))).code).to.equal(
      "CAR_INVALID",
    );
  });

  it("a missing blob or a bad id fails the export and leaves no file behind", async () => {
    const { store, cids } = await storeOf(2);
    const path = join(dir, "twin.car");
    const missing = cidOf(randomBytes(10));
    expect((await rejection(exportCar(store, [...cids, missing], path))).code).to.equal("BLOB_NOT_FOUND");
    expect((await rejection(exportCar(store, ["not-a-cid"], path))).code).to.equal("CID_INVALID");
    expect(existsSync(path)).to.equal(false);
    expect(readdirSync(dir)).to.deep.equal([]);
  });
});
