import { getAddress, hexlify } from "ethers";
import { addressOf, normalizePublicKey, type PublicKeyLike } from "../crypto";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { ReaderGrantSummary } from "./pipeline-types";
import { WEARABLE, type TwinSlot } from "./twin-slot";

/** A grant's window in seconds (no end when `validUntil` is absent). */
export interface GrantWindow {
  readonly validFrom?: number;
  readonly validUntil?: number;
}

/**
 * Follow a reader's grant (see `TwinPipeline.grantReader`): re-wrap the covered blobs' keys for the reader, withdraw
 * those of categories no longer covered, and keep the grant in the index so that new records are sealed for it.
 */
export async function grantReader(
  ctx: PipelineContext,
  twinId: string,
  readerPublicKey: PublicKeyLike,
  categoryMask: number,
  window: GrantWindow,
): Promise<ReaderGrantSummary> {
  const slot = ctx.readable(twinId);
  if (!Number.isInteger(categoryMask) || categoryMask <= 0 || categoryMask > 0xffffffff) {
    throw new PipelineError("INVALID_OPTIONS", "categoryMask must be a non-zero uint32");
  }
  for (const bound of [window.validFrom, window.validUntil]) {
    if (bound !== undefined && (!Number.isSafeInteger(bound) || bound < 0)) {
      throw new PipelineError("INVALID_OPTIONS", "a grant's window is in whole seconds");
    }
  }
  const publicKey = hexlify(normalizePublicKey(readerPublicKey));
  const reader = addressOf(publicKey);
  if (window.validUntil !== undefined && window.validUntil <= ctx.nowSeconds()) {
    await withdrawReader(ctx, slot, reader, () => true);
    slot.index.grants = slot.index.grants.filter((grant) => grant.reader !== reader);
    await ctx.folder.save(slot.index);
    return { twinId: slot.index.twinId, reader, categoryMask: 0, records: 0, batches: 0, removedKeys: 0 };
  }
  const records = slot.index.records.filter((entry) => (entry.category & categoryMask) !== 0);
  const batches = (categoryMask & WEARABLE) !== 0 ? slot.index.batches : [];
  const cids = [...records.map((entry) => entry.anchor.cid), ...batches.map((batch) => batch.cid)];
  await ctx.options.vault.addReader(slot.index.twinId, cids, ctx.options.custodianKey, publicKey);
  // a narrowed grant: the keys of what it no longer covers go
  const removedKeys = await withdrawReader(ctx, slot, reader, (category) => (category & categoryMask) === 0);
  slot.index.grants = [
    ...slot.index.grants.filter((grant) => grant.reader !== reader),
    {
      reader,
      publicKey,
      categoryMask,
      ...(window.validFrom !== undefined ? { validFrom: window.validFrom } : {}),
      ...(window.validUntil !== undefined ? { validUntil: window.validUntil } : {}),
    },
  ];
  await ctx.folder.save(slot.index);
  return {
    twinId: slot.index.twinId,
    reader,
    categoryMask,
    records: records.length,
    batches: batches.length,
    removedKeys,
  };
}

/** Withdraw a reader's keys for the twin and forget its grant; returns how many wrapped keys were removed. */
export async function revokeReader(ctx: PipelineContext, twinId: string, reader: string): Promise<number> {
  const slot = ctx.readable(twinId);
  const address = getAddress(reader);
  const removed = await withdrawReader(ctx, slot, address, () => true);
  slot.index.grants = slot.index.grants.filter((grant) => grant.reader !== address);
  await ctx.folder.save(slot.index);
  return removed;
}

/** End the twin's grants whose `validUntil` has passed by the pipeline's clock; returns how many ended. */
export async function expireTwinGrants(ctx: PipelineContext, slot: TwinSlot): Promise<number> {
  if (slot.erasing || slot.index.erasedAt !== null) return 0;
  const now = ctx.nowSeconds();
  const expired = slot.index.grants.filter((grant) => grant.validUntil !== undefined && grant.validUntil <= now);
  if (expired.length === 0) return 0;
  for (const grant of expired) await withdrawReader(ctx, slot, grant.reader, () => true);
  slot.index.grants = slot.index.grants.filter((grant) => !expired.includes(grant));
  await ctx.folder.save(slot.index);
  return expired.length;
}

/** Remove a reader's keys of the twin's blobs whose category `drop` selects; returns how many were removed. */
async function withdrawReader(
  ctx: PipelineContext,
  slot: TwinSlot,
  reader: string,
  drop: (category: number) => boolean,
): Promise<number> {
  const cids = [
    ...slot.index.records.filter((entry) => drop(entry.category)).map((entry) => entry.anchor.cid),
    ...(drop(WEARABLE) ? slot.index.batches.map((batch) => batch.cid) : []),
  ];
  let removed = 0;
  for (const recordCid of cids) {
    if (await ctx.options.vault.keys.remove({ twinId: slot.index.twinId, recordCid, reader })) removed += 1;
  }
  return removed;
}
