import type { AccessLogEntry } from "../../../src/service/access-log";
import type { Chain } from "../env";
import type { Session } from "../session";
import { parseContributionType, studiesOfContribution, type EnrolmentView } from "../studies";
import { Section, TxStatus, useTx } from "../ui";
import { categoryWords, purposeWords, when } from "../vocab";
import { Who } from "./Who";

/**
 * The twin's cohort studies in the audit trail: its enrolments (with a withdrawal at any time), each enrolment and
 * withdrawal as an event of the trail, and the access-log entries of its contributions to a study's answers.
 */
export function StudyEnrolments(props: {
  chain: Chain;
  session: Session;
  twinId: string;
  enrolments: readonly EnrolmentView[];
  onChanged: () => void;
}) {
  const { chain, twinId } = props;
  const tx = useTx(chain, props.onChanged);
  const studies = chain.studies?.connect(props.session.signer);
  return (
    <Section title="Studies" id="studies">
      <TxStatus state={tx} />
      {props.enrolments.length === 0 && <p class="muted">This twin is enrolled in no study.</p>}
      <ul class="plain enrolments">
        {props.enrolments.map((e) => (
          <li key={String(e.studyId)} class="enrolment" data-study={String(e.studyId)}>
            Study {String(e.studyId)} (sponsor <Who chain={chain} address={e.sponsor} />;{" "}
            {categoryWords(e.categories).join(", ")} for {purposeWords(e.purpose).join(", ")}; {e.status}):{" "}
            <span class="enrolment-state">
              {e.withdrawnBlock === 0
                ? `enrolled since block ${e.enrolledBlock}`
                : `withdrawn at block ${e.withdrawnBlock} (enrolled from block ${e.enrolledBlock})`}
            </span>{" "}
            {e.withdrawnBlock === 0 && studies && (
              <button
                type="button"
                disabled={tx.busy}
                onClick={() => tx.run(`Withdraw from study ${e.studyId}`, () => studies.withdraw(e.studyId, twinId))}
              >
                Withdraw
              </button>
            )}
          </li>
        ))}
      </ul>
      <p class="muted">
        A withdrawal holds from its block: no answer computed at that block or later counts this twin. It is final for
        that study.
      </p>
    </Section>
  );
}

/** An enrolment or a withdrawal, as an event of the trail (on chain, not in the gateway's log). */
export interface StudyEvent {
  readonly kind: "enrolled" | "withdrew";
  readonly enrolment: EnrolmentView;
  readonly time: number;
  readonly block: number;
}

export function studyEvents(enrolments: readonly EnrolmentView[]): StudyEvent[] {
  return enrolments.flatMap((e) => [
    { kind: "enrolled" as const, enrolment: e, time: e.enrolledAt, block: e.enrolledBlock },
    ...(e.withdrawnAt === null
      ? []
      : [{ kind: "withdrew" as const, enrolment: e, time: e.withdrawnAt, block: e.withdrawnBlock }]),
  ]);
}

export function StudyEventItem(props: { chain: Chain; event: StudyEvent }) {
  const { kind, enrolment: e, time, block } = props.event;
  return (
    <li class={`audit-entry study-event ${kind}`} data-study={String(e.studyId)}>
      <div class="audit-head">
        <span class="badge study-badge">study</span>
        <time>{when(time)}</time>
      </div>
      <div>
        {kind === "enrolled" ? "Enrolled in" : "Withdrew from"} study {String(e.studyId)} (sponsor{" "}
        <Who chain={props.chain} address={e.sponsor} />)
      </div>
      <div class="reason">On chain: StudyRegistry, block {block}</div>
    </li>
  );
}

/** "contributed vitals to study 1 (sponsor …)": a cohort answer computed over this twin (the entry's reader is the sponsor). */
export function Contribution(props: { chain: Chain; entry: AccessLogEntry; enrolments: readonly EnrolmentView[] }) {
  const { entry } = props;
  const studies = studiesOfContribution(props.enrolments, entry.reader, entry.time, entry.queryType);
  const ids = studies.map((s) => String(s.studyId));
  return (
    <div class="contribution">
      contributed {entry.category !== 0 ? categoryWords(entry.category).join(", ") : "data"} to{" "}
      {ids.length === 0 ? "a study" : `study ${ids.join(" or ")}`} (sponsor{" "}
      <Who chain={props.chain} address={entry.reader} />
      ): {parseContributionType(entry.queryType).aggregate} of the cohort
    </div>
  );
}
