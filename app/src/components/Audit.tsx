import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { verifyAccessLog } from "../../../src/service/client";
import type { ProvenAccessLogEntry } from "../../../src/service/access-log";
import { Purpose } from "../../../src/vocabulary";
import type { Chain } from "../env";
import type { Session } from "../session";
import { enrolmentsOf, type EnrolmentView } from "../studies";
import { emergencyAccesses, grantsOfTwin, type GrantView } from "../twins";
import { Loading, ProofBadge, Refusal, Section, useChainRead } from "../ui";
import { categoryWords, purposeWords, refusalWords, when } from "../vocab";
import { Contribution, StudyEnrolments, StudyEventItem, studyEvents, type StudyEvent } from "./Studies";
import { nameOf, Who } from "./Who";

/**
 * The audit trail: the twin's access-log entries (the gateway's signed access-log read), allowed and refused, each
 * with its Merkle proof to a root anchored on chain by the operator and the reason it was allowed or refused;
 * filters by reader, purpose and time; emergencies stand out. The trail reads itself again when the operator's
 * anchor of entries it shows as not anchored yet lands on chain.
 */
export function Audit(props: { chain: Chain; session: Session; twinId: string }) {
  const { chain, session, twinId } = props;
  const data = useChainRead(
    chain,
    async (at) => {
      const entries: ProvenAccessLogEntry[] = [];
      const failed: string[] = [];
      let cursor: number | undefined;
      for (let page = 0; page < 20; page++) {
        const answer = await session.gateway.accessLog(twinId, cursor);
        if (!answer.ok) return { refused: answer };
        entries.push(...answer.body.entries);
        const failures = await verifyAccessLog(answer.body, {
          updateLog: chain.updateLog,
          operator: chain.config.operator,
        });
        failed.push(...failures);
        if (answer.body.nextCursor === null) break;
        cursor = answer.body.nextCursor;
      }
      const [grants, accesses, enrolments] = await Promise.all([
        grantsOfTwin(chain, twinId, at),
        emergencyAccesses(chain, twinId, at),
        enrolmentsOf(chain, twinId, at),
      ]);
      const responders = new Set(accesses.map((a) => a.responder.toLowerCase()));
      return { entries, failed, grants, responders, enrolments };
    },
    [twinId],
  );
  // By default everyone but the patient: their own reads would bury the others'.
  const [reader, setReader] = useState("others");
  const [purpose, setPurpose] = useState(0);
  const [since, setSince] = useState("");
  const entries = data.data && "entries" in data.data ? data.data.entries! : [];
  const failed = data.data && "failed" in data.data ? data.data.failed! : [];
  const readers = useMemo(() => [...new Set(entries.map((e) => e.entry.reader))], [entries]);
  const failedEntries = useMemo(() => new Set(failed.map((f) => Number(/^entry (\d+):/.exec(f)?.[1] ?? -1))), [failed]);
  useAnchorWatch(chain, oldestWaiting(entries, session.address), data.loading, data.reload);
  const enrolments = data.data && "enrolments" in data.data ? data.data.enrolments! : [];
  const after = since === "" ? null : Date.parse(`${since}Z`);
  const shownEntries = entries
    .filter((e) =>
      reader === "" ? true : reader === "others" ? e.entry.reader !== session.address : e.entry.reader === reader,
    )
    .filter((e) => purpose === 0 || (e.entry.purpose & purpose) !== 0)
    .filter((e) => after === null || e.entry.time >= after);
  // Enrolments and withdrawals are the patient's own acts on chain: shown unless another reader is chosen.
  const shownEvents = studyEvents(enrolments)
    .filter((e) => reader === "" || reader === "others" || e.enrolment.sponsor === reader)
    .filter((e) => purpose === 0 || (e.enrolment.purpose & purpose) !== 0)
    .filter((e) => after === null || e.time >= after);
  const rows: ({ time: number; entry: ProvenAccessLogEntry } | { time: number; event: StudyEvent })[] = [
    ...shownEntries.map((e) => ({ time: e.entry.time, entry: e })),
    ...shownEvents.map((e) => ({ time: e.time, event: e })),
  ].sort((a, b) => b.time - a.time);
  return (
    <>
      <Section
        title="Audit trail"
        id="audit"
        actions={
          <button type="button" onClick={data.reload}>
            Refresh
          </button>
        }
      >
        <form class="controls filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter the audit trail">
          <label>
            Reader{" "}
            <select value={reader} onChange={(e) => setReader(e.currentTarget.value)}>
              <option value="others">everyone but you</option>
              <option value="">everyone</option>
              {readers.map((r) => (
                <option key={r} value={r}>
                  {nameOf(chain, r) ?? r}
                </option>
              ))}
            </select>
          </label>
          <label>
            Purpose{" "}
            <select value={purpose} onChange={(e) => setPurpose(Number(e.currentTarget.value))}>
              <option value={0}>any</option>
              {Object.entries(Purpose).map(([name, bit]) => (
                <option key={name} value={bit}>
                  {purposeWords(bit)[0]}
                </option>
              ))}
            </select>
          </label>
          <label>
            Since (UTC) <input type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
          </label>
        </form>
        {data.loading && !data.data && <Loading what="the audit trail" />}
        {data.error && <p class="error">{data.error}</p>}
        {data.data && "refused" in data.data && data.data.refused && !data.data.refused.ok && (
          <Refusal error={data.data.refused.body.error} status={data.data.refused.status} what="audit trail" />
        )}
        {data.data && "entries" in data.data && (
          <>
            <p class="muted">
              {entries.length} entries; {entries.filter((e) => e.anchor !== null).length} anchored on chain (the gateway
              anchors every few seconds; this list updates itself when it does),{" "}
              {failed.length === 0 ? "every anchored proof checked" : `${failed.length} proofs failed`}.
            </p>
            <ol class="audit" aria-label="Access-log entries, newest first">
              {rows.map((row) =>
                "event" in row ? (
                  <StudyEventItem
                    key={`${row.event.kind}-${row.event.enrolment.studyId}`}
                    chain={chain}
                    event={row.event}
                  />
                ) : (
                  <AuditEntry
                    key={row.entry.entry.index}
                    chain={chain}
                    item={row.entry}
                    failed={failedEntries.has(row.entry.entry.index)}
                    grants={data.data!.grants!}
                    responders={data.data!.responders!}
                    enrolments={enrolments}
                  />
                ),
              )}
            </ol>
          </>
        )}
      </Section>
      {chain.studies && data.data && "enrolments" in data.data && (
        <StudyEnrolments
          chain={chain}
          session={session}
          twinId={twinId}
          enrolments={enrolments}
          onChanged={data.reload}
        />
      )}
    </>
  );
}

/**
 * The oldest entry shown as not anchored yet, leaving out the reader's own reads of the log: each read of the trail
 * adds one, which the next anchor covers, so waiting for those would read the trail again for ever.
 */
function oldestWaiting(entries: readonly ProvenAccessLogEntry[], self: string): number | null {
  const waiting = entries.filter(
    (e) =>
      e.anchor === null && !(e.entry.queryType === "access-log" && e.entry.reader.toLowerCase() === self.toLowerCase()),
  );
  return waiting.length === 0 ? null : Math.min(...waiting.map((e) => e.entry.index));
}

const ANCHOR_POLL_MS = 2_000;

/**
 * While entries wait for their anchor (from `waiting`, an entry index), follows the chain's head and the operator's
 * `AccessLogAnchored` events; once an anchor covers `waiting`, calls `reload` (again on each poll until the trail
 * shows the entry anchored, when `waiting` moves on or becomes null); never while a read is under way (`loading`).
 */
function useAnchorWatch(chain: Chain, waiting: number | null, loading: boolean, reload: () => void): void {
  const busy = useRef(loading);
  busy.current = loading;
  useEffect(() => {
    if (waiting === null) return;
    let live = true;
    let from = 0;
    let anchoredTo = -1;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const filter = chain.updateLog.filters.AccessLogAnchored(chain.config.operator);
    const poll = async () => {
      const at = await chain.head.at();
      if (at.blockTag >= from) {
        for (const e of await chain.updateLog.queryFilter(filter, from, at.blockTag)) {
          anchoredTo = Math.max(anchoredTo, Number(e.args.toIndex));
        }
        from = at.blockTag + 1;
      }
      if (live && !busy.current && anchoredTo >= waiting) reload();
    };
    const schedule = () => {
      timer = setTimeout(() => {
        poll()
          .catch(() => undefined) // a failed poll is retried at the next one
          .finally(() => live && schedule());
      }, ANCHOR_POLL_MS);
    };
    schedule();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [chain, waiting, reload]);
}

function AuditEntry(props: {
  chain: Chain;
  item: ProvenAccessLogEntry;
  failed: boolean;
  grants: GrantView[];
  responders: Set<string>;
  enrolments: readonly EnrolmentView[];
}) {
  const { entry, anchor, proof } = props.item;
  const emergency = (entry.purpose & Purpose.EMERGENCY) !== 0;
  const allowed = entry.decision === "allowed";
  const contributed = entry.decision === "contributed";
  const outcome = allowed ? "allowed" : contributed ? "contributed" : "refused";
  return (
    <li class={`audit-entry ${outcome} ${emergency ? "emergency" : ""}`} data-decision={entry.decision}>
      <div class="audit-head">
        {emergency && <span class="badge emergency-badge">EMERGENCY</span>}
        <span class={`badge ${outcome === "refused" ? "refused-badge" : "ok-badge"}`}>{outcome}</span>
        <time>{when(entry.time)}</time>
      </div>
      {contributed ? (
        <Contribution chain={props.chain} entry={entry} enrolments={props.enrolments} />
      ) : (
        <div>
          <Who chain={props.chain} address={entry.reader} /> — {entry.queryType}
          {entry.purpose !== 0 && <> for {purposeWords(entry.purpose).join(", ")}</>}
          {entry.category !== 0 && <> ({categoryWords(entry.category).join(", ")})</>}
        </div>
      )}
      <div class="reason">Why: {reasonOf(props.item, props.grants, props.responders, props.chain)}</div>
      <ProofBadge
        state={anchor === null ? "unanchored" : props.failed ? "failed" : "checked"}
        label={`entry ${entry.index}`}
        proof={
          anchor === null
            ? null
            : {
                kind: "access-log root (anchorAccessLog)",
                index: entry.index,
                root: anchor.root,
                range: `${anchor.fromIndex}–${anchor.toIndex}`,
                block: anchor.blockNumber,
                "proof length": proof?.length ?? 0,
              }
        }
      />
    </li>
  );
}

/** Which grant or policy allowed an entry, or what was missing. */
function reasonOf(item: ProvenAccessLogEntry, grants: GrantView[], responders: Set<string>, chain: Chain): string {
  const { entry } = item;
  if (entry.decision === "contributed")
    return "you enrolled this twin in the sponsor's study: its answers count the twin (noisy, never alone)";
  if (entry.decision !== "allowed") return refusalWords(entry.decision);
  if (entry.queryType === "access-log") return "the twin's owner (or a delegate) reads the log";
  const reader = entry.reader.toLowerCase();
  if ((entry.purpose & Purpose.EMERGENCY) !== 0 && responders.has(reader))
    return "emergency access under your emergency policy";
  const grant = grants.find((g) => g.grantee.toLowerCase() === reader);
  if (grant)
    return `grant of ${categoryWords(grant.categories).join(", ")} for ${purposeWords(grant.purposes).join(", ")}`;
  if (nameOf(chain, entry.reader) === "Patient") return "you, the owner";
  return "owner or delegate";
}
