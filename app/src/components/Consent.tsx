import { useState } from "preact/hooks";
import { computeAddress } from "ethers";
import { randomGrantNonce, signGrant } from "../../../src/chain/typed-data";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import type { Chain } from "../env";
import type { Session } from "../session";
import {
  blockedAccounts,
  consentRequests,
  emergencyAccesses,
  emergencyPolicy,
  grantsOfTwin,
  type GrantView,
} from "../twins";
import { Loading, Section, TxStatus, useChainRead, useTx } from "../ui";
import {
  ACTION_WORDS,
  actionWords,
  CATEGORY_WORDS,
  categoryWords,
  PURPOSE_WORDS,
  purposeWords,
  shortHash,
  timeLeft,
  when,
} from "../vocab";
import { Who } from "./Who";

/**
 * Who can see what: the twin's grants with their terms and time left (revoke, narrow), a form to grant (signed
 * EIP-712 and relayed as grantBySig, or sent as grant), consent requests to approve or deny, the emergency policy,
 * and the emergency accesses (close, block the responder).
 */
export function Consent(props: { chain: Chain; session: Session; twinId: string }) {
  const { chain, session, twinId } = props;
  const data = useChainRead(
    chain,
    async (at) => {
      const [grants, policy, accesses, requests, blocked] = await Promise.all([
        grantsOfTwin(chain, twinId, at),
        emergencyPolicy(chain, twinId, at),
        emergencyAccesses(chain, twinId, at),
        consentRequests(chain, twinId, at),
        blockedAccounts(chain, twinId, at),
      ]);
      return { grants, policy, accesses, requests, blocked, now: at.now };
    },
    [twinId],
  );
  const tx = useTx(chain, data.reload);
  const consent = chain.consent.connect(session.signer);
  if (data.loading && !data.data) return <Loading what="the consent" />;
  if (data.error) return <p class="error">{data.error}</p>;
  const d = data.data!;
  return (
    <div>
      <TxStatus state={tx} />
      <Section title="Grants" id="grants">
        <GrantTable
          grants={d.grants}
          now={d.now}
          chain={chain}
          busy={tx.busy}
          onRevoke={(g) => tx.run("Revoke", () => consent.revoke(twinId, g.grantee))}
          onNarrow={(g, categories, until) =>
            tx.run("Narrow", () =>
              consent.updateGrant(twinId, g.grantee, categories, g.actions, g.purposes, g.validFrom, until),
            )
          }
        />
      </Section>
      <Section title="Grant access" id="grant-form">
        <GrantForm chain={chain} session={session} twinId={twinId} busy={tx.busy} run={tx.run} />
      </Section>
      <Section title="Consent requests" id="requests">
        {d.requests.filter((r) => r.status === 1).length === 0 && <p class="muted">No open requests.</p>}
        <ul class="plain">
          {d.requests
            .filter((r) => r.status === 1)
            .map((r) => (
              <li key={String(r.id)}>
                <Who chain={chain} address={r.requester} /> asks for {categoryWords(r.categories).join(", ")} for{" "}
                {purposeWords(r.purposes).join(", ")}, {Math.round(r.duration / 86_400)} days (expires{" "}
                {when(r.expiresAt * 1000)}){" "}
                <button
                  disabled={tx.busy}
                  onClick={() => tx.run("Approve", () => consent.grantRequest(r.id, Action.READ, 0))}
                >
                  Approve
                </button>{" "}
                <button disabled={tx.busy} onClick={() => tx.run("Deny", () => consent.denyRequest(r.id))}>
                  Deny
                </button>
              </li>
            ))}
        </ul>
      </Section>
      <Section title="Emergency (break-glass) policy" id="emergency-policy">
        <EmergencyPolicyForm
          policy={d.policy}
          busy={tx.busy}
          onSave={(allowed, hours, categories) =>
            tx.run("Set the emergency policy", () =>
              consent.setEmergencyPolicy(twinId, allowed, allowed ? hours * 3600 : 0, allowed ? categories : 0),
            )
          }
        />
      </Section>
      <Section title="Emergency accesses" id="emergency-accesses">
        {d.accesses.length === 0 && <p class="muted">No responder has opened emergency access.</p>}
        <ul class="plain">
          {d.accesses.map((a) => {
            const open = a.until > d.now;
            return (
              <li key={a.responder} class={open ? "emergency-open" : ""}>
                <Who chain={chain} address={a.responder} />:{" "}
                {open ? (
                  <strong>open, {timeLeft(a.until, d.now)} left</strong>
                ) : (
                  <span>closed{a.cooldownUntil > d.now ? ` (cooldown ${timeLeft(a.cooldownUntil, d.now)})` : ""}</span>
                )}
                {a.openedAt > 0 && <span> since {when(a.openedAt * 1000)}</span>}; reason commitment{" "}
                <code title={a.reasonHash}>{shortHash(a.reasonHash)}</code>{" "}
                {open && (
                  <button
                    disabled={tx.busy}
                    onClick={() =>
                      tx.run("Close the emergency access", () => consent.closeEmergencyAccess(twinId, a.responder))
                    }
                  >
                    Close emergency access
                  </button>
                )}{" "}
                <button
                  disabled={tx.busy}
                  onClick={() =>
                    tx.run(a.blocked ? "Unblock" : "Block the responder", () =>
                      consent.setBlocked(twinId, a.responder, !a.blocked),
                    )
                  }
                >
                  {a.blocked ? "Unblock responder" : "Block responder"}
                </button>
              </li>
            );
          })}
        </ul>
        {d.blocked.length > 0 && (
          <p>
            Blocked on this twin:{" "}
            {d.blocked.map((b) => (
              <Who key={b} chain={chain} address={b} />
            ))}
          </p>
        )}
      </Section>
    </div>
  );
}

function grantState(g: GrantView, now: number): string {
  if (g.revokedAt !== 0) return `revoked ${when(g.revokedAt * 1000)}`;
  if (g.validUntil <= now) return "expired";
  if (g.validFrom > now) return `starts in ${timeLeft(g.validFrom, now)}`;
  return `${timeLeft(g.validUntil, now)} left`;
}

function GrantTable(props: {
  grants: GrantView[];
  now: number;
  chain: Chain;
  busy: boolean;
  onRevoke: (g: GrantView) => void;
  onNarrow: (g: GrantView, categories: number, until: number) => void;
}) {
  const [narrowing, setNarrowing] = useState<string | null>(null);
  if (props.grants.length === 0) return <p class="muted">No grants: nobody but you can read this twin.</p>;
  return (
    <div class="table-scroll">
      <table class="grants">
        <caption class="sr-only">Grants on this twin</caption>
        <thead>
          <tr>
            <th scope="col">Who</th>
            <th scope="col">Categories</th>
            <th scope="col">Actions</th>
            <th scope="col">Purposes</th>
            <th scope="col">Window</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span class="sr-only">Change</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.grants.map((g) => {
            const live = g.revokedAt === 0 && g.validUntil > props.now;
            return (
              <tr key={g.grantee} data-grantee={g.grantee} class={live ? "live" : "ended"}>
                <td>
                  <Who chain={props.chain} address={g.grantee} />
                </td>
                <td>{categoryWords(g.categories).join(", ")}</td>
                <td>{actionWords(g.actions).join(", ")}</td>
                <td>{purposeWords(g.purposes).join(", ")}</td>
                <td>
                  {when(g.validFrom * 1000)} – {when(g.validUntil * 1000)}
                </td>
                <td class="grant-state">{grantState(g, props.now)}</td>
                <td class="row-actions">
                  {live && (
                    <>
                      <button disabled={props.busy} onClick={() => props.onRevoke(g)}>
                        Revoke
                      </button>{" "}
                      <button
                        aria-expanded={narrowing === g.grantee}
                        onClick={() => setNarrowing(narrowing === g.grantee ? null : g.grantee)}
                      >
                        Narrow…
                      </button>
                    </>
                  )}
                  {narrowing === g.grantee && (
                    <NarrowForm
                      grant={g}
                      now={props.now}
                      busy={props.busy}
                      onNarrow={(c, u) => props.onNarrow(g, c, u)}
                    />
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function NarrowForm(props: {
  grant: GrantView;
  now: number;
  busy: boolean;
  onNarrow: (categories: number, until: number) => void;
}) {
  const [categories, setCategories] = useState(props.grant.categories);
  const [days, setDays] = useState(Math.max(1, Math.ceil((props.grant.validUntil - props.now) / 86_400)));
  return (
    <form
      class="narrow"
      onSubmit={(e) => {
        e.preventDefault();
        props.onNarrow(categories, Math.min(props.grant.validUntil, props.now + days * 86_400));
      }}
    >
      <Bits
        legend="Keep categories"
        table={DataCategory}
        words={CATEGORY_WORDS}
        value={categories}
        within={props.grant.categories}
        onChange={setCategories}
      />
      <label>
        Days left <input type="number" min={1} value={days} onInput={(e) => setDays(Number(e.currentTarget.value))} />
      </label>
      <button type="submit" disabled={props.busy || categories === 0}>
        Save narrower grant
      </button>
    </form>
  );
}

/** Checkboxes for the bits of a vocabulary table. */
export function Bits<T extends Record<string, number>>(props: {
  legend: string;
  table: T;
  words: Record<keyof T, string>;
  value: number;
  within?: number;
  onChange: (bits: number) => void;
}) {
  return (
    <fieldset class="bits">
      <legend>{props.legend}</legend>
      {(Object.keys(props.table) as (keyof T & string)[])
        .filter((name) => props.within === undefined || (props.within & props.table[name]!) !== 0)
        .map((name) => {
          const bit = props.table[name]!;
          return (
            <label key={name}>
              <input
                type="checkbox"
                name={name}
                checked={(props.value & bit) !== 0}
                onChange={(e) => props.onChange(e.currentTarget.checked ? props.value | bit : props.value & ~bit)}
              />{" "}
              {props.words[name]}
            </label>
          );
        })}
    </fieldset>
  );
}

function GrantForm(props: {
  chain: Chain;
  session: Session;
  twinId: string;
  busy: boolean;
  run: ReturnType<typeof useTx>["run"];
}) {
  const { chain, session, twinId } = props;
  const others = chain.config.demoAccounts.filter((a) => a.role !== "patient");
  const [grantee, setGrantee] = useState("");
  const [categories, setCategories] = useState<number>(DataCategory.VITALS | DataCategory.WEARABLE_STREAMS);
  const [actions, setActions] = useState<number>(Action.READ);
  const [purposes, setPurposes] = useState<number>(Purpose.TREATMENT);
  const [days, setDays] = useState(30);
  const [how, setHow] = useState<"sig" | "tx">("sig");
  const submit = (e: Event) => {
    e.preventDefault();
    props.run(how === "sig" ? "Grant (signed, relayed as grantBySig)" : "Grant", async () => {
      const at = await chain.head.at();
      const now = at.now;
      const head = at.timestamp;
      const terms = {
        twinId,
        grantee,
        categories,
        actions,
        purposes,
        // From a little before the earlier of the chain's time and the clock: the grant holds at once whether a
        // node judges it at the head's time or at the next block's, which may lag or lead the wall clock.
        validFrom: Math.min(head, Math.floor(Date.now() / 1000)) - 300,
        validUntil: now + days * 86_400,
      };
      if (how === "tx") {
        return chain.consent
          .connect(session.signer)
          .grant(twinId, grantee, categories, actions, purposes, terms.validFrom, terms.validUntil);
      }
      const epoch = Number(await chain.consent.grantEpochOf(twinId, grantee, { blockTag: at.blockTag }));
      const signed = await signGrant(
        session.signer,
        { chainId: chain.config.chainId, address: chain.config.consent },
        terms,
        randomGrantNonce(),
        now + 15 * 60,
        epoch,
      );
      const response = await fetch("/app-api/relay/grant", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...signed, nonce: signed.nonce.toString() }),
      });
      const body = (await response.json()) as { transactionHash?: string; message?: string };
      if (!response.ok || body.transactionHash === undefined)
        throw new Error(body.message ?? `relay answered ${response.status}`);
      return body.transactionHash;
    });
  };
  return (
    <form class="grant-form" onSubmit={submit} aria-label="Grant access">
      <label>
        Grantee address{" "}
        <input
          name="grantee"
          required
          pattern="^0x[0-9a-fA-F]{40}$"
          list="known-accounts"
          value={grantee}
          onInput={(e) => setGrantee(e.currentTarget.value.trim())}
          placeholder="0x…"
          size={44}
        />
      </label>
      <datalist id="known-accounts">
        {others.map((a) => (
          <option key={a.label} value={addressOfKey(a.privateKey)}>
            {a.label}
          </option>
        ))}
      </datalist>
      {others.length > 0 && (
        <p class="muted">
          Demo accounts:{" "}
          {others.map((a) => (
            <button type="button" class="link" key={a.label} onClick={() => setGrantee(addressOfKey(a.privateKey))}>
              {a.label}
            </button>
          ))}
        </p>
      )}
      <Bits
        legend="Categories"
        table={DataCategory}
        words={CATEGORY_WORDS}
        value={categories}
        onChange={setCategories}
      />
      <Bits legend="Actions" table={Action} words={ACTION_WORDS} value={actions} onChange={setActions} />
      <Bits legend="Purposes" table={Purpose} words={PURPOSE_WORDS} value={purposes} onChange={setPurposes} />
      <label>
        For how many days{" "}
        <input
          name="days"
          type="number"
          min={1}
          max={3650}
          value={days}
          onInput={(e) => setDays(Number(e.currentTarget.value))}
        />
      </label>
      <fieldset>
        <legend>How</legend>
        <label>
          <input type="radio" name="how" checked={how === "sig"} onChange={() => setHow("sig")} /> Sign (EIP-712) and
          let the hospital relay it (grantBySig: you pay no gas)
        </label>
        <label>
          <input type="radio" name="how" checked={how === "tx"} onChange={() => setHow("tx")} /> Send the grant
          transaction yourself
        </label>
      </fieldset>
      <button type="submit" disabled={props.busy || categories === 0 || actions === 0 || purposes === 0}>
        Grant
      </button>
    </form>
  );
}

const addressOfKey = (key: string) => computeAddress(key);

function EmergencyPolicyForm(props: {
  policy: { allowed: boolean; maxDuration: number; categories: number };
  busy: boolean;
  onSave: (allowed: boolean, hours: number, categories: number) => void;
}) {
  const [allowed, setAllowed] = useState(props.policy.allowed);
  const [hours, setHours] = useState(Math.max(1, Math.round(props.policy.maxDuration / 3600)) || 12);
  const [categories, setCategories] = useState(props.policy.categories || DataCategory.VITALS);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave(allowed, hours, categories);
      }}
    >
      <p>
        Now:{" "}
        {props.policy.allowed
          ? `accredited responders may open access for at most ${Math.round(props.policy.maxDuration / 3600)} hours, to ${categoryWords(props.policy.categories).join(", ")}`
          : "emergency access is not allowed"}
        .
      </p>
      <label>
        <input type="checkbox" checked={allowed} onChange={(e) => setAllowed(e.currentTarget.checked)} /> Allow
        emergency access
      </label>
      {allowed && (
        <>
          <label>
            At most (hours){" "}
            <input
              type="number"
              min={1}
              max={72}
              value={hours}
              onInput={(e) => setHours(Number(e.currentTarget.value))}
            />
          </label>
          <Bits
            legend="Categories a responder may read"
            table={DataCategory}
            words={CATEGORY_WORDS}
            value={categories}
            onChange={setCategories}
          />
        </>
      )}
      <button type="submit" disabled={props.busy}>
        Save the emergency policy
      </button>
    </form>
  );
}
