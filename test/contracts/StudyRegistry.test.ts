import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { ethers } from "hardhat";
import { StudyRegistry__factory } from "../../typechain-types";
import type { IStudyRegistry } from "../../typechain-types";
import { DataCategory, Purpose } from "../../src/vocabulary";
import { createTwinOf, studyFixture as registryFixture } from "../fixtures";

/*
 * StudyRegistry: every external function's success, reverts (custom error and arguments) and events; the roles;
 * the window to the second; enrolment history by block (`isEnrolledAt`), withdrawal effective from its block.
 */

enum Status {
  None,
  Proposed,
  Approved,
  Rejected,
  Closed,
}

const COUNT = 1;
const MEAN = 2;
const QUANTILE = 4;
const HISTOGRAM = 8;
const DAY = 24 * 60 * 60;
const PROTOCOL = ethers.id("protocol commitment");
const ROOT = ethers.id("contributors root");

async function termsFrom(start: number, overrides: Partial<IStudyRegistry.StudyTermsStruct> = {}) {
  return {
    purpose: Purpose.RESEARCH,
    categories: DataCategory.VITALS | DataCategory.CONDITIONS,
    aggregates: COUNT | MEAN,
    minCohort: 2,
    budget: 1000,
    windowStart: start,
    windowEnd: start + 30 * DAY,
    protocolCommitment: PROTOCOL,
    ...overrides,
  };
}

/** The shared `studyFixture` (ethics board: governance; operator: the hospital) with the terms of a study from now. */
async function studyFixture() {
  const f = await registryFixture();
  const now = await time.latest();
  const terms = await termsFrom(now);
  return { ...f, terms, now };
}

/** `studyFixture` with study 1 registered by the researcher and approved, and a second twin (the stranger's). */
async function approvedFixture() {
  const f = await studyFixture();
  await f.studies.connect(f.researcher).registerStudy(f.terms);
  await f.studies.connect(f.governance).reviewStudy(1, true);
  const otherTwin = await createTwinOf(f.registry, f.stranger, "twin:salt:other", f.hospital);
  return { ...f, studyId: 1n, otherTwin };
}

/** `approvedFixture` with both twins enrolled. */
async function enrolledFixture() {
  const f = await approvedFixture();
  await f.studies.connect(f.patient).enrol(f.studyId, f.twinId);
  await f.studies.connect(f.stranger).enrol(f.studyId, f.otherTwin);
  return f;
}

describe("StudyRegistry", function () {
  describe("deployment", function () {
    it("refuses a zero registry or a zero admin", async function () {
      const [admin] = await ethers.getSigners();
      const factory = new StudyRegistry__factory(admin);
      await expect(factory.deploy(ethers.ZeroAddress, admin.address)).to.be.revertedWithCustomError(
        factory,
        "ZeroRegistry",
      );
      await expect(factory.deploy(admin.address, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        factory,
        "ZeroRegistry",
      );
    });

    it("declares the aggregate bits the off-chain code uses", async function () {
      const { studies } = await loadFixture(studyFixture);
      expect(await studies.AGGREGATE_COUNT()).to.equal(COUNT);
      expect(await studies.AGGREGATE_MEAN()).to.equal(MEAN);
      expect(await studies.AGGREGATE_QUANTILE()).to.equal(QUANTILE);
      expect(await studies.AGGREGATE_HISTOGRAM()).to.equal(HISTOGRAM);
      expect(await studies.AGGREGATE_ALL()).to.equal(15);
      expect(await studies.MIN_COHORT_FLOOR()).to.equal(2);
    });
  });

  describe("registerStudy", function () {
    it("registers a proposed study with its terms and emits StudyRegistered", async function () {
      const { studies, researcher, terms } = await loadFixture(studyFixture);
      await expect(studies.connect(researcher).registerStudy(terms))
        .to.emit(studies, "StudyRegistered")
        .withArgs(1, researcher.address, Object.values(terms));
      const study = await studies.studyOf(1);
      expect(study.sponsor).to.equal(researcher.address);
      expect(study.status).to.equal(Status.Proposed);
      expect(study.minCohort).to.equal(2);
      expect(study.budget).to.equal(1000);
      expect(study.spent).to.equal(0);
      expect(study.protocolCommitment).to.equal(PROTOCOL);
      expect(await studies.studyCount()).to.equal(1);
      expect(await studies.remainingBudget(1)).to.equal(1000);
      expect((await studies.studyOf(2)).status).to.equal(Status.None);
    });

    it("accepts a clinical trial", async function () {
      const { studies, researcher, now } = await loadFixture(studyFixture);
      await studies.connect(researcher).registerStudy(await termsFrom(now, { purpose: Purpose.CLINICAL_TRIAL }));
      expect((await studies.studyOf(1)).purpose).to.equal(Purpose.CLINICAL_TRIAL);
    });

    it("refuses bad terms with the offending value", async function () {
      const { studies, researcher, now } = await loadFixture(studyFixture);
      const s = studies.connect(researcher);
      const cases: [Partial<IStudyRegistry.StudyTermsStruct>, string, unknown[]][] = [
        [{ purpose: Purpose.TREATMENT }, "InvalidPurpose", [Purpose.TREATMENT]],
        [{ purpose: Purpose.RESEARCH | Purpose.CLINICAL_TRIAL }, "InvalidPurpose", [Purpose.RESEARCH | 64]],
        [{ categories: 0 }, "InvalidCategories", [0]],
        [{ categories: 1 << 14 }, "InvalidCategories", [1 << 14]],
        [{ aggregates: 0 }, "InvalidAggregates", [0]],
        [{ aggregates: 16 }, "InvalidAggregates", [16]],
        [{ minCohort: 1 }, "InvalidMinCohort", [1, 2]],
        [{ budget: 0 }, "InvalidBudget", [0]],
        [{ windowStart: now, windowEnd: now }, "InvalidWindow", [now, now]],
        [{ windowStart: now - 10 * DAY, windowEnd: now - DAY }, "InvalidWindow", [now - 10 * DAY, now - DAY]],
        [{ protocolCommitment: ethers.ZeroHash }, "EmptyCommitment", []],
      ];
      for (const [overrides, error, args] of cases) {
        await expect(s.registerStudy(await termsFrom(now, overrides)))
          .to.be.revertedWithCustomError(studies, error)
          .withArgs(...args);
      }
      expect(await studies.studyCount()).to.equal(0);
    });
  });

  describe("reviewStudy and closeStudy", function () {
    it("lets only the ethics board review", async function () {
      const { studies, researcher, terms } = await loadFixture(studyFixture);
      await studies.connect(researcher).registerStudy(terms);
      await expect(studies.connect(researcher).reviewStudy(1, true))
        .to.be.revertedWithCustomError(studies, "AccessControlUnauthorizedAccount")
        .withArgs(researcher.address, await studies.ETHICS_BOARD_ROLE());
    });

    it("approves or rejects a proposed study, once", async function () {
      const { studies, researcher, governance, terms } = await loadFixture(studyFixture);
      await studies.connect(researcher).registerStudy(terms);
      await studies.connect(researcher).registerStudy(terms);
      await expect(studies.connect(governance).reviewStudy(1, true))
        .to.emit(studies, "StudyReviewed")
        .withArgs(1, governance.address, true);
      await expect(studies.connect(governance).reviewStudy(2, false))
        .to.emit(studies, "StudyReviewed")
        .withArgs(2, governance.address, false);
      expect((await studies.studyOf(1)).status).to.equal(Status.Approved);
      expect((await studies.studyOf(2)).status).to.equal(Status.Rejected);
      await expect(studies.connect(governance).reviewStudy(1, false))
        .to.be.revertedWithCustomError(studies, "InvalidStudyStatus")
        .withArgs(1, Status.Approved);
      await expect(studies.connect(governance).reviewStudy(3, true))
        .to.be.revertedWithCustomError(studies, "UnknownStudy")
        .withArgs(3);
    });

    it("closes an approved study by its sponsor or the board, and nobody else", async function () {
      const { studies, researcher, governance, stranger, terms } = await loadFixture(studyFixture);
      await studies.connect(researcher).registerStudy(terms);
      await studies.connect(researcher).registerStudy(terms);
      await expect(studies.connect(researcher).closeStudy(1))
        .to.be.revertedWithCustomError(studies, "InvalidStudyStatus")
        .withArgs(1, Status.Proposed);
      await studies.connect(governance).reviewStudy(1, true);
      await studies.connect(governance).reviewStudy(2, true);
      await expect(studies.connect(stranger).closeStudy(1))
        .to.be.revertedWithCustomError(studies, "NotSponsor")
        .withArgs(1, stranger.address);
      await expect(studies.connect(researcher).closeStudy(1))
        .to.emit(studies, "StudyClosed")
        .withArgs(1, researcher.address);
      await expect(studies.connect(governance).closeStudy(2))
        .to.emit(studies, "StudyClosed")
        .withArgs(2, governance.address);
      expect((await studies.studyOf(1)).status).to.equal(Status.Closed);
      await expect(studies.connect(researcher).closeStudy(9))
        .to.be.revertedWithCustomError(studies, "UnknownStudy")
        .withArgs(9);
    });
  });

  describe("enrol", function () {
    it("enrols a twin by its owner or a delegate, from the block of the enrolment", async function () {
      const { studies, registry, patient, guardian, stranger, twinId, otherTwin, studyId } =
        await loadFixture(approvedFixture);
      const tx = await studies.connect(patient).enrol(studyId, twinId);
      const block = (await tx.wait())!.blockNumber;
      await expect(tx).to.emit(studies, "TwinEnrolled").withArgs(studyId, twinId, patient.address, block);
      expect(await studies.isEnrolled(studyId, twinId)).to.equal(true);
      expect(await studies.isEnrolledAt(studyId, twinId, block)).to.equal(true);
      expect(await studies.isEnrolledAt(studyId, twinId, block - 1)).to.equal(false);
      expect(await studies.enrolmentOf(studyId, twinId)).to.deep.equal([BigInt(block), 0n]);
      await registry.connect(stranger).appointDelegate(otherTwin, guardian.address);
      await studies.connect(guardian).enrol(studyId, otherTwin);
      expect((await studies.studyOf(studyId)).enrolled).to.equal(2);
    });

    it("refuses strangers, inactive twins, second enrolments and unopened studies", async function () {
      const { studies, registry, patient, stranger, twinId, otherTwin, studyId, researcher, terms } =
        await loadFixture(approvedFixture);
      await expect(studies.connect(stranger).enrol(studyId, twinId))
        .to.be.revertedWithCustomError(studies, "NotTwinController")
        .withArgs(twinId, stranger.address);
      await registry.connect(stranger).suspendTwin(otherTwin);
      await expect(studies.connect(stranger).enrol(studyId, otherTwin))
        .to.be.revertedWithCustomError(studies, "TwinNotActive")
        .withArgs(otherTwin, 2);
      await studies.connect(patient).enrol(studyId, twinId);
      await expect(studies.connect(patient).enrol(studyId, twinId))
        .to.be.revertedWithCustomError(studies, "AlreadyEnrolled")
        .withArgs(studyId, twinId);
      await expect(studies.connect(patient).enrol(7, twinId))
        .to.be.revertedWithCustomError(studies, "UnknownStudy")
        .withArgs(7);
      await studies.connect(researcher).registerStudy(terms);
      await expect(studies.connect(patient).enrol(2, twinId))
        .to.be.revertedWithCustomError(studies, "InvalidStudyStatus")
        .withArgs(2, Status.Proposed);
    });

    it("opens enrolment at the window's start and closes it at its end, to the second", async function () {
      const { studies, researcher, governance, patient, twinId } = await loadFixture(studyFixture);
      const start = (await time.latest()) + DAY;
      const terms = await termsFrom(start, { windowEnd: start + DAY });
      await studies.connect(researcher).registerStudy(terms);
      await studies.connect(governance).reviewStudy(1, true);
      await time.setNextBlockTimestamp(start - 1);
      await expect(studies.connect(patient).enrol(1, twinId))
        .to.be.revertedWithCustomError(studies, "OutsideWindow")
        .withArgs(1, start - 1);
      await time.setNextBlockTimestamp(start);
      await studies.connect(patient).enrol(1, twinId);
      await studies.connect(patient).withdraw(1, twinId);
      await time.setNextBlockTimestamp(start + DAY);
      await expect(studies.connect(patient).enrol(1, twinId))
        .to.be.revertedWithCustomError(studies, "OutsideWindow")
        .withArgs(1, start + DAY);
    });
  });

  describe("withdraw", function () {
    it("holds from its block: enrolled before, not at it nor after; final for the study", async function () {
      const { studies, patient, twinId, studyId } = await loadFixture(enrolledFixture);
      const [enrolledAt] = await studies.enrolmentOf(studyId, twinId);
      await mine(3);
      const tx = await studies.connect(patient).withdraw(studyId, twinId);
      const block = (await tx.wait())!.blockNumber;
      await expect(tx).to.emit(studies, "TwinWithdrawn").withArgs(studyId, twinId, patient.address, block);
      expect(await studies.isEnrolledAt(studyId, twinId, enrolledAt)).to.equal(true);
      expect(await studies.isEnrolledAt(studyId, twinId, block - 1)).to.equal(true);
      expect(await studies.isEnrolledAt(studyId, twinId, block)).to.equal(false);
      expect(await studies.isEnrolledAt(studyId, twinId, block + 1)).to.equal(false);
      expect(await studies.isEnrolled(studyId, twinId)).to.equal(false);
      expect((await studies.studyOf(studyId)).enrolled).to.equal(1);
      await expect(studies.connect(patient).withdraw(studyId, twinId))
        .to.be.revertedWithCustomError(studies, "NotEnrolled")
        .withArgs(studyId, twinId);
      await expect(studies.connect(patient).enrol(studyId, twinId))
        .to.be.revertedWithCustomError(studies, "AlreadyEnrolled")
        .withArgs(studyId, twinId);
    });

    it("refuses strangers and twins never enrolled; works on a closed study", async function () {
      const { studies, patient, stranger, researcher, twinId, otherTwin, studyId } = await loadFixture(approvedFixture);
      await expect(studies.connect(patient).withdraw(studyId, twinId))
        .to.be.revertedWithCustomError(studies, "NotEnrolled")
        .withArgs(studyId, twinId);
      await studies.connect(patient).enrol(studyId, twinId);
      await expect(studies.connect(stranger).withdraw(studyId, twinId))
        .to.be.revertedWithCustomError(studies, "NotTwinController")
        .withArgs(twinId, stranger.address);
      await studies.connect(researcher).closeStudy(studyId);
      await studies.connect(patient).withdraw(studyId, twinId);
      expect(await studies.isEnrolled(studyId, otherTwin)).to.equal(false);
    });
  });

  describe("spendBudget", function () {
    it("records the ε spent and the contributor commitment", async function () {
      const { studies, hospital, studyId } = await loadFixture(enrolledFixture);
      const atBlock = await ethers.provider.getBlockNumber();
      await expect(studies.connect(hospital).spendBudget(studyId, COUNT, 300, 2, ROOT, atBlock))
        .to.emit(studies, "BudgetSpent")
        .withArgs(studyId, 0, COUNT, 300, 700, 2, ROOT, atBlock);
      await expect(studies.connect(hospital).spendBudget(studyId, MEAN, 700, 2, ROOT, atBlock))
        .to.emit(studies, "BudgetSpent")
        .withArgs(studyId, 1, MEAN, 700, 0, 2, ROOT, atBlock);
      const study = await studies.studyOf(studyId);
      expect(study.spent).to.equal(1000);
      expect(study.queries).to.equal(2);
      expect(await studies.remainingBudget(studyId)).to.equal(0);
    });

    it("refuses once the budget is gone, below k, and on bad arguments", async function () {
      const { studies, hospital, studyId } = await loadFixture(enrolledFixture);
      const s = studies.connect(hospital);
      const atBlock = await ethers.provider.getBlockNumber();
      await s.spendBudget(studyId, COUNT, 900, 2, ROOT, atBlock);
      await expect(s.spendBudget(studyId, COUNT, 101, 2, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "BudgetExhausted")
        .withArgs(studyId, 101, 100);
      await expect(s.spendBudget(studyId, COUNT, 10, 1, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "CohortTooSmall")
        .withArgs(studyId, 1, 2);
      await expect(s.spendBudget(studyId, 0, 10, 2, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "InvalidAggregates")
        .withArgs(0);
      await expect(s.spendBudget(studyId, COUNT | MEAN, 10, 2, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "InvalidAggregates")
        .withArgs(3);
      await expect(s.spendBudget(studyId, HISTOGRAM, 10, 2, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "AggregateNotAllowed")
        .withArgs(studyId, HISTOGRAM);
      await expect(s.spendBudget(studyId, COUNT, 0, 2, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "InvalidBudget")
        .withArgs(0);
      await expect(s.spendBudget(studyId, COUNT, 10, 2, ethers.ZeroHash, atBlock)).to.be.revertedWithCustomError(
        studies,
        "EmptyCommitment",
      );
      const next = (await ethers.provider.getBlockNumber()) + 1;
      await expect(s.spendBudget(studyId, COUNT, 10, 2, ROOT, next))
        .to.be.revertedWithCustomError(studies, "BlockNotPast")
        .withArgs(next, next);
      await s.spendBudget(studyId, COUNT, 100, 2, ROOT, atBlock);
      await expect(s.spendBudget(studyId, COUNT, 1, 2, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "BudgetExhausted")
        .withArgs(studyId, 1, 0);
    });

    it("is for operators only, on an open study", async function () {
      const { studies, hospital, researcher, studyId } = await loadFixture(enrolledFixture);
      const atBlock = await ethers.provider.getBlockNumber();
      await expect(studies.connect(researcher).spendBudget(studyId, COUNT, 1, 2, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "AccessControlUnauthorizedAccount")
        .withArgs(researcher.address, await studies.OPERATOR_ROLE());
      await studies.connect(researcher).closeStudy(studyId);
      await expect(studies.connect(hospital).spendBudget(studyId, COUNT, 1, 2, ROOT, atBlock))
        .to.be.revertedWithCustomError(studies, "InvalidStudyStatus")
        .withArgs(studyId, Status.Closed);
    });
  });
});
