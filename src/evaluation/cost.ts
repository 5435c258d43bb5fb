/**
 * Gas to ETH and USD at stated, offline prices. No price is ever fetched: the defaults are assumptions,
 * stated in the report, and every figure can be recomputed from the gas in evaluation.json.
 */

/** One price setting: the gas price paid and the ETH price used to convert to USD. */
export interface PriceSetting {
  /** Short name used in tables, e.g. `mainnet`, `L2`. */
  readonly name: string;
  /** Gas price in gwei (10^-9 ETH per gas). */
  readonly gasPriceGwei: number;
  /** USD per ETH. */
  readonly ethPriceUsd: number;
  /** What the setting stands for and what it leaves out. */
  readonly note: string;
}

/** A gas amount priced in one setting. */
export interface PricedGas {
  readonly setting: string;
  readonly eth: number;
  readonly usd: number;
}

export const DEFAULT_MAINNET_GAS_PRICE_GWEI = 10;
export const DEFAULT_L2_GAS_PRICE_GWEI = 0.01;
export const DEFAULT_ETH_PRICE_USD = 3000;

/** ETH for `gas` at `gasPriceGwei`. */
export function gasToEth(gas: number | bigint, gasPriceGwei: number): number {
  return (Number(gas) * gasPriceGwei) / 1e9;
}

/** USD for `gas` in a setting. */
export function gasToUsd(gas: number | bigint, setting: Pick<PriceSetting, "gasPriceGwei" | "ethPriceUsd">): number {
  return gasToEth(gas, setting.gasPriceGwei) * setting.ethPriceUsd;
}

/** `gas` priced in each setting. */
export function priceGas(gas: number | bigint, settings: readonly PriceSetting[]): PricedGas[] {
  return settings.map((s) => ({ setting: s.name, eth: gasToEth(gas, s.gasPriceGwei), usd: gasToUsd(gas, s) }));
}

function positive(raw: string | undefined, fallback: number, what: string): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a positive number, got "${raw}"`);
  return value;
}

/** Where the prices come from: command-line flags first, then the environment, then the defaults. */
export interface PriceInputs {
  readonly gasPriceGwei?: string;
  readonly l2GasPriceGwei?: string;
  readonly ethPriceUsd?: string;
}

/**
 * The two settings of the report. Environment: `GAS_PRICE_GWEI` and `ETH_PRICE_USD` (the gas reporter's own
 * variables, so that both reports agree) and `L2_GAS_PRICE_GWEI`.
 */
export function resolvePriceSettings(flags: PriceInputs, env: NodeJS.ProcessEnv): PriceSetting[] {
  const ethPriceUsd = positive(flags.ethPriceUsd ?? env.ETH_PRICE_USD, DEFAULT_ETH_PRICE_USD, "ETH price (USD)");
  const mainnet = positive(
    flags.gasPriceGwei ?? env.GAS_PRICE_GWEI,
    DEFAULT_MAINNET_GAS_PRICE_GWEI,
    "mainnet gas price (gwei)",
  );
  const l2 = positive(flags.l2GasPriceGwei ?? env.L2_GAS_PRICE_GWEI, DEFAULT_L2_GAS_PRICE_GWEI, "L2 gas price (gwei)");
  return [
    {
      name: "mainnet",
      gasPriceGwei: mainnet,
      ethPriceUsd,
      note: "Ethereum L1: every gas unit at this price (base fee plus tip).",
    },
    {
      name: "L2",
      gasPriceGwei: l2,
      ethPriceUsd,
      note:
        "an optimistic or zk rollup: L2 execution gas at this price; the L1 data fee a rollup adds for " +
        "posting the calldata is not included.",
    },
  ];
}

/** A USD amount for tables: cents for amounts from $0.01, else significant digits. */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd)) return "n/a";
  if (usd === 0) return "$0";
  if (Math.abs(usd) >= 1000) return `$${Math.round(usd).toLocaleString("en-US")}`;
  if (Math.abs(usd) >= 0.01) return `$${usd.toFixed(2)}`;
  return `$${usd.toPrecision(2)}`;
}

/** An ETH amount with four significant digits. */
export function formatEth(eth: number): string {
  if (!Number.isFinite(eth)) return "n/a";
  if (eth === 0) return "0 ETH";
  return `${eth.toPrecision(4)} ETH`;
}
