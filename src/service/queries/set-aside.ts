import type { VitalReading, VitalSignName } from "../../fhir/records";
import { deviceKey, type TwinVersion } from "../../twin";
import { DataCategory } from "../../vocabulary";

/**
 * What an answer says of the readings it left out because the device they came from is flagged on chain
 * (DeviceRegistry: a recall, an expired calibration): the twin's screened view (`TwinEngine.screened`) leaves them out
 * of statistics, trends, alerts, NEWS2 and forecasts. Counted over the readings the reader may see (the signed
 * categories) and the answer's signs and time range only, so that it tells nothing of other categories.
 */
export interface SetAsideAnswer {
  /** Readings left out because their device is flagged. */
  readonly flaggedDevice: number;
  /** The flagged devices they came from (DeviceRegistry ids), sorted. */
  readonly devices: readonly string[];
}

/**
 * `setAside`, in the answers built from vital readings (summary, latest-vitals, vitals-series, alerts, early-warning,
 * forecast): present when readings of a device flagged on chain were left out of it.
 */
export interface SetAsideField {
  readonly setAside?: SetAsideAnswer;
}

/** Which of the set-aside readings an answer is about. */
export interface SetAsideScope {
  readonly signs?: readonly VitalSignName[];
  /** Inclusive bounds (epoch ms). */
  readonly from?: number;
  readonly to?: number;
}

/** The set-aside readings of the version in the categories of `mask` and the scope, or undefined when none. */
export function setAsideIn(version: TwinVersion, mask: number, scope: SetAsideScope = {}): SetAsideAnswer | undefined {
  const marked = version.setAsideReadings;
  if (marked === undefined || version.setAside === undefined) return undefined;
  const ids = new Map(version.setAside.devices.map((id) => [deviceKey(id), id]));
  const devices = new Set<string>();
  let count = 0;
  for (const [sign, list] of Object.entries(marked) as [VitalSignName, readonly VitalReading[]][]) {
    if (scope.signs !== undefined && !scope.signs.includes(sign)) continue;
    for (const reading of list) {
      if (((reading.category ?? DataCategory.VITALS) & mask) === 0) continue;
      if ((scope.from !== undefined && reading.at < scope.from) || (scope.to !== undefined && reading.at > scope.to)) {
        continue;
      }
      count += 1;
      const key = deviceKey(reading.source as string);
      devices.add(ids.get(key) ?? key);
    }
  }
  return count === 0 ? undefined : { flaggedDevice: count, devices: [...devices].sort() };
}

/** The answer with `setAside` when the scope's readings include set-aside ones (unchanged otherwise). */
export function withSetAside<T extends object>(
  answer: T,
  version: TwinVersion,
  mask: number,
  scope: SetAsideScope = {},
): T & { readonly setAside?: SetAsideAnswer } {
  const setAside = setAsideIn(version, mask, scope);
  return setAside === undefined ? answer : { ...answer, setAside };
}
