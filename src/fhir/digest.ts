import { createHash } from "crypto";
import type { TwinRecord } from "./records";

/**
 * Content digests of records, so that a re-ingest can tell an unchanged record (same key, same
 * digest: store and anchor nothing) from a changed one (same key, other digest: a new version)
 * and a new one. The digest covers the resource without `meta.versionId` and `meta.lastUpdated`
 * (a server bumps those when it re-serves the very same content) and the fields ingest derives
 * (kind, category, code, display, status, clinical time), in a canonical JSON form: members
 * sorted by key, no whitespace, numbers as JavaScript writes them.
 */

/** The digest of a record's content: `sha256:` and 64 hex digits. */
export function recordContentDigest(record: Omit<TwinRecord, "digest">): string {
  const { resource, key, kind, category, effectiveAt, display, code, status } = record;
  const content = { key, kind, category, effectiveAt, display, code, status, resource: withoutVolatileMeta(resource) };
  return `sha256:${createHash("sha256").update(canonical(content), "utf8").digest("hex")}`;
}

function withoutVolatileMeta(resource: object): object {
  const meta = (resource as { meta?: Record<string, unknown> }).meta;
  if (meta === undefined || (meta.versionId === undefined && meta.lastUpdated === undefined)) return resource;
  const { versionId: _v, lastUpdated: _l, ...rest } = meta;
  const copy: Record<string, unknown> = { ...(resource as Record<string, unknown>) };
  if (Object.keys(rest).length > 0) copy.meta = rest;
  else delete copy.meta;
  return copy;
}

/**
 * Canonical JSON: sorted members, undefined members left out, no whitespace. Recursive: ingest
 * has bounded the depth (`maxDepth`) before any record is digested.
 */
function canonical(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++)
      out += (i > 0 ? "," : "") + canonical(value[i] === undefined ? null : value[i]);
    return `${out}]`;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const inner = o[key];
    if (inner === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(key)}:${canonical(inner)}`;
    first = false;
  }
  return `${out}}`;
}

/** What a re-ingest must do with each record, given the digests already held per key. */
export interface ReingestPlan {
  /** Keys not held before: store and anchor. */
  readonly added: TwinRecord[];
  /** Keys held with another digest: store and anchor as a new version. */
  readonly changed: TwinRecord[];
  /** Keys held with the same digest: store and anchor nothing. */
  readonly unchanged: string[];
}

/**
 * Sorts freshly ingested records against the digests a twin already holds (`key` to digest).
 * Records without a digest (built by hand) count as changed when their key is held.
 */
export function planReingest(held: ReadonlyMap<string, string>, records: readonly TwinRecord[]): ReingestPlan {
  const plan = { added: [] as TwinRecord[], changed: [] as TwinRecord[], unchanged: [] as string[] };
  for (const record of records) {
    const before = held.get(record.key);
    const digest = record.digest ?? recordContentDigest(record);
    if (before === undefined) plan.added.push(record);
    else if (before === digest) plan.unchanged.push(record.key);
    else plan.changed.push(record);
  }
  return plan;
}
