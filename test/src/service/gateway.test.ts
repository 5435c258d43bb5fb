import { time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import type { ContractRunner } from "ethers";
import { ethers } from "hardhat";
import { ConsentPolicy__factory } from "../../../typechain-types";
import {
  AGGREGATE_REFUSALS,
  ALERT_CATEGORIES,
  READING_CATEGORIES,
  SUMMARY_CATEGORIES,
  verifyAnswer,
  type QueryResponse,
} from "../../../src/service";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { createTwinOf } from "../../fixtures";
import { GatewayHarness, grant, HEART_RATES, randomNonce } from "./harness";

const READ = Action.READ;
const VITALS_AND_WEARABLE = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

describe("query gateway", function () {
  let h: GatewayHarness;
  const closeEach = () =>
    afterEach(async () => {
      await h.close();
    });

  describe("allowed queries carry their proofs", () => {
    beforeEach(async () => {
      h = await GatewayHarness.start();
      await grant(h.f, h.f.clinician.address, {
        categories: SUMMARY_CATEGORIES,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
    });
    closeEach();

    it("latest-vitals: the latest reading with its batch anchor and the state anchor, verified on chain", async () => {
      const result = await h
        .client(h.f.clinician)
        .query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      if (!result.ok) return;
      const { answer, proofs } = result.body;
      expect(answer.vitals.heartRate?.value).to.equal(HEART_RATES[HEART_RATES.length - 1]);
      expect(proofs.state?.stateRoot).to.equal(h.f.state.stateRoot);
      expect(proofs.readings).to.have.length(1);
      expect(proofs.readings?.[0].anchor?.merkleRoot).to.match(/^0x[0-9a-f]{64}$/);
      const verdict = await verifyAnswer(result.body, { updateLog: h.f.updateLog });
      expect(verdict.failures).to.deep.equal([]);
      expect(verdict.checked).to.deep.equal({ state: true, records: 0, readings: 1, batches: 0 });
    });

    it("summary and conditions-medications: records with their update anchors, verified on chain", async () => {
      const client = h.client(h.f.clinician);
      const summary = await client.query(h.f.twinId, "summary", {}, { purpose: Purpose.TREATMENT });
      expect(summary.ok, JSON.stringify(summary.body)).to.equal(true);
      if (!summary.ok) return;
      expect(summary.body.answer.problems.map((p) => p.key)).to.deep.equal(["Condition/c1"]);
      expect(summary.body.proofs.records?.map((r) => r.key).sort()).to.deep.equal([
        "AllergyIntolerance/a1",
        "Condition/c1",
        "MedicationRequest/m1",
      ]);
      expect((await verifyAnswer(summary.body, { updateLog: h.f.updateLog })).failures).to.deep.equal([]);

      const cm = await client.query(h.f.twinId, "conditions-medications", {}, { purpose: Purpose.TREATMENT });
      expect(cm.ok).to.equal(true);
      if (!cm.ok) return;
      expect(cm.body.answer.conditions).to.have.length(2);
      expect(cm.body.answer.medications).to.have.length(1);
      expect(cm.body.proofs.records).to.have.length(3);
      const verdict = await verifyAnswer(cm.body, { updateLog: h.f.updateLog });
      expect(verdict.valid, verdict.failures.join()).to.equal(true);
    });

    it("vitals-series raw: every point with its anchor; a tampered reading fails verification", async () => {
      const result = await h
        .client(h.f.clinician)
        .query(h.f.twinId, "vitals-series", { sign: "heartRate" }, { purpose: Purpose.TREATMENT });
      expect(result.ok).to.equal(true);
      if (!result.ok) return;
      const answer = result.body.answer;
      expect(answer.bucket).to.equal("raw");
      if (answer.bucket !== "raw") return;
      expect(answer.points.map((p) => p.value)).to.deep.equal(HEART_RATES);
      expect((await verifyAnswer(result.body, { updateLog: h.f.updateLog })).valid).to.equal(true);

      const readings = result.body.proofs.readings!;
      const tampered: QueryResponse = {
        ...result.body,
        proofs: {
          ...result.body.proofs,
          readings: [{ ...readings[0], reading: { ...readings[0].reading, value: 200 } }, ...readings.slice(1)],
        },
      };
      const verdict = await verifyAnswer(tampered, { updateLog: h.f.updateLog });
      expect(verdict.failures).to.deep.equal(["readings[0]: COMMITMENT_MISMATCH"]);
    });

    it("fhir-export: a Bundle of the categories the consent allows, the others listed as refused", async () => {
      const asked = DataCategory.CONDITIONS | DataCategory.MEDICATIONS | DataCategory.GENOMICS;
      const result = await h
        .client(h.f.clinician)
        .query(h.f.twinId, "fhir-export", {}, { purpose: Purpose.TREATMENT, category: asked });
      expect(result.ok, JSON.stringify(result.body)).to.equal(true);
      if (!result.ok) return;
      expect(result.body.answer.categories).to.equal(DataCategory.CONDITIONS | DataCategory.MEDICATIONS);
      expect(result.body.answer.refusedCategories).to.equal(DataCategory.GENOMICS);
      const types = (result.body.answer.bundle.entry ?? []).map((e) => e.resource?.resourceType);
      expect(types).to.have.members(["Condition", "Condition", "MedicationRequest"]);
      expect((await verifyAnswer(result.body, { updateLog: h.f.updateLog })).valid).to.equal(true);
    });
  });

  describe("aggregates: AGGREGATE or READ", () => {
    beforeEach(async () => {
      h = await GatewayHarness.start();
    });
    closeEach();

    it("a grant of AGGREGATE only answers bucketed series (with batch roots) and refuses raw ones", async () => {
      await grant(h.f, h.f.researcher.address, {
        categories: VITALS_AND_WEARABLE,
        actions: Action.AGGREGATE,
        purposes: Purpose.RESEARCH,
      });
      const client = h.client(h.f.researcher);
      const hourly = await client.query(
        h.f.twinId,
        "vitals-series",
        { sign: "heartRate", bucket: "hour", aggregation: "mean" },
        { purpose: Purpose.RESEARCH },
      );
      expect(hourly.ok, JSON.stringify(hourly.body)).to.equal(true);
      if (!hourly.ok) return;
      const answer = hourly.body.answer;
      if (answer.bucket === "raw") throw new Error("expected buckets");
      expect(answer.buckets.length).to.be.greaterThan(0);
      expect(answer.buckets[0]).to.have.keys(["start", "end", "mean"]);
      expect(hourly.body.proofs.batches).to.have.length(1);
      expect(hourly.body.proofs.batches?.[0].readings).to.equal(HEART_RATES.length);
      expect(hourly.body.proofs.unanchoredReadings).to.equal(0);
      expect((await verifyAnswer(hourly.body, { updateLog: h.f.updateLog })).valid).to.equal(true);

      const raw = await client.query(h.f.twinId, "vitals-series", { sign: "heartRate" }, { purpose: Purpose.RESEARCH });
      expect(raw.status).to.equal(403);
      expect(raw.body).to.deep.include({ error: "action-not-granted" });
    });

    it("a grant of READ also answers bucketed series", async () => {
      await grant(h.f, h.f.researcher.address, {
        categories: VITALS_AND_WEARABLE,
        actions: READ,
        purposes: Purpose.RESEARCH,
      });
      const daily = await h
        .client(h.f.researcher)
        .query(h.f.twinId, "vitals-series", { sign: "heartRate", bucket: "day" }, { purpose: Purpose.RESEARCH });
      expect(daily.ok).to.equal(true);
    });
  });

  describe("refusals: a reason code and no data", () => {
    beforeEach(async () => {
      h = await GatewayHarness.start();
    });
    closeEach();

    const latest = (h: GatewayHarness, purpose: number = Purpose.TREATMENT) =>
      h.client(h.f.clinician).query(h.f.twinId, "latest-vitals", {}, { purpose });

    function expectRefusal(result: { ok: boolean; status: number; body: object }, status: number, error: string) {
      expect(result.ok).to.equal(false);
      expect(result.status).to.equal(status);
      // Refusals of grantees are entries under the twin; those showing no standing are only counted (item 7).
      const logged = !AGGREGATE_REFUSALS.has(error);
      expect(result.body).to.have.keys(logged ? ["error", "message", "logIndex"] : ["error", "message"]);
      expect(result.body).to.deep.include({ error });
    }

    it("no-consent", async () => {
      expectRefusal(await latest(h), 403, "no-consent");
    });

    it("blocked: a reader the patient blocked on the twin (AccessDecision.Blocked)", async () => {
      await (await h.f.consent.connect(h.f.patient).setBlocked(h.f.twinId, h.f.clinician.address, true)).wait();
      expectRefusal(await latest(h), 403, "blocked");
    });

    it("wrong-purpose", async () => {
      await grant(h.f, h.f.clinician.address, {
        categories: READING_CATEGORIES,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
      expectRefusal(await latest(h, Purpose.INSURANCE_CLAIM), 403, "wrong-purpose");
    });

    it("category-not-granted", async () => {
      await grant(h.f, h.f.clinician.address, {
        categories: DataCategory.VITALS,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
      expectRefusal(await latest(h), 403, "category-not-granted");
      // Asking only for what is granted passes.
      const vitalsOnly = await h
        .client(h.f.clinician)
        .query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT, category: DataCategory.VITALS });
      expect(vitalsOnly.ok).to.equal(true);
    });

    it("not-yet-valid and expired (time travel)", async () => {
      const now = await time.latest();
      await grant(h.f, h.f.clinician.address, {
        categories: VITALS_AND_WEARABLE,
        actions: READ,
        purposes: Purpose.TREATMENT,
        validFrom: now + 600,
        validUntil: now + 3600,
      });
      expectRefusal(await latest(h), 403, "not-yet-valid");
      await time.increase(1200);
      expect((await latest(h)).ok).to.equal(true);
      await time.increase(3600);
      expectRefusal(await latest(h), 403, "expired");
    });

    it("revoked: denied in the very next query after the revocation is mined", async () => {
      await grant(h.f, h.f.clinician.address, {
        categories: VITALS_AND_WEARABLE,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
      expect((await latest(h)).ok).to.equal(true);
      await (await h.f.consent.connect(h.f.patient).revoke(h.f.twinId, h.f.clinician.address)).wait();
      expectRefusal(await latest(h), 403, "revoked");
    });

    it("suspended, and erased on chain (410)", async () => {
      await grant(h.f, h.f.clinician.address, {
        categories: VITALS_AND_WEARABLE,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
      await (await h.f.registry.connect(h.f.patient).suspendTwin(h.f.twinId)).wait();
      expectRefusal(await latest(h), 403, "suspended");
      await (await h.f.registry.connect(h.f.patient).resumeTwin(h.f.twinId)).wait();
      expect((await latest(h)).ok).to.equal(true);
      await (await h.f.registry.connect(h.f.patient).eraseTwin(h.f.twinId)).wait();
      expectRefusal(await latest(h), 410, "erased");
    });

    it("erased off chain: 410 without asking the chain", async () => {
      await grant(h.f, h.f.clinician.address, {
        categories: VITALS_AND_WEARABLE,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
      h.f.data.holdings.set(h.f.twinId.toLowerCase(), "erased");
      try {
        expectRefusal(await latest(h), 410, "erased");
      } finally {
        h.f.data.holdings.set(h.f.twinId.toLowerCase(), "active");
      }
    });

    for (const [what, provider] of [
      ["the head", { getBlock: () => Promise.reject(new Error("connection refused")) }],
      [
        "the consent call",
        {
          getBlock: (tag: string) => ethers.provider.getBlock(tag),
          call: () => Promise.reject(new Error("connection refused")),
        },
      ],
    ] as const) {
      it(`a chain that cannot be reached for ${what}: 503 chain-unavailable, logged, and no data`, async () => {
        const down = { provider } as unknown as ContractRunner;
        const offline = new GatewayHarness(h.f, { consent: ConsentPolicy__factory.connect(h.f.consentAddress, down) });
        await offline.open();
        try {
          expectRefusal(await latest(offline), 503, "chain-unavailable");
          expectRefusal(await latest(offline), 503, "chain-unavailable"); // a failed answer is not kept
          expect((await offline.gateway.accessLog.range(0, 1)).map((e) => e.decision)).to.deep.equal([
            "chain-unavailable",
            "chain-unavailable",
          ]);
        } finally {
          await offline.close();
        }
      });
    }

    it("regression: a stranger gets the same refusal for a twin held here and a registered twin that is not", async () => {
      // Before, the gateway answered 404 `unknown-twin` for a registered twin it does not hold and 403 `no-consent` for
      // one it holds, telling a stranger which twins it serves (issue 13).
      const elsewhere = await createTwinOf(h.f.registry, h.f.patient, "twin:held-elsewhere", h.f.hospital);
      const stranger = h.client(h.f.researcher);
      const held = await stranger.query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      const notHeld = await stranger.query(elsewhere, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expectRefusal(held, 403, "no-consent");
      expectRefusal(notHeld, 403, "no-consent");
      expect((notHeld.body as { message?: string }).message).to.equal((held.body as { message?: string }).message);
      // A reader with consent is no stranger: for a twin this gateway does not hold, it learns so.
      await (
        await h.f.consent
          .connect(h.f.patient)
          .grant(elsewhere, h.f.clinician.address, VITALS_AND_WEARABLE, Action.READ, Purpose.TREATMENT, 0, 2n ** 39n)
      ).wait();
      const granted = await h
        .client(h.f.clinician)
        .query(elsewhere, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expectRefusal(granted, 404, "unknown-twin");
    });

    it("unknown twin: 404", async () => {
      const result = await h
        .client(h.f.clinician)
        .query(ethers.id("twin:nobody"), "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expectRefusal(result, 404, "unknown-twin");
    });
  });

  describe("authentication: signature, freshness, replay", () => {
    beforeEach(async () => {
      h = await GatewayHarness.start();
      await grant(h.f, h.f.clinician.address, {
        categories: VITALS_AND_WEARABLE,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
    });
    closeEach();

    it("a signature by another key for the claimed reader: 401 bad-signature", async () => {
      const forged = await h
        .client(h.f.stranger)
        .signQuery(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      const result = await h.client(h.f.clinician).post({ ...forged, reader: h.f.clinician.address });
      expect(result.status).to.equal(401);
      expect(result.body).to.deep.include({ error: "bad-signature" });
    });

    it("a signature that does not recover: 401; a tampered query (other twin) recovers another signer", async () => {
      const body = await h
        .client(h.f.clinician)
        .signQuery(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      const broken = await h.client(h.f.clinician).post({ ...body, signature: `0x${"00".repeat(64)}1b` });
      expect(broken.status).to.equal(401);
      expect(broken.body).to.deep.include({ error: "bad-signature" });
      const tampered = await h
        .client(h.f.clinician)
        .post({ ...body, query: { ...body.query, category: DataCategory.VITALS } });
      expect(tampered.status).to.equal(401);
    });

    it("params that are not the signed ones: 400 params-mismatch", async () => {
      const body = await h
        .client(h.f.clinician)
        .signQuery(h.f.twinId, "vitals-series", { sign: "heartRate" }, { purpose: Purpose.TREATMENT });
      const result = await h.client(h.f.clinician).post({ ...body, params: { sign: "glucose" } });
      expect(result.status).to.equal(400);
      expect(result.body).to.deep.include({ error: "params-mismatch" });
    });

    it("an issuedAt outside the freshness window: 401 expired-request (both directions)", async () => {
      const client = h.client(h.f.clinician);
      const now = Math.floor(Date.now() / 1000);
      for (const issuedAt of [now - 120, now + 120]) {
        const result = await client.query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT, issuedAt });
        expect(result.status).to.equal(401);
        expect(result.body).to.deep.include({ error: "expired-request" });
      }
    });

    it("a replayed nonce: 409, also after a restart of the gateway", async () => {
      const client = h.client(h.f.clinician);
      const body = await client.signQuery(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect((await client.post(body)).status).to.equal(200);
      const again = await client.post(body);
      expect(again.status).to.equal(409);
      expect(again.body).to.deep.include({ error: "replayed" });
      await h.restart();
      const afterRestart = await h.client(h.f.clinician).post(body);
      expect(afterRestart.status).to.equal(409);
      // Another reader may use the same nonce value.
      await grant(h.f, h.f.researcher.address, {
        categories: VITALS_AND_WEARABLE,
        actions: READ,
        purposes: Purpose.TREATMENT,
      });
      const other = await h
        .client(h.f.researcher)
        .query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT, nonce: body.query.nonce });
      expect(other.status).to.equal(200);
    });

    it("concurrent requests with one nonce: exactly one passes", async () => {
      const client = h.client(h.f.clinician);
      const body = await client.signQuery(
        h.f.twinId,
        "latest-vitals",
        {},
        { purpose: Purpose.TREATMENT, nonce: randomNonce() },
      );
      const statuses = (await Promise.all(Array.from({ length: 5 }, () => client.post(body)))).map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).to.have.length(1);
      expect(statuses.filter((s) => s === 409)).to.have.length(4);
    });
  });

  describe("bad requests: 4xx with {error, message}, never a crash", () => {
    before(async () => {
      h = await GatewayHarness.start({ bodyLimit: 4096 });
    });
    after(async () => {
      await h.close();
    });

    const cases: [
      string,
      () => Promise<{ status: number; body: { error: string; message: string } }>,
      number,
      string,
    ][] = [
      ["malformed JSON", () => h.raw('{"query": {'), 400, "malformed-json"],
      ["an empty body", () => h.raw(""), 400, "invalid-body"],
      ["missing fields", () => h.raw(JSON.stringify({ query: {}, params: {} })), 400, "invalid-body"],
      ["a non-JSON content type", () => h.raw("hello", "text/plain"), 415, "unsupported-media-type"],
      ["an oversized body", () => h.raw(JSON.stringify({ pad: "x".repeat(10_000) })), 413, "body-too-large"],
      ["an unknown route", () => h.raw("{}", "application/json", "/v1/nothing"), 404, "not-found"],
    ];
    for (const [name, send, status, error] of cases) {
      it(`${name}: ${status} ${error}`, async () => {
        const result = await send();
        expect(result.status).to.equal(status);
        expect(result.body.error).to.equal(error);
        expect(result.body.message).to.be.a("string").and.not.equal("");
      });
    }

    it("an unknown query type: 400 unknown-query-type; bad params: 400 invalid-params; bad category: 400", async () => {
      const client = h.client(h.f.clinician);
      const body = await client.signQuery(h.f.twinId, "summary", {}, { purpose: Purpose.TREATMENT });
      const unknown = await client.post({ ...body, query: { ...body.query, queryType: "everything" } });
      expect([unknown.status, unknown.body]).to.deep.equal([
        400,
        { error: "unknown-query-type", message: "unknown queryType" },
      ]);
      const params = await client.post({ ...body, params: { sign: "heartRate" } });
      expect(params.status).to.equal(400);
      expect(params.body).to.deep.include({ error: "invalid-params" });
      const series = await client.query(
        h.f.twinId,
        "vitals-series",
        { sign: "heartRate", from: 10, to: 5 },
        { purpose: Purpose.TREATMENT },
      );
      expect(series.body).to.deep.include({ error: "invalid-params" });
      const category = await client.query(
        h.f.twinId,
        "alerts",
        {},
        { purpose: Purpose.TREATMENT, category: ALERT_CATEGORIES & ~DataCategory.LABS },
      );
      expect(category.body).to.deep.include({ error: "invalid-category" });
      const purpose = await client.query(h.f.twinId, "summary", {}, { purpose: 0 });
      expect(purpose.body).to.deep.include({ error: "invalid-purpose" });
    });

    it("the gateway still answers after all of them", async () => {
      const result = await h
        .client(h.f.clinician)
        .query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
      expect(result.body).to.deep.include({ error: "no-consent" });
    });
  });
});
