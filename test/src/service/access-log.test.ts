import { expect } from "chai";
import Database from "better-sqlite3";
import { ethers } from "hardhat";
import { AccessLog, verifyAccessLog, verifyAccessLogProof } from "../../../src/service";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { GatewayHarness, grant } from "./harness";

const VITALS_AND_WEARABLE = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

describe("query gateway: access log", function () {
  let h: GatewayHarness;

  beforeEach(async () => {
    h = await GatewayHarness.start();
  });
  afterEach(async () => {
    await h.close();
  });

  it("records allowed and refused accesses (never the answer), anchors the root on chain, and each proof verifies", async () => {
    const { f } = h;
    await grant(f, f.clinician.address, {
      categories: VITALS_AND_WEARABLE,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
    });
    const clinician = h.client(f.clinician);
    expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status).to.equal(200);
    expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.RESEARCH })).status).to.equal(403);
    expect((await h.client(f.stranger).query(f.twinId, "summary", {}, { purpose: Purpose.TREATMENT })).status).to.equal(
      403,
    );
    // Unauthenticated garbage is answered but not logged; the stranger's refusal is only counted (item 7).
    expect((await h.raw("{oops")).status).to.equal(400);

    const anchor = await h.gateway.anchorNow();
    expect(anchor).to.not.equal(null);
    expect([anchor!.fromIndex, anchor!.toIndex]).to.deep.equal([0, 1]);
    const onChain = await f.updateLog.accessLogAnchorOf(f.hospital.address, anchor!.root);
    expect([onChain.fromIndex, onChain.toIndex]).to.deep.equal([0n, 1n]);
    expect(onChain.anchoredAt).to.be.greaterThan(0n);
    await expect(anchor!.transactionHash).to.be.a("string");
    expect(await h.gateway.anchorNow()).to.equal(null); // nothing new

    const log = await h.client(f.patient).accessLog(f.twinId);
    expect(log.ok, JSON.stringify(log.body)).to.equal(true);
    if (!log.ok) return;
    const entries = log.body.entries;
    // The clinician's two queries, then the patient's own read of the log (not anchored yet).
    expect(entries.map((e) => [e.entry.queryType, e.entry.decision, e.entry.status])).to.deep.equal([
      ["latest-vitals", "allowed", 200],
      ["latest-vitals", "wrong-purpose", 403],
      ["access-log", "allowed", 200],
    ]);
    expect(entries[0].entry.reader).to.equal(f.clinician.address);
    expect(h.gateway.accessLog.refusalCounts().map((c) => [c.decision, c.count])).to.deep.equal([["no-consent", 1]]);
    expect(entries[1].entry.purpose).to.equal(Purpose.RESEARCH);
    expect(Object.keys(entries[0].entry).sort()).to.deep.equal(
      [
        "category",
        "decision",
        "index",
        "purpose",
        "queryType",
        "reader",
        "requestHash",
        "status",
        "time",
        "twinId",
      ].sort(),
    );
    for (const item of entries.slice(0, 2)) {
      expect(item.anchor?.root).to.equal(anchor!.root);
      expect(verifyAccessLogProof(anchor!.root, item.leaf, item.proof!)).to.equal(true);
    }
    expect(entries[2].anchor).to.equal(null);
    expect(await verifyAccessLog(log.body, { updateLog: f.updateLog, operator: f.hospital.address })).to.deep.equal([]);

    // A forged entry does not verify.
    const forged = { ...entries[1], entry: { ...entries[1].entry, decision: "allowed" } };
    expect(
      await verifyAccessLog(
        { ...log.body, entries: [forged] },
        { updateLog: f.updateLog, operator: f.hospital.address },
      ),
    ).to.deep.equal(["entry 1: LEAF_MISMATCH"]);
    const forgedLeaf = { ...forged, leaf: [...forged.leaf] as typeof forged.leaf };
    forgedLeaf.leaf[7] = "allowed";
    expect(verifyAccessLogProof(anchor!.root, forgedLeaf.leaf, forgedLeaf.proof!)).to.equal(false);
  });

  it("lets the owner, a delegate and an auditor read the log; refuses others (and counts the refusal)", async () => {
    const { f } = h;
    await (await f.registry.connect(f.patient).appointDelegate(f.twinId, f.guardian.address)).wait();
    expect((await h.client(f.guardian).accessLog(f.twinId)).status).to.equal(200);
    expect((await h.client(f.governance).accessLog(f.twinId)).status).to.equal(200); // the configured auditor
    const refused = await h.client(f.clinician).accessLog(f.twinId);
    expect(refused.status).to.equal(403);
    expect(refused.body).to.deep.include({ error: "not-authorized" });
    const log = await h.client(f.patient).accessLog(f.twinId);
    if (!log.ok) throw new Error("expected the log");
    expect(log.body.entries.map((e) => e.entry.decision)).to.deep.equal(["allowed", "allowed", "allowed"]);
    expect(h.gateway.accessLog.refusalCounts().map((c) => [c.decision, c.count])).to.deep.equal([
      ["not-authorized", 1],
    ]);
  });

  it("refuses unsigned, forged, stale and replayed log requests", async () => {
    const { f } = h;
    const bare = await fetch(`${h.url}/v1/access-log/${f.twinId}`);
    expect(bare.status).to.equal(400);
    const nonce = ethers.hexlify(ethers.randomBytes(32));
    const client = h.client(f.patient);
    expect((await client.accessLog(f.twinId, { nonce })).status).to.equal(200);
    const replay = await client.accessLog(f.twinId, { nonce });
    expect(replay.status).to.equal(409);
    const stale = await client.accessLog(f.twinId, { issuedAt: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.status).to.equal(401);
    const badTwin = await fetch(`${h.url}/v1/access-log/not-a-twin?issuedAt=1&nonce=${nonce}&signature=0x00`);
    expect(badTwin.status).to.equal(400);
    expect(await badTwin.json()).to.have.property("error", "invalid-body");
  });

  it("keeps the log, its anchors and the nonces across a restart", async () => {
    const { f } = h;
    await grant(f, f.clinician.address, {
      categories: VITALS_AND_WEARABLE,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
    });
    const clinician = h.client(f.clinician);
    const body = await clinician.signQuery(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
    expect((await clinician.post(body)).status).to.equal(200);
    const first = await h.gateway.anchorNow();
    expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status).to.equal(200);

    await h.restart();
    expect(h.gateway.accessLog.size).to.equal(2);
    expect(h.gateway.accessLog.anchored()).to.deep.equal([first]);
    expect((await h.client(f.clinician).post(body)).status).to.equal(409); // counted, not an entry
    const second = await h.gateway.anchorNow();
    expect([second!.fromIndex, second!.toIndex]).to.deep.equal([1, 1]);
    const log = await h.client(f.patient).accessLog(f.twinId);
    if (!log.ok) throw new Error("expected the log");
    expect(log.body.entries.map((e) => e.anchor?.root ?? null)).to.deep.equal([first!.root, second!.root, null]);
    expect(await verifyAccessLog(log.body, { updateLog: f.updateLog, operator: f.hospital.address })).to.deep.equal([]);
  });

  it("anchors on an interval", async () => {
    await h.close();
    h = await GatewayHarness.start({ anchorIntervalMs: 50 });
    const { f } = h;
    await h.client(f.patient).accessLog(f.twinId);
    for (let i = 0; i < 40 && h.gateway.accessLog.anchored().length === 0; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(h.gateway.accessLog.anchored()).to.have.length(1);
  });

  it("is append-only on disk: updates and deletes are refused by the database", async () => {
    const { f } = h;
    await h.client(f.patient).accessLog(f.twinId);
    await h.gateway.close();
    const db = new Database(h.dbPath);
    try {
      expect(() => db.prepare("UPDATE access_log SET decision = 'allowed'").run()).to.throw(/append-only/);
      expect(() => db.prepare("DELETE FROM access_log").run()).to.throw(/append-only/);
    } finally {
      db.close();
    }
    await h.open();
    expect(h.gateway.accessLog).to.be.instanceOf(AccessLog);
    expect(h.gateway.accessLog.size).to.equal(1);
  });
});
