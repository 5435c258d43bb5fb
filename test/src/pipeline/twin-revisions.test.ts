import { expect } from "chai";
import fc from "fast-check";
import { TwinRevisions } from "../../../src/pipeline/twin-revisions";

const A = `0x${"a".repeat(64)}`;
const B = `0x${"b".repeat(64)}`;

describe("pipeline/TwinRevisions", function () {
  it("null while a write of the twin runs; a new token once it ended; other twins unchanged", async () => {
    const revisions = new TwinRevisions();
    const before = revisions.of(A);
    const other = revisions.of(B);
    let during: string | null | undefined;
    await revisions.during(A, async () => {
      during = revisions.of(A);
      expect(revisions.of(B)).to.equal(other);
    });
    expect(during).to.equal(null);
    expect(revisions.of(A)).to.be.a("string").and.not.equal(before);
    expect(revisions.of(B)).to.equal(other);
  });

  it("a failed write still ends: the token is given again, and new", async () => {
    const revisions = new TwinRevisions();
    const before = revisions.of(A);
    await revisions.during(A, () => Promise.reject(new Error("refused"))).catch(() => undefined);
    expect(revisions.of(A)).to.be.a("string").and.not.equal(before);
  });

  it("a change of every twin changes every token", () => {
    const revisions = new TwinRevisions();
    const [a, b] = [revisions.of(A), revisions.of(B)];
    revisions.changedAll();
    expect(revisions.of(A)).to.not.equal(a);
    expect(revisions.of(B)).to.not.equal(b);
  });

  it("property: a token never comes back once the twin changed (writes and changes of all, in any order)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom("write", "all", "fail"), { maxLength: 30 }), async (steps) => {
        const revisions = new TwinRevisions();
        const seen = new Set([revisions.of(A)]);
        for (const step of steps) {
          if (step === "all") revisions.changedAll();
          else {
            await revisions
              .during(A, async () => {
                if (step === "fail") throw new Error("failed");
              })
              .catch(() => undefined);
          }
          const token = revisions.of(A);
          expect(seen.has(token)).to.equal(false);
          seen.add(token);
        }
      }),
      { numRuns: 50 },
    );
  });
});
