import type { PriceInputs } from "./cost";
import type { Mode } from "./types";

/** The command line of `npm run evaluate -- [options]`. */
export interface EvaluateArgs extends PriceInputs {
  readonly mode: Mode;
  readonly outDir: string;
  /** Skip the `npx hardhat node` part (network latency and the paper's experiment). */
  readonly skipNetwork: boolean;
  readonly help: boolean;
}

export const USAGE = `npm run evaluate -- [--quick] [--out <dir>] [--gas-price-gwei <n>] [--l2-gas-price-gwei <n>]
                      [--eth-price-usd <n>] [--skip-network]

  --quick                 short run for CI (about 2 minutes): fewer rounds, smaller cohort, 20 requests in 2-s blocks
  --out <dir>             where the reports go (default: reports)
  --gas-price-gwei <n>    mainnet gas price (default: $GAS_PRICE_GWEI or 10)
  --l2-gas-price-gwei <n> L2 execution gas price (default: $L2_GAS_PRICE_GWEI or 0.01)
  --eth-price-usd <n>     USD per ETH (default: $ETH_PRICE_USD or 3000)
  --skip-network          leave out the part against a local \`npx hardhat node\``;

/** Parses the flags; throws on an unknown flag or a missing value. */
export function parseArgs(argv: readonly string[]): EvaluateArgs {
  let mode: Mode = "full";
  let outDir = "reports";
  let skipNetwork = false;
  let help = false;
  const prices: { gasPriceGwei?: string; l2GasPriceGwei?: string; ethPriceUsd?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--quick":
        mode = "quick";
        break;
      case "--full":
        mode = "full";
        break;
      case "--out":
        outDir = value();
        break;
      case "--gas-price-gwei":
        prices.gasPriceGwei = value();
        break;
      case "--l2-gas-price-gwei":
        prices.l2GasPriceGwei = value();
        break;
      case "--eth-price-usd":
        prices.ethPriceUsd = value();
        break;
      case "--skip-network":
        skipNetwork = true;
        break;
      case "--help":
      case "-h":
        help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  return { mode, outDir, skipNetwork, help, ...prices };
}
