import Database from "better-sqlite3";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SqlStoreError } from "./errors";
import { TwinLedgerError } from "../../errors";

/**
 * Opens a SQLite file for a store: WAL with `synchronous = NORMAL` (a commit is durable against a crash of the
 * process and costs no fsync; a power loss may lose the last commits, never corrupt the file), `secure_delete`
 * (overwritten and deleted content is zeroed, not left in free pages) and a busy timeout for other processes.
 *
 * A file path (not `:memory:`) gets its folder created 0700 when missing; an existing folder that group or others
 * may enter is refused (`<prefix>_FOLDER_OPEN`: a folder the store did not create is never chmod-ed, it may be
 * shared); the file is created 0600 before SQLite opens it (an existing one, and its -wal and -shm, are tightened
 * to 0600; SQLite gives new -wal and -shm files the database file's mode).
 */
export function openSqliteFile(path: string, prefix: string): Database.Database {
  if (path !== ":memory:" && !path.startsWith("file:")) protectFiles(path, prefix);
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (cause) {
    throw new SqlStoreError("STORE_OPEN", "the database file could not be opened", { cause });
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("secure_delete = ON");
    db.pragma("busy_timeout = 5000");
  } catch (cause) {
    db.close();
    throw new SqlStoreError("STORE_OPEN", "the database file could not be opened", { cause });
  }
  return db;
}

function protectFiles(path: string, prefix: string): void {
  const folder = dirname(resolve(path));
  if (!existsSync(folder)) mkdirSync(folder, { recursive: true, mode: 0o700 });
  else if ((statSync(folder).mode & 0o077) !== 0) {
    throw new TwinLedgerError(
      `${prefix}_FOLDER_OPEN`,
      "the database's folder is open to group or others: give it a folder of its own, mode 0700",
    );
  }
  closeSync(openSync(path, "a", 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}
