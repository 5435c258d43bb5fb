import type Database from "better-sqlite3";
import { IndexerError } from "./errors";

/**
 * The indexer's SQLite schema, as numbered migrations.
 *
 * Conventions (the query layer relies on them):
 * - addresses are stored EIP-55 checksummed (as ethers decodes them); bytes32/bytes24/bytes values as lowercase
 *   0x-hex; the `cid` as the lowercase 0x-hex of the bytes the contract received;
 * - block numbers, log indexes, timestamps and the uint8..uint40 fields of the events are INTEGER (all below 2^53);
 * - uint64 and uint256 values (update sequence, state version, request id) are TEXT, zero-padded decimal
 *   (20 and 78 digits) so that they sort in numeric order; the query layer returns them as bigint;
 * - every row that comes from one log carries its `(block_number, log_index)`, which is unique across the chain;
 * - `events` holds one row per log of a followed contract: it is the idempotency guard (a log whose position is
 *   already there is skipped whole) and the audit timeline.
 *
 * Each component (the core, and each extension by its name) has its own row in `schema_version`; a migration
 * and the bump of its version run in one transaction.
 */
export const CORE_COMPONENT = "core";

/** The SQLite core migrations (see schema-postgres.ts for PostgreSQL's). */

export const CORE_MIGRATIONS: readonly string[] = [
  // 1: the whole first schema.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE checkpoint (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    block_number    INTEGER NOT NULL,
    block_hash      TEXT,
    block_timestamp INTEGER,
    updated_at      INTEGER NOT NULL
  );

  CREATE TABLE events (
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_hash      TEXT    NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    tx_index        INTEGER NOT NULL,
    contract        TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    name            TEXT,
    twin_id         TEXT,
    PRIMARY KEY (block_number, log_index)
  );
  CREATE INDEX events_by_twin ON events (twin_id, block_number, log_index);
  CREATE INDEX events_by_tx ON events (tx_hash, log_index);

  CREATE TABLE twins (
    twin_id             TEXT PRIMARY KEY,
    owner               TEXT    NOT NULL,
    custodian           TEXT    NOT NULL,
    status              INTEGER NOT NULL,
    metadata_commitment TEXT    NOT NULL,
    pending_owner       TEXT,
    created_block       INTEGER NOT NULL,
    created_log_index   INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    created_tx          TEXT    NOT NULL,
    updated_block       INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
  );
  CREATE INDEX twins_by_owner ON twins (owner);
  CREATE INDEX twins_by_custodian ON twins (custodian);

  -- Ownership, custodian, metadata and status changes of a twin, append-only.
  CREATE TABLE twin_history (
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    twin_id         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    previous        TEXT,
    next            TEXT,
    actor           TEXT,
    PRIMARY KEY (block_number, log_index)
  );
  CREATE INDEX twin_history_by_twin ON twin_history (twin_id, block_number, log_index);
  CREATE INDEX twin_history_by_next ON twin_history (next);

  CREATE TABLE sources (
    twin_id           TEXT    NOT NULL,
    source            TEXT    NOT NULL,
    kind              INTEGER NOT NULL,
    categories        INTEGER NOT NULL,
    authorized_block  INTEGER NOT NULL,
    authorized_log_index INTEGER NOT NULL,
    authorized_at     INTEGER NOT NULL,
    authorized_tx     TEXT    NOT NULL,
    removed_block     INTEGER,
    removed_at        INTEGER,
    PRIMARY KEY (twin_id, source)
  );
  CREATE INDEX sources_by_source ON sources (source);

  CREATE TABLE delegates (
    twin_id         TEXT    NOT NULL,
    delegate        TEXT    NOT NULL,
    appointed_block INTEGER NOT NULL,
    appointed_log_index INTEGER NOT NULL,
    appointed_at    INTEGER NOT NULL,
    appointed_tx    TEXT    NOT NULL,
    removed_block   INTEGER,
    removed_at      INTEGER,
    removed_by      TEXT,
    PRIMARY KEY (twin_id, delegate)
  );
  CREATE INDEX delegates_by_delegate ON delegates (delegate);

  -- AccessControl roles of the registry (custodians, emergency responders, governance): current membership.
  CREATE TABLE role_members (
    role          TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    active        INTEGER NOT NULL,
    changed_block INTEGER NOT NULL,
    changed_at    INTEGER NOT NULL,
    changed_by    TEXT    NOT NULL,
    PRIMARY KEY (role, account)
  );
  CREATE INDEX role_members_by_account ON role_members (account);

  -- The current grant per (twin, grantee); one grant per pair on chain, granting again replaces it.
  CREATE TABLE consents (
    twin_id       TEXT    NOT NULL,
    grantee       TEXT    NOT NULL,
    grantor       TEXT    NOT NULL,
    categories    INTEGER NOT NULL,
    actions       INTEGER NOT NULL,
    purposes      INTEGER NOT NULL,
    valid_from    INTEGER NOT NULL,
    valid_until   INTEGER NOT NULL,
    granted_block INTEGER NOT NULL,
    granted_at    INTEGER NOT NULL,
    updated_block INTEGER,
    updated_at    INTEGER,
    updated_by    TEXT,
    revoked_block INTEGER,
    revoked_at    INTEGER,
    revoked_by    TEXT,
    PRIMARY KEY (twin_id, grantee)
  );
  CREATE INDEX consents_by_grantee ON consents (grantee);

  -- Every grant, update and revocation, append-only. Terms are NULL for a revocation.
  CREATE TABLE consent_history (
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    twin_id         TEXT    NOT NULL,
    grantee         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    categories      INTEGER,
    actions         INTEGER,
    purposes        INTEGER,
    valid_from      INTEGER,
    valid_until     INTEGER,
    PRIMARY KEY (block_number, log_index)
  );
  CREATE INDEX consent_history_by_twin ON consent_history (twin_id, grantee, block_number, log_index);
  CREATE INDEX consent_history_by_grantee ON consent_history (grantee);

  CREATE TABLE consent_requests (
    request_id      TEXT PRIMARY KEY,
    twin_id         TEXT    NOT NULL,
    requester       TEXT    NOT NULL,
    categories      INTEGER NOT NULL,
    purposes        INTEGER NOT NULL,
    duration        INTEGER NOT NULL,
    reason_hash     TEXT    NOT NULL,
    status          INTEGER NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    closed_block    INTEGER,
    closed_at       INTEGER,
    closed_by       TEXT,
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX consent_requests_by_twin ON consent_requests (twin_id, status);
  CREATE INDEX consent_requests_by_requester ON consent_requests (requester);

  CREATE TABLE emergency_policies (
    twin_id      TEXT PRIMARY KEY,
    allowed      INTEGER NOT NULL,
    max_duration INTEGER NOT NULL,
    categories   INTEGER NOT NULL,
    set_block    INTEGER NOT NULL,
    set_at       INTEGER NOT NULL
  );

  CREATE TABLE emergency_accesses (
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    twin_id         TEXT    NOT NULL,
    responder       TEXT    NOT NULL,
    until           INTEGER NOT NULL,
    categories      INTEGER NOT NULL,
    reason_hash     TEXT    NOT NULL,
    ended_block     INTEGER,
    ended_at        INTEGER,
    ended_by        TEXT,
    end_reason      TEXT,
    PRIMARY KEY (block_number, log_index)
  );
  CREATE INDEX emergency_accesses_by_twin ON emergency_accesses (twin_id, responder);
  CREATE INDEX emergency_accesses_by_responder ON emergency_accesses (responder);

  CREATE TABLE updates (
    twin_id         TEXT    NOT NULL,
    sequence        TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    category        INTEGER NOT NULL,
    content_hash    TEXT    NOT NULL,
    cid             TEXT    NOT NULL,
    head            TEXT    NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    PRIMARY KEY (twin_id, sequence),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX updates_by_source ON updates (source);
  CREATE INDEX updates_by_content_hash ON updates (content_hash);

  CREATE TABLE batches (
    twin_id         TEXT    NOT NULL,
    merkle_root     TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    count           INTEGER NOT NULL,
    from_time       INTEGER NOT NULL,
    to_time         INTEGER NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    PRIMARY KEY (twin_id, merkle_root),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX batches_by_source ON batches (source);
  CREATE INDEX batches_by_twin_block ON batches (twin_id, block_number, log_index);

  CREATE TABLE state_commits (
    twin_id         TEXT    NOT NULL,
    version         TEXT    NOT NULL,
    custodian       TEXT    NOT NULL,
    state_root      TEXT    NOT NULL,
    sources_root    TEXT    NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    PRIMARY KEY (twin_id, version),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX state_commits_by_custodian ON state_commits (custodian);
  `,
  // 2: the query gateways' access-log anchors (TwinUpdateLog.AccessLogAnchored), one row per anchor.
  `
  CREATE TABLE access_log_anchors (
    operator        TEXT    NOT NULL,
    root            TEXT    NOT NULL,
    from_index      TEXT    NOT NULL,
    to_index        TEXT    NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    PRIMARY KEY (operator, root),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX access_log_anchors_by_operator ON access_log_anchors (operator, from_index);
  `,
  // 3: the v2 contracts (issue 9). Written as a real migration of the version 2 tables (rows are carried over where
  // their meaning survives), though the indexer refuses to open a version 1 or 2 database that holds data: see
  // `assertFollowsV2Contracts`.
  `
  -- TwinRegistry v2: an ownership change ends every delegate at once (DelegatesCleared). Why an appointment ended:
  -- 'removed' (DelegateRemoved: by the owner, or resigning) or 'cleared' (DelegatesCleared).
  ALTER TABLE delegates ADD COLUMN end_reason TEXT;
  UPDATE delegates SET end_reason = 'removed' WHERE removed_block IS NOT NULL;

  -- TwinRegistry v2: AccessControlDefaultAdminRules. The pending default-admin transfer and the pending delay change
  -- (unix seconds), one row; the admin itself is the DEFAULT_ADMIN_ROLE member of role_members.
  CREATE TABLE default_admin (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    pending_admin      TEXT,
    accept_schedule    INTEGER,
    pending_delay      INTEGER,
    delay_schedule     INTEGER,
    changed_block      INTEGER NOT NULL,
    changed_at         INTEGER NOT NULL
  );

  -- TwinUpdateLog v2: reading batches keyed by (twin, source, root), no count and no time range on chain.
  CREATE TABLE batches_v3 (
    twin_id         TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    merkle_root     TEXT    NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    PRIMARY KEY (twin_id, source, merkle_root),
    UNIQUE (block_number, log_index)
  );
  INSERT INTO batches_v3 (twin_id, source, merkle_root, block_number, log_index, block_timestamp, tx_hash)
    SELECT twin_id, source, merkle_root, block_number, log_index, block_timestamp, tx_hash FROM batches;
  DROP TABLE batches;
  ALTER TABLE batches_v3 RENAME TO batches;
  CREATE INDEX batches_by_source ON batches (source);
  CREATE INDEX batches_by_twin_block ON batches (twin_id, block_number, log_index);

  -- TwinUpdateLog v2: record batches (RecordsAnchored), steps of the same hash chain as the updates: a sequence is
  -- either in updates or here, never both.
  CREATE TABLE record_batches (
    twin_id         TEXT    NOT NULL,
    sequence        TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    categories      INTEGER NOT NULL,
    records_root    TEXT    NOT NULL,
    head            TEXT    NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    PRIMARY KEY (twin_id, sequence),
    UNIQUE (twin_id, source, records_root),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX record_batches_by_source ON record_batches (source);

  -- TwinUpdateLog v2: versions restart at 1 with each custodian epoch. v1 rows (one sequence per twin) are epoch 1.
  CREATE TABLE state_commits_v3 (
    twin_id         TEXT    NOT NULL,
    epoch           INTEGER NOT NULL,
    version         TEXT    NOT NULL,
    custodian       TEXT    NOT NULL,
    state_root      TEXT    NOT NULL,
    sources_root    TEXT    NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    PRIMARY KEY (twin_id, epoch, version),
    UNIQUE (block_number, log_index)
  );
  INSERT INTO state_commits_v3 (twin_id, epoch, version, custodian, state_root, sources_root,
                                block_number, log_index, block_timestamp, tx_hash)
    SELECT twin_id, 1, version, custodian, state_root, sources_root, block_number, log_index, block_timestamp, tx_hash
    FROM state_commits;
  DROP TABLE state_commits;
  ALTER TABLE state_commits_v3 RENAME TO state_commits;
  CREATE INDEX state_commits_by_custodian ON state_commits (custodian);

  -- ConsentPolicy v2: the (twin, grantee) epoch a signed grant must name. Every ConsentGranted, ConsentUpdated and
  -- ConsentRevoked of the pair increments it (mod 2^32), a revoke with no live grant too; a pair with no row is at 0.
  CREATE TABLE grant_epochs (
    twin_id       TEXT    NOT NULL,
    grantee       TEXT    NOT NULL,
    epoch         INTEGER NOT NULL,
    changed_block INTEGER NOT NULL,
    changed_at    INTEGER NOT NULL,
    PRIMARY KEY (twin_id, grantee)
  );

  -- ConsentPolicy v2: requests expire REQUEST_LIFETIME after the block that made them (0: a v1 row, never expires).
  ALTER TABLE consent_requests ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;

  -- ConsentPolicy v2: emergency accesses keep the first opening (re-opening while open never moves it, and the end
  -- is capped from it); a controller's close starts the responder's cooldown. end_reason gains 'blocked' (closed
  -- by AccountBlocked in the same transaction, no cooldown). A v1 row's first opening is its own.
  ALTER TABLE emergency_accesses ADD COLUMN first_opened_at INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE emergency_accesses ADD COLUMN cooldown_until INTEGER;
  UPDATE emergency_accesses SET first_opened_at = block_timestamp;

  -- ConsentPolicy v2: accounts blocked on a twin (AccountBlocked), current state per (twin, account).
  CREATE TABLE blocked_accounts (
    twin_id           TEXT    NOT NULL,
    account           TEXT    NOT NULL,
    blocked           INTEGER NOT NULL,
    changed_block     INTEGER NOT NULL,
    changed_log_index INTEGER NOT NULL,
    changed_at        INTEGER NOT NULL,
    changed_tx        TEXT    NOT NULL,
    PRIMARY KEY (twin_id, account)
  );
  CREATE INDEX blocked_accounts_by_account ON blocked_accounts (account);

  -- ConsentPolicy v2: grant-signature nonces cancelled by their signer (NonceCancelled). The nonce is a uint256.
  CREATE TABLE cancelled_nonces (
    signer          TEXT    NOT NULL,
    nonce           TEXT    NOT NULL,
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    block_timestamp INTEGER NOT NULL,
    tx_hash         TEXT    NOT NULL,
    PRIMARY KEY (signer, nonce),
    UNIQUE (block_number, log_index)
  );
  `,
  // 4: reorg safety (issue 12). The hashes of indexed blocks (each range's last block and every block with a
  // followed log), to find the common ancestor after a reorg; and the journal of row images the events overwrote,
  // to roll the current-state tables back to it. A database migrated from version 3 has no journal for the blocks
  // already indexed: `journal_from` says where it starts, and a reorg below it rebuilds the index from the start.
  `
  CREATE TABLE blocks (
    block_number    INTEGER PRIMARY KEY,
    block_hash      TEXT    NOT NULL,
    block_timestamp INTEGER NOT NULL
  );
  INSERT INTO blocks (block_number, block_hash, block_timestamp)
    SELECT block_number, block_hash, block_timestamp FROM checkpoint WHERE block_hash IS NOT NULL;
  INSERT OR IGNORE INTO blocks (block_number, block_hash, block_timestamp)
    SELECT block_number, MIN(block_hash), MIN(block_timestamp) FROM events GROUP BY block_number;

  CREATE TABLE reorg_journal (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    block_number INTEGER NOT NULL,
    table_name   TEXT    NOT NULL,
    row_key      TEXT    NOT NULL,
    row_image    TEXT
  );
  CREATE INDEX reorg_journal_by_block ON reorg_journal (block_number);

  INSERT INTO meta (key, value) SELECT 'journal_from', CAST(block_number AS TEXT) FROM checkpoint;
  `,
];

/** The first core schema version written for the v2 contracts (issue 9). */
export const V2_CONTRACTS_SCHEMA = 3;

/**
 * Refuses a database written by the v1 indexer (core schema 1 or 2), before anything is changed in it.
 *
 * Decision (issue 9): such a database indexes the v1 contracts, and its rows cannot be carried over to v2: the v2
 * contracts are new deployments (new addresses, twin ids derived on chain, batches keyed by source, versions per
 * custodian epoch, grant epochs the v1 events never carried), and the v1 contracts' logs (`BatchAnchored` with a
 * count and a time range, `TwinStateCommitted` without an epoch) do not decode with the v2 ABI, so going on
 * following them would silently drop events. Migration 3 does move the tables forward, but the indexer only ever
 * runs it on a new database. The operator builds a new database from the v2 deployment block; the old file can be
 * kept read-only for the v1 audit trail (with the v1 code).
 * @throws IndexerError `INDEXER_REINDEX_REQUIRED`.
 */
export function assertFollowsV2Contracts(db: Database.Database): void {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get() as
    { name: string } | undefined;
  if (!table) return;
  const row = db.prepare("SELECT version FROM schema_version WHERE component = ?").get(CORE_COMPONENT) as
    { version: number } | undefined;
  const version = row?.version ?? 0;
  if (version > 0 && version < V2_CONTRACTS_SCHEMA) {
    throw new IndexerError(
      "INDEXER_REINDEX_REQUIRED",
      `the database's core schema is at version ${version}, written for the v1 contracts, whose events the v2 ` +
        `indexer cannot follow: build a new database from the v2 deployment block (re-index)`,
    );
  }
}

/** Creates `schema_version` if needed and applies the component's pending migrations, each in a transaction. */
export function migrate(db: Database.Database, component: string, migrations: readonly string[]): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version   INTEGER NOT NULL
  )`);
  const row = db.prepare("SELECT version FROM schema_version WHERE component = ?").get(component) as
    { version: number } | undefined;
  const current = row?.version ?? 0;
  if (current > migrations.length) {
    throw new IndexerError(
      "INDEXER_SCHEMA",
      `the database's ${component} schema is at version ${current}, newer than this code's ${migrations.length}`,
    );
  }
  const setVersion = db.prepare(
    "INSERT INTO schema_version (component, version) VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version",
  );
  for (let version = current + 1; version <= migrations.length; version++) {
    const apply = db.transaction(() => {
      db.exec(migrations[version - 1]);
      setVersion.run(component, version);
    });
    try {
      apply();
    } catch (error) {
      throw new IndexerError("INDEXER_SCHEMA", `migration ${version} of ${component} failed`, { cause: error });
    }
  }
  return migrations.length;
}
