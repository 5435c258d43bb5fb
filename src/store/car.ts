import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { CID } from "multiformats/cid";
import type { BlobStore } from "./blob-store";
import { parseCid, verifyBlob } from "./cid";
import { StoreError } from "./errors";
import { importEsm } from "../esm";

/**
 * A twin's blobs as a CAR file (Content-Addressable aRchive, v1), the format `ipfs dag import` reads: any IPFS node
 * can then pin them. Every blob is a `raw` block under the same content id the folder store gives it (src/store/
 * cid.ts), and every blob is a root, so an import pins each one. The folder store stays the default; this is the
 * way out to IPFS and back in.
 *
 * Blobs are ciphertext; a CAR holds nothing else (no twin id, no index, no names). Importing verifies every block
 * against its content id and refuses anything that is not a raw sha2-256 block (`CAR_INVALID`), before storing.
 */

/** What @ipld/car gives us (an ES module, loaded with a real `import()`). */
interface CarBlock {
  readonly cid: CID;
  readonly bytes: Uint8Array;
}
interface CarModule {
  CarWriter: {
    create(roots: CID[]): {
      writer: { put(block: CarBlock): Promise<void>; close(): Promise<void> };
      out: AsyncIterable<Uint8Array>;
    };
  };
  CarBlockIterator: {
    fromIterable(input: AsyncIterable<Uint8Array>): Promise<AsyncIterable<CarBlock> & { getRoots(): Promise<CID[]> }>;
  };
}
let car: Promise<CarModule> | undefined;
/** @ipld/car, an ES module, imported on first use (the web app bundles this module and never exports a CAR). */
function carModule(): Promise<CarModule> {
  car ??= importEsm<CarModule>("@ipld/car");
  return car;
}

export interface CarExport {
  readonly blocks: number;
  readonly bytes: number;
}

/**
 * Write the blobs under `cids` (each read and verified from `blobs`) to a CAR file at `path`, atomically (a
 * temporary file renamed into place). Duplicate ids are written once. Throws the store's errors for a missing or
 * tampered blob, and `CID_INVALID` for a bad id; nothing is left at `path` then.
 */
export async function exportCar(blobs: BlobStore, cids: readonly string[], path: string): Promise<CarExport> {
  const unique = [...new Set(cids)];
  const roots = unique.map((cid) => parseCid(cid));
  const { CarWriter } = await carModule();
  const { writer, out } = CarWriter.create(roots);
  const temporary = `${path}.${process.pid}.partial`;
  let bytes = 0;
  const feed = (async () => {
    try {
      for (let i = 0; i < unique.length; i++) {
        const data = await blobs.get(unique[i]);
        bytes += data.length;
        await writer.put({ cid: roots[i], bytes: data });
      }
    } finally {
      await writer.close();
    }
  })();
  try {
    await Promise.all([pipeline(Readable.from(out), createWriteStream(temporary, { mode: 0o600 })), feed]);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { blocks: unique.length, bytes };
}

export interface CarImportOptions {
  /** Largest block accepted, in bytes (default 64 MiB). */
  readonly maxBlockBytes?: number;
}

/**
 * Read a CAR file and store its blocks in `blobs`; returns their content ids in file order. Every block must be a
 * raw sha2-256 block whose bytes hash to its id, no larger than `maxBlockBytes`; the whole file is checked before
 * anything is stored, so a bad file changes nothing. Throws `CAR_INVALID`.
 */
export async function importCar(path: string, blobs: BlobStore, options: CarImportOptions = {}): Promise<string[]> {
  const maxBlockBytes = options.maxBlockBytes ?? 64 * 1024 * 1024;
  const { CarBlockIterator } = await carModule();
  const checked: CarBlock[] = [];
  try {
    const blocks = await CarBlockIterator.fromIterable(createReadStream(path));
    let index = 0;
    for await (const block of blocks) {
      const id = block.cid.toString();
      try {
        parseCid(id);
        if (block.bytes.length > maxBlockBytes) throw new Error(`larger than ${maxBlockBytes} bytes`);
        verifyBlob(id, block.bytes);
      } catch (cause) {
        throw new StoreError("CAR_INVALID", `block ${index} of the CAR file is not a valid blob`, { cause });
      }
      checked.push(block);
      index++;
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError("CAR_INVALID", "not a readable CAR v1 file", { cause: error });
  }
  const stored: string[] = [];
  for (const block of checked) stored.push(await blobs.put(block.bytes));
  return stored;
}
