import { expect } from "chai";
import Database from "better-sqlite3";
import { ethers } from "hardhat";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { AccessLog, verifyAccessLog, verifyAccessLogProof } from "../../../src/service";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import type { GatewayOptions } from "../../../src/service";
import { freshDatabase } from "../../postgres-server";
import { GatewayHarness, grant } from "./harness";

const VITALS_AND_WEARABLE = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

/** The gateway's log on each backend: SQLite (the file in the harness's folder) and PostgreSQL (a fresh database). */
const BACKENDS: readonly [string, () => Promise<Partial<GatewayOptions>>][] = [
  ["SQLite", async () => ({})],
  ["PostgreSQL", async () => ({ databaseUrl: await freshDatabase("gateway") })],
];

for (const [backend, storeOptions] of BACKENDS)
  describe(`query gateway: access log (${backend})`, function () {
    let h: GatewayHarness;

    beforeEach(async () => {
      h = await GatewayHarness.start(await storeOptions());
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
      expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status).to.equal(
        200,
      );
      expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.RESEARCH })).status).to.equal(
        403,
      );
      expect(
        (await h.client(f.stranger).query(f.twinId, "summary", {}, { purpose: Purpose.TREATMENT })).status,
      ).to.equal(403);
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
      expect((await h.gateway.accessLog.refusalCounts()).map((c) => [c.decision, c.count])).to.deep.equal([
        ["no-consent", 1],
      ]);
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
      expect(await verifyAccessLog(log.body, { updateLog: f.updateLog, operator: f.hospital.address })).to.deep.equal(
        [],
      );

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
      expect((await h.gateway.accessLog.refusalCounts()).map((c) => [c.decision, c.count])).to.deep.equal([
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
      expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status).to.equal(
        200,
      );

      await h.restart();
      expect(await h.gateway.accessLog.count()).to.equal(2);
      expect(await h.gateway.accessLog.anchored()).to.deep.equal([first]);
      expect((await h.client(f.clinician).post(body)).status).to.equal(409); // counted, not an entry
      const second = await h.gateway.anchorNow();
      expect([second!.fromIndex, second!.toIndex]).to.deep.equal([1, 1]);
      const log = await h.client(f.patient).accessLog(f.twinId);
      if (!log.ok) throw new Error("expected the log");
      expect(log.body.entries.map((e) => e.anchor?.root ?? null)).to.deep.equal([first!.root, second!.root, null]);
      expect(await verifyAccessLog(log.body, { updateLog: f.updateLog, operator: f.hospital.address })).to.deep.equal(
        [],
      );
    });

    it("anchors on an interval", async () => {
      await h.close();
      h = await GatewayHarness.start({ ...(await storeOptions()), anchorIntervalMs: 50 });
      const { f } = h;
      await h.client(f.patient).accessLog(f.twinId);
      for (let i = 0; i < 40 && (await h.gateway.accessLog.anchored()).length === 0; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(await h.gateway.accessLog.anchored()).to.have.length(1);
    });

    it("is append-only on disk: updates and deletes are refused by the database", async function () {
      if (backend !== "SQLite") this.skip(); // PostgreSQL: test/src/store/sql/access-log-store.test.ts
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
      expect(await h.gateway.accessLog.count()).to.equal(1);
    });
  });

/** Issue 10, item 9 (the log read answers the asker's twin only, paginated) and item 4 (the log's files, erasure). */
describe("query gateway: access log privacy", function () {
  let h: GatewayHarness;
  beforeEach(async () => {
    h = await GatewayHarness.start();
  });
  afterEach(async () => {
    await h.close();
  });

  const OTHER_TWIN = ethers.id("twin:someone-else");
  /** Entries of another twin of the gateway, as its readers would leave them. */
  async function otherTwinEntries(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await h.gateway.accessLog.append({
        time: Date.now(),
        twinId: OTHER_TWIN,
        reader: h.f.researcher.address,
        queryType: "summary",
        category: 1,
        purpose: Purpose.RESEARCH,
        decision: "allowed",
        status: 200,
        requestHash: ethers.id(`other:${i}`),
      });
    }
  }

  it("regression: a patient sees only their twin's entries, the anchors covering them and no totals; pages by cursor", async () => {
    const { f } = h;
    await grant(f, f.clinician.address, {
      categories: VITALS_AND_WEARABLE,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
    });
    await otherTwinEntries(7);
    const onlyOthers = await h.gateway.anchorNow(); // an anchor of the other twin's entries alone
    const clinician = h.client(f.clinician);
    for (let i = 0; i < 3; i++) {
      expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status).to.equal(
        200,
      );
      await otherTwinEntries(2);
    }
    const mixed = await h.gateway.anchorNow();

    const patient = h.client(f.patient);
    const first = await patient.accessLog(f.twinId, { limit: 2 });
    if (!first.ok) throw new Error(JSON.stringify(first.body));
    expect(Object.keys(first.body).sort()).to.deep.equal(["anchors", "entries", "logIndex", "nextCursor", "twinId"]);
    expect(first.body.entries.map((e) => e.entry.twinId)).to.deep.equal([
      f.twinId.toLowerCase(),
      f.twinId.toLowerCase(),
    ]);
    // Only the anchor covering the page: not the one of the other twin's entries, not all of the gateway's.
    expect(first.body.anchors.map((a) => a.root)).to.deep.equal([mixed!.root]);
    expect(first.body.anchors.map((a) => a.root)).to.not.include(onlyOthers!.root);
    expect(first.body.nextCursor).to.equal(first.body.entries[1].entry.index);

    const rest = await patient.accessLog(f.twinId, { cursor: first.body.nextCursor!, limit: 10 });
    if (!rest.ok) throw new Error(JSON.stringify(rest.body));
    // The third query, then the two reads of the log (the first read's entry came after the page was taken).
    expect(rest.body.entries.map((e) => [e.entry.queryType, e.entry.decision])).to.deep.equal([
      ["latest-vitals", "allowed"],
      ["access-log", "allowed"],
      ["access-log", "allowed"],
    ]);
    expect(rest.body.nextCursor).to.equal(null);
    for (const page of [first.body, rest.body]) {
      expect(JSON.stringify(page)).to.not.include(OTHER_TWIN.slice(2));
      expect(JSON.stringify(page)).to.not.include(f.researcher.address.slice(2));
      expect(await verifyAccessLog(page, { updateLog: f.updateLog, operator: f.hospital.address })).to.deep.equal([]);
    }
    // Someone who does not control the twin gets nothing, whatever twin they name.
    expect((await h.client(f.clinician).accessLog(f.twinId)).status).to.equal(403);
    expect((await patient.accessLog(OTHER_TWIN)).status).to.equal(403);
  });

  it("regression: the log's file is 0600 (with its -wal and -shm), its folder 0700; an open folder is refused", async () => {
    const { f } = h;
    await h.client(f.patient).accessLog(f.twinId);
    expect(statSync(h.dir).mode & 0o777).to.equal(0o700);
    for (const file of [h.dbPath, `${h.dbPath}-wal`, `${h.dbPath}-shm`]) {
      expect(existsSync(file), file).to.equal(true);
      expect(statSync(file).mode & 0o777, file).to.equal(0o600);
    }
    const nested = join(h.dir, "nested", "log.sqlite");
    const log = new AccessLog(nested);
    expect(statSync(join(h.dir, "nested")).mode & 0o777).to.equal(0o700);
    await log.close();
    const open = join(h.dir, "open");
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    expect(() => new AccessLog(join(open, "log.sqlite"))).to.throw(/own/);
  });

  it("regression: erasure reduces the twin's entries to index, time, decision and leaf hash; anchored roots still verify", async () => {
    const { f } = h;
    await grant(f, f.clinician.address, {
      categories: VITALS_AND_WEARABLE,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
    });
    const clinician = h.client(f.clinician);
    expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status).to.equal(200);
    await otherTwinEntries(3);
    expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.RESEARCH })).status).to.equal(403);
    const before = await h.client(f.patient).accessLog(f.twinId); // the patient keeps a copy
    if (!before.ok) throw new Error("expected the log");
    const anchor = await h.gateway.anchorNow();

    // The twin is erased: the pipeline says so, the next query finds out, and the log is reduced.
    f.data.holdings.set(f.twinId.toLowerCase(), "erased");
    try {
      expect((await clinician.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status).to.equal(
        410,
      );
    } finally {
      f.data.holdings.set(f.twinId.toLowerCase(), "active"); // the fixture's data is shared by the suites
    }
    expect(await h.gateway.accessLog.eraseTwin(f.twinId)).to.equal(0); // already done, idempotent
    expect(await h.gateway.accessLog.entriesOf(f.twinId)).to.deep.equal([]);
    const kept = await h.gateway.accessLog.range(0, 5);
    expect(kept.map((e) => [e.twinId === "" || e.twinId === OTHER_TWIN.toLowerCase(), e.decision])).to.deep.equal([
      [true, "allowed"],
      [true, "allowed"],
      [true, "allowed"],
      [true, "allowed"],
      [true, "wrong-purpose"],
      [true, "allowed"],
    ]);
    for (const e of kept.filter((x) => x.twinId === "")) {
      expect([e.reader, e.queryType, e.category, e.purpose, e.requestHash]).to.deep.equal([
        ethers.ZeroAddress,
        "",
        0,
        0,
        "",
      ]);
    }

    // The other twin's proofs, built after the erasure, and the patient's copy, still verify against the chain.
    const others = await h.gateway.accessLog.entriesOf(OTHER_TWIN);
    expect(others).to.have.length(3);
    for (const item of others) expect(verifyAccessLogProof(anchor!.root, item.leaf, item.proof!)).to.equal(true);
    expect(await verifyAccessLog(before.body, { updateLog: f.updateLog, operator: f.hospital.address })).to.deep.equal(
      [],
    );

    // Nothing of the erased twin's entries is left in the files: no twin id, no request digest (the reader's address
    // stays only in the nonce table, beside a random nonce, until the freshness window ends: no link to the twin).
    await h.gateway.close();
    const bytes = Buffer.concat([h.dbPath, `${h.dbPath}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p)))
      .toString("latin1")
      .toLowerCase();
    expect(bytes).to.not.include(f.twinId.slice(2).toLowerCase());
    for (const item of before.body.entries) expect(bytes).to.not.include(item.entry.requestHash.slice(2));
    expect(bytes).to.include(OTHER_TWIN.slice(2).toLowerCase()); // the others' entries are untouched
    // The redaction is the one update the database allows, and only once.
    const db = new Database(h.dbPath);
    try {
      expect(() => db.prepare("UPDATE access_log SET redacted = 1, twin_id = '' WHERE idx = 2").run()).to.not.throw();
      expect(() => db.prepare("UPDATE access_log SET twin_id = 'x' WHERE idx = 0").run()).to.throw(/append-only/);
      expect(() => db.prepare("UPDATE access_log SET leaf_hash = '0x00', redacted = 1 WHERE idx = 3").run()).to.throw(
        /append-only/,
      );
    } finally {
      db.close();
    }
    await h.open();
  });

  it("opens a log of the first schema: leaf hashes filled, old roots still proven", async () => {
    const { f } = h;
    await grant(f, f.clinician.address, {
      categories: VITALS_AND_WEARABLE,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
    });
    expect(
      (await h.client(f.clinician).query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).status,
    ).to.equal(200);
    const anchor = await h.gateway.anchorNow();
    await h.gateway.close();
    // Back to the first schema: no leaf hashes, user_version 0, the old trigger.
    const db = new Database(h.dbPath);
    db.exec(`DROP TRIGGER access_log_no_update;
      ALTER TABLE access_log DROP COLUMN leaf_hash; ALTER TABLE access_log DROP COLUMN redacted;
      CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
      PRAGMA user_version = 0; DROP TABLE schema_migrations;`);
    db.close();
    await h.open();
    const [item] = await h.gateway.accessLog.entriesOf(f.twinId);
    expect(item.anchor?.root).to.equal(anchor!.root);
    expect(verifyAccessLogProof(anchor!.root, item.leaf, item.proof!)).to.equal(true);
  });
});
