import type { ContractTransactionResponse } from "ethers";

/** Prints a scenario as numbered steps, with the gas and time of each transaction. */
export class Story {
  private step = 0;
  private totalGas = 0n;

  constructor(title: string) {
    console.log(`\n${title}\n${"=".repeat(title.length)}`);
  }

  chapter(title: string): void {
    console.log(`\n${title}`);
  }

  /** Sends a transaction, waits for it, prints its gas; returns the receipt's gas. */
  async tx(what: string, send: () => Promise<ContractTransactionResponse>): Promise<bigint> {
    const started = performance.now();
    const receipt = await (await send()).wait();
    const ms = performance.now() - started;
    if (!receipt) throw new Error(`${what}: transaction dropped`);
    this.totalGas += receipt.gasUsed;
    this.line(what, `${receipt.gasUsed.toLocaleString("en-US")} gas, ${ms.toFixed(0)} ms`);
    return receipt.gasUsed;
  }

  /**
   * Prints transactions sent elsewhere (deployments, the pipeline's anchors and commits, the gateway's log anchor)
   * with their gas, and counts that gas in the total like `tx` does.
   */
  paid(what: string, gasUsed: bigint, detail: string): void {
    this.totalGas += gasUsed;
    this.line(what, `${gasUsed.toLocaleString("en-US")} gas${detail ? `, ${detail}` : ""}`);
  }

  /** Prints an outcome that is not a transaction (a view, a check, an HTTP answer). */
  fact(what: string, outcome: string): void {
    this.line(what, outcome);
  }

  /** Expects a call to fail; prints the error name it failed with. */
  async refused(what: string, attempt: () => Promise<unknown>): Promise<string> {
    try {
      await attempt();
    } catch (error) {
      const reason = errorName(error);
      this.line(what, `refused: ${reason}`);
      return reason;
    }
    throw new Error(`${what}: expected a refusal, but it succeeded`);
  }

  end(): void {
    // Every transaction printed above counts: `tx` and `paid` both add to it.
    console.log(`\nTotal gas of the transactions above: ${this.totalGas.toLocaleString("en-US")}\n`);
  }

  private line(what: string, outcome: string): void {
    this.step += 1;
    const label = `${String(this.step).padStart(2)}. ${what} `;
    console.log(`${label.padEnd(78, ".")} ${outcome}`);
  }
}

function errorName(error: unknown): string {
  const e = error as { revert?: { name?: string; args?: unknown[] }; shortMessage?: string; message?: string };
  if (e.revert?.name) return e.revert.name;
  const message = e.shortMessage ?? e.message ?? String(error);
  // Hardhat's own message for a reverted call: "... reverted with custom error 'Name(args)'".
  return /custom error '(\w+)\(/.exec(message)?.[1] ?? message;
}
