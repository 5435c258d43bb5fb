import { expect } from "chai";
import { ethers } from "hardhat";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { GatewayHarness, grant } from "./harness";

const READINGS = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

/** Issue 10, item 7: rate limits per signer and per client address; strangers' refusals counted, not entries. */
describe("query gateway: limits", function () {
  let h: GatewayHarness;
  afterEach(async () => {
    await h.close();
  });

  it("regression: a burst from one key gets 429 with Retry-After, not logged; other keys are served", async () => {
    h = await GatewayHarness.start({ limits: { perSigner: { max: 3, windowMs: 60_000 } } });
    const { f } = h;
    await grant(f, f.clinician.address, { categories: READINGS, actions: Action.READ, purposes: Purpose.TREATMENT });
    const stranger = h.client(f.stranger);
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const body = await stranger.signQuery(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      const response = await fetch(`${h.url}/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else await response.arrayBuffer();
    }
    expect(statuses).to.deep.equal([403, 403, 403, 429, 429, 429]);
    const retryAfter = Number(limited!.headers.get("retry-after"));
    expect(retryAfter).to.be.within(1, 60);
    expect(await limited!.json()).to.deep.include({ error: "rate-limited" });
    // The limit is the recovered signer's: the clinician, from the same address, is served.
    const ok = await h.client(f.clinician).query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
    expect(ok.status).to.equal(200);
    // A forged claim of the clinician's address by the stranger is a 401 and spends nothing of the clinician's budget.
    const forged = await stranger.signQuery(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
    expect((await stranger.post({ ...forged, reader: f.clinician.address })).status).to.equal(401);
    // Refusals by a limit are neither entries nor counted refusals.
    expect(await h.gateway.accessLog.count()).to.equal(1);
    expect((await h.gateway.accessLog.refusalCounts()).map((c) => [c.decision, c.count])).to.deep.equal([
      ["no-consent", 3],
    ]);
    // The access-log read is limited by signer too.
    const patient = h.client(f.patient);
    const reads = [];
    for (let i = 0; i < 4; i++) reads.push((await patient.accessLog(f.twinId)).status);
    expect(reads).to.deep.equal([200, 200, 200, 429]);
  });

  it("regression: a burst from one client address gets 429 with Retry-After before any signature is checked", async () => {
    h = await GatewayHarness.start({ limits: { perAddress: { max: 5, windowMs: 60_000 } } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 7; i++) {
      const response = await fetch(`${h.url}/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{oops",
      });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get("retry-after");
      await response.arrayBuffer();
    }
    expect(statuses).to.deep.equal([400, 400, 400, 400, 400, 429, 429]);
    expect(Number(retryAfter)).to.be.within(1, 60);
  });

  it("limits are on by default and can be turned off", async () => {
    h = await GatewayHarness.start({ limits: { perSigner: false, perAddress: false } });
    const stranger = h.client(h.f.stranger);
    for (let i = 0; i < 130; i++) {
      const result = await stranger.query(h.f.twinId, "summary", {}, { purpose: Purpose.TREATMENT });
      expect(result.status).to.equal(403);
    }
    await h.close();
    h = await GatewayHarness.start();
    const statuses = new Set<number>();
    const s2 = h.client(h.f.stranger);
    for (let i = 0; i < 125; i++) {
      statuses.add((await s2.query(h.f.twinId, "summary", {}, { purpose: Purpose.TREATMENT })).status);
    }
    expect([...statuses].sort()).to.deep.equal([403, 429]); // default: 120 per minute per signer
  });

  it("regression: a stranger's refusals do not grow the twin's access log; a grantee's refusals still do", async () => {
    h = await GatewayHarness.start({ limits: { perSigner: false } });
    const { f } = h;
    // Strangers: no grant (no-consent), blocked, stale and replayed requests, a twin that does not exist.
    const stranger = h.client(f.stranger);
    for (let i = 0; i < 20; i++) {
      expect((await stranger.query(f.twinId, "summary", {}, { purpose: Purpose.TREATMENT })).status).to.equal(403);
    }
    const stale = await stranger.query(
      f.twinId,
      "summary",
      {},
      { purpose: Purpose.TREATMENT, issuedAt: Math.floor(Date.now() / 1000) - 3600 },
    );
    expect(stale.status).to.equal(401);
    await (await f.consent.connect(f.patient).setBlocked(f.twinId, f.researcher.address, true)).wait();
    const blocked = await h.client(f.researcher).query(f.twinId, "summary", {}, { purpose: Purpose.RESEARCH });
    expect(blocked.body).to.deep.include({ error: "blocked" });
    expect(blocked.body).to.not.have.property("logIndex");
    const unknown = await stranger.query(ethers.id("twin:nobody"), "summary", {}, { purpose: Purpose.TREATMENT });
    expect(unknown.status).to.equal(404);
    expect((await stranger.accessLog(f.twinId)).status).to.equal(403);
    expect(await h.gateway.accessLog.count()).to.equal(0);
    expect(await h.gateway.accessLog.entriesOf(f.twinId)).to.deep.equal([]);
    const counts = Object.fromEntries((await h.gateway.accessLog.refusalCounts()).map((c) => [c.decision, c.count]));
    expect(counts).to.deep.equal({
      "no-consent": 20,
      "expired-request": 1,
      blocked: 1,
      "unknown-twin": 1,
      "not-authorized": 1,
    });
    // Counters hold no twin and no reader.
    expect(Object.keys((await h.gateway.accessLog.refusalCounts())[0]).sort()).to.deep.equal(
      ["count", "decision", "periodStart"].sort(),
    );

    // A grantee's refusals (wrong purpose, then revoked) and allowed reads are entries, as before.
    await grant(f, f.clinician.address, { categories: READINGS, actions: Action.READ, purposes: Purpose.TREATMENT });
    const clinician = h.client(f.clinician);
    expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.RESEARCH })).body).to.have.property(
      "logIndex",
      0,
    );
    expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status).to.equal(200);
    await (await f.consent.connect(f.patient).revoke(f.twinId, f.clinician.address)).wait();
    expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).body).to.deep.include(
      {
        error: "revoked",
        logIndex: 2,
      },
    );
    expect((await h.gateway.accessLog.entriesOf(f.twinId)).map((e) => e.entry.decision)).to.deep.equal([
      "wrong-purpose",
      "allowed",
      "revoked",
    ]);
  });

  it("a suspended twin: a grantee's refusal is an entry, a stranger's is counted", async () => {
    h = await GatewayHarness.start();
    const { f } = h;
    await grant(f, f.clinician.address, { categories: READINGS, actions: Action.READ, purposes: Purpose.TREATMENT });
    await (await f.registry.connect(f.patient).suspendTwin(f.twinId)).wait();
    const grantee = await h.client(f.clinician).query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
    expect(grantee.body).to.deep.include({ error: "suspended", logIndex: 0 });
    const stranger = await h.client(f.stranger).query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
    expect(stranger.body).to.deep.include({ error: "suspended" });
    expect(stranger.body).to.not.have.property("logIndex");
    expect(await h.gateway.accessLog.count()).to.equal(1);
  });
});
