import { expect } from "chai";
import { AbiCoder, ethers as ethersLib, type ContractRunner } from "ethers";
import { ConsentPolicy__factory, TwinRegistry__factory } from "../../../typechain-types";
import { ConsentChecker, HeadTracker, type ChainHead } from "../../../src/service";
import { REFUSAL_STATUS, reasonOf } from "../../../src/service/consent";
import { AccessDecision, Action, DataCategory, Purpose } from "../../../src/vocabulary";

const TWIN = ethersLib.id("twin");
const READER = "0x00000000000000000000000000000000000000aa";
const CONSENT = "0x00000000000000000000000000000000000000cc";
const REGISTRY = "0x00000000000000000000000000000000000000dd";

/** A node stand-in: a head that tests move, checkAccess answers they set, and a log of what was asked. */
class FakeNode {
  head: ChainHead = { number: 10, hash: ethersLib.id("block 10"), timestamp: 1_000 };
  decision: AccessDecision = AccessDecision.Allowed;
  failNextCall = false;
  /** The head number each `eth_blockNumber` poll answered. */
  readonly headFetches: number[] = [];
  /** The numbers fetched with `eth_getBlockByNumber`. */
  readonly blockFetches: number[] = [];
  readonly calls: { blockTag: unknown; data: string }[] = [];

  readonly provider = {
    send: async (method: string, params: unknown[]) => {
      if (method === "eth_blockNumber") {
        this.headFetches.push(this.head.number);
        return `0x${this.head.number.toString(16)}`;
      }
      expect(method).to.equal("eth_getBlockByNumber");
      const number = Number(params[0]);
      this.blockFetches.push(number);
      if (number !== this.head.number) return null;
      return {
        number: `0x${number.toString(16)}`,
        hash: this.head.hash,
        timestamp: `0x${this.head.timestamp.toString(16)}`,
      };
    },
    call: async (tx: { to: string; data: string; blockTag: unknown }) => {
      this.calls.push({ blockTag: tx.blockTag, data: tx.data });
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (this.failNextCall) {
        this.failNextCall = false;
        throw new Error("connection reset");
      }
      return AbiCoder.defaultAbiCoder().encode(["uint8"], [this.decision]);
    },
  };

  mine(): void {
    const number = this.head.number + 1;
    this.head = { number, hash: ethersLib.id(`block ${number}`), timestamp: this.head.timestamp + 12 };
  }

  checker(): ConsentChecker {
    return new ConsentChecker(
      ConsentPolicy__factory.connect(CONSENT, { provider: this.provider } as unknown as ContractRunner),
    );
  }
}

const read = (checker: ConsentChecker, category: number = DataCategory.VITALS) =>
  checker.check(TWIN, READER, "read", category, Purpose.TREATMENT);

describe("service/consent: ConsentChecker and HeadTracker", () => {
  it("asks the contract at the head's block number, once per block and question", async () => {
    const node = new FakeNode();
    const checker = node.checker();
    expect(await read(checker)).to.deep.equal({ reason: null, allowed: DataCategory.VITALS });
    expect(await read(checker)).to.deep.equal({ reason: null, allowed: DataCategory.VITALS });
    expect(node.headFetches).to.deep.equal([10, 10], "the head is polled for every request");
    expect(node.blockFetches).to.deep.equal([10], "and its block fetched once");
    expect(node.calls.map((c) => c.blockTag)).to.deep.equal([10], "the same block answers the same question once");

    await read(checker, DataCategory.LABS); // another question at the same block: asked
    expect(node.calls).to.have.length(2);
  });

  it("a new head asks again: a revocation mined in a block holds for the next request", async () => {
    const node = new FakeNode();
    const checker = node.checker();
    expect((await read(checker)).reason).to.equal(null);
    node.decision = AccessDecision.Revoked;
    node.mine();
    expect(await read(checker)).to.deep.equal({ reason: "revoked", allowed: 0 });
    expect(node.calls.map((c) => c.blockTag)).to.deep.equal([10, 11]);
  });

  it("a reorganized branch (a new head of another hash) is asked again", async () => {
    const node = new FakeNode();
    const checker = node.checker();
    await read(checker);
    node.head = { number: 11, hash: ethersLib.id("block 11, after a reorg"), timestamp: 1_012 };
    node.decision = AccessDecision.Expired;
    expect((await read(checker)).reason).to.equal("expired");
    expect(node.calls).to.have.length(2);
  });

  it("concurrent requests share one head fetch and one call per question", async () => {
    const node = new FakeNode();
    const checker = node.checker();
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => read(checker)));
    expect(outcomes.every((o) => o.reason === null)).to.equal(true);
    expect(node.headFetches).to.have.length(1);
    expect(node.calls).to.have.length(1);
  });

  it("a failed call is not kept: the next request asks again", async () => {
    const node = new FakeNode();
    const checker = node.checker();
    node.failNextCall = true;
    let failed = false;
    await read(checker).catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect((await read(checker)).reason).to.equal(null);
    expect(node.calls).to.have.length(2);
  });

  it("aggregate asks AGGREGATE, then READ when the grant lacks AGGREGATE", async () => {
    const node = new FakeNode();
    node.decision = AccessDecision.ActionNotGranted;
    const checker = node.checker();
    const outcome = await checker.check(TWIN, READER, "aggregate", DataCategory.VITALS, Purpose.TREATMENT);
    expect(outcome.reason).to.equal("action-not-granted");
    const iface = ConsentPolicy__factory.createInterface();
    const actions = node.calls.map((c) => Number(iface.decodeFunctionData("checkAccess", c.data)[2]));
    expect(actions).to.deep.equal([Action.AGGREGATE, Action.READ]);
  });

  describe("HeadTracker", () => {
    it("never gives a request a head fetched before it arrived", async () => {
      const node = new FakeNode();
      const tracker = new HeadTracker(node.provider as unknown as ethersLib.Provider);
      const first = tracker.current();
      const sameTurn = tracker.current();
      expect(sameTurn).to.equal(first, "requests of one event-loop turn share the fetch");
      // Let the fetch be sent, then mine before the next request arrives.
      await new Promise((resolve) => setImmediate(resolve));
      node.mine();
      const later = tracker.current();
      expect(later).to.not.equal(first);
      expect((await first).number).to.equal(10);
      expect((await later).number).to.equal(11);
      expect(node.headFetches).to.deep.equal([10, 11]);
    });

    it("rejects when the node has no latest block or cannot be reached", async () => {
      // Without `send`, the follower asks getBlock("latest").
      const tracker = new HeadTracker({ getBlock: async () => null } as unknown as ethersLib.Provider);
      let message = "";
      await tracker.current().catch((error: Error) => (message = error.message));
      expect(message).to.match(/no latest block/);
      const down = new HeadTracker({
        getBlock: () => {
          throw new Error("boom");
        },
      } as unknown as ethersLib.Provider);
      message = "";
      await down.current().catch((error: Error) => (message = error.message));
      expect(message).to.equal("boom");
    });
  });
});

describe("service/consent: refusal reasons", () => {
  it("on an idle chain (clock past the head) reads the reader's windows beside the consent call, not after it", async () => {
    const node = new FakeNode();
    const consentIface = ConsentPolicy__factory.createInterface();
    const registryIface = TwinRegistry__factory.createInterface();
    const events: string[] = [];
    const answerOf = (data: string): string => {
      const consentCall = consentIface.parseTransaction({ data });
      if (consentCall?.name === "checkAccess") return consentIface.encodeFunctionResult("checkAccess", [node.decision]);
      if (consentCall?.name === "emergencyAccessUntil") return consentIface.encodeFunctionResult(consentCall.name, [0]);
      if (consentCall?.name === "grantOf") {
        return consentIface.encodeFunctionResult("grantOf", [[0, 0, 0, 0, 0, 0]]);
      }
      const registryCall = registryIface.parseTransaction({ data });
      expect(registryCall?.name).to.equal("isController");
      return registryIface.encodeFunctionResult("isController", [true]); // the owner: no end
    };
    const provider = {
      ...node.provider,
      call: async (tx: { to: string; data: string; blockTag: unknown }) => {
        const name =
          consentIface.parseTransaction({ data: tx.data })?.name ??
          registryIface.parseTransaction({ data: tx.data })?.name;
        events.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        events.push(`end ${name}`);
        return answerOf(tx.data);
      },
    };
    const runner = { provider } as unknown as ContractRunner;
    const checker = new ConsentChecker(ConsentPolicy__factory.connect(CONSENT, runner), {
      registry: TwinRegistry__factory.connect(REGISTRY, runner),
      clock: () => (node.head.timestamp + 3600) * 1000,
    });
    expect(await read(checker)).to.deep.equal({ reason: null, allowed: DataCategory.VITALS });
    const consentEnd = events.indexOf("end checkAccess");
    for (const name of ["isController", "grantOf", "emergencyAccessUntil"]) {
      expect(events.indexOf(`start ${name}`)).to.be.within(0, consentEnd - 1, `${name} starts before checkAccess ends`);
    }
    // a refused reader gets its refusal; the windows read for nothing is not an error, and kept for the head
    node.decision = AccessDecision.NoConsent;
    events.length = 0;
    expect((await checker.check(TWIN, READER, "read", DataCategory.LABS, Purpose.TREATMENT)).reason).to.equal(
      "no-consent",
    );
    expect(events.filter((e) => e.startsWith("start"))).to.deep.equal(["start checkAccess"]);
  });

  it("maps every AccessDecision to a reason, Blocked (ConsentPolicy v2) to blocked, unknown values to no-consent", () => {
    expect(reasonOf(AccessDecision.Allowed)).to.equal(null);
    expect(reasonOf(AccessDecision.Blocked)).to.equal("blocked");
    expect(REFUSAL_STATUS.blocked).to.equal(403);
    const values = Object.values(AccessDecision).filter((v): v is number => typeof v === "number");
    for (const value of values.filter((v) => v !== AccessDecision.Allowed)) expect(reasonOf(value)).to.not.equal(null);
    expect(reasonOf(Math.max(...values) + 1)).to.equal("no-consent");
  });
});
