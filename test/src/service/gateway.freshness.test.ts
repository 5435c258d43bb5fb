import { time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { JsonRpcApiProvider, Network, type JsonRpcError, type JsonRpcPayload, type JsonRpcResult } from "ethers";
import { ethers, network } from "hardhat";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsentPolicy__factory } from "../../../typechain-types";
import {
  createGateway,
  GatewayClient,
  type Gateway,
  type GatewayOptions,
  type GatewayResult,
  type NonceStore,
  type NonceUse,
  type QueryBody,
} from "../../../src/service";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { GATEWAY_ORIGIN, GatewayHarness, grant } from "./harness";

/**
 * Issue 10, items 5, 6, 8 and 12: the audience of a signed query, windows judged against the gateway's clock on an
 * idle chain, the operator's standing, and the head the consent rests on.
 */

const VITALS_AND_WEARABLE = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

function expectRefusal(result: GatewayResult<unknown>, status: number, error: string): void {
  expect(result.ok, JSON.stringify(result.body)).to.equal(false);
  expect({ status: result.status, error: result.ok ? "" : result.body.error }).to.deep.equal({ status, error });
}

async function post(url: string, body: QueryBody): Promise<{ status: number; error?: string }> {
  const response = await fetch(`${url}/v1/query`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { error?: string };
  return { status: response.status, ...(json.error !== undefined && { error: json.error }) };
}

/** An ethers JSON-RPC provider over the in-process Hardhat network: the real ethers stack, its 250 ms cache included. */
class InProcessProvider extends JsonRpcApiProvider {
  constructor(chainId: bigint) {
    super(Network.from(chainId), { staticNetwork: true, batchMaxCount: 1 });
  }

  async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<(JsonRpcResult | JsonRpcError)[]> {
    const list = Array.isArray(payload) ? payload : [payload];
    return Promise.all(
      list.map(async ({ id, method, params }) => {
        try {
          return { id, result: (await network.provider.send(method, params as unknown[])) as unknown };
        } catch (error) {
          return { id, error: { code: -32000, message: error instanceof Error ? error.message : String(error) } };
        }
      }),
    );
  }
}

describe("query gateway: audience, idle chains, operator standing, heads (issue 10)", function () {
  let h: GatewayHarness;
  const extra: Gateway[] = [];
  const dirs: string[] = [];

  /** A second gateway over the same fixture (its own database). */
  async function another(options: Partial<GatewayOptions>): Promise<{ gateway: Gateway; url: string }> {
    const dir = mkdtempSync(join(tmpdir(), "twinledger-gateway-b-"));
    dirs.push(dir);
    const gateway = createGateway({
      data: h.f.data,
      consent: h.f.consent,
      registry: h.f.registry,
      chainId: h.f.chainId,
      dbPath: join(dir, "access-log.sqlite"),
      ...options,
    });
    extra.push(gateway);
    return { gateway, url: await gateway.listen() };
  }

  afterEach(async () => {
    for (const gateway of extra.splice(0)) await gateway.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    await h?.close();
  });

  const grantVitals = (validUntil?: number) =>
    grant(h.f, h.f.clinician.address, {
      categories: VITALS_AND_WEARABLE,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
      ...(validUntil !== undefined && { validUntil }),
    });

  describe("item 5: the audience of a signed query", () => {
    it("regression: a body replayed to another operator's gateway, or to another origin, is refused (401 wrong-audience)", async () => {
      h = await GatewayHarness.start();
      await grantVitals();
      const body = await h
        .client(h.f.clinician)
        .signQuery(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect(body.query.operator).to.equal(h.f.hospital.address);
      expect(body.query.origin).to.equal(GATEWAY_ORIGIN);

      // Another operator (hospital2, also accredited) at the same origin.
      const otherOperator = await another({ operator: h.f.hospital2.address, origin: GATEWAY_ORIGIN });
      expect(await post(otherOperator.url, body)).to.deep.equal({ status: 401, error: "wrong-audience" });
      // The same operator at another origin (its listening address).
      const otherOrigin = await another({ operator: h.f.hospital.address });
      expect(await post(otherOrigin.url, body)).to.deep.equal({ status: 401, error: "wrong-audience" });
      // Rewriting the audience in the body breaks the signature.
      const rewritten = { ...body, query: { ...body.query, origin: otherOrigin.url } };
      expect(await post(otherOrigin.url, rewritten)).to.deep.equal({ status: 401, error: "bad-signature" });
      // Neither refusal is logged at those gateways (the request was not addressed to them).
      expect(await otherOperator.gateway.accessLog.entriesOf(h.f.twinId, {})).to.have.length(0);
      expect(await otherOrigin.gateway.accessLog.entriesOf(h.f.twinId, {})).to.have.length(0);

      // The gateway it is addressed to answers it.
      expect((await post(h.url, body)).status).to.equal(200);
    });

    it("an access-log request signed for another gateway does not pass (401), one for this gateway does", async () => {
      h = await GatewayHarness.start();
      const elsewhere = new GatewayClient({
        baseUrl: h.url,
        signer: h.f.patient,
        chainId: h.f.chainId,
        consentAddress: h.f.consentAddress,
        operator: h.f.hospital2.address,
        origin: GATEWAY_ORIGIN,
      });
      const refused = await elsewhere.accessLog(h.f.twinId);
      expect(refused.status).to.equal(401);
      expect((await h.client(h.f.patient).accessLog(h.f.twinId)).status).to.equal(200);
    });

    it("replicas of one operator sharing a NonceStore: a body replayed to the other replica is 409 replayed", async () => {
      const claims = new Map<string, number>();
      const shared: NonceStore = {
        // An asynchronous store, as a shared database would be.
        async claim(reader, nonce, expiresAt, nowSec): Promise<NonceUse | null> {
          const key = `${reader.toLowerCase()}|${nonce.toLowerCase()}`;
          const seen = claims.get(key);
          if (seen !== undefined && seen >= nowSec) return null;
          claims.set(key, expiresAt);
          return { reader: reader.toLowerCase(), nonce: nonce.toLowerCase(), expiresAt };
        },
      };
      h = await GatewayHarness.start({ nonceStore: shared });
      await grantVitals();
      const replica = await another({ operator: h.f.hospital.address, origin: GATEWAY_ORIGIN, nonceStore: shared });
      const body = await h
        .client(h.f.clinician)
        .signQuery(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect((await post(h.url, body)).status).to.equal(200);
      expect(await post(replica.url, body)).to.deep.equal({ status: 409, error: "replayed" });
    });
  });

  describe("item 6: windows judged against the gateway's clock on an idle chain", () => {
    it("regression: a grant that ended while no block was mined is refused (403 expired) once the gateway's clock passes it", async () => {
      let now = Date.now();
      h = await GatewayHarness.start({ clock: () => now });
      const start = await time.latest();
      await grantVitals(start + 600);
      const head = await time.latest();
      // No block is mined from here on: the chain's head keeps its time.
      const ask = () =>
        h
          .client(h.f.clinician)
          .query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT, issuedAt: Math.floor(now / 1000) });

      now = (head + 300) * 1000; // inside the window by both clocks
      expect((await ask()).ok).to.equal(true);
      now = (start + 600) * 1000; // the grant's end by the gateway's clock (validUntil is exclusive)
      expectRefusal(await ask(), 403, "expired");
      now = (head + 3480) * 1000; // 58 minutes later, still no block
      expectRefusal(await ask(), 403, "expired");
      expect(await time.latest()).to.equal(head, "no block was mined: the chain alone would still allow");
    });

    it("the twin's owner has no end: served however far the gateway's clock is past the head", async () => {
      let now = Date.now();
      h = await GatewayHarness.start({ clock: () => now });
      const { f } = h;
      const head = await time.latest();
      now = (head + 7200) * 1000;
      const patient = await h
        .client(f.patient)
        .query(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT, issuedAt: Math.floor(now / 1000) });
      expect(patient.ok, JSON.stringify(patient.body)).to.equal(true);
    });
  });

  describe("item 8: the operator's standing at the head", () => {
    it("regression: after changeCustodian, queries are refused (403 operator-not-custodian)", async () => {
      h = await GatewayHarness.start();
      await grantVitals();
      const ask = () => h.client(h.f.clinician).query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect((await ask()).ok).to.equal(true);
      await (await h.f.registry.connect(h.f.patient).changeCustodian(h.f.twinId, h.f.hospital2.address)).wait();
      expectRefusal(await ask(), 403, "operator-not-custodian");
    });

    it("regression: after CUSTODIAN_ROLE is revoked, queries are refused (403 operator-not-accredited)", async () => {
      h = await GatewayHarness.start();
      await grantVitals();
      const ask = () => h.client(h.f.clinician).query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect((await ask()).ok).to.equal(true);
      const role = await h.f.registry.CUSTODIAN_ROLE();
      await (await h.f.registry.connect(h.f.governance).revokeRole(role, h.f.hospital.address)).wait();
      expectRefusal(await ask(), 403, "operator-not-accredited");
    });

    it("a stranger is told no-consent, not the operator's standing", async () => {
      h = await GatewayHarness.start();
      await (await h.f.registry.connect(h.f.patient).changeCustodian(h.f.twinId, h.f.hospital2.address)).wait();
      const result = await h
        .client(h.f.clinician)
        .query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expectRefusal(result, 403, "no-consent");
    });
  });

  describe("item 12: the head the consent rests on", () => {
    it("regression: over an ethers JSON-RPC provider (250 ms cache), a revoke mined in block N refuses the next query", async () => {
      h = await GatewayHarness.start();
      const provider = new InProcessProvider(h.f.chainId);
      const consent = ConsentPolicy__factory.connect(h.f.consentAddress, provider);
      const { gateway, url } = await another({ consent, operator: h.f.hospital.address, origin: GATEWAY_ORIGIN });
      await grantVitals();
      const client = new GatewayClient({
        baseUrl: url,
        signer: h.f.clinician,
        chainId: h.f.chainId,
        consentAddress: h.f.consentAddress,
        operator: h.f.hospital.address,
        origin: GATEWAY_ORIGIN,
      });
      const ask = () => client.query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      // Warm every cache ethers has: the head and the decision at it.
      await provider.getBlock("latest");
      expect((await ask()).ok).to.equal(true);
      // Automine: the revoke is mined (block N) when sent; the next query is decided well within ethers' 250 ms.
      const sent = await h.f.consent.connect(h.f.patient).revoke(h.f.twinId, h.f.clinician.address);
      expectRefusal(await ask(), 403, "revoked");
      const receipt = await sent.wait();
      expect((await gateway.accessLog.entriesOf(h.f.twinId, {})).length).to.be.greaterThan(0);
      expect(receipt!.blockNumber).to.be.greaterThan(0);
      provider.destroy();
    });

    it("concurrent queries share polls, and each new block is fetched once", async () => {
      h = await GatewayHarness.start();
      await grantVitals();
      const client = h.client(h.f.clinician);
      const counts: { method: string }[] = [];
      const provider = new InProcessProvider(h.f.chainId);
      const send = provider.send.bind(provider);
      provider.send = (method: string, params: unknown[] | Record<string, unknown>) => {
        counts.push({ method });
        return send(method, params);
      };
      const consent = ConsentPolicy__factory.connect(h.f.consentAddress, provider);
      const { url } = await another({ consent, operator: h.f.hospital.address, origin: GATEWAY_ORIGIN });
      const other = new GatewayClient({ ...clientOptions(h, url), signer: h.f.clinician });
      void client;
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => other.query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })),
      );
      expect(answers.every((a) => a.ok)).to.equal(true);
      await ethers.provider.send("evm_mine", []);
      expect((await other.query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT })).ok).to.equal(true);
      const polls = counts.filter((c) => c.method === "eth_blockNumber").length;
      const fetches = counts.filter((c) => c.method === "eth_getBlockByNumber").length;
      expect(fetches).to.equal(2, "one fetch per new block: the first head, then the mined one");
      expect(polls).to.be.within(2, 22); // 20 concurrent, 1 after the mined block, 1 in listen()
      provider.destroy();
    });

    it("asks the consent beside the nonce claim: the head is polled while the claim is still open", async () => {
      h = await GatewayHarness.start();
      await grantVitals();
      const calls: string[] = [];
      const provider = new InProcessProvider(h.f.chainId);
      const send = provider.send.bind(provider);
      provider.send = (method: string, params: unknown[] | Record<string, unknown>) => {
        calls.push(method);
        return send(method, params);
      };
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const claimed: string[] = [];
      const nonceStore: NonceStore = {
        async claim(reader, nonce, expiresAt): Promise<NonceUse> {
          claimed.push(nonce);
          await held; // a shared database slow to commit
          return { reader: reader.toLowerCase(), nonce: nonce.toLowerCase(), expiresAt };
        },
      };
      const consent = ConsentPolicy__factory.connect(h.f.consentAddress, provider);
      const { url } = await another({ consent, operator: h.f.hospital.address, origin: GATEWAY_ORIGIN, nonceStore });
      const client = new GatewayClient({ ...clientOptions(h, url), signer: h.f.clinician });
      calls.length = 0;
      const answer = client.query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      const deadline = Date.now() + 5_000;
      while (!calls.includes("eth_call") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(claimed).to.have.length(1);
      expect(calls).to.include("eth_blockNumber");
      expect(calls).to.include("eth_call", "the consent was asked before the claim was answered");
      release();
      expect((await answer).ok).to.equal(true);
      provider.destroy();
    });

    it("a replayed body is 409 replayed, not 503, when the chain fails its early consent question; a stale one asks nothing", async () => {
      h = await GatewayHarness.start();
      await grantVitals();
      let down = false;
      const calls: string[] = [];
      const provider = new InProcessProvider(h.f.chainId);
      const send = provider.send.bind(provider);
      provider.send = (method: string, params: unknown[] | Record<string, unknown>) => {
        calls.push(method);
        return down ? Promise.reject(new Error("node down")) : send(method, params);
      };
      const consent = ConsentPolicy__factory.connect(h.f.consentAddress, provider);
      const { url } = await another({ consent, operator: h.f.hospital.address, origin: GATEWAY_ORIGIN });
      const client = new GatewayClient({ ...clientOptions(h, url), signer: h.f.clinician });
      const body = await client.signQuery(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect((await post(url, body)).status).to.equal(200);
      down = true;
      expect(await post(url, body)).to.deep.equal({ status: 409, error: "replayed" });
      const fresh = await client.signQuery(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect(await post(url, fresh)).to.deep.equal({ status: 503, error: "chain-unavailable" });
      calls.length = 0;
      const stale = await client.signQuery(
        h.f.twinId,
        "latest-vitals",
        {},
        { purpose: Purpose.TREATMENT, issuedAt: Math.floor(Date.now() / 1000) - 3_600 },
      );
      expect(await post(url, stale)).to.deep.equal({ status: 401, error: "expired-request" });
      expect(calls, "a stale request is refused before any chain call").to.deep.equal([]);
      provider.destroy();
    });
  });
});

function clientOptions(h: GatewayHarness, baseUrl: string) {
  return {
    baseUrl,
    chainId: h.f.chainId,
    consentAddress: h.f.consentAddress,
    operator: h.f.hospital.address,
    origin: GATEWAY_ORIGIN,
  };
}
