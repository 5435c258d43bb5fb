import { exportCar, type CarExport } from "../store";
import type { PipelineContext } from "./pipeline-context";
import type { TwinSlot } from "./twin-slot";

/**
 * Every blob a twin's index references: its records, its anchored reading batches and its pending intakes (each a
 * ciphertext under its content id), in index order, without duplicates.
 */
export function twinBlobCids(slot: TwinSlot): string[] {
  const { records, batches, intakes } = slot.index;
  return [
    ...new Set([
      ...records.map((entry) => entry.anchor.cid),
      ...batches.map((batch) => batch.cid),
      ...intakes.map((intake) => intake.cid),
    ]),
  ];
}

/**
 * Write every blob of a readable twin to a CAR file (see src/store/car.ts: raw blocks, each a root, for
 * `ipfs dag import`). The CAR holds ciphertext only; the index and the wrapped keys stay with the service. Throws
 * `TWIN_UNKNOWN` or `TWIN_ERASED`, and the store's errors for a blob missing or tampered with (nothing written then).
 */
export async function exportTwinCar(ctx: PipelineContext, twinId: string, path: string): Promise<CarExport> {
  const slot = ctx.readable(twinId);
  return exportCar(ctx.options.vault.blobs, twinBlobCids(slot), path);
}
