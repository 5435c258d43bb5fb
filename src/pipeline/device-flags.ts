import { getAddress } from "ethers";
import type { DeviceRegistry } from "../../typechain-types";
import type { PipelineContext } from "./pipeline-context";

/*
 * Device provenance (issue 15): the devices flagged on chain (DeviceRegistry: recalled, calibration expired,
 * malfunctioning), and the twins screening their readings out. A wearable reading carries the device it came from in
 * `source` (the address of the device account that signed and anchored it, which is its DeviceRegistry id; see
 * wearable-ingest.ts), and every twin engine sets the readings of flagged devices aside in the view answers use
 * (`TwinEngine.screened`): committed versions and their roots stay as they are.
 */

/** What a change of the flagged set did. */
export interface DeviceFlagUpdate {
  /** The flagged devices now, checksummed, sorted. */
  readonly devices: readonly string[];
  /** Twins with at least one sign screened again. */
  readonly twins: number;
  /** Signs screened again, over all twins. */
  readonly signs: number;
}

/** Give every twin engine the flagged set (and keep it for the engines made later). */
export function applyFlaggedDevices(ctx: PipelineContext, devices: Iterable<string>): DeviceFlagUpdate {
  const flagged = [...new Set([...devices].map((device) => getAddress(device)))].sort();
  ctx.flaggedDevices = flagged;
  ctx.revisions.changedAll();
  let twins = 0;
  let signs = 0;
  for (const slot of ctx.twins.values()) {
    if (slot.engine === null) continue;
    const changed = slot.engine.setFlaggedDevices(flagged).length;
    if (changed > 0) twins += 1;
    signs += changed;
  }
  return { devices: flagged, twins, signs };
}

/** Blocks per `eth_getLogs` request. */
const LOG_RANGE = 5_000;

/**
 * The set of flagged devices, folded from DeviceRegistry's `DeviceFlagged` and `DeviceFlagCleared` events in chain
 * order. Each `refresh` reads only the blocks since the last one (in ranges of {@link LOG_RANGE} blocks), so it can
 * run on every head or on a timer. A reorganization deeper than the last refresh is not undone: refresh a new
 * follower from the registry's deployment block to start over.
 */
export class DeviceFlagFollower {
  /** Lower-case address → checksummed address. */
  readonly #flagged = new Map<string, string>();
  #nextBlock: number;

  /** @param fromBlock The registry's deployment block (0 reads from genesis). */
  constructor(
    readonly registry: DeviceRegistry,
    fromBlock = 0,
  ) {
    this.#nextBlock = fromBlock;
  }

  /** The flagged devices as of the last refresh, checksummed, sorted. */
  get devices(): readonly string[] {
    return [...this.#flagged.values()].sort();
  }

  /** Read the events up to the head; returns the flagged devices and whether the set changed. */
  async refresh(): Promise<{ readonly devices: readonly string[]; readonly changed: boolean; readonly block: number }> {
    const provider = this.registry.runner?.provider;
    if (provider == null) throw new Error("the DeviceRegistry contract has no provider to read events with");
    const head = await provider.getBlockNumber();
    let changed = false;
    for (let from = this.#nextBlock; from <= head; from += LOG_RANGE) {
      const to = Math.min(head, from + LOG_RANGE - 1);
      const [flagged, cleared] = await Promise.all([
        this.registry.queryFilter(this.registry.filters.DeviceFlagged(), from, to),
        this.registry.queryFilter(this.registry.filters.DeviceFlagCleared(), from, to),
      ]);
      const events = [
        ...flagged.map((e) => ({ e, device: String(e.args.device), flag: true })),
        ...cleared.map((e) => ({ e, device: String(e.args.device), flag: false })),
      ].sort((a, b) => a.e.blockNumber - b.e.blockNumber || a.e.index - b.e.index);
      for (const { device, flag } of events) {
        const address = getAddress(device);
        const key = address.toLowerCase();
        if (flag && !this.#flagged.has(key)) {
          this.#flagged.set(key, address);
          changed = true;
        } else if (!flag && this.#flagged.delete(key)) changed = true;
      }
    }
    this.#nextBlock = Math.max(this.#nextBlock, head + 1);
    return { devices: this.devices, changed, block: head };
  }
}
