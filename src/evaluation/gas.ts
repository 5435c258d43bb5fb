import { existsSync, readFileSync } from "node:fs";
import { concat, id, sha256, toUtf8Bytes } from "ethers";
import {
  buildReadingTree,
  buildRecordTree,
  cidHashOf,
  proveReading,
  proveRecord,
  recordsAnchorOf,
  type RecordInput,
} from "../chain/anchors";
import { twinIdOf } from "../chain/twin-id";
import { signCreateTwin, signGrant } from "../chain/typed-data";
import { Action, DataCategory, Purpose, SourceKind } from "../vocabulary";
import { now, type InProcessChain, type Ledger } from "./chain";
import { TxMeter, viewExecutionGas } from "./meter";
import type { DeploymentGas, GasPart, GasReportMethod, ViewGas } from "./types";

const DAY = 86_400;
const EMR_CATEGORIES = DataCategory.DEMOGRAPHICS | DataCategory.CONDITIONS | DataCategory.LABS | DataCategory.VITALS;

/** A CIDv1 (raw, sha2-256) in binary, 36 bytes, as recordUpdate takes it. */
export function cidBytes(label: string): string {
  return concat(["0x01551220", sha256(toUtf8Bytes(label))]);
}

/** The categories an EMR bundle's records fall in, in turn (each record has exactly one). */
const BUNDLE_CATEGORIES = [
  DataCategory.DEMOGRAPHICS,
  DataCategory.CONDITIONS,
  DataCategory.LABS,
  DataCategory.VITALS,
] as const;

/** `n` distinct records as an EMR ingest anchors them (one category bit each, hash and CID of a sealed blob). */
export function syntheticRecords(label: string, n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    category: BUNDLE_CATEGORIES[i % BUNDLE_CATEGORIES.length],
    contentHash: id(`${label}:record:${i}`),
    cid: cidBytes(`${label}:record:${i}`),
  }));
}

/** Records in one EMR bundle of the evaluation's workload: the size the issue quotes (944,462 gas in v1). */
export const BUNDLE_RECORDS = 22;

/**
 * Part 1: runs every state-changing function of the three contracts on its first-time path (new storage
 * slots) and its typical path (slots already written), `rounds` times over fresh twins, and measures the
 * views' execution gas. Deterministic: the same rounds give the same gas.
 */
export async function measureGas(
  chain: InProcessChain,
  ledger: Ledger,
  rounds: number,
  tick: () => void,
): Promise<{ part: Omit<GasPart, "gasReport">; meter: TxMeter }> {
  const { registry, consent, updateLog, actors } = ledger;
  const { hospital, hospital2, emr, wearable, responder, relayer, clinician, researcher, patients } = actors;
  const m = new TxMeter();
  const chainId = (await chain.provider.getNetwork()).chainId;
  const registryAddress = await registry.getAddress();
  const consentAddress = await consent.getAddress();
  const views: ViewGas[] = [];

  for (let r = 0; r < rounds; r++) {
    const patient = patients[r % patients.length];
    const heir = patients[(r + 1) % patients.length];
    // Twin ids are derived on chain from the patient and a salt (v2).
    const salt = id(`evaluation:gas:salt:${r}`);
    const twinId = twinIdOf(patient.address, salt);
    const meta = id(`evaluation:gas:metadata:${r}`);

    await m.tx("TwinRegistry", "createTwin", "first-time", () =>
      registry.connect(patient).createTwin(salt, meta, hospital.address),
    );
    const t0 = await now(chain.provider);
    const signedTwin = await signCreateTwin(
      patient,
      { chainId, address: registryAddress },
      {
        salt: id(`evaluation:gas:signed-salt:${r}`),
        metadataCommitment: meta,
        custodian: hospital.address,
        nonce: await registry.nonces(patient.address),
        deadline: t0 + DAY,
      },
    );
    await m.tx("TwinRegistry", "createTwinFor", "first-time", () =>
      registry
        .connect(hospital)
        .createTwinFor(
          signedTwin.patient,
          signedTwin.salt,
          signedTwin.metadataCommitment,
          signedTwin.nonce,
          signedTwin.deadline,
          signedTwin.signature,
        ),
    );
    await m.tx("TwinRegistry", "authorizeSource", "first-time", () =>
      registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, EMR_CATEGORIES),
    );
    await m.tx("TwinRegistry", "authorizeSource", "first-time", () =>
      registry
        .connect(patient)
        .authorizeSource(twinId, wearable.address, SourceKind.Device, DataCategory.WEARABLE_STREAMS),
    );
    await m.tx("TwinRegistry", "authorizeSource", "typical", () =>
      registry
        .connect(patient)
        .authorizeSource(twinId, emr.address, SourceKind.Emr, EMR_CATEGORIES | DataCategory.MEDICATIONS),
    );
    await m.tx("TwinRegistry", "updateMetadata", "typical", () =>
      registry.connect(patient).updateMetadata(twinId, id(`evaluation:gas:metadata:${r}:v2`)),
    );
    await m.tx("TwinRegistry", "appointDelegate", "first-time", () =>
      registry.connect(patient).appointDelegate(twinId, relayer.address),
    );
    await m.tx("TwinRegistry", "removeDelegate", "typical", () =>
      registry.connect(patient).removeDelegate(twinId, relayer.address),
    );
    tick();

    // Update log: one EMR bundle as one record batch (v2: the first anchor writes the twin's head slot), then
    // single updates and a second bundle overwriting the head slot. Every record batch writes its own slot.
    const bundleRecords = syntheticRecords(`evaluation:gas:bundle:${r}:0`, BUNDLE_RECORDS);
    const bundleTree = buildRecordTree(bundleRecords);
    const first = recordsAnchorOf(bundleTree);
    await m.tx("TwinUpdateLog", "anchorRecords", "first-time", () =>
      updateLog.connect(emr).anchorRecords(twinId, first.recordsRoot, first.categories),
    );
    for (let u = 0; u < 4; u++) {
      await m.tx("TwinUpdateLog", "recordUpdate", "typical", () =>
        updateLog
          .connect(emr)
          .recordUpdate(twinId, DataCategory.CONDITIONS, id(`blob:${r}:${u}`), cidBytes(`blob:${r}:${u}`)),
      );
    }
    const second = recordsAnchorOf(buildRecordTree(syntheticRecords(`evaluation:gas:bundle:${r}:1`, BUNDLE_RECORDS)));
    await m.tx("TwinUpdateLog", "anchorRecords", "typical", () =>
      updateLog.connect(emr).anchorRecords(twinId, second.recordsRoot, second.categories),
    );
    const t1 = await now(chain.provider);
    const readings = Array.from({ length: 1440 }, (_, i) => ({
      readingHash: id(`evaluation:gas:reading:${r}:${i}`),
      timestamp: t1 - DAY + i * 60,
    }));
    const tree = buildReadingTree(readings);
    await m.tx("TwinUpdateLog", "anchorBatch", "first-time", () =>
      updateLog.connect(wearable).anchorBatch(twinId, tree.root),
    );
    // Versions count per custodian epoch (v2): the hospital's first commit is version 1, then current + 1.
    for (let v = 1; v <= 2; v++) {
      await m.tx("TwinUpdateLog", "commitTwinState", v === 1 ? "first-time" : "typical", () =>
        updateLog.connect(hospital).commitTwinState(twinId, id(`state:${r}:${v}`), id(`sources:${r}:${v}`), v),
      );
    }
    tick();

    // Consent.
    const t2 = await now(chain.provider);
    await m.tx("ConsentPolicy", "grant", "first-time", () =>
      consent
        .connect(patient)
        .grant(twinId, clinician.address, DataCategory.VITALS, Action.READ, Purpose.TREATMENT, t2, t2 + 30 * DAY),
    );
    await m.tx("ConsentPolicy", "grant", "typical", () =>
      consent
        .connect(patient)
        .grant(
          twinId,
          clinician.address,
          DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
          Action.READ,
          Purpose.TREATMENT,
          t2,
          t2 + 30 * DAY,
        ),
    );
    await m.tx("ConsentPolicy", "updateGrant", "typical", () =>
      consent
        .connect(patient)
        .updateGrant(
          twinId,
          clinician.address,
          DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
          Action.READ,
          Purpose.TREATMENT | Purpose.CARE_COORDINATION,
          t2,
          t2 + 60 * DAY,
        ),
    );
    const terms = {
      twinId,
      grantee: researcher.address,
      categories: DataCategory.VITALS,
      actions: Action.AGGREGATE,
      purposes: Purpose.RESEARCH,
      validFrom: t2,
      validUntil: t2 + 90 * DAY,
    };
    // v2: unordered nonces (the round's number: 256 share a bitmap word, the first use of a word writes it new)
    // and the (twin, grantee) pair's epoch, which any direct grant, update or revoke of the pair moves on.
    const signed = await signGrant(
      patient,
      { chainId, address: consentAddress },
      terms,
      BigInt(r),
      t2 + DAY,
      Number(await consent.grantEpochOf(twinId, researcher.address)),
    );
    await m.tx("ConsentPolicy", "grantBySig", "first-time", () =>
      consent
        .connect(relayer)
        .grantBySig(terms, signed.signer, signed.epoch, signed.nonce, signed.deadline, signed.signature),
    );
    await m.tx("ConsentPolicy", "cancelNonce", "first-time", () =>
      consent.connect(patient).cancelNonce(BigInt(1_000 + r)),
    );
    await m.tx("ConsentPolicy", "setBlocked", "first-time", () =>
      consent.connect(patient).setBlocked(twinId, hospital2.address, true),
    );

    // Views: execution gas of the consent check and the reading proof.
    if (r === 0) {
      const call = (data: string) => viewExecutionGas(chain.provider, researcher.address, consentAddress, data);
      const args = (who: string, purpose: number): [string, string, number, number, number] => [
        twinId,
        who,
        Action.READ,
        DataCategory.VITALS,
        purpose,
      ];
      views.push(
        {
          contract: "ConsentPolicy",
          method: "checkAccess",
          case: "allowed (live grant)",
          executionGas: await call(consent.interface.encodeFunctionData("checkAccess", args(clinician.address, 1))),
        },
        {
          contract: "ConsentPolicy",
          method: "isAuthorized",
          case: "allowed (live grant)",
          executionGas: await call(consent.interface.encodeFunctionData("isAuthorized", args(clinician.address, 1))),
        },
        {
          contract: "ConsentPolicy",
          method: "isAuthorized",
          case: "denied (no grant)",
          executionGas: await call(consent.interface.encodeFunctionData("isAuthorized", args(responder.address, 1))),
        },
      );
      const sample = readings[720];
      const proof = proveReading(tree, sample.readingHash, sample.timestamp);
      views.push({
        contract: "TwinUpdateLog",
        method: "verifyReading",
        case: `1 reading of ${readings.length} (proof of ${proof.length} hashes)`,
        executionGas: await viewExecutionGas(
          chain.provider,
          researcher.address,
          await updateLog.getAddress(),
          updateLog.interface.encodeFunctionData("verifyReading", [
            twinId,
            wearable.address,
            tree.root,
            sample.readingHash,
            sample.timestamp,
            proof,
          ]),
        ),
      });
      const record = bundleRecords[BUNDLE_RECORDS >> 1];
      const recordProof = proveRecord(bundleTree, record);
      views.push({
        contract: "TwinUpdateLog",
        method: "verifyRecord",
        case: `1 record of an EMR bundle of ${BUNDLE_RECORDS} (proof of ${recordProof.length} hashes)`,
        executionGas: await viewExecutionGas(
          chain.provider,
          researcher.address,
          await updateLog.getAddress(),
          updateLog.interface.encodeFunctionData("verifyRecord", [
            twinId,
            emr.address,
            first.recordsRoot,
            record.category,
            record.contentHash,
            cidHashOf(record.cid),
            recordProof,
          ]),
        ),
      });
    }

    await m.tx("ConsentPolicy", "revoke", "typical", () => consent.connect(patient).revoke(twinId, clinician.address));
    // v2: grantRequest never narrows a live grant, so the researcher's signed grant ends before its requests.
    await m.tx("ConsentPolicy", "revoke", "typical", () => consent.connect(patient).revoke(twinId, researcher.address));
    for (const outcome of ["grantRequest", "denyRequest", "withdrawRequest"] as const) {
      const receipt = await m.tx("ConsentPolicy", "requestConsent", "first-time", () =>
        consent
          .connect(researcher)
          .requestConsent(twinId, DataCategory.VITALS, Purpose.RESEARCH, 30 * DAY, id(`reason:${r}:${outcome}`)),
      );
      const requestId = receipt.logs
        .map((log) => consent.interface.parseLog(log))
        .find((e) => e?.name === "ConsentRequested")?.args.requestId as bigint | undefined;
      if (requestId === undefined) throw new Error("no ConsentRequested event");
      if (outcome === "grantRequest") {
        await m.tx("ConsentPolicy", "grantRequest", "typical", () =>
          consent.connect(patient).grantRequest(requestId, Action.READ, 0),
        );
      } else if (outcome === "denyRequest") {
        await m.tx("ConsentPolicy", "denyRequest", "typical", () => consent.connect(patient).denyRequest(requestId));
      } else {
        await m.tx("ConsentPolicy", "withdrawRequest", "typical", () =>
          consent.connect(researcher).withdrawRequest(requestId),
        );
      }
    }
    await m.tx("ConsentPolicy", "setEmergencyPolicy", "first-time", () =>
      consent
        .connect(patient)
        .setEmergencyPolicy(twinId, true, 12 * 3600, DataCategory.VITALS | DataCategory.ALLERGIES),
    );
    await m.tx("ConsentPolicy", "openEmergencyAccess", "first-time", () =>
      consent.connect(responder).openEmergencyAccess(twinId, 4 * 3600, id(`emergency:${r}`)),
    );
    await m.tx("ConsentPolicy", "closeEmergencyAccess", "typical", () =>
      consent.connect(patient).closeEmergencyAccess(twinId, responder.address),
    );
    tick();

    // Lifecycle.
    await m.tx("TwinRegistry", "changeCustodian", "typical", () =>
      registry.connect(patient).changeCustodian(twinId, hospital2.address),
    );
    await m.tx("TwinRegistry", "changeCustodian", "typical", () =>
      registry.connect(patient).changeCustodian(twinId, hospital.address),
    );
    await m.tx("TwinRegistry", "removeSource", "typical", () =>
      registry.connect(patient).removeSource(twinId, emr.address),
    );
    await m.tx("TwinRegistry", "suspendTwin", "typical", () => registry.connect(patient).suspendTwin(twinId));
    await m.tx("TwinRegistry", "resumeTwin", "typical", () => registry.connect(patient).resumeTwin(twinId));
    await m.tx("TwinRegistry", "transferOwnership", "first-time", () =>
      registry.connect(patient).transferOwnership(twinId, heir.address),
    );
    await m.tx("TwinRegistry", "acceptOwnership", "typical", () => registry.connect(heir).acceptOwnership(twinId));
    await m.tx("TwinRegistry", "eraseTwin", "typical", () => registry.connect(heir).eraseTwin(twinId));
    tick();
  }

  const deployments: DeploymentGas[] = [];
  for (const c of ledger.contracts) {
    const code = await chain.provider.getCode(c.address);
    deployments.push({ contract: c.name, gas: Number(c.receipt.gasUsed), runtimeBytes: (code.length - 2) / 2 });
  }
  deployments.push({
    contract: "OnChainRecordStore (baseline)",
    gas: ledger.baselineDeployGas,
    runtimeBytes: ledger.baselineRuntimeBytes,
  });
  return { part: { functions: m.functions(), views, deployments }, meter: m };
}

function numberOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * The methods of a hardhat-gas-reporter v2 JSON report (`data.methods`), or null if the file is missing or not
 * in that shape. Only the fields the evaluation shows are read.
 */
export function readGasReport(file: string): { file: string; methods: GasReportMethod[] } | null {
  if (!existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
  return parseGasReport(file, json);
}

/** See `readGasReport`; exported for tests. */
export function parseGasReport(file: string, json: unknown): { file: string; methods: GasReportMethod[] } | null {
  if (typeof json !== "object" || json === null) return null;
  const data = (json as { data?: unknown }).data;
  if (typeof data !== "object" || data === null) return null;
  const methods = (data as { methods?: unknown }).methods;
  if (typeof methods !== "object" || methods === null) return null;
  const out: GasReportMethod[] = [];
  for (const entry of Object.values(methods as Record<string, unknown>)) {
    if (typeof entry !== "object" || entry === null) continue;
    const e = entry as Record<string, unknown>;
    const calls = typeof e.numberOfCalls === "number" ? e.numberOfCalls : 0;
    if (calls === 0) continue;
    out.push({
      contract: String(e.contract ?? "?"),
      method: String(e.fnSig ?? e.method ?? "?"),
      min: numberOrNull(e.min),
      max: numberOrNull(e.max),
      // hardhat-gas-reporter 2 names the average (of whole transactions) executionGasAverage.
      avg: numberOrNull(e.executionGasAverage ?? e.avg),
      calls,
    });
  }
  out.sort((a, b) => a.contract.localeCompare(b.contract) || a.method.localeCompare(b.method));
  return { file, methods: out };
}
