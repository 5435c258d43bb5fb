import { expect } from "chai";
import { CORE_MIGRATIONS, PostgresStore, POSTGRES_CORE_MIGRATIONS, SqliteStore } from "../../../src/indexer";
import { CORE_COMPONENT } from "../../../src/indexer/schema";
import { numbered } from "../../../src/indexer/store/sql";
import type { IndexerStore } from "../../../src/indexer/store/store";
import { freshDatabase } from "../../postgres-server";
import { BACKENDS, expectCode } from "./harness";

/** Table name to its sorted column names, as the backend describes its schema. */
async function columnsOf(store: IndexerStore): Promise<Record<string, string[]>> {
  const rows =
    store instanceof SqliteStore
      ? await store.all<{ t: string; c: string }>(
          "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' " +
            "AND m.name NOT LIKE 'sqlite_%'",
        )
      : await store.all<{ t: string; c: string }>(
          "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = 'public'",
        );
  const tables: Record<string, string[]> = {};
  for (const { t, c } of rows) (tables[t] ??= []).push(c);
  for (const columns of Object.values(tables)) columns.sort();
  return tables;
}

describe("indexer: the two stores", () => {
  it("the SQL of both backends: `?` and `@name` parameters become PostgreSQL's $n", () => {
    expect(numbered("SELECT * FROM t WHERE a = ? AND b = ?", [1, "x"])).to.deep.equal({
      text: "SELECT * FROM t WHERE a = $1 AND b = $2",
      values: [1, "x"],
    });
    expect(
      numbered("UPDATE t SET a = @a, b = @b WHERE k = @k AND a <> @a", { k: 3, a: 1, b: null, extra: 9 }),
    ).to.deep.equal({
      text: "UPDATE t SET a = $1, b = $2 WHERE k = $3 AND a <> $1",
      values: [1, null, 3],
    });
    expect(() => numbered("SELECT @missing", {})).to.throw(/missing SQL parameter missing/);
  });

  it("the SQLite and PostgreSQL schemas have the same tables and columns", async function () {
    if (!BACKENDS.includes("postgres")) this.skip();
    const sqlite = SqliteStore.open(":memory:");
    const postgres = new PostgresStore({ connectionString: await freshDatabase("parity") });
    try {
      expect(await sqlite.migrate(CORE_COMPONENT, CORE_MIGRATIONS)).to.equal(CORE_MIGRATIONS.length);
      expect(await postgres.migrate(CORE_COMPONENT, POSTGRES_CORE_MIGRATIONS)).to.equal(
        POSTGRES_CORE_MIGRATIONS.length,
      );
      const [lite, pg] = [await columnsOf(sqlite), await columnsOf(postgres)];
      delete lite.sqlite_sequence;
      expect(Object.keys(pg).sort()).to.deep.equal(Object.keys(lite).sort());
      for (const table of Object.keys(lite)) expect(pg[table], table).to.deep.equal(lite[table]);
      // Migrating again is a no-op; a database newer than the code is refused.
      expect(await postgres.migrate(CORE_COMPONENT, POSTGRES_CORE_MIGRATIONS)).to.equal(1);
      await expectCode(() => postgres.migrate(CORE_COMPONENT, []), "INDEXER_SCHEMA");
      expect(await postgres.schemaVersion(CORE_COMPONENT)).to.equal(1);
    } finally {
      await sqlite.close();
      await postgres.close();
    }
  });

  for (const dialect of BACKENDS) {
    it(`${dialect}: a transaction commits when its callback resolves, rolls back when it rejects, one at a time`, async () => {
      const store: IndexerStore =
        dialect === "sqlite"
          ? SqliteStore.open(":memory:")
          : new PostgresStore({ connectionString: await freshDatabase("tx") });
      try {
        await store.run("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)");
        await store.transaction((tx) => tx.run("INSERT INTO t VALUES (?, ?)", [1, "one"]));
        await expect(
          store.transaction(async (tx) => {
            await tx.run("INSERT INTO t VALUES (@k, @v)", { k: 2, v: "two" });
            throw new Error("abort");
          }),
        ).to.be.rejectedWith("abort");
        const order: string[] = [];
        await Promise.all(
          ["a", "b"].map((label) =>
            store.transaction(async (tx) => {
              order.push(`${label}:begin`);
              await tx.get("SELECT COUNT(*) AS n FROM t");
              await new Promise((resolve) => setTimeout(resolve, 20));
              order.push(`${label}:end`);
            }),
          ),
        );
        expect(order).to.deep.equal(["a:begin", "a:end", "b:begin", "b:end"]);
        expect(await store.all("SELECT k, v FROM t ORDER BY k")).to.deep.equal([{ k: 1, v: "one" }]);
        expect(await store.get("SELECT COUNT(*) AS n FROM t")).to.deep.equal({ n: 1 });
      } finally {
        await store.close();
      }
    });
  }
});
