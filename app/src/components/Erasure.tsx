import { useState } from "preact/hooks";
import type { Chain } from "../env";
import type { Session } from "../session";
import { Section, TxStatus, useTx } from "../ui";

/** Erasing the twin: what it destroys and what stays on chain, said before the confirmation. */
export function Erasure(props: {
  chain: Chain;
  session: Session;
  twinId: string;
  erased: boolean;
  onErased: () => void;
}) {
  const [understood, setUnderstood] = useState(false);
  const [typed, setTyped] = useState("");
  const [result, setResult] = useState<string | null>(null);
  const tx = useTx(props.chain, props.onErased);
  const erase = () =>
    tx.run("Erase the twin", async () => {
      const sent = await props.chain.registry.connect(props.session.signer).eraseTwin(props.twinId);
      // Mined before the service is asked: it acts only when the chain says the twin is erased.
      const receipt = await props.chain.head.settle(sent);
      const response = await fetch(`/app-api/erased/${props.twinId}`, { method: "POST" });
      const body = (await response.json()) as { destroyedKeys?: number; redactedEntries?: number; message?: string };
      setResult(
        response.ok
          ? `The hospital destroyed ${body.destroyedKeys ?? 0} keys and reduced ${body.redactedEntries ?? 0} audit entries to what the audit needs.`
          : `The twin is erased on chain; the hospital's service answered: ${body.message ?? response.status}.`,
      );
      return receipt;
    });
  return (
    <Section title="Erase this twin" id="erasure">
      <div class="statement">
        <h3>What erasing destroys</h3>
        <ul>
          <li>
            The keys that decrypt your records and readings, at the hospital's service: the encrypted data can no longer
            be read by anyone.
          </li>
          <li>
            All access: every grant and emergency access stops working; the gateway answers “erased” to every query.
          </li>
          <li>
            In the gateway's audit trail: who read, what and why. Only each entry's time, decision and hash remain.
          </li>
        </ul>
        <h3>What stays on chain</h3>
        <ul>
          <li>The twin's pseudonymous id, its status “erased”, and that you erased it.</li>
          <li>
            The hashes and Merkle roots that anchored your data (no data, no names): proof that the data existed, which
            nobody can open without the destroyed keys.
          </li>
          <li>
            The consent events (grants, revocations, emergency accesses) already on chain, and the audit trail's
            anchored roots.
          </li>
        </ul>
        <p>
          <strong>This cannot be undone.</strong>
        </p>
      </div>
      {props.erased && <p class="ok">This twin is erased.</p>}
      <label>
        <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.currentTarget.checked)} /> I
        understand what is destroyed and what stays
      </label>
      <label>
        Type <kbd>ERASE</kbd> to confirm{" "}
        <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} aria-label="Type ERASE to confirm" />
      </label>
      <button
        class="danger"
        type="button"
        disabled={props.erased || !understood || typed !== "ERASE" || tx.busy}
        onClick={erase}
      >
        Erase the twin
      </button>
      <TxStatus state={tx} />
      {result && (
        <p class="ok" role="status">
          {result}
        </p>
      )}
    </Section>
  );
}
