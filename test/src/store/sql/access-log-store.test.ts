import Database from "better-sqlite3";
import { expect } from "chai";
import { ethers } from "ethers";
import { AccessLog, leafHashOf, leafOf, verifyAccessLogProof } from "../../../../src/service/access-log";
import {
  PostgresAccessLogStore,
  SqliteAccessLogStore,
  type AccessLogInput,
  type AccessLogStore,
} from "../../../../src/store/sql";
import { describeStore, STORE_BACKENDS, type StoreDatabase } from "./describe-store";

const TWIN = ethers.id("twin:a");
const OTHER = ethers.id("twin:b");
const READER = ethers.getAddress("0x" + "ab".repeat(20));

function input(i: number, twinId = TWIN): AccessLogInput {
  return {
    time: 1_700_000_000_000 + i,
    twinId,
    reader: READER,
    queryType: "summary",
    category: 1,
    purpose: 1,
    decision: i % 3 === 0 ? "wrong-purpose" : "allowed",
    status: i % 3 === 0 ? 403 : 200,
    requestHash: ethers.id(`request:${i}`),
  };
}

function openStore(db: StoreDatabase): AccessLogStore {
  return db.backend === "sqlite"
    ? new SqliteAccessLogStore(db.url, { legacyLeafHash: (e) => leafHashOf(leafOf(e)) })
    : new PostgresAccessLogStore({ url: db.url });
}

function openLog(db: StoreDatabase): AccessLog {
  return db.backend === "sqlite" ? new AccessLog(db.url) : new AccessLog("", { databaseUrl: db.url });
}

async function expectRejected(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).to.have.property("code", code);
}

const leafHash = (entry: AccessLogInput) => (index: number) => leafHashOf(leafOf({ ...entry, index }));

/** The suite every access-log store passes (issue 12: the same suite against SQLite and PostgreSQL). */
function accessLogStoreSuite(db: () => StoreDatabase): void {
  const opened: { close(): Promise<void> }[] = [];
  const store = () => {
    const s = openStore(db());
    opened.push(s);
    return s;
  };
  const log = () => {
    const l = openLog(db());
    opened.push(l);
    return l;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it("migrates once (schema_migrations); a database migrated by newer code is refused", async () => {
    const a = store();
    await a.ready();
    expect(await a.count()).to.equal(0);
    await a.close();
    const b = store();
    await b.ready(); // nothing to apply again
    await b.close();
    const at = db().backend === "sqlite" ? "0" : "now()";
    await db().exec(
      `INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ('access-log', 9, 'x', ${at})`,
    );
    let error: unknown;
    try {
      const c = store();
      await c.ready();
      await c.count();
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string })?.code).to.equal("STORE_VERSION");
  });

  it("appends at gap-free indexes from several writers at once, in commit order", async () => {
    const [a, b] = [store(), store()];
    await Promise.all([a.ready(), b.ready()]);
    const indexes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).append(input(i), leafHash(input(i)))),
    );
    expect([...indexes].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
    expect(await a.count()).to.equal(40);
    expect(await b.count()).to.equal(40);
    const entries = await b.range(0, 39);
    expect(entries.map((e) => e.index)).to.deep.equal(indexes.slice().sort((x, y) => x - y));
    const hashes = await a.leafHashes(0, 39);
    entries.forEach((entry, i) => expect(hashes[i]).to.equal(leafHashOf(leafOf(entry))));
    expect(entries[0].twinId).to.equal(TWIN.toLowerCase());
  });

  it("appends a group at consecutive indexes in its order, in one transaction, beside single appends", async () => {
    const [a, b] = [store(), store()];
    await Promise.all([a.ready(), b.ready()]);
    const group = (from: number, n: number) =>
      Array.from({ length: n }, (_, k) => ({ entry: input(from + k), leafHashOf: leafHash(input(from + k)) }));
    const results = await Promise.all([
      a.appendMany(group(0, 7)),
      b.append(input(7), leafHash(input(7))),
      b.appendMany(group(8, 5)),
    ]);
    const all = [...results[0], results[1], ...results[2]].sort((x, y) => x - y);
    expect(all).to.deep.equal(Array.from({ length: 13 }, (_, i) => i));
    for (const indexes of [results[0], results[2]]) {
      // consecutive, in the group's order
      indexes.forEach((index, k) => expect(index).to.equal(indexes[0] + k));
    }
    const entries = await a.range(0, 12);
    const hashes = await b.leafHashes(0, 12);
    entries.forEach((entry, i) => expect(hashes[i]).to.equal(leafHashOf(leafOf(entry))));
    expect(entries[results[0][3]].requestHash).to.equal(input(3).requestHash.toLowerCase());
    expect(await a.appendMany([])).to.deep.equal([]);
    // all or none: a group whose leaf hash fails writes nothing
    const failing = [
      ...group(13, 2),
      {
        entry: input(15),
        leafHashOf: () => {
          throw new Error("boom");
        },
      },
    ];
    let error: unknown;
    try {
      await a.appendMany(failing);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(Error);
    expect(await b.count()).to.equal(13);
  });

  it("AccessLog groups the appends of one event-loop turn: indexes in call order, proofs verify", async () => {
    const a = log();
    await a.ready();
    const indexes = await Promise.all(Array.from({ length: 30 }, (_, i) => a.append(input(i))));
    expect(indexes).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    const later = await Promise.all([a.append(input(30)), a.append(input(31))]);
    expect(later).to.deep.equal([30, 31]);
    const anchor = await a.anchor(async (root) => ({ transactionHash: ethers.id(root), blockNumber: 1 }));
    expect(anchor).to.deep.include({ fromIndex: 0, toIndex: 31 });
    const page = await a.pageOf(TWIN, { limit: 40 });
    expect(page.entries.map((e) => e.entry.index)).to.deep.equal(indexes.concat(later));
    page.entries.forEach((item, i) => {
      expect(item.entry.requestHash).to.equal(input(i).requestHash.toLowerCase());
      expect(verifyAccessLogProof(anchor!.root, item.leaf, item.proof!)).to.equal(true);
    });
    // appends still waiting are written by close
    const b = log();
    await b.ready();
    const pending = b.append(input(32));
    await b.close();
    expect(await pending).to.equal(32);
  });

  it("claims a nonce once among concurrent claimants of several stores; an expired claim is taken again", async () => {
    const [a, b, c] = [store(), store(), store()];
    const nonce = ethers.id("nonce");
    const wins = await Promise.all(
      Array.from({ length: 12 }, (_, i) => [a, b, c][i % 3].claimNonce(READER, nonce, 1_000, 900)),
    );
    expect(wins.filter(Boolean)).to.have.length(1);
    expect(await a.claimNonce(READER.toLowerCase(), nonce.toUpperCase().replace("0X", "0x"), 1_000, 999)).to.equal(
      false,
    );
    expect(await b.claimNonce(READER, nonce, 2_000, 1_001)).to.equal(true); // expired at 1,001: taken again
    expect(await c.claimNonce(READER, nonce, 3_000, 1_500)).to.equal(false);
    expect(await a.claimNonce(ethers.ZeroAddress, nonce, 1_000, 900)).to.equal(true); // another reader
    expect(await a.pruneNonces(1_500)).to.equal(1); // the other reader's, expired at 1,000
    expect(await a.pruneNonces(1_500)).to.equal(0);
  });

  it("claims of one event-loop turn: each pair won once, in arrival order; a claim waiting at close is stored", async () => {
    const s = store();
    const nonces = Array.from({ length: 40 }, (_, i) => ethers.id(`turn:${i % 20}`)); // each nonce twice
    const wins = await Promise.all(nonces.map((nonce) => s.claimNonce(READER, nonce, 1_000, 900)));
    for (let i = 0; i < 20; i++) expect(wins[i] !== wins[i + 20], `nonce ${i} won once`).to.equal(true);
    // SQLite writes a turn's claims in one transaction in arrival order: the first of each pair wins
    if (db().backend === "sqlite") expect(wins.slice(0, 20).every(Boolean)).to.equal(true);
    expect(await s.claimNonce(READER, nonces[0], 1_000, 950)).to.equal(false); // stored, not expired
    if (db().backend !== "sqlite") return;
    const late = s.claimNonce(READER, ethers.id("at-close"), 1_000, 900);
    await s.close();
    expect(await late).to.equal(true);
    const reopened = store();
    expect(await reopened.claimNonce(READER, ethers.id("at-close"), 1_000, 950)).to.equal(false);
    await expectRejected(s.claimNonce(READER, ethers.id("after-close"), 1_000, 900), "STORE_CLOSED");
  });

  it("an append takes the nonce claims of its turn into its transaction; both are answered once written", async () => {
    const s = store();
    const claims = [s.claimNonce(READER, ethers.id("with-append:0"), 1_000, 900)];
    const appended = s.appendMany([{ entry: input(0), leafHashOf: leafHash(input(0)) }]);
    claims.push(s.claimNonce(READER, ethers.id("with-append:0"), 1_000, 900)); // the same pair again: refused
    expect(await appended).to.deep.equal([0]);
    expect(await Promise.all(claims)).to.deep.equal([true, false]);
    expect(await s.count()).to.equal(1);
  });

  it("AccessLog: a claim asked before an append of the same turn commits with it, in one transaction (SQLite)", async () => {
    if (db().backend !== "sqlite") return; // PostgreSQL groups claims and appends each on their own
    const l = log();
    await l.ready();
    // A trigger refusing every insert into the log: the turn's one transaction fails, and takes the claim with it.
    const side = new Database(db().url);
    side.exec(`CREATE TRIGGER refuse_append BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    const claim = l.claimNonce(READER, ethers.id("turn-claim"), 1_000, 900); // its flush is scheduled first
    const append = l.append(input(0));
    const outcomes = await Promise.allSettled([claim, append]);
    expect(outcomes.map((o) => o.status)).to.deep.equal(["rejected", "rejected"]);
    side.exec("DROP TRIGGER refuse_append");
    side.close();
    expect(await l.claimNonce(READER, ethers.id("turn-claim"), 1_000, 900), "the claim was not stored").to.not.equal(
      null,
    );
    expect(await l.append(input(1))).to.equal(0);
  });

  it("claims of one event-loop turn: each caller learns whether its pair was new, a pair asked twice wins once", async () => {
    const s = store();
    const nonces = Array.from({ length: 40 }, (_, i) => ethers.id(`group:${i}`));
    expect(await s.claimNonce(READER, nonces[0], 1_000, 900)).to.equal(true); // held before the group
    // one turn: every nonce once, the even ones twice (the second in upper case), one other reader
    const asked = [
      ...nonces.map((n) => s.claimNonce(READER, n, 1_000, 900)),
      ...nonces
        .filter((_, i) => i % 2 === 0)
        .map((n) => s.claimNonce(READER.toLowerCase(), n.toUpperCase(), 1_000, 900)),
      s.claimNonce(ethers.ZeroAddress, nonces[0], 1_000, 900),
    ];
    const won = await Promise.all(asked);
    expect(won.slice(0, 40)).to.deep.equal(nonces.map((_, i) => i !== 0));
    expect(won.slice(40, 60)).to.deep.equal(nonces.filter((_, i) => i % 2 === 0).map(() => false));
    expect(won[60]).to.equal(true);
    // a replay in a later group is refused; an expired pair in a group with new ones is taken again
    const later = await Promise.all([
      s.claimNonce(READER, nonces[1], 1_000, 950),
      s.claimNonce(READER, nonces[2], 2_000, 1_001),
      s.claimNonce(READER, ethers.id("group:new"), 2_000, 1_001),
    ]);
    expect(later).to.deep.equal([false, true, true]);
  });

  it("claims raced by two stores on one database, pair by pair in the same turn: exactly one wins each", async () => {
    const [a, b] = [store(), store()];
    await Promise.all([a.ready(), b.ready()]);
    const nonces = Array.from({ length: 200 }, (_, i) => ethers.id(`race:${i}`));
    // a asks in one order and b in the reverse, so their groups overlap in opposite orders
    const fromA = nonces.map((n) => a.claimNonce(READER, n, 1_000, 900));
    const fromB = [...nonces].reverse().map((n) => b.claimNonce(READER, n, 1_000, 900));
    const [wonA, wonB] = await Promise.all([Promise.all(fromA), Promise.all(fromB)]);
    wonB.reverse();
    nonces.forEach((_, i) => expect(Number(wonA[i]) + Number(wonB[i]), `nonce ${i}`).to.equal(1));
  });

  it("stores entry strings exactly, quotes and backslashes included", async () => {
    const s = store();
    const odd = { ...input(1), queryType: "it's a \\ test'; --", decision: "a\\'b" };
    await s.appendMany([
      { entry: input(0), leafHashOf: leafHash(input(0)) },
      { entry: odd, leafHashOf: leafHash(odd) },
    ]);
    const [, stored] = await s.range(0, 1);
    expect([stored.queryType, stored.decision]).to.deep.equal([odd.queryType, odd.decision]);
    expect(await s.leafHashes(1, 1)).to.deep.equal([leafHash(odd)(1)]);
  });

  it("is append-only in the database; eraseTwin redacts once, keeping index, time, decision, status, leaf hash", async () => {
    const s = store();
    for (let i = 0; i < 4; i++)
      await s.append(input(i, i < 2 ? TWIN : OTHER), leafHash(input(i, i < 2 ? TWIN : OTHER)));
    const before = await s.leafHashes(0, 3);
    for (const sql of [
      "UPDATE access_log SET decision = 'allowed' WHERE idx = 0",
      "DELETE FROM access_log WHERE idx = 1",
      "UPDATE access_log SET leaf_hash = 'x' WHERE idx = 2",
    ]) {
      let refused = false;
      await db()
        .exec(sql)
        .catch((e: Error) => (refused = /append-only/.test(e.message)));
      expect(refused, sql).to.equal(true);
    }
    expect(await s.eraseTwin(TWIN)).to.equal(2);
    expect(await s.eraseTwin(TWIN)).to.equal(0);
    expect(await s.ofTwin(TWIN, -1, 10)).to.deep.equal([]);
    expect((await s.ofTwin(OTHER, -1, 10)).map((e) => e.index)).to.deep.equal([2, 3]);
    const kept = await s.range(0, 1);
    expect(kept.map((e) => [e.index, e.time, e.decision, e.status])).to.deep.equal([
      [0, input(0).time, input(0).decision, input(0).status],
      [1, input(1).time, input(1).decision, input(1).status],
    ]);
    expect(kept.map((e) => [e.twinId, e.reader, e.queryType, e.category, e.purpose, e.requestHash])).to.deep.equal([
      ["", ethers.ZeroAddress, "", 0, 0, ""],
      ["", ethers.ZeroAddress, "", 0, 0, ""],
    ]);
    expect(await s.leafHashes(0, 3)).to.deep.equal(before);
  });

  it("pages a twin's entries after a cursor, and counts refusals per period and decision", async () => {
    const s = store();
    for (let i = 0; i < 6; i++)
      await s.append(input(i, i % 2 ? TWIN : OTHER), leafHash(input(i, i % 2 ? TWIN : OTHER)));
    expect((await s.ofTwin(TWIN, -1, 2)).map((e) => e.index)).to.deep.equal([1, 3]);
    expect((await s.ofTwin(TWIN, 3, 2)).map((e) => e.index)).to.deep.equal([5]);
    await Promise.all([
      s.countRefusal(0, "no-consent"),
      s.countRefusal(0, "no-consent"),
      s.countRefusal(3600, "replayed"),
    ]);
    expect(await s.refusalCounts()).to.deep.equal([
      { periodStart: 0, decision: "no-consent", count: 2 },
      { periodStart: 3600, decision: "replayed", count: 1 },
    ]);
  });

  it("AccessLog over the store: two replicas share entries and anchors; proofs verify; one anchors at a time", async () => {
    const [a, b] = [log(), log()];
    await Promise.all([a.ready(), b.ready()]);
    for (let i = 0; i < 5; i++) await (i % 2 ? a : b).append(input(i));
    const roots: string[] = [];
    const writer = async (root: string) => {
      roots.push(root);
      await new Promise((r) => setTimeout(r, 50));
      return { transactionHash: ethers.id(root), blockNumber: 7 };
    };
    const [first, second] = await Promise.all([a.anchor(writer), b.anchor(writer)]);
    const made = [first, second].filter((x) => x !== null);
    expect(made).to.have.length(1); // the other replica skipped: the lock (PostgreSQL) or lease (SQLite) was held
    expect(made[0]).to.deep.include({ fromIndex: 0, toIndex: 4 });
    expect(roots[0]).to.equal(made[0]!.root);
    await b.append(input(5));
    const next = await a.anchor(writer);
    expect(next).to.deep.include({ fromIndex: 5, toIndex: 5 });
    expect((await b.anchored()).map((x) => x.fromIndex)).to.deep.equal([0, 5]);
    const page = await b.pageOf(TWIN, { limit: 10 });
    expect(page.entries.map((e) => e.entry.index)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    for (const item of page.entries)
      expect(verifyAccessLogProof(item.anchor!.root, item.leaf, item.proof!)).to.equal(true);
    expect(page.anchors.map((x) => x.fromIndex)).to.deep.equal([0, 5]);
    // a nonce taken by one replica is refused by the other
    const nonce = ethers.id("replayed");
    expect(await a.claimNonce(READER, nonce, 2_000_000_000, 1_700_000_000)).to.not.equal(null);
    expect(await b.claimNonce(READER, nonce, 2_000_000_000, 1_700_000_000)).to.equal(null);
  });

  it("regression: a reader's refresh racing an anchoring lists the new anchor once", async () => {
    // CI caught `anchored()` listing one anchor twice on PostgreSQL: a refresh (not serialized with `anchor`) read
    // the anchor just inserted, and both it and the anchoring run appended it to the known list.
    const raced = openStore(db());
    const inner = raced.insertAnchor.bind(raced);
    let racing: Promise<readonly unknown[]> | undefined;
    raced.insertAnchor = async (record) => {
      await inner(record);
      racing = log.anchored(); // reads the anchor committed, before the anchoring run records it
    };
    const log = new AccessLog(raced);
    await log.ready();
    await log.append(input(0));
    const made = await log.anchor(async (root) => ({ transactionHash: ethers.id(root), blockNumber: 1 }));
    expect(racing).to.not.equal(undefined);
    expect((await racing!).length).to.equal(1);
    expect(await log.anchored()).to.deep.equal([made]);
    await log.append(input(1));
    const next = await log.anchor(async (root) => ({ transactionHash: ethers.id(root), blockNumber: 2 }));
    expect((await log.anchored()).map((a) => [a.fromIndex, a.toIndex])).to.deep.equal([
      [0, 0],
      [1, 1],
    ]);
    expect(next).to.deep.include({ fromIndex: 1, toIndex: 1 });
    await log.close();
  });
}

for (const [name, factory] of STORE_BACKENDS) {
  describeStore(`store/sql: the access-log store on ${name}`, factory, accessLogStoreSuite);
}
