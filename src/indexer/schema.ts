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
];

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
