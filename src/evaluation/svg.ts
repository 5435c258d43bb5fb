/**
 * Small, dependency-free SVG charts for the evaluation report: line charts (with logarithmic axes) and
 * horizontal bar charts. The output is a standalone SVG document, deterministic for the same input.
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly logX?: boolean;
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
}

export interface BarChartOptions {
  readonly title: string;
  readonly valueLabel: string;
  readonly bars: readonly Bar[];
  readonly logScale?: boolean;
  readonly width?: number;
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
const MARGIN = { top: 40, right: 20, bottom: 50, left: 80 };

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** A compact label for an axis tick: 1k, 2.5M, 0.001… */
export function tickLabel(value: number): string {
  const abs = Math.abs(value);
  if (abs === 0) return "0";
  if (abs >= 1e9) return `${trim(value / 1e9)}G`;
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e3) return `${trim(value / 1e3)}k`;
  if (abs >= 1) return trim(value);
  return Number(value.toPrecision(2)).toString();
}

function trim(v: number): string {
  return Number(v.toPrecision(3)).toString();
}

function fmt(v: number): string {
  return Number(v.toFixed(2)).toString();
}

/** Tick values: powers of ten for a log axis, about five round steps for a linear one. */
export function ticks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
    return out;
  }
  if (min === max) return [min];
  const raw = (max - min) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

interface Scale {
  readonly domain: readonly [number, number];
  map(v: number): number;
}

function scale(values: readonly number[], log: boolean, from: number, to: number, zeroBased: boolean): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  let lo = finite.length ? Math.min(...finite) : 1;
  let hi = finite.length ? Math.max(...finite) : 10;
  if (log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (lo === hi) hi = lo * 10;
  } else {
    if (zeroBased) lo = Math.min(0, lo);
    if (lo === hi) hi = lo + 1;
    const t = ticks(lo, hi, false);
    hi = Math.max(hi, t[t.length - 1]);
  }
  const f = (v: number) => (log ? Math.log10(v) : v);
  const a = f(lo);
  const b = f(hi);
  return { domain: [lo, hi], map: (v) => from + ((f(v) - a) / (b - a)) * (to - from) };
}

/** A line chart with markers; points with a non-finite (or, on a log axis, non-positive) value are left out. */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const logX = options.logX ?? false;
  const logY = options.logY ?? false;
  const usable = (p: Point) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!logX || p.x > 0) && (!logY || p.y > 0);
  const series = options.series.map((s) => ({ name: s.name, points: s.points.filter(usable) }));
  // The legend sits above the plot, one row per series, so it never covers a line.
  const top = 40 + series.length * 16;
  const plotHeight = height + series.length * 16;
  const all = series.flatMap((s) => s.points);
  const x = scale(
    all.map((p) => p.x),
    logX,
    MARGIN.left,
    width - MARGIN.right,
    false,
  );
  const y = scale(
    all.map((p) => p.y),
    logY,
    plotHeight - MARGIN.bottom,
    top,
    true,
  );
  const parts: string[] = [header(width, plotHeight, options.title)];
  parts.push(axes(width, plotHeight, top));
  for (const t of ticks(x.domain[0], x.domain[1], logX)) {
    const px = fmt(x.map(t));
    parts.push(
      `<line x1="${px}" y1="${top}" x2="${px}" y2="${plotHeight - MARGIN.bottom}" stroke="#eee"/>`,
      `<text x="${px}" y="${plotHeight - MARGIN.bottom + 16}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`,
    );
  }
  for (const t of ticks(y.domain[0], y.domain[1], logY)) {
    const py = fmt(y.map(t));
    parts.push(
      `<line x1="${MARGIN.left}" y1="${py}" x2="${width - MARGIN.right}" y2="${py}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeXml(tickLabel(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${fmt((MARGIN.left + width - MARGIN.right) / 2)}" y="${plotHeight - 10}" text-anchor="middle">${escapeXml(
      options.xLabel + (logX ? " (log scale)" : ""),
    )}</text>`,
    `<text transform="translate(16 ${fmt((top + plotHeight - MARGIN.bottom) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(
      options.yLabel + (logY ? " (log scale)" : ""),
    )}</text>`,
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    if (s.points.length > 1) {
      const d = s.points.map((p, j) => `${j === 0 ? "M" : "L"}${fmt(x.map(p.x))} ${fmt(y.map(p.y))}`).join(" ");
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const p of s.points) {
      parts.push(`<circle cx="${fmt(x.map(p.x))}" cy="${fmt(y.map(p.y))}" r="3" fill="${color}"/>`);
    }
    const ly = 32 + i * 16;
    parts.push(
      `<rect x="${MARGIN.left + 10}" y="${ly}" width="10" height="10" fill="${color}"/>`,
      `<text x="${MARGIN.left + 26}" y="${ly + 9}">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push("</svg>\n");
  return parts.join("\n");
}

/** A horizontal bar chart, one bar per label, the value written at the end of each bar. */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 640;
  const labelWidth = 220;
  const rowHeight = 24;
  const bars = options.bars.filter((b) => Number.isFinite(b.value) && (!options.logScale || b.value > 0));
  const height = MARGIN.top + bars.length * rowHeight + MARGIN.bottom;
  const left = labelWidth;
  const right = width - 90;
  const x = scale(
    bars.map((b) => b.value),
    options.logScale ?? false,
    left,
    right,
    true,
  );
  const base = options.logScale ? x.domain[0] : 0;
  const parts: string[] = [header(width, height, options.title)];
  bars.forEach((b, i) => {
    const y = MARGIN.top + i * rowHeight;
    const x0 = x.map(base);
    const x1 = x.map(b.value);
    parts.push(
      `<text x="${left - 6}" y="${y + rowHeight / 2}" text-anchor="end" dominant-baseline="middle">${escapeXml(b.label)}</text>`,
      `<rect x="${fmt(x0)}" y="${y + 3}" width="${fmt(Math.max(1, x1 - x0))}" height="${rowHeight - 6}" fill="${
        PALETTE[i % PALETTE.length]
      }"/>`,
      `<text x="${fmt(x1 + 4)}" y="${y + rowHeight / 2}" dominant-baseline="middle">${escapeXml(tickLabel(b.value))}</text>`,
    );
  });
  parts.push(
    `<text x="${fmt((left + right) / 2)}" y="${height - 12}" text-anchor="middle">${escapeXml(
      options.valueLabel + (options.logScale ? " (log scale)" : ""),
    )}</text>`,
    "</svg>\n",
  );
  return parts.join("\n");
}

function header(width: number, height: number, title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ].join("\n");
}

function axes(width: number, height: number, top: number): string {
  const x0 = MARGIN.left;
  const y0 = height - MARGIN.bottom;
  return `<path d="M${x0} ${top} V${y0} H${width - MARGIN.right}" fill="none" stroke="#333"/>`;
}
