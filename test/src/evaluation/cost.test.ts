import { expect } from "chai";
import {
  DEFAULT_ETH_PRICE_USD,
  DEFAULT_L2_GAS_PRICE_GWEI,
  DEFAULT_MAINNET_GAS_PRICE_GWEI,
  formatEth,
  formatUsd,
  gasToEth,
  gasToUsd,
  priceGas,
  resolvePriceSettings,
} from "../../../src/evaluation/cost";

describe("evaluation/cost", () => {
  it("converts gas to ETH and USD: gas × gwei × 1e-9 × USD/ETH", () => {
    expect(gasToEth(21_000, 10)).to.be.closeTo(0.00021, 1e-15);
    expect(gasToEth(21_000n, 10)).to.be.closeTo(0.00021, 1e-15);
    expect(gasToUsd(1_000_000, { gasPriceGwei: 10, ethPriceUsd: 3000 })).to.be.closeTo(30, 1e-9);
    // The paper's deployment: 1,308,303 gas at 10 gwei and $3,000 is $39.25.
    expect(gasToUsd(1_308_303, { gasPriceGwei: 10, ethPriceUsd: 3000 })).to.be.closeTo(39.24909, 1e-6);
  });

  it("prices one amount in every setting", () => {
    const settings = resolvePriceSettings({}, {});
    const priced = priceGas(100_000, settings);
    expect(priced.map((p) => p.setting)).to.deep.equal(["mainnet", "L2"]);
    expect(priced[0].usd).to.be.closeTo(3, 1e-9);
    expect(priced[1].usd).to.be.closeTo(0.003, 1e-12);
  });

  it("takes flags over the environment over the defaults", () => {
    const defaults = resolvePriceSettings({}, {});
    expect(defaults[0].gasPriceGwei).to.equal(DEFAULT_MAINNET_GAS_PRICE_GWEI);
    expect(defaults[1].gasPriceGwei).to.equal(DEFAULT_L2_GAS_PRICE_GWEI);
    expect(defaults[0].ethPriceUsd).to.equal(DEFAULT_ETH_PRICE_USD);
    const env = { GAS_PRICE_GWEI: "20", ETH_PRICE_USD: "2500", L2_GAS_PRICE_GWEI: "0.05" };
    const fromEnv = resolvePriceSettings({}, env);
    expect([fromEnv[0].gasPriceGwei, fromEnv[1].gasPriceGwei, fromEnv[0].ethPriceUsd]).to.deep.equal([20, 0.05, 2500]);
    const fromFlags = resolvePriceSettings({ gasPriceGwei: "30", ethPriceUsd: "4000" }, env);
    expect([fromFlags[0].gasPriceGwei, fromFlags[1].gasPriceGwei, fromFlags[1].ethPriceUsd]).to.deep.equal([
      30, 0.05, 4000,
    ]);
  });

  it("refuses a price that is not a positive number", () => {
    expect(() => resolvePriceSettings({ gasPriceGwei: "abc" }, {})).to.throw(RangeError);
    expect(() => resolvePriceSettings({}, { ETH_PRICE_USD: "-1" })).to.throw(RangeError);
    expect(() => resolvePriceSettings({ l2GasPriceGwei: "0" }, {})).to.throw(RangeError);
  });

  it("formats USD and ETH for tables", () => {
    expect(formatUsd(39.24909)).to.equal("$39.25");
    expect(formatUsd(12_345.6)).to.equal("$12,346");
    expect(formatUsd(0.0017)).to.equal("$0.0017");
    expect(formatUsd(0)).to.equal("$0");
    expect(formatUsd(Number.NaN)).to.equal("n/a");
    expect(formatEth(0.00021)).to.equal("0.0002100 ETH");
  });
});
