import { useMemo, useState } from "preact/hooks";
import type { Bundle, Resource } from "@medplum/fhirtypes";
import type { VitalReading } from "../../../src/fhir/records";
import type { AnswerVerification } from "../../../src/service/client";
import {
  ALERT_CATEGORIES,
  CONDITIONS_MEDICATIONS_CATEGORIES,
  READING_CATEGORIES,
  SUMMARY_CATEGORIES,
} from "../../../src/service/queries";
import type { ReadingProof, RecordProof } from "../../../src/service/queries";
import { DataCategory } from "../../../src/vocabulary";
import type { Session } from "../session";
import { Loading, ProofBadge, Refusal, Section, useAsync, type ProofState } from "../ui";
import { signWords, unitWords, when } from "../vocab";
import { Chart, type ChartSeries } from "./Chart";

/**
 * A twin as its reader may see it: latest vitals, trends over a day / week / month, problems, medications,
 * allergies, alerts, and the timeline of encounters, procedures and immunizations; every value with its proof's
 * status. `categories` is what the reader's consent covers (null: the owner, everything); a view outside it is
 * said to be so, and the gateway's refusals are shown with their reason.
 */
export interface TwinViewProps {
  readonly session: Session;
  readonly twinId: string;
  readonly purpose: number;
  readonly categories: number | null;
}

const TIMELINE_CATEGORIES = DataCategory.ENCOUNTERS | DataCategory.PROCEDURES;
const covers = (granted: number | null, needed: number) => granted === null || (granted & needed) === needed;

export function TwinView(props: TwinViewProps) {
  const readings = props.categories === null ? READING_CATEGORIES : props.categories & READING_CATEGORIES;
  return (
    <div class="twin-view">
      <LatestVitals {...props} readings={readings || DataCategory.VITALS} />
      <Trends {...props} readings={readings || DataCategory.VITALS} />
      {covers(props.categories, SUMMARY_CATEGORIES) ? (
        <Clinical {...props} via="summary" />
      ) : covers(props.categories, CONDITIONS_MEDICATIONS_CATEGORIES) ? (
        <Clinical {...props} via="conditions-medications" />
      ) : (
        <NotCovered title="Problems, medications, allergies" />
      )}
      {covers(props.categories, ALERT_CATEGORIES) ? <Alerts {...props} /> : <NotCovered title="Alerts" />}
      {covers(props.categories, TIMELINE_CATEGORIES) ? <Timeline {...props} /> : <NotCovered title="Timeline" />}
    </div>
  );
}

function NotCovered(props: { title: string }) {
  return (
    <Section title={props.title}>
      <p class="muted">Not covered by your grant: the gateway is not asked.</p>
    </Section>
  );
}

/** The proof state of each reading of an answer, by position in `proofs.readings`. */
function readingStates(answer: { proofs: { readings?: readonly ReadingProof[] } }, v: AnswerVerification) {
  const failed = new Set(v.failures.map((f) => /^readings\[(\d+)\]/.exec(f)?.[1]).filter((i) => i !== undefined));
  return (answer.proofs.readings ?? []).map((p, i): { proof: ReadingProof; state: ProofState } => ({
    proof: p,
    state: failed.has(String(i))
      ? "failed"
      : p.anchor === null && p.recordAnchor === undefined
        ? "unanchored"
        : "checked",
  }));
}

function readingProofFields(p: ReadingProof): Record<string, unknown> {
  if (p.anchor !== null) {
    return {
      kind: "wearable batch (verifyReading)",
      merkleRoot: p.anchor.merkleRoot,
      source: p.anchor.source,
      block: p.anchor.blockNumber,
      readingHash: p.anchor.readingHash,
      "proof length": p.anchor.proof.length,
    };
  }
  return p.recordAnchor ? recordProofFields(p.recordAnchor) : {};
}

function recordProofFields(a: RecordProof["anchor"]): Record<string, unknown> {
  return a.kind === "records"
    ? {
        kind: "record batch (verifyRecord)",
        recordsRoot: a.recordsRoot,
        sequence: a.sequence,
        source: a.source,
        block: a.blockNumber,
        transaction: a.transactionHash,
        contentHash: a.contentHash,
      }
    : { kind: "update (UpdateRecorded)", sequence: a.sequence, block: a.blockNumber, transaction: a.transactionHash };
}

function LatestVitals(props: TwinViewProps & { readings: number }) {
  const { data, error, loading } = useAsync(
    () =>
      props.session.gateway.query(
        props.twinId,
        "latest-vitals",
        {},
        { purpose: props.purpose, category: props.readings },
      ),
    [props.twinId, props.purpose, props.readings],
  );
  return (
    <Section title="Latest vitals" id="latest-vitals">
      {loading && <Loading what="the latest vitals" />}
      {error && <p class="error">{error}</p>}
      {data && !data.ok && <Refusal error={data.error} status={data.status} what="latest vitals" />}
      {data && data.ok && (
        <>
          <StateLine verification={data.verification} state={data.body.proofs.state} />
          <ul class="vitals" aria-label="Latest vitals">
            {readingStates(data.body, data.verification).map(({ proof, state }) => (
              <li key={proof.reading.sign} class="vital" data-sign={proof.reading.sign}>
                <span class="vital-name">{signWords(proof.reading.sign)}</span>
                <span class="vital-value">
                  {formatValue(proof.reading)} <small>{unitWords(proof.reading.unit)}</small>
                </span>
                <span class="vital-time">{when(proof.reading.at)}</span>
                <ProofBadge state={state} proof={readingProofFields(proof)} label={signWords(proof.reading.sign)} />
              </li>
            ))}
          </ul>
        </>
      )}
    </Section>
  );
}

function formatValue(r: VitalReading): string {
  return Number.isInteger(r.value) ? String(r.value) : r.value.toFixed(1);
}

/** The state anchor line: which committed version the answer comes from, and whether every proof checked. */
function StateLine(props: {
  verification: AnswerVerification;
  state: { version: number; blockNumber: number; stateRoot: string; transactionHash: string } | null;
}) {
  const v = props.verification;
  const total = v.checked.readings + v.checked.records + v.checked.batches + (v.checked.state ? 1 : 0);
  return (
    <div class={`state-line ${v.valid ? "valid" : "invalid"}`}>
      <span data-testid="proof-summary">
        {v.valid ? `All ${total} proofs checked against the chain` : `${v.failures.length} of ${total} proofs failed`}
      </span>
      {props.state && (
        <ProofBadge
          state={v.valid ? "checked" : "failed"}
          label="twin state"
          proof={{
            kind: "twin state (TwinStateCommitted)",
            version: props.state.version,
            stateRoot: props.state.stateRoot,
            block: props.state.blockNumber,
            transaction: props.state.transactionHash,
          }}
        />
      )}
    </div>
  );
}

const CHART_SIGNS = ["heartRate", "oxygenSaturation", "glucose", "steps"] as const;
type Range = "day" | "week" | "month";
const RANGES: Record<Range, { ms: number; bucket: "raw" | "hour" | "day"; words: string }> = {
  day: { ms: 86_400_000, bucket: "raw", words: "every reading" },
  week: { ms: 7 * 86_400_000, bucket: "hour", words: "hourly min / mean / max" },
  month: { ms: 30 * 86_400_000, bucket: "day", words: "daily min / mean / max" },
};

function Trends(props: TwinViewProps & { readings: number }) {
  const [sign, setSign] = useState<(typeof CHART_SIGNS)[number]>("heartRate");
  const [range, setRange] = useState<Range>("day");
  const { data, error, loading } = useAsync(async () => {
    const latest = await props.session.gateway.query(
      props.twinId,
      "vitals-series",
      { sign, bucket: "hour" },
      { purpose: props.purpose, category: props.readings },
    );
    const end = latest.ok && latest.body.answer.to !== null ? latest.body.answer.to : Date.now();
    const spec = RANGES[range];
    const params = { sign, from: end - spec.ms, to: end, bucket: spec.bucket };
    return props.session.gateway.query(props.twinId, "vitals-series", params, {
      purpose: props.purpose,
      category: props.readings,
    });
  }, [props.twinId, props.purpose, props.readings, sign, range]);
  const chart = useMemo(() => (data && data.ok ? chartOf(data.body.answer) : null), [data]);
  return (
    <Section title="Trends" id="trends">
      <div class="controls">
        <label>
          Sign{" "}
          <select value={sign} onChange={(e) => setSign(e.currentTarget.value as typeof sign)}>
            {CHART_SIGNS.map((s) => (
              <option key={s} value={s}>
                {signWords(s)}
              </option>
            ))}
          </select>
        </label>
        <div role="group" aria-label="Range" class="segmented">
          {(Object.keys(RANGES) as Range[]).map((r) => (
            <button key={r} type="button" aria-pressed={range === r} onClick={() => setRange(r)}>
              {r}
            </button>
          ))}
        </div>
      </div>
      {loading && <Loading what="the series" />}
      {error && <p class="error">{error}</p>}
      {data && !data.ok && <Refusal error={data.error} status={data.status} what="series" />}
      {data && data.ok && chart && (
        <>
          <StateLine verification={data.verification} state={data.body.proofs.state} />
          <p class="muted">
            {RANGES[range].words}; {chart.times.length} points
            {data.body.proofs.batches
              ? `, from ${data.body.proofs.batches.length} anchored batches (each checked on chain)`
              : ", each reading's proof checked"}
          </p>
          {chart.times.length > 0 ? (
            <Chart
              title={`${signWords(sign)} — last ${range}`}
              times={chart.times}
              series={chart.series}
              unit={chart.unit}
            />
          ) : (
            <p class="muted">No readings in this range.</p>
          )}
        </>
      )}
    </Section>
  );
}

function chartOf(answer: import("../../../src/service/queries").VitalsSeriesAnswer) {
  const unit = unitWords(answer.unit);
  if (answer.bucket === "raw") {
    return {
      unit,
      times: answer.points.map((p) => p.at / 1000),
      series: [
        { label: signWords(answer.sign), values: answer.points.map((p) => p.value), color: "#0b5cad" },
      ] as ChartSeries[],
    };
  }
  const b = answer.buckets;
  return {
    unit,
    times: b.map((x) => x.start / 1000),
    series: [
      { label: "max", values: b.map((x) => x.max ?? null), color: "#b3261e", dash: [4, 4] },
      { label: "mean", values: b.map((x) => x.mean ?? null), color: "#0b5cad" },
      { label: "min", values: b.map((x) => x.min ?? null), color: "#1b6e20", dash: [4, 4] },
    ] as ChartSeries[],
  };
}

function Clinical(props: TwinViewProps & { via: "summary" | "conditions-medications" }) {
  const { data, error, loading } = useAsync(async () => {
    if (props.via === "summary") {
      const a = await props.session.gateway.query(props.twinId, "summary", {}, { purpose: props.purpose });
      if (!a.ok) return a;
      const s = a.body.answer;
      return { ...a, lists: { problems: s.problems, medications: s.activeMedications, allergies: s.allergies } };
    }
    const a = await props.session.gateway.query(
      props.twinId,
      "conditions-medications",
      { activeOnly: true },
      { purpose: props.purpose },
    );
    if (!a.ok) return a;
    return {
      ...a,
      lists: { problems: a.body.answer.conditions, medications: a.body.answer.medications, allergies: null },
    };
  }, [props.twinId, props.purpose, props.via]);
  const records = new Map<string, RecordProof>();
  const failed = new Set<number>();
  if (data && data.ok) {
    (data.body.proofs.records ?? []).forEach((r) => records.set(r.key, r));
    data.verification.failures.forEach((f) => {
      const i = /^records\[(\d+)\]/.exec(f)?.[1];
      if (i !== undefined) failed.add(Number(i));
    });
  }
  const item = (key: string, text: string, extra?: string) => {
    const proof = records.get(key);
    const index = data && data.ok ? (data.body.proofs.records ?? []).findIndex((r) => r.key === key) : -1;
    return (
      <li key={key}>
        <span>{text}</span>
        {extra && <span class="muted"> — {extra}</span>}{" "}
        <ProofBadge
          state={proof ? (failed.has(index) ? "failed" : "checked") : "unanchored"}
          proof={proof ? recordProofFields(proof.anchor) : null}
          label={text}
        />
      </li>
    );
  };
  return (
    <Section title="Problems, medications, allergies" id="clinical">
      {loading && <Loading what="the problem list" />}
      {error && <p class="error">{error}</p>}
      {data && !data.ok && <Refusal error={data.error} status={data.status} what="problem list" />}
      {data && data.ok && (
        <div class="columns">
          <div>
            <h3>Problems</h3>
            <ul class="plain">{data.lists.problems.map((p) => item(p.key, p.display ?? p.code ?? p.key, p.onset))}</ul>
          </div>
          <div>
            <h3>Medications</h3>
            <ul class="plain">
              {data.lists.medications.map((m) => item(m.key, m.display ?? m.code ?? m.key, m.since))}
            </ul>
          </div>
          {data.lists.allergies && (
            <div>
              <h3>Allergies</h3>
              <ul class="plain">
                {data.lists.allergies.length === 0 && <li>None recorded</li>}
                {data.lists.allergies.map((a) => item(a.key, a.display ?? a.code ?? a.key, a.criticality))}
              </ul>
            </div>
          )}
        </div>
      )}
    </Section>
  );
}

function Alerts(props: TwinViewProps) {
  const { data, error, loading } = useAsync(
    () => props.session.gateway.query(props.twinId, "alerts", {}, { purpose: props.purpose }),
    [props.twinId, props.purpose],
  );
  return (
    <Section title="Alerts" id="alerts">
      {loading && <Loading what="the alerts" />}
      {error && <p class="error">{error}</p>}
      {data && !data.ok && <Refusal error={data.error} status={data.status} what="alerts" />}
      {data && data.ok && (
        <>
          <StateLine verification={data.verification} state={data.body.proofs.state} />
          {data.body.answer.alerts.length === 0 && <p>No alerts.</p>}
          <ul class="plain alerts">
            {[...data.body.answer.alerts]
              .sort((a, b) => b.startAt - a.startAt)
              .slice(0, 20)
              .map((a) => (
                <li key={a.id} class={`alert alert-${a.severity} alert-${a.status}`}>
                  <strong>{a.rule}</strong> ({signWords(a.sign)}, {a.severity}) — {a.status}, from {when(a.startAt)}
                </li>
              ))}
          </ul>
        </>
      )}
    </Section>
  );
}

interface TimelineRow {
  readonly type: string;
  readonly text: string;
  readonly at: string;
}

function timelineOf(bundle: Bundle): TimelineRow[] {
  const rows: TimelineRow[] = [];
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource as Resource | undefined;
    if (r === undefined) continue;
    if (r.resourceType === "Encounter") {
      const text = r.type?.[0]?.text ?? r.type?.[0]?.coding?.[0]?.display ?? r.class?.code ?? "encounter";
      rows.push({ type: "Encounter", text, at: r.period?.start ?? "" });
    } else if (r.resourceType === "Procedure") {
      rows.push({
        type: "Procedure",
        text: r.code?.text ?? r.code?.coding?.[0]?.display ?? "procedure",
        at: r.performedDateTime ?? r.performedPeriod?.start ?? "",
      });
    } else if (r.resourceType === "Immunization") {
      rows.push({
        type: "Immunization",
        text: r.vaccineCode?.text ?? r.vaccineCode?.coding?.[0]?.display ?? "vaccine",
        at: r.occurrenceDateTime ?? "",
      });
    }
  }
  return rows.sort((a, b) => b.at.localeCompare(a.at));
}

function Timeline(props: TwinViewProps) {
  const { data, error, loading } = useAsync(
    () =>
      props.session.gateway.query(
        props.twinId,
        "fhir-export",
        {},
        { purpose: props.purpose, category: TIMELINE_CATEGORIES },
      ),
    [props.twinId, props.purpose],
  );
  const rows = data && data.ok ? timelineOf(data.body.answer.bundle) : [];
  return (
    <Section title="Timeline: encounters, procedures, immunizations" id="timeline">
      {loading && <Loading what="the timeline" />}
      {error && <p class="error">{error}</p>}
      {data && !data.ok && <Refusal error={data.error} status={data.status} what="timeline" />}
      {data && data.ok && (
        <>
          <StateLine verification={data.verification} state={data.body.proofs.state} />
          <ol class="timeline">
            {rows.length === 0 && <li>Nothing recorded.</li>}
            {rows.map((r, i) => (
              <li key={i} class={`tl-${r.type.toLowerCase()}`}>
                <span class="tl-type">{r.type}</span> <span>{r.text}</span>{" "}
                <time class="muted">{r.at.slice(0, 10)}</time>
              </li>
            ))}
          </ol>
        </>
      )}
    </Section>
  );
}
