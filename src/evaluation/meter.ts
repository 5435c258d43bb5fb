import { getBytes, type ContractTransactionReceipt, type ContractTransactionResponse, type Provider } from "ethers";
import { summarize } from "./stats";
import type { CallPath, FunctionGas, TimedOperation } from "./types";

/** One measured transaction. */
export interface TxSample {
  readonly contract: string;
  readonly method: string;
  readonly path: CallPath;
  readonly gas: number;
  readonly ms: number;
}

/** Sends transactions one at a time, waits for each receipt and records its gas and wall-clock time. */
export class TxMeter {
  readonly samples: TxSample[] = [];

  async tx(
    contract: string,
    method: string,
    path: CallPath,
    send: () => Promise<ContractTransactionResponse>,
  ): Promise<ContractTransactionReceipt> {
    const start = performance.now();
    const response = await send();
    const receipt = await response.wait();
    const ms = performance.now() - start;
    if (!receipt || receipt.status !== 1) throw new Error(`${contract}.${method} failed`);
    this.samples.push({ contract, method, path, gas: Number(receipt.gasUsed), ms });
    return receipt;
  }

  /** min / avg / max gas per function, with the first-time and typical means, sorted by contract and method. */
  functions(): FunctionGas[] {
    const groups = new Map<string, TxSample[]>();
    for (const s of this.samples) {
      const key = `${s.contract}.${s.method}`;
      const list = groups.get(key) ?? [];
      list.push(s);
      groups.set(key, list);
    }
    const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    return [...groups.values()]
      .map((list): FunctionGas => {
        const gas = list.map((s) => s.gas);
        const first = mean(list.filter((s) => s.path === "first-time").map((s) => s.gas));
        const typical = mean(list.filter((s) => s.path === "typical").map((s) => s.gas));
        return {
          contract: list[0].contract,
          method: list[0].method,
          calls: list.length,
          min: Math.min(...gas),
          avg: Math.round(gas.reduce((a, b) => a + b, 0) / gas.length),
          max: Math.max(...gas),
          firstTime: first === null ? null : Math.round(first),
          typical: typical === null ? null : Math.round(typical),
          msPerTx: list.reduce((a, s) => a + s.ms, 0) / list.length,
        };
      })
      .sort((a, b) => a.contract.localeCompare(b.contract) || a.method.localeCompare(b.method));
  }

  /** ms per transaction of each function, as timed operations. */
  timings(): TimedOperation[] {
    return this.functions().map((f) => {
      const ms = this.samples.filter((s) => s.contract === f.contract && s.method === f.method).map((s) => s.ms);
      return {
        id: `${f.contract}.${f.method}`,
        what: `${f.contract}.${f.method} (send and receipt)`,
        warmup: 0,
        ms: summarize(ms),
      };
    });
  }
}

/** Gas of the calldata bytes (EIP-2028: 16 per non-zero byte, 4 per zero byte). */
export function calldataGas(data: string): number {
  let gas = 0;
  for (const b of getBytes(data)) gas += b === 0 ? 4 : 16;
  return gas;
}

/** A view's execution gas: eth_estimateGas minus the 21,000 base and the calldata. */
export async function viewExecutionGas(provider: Provider, from: string, to: string, data: string): Promise<number> {
  const estimate = await provider.estimateGas({ from, to, data });
  return Number(estimate) - 21_000 - calldataGas(data);
}
