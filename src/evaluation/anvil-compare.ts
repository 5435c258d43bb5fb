import { startAnvil } from "./anvil-process";
import { measureConfirmations, measureRpcCall, setUpRpc } from "./network";
import type { NetworkPart, TimedOperation } from "./types";

/**
 * The network part's JSON-RPC latencies again, against anvil beside `hardhat node` (issue 12, "The chain"): the
 * same deployment, the same transactions sent to receipt and the same view, one node at a time on 127.0.0.1. Anvil
 * answers more like a production endpoint (a separate native process, its own mempool and miner); the figures say
 * how much of the latencies measured on `hardhat node` belong to the node.
 *
 * Resolves with one line for the report's notes; never rejects (a failure is the line).
 */
export async function compareWithAnvil(hardhat: NetworkPart, confirmations: number, rpcCalls: number): Promise<string> {
  if (!hardhat.measured) return "Anvil comparison not run: the network part on hardhat node was not measured.";
  let node: Awaited<ReturnType<typeof startAnvil>> | null = null;
  try {
    node = await startAnvil();
    const ctx = await setUpRpc(node.url);
    const anvilConfirmations = await measureConfirmations(ctx, confirmations, () => undefined);
    const anvilCall = await measureRpcCall(ctx, rpcCalls);
    ctx.provider.destroy();
    const pairs: [string, TimedOperation | null | undefined, TimedOperation | null | undefined][] = [
      ...["rpc-recordUpdate", "rpc-anchorRecords", "rpc-grant"].map(
        (id) =>
          [
            id.replace("rpc-", "") + " to receipt",
            hardhat.confirmation.find((op) => op.id === id),
            anvilConfirmations.find((op) => op.id === id),
          ] as [string, TimedOperation | undefined, TimedOperation | undefined],
      ),
      ["isAuthorized eth_call", hardhat.rpcCall, anvilCall],
    ];
    const figures = pairs
      .filter(([, h, a]) => h && a)
      .map(([what, h, a]) => `${what} ${ms(h as TimedOperation)} vs ${ms(a as TimedOperation)}`);
    return (
      `Anvil beside hardhat node (the same calls over JSON-RPC on 127.0.0.1, median and p95, hardhat node vs ` +
      `anvil): startup ${hardhat.startupSeconds.toFixed(1)} s vs ${node.startupSeconds.toFixed(1)} s; ` +
      `${figures.join("; ")}.`
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `Anvil comparison not measured: ${message}.`;
  } finally {
    if (node) await node.stop();
  }
}

function ms(op: TimedOperation): string {
  return `${op.ms.p50.toFixed(2)}/${op.ms.p95.toFixed(2)} ms`;
}
