import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { randomGrantNonce, signGrant } from "../../../src/chain/typed-data";
import { APP_RPC_METHODS } from "../../../src/service/app-api";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { GatewayHarness } from "./harness";

/** The web app's routes on the gateway (app-static.ts, app-api.ts): files under /app/, config, RPC relay, relays. */
describe("query gateway: the web app's routes", function () {
  let h: GatewayHarness;
  let root: string;
  const erasures: string[] = [];

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "twinledger-app-"));
    mkdirSync(join(root, "assets"));
    writeFileSync(join(root, "index.html"), "<!doctype html><title>app</title>");
    writeFileSync(join(root, "assets", "index-abc.js"), "export {};");
    writeFileSync(join(root, "notes.txt"), "not served");
    writeFileSync(join(root, "..", "outside-app.js"), "secret");
    symlinkSync(join(root, "..", "outside-app.js"), join(root, "assets", "link.js"));
    erasures.length = 0;
    h = await GatewayHarness.start({
      webApp: {
        root,
        demoAccounts: [{ label: "Patient (demo)", role: "patient", privateKey: `0x${"11".repeat(32)}` }],
        onErased: async (twinId) => {
          erasures.push(twinId);
          return { destroyedKeys: 2, redactedEntries: 1 };
        },
      },
    });
    await h.gateway.app.ready();
  });

  afterEach(async () => {
    await h.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(join(root, "..", "outside-app.js"), { force: true });
  });

  it("serves the page and its assets with a same-origin-only policy, and nothing outside the build", async () => {
    const page = await fetch(`${h.url}/app/`);
    expect(page.status).to.equal(200);
    expect(page.headers.get("content-type")).to.match(/^text\/html/);
    expect(page.headers.get("content-security-policy")).to.match(/^default-src 'self';/);
    expect(page.headers.get("cache-control")).to.equal("no-cache");
    const asset = await fetch(`${h.url}/app/assets/index-abc.js`);
    expect(asset.headers.get("content-type")).to.match(/^text\/javascript/);
    expect(asset.headers.get("cache-control")).to.contain("immutable");
    for (const path of [
      "/app/../outside-app.js",
      "/app/%2e%2e/outside-app.js",
      "/app/assets/link.js",
      "/app/notes.txt",
    ]) {
      const response = await h.gateway.app.inject({ method: "GET", url: path });
      expect(response.statusCode, path).to.equal(404);
      expect(response.body, path).not.to.contain("secret");
    }
  });

  it("is off unless webApp is set", async () => {
    const plain = await GatewayHarness.start();
    try {
      expect((await fetch(`${plain.url}/app/`)).status).to.equal(404);
      expect((await fetch(`${plain.url}/app-api/config`)).status).to.equal(404);
    } finally {
      await plain.close();
    }
  });

  it("tells the page the chain, the contracts, the operator and the demo accounts", async () => {
    const config = (await (await fetch(`${h.url}/app-api/config`)).json()) as Record<string, unknown>;
    expect(config).to.deep.include({
      chainId: Number(h.f.chainId),
      consent: await h.f.consent.getAddress(),
      registry: await h.f.registry.getAddress(),
      operator: h.f.hospital.address,
      rpc: "/app-rpc",
    });
    expect(config.demoAccounts).to.have.length(1);
  });

  it("relays reads and signed transactions to the node, and no method that would use the node's keys", async () => {
    const rpc = (body: unknown) =>
      fetch(`${h.url}/app-rpc`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<unknown>);
    const head = (await rpc({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] })) as { result: string };
    expect(Number(head.result)).to.equal(await time.latestBlock());
    for (const method of ["eth_accounts", "eth_sendTransaction", "eth_sign", "hardhat_setBalance", "evm_mine"]) {
      expect(APP_RPC_METHODS.has(method)).to.equal(false);
      const answer = (await rpc({ jsonrpc: "2.0", id: 7, method, params: [] })) as { error: { code: number } };
      expect(answer.error.code, method).to.equal(-32601);
    }
    const batch = (await rpc([
      { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] },
      { jsonrpc: "2.0", id: 2, method: "eth_accounts", params: [] },
    ])) as { id: number; result?: string; error?: unknown }[];
    expect(batch.map((b) => b.id)).to.deep.equal([1, 2]);
    expect(Number(batch[0].result)).to.equal(Number(h.f.chainId));
    expect(batch[1].error).to.not.equal(undefined);
  });

  it("asks the service to erase only once the chain says the twin is erased", async () => {
    const { f } = h;
    const before = await fetch(`${h.url}/app-api/erased/${f.twinId}`, { method: "POST" });
    expect(before.status).to.equal(409);
    expect(erasures).to.deep.equal([]);
    await f.registry.connect(f.patient).eraseTwin(f.twinId);
    const after = await fetch(`${h.url}/app-api/erased/${f.twinId}`, { method: "POST" });
    expect(after.status).to.equal(200);
    expect(await after.json()).to.deep.equal({ destroyedKeys: 2, redactedEntries: 1 });
    expect(erasures).to.deep.equal([f.twinId.toLowerCase()]);
    expect((await fetch(`${h.url}/app-api/erased/0x1234`, { method: "POST" })).status).to.equal(400);
  });

  it("relays a patient's signed grant (grantBySig) paid by the relayer, and refuses a forged one", async () => {
    const hospital = h.f.hospital;
    await h.close();
    h = await GatewayHarness.start({ webApp: { root, relayer: hospital } });
    const { f } = h;
    const now = await time.latest();
    const terms = {
      twinId: f.twinId,
      grantee: f.clinician.address,
      categories: DataCategory.VITALS,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
      validFrom: now,
      validUntil: now + 86_400,
    };
    const consent = { chainId: f.chainId, address: await f.consent.getAddress() };
    const relay = (signed: Awaited<ReturnType<typeof signGrant>>) =>
      fetch(`${h.url}/app-api/relay/grant`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...signed, nonce: signed.nonce.toString() }),
      });
    const forged = await signGrant(f.stranger, consent, terms, randomGrantNonce(), now + 600);
    const refused = await relay({ ...forged, signer: f.patient.address });
    expect(refused.status).to.equal(400);
    expect(((await refused.json()) as { error: string }).error).to.equal("relay-refused");
    const signed = await signGrant(f.patient, consent, terms, randomGrantNonce(), now + 600);
    const relayed = await relay(signed);
    expect(relayed.status).to.equal(200);
    const grant = await f.consent.grantOf(f.twinId, f.clinician.address);
    expect(Number(grant.categories)).to.equal(DataCategory.VITALS);
  });
});
