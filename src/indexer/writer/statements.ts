/**
 * The SQL of the core writer, one statement per change, in the dialect both backends share (see store/store.ts).
 * Parameters are named after the columns they key (`twin_id`, `grantee`, ...), which `JOURNALED` relies on.
 */
export const STATEMENTS = {
  twinCreate: `
      INSERT INTO twins (twin_id, owner, custodian, status, metadata_commitment, pending_owner,
                         created_block, created_log_index, created_at, created_tx, updated_block, updated_at)
      VALUES (@twin_id, @owner, @custodian, @status, @metadata, NULL, @block, @log_index, @at, @tx, @block, @at)`,
  twinMetadata: `UPDATE twins SET metadata_commitment = @metadata, updated_block = @block, updated_at = @at WHERE twin_id = @twin_id`,
  twinCustodian: `UPDATE twins SET custodian = @custodian, updated_block = @block, updated_at = @at WHERE twin_id = @twin_id`,
  twinPendingOwner: `UPDATE twins SET pending_owner = @pending, updated_block = @block, updated_at = @at WHERE twin_id = @twin_id`,
  twinOwner: `
      UPDATE twins SET owner = @owner, pending_owner = NULL, updated_block = @block, updated_at = @at
      WHERE twin_id = @twin_id`,
  twinStatus: `UPDATE twins SET status = @status, updated_block = @block, updated_at = @at WHERE twin_id = @twin_id`,
  history: `
      INSERT INTO twin_history (block_number, log_index, block_timestamp, tx_hash, twin_id, kind, previous, next, actor)
      VALUES (@block_number, @log_index, @block_timestamp, @tx_hash, @twin_id, @kind, @previous, @next, @actor)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
  sourceAuthorize: `
      INSERT INTO sources (twin_id, source, kind, categories, authorized_block, authorized_log_index, authorized_at,
                           authorized_tx, removed_block, removed_at)
      VALUES (@twin_id, @source, @kind, @categories, @block, @log_index, @at, @tx, NULL, NULL)
      ON CONFLICT (twin_id, source) DO UPDATE SET
        kind = excluded.kind, categories = excluded.categories, authorized_block = excluded.authorized_block,
        authorized_log_index = excluded.authorized_log_index, authorized_at = excluded.authorized_at, authorized_tx = excluded.authorized_tx,
        removed_block = NULL, removed_at = NULL`,
  sourceRemove: `
      UPDATE sources SET removed_block = @block, removed_at = @at
      WHERE twin_id = @twin_id AND source = @source AND removed_block IS NULL`,
  delegateAppoint: `
      INSERT INTO delegates (twin_id, delegate, appointed_block, appointed_log_index, appointed_at, appointed_tx,
                             removed_block, removed_at, removed_by)
      VALUES (@twin_id, @delegate, @block, @log_index, @at, @tx, NULL, NULL, NULL)
      ON CONFLICT (twin_id, delegate) DO UPDATE SET
        appointed_block = excluded.appointed_block, appointed_log_index = excluded.appointed_log_index,
        appointed_at = excluded.appointed_at,
        appointed_tx = excluded.appointed_tx, removed_block = NULL, removed_at = NULL, removed_by = NULL`,
  delegateRemove: `
      UPDATE delegates SET removed_block = @block, removed_at = @at, removed_by = @by, end_reason = 'removed'
      WHERE twin_id = @twin_id AND delegate = @delegate AND removed_block IS NULL`,
  delegatesClear: `
      UPDATE delegates SET removed_block = @block, removed_at = @at, removed_by = NULL, end_reason = 'cleared'
      WHERE twin_id = @twin_id AND removed_block IS NULL`,
  adminTransfer: `
      INSERT INTO default_admin (id, pending_admin, accept_schedule, changed_block, changed_at)
      VALUES (1, @pending, @schedule, @block, @at)
      ON CONFLICT (id) DO UPDATE SET pending_admin = excluded.pending_admin,
        accept_schedule = excluded.accept_schedule, changed_block = excluded.changed_block,
        changed_at = excluded.changed_at`,
  adminTransferClear: `
      UPDATE default_admin SET pending_admin = NULL, accept_schedule = NULL, changed_block = @block, changed_at = @at
      WHERE id = 1 AND accept_schedule IS NOT NULL`,
  adminDelay: `
      INSERT INTO default_admin (id, pending_delay, delay_schedule, changed_block, changed_at)
      VALUES (1, @delay, @schedule, @block, @at)
      ON CONFLICT (id) DO UPDATE SET pending_delay = excluded.pending_delay,
        delay_schedule = excluded.delay_schedule, changed_block = excluded.changed_block,
        changed_at = excluded.changed_at`,
  role: `
      INSERT INTO role_members (role, account, active, changed_block, changed_at, changed_by)
      VALUES (@role, @account, @active, @block, @at, @by)
      ON CONFLICT (role, account) DO UPDATE SET
        active = excluded.active, changed_block = excluded.changed_block, changed_at = excluded.changed_at,
        changed_by = excluded.changed_by`,
  consentGrant: `
      INSERT INTO consents (twin_id, grantee, grantor, categories, actions, purposes, valid_from, valid_until,
                            granted_block, granted_at, updated_block, updated_at, updated_by,
                            revoked_block, revoked_at, revoked_by)
      VALUES (@twin_id, @grantee, @grantor, @categories, @actions, @purposes, @valid_from, @valid_until,
              @block, @at, NULL, NULL, NULL, NULL, NULL, NULL)
      ON CONFLICT (twin_id, grantee) DO UPDATE SET
        grantor = excluded.grantor, categories = excluded.categories, actions = excluded.actions,
        purposes = excluded.purposes, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
        granted_block = excluded.granted_block, granted_at = excluded.granted_at,
        updated_block = NULL, updated_at = NULL, updated_by = NULL,
        revoked_block = NULL, revoked_at = NULL, revoked_by = NULL`,
  consentUpdate: `
      UPDATE consents SET categories = @categories, actions = @actions, purposes = @purposes,
        valid_from = @valid_from, valid_until = @valid_until, updated_block = @block, updated_at = @at,
        updated_by = @grantor
      WHERE twin_id = @twin_id AND grantee = @grantee`,
  consentRevoke: `
      UPDATE consents SET revoked_block = @block, revoked_at = @at, revoked_by = @by
      WHERE twin_id = @twin_id AND grantee = @grantee AND revoked_block IS NULL`,
  epochBump: `
      INSERT INTO grant_epochs (twin_id, grantee, epoch, changed_block, changed_at)
      VALUES (@twin_id, @grantee, 1, @block, @at)
      ON CONFLICT (twin_id, grantee) DO UPDATE SET epoch = (grant_epochs.epoch + 1) % 4294967296,
        changed_block = excluded.changed_block, changed_at = excluded.changed_at`,
  consentHistory: `
      INSERT INTO consent_history (block_number, log_index, block_timestamp, tx_hash, twin_id, grantee, kind, actor,
                                   categories, actions, purposes, valid_from, valid_until)
      VALUES (@block_number, @log_index, @block_timestamp, @tx_hash, @twin_id, @grantee, @kind, @actor,
              @categories, @actions, @purposes, @valid_from, @valid_until)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
  requestOpen: `
      INSERT INTO consent_requests (request_id, twin_id, requester, categories, purposes, duration, reason_hash, status,
                                    block_number, log_index, block_timestamp, tx_hash, expires_at)
      VALUES (@request_id, @twin_id, @requester, @categories, @purposes, @duration, @reason_hash, @status,
              @block_number, @log_index, @block_timestamp, @tx_hash, @expires_at)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
  requestClose: `
      UPDATE consent_requests SET status = @status, closed_block = @block, closed_at = @at, closed_by = @by
      WHERE request_id = @request_id`,
  emergencyPolicy: `
      INSERT INTO emergency_policies (twin_id, allowed, max_duration, categories, set_block, set_at)
      VALUES (@twin_id, @allowed, @max_duration, @categories, @block, @at)
      ON CONFLICT (twin_id) DO UPDATE SET
        allowed = excluded.allowed, max_duration = excluded.max_duration, categories = excluded.categories,
        set_block = excluded.set_block, set_at = excluded.set_at`,
  emergencyReplace: `
      UPDATE emergency_accesses SET ended_block = @block, ended_at = @at, ended_by = NULL, end_reason = 'replaced'
      WHERE twin_id = @twin_id AND responder = @responder AND ended_block IS NULL AND until > @at`,
  emergencyOpenOf: `
      SELECT first_opened_at FROM emergency_accesses
      WHERE twin_id = @twin_id AND responder = @responder AND ended_block IS NULL AND until > @at
      ORDER BY block_number DESC, log_index DESC LIMIT 1`,
  emergencyOpen: `
      INSERT INTO emergency_accesses (block_number, log_index, block_timestamp, tx_hash, twin_id, responder, until,
                                      categories, reason_hash, first_opened_at)
      VALUES (@block_number, @log_index, @block_timestamp, @tx_hash, @twin_id, @responder, @until,
              @categories, @reason_hash, @first_opened_at)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
  emergencyClose: `
      UPDATE emergency_accesses SET ended_block = @block, ended_at = @at, ended_by = @by, end_reason = @reason,
        cooldown_until = @cooldown_until
      WHERE (block_number, log_index) = (
        SELECT block_number, log_index FROM emergency_accesses
        WHERE twin_id = @twin_id AND responder = @responder AND ended_block IS NULL
        ORDER BY block_number DESC, log_index DESC LIMIT 1)`,
  blocked: `
      INSERT INTO blocked_accounts (twin_id, account, blocked, changed_block, changed_log_index, changed_at, changed_tx)
      VALUES (@twin_id, @account, @blocked, @block, @log_index, @at, @tx)
      ON CONFLICT (twin_id, account) DO UPDATE SET blocked = excluded.blocked,
        changed_block = excluded.changed_block, changed_log_index = excluded.changed_log_index,
        changed_at = excluded.changed_at, changed_tx = excluded.changed_tx`,
  blockedIn: `SELECT blocked FROM blocked_accounts WHERE twin_id = @twin_id AND account = @account AND changed_tx = @tx`,
  nonceCancel: `
      INSERT INTO cancelled_nonces (signer, nonce, block_number, log_index, block_timestamp, tx_hash)
      VALUES (@signer, @nonce, @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT DO NOTHING`,
  update: `
      INSERT INTO updates (twin_id, sequence, source, category, content_hash, cid, head,
                           block_number, log_index, block_timestamp, tx_hash)
      VALUES (@twin_id, @sequence, @source, @category, @content_hash, @cid, @head,
              @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
  recordBatch: `
      INSERT INTO record_batches (twin_id, sequence, source, categories, records_root, head,
                                  block_number, log_index, block_timestamp, tx_hash)
      VALUES (@twin_id, @sequence, @source, @categories, @records_root, @head,
              @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
  batch: `
      INSERT INTO batches (twin_id, source, merkle_root, block_number, log_index, block_timestamp, tx_hash)
      VALUES (@twin_id, @source, @merkle_root, @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
  accessLogAnchor: `
      INSERT INTO access_log_anchors (operator, root, from_index, to_index,
                                      block_number, log_index, block_timestamp, tx_hash)
      VALUES (@operator, @root, @from_index, @to_index, @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
  stateCommit: `
      INSERT INTO state_commits (twin_id, epoch, version, custodian, state_root, sources_root,
                                 block_number, log_index, block_timestamp, tx_hash)
      VALUES (@twin_id, @epoch, @version, @custodian, @state_root, @sources_root,
              @block_number, @log_index, @block_timestamp, @tx_hash)
      ON CONFLICT (block_number, log_index) DO NOTHING`,
} as const;

export type StatementName = keyof typeof STATEMENTS;

/**
 * The statements that change rows an earlier event may have written (updates and upserts), with the table and the
 * key columns (named as the statement's parameters) whose rows they may change: those rows' images are journaled
 * before the change, so that a reorg can put them back (see journal.ts). Plain inserts of new rows are not here:
 * the rows carry the block that created them, and a rollback deletes the ones above the common ancestor.
 */
export const JOURNALED: {
  readonly [K in StatementName]?: {
    readonly table: string;
    readonly key: readonly string[];
    /** Key columns of a fixed value (the one-row `default_admin`). */
    readonly fixed?: Readonly<Record<string, unknown>>;
  };
} = {
  twinMetadata: { table: "twins", key: ["twin_id"] },
  twinCustodian: { table: "twins", key: ["twin_id"] },
  twinPendingOwner: { table: "twins", key: ["twin_id"] },
  twinOwner: { table: "twins", key: ["twin_id"] },
  twinStatus: { table: "twins", key: ["twin_id"] },
  sourceAuthorize: { table: "sources", key: ["twin_id", "source"] },
  sourceRemove: { table: "sources", key: ["twin_id", "source"] },
  delegateAppoint: { table: "delegates", key: ["twin_id", "delegate"] },
  delegateRemove: { table: "delegates", key: ["twin_id", "delegate"] },
  delegatesClear: { table: "delegates", key: ["twin_id"] },
  adminTransfer: { table: "default_admin", key: [], fixed: { id: 1 } },
  adminTransferClear: { table: "default_admin", key: [], fixed: { id: 1 } },
  adminDelay: { table: "default_admin", key: [], fixed: { id: 1 } },
  role: { table: "role_members", key: ["role", "account"] },
  consentGrant: { table: "consents", key: ["twin_id", "grantee"] },
  consentUpdate: { table: "consents", key: ["twin_id", "grantee"] },
  consentRevoke: { table: "consents", key: ["twin_id", "grantee"] },
  epochBump: { table: "grant_epochs", key: ["twin_id", "grantee"] },
  requestClose: { table: "consent_requests", key: ["request_id"] },
  emergencyPolicy: { table: "emergency_policies", key: ["twin_id"] },
  emergencyReplace: { table: "emergency_accesses", key: ["twin_id", "responder"] },
  emergencyClose: { table: "emergency_accesses", key: ["twin_id", "responder"] },
  blocked: { table: "blocked_accounts", key: ["twin_id", "account"] },
};
