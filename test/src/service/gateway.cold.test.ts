import { expect } from "chai";
import { ethers } from "hardhat";
import { JsonRpcProvider } from "ethers";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TwinPipeline } from "../../../src/pipeline";
import { createGateway, GatewayClient, verifyAnswer, type Gateway } from "../../../src/service";
import { CHAIN_WARM_UP_MS } from "../../../src/service/gateway";
import { ConsentPolicy__factory, TwinRegistry__factory } from "../../../typechain-types";
import { Action, ALL_CATEGORIES, Purpose } from "../../../src/vocabulary";
import { cohortSmall, removeFolders, startService, type Service } from "../pipeline/harness";

/**
 * The first query on a cold twin (issue 12): a gateway that has just started listening, over a pipeline freshly
 * reopened on the custodian's folders, answers its first query as it answers the next ones, with proofs that check;
 * `listen()` does the chain's start-up reads when the node answers, starts anyway when it does not, and fails cleanly
 * when what it must open cannot be.
 */
describe("query gateway: the first query on a cold twin", function () {
  let service: Service;
  let dir: string;
  const open: { gateway: Gateway; pipeline?: TwinPipeline }[] = [];

  before(async () => {
    const cohort = await cohortSmall();
    service = await startService({ batchPolicy: { maxReadings: 64, maxAgeMs: 60 * 60_000 } });
    const { pipeline, f } = service;
    await pipeline.ingestEmr(f.twinId, cohort.patients[1].emr, { sourceSigner: f.emr });
    await pipeline.ingestWearable(f.twinId, cohort.patients[1].wearable, { deviceSigner: f.wearable });
    await pipeline.flush(f.twinId);
    await (
      await f.consent
        .connect(f.patient)
        .grant(f.twinId, f.clinician.address, ALL_CATEGORIES, Action.READ, Purpose.TREATMENT, 0, 2 ** 40 - 1)
    ).wait();
    dir = mkdtempSync(join(tmpdir(), "twinledger-gateway-cold-"));
  });

  afterEach(async () => {
    for (const { gateway, pipeline } of open.splice(0)) {
      await gateway.close();
      await pipeline?.close();
    }
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await removeFolders(service?.folders);
  });

  async function gatewayOver(data: TwinPipeline, name: string): Promise<GatewayClient> {
    const { f } = service;
    const gateway = createGateway({
      data,
      consent: f.consent,
      registry: f.registry,
      chainId: (await ethers.provider.getNetwork()).chainId,
      dbPath: join(dir, `${name}.sqlite`),
      operator: f.hospital.address,
    });
    open.push({ gateway, pipeline: data === service.pipeline ? undefined : data });
    return new GatewayClient({
      baseUrl: await gateway.listen(),
      signer: f.clinician,
      chainId: (await ethers.provider.getNetwork()).chainId,
      consentAddress: await f.consent.getAddress(),
      operator: f.hospital.address,
    });
  }

  for (const queryType of ["latest-vitals", "summary"] as const) {
    it(`answers a cold twin's first ${queryType} as its second, and as a warm pipeline does, with proofs that check`, async () => {
      const { f } = service;
      const ask = async (client: GatewayClient) => {
        const result = await client.query(f.twinId, queryType, {}, { purpose: Purpose.TREATMENT });
        if (!result.ok) throw new Error(`answered ${result.status}: ${result.body.error}`);
        const { logIndex, ...rest } = result.body;
        expect(logIndex).to.be.a("number");
        return { rest, body: result.body };
      };
      const cold = await gatewayOver(await service.restart(), `cold-${queryType}`);
      const first = await ask(cold);
      const second = await ask(cold);
      const warm = await ask(await gatewayOver(service.pipeline, `warm-${queryType}`));
      expect(JSON.stringify(first.rest)).to.equal(JSON.stringify(second.rest));
      expect(JSON.stringify(first.rest)).to.equal(JSON.stringify(warm.rest));
      if (queryType === "latest-vitals") expect(JSON.stringify(first.rest)).to.include('"kind":"batch"');
      const verification = await verifyAnswer(first.body, { updateLog: f.updateLog });
      expect(verification.failures).to.deep.equal([]);
      expect(verification.valid).to.equal(true);
    });
  }

  it("starts when the node does not answer at start-up: listen() resolves, the first query is 503 chain-unavailable", async () => {
    const { f } = service;
    const dead = new JsonRpcProvider(`http://127.0.0.1:${await closedPort()}`, 31337, {
      staticNetwork: true,
      batchMaxCount: 1,
    });
    const gateway = createGateway({
      data: service.pipeline,
      consent: ConsentPolicy__factory.connect(await f.consent.getAddress(), dead),
      registry: TwinRegistry__factory.connect(await f.registry.getAddress(), dead),
      chainId: 31337n,
      dbPath: join(dir, "dead.sqlite"),
      operator: f.hospital.address,
    });
    try {
      const started = performance.now();
      const client = new GatewayClient({
        baseUrl: await gateway.listen(),
        signer: f.clinician,
        chainId: 31337n,
        consentAddress: await f.consent.getAddress(),
        operator: f.hospital.address,
      });
      expect(performance.now() - started).to.be.below(CHAIN_WARM_UP_MS + 1_000);
      const result = await client.query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect(result.status).to.equal(503);
      expect(result.ok ? null : result.body.error).to.equal("chain-unavailable");
    } finally {
      await gateway.close();
      dead.destroy();
    }
  });

  it("fails cleanly when its start-up work fails: listen() rejects, the port unopened, and close() releases", async () => {
    const { f } = service;
    const gateway = createGateway({
      data: service.pipeline,
      consent: f.consent,
      registry: f.registry,
      chainId: (await ethers.provider.getNetwork()).chainId,
      dbPath: join(dir, "unused.sqlite"),
      // the access log on a PostgreSQL server that is not there: its database cannot be opened
      databaseUrl: `postgres://twinledger@127.0.0.1:${await closedPort()}/twinledger`,
      operator: f.hospital.address,
    });
    try {
      const error = await gateway.listen().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(Error);
      expect(gateway.app.server.listening).to.equal(false);
    } finally {
      await gateway.close();
    }
  });
});

/** A 127.0.0.1 port nothing listens on (taken, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()));
    });
  });
}
