/**
 * Issue 15's predictive-care and device-provenance scenes for the study chapter (scripts/demo-study.ts), on twin
 * engines fed synthetic readings (no real data): a deterioration injected into one twin, whose NEWS2 rises and whose
 * forecast alerts fire before the measured ones; and a twin whose recalled wearable's readings are set aside once the
 * flag is read from chain.
 */
import type { VitalReading, VitalSignName } from "../../src/fhir/records";
import { DeviceFlagFollower } from "../../src/pipeline";
import {
  canonicalUnit,
  earlyWarning,
  forecastAlerts,
  TwinEngine,
  type News2Result,
  type TwinVersion,
} from "../../src/twin";
import type { DeviceRegistry } from "../../typechain-types";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const STEP = 5 * MINUTE;
/** Oxygen and consciousness are told by the nurse, not measured by the twin: room air, alert. */
const OBSERVED = { supplementalOxygen: false, consciousness: "alert" } as const;

type Say = (line: string) => void;

/** `hh:mm` after the scene's start. */
function clock(t0: number, at: number): string {
  const minutes = Math.round((at - t0) / MINUTE);
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

function duration(ms: number): string {
  const minutes = Math.round(ms / MINUTE);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

function news2Text(result: News2Result): string {
  return result.status === "complete" ? `${result.score} (${result.band})` : `incomplete`;
}

/** One observation set every 5 minutes: calm for `calmSteps`, then each sign drifts by its `drift` per hour. */
function observationSet(t0: number, i: number, calmSteps: number, source: string): VitalReading[] {
  const hours = (Math.max(0, i - calmSteps) * STEP) / HOUR;
  const jitter = ((i * 7) % 5) - 2; // a deterministic wobble of −2..2
  const signs: [VitalSignName, number, number, number][] = [
    // sign, calm value, drift per hour, wobble
    ["respiratoryRate", 16, 1.2, 0.2],
    ["oxygenSaturation", 97, -1, 0.1],
    ["systolic", 126, -6, 0.8],
    ["heartRate", 76, 10, 0.8],
    ["bodyTemperature", 36.9, 0.2, 0.02],
  ];
  return signs.map(([sign, calm, drift, wobble]) => ({
    sign,
    value: Math.round((calm + drift * hours + wobble * jitter) * 10) / 10,
    unit: canonicalUnit(sign),
    at: t0 + i * STEP,
    source,
  }));
}

/**
 * A twin fed an observation set every 5 minutes (a wearable and a spot monitor); a deterioration starts after 8 calm
 * hours. At each set the twin's NEWS2, its measured alerts and its forecast alerts (6-hour horizon) are taken, as a
 * ward's screen would.
 */
export function deteriorationScene(say: Say, t0: number, device: string): void {
  const engine = new TwinEngine();
  const calmSteps = (8 * HOUR) / STEP;
  const hourly: string[] = [];
  const forecastFirst = new Map<string, { at: number; expectedAt: number }>();
  const measuredFirst = new Map<string, number>();
  for (let i = 0; i <= calmSteps + (7 * HOUR) / STEP; i++) {
    const version = engine.apply({ readings: observationSet(t0, i, calmSteps, device) });
    const at = t0 + i * STEP;
    if (i >= calmSteps - HOUR / STEP && (i * STEP) % HOUR === 0) {
      hourly.push(`${clock(t0, at)} ${news2Text(earlyWarning(version, OBSERVED))}`);
    }
    for (const alert of forecastAlerts(version, engine.config)) {
      if (!forecastFirst.has(alert.rule)) forecastFirst.set(alert.rule, { at, expectedAt: alert.expectedAt });
    }
    for (const alert of version.model.alerts) {
      if (!measuredFirst.has(alert.rule)) measuredFirst.set(alert.rule, alert.triggeredAt);
    }
  }
  say(`A deterioration is injected at ${clock(t0, t0 + calmSteps * STEP)}. NEWS2 every hour:`);
  say(`  ${hourly.join(" · ")}`);
  say("Forecast alerts (6-hour horizon) against the measured alerts of the same rule:");
  for (const [rule, forecast] of [...forecastFirst].sort((a, b) => a[1].at - b[1].at)) {
    const measured = measuredFirst.get(rule);
    say(
      `  ${rule}: forecast alert at ${clock(t0, forecast.at)} (crossing expected ${clock(t0, forecast.expectedAt)}), ` +
        (measured === undefined
          ? "no measured alert yet"
          : `measured alert at ${clock(t0, measured)}: ${duration(measured - forecast.at)} earlier`),
    );
  }
}

/** Heart-rate trend over the last hour, NEWS2 and measured alerts of a version, as one line. */
function careLine(version: TwinVersion): string {
  const trend = version.model.vitals.heartRate?.windows.find((w) => w.label === "24h")?.trend.direction ?? "n/a";
  const rules = [...new Set(version.model.alerts.map((a) => a.rule))].sort();
  return `NEWS2 ${news2Text(earlyWarning(version, OBSERVED))}, heart-rate trend ${trend}, alerts [${rules.join(", ")}]`;
}

/**
 * A twin charted by a bedside monitor every 30 minutes, and fed by a wearable that reads a high pulse and a low SpO2
 * every 5 minutes. The wearable is the device recalled on chain: once the flags are read, its readings are set aside.
 */
export async function recalledDeviceScene(
  say: Say,
  t0: number,
  devices: DeviceRegistry,
  monitor: string,
  wearable: string,
): Promise<void> {
  const readings: VitalReading[] = [];
  for (let i = 0; i <= 16; i++) {
    readings.push(...observationSet(t0, (i * 30 * MINUTE) / STEP, 1_000, monitor)); // calm, every 30 minutes
  }
  for (let i = 0; i < 8 * 12; i++) {
    const at = t0 + 4 * HOUR + i * 5 * MINUTE + MINUTE;
    const value = Math.round((122 + (i % 4) + i / 12) * 10) / 10;
    readings.push({ sign: "heartRate", value, unit: "/min", at, source: wearable });
    readings.push({ sign: "oxygenSaturation", value: 89 + (i % 2), unit: "%", at, source: wearable });
  }
  const engine = new TwinEngine();
  const committed = engine.apply({ readings: readings.filter((r) => r.at <= t0 + 8 * HOUR + MINUTE) });
  say(`A twin fed by a bedside monitor and by the recalled wearable: ${careLine(committed)}.`);
  const { devices: flagged } = await new DeviceFlagFollower(devices).refresh();
  const signs = engine.setFlaggedDevices(flagged);
  const screened = engine.screened;
  const setAside = screened.setAside;
  say(
    `The twin reads the flags on chain (${flagged.length} flagged device); it screens again only ${signs.join(" and ")}: ` +
      `${setAside?.flaggedDevice ?? 0} readings set aside (${Object.entries(setAside?.bySign ?? {})
        .map(([sign, n]) => `${n} ${sign}`)
        .join(", ")}).`,
  );
  say(`Set aside: ${careLine(screened)}.`);
  say(
    `The committed state root is unchanged (${screened.stateRoot === committed.stateRoot}): the readings stay, anchored; ` +
      "answers leave them out and say so (setAside).",
  );
}
