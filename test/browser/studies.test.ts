/** The audit trail's reading of a cohort contribution (app/src/studies.ts): which study an access-log entry went to. */
import { expect } from "chai";
import { parseContributionType, studiesOfContribution, type EnrolmentView } from "../../app/src/studies";

const SPONSOR = "0x00000000000000000000000000000000000000aa";
const OTHER = "0x00000000000000000000000000000000000000bb";

function enrolment(studyId: number, sponsor: string, enrolledAt: number, withdrawnAt: number | null): EnrolmentView {
  return {
    studyId: BigInt(studyId),
    sponsor,
    enrolledAt,
    withdrawnAt,
  } as unknown as EnrolmentView;
}

describe("web app: cohort contributions in the audit trail", () => {
  it("reads the aggregate and the study from the cohort route's queryType", () => {
    expect(parseContributionType("cohort-mean:study-12")).to.deep.equal({ aggregate: "mean", studyId: 12n });
    expect(parseContributionType("cohort-histogram")).to.deep.equal({ aggregate: "histogram", studyId: null });
    expect(parseContributionType("vitals")).to.deep.equal({ aggregate: "vitals", studyId: null });
  });

  it("names the study the entry names, when it is the sponsor's", () => {
    const all = [enrolment(1, SPONSOR, 0, null), enrolment(2, SPONSOR, 0, null), enrolment(3, OTHER, 0, null)];
    const ids = (queryType: string) => studiesOfContribution(all, SPONSOR, 10, queryType).map((e) => Number(e.studyId));
    expect(ids("cohort-mean:study-2")).to.deep.equal([2]);
    // Another sponsor's study is never named for this sponsor's entry: the entry's own sponsor decides.
    expect(ids("cohort-mean:study-3")).to.deep.equal([1, 2]);
    expect(ids("cohort-mean")).to.deep.equal([1, 2]);
  });

  it("without a named study, prefers the studies the twin was enrolled in at the entry's time", () => {
    const all = [enrolment(1, SPONSOR, 0, 5), enrolment(2, SPONSOR, 6, null)];
    expect(studiesOfContribution(all, SPONSOR, 7).map((e) => Number(e.studyId))).to.deep.equal([2]);
    expect(studiesOfContribution(all, SPONSOR, 3).map((e) => Number(e.studyId))).to.deep.equal([1]);
  });
});
