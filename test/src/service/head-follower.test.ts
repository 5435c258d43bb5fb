import { expect } from "chai";
import type { Provider } from "ethers";
import fc from "fast-check";
import { HeadFollower } from "../../../src/service/head-follower";

/** One `eth_blockNumber` the stand-in node was sent, answered when the test says so. */
interface Poll {
  /** 1 for the first poll sent, 2 for the next… */
  readonly index: number;
  answer(number: number): void;
  fail(message: string): void;
}

/**
 * A stand-in node behind `send`: every `eth_blockNumber` waits for the test's answer (`polls`), and a block is
 * fetched at once (hash and timestamp derived from its number).
 */
function standInNode(): { provider: Provider; polls: Poll[]; inFlight: () => number; maxInFlight: () => number } {
  const polls: Poll[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = (method: string, params: unknown[]): Promise<unknown> => {
    if (method === "eth_getBlockByNumber") {
      const number = Number.parseInt(String(params[0]), 16);
      return Promise.resolve({
        number: params[0],
        hash: `0x${number.toString(16).padStart(64, "0")}`,
        timestamp: "0x1",
      });
    }
    if (method !== "eth_blockNumber") return Promise.reject(new Error(`unexpected ${method}`));
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise((resolve, reject) => {
      const settle = () => (inFlight -= 1);
      polls.push({
        index: polls.length + 1,
        answer: (number) => (settle(), resolve(`0x${number.toString(16)}`)),
        fail: (message) => (settle(), reject(new Error(message))),
      });
    });
  };
  return {
    provider: { send } as unknown as Provider,
    polls,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
  };
}

/** Lets the follower's end-of-turn scheduling and the promise reactions run. */
async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("HeadFollower (src/service/head-follower.ts)", () => {
  it("callers of one event-loop turn share one poll, sent after they called", async () => {
    const node = standInNode();
    const follower = new HeadFollower(node.provider, { direct: false, holdNextPollMs: 60_000 });
    const heads = [follower.current(), follower.current(), follower.current()];
    expect(node.polls).to.have.length(0, "sent at the end of the turn, not at the call");
    await turns();
    expect(node.polls).to.have.length(1);
    node.polls[0].answer(7);
    expect((await Promise.all(heads)).map((h) => h.number)).to.deep.equal([7, 7, 7]);
    expect(follower.stats).to.deep.equal({ polls: 1, blockFetches: 1 });
  });

  it("regression: a caller arriving while a poll is in flight waits for the next one, sent when that one answered (never two at once)", async () => {
    const node = standInNode();
    const follower = new HeadFollower(node.provider, { direct: false, holdNextPollMs: 60_000 });
    const first = follower.current();
    await turns();
    expect(node.polls).to.have.length(1);
    const second = follower.current();
    const third = follower.current();
    await turns(5);
    expect(node.polls).to.have.length(1, "no second poll beside the one in flight");
    node.polls[0].answer(10);
    expect((await first).number).to.equal(10);
    await turns();
    expect(node.polls).to.have.length(2, "the callers that arrived meanwhile share the next poll");
    node.polls[1].answer(11);
    expect((await second).number).to.equal(11, "decided at a head reported after the caller arrived");
    expect((await third).number).to.equal(11);
    expect(node.maxInFlight()).to.equal(1);
  });

  it("a failed poll fails its own callers only: the callers waiting behind it get a poll of their own", async () => {
    const node = standInNode();
    const follower = new HeadFollower(node.provider, { direct: false, holdNextPollMs: 60_000 });
    const first = follower.current();
    await turns();
    const second = follower.current();
    node.polls[0].fail("node down");
    await expect(first).to.be.rejectedWith("node down");
    await turns();
    expect(node.polls).to.have.length(2);
    node.polls[1].answer(3);
    expect((await second).number).to.equal(3);
  });

  it("a poll in flight past holdNextPollMs no longer holds the next one back (a node that never answers holds queries that long)", async () => {
    const node = standInNode();
    const follower = new HeadFollower(node.provider, { direct: false, holdNextPollMs: 20 });
    void follower.current().catch(() => undefined); // never answered
    await turns();
    const started = performance.now();
    const second = follower.current();
    while (node.polls.length < 2 && performance.now() - started < 2_000) await new Promise((r) => setTimeout(r, 2));
    expect(node.polls).to.have.length(2);
    expect(performance.now() - started).to.be.at.least(15);
    node.polls[1].answer(4);
    expect((await second).number).to.equal(4);
  });

  it("the head never goes back: a lower number answered later keeps the higher head", async () => {
    const node = standInNode();
    const follower = new HeadFollower(node.provider, { direct: false, holdNextPollMs: 60_000 });
    const first = follower.current();
    await turns();
    node.polls[0].answer(9);
    expect((await first).number).to.equal(9);
    const second = follower.current();
    await turns();
    node.polls[1].answer(8);
    expect((await second).number).to.equal(9);
    expect(follower.seen?.number).to.equal(9);
  });

  it("property: whatever the arrivals and answers, one poll at a time, and every caller's head was reported by a poll sent after its call", async () => {
    // A schedule: at each step, some callers arrive, and the poll in flight (if any) is answered or not.
    const step = fc.record({
      callers: fc.integer({ min: 0, max: 3 }),
      answer: fc.boolean(),
      wait: fc.integer({ min: 0, max: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const node = standInNode();
        const follower = new HeadFollower(node.provider, { direct: false, holdNextPollMs: 60_000 });
        const answered = new Set<number>();
        const waiting: { sentBefore: number; head: Promise<{ number: number }> }[] = [];
        const answerInFlight = () => {
          const open = node.polls.find((p) => !answered.has(p.index));
          if (open === undefined) return;
          answered.add(open.index);
          open.answer(open.index); // the poll's index is the number it reports: later polls, higher heads
        };
        for (const { callers, answer, wait } of steps) {
          for (let i = 0; i < callers; i++) waiting.push({ sentBefore: node.polls.length, head: follower.current() });
          if (answer) answerInFlight();
          await turns(wait);
          expect(node.inFlight()).to.be.at.most(1);
        }
        // Drain: answer the polls until every caller has its head.
        const done = waiting.map(() => false);
        waiting.forEach((w, k) => void w.head.then(() => (done[k] = true)));
        for (let guard = 0; guard < 100 && done.includes(false); guard++) {
          answerInFlight();
          await turns(2);
        }
        const heads = await Promise.all(waiting.map((w) => w.head));
        heads.forEach((head, k) => expect(head.number).to.be.greaterThan(waiting[k].sentBefore));
        expect(node.maxInFlight()).to.be.at.most(1);
      }),
      { numRuns: 60 },
    );
  });
});
