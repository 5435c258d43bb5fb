import { expect } from "chai";
import { readFileSync } from "node:fs";
import { OPENAPI_DOCUMENT_PATH } from "../../../src/service/routes/openapi";
import { GatewayHarness } from "./harness";

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
}

describe("query gateway: OpenAPI document and health", function () {
  let h: GatewayHarness;

  before(async () => {
    h = await GatewayHarness.start();
  });
  after(async () => h.close());

  it("serves at /openapi.json the document generated from the route schemas, equal to the committed one", async () => {
    const response = await fetch(`${h.url}/openapi.json`);
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.match(/^application\/json/);
    const served = (await response.json()) as OpenApiDocument;
    const committed = JSON.parse(readFileSync(OPENAPI_DOCUMENT_PATH, "utf8")) as OpenApiDocument;
    expect(served, "docs/openapi.json is stale: npm run openapi").to.deep.equal(committed);
    expect(served.openapi).to.match(/^3\./);
    expect(served.paths["/v1/query"].post.responses).to.include.keys("200", "4XX", "5XX");
    expect(served.paths["/v1/access-log/{twinId}"].get.responses).to.include.keys("200", "4XX");
    expect(served.paths).to.not.have.property("/openapi.json");
  });

  it("GET /health: ok once the gateway knows its audience, and nothing else", async () => {
    const response = await fetch(`${h.url}/health`);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ status: "ok" });
  });
});
