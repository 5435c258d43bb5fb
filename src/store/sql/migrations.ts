import type Database from "better-sqlite3";
import type { PoolClient } from "pg";
import { SqlStoreError } from "./errors";

/**
 * Versioned migrations, numbered per backend and per component (the access log, the pipeline's index, ...), recorded
 * in one `schema_migrations (component, version, name, applied_at)` table of the database. A database is brought to
 * the last version on open, each migration in its own transaction with its row; a database that holds a version
 * this code does not know is refused (STORE_VERSION) rather than written by older code.
 *
 * @dev PostgreSQL: the runner takes a transaction-scoped advisory lock first, so replicas that start together apply
 * each migration once (the others wait, then find it applied).
 */
export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  readonly up: (db: Database.Database) => void;
}

export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  readonly up: (client: PoolClient) => Promise<void>;
}

const SQLITE_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (component, version)
  )`;

const POSTGRES_TABLE = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    component  TEXT        NOT NULL,
    version    INTEGER     NOT NULL,
    name       TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
  )`;

/** Any key of `pg_advisory_xact_lock`, the same for every component: migrations run one at a time per database. */
const MIGRATION_LOCK = 0x7477_6e6c; // "twnl"

function checkList(migrations: readonly { version: number }[]): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new SqlStoreError("STORE_OPTIONS", `migration ${m.version} is out of order`);
  });
  return migrations.length;
}

function tooNew(component: string, applied: number, known: number): SqlStoreError {
  return new SqlStoreError(
    "STORE_VERSION",
    `the database has ${component} migration ${applied}, newer than the ${known} this code knows`,
  );
}

/** Applies the migrations of `component` not applied yet; returns the versions applied now. */
export function migrateSqlite(
  db: Database.Database,
  component: string,
  migrations: readonly SqliteMigration[],
): number[] {
  const known = checkList(migrations);
  db.exec(SQLITE_TABLE);
  const applied = new Set(
    (
      db.prepare("SELECT version FROM schema_migrations WHERE component = ?").all(component) as { version: number }[]
    ).map((r) => r.version),
  );
  const highest = Math.max(0, ...applied);
  if (highest > known) throw tooNew(component, highest, known);
  const record = db.prepare("INSERT INTO schema_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)");
  const done: number[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      migration.up(db);
      record.run(component, migration.version, migration.name, Date.now());
    }).immediate();
    done.push(migration.version);
  }
  return done;
}

/** Applies the migrations of `component` not applied yet, under the advisory lock; returns the versions applied now. */
export async function migratePostgres(
  client: PoolClient,
  component: string,
  migrations: readonly PostgresMigration[],
): Promise<number[]> {
  const known = checkList(migrations);
  const done: number[] = [];
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(POSTGRES_TABLE);
    const rows = await client.query<{ version: number }>("SELECT version FROM schema_migrations WHERE component = $1", [
      component,
    ]);
    const applied = new Set(rows.rows.map((r) => r.version));
    const highest = Math.max(0, ...applied);
    if (highest > known) throw tooNew(component, highest, known);
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await migration.up(client);
      await client.query("INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)", [
        component,
        migration.version,
        migration.name,
      ]);
      done.push(migration.version);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
  return done;
}
