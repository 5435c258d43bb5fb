import type { Provider } from "ethers";
import { directJsonRpc, type JsonRpcHttpClient } from "../chain/json-rpc-http";

/** A block of the chain: the head a consent decision is taken at. */
export interface ChainHead {
  readonly number: number;
  readonly hash: string;
  /** The block's timestamp, unix seconds. */
  readonly timestamp: number;
}

/** What the follower needs of a provider: raw JSON-RPC (`send`), which no ethers cache stands in front of. */
interface RawProvider {
  send(method: string, params: unknown[]): Promise<unknown>;
}

export interface HeadFollowerOptions {
  /**
   * Poll through a JSON-RPC client of its own when the provider is an ethers `JsonRpcProvider` over HTTP(S) (same URL
   * and headers; src/chain/json-rpc-http.ts), so that a poll is neither held by the provider's batching stall (10 ms
   * by default, added to every query) nor built as a `FetchRequest`; default true. False: always `provider.send`.
   */
  readonly direct?: boolean;
  /**
   * The longest the next poll waits for the one in flight, ms (default 50): past it, the next is sent beside it, so a
   * poll the node is slow to answer (or never answers, until the client's timeout) holds the queries behind it this
   * long at most.
   */
  readonly holdNextPollMs?: number;
}

interface RpcBlock {
  readonly number?: unknown;
  readonly hash?: unknown;
  readonly timestamp?: unknown;
}

/** Counts of what the follower asked of the node (for tests and the evaluation). */
export interface HeadFollowerStats {
  /** `eth_blockNumber` polls sent. */
  readonly polls: number;
  /** `eth_getBlockByNumber` fetches sent: one per new head seen. */
  readonly blockFetches: number;
}

/**
 * The gateway's own view of the chain head (issue 10, item 12).
 *
 * ethers' providers answer `getBlock("latest")` from a 250 ms cache, so a decision could rest on a head a quarter of a
 * second old, and a query sent right after a revoke was mined could still be served on the block before it. The
 * follower asks the node through `provider.send`, which no cache stands in front of:
 *
 * - `current()` joins the poll scheduled for the end of this event-loop turn, or schedules one: one `eth_blockNumber`
 *   sent *after* the call, shared by every request of that turn. A request that arrives after a poll was sent waits
 *   for the next one.
 * - One poll is in flight at a time: the next one (shared by every request that arrived since the last was sent) is
 *   sent when the one in flight has answered, not beside it. Under load the node then answers one poll per round trip
 *   whatever the request rate (each poll is work for the gateway and the node: both share the machine's cores), and
 *   every request still waits for a poll sent after it arrived. A poll in flight longer than `holdNextPollMs` (50 ms)
 *   no longer holds the next one back.
 * - When the number is new, `eth_getBlockByNumber(n, false)` fetches that block (hash and timestamp) once; polls that
 *   see the same number reuse it.
 * - The head never goes back: a poll that answers a lower number than one already seen (a node behind a load
 *   balancer that lags) keeps the higher head.
 * - `follow(ms)` also polls every `ms` without requests, so the head is known before the next query arrives.
 *
 * **The bound.** Every decision rests on a head the node reported after the request reached the consent step. So if
 * a revoke is mined in block N, every query whose decision starts after the node (or the gateway) has seen N is
 * decided at N or later, and refused; none rests on an older head. What it does not see: a reorganization that
 * replaces the head by another block of the same number, until the next number (the decisions are then asked at that
 * number of the new branch: `eth_call` takes the number).
 *
 * An ethers `JsonRpcProvider` over HTTP(S) is polled through the follower's own keep-alive client on the same URL
 * and headers (src/chain/json-rpc-http.ts): the provider would hold each call for its batching stall (10 ms by
 * default), and a query waits for a poll. Other providers are polled through `send`.
 *
 * Without `send` (a provider that only speaks the ethers `Provider` API), the follower falls back to
 * `getBlock("latest")`, and the bound is that provider's cache (250 ms for ethers' JSON-RPC providers).
 */
export class HeadFollower {
  /** The poll the requests arriving now will share: not sent yet. */
  private next: Promise<ChainHead> | null = null;
  /** The poll sent and not yet answered (settles when it answers or fails; never rejects). */
  private inFlight: Promise<void> | null = null;
  private latest: ChainHead | null = null;
  private fetching: { number: number; block: Promise<ChainHead> } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private counts = { polls: 0, blockFetches: 0 };
  private readonly direct: JsonRpcHttpClient | null;
  private readonly holdNextPollMs: number;

  constructor(
    private readonly provider: Provider,
    options: HeadFollowerOptions = {},
  ) {
    this.direct = options.direct === false ? null : directJsonRpc(provider);
    this.holdNextPollMs = options.holdNextPollMs ?? 50;
  }

  /** Whether polls go through the follower's own JSON-RPC client (see {@link HeadFollowerOptions.direct}). */
  get pollsDirectly(): boolean {
    return this.direct !== null;
  }

  get stats(): HeadFollowerStats {
    return { ...this.counts };
  }

  /** The highest head seen so far (null before the first poll). */
  get seen(): ChainHead | null {
    return this.latest;
  }

  /** The head a request arriving now is decided at: from a poll sent after this call. */
  current(): Promise<ChainHead> {
    if (this.next !== null) return this.next;
    const next = new Promise<ChainHead>((resolve, reject) => {
      this.afterPollInFlight(() => {
        this.next = null; // requests from now on need a poll sent after they arrived
        this.sendPoll().then(resolve, reject);
      });
    });
    this.next = next;
    return next;
  }

  /**
   * Runs `send` at the end of this event-loop turn (every request of the turn shares it), and not before the poll in
   * flight answered, or held it `holdNextPollMs`.
   */
  private afterPollInFlight(send: () => void): void {
    const waiting = this.inFlight;
    if (waiting === null) {
      setImmediate(send);
      return;
    }
    let timer: NodeJS.Timeout | undefined = undefined;
    const go = () => {
      if (timer === undefined) return; // sent already
      clearTimeout(timer);
      timer = undefined;
      setImmediate(send);
    };
    timer = setTimeout(go, this.holdNextPollMs);
    void waiting.then(go);
  }

  /** Sends a poll, in flight until it answers or fails. */
  private sendPoll(): Promise<ChainHead> {
    const poll = Promise.resolve().then(() => this.poll());
    const settled = poll.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight = settled;
    void settled.then(() => this.inFlight === settled && (this.inFlight = null));
    return poll;
  }

  /** Polls every `ms` in the background too (0 stops); errors are left to the next request's poll. */
  follow(ms: number): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (ms <= 0) return;
    this.timer = setInterval(() => {
      this.current().catch(() => undefined);
    }, ms);
    this.timer.unref();
  }

  /** Stops the background polls and closes the follower's own connections (a later poll opens new ones). */
  stop(): void {
    this.follow(0);
    this.direct?.close();
  }

  private async poll(): Promise<ChainHead> {
    const raw = this.direct ?? rawOf(this.provider);
    if (raw === null) return this.keep(await this.viaGetBlock());
    this.counts.polls += 1;
    const number = quantity(await raw.send("eth_blockNumber", []), "block number");
    const latest = this.latest;
    if (latest !== null && number <= latest.number) return latest;
    // One fetch per new number, shared by the polls that see it while it is in flight.
    if (this.fetching === null || this.fetching.number !== number) {
      this.counts.blockFetches += 1;
      const block = this.fetchBlock(raw, number);
      const fetching = { number, block };
      this.fetching = fetching;
      block.then(
        () => this.fetching === fetching && (this.fetching = null),
        () => this.fetching === fetching && (this.fetching = null),
      );
    }
    return this.keep(await this.fetching.block);
  }

  private async fetchBlock(raw: RawProvider, number: number): Promise<ChainHead> {
    const block = (await raw.send("eth_getBlockByNumber", [`0x${number.toString(16)}`, false])) as RpcBlock | null;
    if (block === null || typeof block !== "object" || typeof block.hash !== "string") {
      throw new Error("the node returned no block for the head number");
    }
    return {
      number: quantity(block.number, "block number"),
      hash: block.hash,
      timestamp: quantity(block.timestamp, "block timestamp"),
    };
  }

  private async viaGetBlock(): Promise<ChainHead> {
    const block = await this.provider.getBlock("latest");
    if (block === null || block.hash === null) throw new Error("the node returned no latest block");
    return { number: block.number, hash: block.hash, timestamp: block.timestamp };
  }

  /** The head from now on: the higher of `head` and the head already seen. */
  private keep(head: ChainHead): ChainHead {
    if (this.latest === null || head.number > this.latest.number) this.latest = head;
    else if (head.number === this.latest.number && head.hash !== this.latest.hash) this.latest = head; // reorg
    return this.latest;
  }
}

function rawOf(provider: Provider): RawProvider | null {
  const send = (provider as Partial<RawProvider>).send;
  return typeof send === "function" ? (provider as unknown as RawProvider) : null;
}

function quantity(value: unknown, what: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "string" && /^0x[0-9a-fA-F]{1,13}$/.test(value)) return Number.parseInt(value, 16);
  throw new Error(`the node returned a malformed ${what}`);
}
