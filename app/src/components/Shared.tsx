import { useState } from "preact/hooks";
import { emergencyReasonCommitment } from "../../../src/chain/commitments";
import { Purpose } from "../../../src/vocabulary";
import type { Chain } from "../env";
import type { Session } from "../session";
import { emergencyPolicy, grantsHeld, type GrantView } from "../twins";
import { Loading, Section, TxStatus, useChainRead, useTx } from "../ui";
import { categoryWords, purposeWords, PURPOSE_WORDS, shortHash, timeLeft } from "../vocab";
import { TwinView } from "./TwinView";

/**
 * A clinician's (or researcher's, or responder's) view: the patients from the grants they hold, and the same views
 * of a twin as the patient's for what the consent allows; a responder can break the glass on a twin by its id.
 */
export function Shared(props: { chain: Chain; session: Session }) {
  const { chain, session } = props;
  const data = useChainRead(
    chain,
    async (at) => {
      const [grants, opened] = await Promise.all([
        grantsHeld(chain, session.address, at),
        chain.consent.queryFilter(
          chain.consent.filters.EmergencyAccessOpened(undefined, session.address),
          0,
          at.blockTag,
        ),
      ]);
      return { grants, now: at.now, emergencies: [...new Set(opened.map((e) => e.args.twinId))] };
    },
    [session.address],
  );
  const [selected, setSelected] = useState<{ twinId: string; categories: number } | null>(null);
  const [purpose, setPurpose] = useState<number>(Purpose.TREATMENT);
  if (data.loading && !data.data) return <Loading what="your patients" />;
  if (data.error) return <p class="error">{data.error}</p>;
  const d = data.data!;
  const choose = (twinId: string, grant: GrantView | null) => {
    setPurpose(grant ? lowestBit(grant.purposes) : Purpose.EMERGENCY);
    if (grant) return setSelected({ twinId, categories: grant.categories });
    // An emergency access reads what the patient's emergency policy allows.
    void chain.head
      .at()
      .then((at) => emergencyPolicy(chain, twinId, at))
      .then((policy) => setSelected({ twinId, categories: policy.categories }));
  };
  return (
    <div>
      <Section title="Patients" id="patients" actions={<button onClick={data.reload}>Refresh</button>}>
        {d.grants.length === 0 && d.emergencies.length === 0 && <p class="muted">No patient has granted you access.</p>}
        <ul class="plain patients">
          {d.grants.map((g) => (
            <li key={g.twinId}>
              <button class="link" aria-pressed={selected?.twinId === g.twinId} onClick={() => choose(g.twinId, g)}>
                Twin {shortHash(g.twinId)}
              </button>{" "}
              — {categoryWords(g.categories).join(", ")} for {purposeWords(g.purposes).join(", ")};{" "}
              <span class="grant-state">
                {g.revokedAt !== 0
                  ? "revoked"
                  : g.validUntil <= d.now
                    ? "expired"
                    : `${timeLeft(g.validUntil, d.now)} left`}
              </span>
            </li>
          ))}
          {d.emergencies
            .filter((t) => !d.grants.some((g) => g.twinId === t))
            .map((t) => (
              <li key={t}>
                <button class="link" onClick={() => choose(t, null)}>
                  Twin {shortHash(t)}
                </button>{" "}
                — emergency access
              </li>
            ))}
        </ul>
        <BreakGlass chain={chain} session={session} onOpened={(twinId) => (data.reload(), choose(twinId, null))} />
      </Section>
      {selected && (
        <>
          <div class="controls">
            <label>
              Purpose of this view{" "}
              <select value={purpose} onChange={(e) => setPurpose(Number(e.currentTarget.value))}>
                {Object.entries(Purpose).map(([name, bit]) => (
                  <option key={name} value={bit}>
                    {PURPOSE_WORDS[name as keyof typeof Purpose]}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <TwinView
            key={`${selected.twinId}-${purpose}-${d.now}`}
            session={session}
            twinId={selected.twinId}
            purpose={purpose}
            categories={selected.categories}
          />
        </>
      )}
    </div>
  );
}

const lowestBit = (bits: number) => bits & -bits;
const noop = () => undefined;

function BreakGlass(props: { chain: Chain; session: Session; onOpened: (twinId: string) => void }) {
  const [twinId, setTwinId] = useState("");
  const [reason, setReason] = useState("");
  const [hours, setHours] = useState(4);
  const tx = useTx(props.chain, noop);
  return (
    <details class="break-glass">
      <summary>Emergency responder: break the glass</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          // The reason goes on chain only as a salted commitment; the responder keeps the opening for the audit.
          const commitment = emergencyReasonCommitment(reason);
          const opening = tx.run("Open emergency access", () =>
            props.chain.consent
              .connect(props.session.signer)
              .openEmergencyAccess(twinId, hours * 3600, commitment.commitment),
          );
          void opening.then((done) => done && props.onOpened(twinId));
        }}
      >
        <label>
          Twin id{" "}
          <input
            required
            pattern="^0x[0-9a-fA-F]{64}$"
            value={twinId}
            onInput={(e) => setTwinId(e.currentTarget.value.trim())}
            size={66}
          />
        </label>
        <label>
          Reason (kept by you; only its salted commitment goes on chain){" "}
          <input required value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        <label>
          Hours{" "}
          <input
            type="number"
            min={1}
            max={72}
            value={hours}
            onInput={(e) => setHours(Number(e.currentTarget.value))}
          />
        </label>
        <button type="submit" disabled={tx.busy}>
          Open emergency access
        </button>
      </form>
      <TxStatus state={tx} />
    </details>
  );
}
