import { expect } from "chai";
import type { TwinDataReader } from "../../../src/pipeline/reader";
import { AnswerCache, answerJsonOf, queryResponseJson, type AnswerKey } from "../../../src/service/answer-cache";
import type { QueryResponse } from "../../../src/service";

const TWIN = `0x${"a".repeat(64)}`;
const KEY: AnswerKey = {
  twinId: TWIN,
  queryType: "latest-vitals",
  paramsHash: `0x${"1".repeat(64)}`,
  category: 6,
  allowed: 6,
};

/** A reader whose revision the test sets (only `revision` is read by the cache). */
function readerAt(revision: { now: string | null } | null): TwinDataReader {
  const reader = {} as TwinDataReader;
  if (revision !== null) reader.revision = () => revision.now;
  return reader;
}

/** A build that counts its calls and answers `"answer":n,...`. */
function counter(): { build: () => Promise<string>; calls: number } {
  const c = {
    calls: 0,
    build: async () => answerJsonOf({ answer: { n: ++c.calls } as never, proofs: { state: null } }),
  };
  return c;
}

describe("service/AnswerCache", function () {
  it("keeps an answer while the twin's revision is the same, and builds again once it changed", async () => {
    const cache = new AnswerCache();
    const revision = { now: "0.0" as string | null };
    const data = readerAt(revision);
    const c = counter();
    const first = await cache.answerJson(data, KEY, c.build);
    expect(await cache.answerJson(data, KEY, c.build)).to.equal(first);
    expect(c.calls).to.equal(1);
    revision.now = "0.2";
    expect(await cache.answerJson(data, KEY, c.build)).to.not.equal(first);
    expect(c.calls).to.equal(2);
    expect(cache.size).to.equal(1); // the stale answer was replaced, not kept beside
  });

  it("keeps nothing built while a write ran (the revision moved during the build, or was null)", async () => {
    const cache = new AnswerCache();
    const revision = { now: "0.0" as string | null };
    const data = readerAt(revision);
    const c = counter();
    await cache.answerJson(data, KEY, async () => {
      revision.now = null; // a write started while this was built
      return c.build();
    });
    revision.now = "0.2";
    expect(cache.size).to.equal(0);
    await cache.answerJson(data, KEY, async () => {
      revision.now = "0.4"; // a whole write ran while this was built
      return c.build();
    });
    expect(cache.size).to.equal(0);
    revision.now = null;
    await cache.answerJson(data, KEY, c.build);
    await cache.answerJson(data, KEY, c.build);
    expect(c.calls).to.equal(4);
    expect(cache.size).to.equal(0);
  });

  it("a reader that gives no revision has nothing kept", async () => {
    const cache = new AnswerCache();
    const c = counter();
    await cache.answerJson(readerAt(null), KEY, c.build);
    await cache.answerJson(readerAt(null), KEY, c.build);
    expect(c.calls).to.equal(2);
    expect(cache.size).to.equal(0);
  });

  it("another twin, query type, params, signed or allowed categories is another answer", async () => {
    const cache = new AnswerCache();
    const data = readerAt({ now: "0.0" });
    const c = counter();
    const others: AnswerKey[] = [
      KEY,
      { ...KEY, twinId: `0x${"b".repeat(64)}` },
      { ...KEY, queryType: "summary" },
      { ...KEY, paramsHash: `0x${"2".repeat(64)}` },
      { ...KEY, category: 7 },
      { ...KEY, allowed: 2 },
    ];
    const answers = new Set<string>();
    for (const key of others) answers.add(await cache.answerJson(data, key, c.build));
    expect(answers.size).to.equal(others.length);
    // the same key in other cases is the same answer
    await cache.answerJson(data, { ...KEY, twinId: TWIN.toUpperCase().replace("0X", "0x") }, c.build);
    expect(c.calls).to.equal(others.length);
  });

  it("bounded: by characters kept (least recently used dropped) and by time", async () => {
    const data = readerAt({ now: "0.0" });
    const small = new AnswerCache({ maxChars: 150 });
    const big = async () => answerJsonOf({ answer: { text: "x".repeat(60) } as never, proofs: { state: null } });
    await small.answerJson(data, KEY, big);
    await small.answerJson(data, { ...KEY, allowed: 2 }, big);
    expect(small.size).to.equal(1);

    const brief = new AnswerCache({ ttlMs: 20 });
    const c = counter();
    await brief.answerJson(data, KEY, c.build);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await brief.answerJson(data, KEY, c.build);
    expect(c.calls).to.equal(2);
    brief.clear();
    expect(brief.size).to.equal(0);
  });

  it("queryResponseJson gives the response the schema describes, in its order", () => {
    const response: QueryResponse = {
      queryType: "latest-vitals",
      twinId: TWIN,
      reader: "0x000000000000000000000000000000000000dEaD",
      category: 6,
      purpose: 1,
      logIndex: 41,
      answer: { vitals: {} },
      proofs: { state: null, readings: [] },
    };
    const { answer, proofs, ...head } = response;
    const json = queryResponseJson(head, answerJsonOf({ answer, proofs }));
    expect(json).to.equal(JSON.stringify(response));
  });
});
