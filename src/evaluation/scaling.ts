import { id, zeroPadValue, toBeHex } from "ethers";
import { twinIdOf } from "../chain/twin-id";
import { Action, DataCategory, Purpose } from "../vocabulary";
import { now, type InProcessChain, type Ledger } from "./chain";
import { viewExecutionGas } from "./meter";
import { timeAsync } from "./stats";
import type { BatchPoint, ScalingPoint, ScalingSeries } from "./types";

export interface ScalingOptions {
  /** The sizes at which to measure (twins, grants per twin), ascending. */
  readonly steps: readonly number[];
  /** eth_call repetitions per point for the view's latency. */
  readonly viewRuns: number;
}

const DAY = 86_400;

/** A distinct, deterministic address for grantee number `i`. */
export function granteeAddress(i: number): string {
  return zeroPadValue(toBeHex(0x10000 + i), 20);
}

/**
 * Part 5: gas and in-process latency as the number of twins and of grants per twin grow. Bulk state is written
 * with raw `eth_sendTransaction` (the unlocked Hardhat accounts, no gas estimation) to keep 10,000 writes within
 * a minute; the measured write at each step goes through the typechain binding like any client.
 */
export async function measureScaling(
  chain: InProcessChain,
  ledger: Ledger,
  options: ScalingOptions,
  tick: (what: string) => void,
): Promise<ScalingSeries[]> {
  const { registry, consent, actors } = ledger;
  const { hospital, clinician, patients } = actors;
  const owner = patients[patients.length - 1];
  const registryAddress = await registry.getAddress();
  const consentAddress = await consent.getAddress();
  const raw = async (from: string, to: string, data: string): Promise<void> => {
    await chain.send("eth_sendTransaction", [{ from, to, data, gas: "0x7a120" }]);
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const t0 = await now(chain.provider);

  // Twins: every twin gets one grant to the clinician; measured: the next createTwin and the consent view.
  const twinPoints: ScalingPoint[] = [];
  let twins = 0;
  // Twin ids are derived on chain from the owner and a salt (v2).
  const saltOf = (i: number) => id(`evaluation:scaling:twin:${i}`);
  const twinOf = (i: number) => twinIdOf(owner.address, saltOf(i));
  const createAndGrant = async (i: number) => {
    await raw(
      owner.address,
      registryAddress,
      registry.interface.encodeFunctionData("createTwin", [saltOf(i), id(`meta:${i}`), hospital.address]),
    );
    await raw(
      owner.address,
      consentAddress,
      consent.interface.encodeFunctionData("grant", [
        twinOf(i),
        clinician.address,
        DataCategory.VITALS,
        Action.READ,
        Purpose.TREATMENT,
        t0,
        t0 + 365 * DAY,
      ]),
    );
  };
  for (const n of options.steps) {
    while (twins < n - 1) await createAndGrant(twins++);
    // The n-th twin through the binding, measured.
    const start = performance.now();
    const receipt = await (
      await registry.connect(owner).createTwin(saltOf(twins), id(`meta:${twins}`), hospital.address)
    ).wait();
    const writeMs = performance.now() - start;
    if (!receipt) throw new Error("createTwin dropped");
    await raw(
      owner.address,
      consentAddress,
      consent.interface.encodeFunctionData("grant", [
        twinOf(twins),
        clinician.address,
        DataCategory.VITALS,
        Action.READ,
        Purpose.TREATMENT,
        t0,
        t0 + 365 * DAY,
      ]),
    );
    const probe = twinOf(Math.floor(twins / 2));
    twins++;
    const data = consent.interface.encodeFunctionData("isAuthorized", [
      probe,
      clinician.address,
      Action.READ,
      DataCategory.VITALS,
      Purpose.TREATMENT,
    ]);
    const viewGas = await viewExecutionGas(chain.provider, clinician.address, consentAddress, data);
    const viewMs = mean(await timeAsync(() => chain.provider.call({ to: consentAddress, data }), options.viewRuns, 3));
    twinPoints.push({ n, writeGas: Number(receipt.gasUsed), viewGas, viewMs, writeMs });
    tick(`twins: ${n}`);
  }

  // Grants per twin: one twin, n grantees; measured: the n-th grant and the consent check of an earlier grantee.
  const grantSalt = id("evaluation:scaling:grant-twin");
  const grantTwin = twinIdOf(owner.address, grantSalt);
  await (await registry.connect(owner).createTwin(grantSalt, id("meta:grant-twin"), hospital.address)).wait();
  const grantData = (grantee: string) =>
    consent.interface.encodeFunctionData("grant", [
      grantTwin,
      grantee,
      DataCategory.VITALS,
      Action.READ,
      Purpose.TREATMENT,
      t0,
      t0 + 365 * DAY,
    ]);
  const grantPoints: ScalingPoint[] = [];
  let grants = 0;
  for (const n of options.steps) {
    while (grants < n - 1) await raw(owner.address, consentAddress, grantData(granteeAddress(grants++)));
    const start = performance.now();
    const receipt = await (
      await consent
        .connect(owner)
        .grant(
          grantTwin,
          granteeAddress(grants),
          DataCategory.VITALS,
          Action.READ,
          Purpose.TREATMENT,
          t0,
          t0 + 365 * DAY,
        )
    ).wait();
    const writeMs = performance.now() - start;
    if (!receipt) throw new Error("grant dropped");
    const probe = granteeAddress(Math.floor(grants / 2));
    grants++;
    const data = consent.interface.encodeFunctionData("checkAccess", [
      grantTwin,
      probe,
      Action.READ,
      DataCategory.VITALS,
      Purpose.TREATMENT,
    ]);
    const viewGas = await viewExecutionGas(chain.provider, probe, consentAddress, data);
    const viewMs = mean(await timeAsync(() => chain.provider.call({ to: consentAddress, data }), options.viewRuns, 3));
    grantPoints.push({ n, writeGas: Number(receipt.gasUsed), viewGas, viewMs, writeMs });
    tick(`grants per twin: ${n}`);
  }

  return [
    {
      id: "twins",
      title: "Number of twins",
      write: "createTwin (the n-th twin)",
      view: "isAuthorized (consent check of one twin)",
      points: twinPoints,
      finding: flatness(twinPoints),
    },
    {
      id: "grants-per-twin",
      title: "Grants per twin",
      write: "grant (the n-th grantee of one twin)",
      view: "checkAccess (one grantee among n)",
      points: grantPoints,
      finding: flatness(grantPoints),
    },
  ];
}

/** The readings-per-batch series, from part 2's batch curve. */
export function batchSeries(curve: readonly BatchPoint[]): ScalingSeries {
  const points = curve.map((p): ScalingPoint => ({
    n: p.batchSize,
    writeGas: p.anchorGas,
    viewGas: p.verifyGas,
    viewMs: Number.NaN,
    writeMs: p.anchorMs,
    offChainMs: p.treeBuildMs,
  }));
  const first = curve[0];
  const last = curve[curve.length - 1];
  return {
    id: "readings-per-batch",
    title: "Readings per batch",
    write: "anchorBatch (one root for n readings)",
    view: "verifyReading (one reading's proof, on chain)",
    points,
    finding:
      `anchorBatch stays flat (${first.anchorGas.toLocaleString("en-US")} → ${last.anchorGas.toLocaleString("en-US")} gas ` +
      `from ${first.batchSize} to ${last.batchSize} readings), so the gas per reading falls as 1/n; the proof, and ` +
      `verifyReading's gas, grow with log2 n (${first.proofLength} → ${last.proofLength} hashes, ` +
      `${first.verifyGas.toLocaleString("en-US")} → ${last.verifyGas.toLocaleString("en-US")} gas); building the tree ` +
      `off chain grows linearly (${first.treeBuildMs.toFixed(2)} → ${last.treeBuildMs.toFixed(0)} ms).`,
  };
}

/** Says whether the write and view gas stay flat over the points (within 2 %), and by how much they move. */
export function flatness(points: readonly ScalingPoint[]): string {
  if (points.length < 2) return "one point only";
  const range = (xs: number[]) => {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return { lo, hi, flat: (hi - lo) / lo <= 0.02 };
  };
  const w = range(points.map((p) => p.writeGas));
  const v = range(points.map((p) => p.viewGas));
  const first = points[0].n;
  const last = points[points.length - 1].n;
  const say = (what: string, r: { lo: number; hi: number; flat: boolean }) =>
    `${what} ${r.flat ? "stays flat" : "varies"} (${r.lo.toLocaleString("en-US")} to ${r.hi.toLocaleString("en-US")} gas)`;
  return `From ${first} to ${last}: ${say("the write", w)}; ${say("the view", v)}.`;
}
