/**
 * The indexer's PostgreSQL schema, as numbered migrations: the same tables, columns and conventions as the SQLite
 * schema at its current version (schema.ts), written for PostgreSQL from the start (no v1 history to carry).
 *
 * - Integers are BIGINT (pg returns them as JS numbers: see store/postgres.ts); every value is below 2^53.
 * - Text is `COLLATE "C"`: byte order, as SQLite compares, so that every `ORDER BY` (checksummed addresses,
 *   zero-padded uint TEXT) answers the same on both backends whatever the server's locale.
 */
const T = `TEXT COLLATE "C"`;
const I = "BIGINT";

export const POSTGRES_CORE_MIGRATIONS: readonly string[] = [
  // 1: the whole schema of SQLite's version 4.
  `
  CREATE TABLE meta (key ${T} PRIMARY KEY, value ${T} NOT NULL);

  CREATE TABLE checkpoint (
    id ${I} PRIMARY KEY CHECK (id = 1), block_number ${I} NOT NULL, block_hash ${T}, block_timestamp ${I},
    updated_at ${I} NOT NULL
  );

  CREATE TABLE events (
    block_number ${I} NOT NULL, log_index ${I} NOT NULL, block_hash ${T} NOT NULL, block_timestamp ${I} NOT NULL,
    tx_hash ${T} NOT NULL, tx_index ${I} NOT NULL, contract ${T} NOT NULL, address ${T} NOT NULL, name ${T},
    twin_id ${T},
    PRIMARY KEY (block_number, log_index)
  );
  CREATE INDEX events_by_twin ON events (twin_id, block_number, log_index);
  CREATE INDEX events_by_tx ON events (tx_hash, log_index);

  CREATE TABLE twins (
    twin_id ${T} PRIMARY KEY, owner ${T} NOT NULL, custodian ${T} NOT NULL, status ${I} NOT NULL,
    metadata_commitment ${T} NOT NULL, pending_owner ${T}, created_block ${I} NOT NULL,
    created_log_index ${I} NOT NULL, created_at ${I} NOT NULL, created_tx ${T} NOT NULL, updated_block ${I} NOT NULL,
    updated_at ${I} NOT NULL
  );
  CREATE INDEX twins_by_owner ON twins (owner);
  CREATE INDEX twins_by_custodian ON twins (custodian);

  CREATE TABLE twin_history (
    block_number ${I} NOT NULL, log_index ${I} NOT NULL, block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    twin_id ${T} NOT NULL, kind ${T} NOT NULL, previous ${T}, next ${T}, actor ${T},
    PRIMARY KEY (block_number, log_index)
  );
  CREATE INDEX twin_history_by_twin ON twin_history (twin_id, block_number, log_index);
  CREATE INDEX twin_history_by_next ON twin_history (next);

  CREATE TABLE sources (
    twin_id ${T} NOT NULL, source ${T} NOT NULL, kind ${I} NOT NULL, categories ${I} NOT NULL,
    authorized_block ${I} NOT NULL, authorized_log_index ${I} NOT NULL, authorized_at ${I} NOT NULL,
    authorized_tx ${T} NOT NULL, removed_block ${I}, removed_at ${I},
    PRIMARY KEY (twin_id, source)
  );
  CREATE INDEX sources_by_source ON sources (source);

  CREATE TABLE delegates (
    twin_id ${T} NOT NULL, delegate ${T} NOT NULL, appointed_block ${I} NOT NULL, appointed_log_index ${I} NOT NULL,
    appointed_at ${I} NOT NULL, appointed_tx ${T} NOT NULL, removed_block ${I}, removed_at ${I}, removed_by ${T},
    end_reason ${T},
    PRIMARY KEY (twin_id, delegate)
  );
  CREATE INDEX delegates_by_delegate ON delegates (delegate);

  CREATE TABLE role_members (
    role ${T} NOT NULL, account ${T} NOT NULL, active ${I} NOT NULL, changed_block ${I} NOT NULL,
    changed_at ${I} NOT NULL, changed_by ${T} NOT NULL,
    PRIMARY KEY (role, account)
  );
  CREATE INDEX role_members_by_account ON role_members (account);

  CREATE TABLE consents (
    twin_id ${T} NOT NULL, grantee ${T} NOT NULL, grantor ${T} NOT NULL, categories ${I} NOT NULL,
    actions ${I} NOT NULL, purposes ${I} NOT NULL, valid_from ${I} NOT NULL, valid_until ${I} NOT NULL,
    granted_block ${I} NOT NULL, granted_at ${I} NOT NULL, updated_block ${I}, updated_at ${I}, updated_by ${T},
    revoked_block ${I}, revoked_at ${I}, revoked_by ${T},
    PRIMARY KEY (twin_id, grantee)
  );
  CREATE INDEX consents_by_grantee ON consents (grantee);

  CREATE TABLE consent_history (
    block_number ${I} NOT NULL, log_index ${I} NOT NULL, block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    twin_id ${T} NOT NULL, grantee ${T} NOT NULL, kind ${T} NOT NULL, actor ${T} NOT NULL, categories ${I},
    actions ${I}, purposes ${I}, valid_from ${I}, valid_until ${I},
    PRIMARY KEY (block_number, log_index)
  );
  CREATE INDEX consent_history_by_twin ON consent_history (twin_id, grantee, block_number, log_index);
  CREATE INDEX consent_history_by_grantee ON consent_history (grantee);

  CREATE TABLE consent_requests (
    request_id ${T} PRIMARY KEY, twin_id ${T} NOT NULL, requester ${T} NOT NULL, categories ${I} NOT NULL,
    purposes ${I} NOT NULL, duration ${I} NOT NULL, reason_hash ${T} NOT NULL, status ${I} NOT NULL,
    block_number ${I} NOT NULL, log_index ${I} NOT NULL, block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    closed_block ${I}, closed_at ${I}, closed_by ${T}, expires_at ${I} NOT NULL DEFAULT 0,
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX consent_requests_by_twin ON consent_requests (twin_id, status);
  CREATE INDEX consent_requests_by_requester ON consent_requests (requester);

  CREATE TABLE emergency_policies (
    twin_id ${T} PRIMARY KEY, allowed ${I} NOT NULL, max_duration ${I} NOT NULL, categories ${I} NOT NULL,
    set_block ${I} NOT NULL, set_at ${I} NOT NULL
  );

  CREATE TABLE emergency_accesses (
    block_number ${I} NOT NULL, log_index ${I} NOT NULL, block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    twin_id ${T} NOT NULL, responder ${T} NOT NULL, until ${I} NOT NULL, categories ${I} NOT NULL,
    reason_hash ${T} NOT NULL, ended_block ${I}, ended_at ${I}, ended_by ${T}, end_reason ${T},
    first_opened_at ${I} NOT NULL DEFAULT 0, cooldown_until ${I},
    PRIMARY KEY (block_number, log_index)
  );
  CREATE INDEX emergency_accesses_by_twin ON emergency_accesses (twin_id, responder);
  CREATE INDEX emergency_accesses_by_responder ON emergency_accesses (responder);

  CREATE TABLE updates (
    twin_id ${T} NOT NULL, sequence ${T} NOT NULL, source ${T} NOT NULL, category ${I} NOT NULL,
    content_hash ${T} NOT NULL, cid ${T} NOT NULL, head ${T} NOT NULL, block_number ${I} NOT NULL,
    log_index ${I} NOT NULL, block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    PRIMARY KEY (twin_id, sequence),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX updates_by_source ON updates (source);
  CREATE INDEX updates_by_content_hash ON updates (content_hash);

  CREATE TABLE access_log_anchors (
    operator ${T} NOT NULL, root ${T} NOT NULL, from_index ${T} NOT NULL, to_index ${T} NOT NULL,
    block_number ${I} NOT NULL, log_index ${I} NOT NULL, block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    PRIMARY KEY (operator, root),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX access_log_anchors_by_operator ON access_log_anchors (operator, from_index);

  CREATE TABLE default_admin (
    id ${I} PRIMARY KEY CHECK (id = 1), pending_admin ${T}, accept_schedule ${I}, pending_delay ${I},
    delay_schedule ${I}, changed_block ${I} NOT NULL, changed_at ${I} NOT NULL
  );

  CREATE TABLE batches (
    twin_id ${T} NOT NULL, source ${T} NOT NULL, merkle_root ${T} NOT NULL, block_number ${I} NOT NULL,
    log_index ${I} NOT NULL, block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    PRIMARY KEY (twin_id, source, merkle_root),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX batches_by_source ON batches (source);
  CREATE INDEX batches_by_twin_block ON batches (twin_id, block_number, log_index);

  CREATE TABLE record_batches (
    twin_id ${T} NOT NULL, sequence ${T} NOT NULL, source ${T} NOT NULL, categories ${I} NOT NULL,
    records_root ${T} NOT NULL, head ${T} NOT NULL, block_number ${I} NOT NULL, log_index ${I} NOT NULL,
    block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    PRIMARY KEY (twin_id, sequence),
    UNIQUE (twin_id, source, records_root),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX record_batches_by_source ON record_batches (source);

  CREATE TABLE state_commits (
    twin_id ${T} NOT NULL, epoch ${I} NOT NULL, version ${T} NOT NULL, custodian ${T} NOT NULL,
    state_root ${T} NOT NULL, sources_root ${T} NOT NULL, block_number ${I} NOT NULL, log_index ${I} NOT NULL,
    block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    PRIMARY KEY (twin_id, epoch, version),
    UNIQUE (block_number, log_index)
  );
  CREATE INDEX state_commits_by_custodian ON state_commits (custodian);

  CREATE TABLE grant_epochs (
    twin_id ${T} NOT NULL, grantee ${T} NOT NULL, epoch ${I} NOT NULL, changed_block ${I} NOT NULL,
    changed_at ${I} NOT NULL,
    PRIMARY KEY (twin_id, grantee)
  );

  CREATE TABLE blocked_accounts (
    twin_id ${T} NOT NULL, account ${T} NOT NULL, blocked ${I} NOT NULL, changed_block ${I} NOT NULL,
    changed_log_index ${I} NOT NULL, changed_at ${I} NOT NULL, changed_tx ${T} NOT NULL,
    PRIMARY KEY (twin_id, account)
  );
  CREATE INDEX blocked_accounts_by_account ON blocked_accounts (account);

  CREATE TABLE cancelled_nonces (
    signer ${T} NOT NULL, nonce ${T} NOT NULL, block_number ${I} NOT NULL, log_index ${I} NOT NULL,
    block_timestamp ${I} NOT NULL, tx_hash ${T} NOT NULL,
    PRIMARY KEY (signer, nonce),
    UNIQUE (block_number, log_index)
  );

  CREATE TABLE blocks (block_number ${I} PRIMARY KEY, block_hash ${T} NOT NULL, block_timestamp ${I} NOT NULL);

  CREATE TABLE reorg_journal (
    seq BIGSERIAL PRIMARY KEY, block_number ${I} NOT NULL, table_name ${T} NOT NULL, row_key ${T} NOT NULL,
    row_image ${T}
  );
  CREATE INDEX reorg_journal_by_block ON reorg_journal (block_number);
  `,
];
