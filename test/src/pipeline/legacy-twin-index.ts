/**
 * The file-based index writer of earlier versions (src/pipeline/twin-index.ts at 720ec3d, `TwinIndexFolder.save`
 * and `writeAtomic`, verbatim but for the names), kept to write old-format index folders that the migration test
 * opens with the current code.
 */
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { TwinIndex } from "../../../src/pipeline/twin-index";

const SEALED_TWIN_INDEX_FORMAT = "twinledger-pipeline-twin-sealed/1";
const SEALED_SUFFIX = ".twin";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();

export class LegacyTwinIndexFolder {
  readonly root: string;
  readonly #fsync: boolean;
  readonly #key: Uint8Array | undefined;

  constructor(root: string, options: { fsync?: boolean; key?: Uint8Array } = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
    this.#key = options.key;
  }

  /** Write a twin's index atomically (sealed when the folder has a key). */
  async save(index: TwinIndex): Promise<void> {
    if (this.#key === undefined) {
      const path = join(this.root, `${index.twinId.slice(2)}.json`);
      await writeAtomic(path, utf8.encode(JSON.stringify(index)), this.#fsync);
      return;
    }
    const name = createHmac("sha256", this.#key).update(index.twinId.toLowerCase()).digest("hex") + SEALED_SUFFIX;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(utf8.encode(SEALED_TWIN_INDEX_FORMAT));
    const body = Buffer.concat([cipher.update(JSON.stringify(index), "utf8"), cipher.final()]);
    await writeAtomic(join(this.root, name), Buffer.concat([nonce, body, cipher.getAuthTag()]), this.#fsync);
  }
}

async function writeAtomic(path: string, bytes: Uint8Array, fsync: boolean): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const handle = await open(temp, "wx", 0o600);
  try {
    try {
      await handle.writeFile(bytes);
      if (fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    throw new Error(`cannot write ${basename(path)}`, { cause });
  }
}
