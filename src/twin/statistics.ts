import type { VitalReading, VitalSignName } from "../fhir/records";
import { HOUR_MS, type ResolvedConfig } from "./config";
import { firstAfter } from "./readings";
import type { Trend, TrendDirection, VitalSummary, VitalWindow, WindowStats } from "./types";

const EMPTY_STATS: WindowStats = Object.freeze({ count: 0, min: null, max: null, mean: null, stddev: null, p50: null });

/** count, min, max, mean, sample stddev and median of `series[from..to)`, in O(k log k). */
export function windowStats(series: readonly VitalReading[], from = 0, to = series.length): WindowStats {
  const count = to - from;
  if (count <= 0) return EMPTY_STATS;
  const values = new Float64Array(count);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    values[i] = series[from + i].value;
    sum += values[i];
  }
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < count; i++) squares += (values[i] - mean) ** 2;
  values.sort();
  const middle = count >>> 1;
  return {
    count,
    min: values[0],
    max: values[count - 1],
    mean,
    stddev: count > 1 ? Math.sqrt(squares / (count - 1)) : 0,
    p50: count % 2 === 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2,
  };
}

/**
 * Least-squares slope of value against time over `series[from..to)`, in units per hour, or
 * null when there are fewer than two readings or they all share one time.
 */
export function slopePerHour(series: readonly VitalReading[], from = 0, to = series.length): number | null {
  const count = to - from;
  if (count < 2) return null;
  const origin = series[from].at;
  let sumX = 0;
  let sumY = 0;
  for (let i = from; i < to; i++) {
    sumX += (series[i].at - origin) / HOUR_MS;
    sumY += series[i].value;
  }
  const meanX = sumX / count;
  const meanY = sumY / count;
  let sxx = 0;
  let sxy = 0;
  for (let i = from; i < to; i++) {
    const dx = (series[i].at - origin) / HOUR_MS - meanX;
    sxx += dx * dx;
    sxy += dx * (series[i].value - meanY);
  }
  return sxx === 0 ? null : sxy / sxx;
}

/** Label a slope: beyond ±`stableSlopePerHour` rising or falling, else stable. */
export function trendOf(slope: number | null, points: number, minPoints: number, stableSlopePerHour: number): Trend {
  let direction: TrendDirection;
  if (slope === null || points < minPoints) direction = "insufficient-data";
  else if (slope > stableSlopePerHour) direction = "rising";
  else if (slope < -stableSlopePerHour) direction = "falling";
  else direction = "stable";
  return { slopePerHour: slope, direction, stableSlopePerHour };
}

/** Latest reading, counts and per-window statistics and trends of one non-empty series. */
export function summarizeSeries(
  sign: VitalSignName,
  unit: string,
  series: readonly VitalReading[],
  asOf: number,
  config: ResolvedConfig,
): VitalSummary {
  const end = firstAfter(series, asOf);
  const windows: VitalWindow[] = config.windows.map(({ label, durationMs }) => {
    const from = asOf - durationMs;
    const start = firstAfter(series, from);
    return {
      label,
      durationMs,
      from,
      to: asOf,
      stats: windowStats(series, start, end),
      trend: trendOf(
        slopePerHour(series, start, end),
        end - start,
        config.trendMinPoints,
        config.signProfiles[sign].stableSlopePerHour,
      ),
    };
  });
  const last = series[series.length - 1];
  return {
    sign,
    unit,
    count: series.length,
    firstAt: series[0].at,
    lastAt: last.at,
    latest:
      last.source === undefined
        ? { sign, value: last.value, unit, at: last.at }
        : { sign, value: last.value, unit, at: last.at, source: last.source },
    windows,
  };
}
