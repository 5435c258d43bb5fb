import { formatEth, formatUsd, gasToEth, gasToUsd, type PriceSetting } from "./cost";
import type { Summary } from "./stats";
import type { FunctionGas, RecordBatchPoint, TimedOperation } from "./types";

/* The report's formatting helpers, shared by report.ts and each part's renderer (report-*.ts). */

/** An integer with thousands separators; "n/a" for a non-finite value. */
export function int(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  return Math.round(x).toLocaleString("en-US");
}

/** Milliseconds: three significant digits below 10, else one decimal. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  if (x < 10) return x.toPrecision(3);
  return x.toFixed(1);
}

/** A markdown table; cells are escaped for pipes. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const line = (cells: readonly string[]) => `| ${cells.map(esc).join(" | ")} |`;
  // Numbers (with separators, $, ×, units in the cell) right-aligned; text left-aligned.
  const numeric = /^(n\/a|[-~]?\$?[\d,.]+(e-?\d+)?( ?(×|%|ms|s|gas|ETH))?|)$/;
  const align = header.map((_, i) =>
    i > 0 && rows.length > 0 && rows.every((r) => numeric.test((r[i] ?? "").trim())) ? "---:" : "---",
  );
  return [line(header), `| ${align.join(" | ")} |`, ...rows.map(line)].join("\n");
}

export function usdCells(gas: number | null, prices: readonly PriceSetting[]): string[] {
  return prices.map((p) => (gas === null || !Number.isFinite(gas) ? "n/a" : formatUsd(gasToUsd(gas, p))));
}

export function priceHeaders(prices: readonly PriceSetting[]): string[] {
  return prices.map((p) => `USD ${p.name}`);
}

export function ethCells(gas: number | null, prices: readonly PriceSetting[]): string[] {
  return prices.map((p) => (gas === null || !Number.isFinite(gas) ? "n/a" : formatEth(gasToEth(gas, p.gasPriceGwei))));
}

export function ethHeaders(prices: readonly PriceSetting[]): string[] {
  return prices.map((p) => `ETH ${p.name}`);
}

export function timingRows(ops: readonly TimedOperation[], withPaper: boolean): string[][] {
  return ops.map((o) => [
    o.what,
    int(o.ms.count),
    ms(o.ms.mean),
    ms(o.ms.p50),
    ms(o.ms.p95),
    ...(withPaper ? [o.paper ? `${o.paper.what}` : ""] : []),
  ]);
}

export function summaryCells(s: Summary): string[] {
  return [ms(s.mean), ms(s.p50), ms(s.p95), ms(s.p99)];
}

/** A change in percent, signed ("+3.1 %", "−12.0 %"); "new" without a v1 figure. */
export function change(v1: number | undefined, v2: number): string {
  if (v1 === undefined || !Number.isFinite(v1) || v1 === 0) return "new";
  const pct = ((v2 - v1) / v1) * 100;
  return `${pct >= 0 ? "+" : "−"}${Math.abs(pct).toFixed(1)} %`;
}

/** The record-batch point of an EMR bundle of `records` records, if measured. */
export function bundlePoint(curve: readonly RecordBatchPoint[], records: number): RecordBatchPoint | undefined {
  return curve.find((p) => p.records === records);
}

export function fn(functions: readonly FunctionGas[], contract: string, method: string): FunctionGas | undefined {
  return functions.find((f) => f.contract === contract && f.method === method);
}
