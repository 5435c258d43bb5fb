import { gasToUsd, type PriceSetting } from "./cost";
import type { CohortScaleRun } from "./cohort-scale";

/**
 * A projection from the measured figures to 1,000,000 patients (issue 12): gas and cost per patient per year at
 * each price setting, storage per patient per year, and how many gateway and database machines the read load
 * needs. Every assumption is a named field, printed with the result; nothing here is measured.
 */
export interface ProjectionAssumptions {
  readonly patients: number;
  /** Signed queries a patient's readers make per day (clinicians, apps, the patient). */
  readonly queriesPerPatientDay: number;
  /** Peak hour's load over the day's mean. */
  readonly peakFactor: number;
  /** Share of a gateway process's measured capacity used at peak (headroom). */
  readonly utilization: number;
  /** Gateway processes per machine (one per core of a 2-core machine, as measured here). */
  readonly gatewayProcessesPerMachine: number;
  /** Access-log appends (with their nonce claim) one PostgreSQL machine sustains per second. */
  readonly databaseWritesPerSecond: number;
}

export const DEFAULT_ASSUMPTIONS: ProjectionAssumptions = {
  patients: 1_000_000,
  queriesPerPatientDay: 20,
  peakFactor: 5,
  utilization: 0.6,
  gatewayProcessesPerMachine: 2,
  databaseWritesPerSecond: 5_000,
};

export interface Projection {
  readonly assumptions: ProjectionAssumptions;
  readonly gasPerPatientYear: number;
  readonly costPerPatientYear: readonly { readonly setting: string; readonly usd: number }[];
  readonly costPerYearAllPatients: readonly { readonly setting: string; readonly usd: number }[];
  readonly storageBytesPerPatientYear: number;
  readonly storageBytesAllPatientsYear: number;
  readonly peakQueriesPerSecond: number;
  readonly gatewayProcessCapacity: number;
  readonly gatewayProcesses: number;
  readonly gatewayMachines: number;
  readonly databaseMachines: number;
  /** The ingest side: pipeline processes to keep up with a day of data for every patient within the day. */
  readonly pipelineProcesses: number;
}

/**
 * @param scale The pipeline benchmark's run (per twin per day figures).
 * @param gatewayQueriesPerSecond One gateway process's allowed queries/s under the load generator.
 */
export function project(
  scale: CohortScaleRun,
  gatewayQueriesPerSecond: number,
  prices: readonly PriceSetting[],
  assumptions: ProjectionAssumptions = DEFAULT_ASSUMPTIONS,
): Projection {
  const gasPerPatientYear = scale.gasPerTwinDay * 365;
  const storageBytesPerPatientYear = scale.storageBytesPerTwinDay * 365;
  const meanQps = (assumptions.patients * assumptions.queriesPerPatientDay) / 86_400;
  const peakQueriesPerSecond = meanQps * assumptions.peakFactor;
  const perProcess = gatewayQueriesPerSecond * assumptions.utilization;
  const gatewayProcesses = perProcess > 0 ? Math.ceil(peakQueriesPerSecond / perProcess) : Number.NaN;
  const cpuSecondsPerTwinDay = scale.twinsIngested > 0 ? scale.cpuSeconds / scale.twinsIngested : Number.NaN;
  return {
    assumptions,
    gasPerPatientYear,
    costPerPatientYear: prices.map((p) => ({ setting: p.name, usd: gasToUsd(Math.round(gasPerPatientYear), p) })),
    costPerYearAllPatients: prices.map((p) => ({
      setting: p.name,
      usd: gasToUsd(Math.round(gasPerPatientYear), p) * assumptions.patients,
    })),
    storageBytesPerPatientYear,
    storageBytesAllPatientsYear: storageBytesPerPatientYear * assumptions.patients,
    peakQueriesPerSecond,
    gatewayProcessCapacity: gatewayQueriesPerSecond,
    gatewayProcesses,
    gatewayMachines: Math.ceil(gatewayProcesses / assumptions.gatewayProcessesPerMachine),
    databaseMachines: Math.max(1, Math.ceil(peakQueriesPerSecond / assumptions.databaseWritesPerSecond)),
    pipelineProcesses: Math.ceil((cpuSecondsPerTwinDay * assumptions.patients) / 86_400 / assumptions.utilization),
  };
}
