/** The read side's SQL, in the dialect both backends share. */
export const Q = {
  checkpoint: "SELECT block_number, block_hash, block_timestamp FROM checkpoint WHERE id = 1",
  twin: "SELECT * FROM twins WHERE twin_id = ?",
  twinsOf: "SELECT * FROM twins WHERE owner = ? ORDER BY created_block, created_log_index",
  twinsInCustody: "SELECT * FROM twins WHERE custodian = ? ORDER BY created_block, created_log_index",
  sourcesOf: "SELECT * FROM sources WHERE twin_id = ? ORDER BY authorized_block, source",
  activeSourcesOf:
    "SELECT * FROM sources WHERE twin_id = ? AND removed_block IS NULL ORDER BY authorized_block, source",
  bySource: "SELECT * FROM sources WHERE source = ? AND removed_block IS NULL ORDER BY authorized_block, twin_id",
  delegatesOf: "SELECT * FROM delegates WHERE twin_id = ? AND removed_block IS NULL ORDER BY appointed_block, delegate",
  byDelegate: "SELECT * FROM delegates WHERE delegate = ? AND removed_block IS NULL ORDER BY appointed_block, twin_id",
  emergencyPolicy: "SELECT * FROM emergency_policies WHERE twin_id = ?",
  history: "SELECT * FROM twin_history WHERE twin_id = ? ORDER BY block_number, log_index",
  consentsOf: `
    SELECT c.*, e.epoch FROM consents c LEFT JOIN grant_epochs e USING (twin_id, grantee)
    WHERE c.twin_id = ? ORDER BY c.granted_block, c.grantee`,
  consentsTo: `
    SELECT c.*, e.epoch FROM consents c LEFT JOIN grant_epochs e USING (twin_id, grantee)
    WHERE c.grantee = ? ORDER BY c.granted_block, c.twin_id`,
  grantEpoch: "SELECT epoch FROM grant_epochs WHERE twin_id = ? AND grantee = ?",
  grantHistory: "SELECT * FROM consent_history WHERE twin_id = ? ORDER BY block_number, log_index",
  grantHistoryOf: "SELECT * FROM consent_history WHERE twin_id = ? AND grantee = ? ORDER BY block_number, log_index",
  request: "SELECT * FROM consent_requests WHERE request_id = ?",
  requestsOf: "SELECT * FROM consent_requests WHERE twin_id = ? ORDER BY block_number, log_index",
  requestsOfStatus: "SELECT * FROM consent_requests WHERE twin_id = ? AND status = ? ORDER BY block_number, log_index",
  requestsPending: `
    SELECT * FROM consent_requests WHERE twin_id = @twin_id AND status = 1
      AND (expires_at = 0 OR expires_at > @at) ORDER BY block_number, log_index`,
  requestsExpired: `
    SELECT * FROM consent_requests WHERE twin_id = @twin_id AND status = 1
      AND expires_at <> 0 AND expires_at <= @at ORDER BY block_number, log_index`,
  requestsOfClosed: "SELECT * FROM consent_requests WHERE twin_id = ? AND status <> 1 ORDER BY block_number, log_index",
  requestsBy: "SELECT * FROM consent_requests WHERE requester = ? ORDER BY block_number, log_index",
  updatesOf: `
    SELECT 'update' AS kind, twin_id, sequence, source, category, NULL AS categories, content_hash, cid,
       NULL AS records_root, head, block_number, log_index, block_timestamp, tx_hash
    FROM updates WHERE twin_id = @twin_id AND sequence >= @from
    UNION ALL
    SELECT 'records' AS kind, twin_id, sequence, source, NULL AS category, categories, NULL AS content_hash,
       NULL AS cid, records_root, head, block_number, log_index, block_timestamp, tx_hash
    FROM record_batches WHERE twin_id = @twin_id AND sequence >= @from
    ORDER BY sequence LIMIT @limit`,
  updateCount: `
    SELECT (SELECT COUNT(*) FROM updates WHERE twin_id = @twin_id)
         + (SELECT COUNT(*) FROM record_batches WHERE twin_id = @twin_id) AS n`,
  recordBatchesOf: "SELECT * FROM record_batches WHERE twin_id = ? ORDER BY sequence",
  recordBatch: "SELECT * FROM record_batches WHERE twin_id = ? AND source = ? AND records_root = ?",
  batchesOf: "SELECT * FROM batches WHERE twin_id = ? ORDER BY block_number, log_index",
  batch: "SELECT * FROM batches WHERE twin_id = ? AND source = ? AND merkle_root = ?",
  stateCommitsOf: "SELECT * FROM state_commits WHERE twin_id = ? ORDER BY block_number, log_index",
  blockedOf:
    "SELECT * FROM blocked_accounts WHERE twin_id = ? AND blocked = 1 ORDER BY changed_block, changed_log_index",
  blocked: "SELECT * FROM blocked_accounts WHERE twin_id = ? AND account = ? AND blocked = 1",
  noncesOf: "SELECT * FROM cancelled_nonces WHERE signer = ? ORDER BY nonce",
  nonce: "SELECT * FROM cancelled_nonces WHERE signer = ? AND nonce = ?",
  defaultAdmin: "SELECT * FROM default_admin WHERE id = 1",
  accessLogAnchorsOf:
    "SELECT * FROM access_log_anchors WHERE operator = ? ORDER BY from_index, block_number, log_index",
  emergencyOf: "SELECT * FROM emergency_accesses WHERE twin_id = ? ORDER BY block_number, log_index",
  emergencyBy: "SELECT * FROM emergency_accesses WHERE responder = ? ORDER BY block_number, log_index",
  roles: "SELECT * FROM role_members WHERE active = 1 ORDER BY changed_block, role, account",
  rolesOf: "SELECT * FROM role_members WHERE active = 1 AND role = ? ORDER BY changed_block, account",
  eventsOf: "SELECT * FROM events WHERE twin_id = ? ORDER BY block_number, log_index",
  eventCount: "SELECT COUNT(*) AS n FROM events",
} as const;
