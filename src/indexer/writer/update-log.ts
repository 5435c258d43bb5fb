import type { ITwinUpdateLog } from "../../../typechain-types/contracts/interfaces/ITwinUpdateLog";
import { encodeUint64, smallUint } from "../codec";
import { erase, hex, position } from "./common";

/** TwinUpdateLog's events: the hash chain (updates, record batches), reading batches, state commits, log anchors. */
export const updateLogHandlers = erase<ITwinUpdateLog>({
  UpdateRecorded: async (e, at, w) => {
    await w.run("update", {
      ...position(at),
      twin_id: hex(e.twinId),
      sequence: encodeUint64(e.sequence),
      source: e.source,
      category: smallUint(e.category),
      content_hash: hex(e.contentHash),
      cid: hex(e.cid),
      head: hex(e.head),
    });
  },
  RecordsAnchored: async (e, at, w) => {
    await w.run("recordBatch", {
      ...position(at),
      twin_id: hex(e.twinId),
      sequence: encodeUint64(e.sequence),
      source: e.source,
      categories: smallUint(e.categories),
      records_root: hex(e.recordsRoot),
      head: hex(e.head),
    });
  },
  BatchAnchored: async (e, at, w) => {
    await w.run("batch", {
      ...position(at),
      twin_id: hex(e.twinId),
      source: e.source,
      merkle_root: hex(e.merkleRoot),
    });
  },
  TwinStateCommitted: async (e, at, w) => {
    await w.run("stateCommit", {
      ...position(at),
      twin_id: hex(e.twinId),
      epoch: smallUint(e.epoch),
      version: encodeUint64(e.version),
      custodian: e.custodian,
      state_root: hex(e.stateRoot),
      sources_root: hex(e.sourcesRoot),
    });
  },
  AccessLogAnchored: async (e, at, w) => {
    await w.run("accessLogAnchor", {
      ...position(at),
      operator: e.operator,
      root: hex(e.root),
      from_index: encodeUint64(e.fromIndex),
      to_index: encodeUint64(e.toIndex),
    });
  },
});
