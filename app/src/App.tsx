import { useEffect, useState } from "preact/hooks";
import { Purpose } from "../../src/vocabulary";
import { Audit } from "./components/Audit";
import { Consent } from "./components/Consent";
import { Erasure } from "./components/Erasure";
import { Shared } from "./components/Shared";
import { TwinView } from "./components/TwinView";
import { loadChain, type Chain } from "./env";
import { demoSession, walletSession, type Session } from "./session";
import { ownedTwins } from "./twins";
import { describeError, Loading, useChainRead } from "./ui";
import { shortAddress, shortHash } from "./vocab";

type Page = "twin" | "consent" | "audit" | "erasure" | "shared";
const PAGES: Record<Page, string> = {
  twin: "My twin",
  consent: "Who can see what",
  audit: "Audit trail",
  erasure: "Erasure",
  shared: "Shared with me",
};

export function App() {
  const [chain, setChain] = useState<Chain | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  useEffect(() => {
    loadChain().then(setChain, (e: unknown) => setFailure(describeError(e)));
  }, []);
  return (
    <>
      <header class="top">
        <h1>TwinLedger</h1>
        {session && (
          <div class="who-am-i">
            <span>
              {session.label} <code>{shortAddress(session.address)}</code>
            </span>
            {session.demo && <span class="badge demo-badge">demo key in this page</span>}
            <button onClick={() => setSession(null)}>Sign out</button>
          </div>
        )}
      </header>
      <main id="main">
        {failure && <p class="error">{failure}</p>}
        {!chain && !failure && <Loading what="the chain" />}
        {chain && !session && <SignIn chain={chain} onSession={setSession} />}
        {chain && session && <Home key={session.address} chain={chain} session={session} />}
      </main>
    </>
  );
}

function SignIn(props: { chain: Chain; onSession: (s: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <section class="card sign-in" aria-labelledby="sign-in-heading">
      <h2 id="sign-in-heading">Sign in with your Ethereum key</h2>
      <p>
        Every query you make is signed by your key (EIP-712) and checked by the gateway against the consent on chain;
        every answer comes with proofs this page checks against the chain.
      </p>
      <button
        type="button"
        disabled={window.ethereum === undefined}
        onClick={() => walletSession(props.chain).then(props.onSession, (e: unknown) => setError(describeError(e)))}
      >
        {window.ethereum === undefined ? "No browser wallet found" : "Sign in with your browser wallet"}
      </button>
      {props.chain.config.demoAccounts.length > 0 && (
        <div class="demo-accounts" role="group" aria-labelledby="demo-heading">
          <h3 id="demo-heading">Demo accounts only</h3>
          <p class="warning">
            These keys are held in this page, in the clear: they exist for this local demo only. Never use a real key
            this way.
          </p>
          {props.chain.config.demoAccounts.map((account) => (
            <button
              type="button"
              key={account.label}
              onClick={() => props.onSession(demoSession(props.chain, account))}
            >
              {account.label}
            </button>
          ))}
        </div>
      )}
      {error && <p class="error">{error}</p>}
    </section>
  );
}

function Home(props: { chain: Chain; session: Session }) {
  const { chain, session } = props;
  const twins = useChainRead(chain, (at) => ownedTwins(chain, session.address, at), [session.address]);
  const [page, setPage] = useState<Page | null>(null);
  const [twinIndex, setTwinIndex] = useState(0);
  if (twins.loading && !twins.data) return <Loading what="your twins" />;
  if (twins.error) return <p class="error">{twins.error}</p>;
  const owned = twins.data ?? [];
  const twin = owned[twinIndex];
  const pages: Page[] = twin
    ? twin.status === "erased"
      ? ["twin", "erasure", "shared"]
      : ["twin", "consent", "audit", "erasure", "shared"]
    : ["shared"];
  const current = page !== null && pages.includes(page) ? page : pages[0]!;
  return (
    <>
      <nav aria-label="Pages" class="tabs">
        {pages.map((p) => (
          <button key={p} type="button" aria-current={current === p ? "page" : undefined} onClick={() => setPage(p)}>
            {PAGES[p]}
          </button>
        ))}
      </nav>
      {twin && current !== "shared" && (
        <p class="twin-line">
          Twin <code title={twin.twinId}>{shortHash(twin.twinId)}</code> ({twin.status})
          {owned.length > 1 && (
            <select aria-label="Twin" value={twinIndex} onChange={(e) => setTwinIndex(Number(e.currentTarget.value))}>
              {owned.map((t, i) => (
                <option key={t.twinId} value={i}>
                  {shortHash(t.twinId)}
                </option>
              ))}
            </select>
          )}
        </p>
      )}
      {twin &&
        current === "twin" &&
        (twin.status === "erased" ? (
          <p class="muted">This twin was erased: its data can no longer be read; the anchors stay on chain.</p>
        ) : (
          <TwinView session={session} twinId={twin.twinId} purpose={Purpose.PERSONAL_USE} categories={null} />
        ))}
      {twin && current === "consent" && <Consent chain={chain} session={session} twinId={twin.twinId} />}
      {twin && current === "audit" && <Audit chain={chain} session={session} twinId={twin.twinId} />}
      {twin && current === "erasure" && (
        <Erasure
          chain={chain}
          session={session}
          twinId={twin.twinId}
          erased={twin.status === "erased"}
          onErased={twins.reload}
        />
      )}
      {current === "shared" && <Shared chain={chain} session={session} />}
    </>
  );
}
