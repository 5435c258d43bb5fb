import { expect } from "chai";
import { FetchRequest, JsonRpcProvider } from "ethers";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { directJsonRpc, JsonRpcCallError, JsonRpcHttpClient } from "../../../src/chain/json-rpc-http";
import { HeadFollower } from "../../../src/service/head-follower";

type Handler = (body: unknown, request: IncomingMessage, response: ServerResponse) => void;

/** A stand-in JSON-RPC node on 127.0.0.1: `handler` answers each request; every body and connection is recorded. */
async function fakeNode(handler: Handler): Promise<{
  url: string;
  bodies: unknown[];
  headers: IncomingMessage["headers"][];
  connections: () => number;
  close: () => Promise<void>;
}> {
  const bodies: unknown[] = [];
  const headers: IncomingMessage["headers"][] = [];
  let connections = 0;
  const server: Server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk: Buffer) => (text += chunk.toString()));
    request.on("end", () => {
      const body: unknown = JSON.parse(text);
      bodies.push(body);
      headers.push(request.headers);
      handler(body, request, response);
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    headers,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const answer = (response: ServerResponse, body: unknown, status = 200) => {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(typeof body === "string" ? body : JSON.stringify(body));
};

/** Answers eth_blockNumber with `head` and eth_getBlockByNumber with a block of that number. */
const chainHandler =
  (head: () => number): Handler =>
  (body, _request, response) => {
    const calls = Array.isArray(body)
      ? (body as { id: number; method: string }[])
      : [body as { id: number; method: string }];
    const results = calls.map(({ id, method }) => ({
      jsonrpc: "2.0",
      id,
      result:
        method === "eth_blockNumber"
          ? `0x${head().toString(16)}`
          : method === "eth_chainId"
            ? "0x7a69"
            : { number: `0x${head().toString(16)}`, hash: `0x${"ab".repeat(32)}`, timestamp: "0x10" },
    }));
    answer(response, Array.isArray(body) ? results : results[0]);
  };

async function rejection(promise: Promise<unknown>): Promise<JsonRpcCallError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(JsonRpcCallError);
    return error as JsonRpcCallError;
  }
  throw new Error("expected a rejection");
}

describe("chain/json-rpc-http", () => {
  describe("JsonRpcHttpClient", () => {
    it("sends one JSON-RPC call per send, on kept-alive connections, with the given headers", async () => {
      const node = await fakeNode(chainHandler(() => 42));
      const client = new JsonRpcHttpClient(node.url, { headers: { "x-api-key": "k-1" } });
      try {
        for (let i = 0; i < 20; i++) expect(await client.send("eth_blockNumber", [])).to.equal("0x2a");
        expect(node.bodies).to.have.length(20);
        for (const [i, body] of node.bodies.entries()) {
          expect(body).to.deep.equal({ jsonrpc: "2.0", id: i + 1, method: "eth_blockNumber", params: [] });
        }
        expect(node.headers[0]["x-api-key"]).to.equal("k-1");
        expect(node.headers[0]["content-type"]).to.equal("application/json");
        // sequential calls reuse their connections (undici's pool may take a second one while the first is released)
        expect(node.connections()).to.be.at.most(2);
      } finally {
        client.close();
        await node.close();
      }
    });

    it("turns a JSON-RPC error into RPC_ERROR with the node's code", async () => {
      const node = await fakeNode((body, _q, response) =>
        answer(response, { jsonrpc: "2.0", id: (body as { id: number }).id, error: { code: -32601, message: "nope" } }),
      );
      const client = new JsonRpcHttpClient(node.url);
      try {
        const error = await rejection(client.send("eth_nothing", []));
        expect(error.code).to.equal("RPC_ERROR");
        expect(error.rpcCode).to.equal(-32601);
        expect(error.message).to.contain("eth_nothing").and.contain("nope");
      } finally {
        client.close();
        await node.close();
      }
    });

    it("refuses a non-2xx status, an answer that is not JSON-RPC, another request's id and an oversized answer", async () => {
      const cases: [Handler, RegExp][] = [
        [(_b, _q, r) => answer(r, "busy", 503), /HTTP 503/],
        [(_b, _q, r) => answer(r, "not json"), /not JSON/],
        [(_b, _q, r) => answer(r, [1, 2]), /not a JSON-RPC response/],
        [(_b, _q, r) => answer(r, { jsonrpc: "2.0", id: 999, result: "0x1" }), /another request/],
        [(b, _q, r) => answer(r, { jsonrpc: "2.0", id: (b as { id: number }).id }), /neither result nor error/],
        [(_b, _q, r) => answer(r, { pad: "x".repeat(2 << 20) }), /too large/],
      ];
      for (const [handler, message] of cases) {
        const node = await fakeNode(handler);
        const client = new JsonRpcHttpClient(node.url);
        try {
          const error = await rejection(client.send("eth_blockNumber", []));
          expect(error.code).to.equal("RPC_HTTP");
          expect(error.message).to.match(message);
          expect(error.message).not.to.contain(node.url);
        } finally {
          client.close();
          await node.close();
        }
      }
    });

    it("says RPC_UNREACHABLE for a closed port and for a node that does not answer in time", async () => {
      const closed = await fakeNode(chainHandler(() => 1));
      await closed.close();
      const refused = new JsonRpcHttpClient(`${closed.url}/?apikey=secret`);
      const error = await rejection(refused.send("eth_blockNumber", []));
      expect(error.code).to.equal("RPC_UNREACHABLE");
      expect(error.message).not.to.contain("secret");
      refused.close();

      const silent = await fakeNode(() => undefined);
      const slow = new JsonRpcHttpClient(silent.url, { timeoutMs: 100 });
      try {
        const late = await rejection(slow.send("eth_blockNumber", []));
        expect(late.code).to.equal("RPC_UNREACHABLE");
        expect(late.message).to.contain("in time");
      } finally {
        slow.close();
        await silent.close();
      }
    });

    it("takes only http: and https: URLs", () => {
      expect(() => new JsonRpcHttpClient("ws://127.0.0.1:1")).to.throw(/http: or https:/);
    });
  });

  describe("directJsonRpc", () => {
    it("gives a client on an ethers JsonRpcProvider's URL and headers, none for custom connections or other providers", async () => {
      const node = await fakeNode(chainHandler(() => 7));
      const request = new FetchRequest(node.url);
      request.setHeader("x-api-key", "k-2");
      const provider = new JsonRpcProvider(request, 31337, { staticNetwork: true });
      const direct = directJsonRpc(provider);
      try {
        expect(direct).to.not.equal(null);
        expect(await direct!.send("eth_blockNumber", [])).to.equal("0x7");
        expect(node.headers[0]["x-api-key"]).to.equal("k-2");

        const hooked = new FetchRequest(node.url);
        hooked.preflightFunc = async (r) => r;
        expect(directJsonRpc(new JsonRpcProvider(hooked, 31337, { staticNetwork: true }))).to.equal(null);
        const { ethers } = await import("hardhat");
        expect(directJsonRpc(ethers.provider)).to.equal(null);
      } finally {
        direct?.close();
        provider.destroy();
        await node.close();
      }
    });
  });

  describe("HeadFollower over a JsonRpcProvider with ethers' default batching", () => {
    // Regression: the follower polled through `provider.send`, which an ethers JsonRpcProvider holds for its batch
    // stall (10 ms by default) and sends as a batch: every query waited that long for its head.
    it("polls directly: each poll is a single call, not held for the provider's batch stall", async () => {
      let head = 100;
      const node = await fakeNode(chainHandler(() => head));
      const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, batchStallTime: 50 });
      const follower = new HeadFollower(provider);
      try {
        expect(follower.pollsDirectly).to.equal(true);
        const started = performance.now();
        const POLLS = 10;
        for (let i = 0; i < POLLS; i++) {
          head += 1;
          expect((await follower.current()).number).to.equal(head);
        }
        // Through the provider each poll would wait ≥ 50 ms (the stall) and its block fetch another 50 ms.
        expect(performance.now() - started).to.be.below(POLLS * 50);
        expect(node.bodies.every((body) => !Array.isArray(body))).to.equal(true);
        expect(follower.stats).to.deep.equal({ polls: POLLS, blockFetches: POLLS });
      } finally {
        follower.stop();
        provider.destroy();
        await node.close();
      }
    });

    it("polls through provider.send when asked to (direct: false), held for the provider's stall", async () => {
      const node = await fakeNode(chainHandler(() => 5));
      const provider = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, batchStallTime: 50 });
      const follower = new HeadFollower(provider, { direct: false });
      try {
        expect(follower.pollsDirectly).to.equal(false);
        const started = performance.now();
        expect((await follower.current()).number).to.equal(5);
        expect(performance.now() - started).to.be.at.least(2 * 45); // the poll and its block fetch, each stalled
      } finally {
        follower.stop();
        provider.destroy();
        await node.close();
      }
    });
  });
});
