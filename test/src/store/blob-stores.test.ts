import { expect } from "chai";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cidOf, LocalFolderBlobStore, MemoryBlobStore, type BlobStore } from "../../../src/store";
import { expectRejectCode, sameBytes } from "../crypto/expect-error";

const utf8 = (text: string) => new TextEncoder().encode(text);
const MISSING = cidOf(utf8("never stored"));

/** Behaviour every BlobStore shares. */
function shouldBehaveLikeBlobStore(make: () => Promise<BlobStore>): void {
  let store: BlobStore;
  beforeEach(async () => {
    store = await make();
  });

  it("stores bytes under their CIDv1 and gives them back", async () => {
    const bytes = utf8("encrypted envelope bytes");
    const cid = await store.put(bytes);
    expect(cid).to.equal(cidOf(bytes));
    expect(await store.has(cid)).to.equal(true);
    expect(sameBytes(await store.get(cid), bytes)).to.equal(true);
  });

  it("stores the empty blob under the known empty CID", async () => {
    const cid = await store.put(new Uint8Array(0));
    expect(cid).to.equal("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    expect((await store.get(cid)).length).to.equal(0);
  });

  it("is idempotent: the same bytes give the same id", async () => {
    const bytes = utf8("same");
    const [a, b] = await Promise.all([store.put(bytes), store.put(bytes)]);
    expect(a).to.equal(b);
    expect(await store.put(bytes)).to.equal(a);
    expect(sameBytes(await store.get(a), bytes)).to.equal(true);
  });

  it("keeps its own copy of the bytes", async () => {
    const bytes = utf8("mutable");
    const cid = await store.put(bytes);
    bytes[0] ^= 1;
    const read = await store.get(cid);
    read[1] ^= 1;
    expect(sameBytes(await store.get(cid), utf8("mutable"))).to.equal(true);
  });

  it("reports an unknown id with BLOB_NOT_FOUND", async () => {
    expect(await store.has(MISSING)).to.equal(false);
    await expectRejectCode(store.get(MISSING), "BLOB_NOT_FOUND");
  });

  it("rejects a malformed id with CID_INVALID", async () => {
    for (const bad of ["", "not-a-cid", "../escape", "QmPZ9gcCEpqKTo6aq61g2nXGUhM4iCL3ewB6LDXZCtioEB"]) {
      await expectRejectCode(store.get(bad), "CID_INVALID");
      await expectRejectCode(store.has(bad), "CID_INVALID");
      if (store.delete) await expectRejectCode(store.delete(bad), "CID_INVALID");
    }
  });

  it("deletes blobs", async () => {
    const cid = await store.put(utf8("to delete"));
    expect(await store.delete!(cid)).to.equal(true);
    expect(await store.has(cid)).to.equal(false);
    expect(await store.delete!(cid)).to.equal(false);
    await expectRejectCode(store.get(cid), "BLOB_NOT_FOUND");
  });
}

describe("store/blob-stores", () => {
  describe("MemoryBlobStore", () => {
    shouldBehaveLikeBlobStore(async () => new MemoryBlobStore());
  });

  describe("LocalFolderBlobStore", () => {
    let root: string;
    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), "twinledger-blobs-"));
    });
    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    shouldBehaveLikeBlobStore(async () => new LocalFolderBlobStore(root, { fsync: false }));

    describe("every blob through putMany (one pack each)", () => {
      /** The same store, its `put` writing a pack of one blob: the contract holds for packed blobs. */
      class PackingBlobStore extends LocalFolderBlobStore {
        override async put(bytes: Uint8Array): Promise<string> {
          const [cid] = await this.putMany([bytes]);
          return cid;
        }
      }
      shouldBehaveLikeBlobStore(async () => new PackingBlobStore(root, { fsync: false }));
    });

    it("shards files by the CID characters after the constant prefix", async () => {
      const store = new LocalFolderBlobStore(root);
      const cid = await store.put(utf8("hello"));
      expect(store.pathOf(cid)).to.equal(join(root, "bm", cid));
      expect((await stat(store.pathOf(cid))).isFile()).to.equal(true);
      expect(await readdir(root)).to.deep.equal(["bm"]);
    });

    it("writes atomically and leaves no temporary files", async () => {
      const store = new LocalFolderBlobStore(root);
      const cids = await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(utf8(`blob ${i % 10}`))));
      const shards = await readdir(root);
      const files = (await Promise.all(shards.map((s) => readdir(join(root, s))))).flat();
      expect(files.filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);
      expect(new Set(files)).to.deep.equal(new Set(cids));
    });

    it("persists across instances on the same folder", async () => {
      const cid = await new LocalFolderBlobStore(root).put(utf8("durable"));
      expect(sameBytes(await new LocalFolderBlobStore(root).get(cid), utf8("durable"))).to.equal(true);
    });

    it("detects and refuses a tampered, truncated or swapped file with BLOB_TAMPERED", async () => {
      const store = new LocalFolderBlobStore(root, { fsync: false });
      const cid = await store.put(utf8("original ciphertext"));
      const other = await store.put(utf8("another blob"));
      const path = store.pathOf(cid);

      const bytes = await readFile(path);
      bytes[3] ^= 0x01;
      await writeFile(path, bytes);
      const error = await expectRejectCode(store.get(cid), "BLOB_TAMPERED");
      expect(error.message).to.include(cid);

      await writeFile(path, utf8("original ciphertex"));
      await expectRejectCode(store.get(cid), "BLOB_TAMPERED");

      await writeFile(path, await readFile(store.pathOf(other)));
      await expectRejectCode(store.get(cid), "BLOB_TAMPERED");

      // putting the true bytes again repairs the file
      await store.put(utf8("original ciphertext"));
      expect(sameBytes(await store.get(cid), utf8("original ciphertext"))).to.equal(true);
      expect(dirname(path)).to.equal(join(root, cid.slice(7, 9)));
    });
  });
});
