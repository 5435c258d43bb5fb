import type { PriceInputs } from "./cost";
import type { Mode } from "./types";

/** The command line of `npm run evaluate -- [options]`. */
export interface EvaluateArgs extends PriceInputs {
  readonly mode: Mode;
  readonly outDir: string;
  /** Skip the `npx hardhat node` part (network latency and the paper's experiment). */
  readonly skipNetwork: boolean;
  /** Twins of the scale-out part instead of the mode's (1,000 full, 3 quick): `--scale-out-twins` or $EVALUATE_SCALE_OUT_TWINS. */
  readonly scaleOutTwins?: number;
  readonly help: boolean;
}

export const USAGE = `npm run evaluate -- [--quick] [--out <dir>] [--gas-price-gwei <n>] [--l2-gas-price-gwei <n>]
                      [--eth-price-usd <n>] [--skip-network] [--scale-out-twins <n>]

  --quick                 short run for CI (about 2 minutes): fewer rounds, smaller cohort, 20 requests in 2-s blocks
  --out <dir>             where the reports go (default: reports)
  --gas-price-gwei <n>    mainnet gas price (default: $GAS_PRICE_GWEI or 10)
  --l2-gas-price-gwei <n> L2 execution gas price (default: $L2_GAS_PRICE_GWEI or 0.01)
  --eth-price-usd <n>     USD per ETH (default: $ETH_PRICE_USD or 3000)
  --skip-network          leave out the part against a local \`npx hardhat node\`
  --scale-out-twins <n>   twins of the scale-out part (default: $EVALUATE_SCALE_OUT_TWINS, or 1000 full, 3 quick)`;

/** Parses the flags; throws on an unknown flag or a missing value. */
export function parseArgs(argv: readonly string[]): EvaluateArgs {
  let mode: Mode = "full";
  let outDir = "reports";
  let skipNetwork = false;
  let help = false;
  let scaleOutTwins: string | undefined = process.env.EVALUATE_SCALE_OUT_TWINS?.trim() || undefined;
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
      case "--scale-out-twins":
        scaleOutTwins = value();
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
  if (scaleOutTwins !== undefined && !/^[1-9][0-9]{0,5}$/.test(scaleOutTwins)) {
    throw new Error(`--scale-out-twins needs a whole number from 1 to 999999, not ${scaleOutTwins}`);
  }
  return {
    mode,
    outDir,
    skipNetwork,
    help,
    ...prices,
    ...(scaleOutTwins !== undefined && { scaleOutTwins: Number(scaleOutTwins) }),
  };
}
