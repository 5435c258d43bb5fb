/**
 * Issue 15's demo chapter: a consented cohort study and device provenance, on the embedded Hardhat network.
 * Run alone with `npx hardhat run scripts/demo-study.ts` (the integrator wires `npm run demo -- --study`).
 *
 * A sponsor registers a study (its protocol as a salted commitment), the ethics board approves it, patients enrol
 * their twins; a query over too few contributors is refused (k); a noisy answer is recorded on chain with its ε and
 * its contributor root, and one contributor's leaf is verified against the root and its enrolment at the block; a
 * patient withdraws and the next answer leaves the twin out; a twin deteriorates, its NEWS2 rises and its forecast
 * alerts fire before the measured ones; a manufacturer recalls a device and its readings are set aside, in the cohort
 * answer and in a twin's NEWS2, trend and alerts. All data is synthetic. Also `npm run demo -- --study`.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { commit } from "../src/chain/commitments";
import { deployTwinLedger } from "../src/chain/deploy";
import { deployResearch } from "../src/chain/deploy-research";
import { twinIdOf } from "../src/chain/twin-id";
import type { VitalReading } from "../src/fhir/records";
import {
  Aggregate,
  answerCohortQuery,
  enrolledAt,
  recordAnswer,
  ResearchError,
  seededRandom,
  studyTermsOf,
  verifyContributor,
  type CohortQuery,
  type CohortTwin,
} from "../src/research";
import { DataCategory, Purpose, SourceKind } from "../src/vocabulary";
import { deteriorationScene, recalledDeviceScene } from "./lib/demo-care";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const RECALL = 1; // IDeviceRegistry.FlagReason.Recall

function say(line: string): void {
  console.log(line);
}

/** A synthetic twin: a day of heart-rate readings from its device. */
function syntheticTwin(twinId: string, i: number, device: string): CohortTwin {
  const vitals: VitalReading[] = Array.from({ length: 24 }, (_, h) => ({
    sign: "heartRate",
    value: 62 + 2 * i + (h % 5),
    unit: "/min",
    at: T0 + h * HOUR,
    source: device,
  }));
  return { twinId, stateRoot: ethers.id(`demo state ${i}`), vitals, conditions: [], medications: [] };
}

async function main(): Promise<void> {
  const signers = await ethers.getSigners();
  const [admin, governance, hospital, sponsor, board, maker] = signers;
  const patients: HardhatEthersSigner[] = signers.slice(8, 18);
  const core = await deployTwinLedger({ deployer: admin, adminDelay: 0, governance: [governance.address] });
  await (await core.registry.connect(governance).grantRole(await core.registry.CUSTODIAN_ROLE(), hospital)).wait();
  const { studies, devices } = await deployResearch({
    deployer: admin,
    registry: await core.registry.getAddress(),
    ethicsBoard: [board.address],
    operators: [hospital.address],
    manufacturers: [maker.address],
  });
  say("# Chapter: a consented cohort study\n");

  // Twins, each fed by its own wearable device, registered by its manufacturer with salted commitments.
  const twins: CohortTwin[] = [];
  for (const [i, patient] of patients.entries()) {
    const salt = ethers.id(`demo study twin ${i}`);
    await (await core.registry.connect(patient).createTwin(salt, ethers.id(`metadata ${i}`), hospital)).wait();
    const twinId = twinIdOf(patient.address, salt);
    const device = ethers.Wallet.createRandom().address;
    await (
      await core.registry
        .connect(patient)
        .authorizeSource(twinId, device, SourceKind.Device, DataCategory.VITALS | DataCategory.WEARABLE_STREAMS)
    ).wait();
    await (
      await devices
        .connect(maker)
        .registerDevice(
          device,
          commit("Acme Pulse 3").commitment,
          commit("fw 2.1.0").commitment,
          commit("2025-11-02").commitment,
        )
    ).wait();
    twins.push(syntheticTwin(twinId, i, device));
  }
  say(`${twins.length} patients created twins, each fed by a registered wearable.`);

  // The study: k = 3, ε budget 4.0, counts and means of vitals, for a year.
  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  const protocol = commit("Protocol: resting heart rate in adults, v1.2", { domain: "TwinLedger study protocol v1" });
  await (
    await studies.connect(sponsor).registerStudy({
      purpose: Purpose.RESEARCH,
      categories: DataCategory.VITALS,
      aggregates: Aggregate.count | Aggregate.mean,
      minCohort: 3,
      budget: 4000,
      windowStart: now,
      windowEnd: now + 365 * 24 * 3600,
      protocolCommitment: protocol.commitment,
    })
  ).wait();
  const studyId = 1n;
  say(
    `The sponsor registered study ${studyId} (k = 3, ε budget 4.0, protocol committed ${protocol.commitment.slice(0, 10)}…).`,
  );
  await (await studies.connect(board).reviewStudy(studyId, true)).wait();
  say("The ethics board approved it: enrolment is open.");

  const operator = studies.connect(hospital);
  const meanHeartRate: CohortQuery = {
    aggregate: "mean",
    subject: { kind: "vital", sign: "heartRate", bounds: [40, 110] },
    window: { from: T0, to: T0 + 24 * HOUR },
    epsilonMilli: 1000,
  };
  const random = seededRandom(2026);
  async function ask(label: string, flaggedDevices?: ReadonlySet<string>) {
    const atBlock = await ethers.provider.getBlockNumber();
    const enrolled = await enrolledAt(
      operator,
      studyId,
      twins.map((t) => t.twinId),
      atBlock,
    );
    const terms = await studyTermsOf(operator, studyId);
    try {
      const answer = answerCohortQuery(twins, meanHeartRate, terms, {
        isEnrolled: (id) => enrolled.has(id),
        flaggedDevices,
        random,
      });
      const { blockNumber } = await recordAnswer(operator, studyId, answer, atBlock);
      say(
        `${label}: mean heart rate ≈ ${answer.value!.toFixed(1)} /min over ${answer.contributors.length} twins ` +
          `(ε 1.0 spent, ${Number(await studies.remainingBudget(studyId)) / 1000} left; root ` +
          `${answer.commitment.root.slice(0, 10)}… recorded in block ${blockNumber}` +
          `${answer.setAside > 0 ? `; ${answer.setAside} readings from flagged devices set aside` : ""}).`,
      );
      return { answer, atBlock };
    } catch (error) {
      if (!(error instanceof ResearchError)) throw error;
      say(`${label}: refused (${error.code}); no ε spent.`);
      return null;
    }
  }

  for (const i of [0, 1]) await (await studies.connect(patients[i]).enrol(studyId, twins[i].twinId)).wait();
  say("\nTwo patients enrolled.");
  await ask("Query 1");

  for (let i = 2; i < patients.length; i += 1)
    await (await studies.connect(patients[i]).enrol(studyId, twins[i].twinId)).wait();
  say(`\n${patients.length - 2} more enrolled.`);
  const second = await ask("Query 2");
  if (second !== null) {
    const leaf = second.answer.contributors[0];
    const proof = second.answer.commitment.proofOf(leaf.twinId);
    const inRoot = verifyContributor(second.answer.commitment.root, leaf, proof);
    const wasEnrolled = await studies.isEnrolledAt(studyId, leaf.twinId, second.atBlock);
    say(
      `An auditor checks one contributor: leaf in the root ${inRoot}, enrolled at block ${second.atBlock} ${wasEnrolled}.`,
    );
  }

  const tx = await studies.connect(patients[9]).withdraw(studyId, twins[9].twinId);
  const withdrawnAt = (await tx.wait())!.blockNumber;
  say(
    `\nA patient withdrew in block ${withdrawnAt}; enrolled there: ${await studies.isEnrolledAt(studyId, twins[9].twinId, withdrawnAt)}.`,
  );
  await ask("Query 3");

  say("\n# Predictive care\n");
  say("One twin gets an observation set every 5 minutes (synthetic values).");
  deteriorationScene(say, T0, twins[1].vitals[0].source!);

  say("\n# Device provenance\n");
  const recalled = twins[0].vitals[0].source!;
  await (await devices.connect(maker).flagDevice(recalled, RECALL)).wait();
  const [reason] = await devices.flagOf(recalled);
  say(`The manufacturer recalled one wearable (flag reason ${reason} = Recall).`);
  const flagged = new Set<string>();
  for (const t of twins) {
    const source = t.vitals[0].source!;
    if ((await devices.flagOf(source))[0] !== 0n) flagged.add(source);
  }
  await ask("Query 4", flagged);
  await recalledDeviceScene(say, T0, devices, ethers.Wallet.createRandom().address, recalled);
  say(
    `\nBudget left: ${Number(await studies.remainingBudget(studyId)) / 1000} of 4.0; a fifth query would be refused on chain once it is gone.`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
