import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import type { Chain } from "./env";
import type { ReadPoint, Sent } from "./head";
import { refusalWords, shortHash } from "./vocab";

/** Small shared pieces of the page: sections, the proof badge, refusals, transactions with their outcome. */

export function Section(props: {
  title: string;
  id?: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  const headingId = `${props.id ?? props.title.toLowerCase().replace(/[^a-z]+/g, "-")}-heading`;
  return (
    <section class="card" aria-labelledby={headingId}>
      <div class="card-head">
        <h2 id={headingId}>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

export type ProofState = "checked" | "failed" | "unanchored" | "pending";

const PROOF_WORDS: Record<ProofState, string> = {
  checked: "✓ proof checked",
  failed: "✗ proof failed",
  unanchored: "… not anchored yet",
  pending: "checking…",
};

/** Whether a value's proof was checked against the chain; opening it shows the proof. */
export function ProofBadge(props: { state: ProofState; proof?: Record<string, unknown> | null; label?: string }) {
  return (
    <details class={`proof proof-${props.state}`}>
      <summary aria-label={`${props.label ? `${props.label}: ` : ""}${PROOF_WORDS[props.state]}; show the proof`}>
        {PROOF_WORDS[props.state]}
      </summary>
      {props.proof ? <ProofTable proof={props.proof} /> : <p>No proof with this value.</p>}
    </details>
  );
}

function ProofTable(props: { proof: Record<string, unknown> }) {
  return (
    <dl class="proof-table">
      {Object.entries(props.proof)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>
              <code>{show(v)}</code>
            </dd>
          </div>
        ))}
    </dl>
  );
}

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? "[]" : `[${value.map((v) => show(v)).join(", ")}]`;
  if (typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value)) return shortHash(value);
  return String(value);
}

/** A refusal, with its reason in words: never a blank page. */
export function Refusal(props: { error: string; status?: number; what?: string }) {
  return (
    <div class="refusal" role="alert">
      <strong>Refused{props.what ? `: ${props.what}` : ""}</strong> — {refusalWords(props.error)}{" "}
      <span class="code">
        ({props.status !== undefined ? `HTTP ${props.status} ` : ""}
        {props.error})
      </span>
    </div>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {props.what}…
    </p>
  );
}

/** A chain error in words: the contract's custom error by name when ethers decoded it. */
export function describeError(error: unknown): string {
  const e = error as { revert?: { name: string; args: unknown[] }; shortMessage?: string; message?: string };
  if (e.revert) return `${e.revert.name}(${e.revert.args.map((a) => String(a)).join(", ")})`;
  return e.shortMessage ?? e.message ?? String(error);
}

export interface TxState {
  readonly busy: boolean;
  readonly message: string | null;
  readonly error: string | null;
}

/**
 * Runs the page's actions one at a time and says what happened (in a live region). An action sends a transaction (or
 * has one sent) and hands it back; its receipt is awaited and its block recorded (`chain.head.settle`), and only then
 * is `onDone` called: the views it reloads read at or after that block, so they show the action's effect.
 */
export function useTx(chain: Chain, onDone: () => void) {
  const [state, setState] = useState<TxState>({ busy: false, message: null, error: null });
  const run = useCallback(
    async (what: string, send: () => Promise<Sent | void>): Promise<boolean> => {
      setState({ busy: true, message: `${what}…`, error: null });
      try {
        const sent = await send();
        const receipt = sent ? await chain.head.settle(sent) : null;
        setState({
          busy: false,
          message: receipt ? `${what}: done in block ${receipt.blockNumber}` : `${what}: done`,
          error: null,
        });
        onDone();
        return true;
      } catch (error) {
        setState({ busy: false, message: null, error: `${what} failed: ${describeError(error)}` });
        return false;
      }
    },
    [chain, onDone],
  );
  return { ...state, run };
}

export function TxStatus(props: { state: TxState }) {
  return (
    <div class="tx-status" role="status" aria-live="polite">
      {props.state.message && <p class="ok">{props.state.message}</p>}
      {props.state.error && <p class="error">{props.state.error}</p>}
    </div>
  );
}

/** Loads something async, again when `deps` change or `reload()` is called. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]) {
  const [value, setValue] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setValue((v) => ({ ...v, loading: true }));
    load().then(
      (data) => live && setValue({ data, loading: false }),
      (error: unknown) => live && setValue({ error: describeError(error), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...value, reload };
}

/**
 * Loads something from the chain at one block (`chain.head.at()`: the node's head, never before a block the page's
 * actions were mined in), again when `deps` change or `reload()` is called.
 */
export function useChainRead<T>(chain: Chain, load: (at: ReadPoint) => Promise<T>, deps: unknown[]) {
  return useAsync(async () => load(await chain.head.at()), [chain, ...deps]);
}
