import { getAddress, type Signer } from "ethers";
import { ingestWearable as ingestWearableInput, parseFhirJson } from "../fhir";
import { decodeIntake, encodeIntake } from "./blob-codec";
import { PipelineError } from "./errors";
import type { PipelineContext } from "./pipeline-context";
import type { WearableIngestSummary } from "./pipeline-types";
import { flushTwin, pendingDevices } from "./reading-flush";
import { emptyTwinIndex } from "./twin-index";
import { WEARABLE } from "./twin-slot";

/**
 * Wearable ingest (see `TwinPipeline.ingestWearable`): the readings are kept encrypted as pending (an intake blob
 * sealed for the custodian), and flushed when the batch policy says so.
 *
 * Each reading carries the device it came from as `source`: the checksummed address of the device signer, the account
 * authorized as the twin's source in TwinRegistry, which anchors the reading's batch and is the device's id in
 * DeviceRegistry (so a flag there sets its readings aside, device-flags.ts). The Observation's own device reference
 * is not kept. Readings stored before this carry that reference (or nothing) and stay readable as they are: a
 * replay gives the same roots.
 */
export async function ingestWearable(
  ctx: PipelineContext,
  twinId: string,
  input: unknown,
  options: { readonly deviceSigner: Signer },
): Promise<WearableIngestSummary> {
  ctx.refuseErased(twinId);
  const parsed = typeof input === "string" ? parseFhirJson(input) : input;
  const device = getAddress(await options.deviceSigner.getAddress());
  const result = ingestWearableInput(parsed);
  if (result.readings.length === 0) {
    throw new PipelineError("EMPTY_INPUT", `the wearable input for twin ${twinId} holds no reading`);
  }
  await ctx.preflight(twinId, device, WEARABLE, false);
  // One device per pending set: a batch is anchored by the device its readings came from, so another device's
  // pending readings are flushed (by that device's signer) before this device's are added.
  const before = ctx.twins.get(twinId);
  if (before !== undefined && [...pendingDevices(ctx, twinId)].some((d) => d !== device)) {
    await flushTwin(ctx, twinId, before.deviceSigner);
  }
  const slot = ctx.twins.get(twinId) ?? ctx.newSlot(emptyTwinIndex(twinId));

  const receivedAt = ctx.clock();
  const plaintext = encodeIntake(result.readings.map((reading) => ({ ...reading, source: device })));
  const readings = decodeIntake(plaintext, "intake");
  const key = `wearable-intake/${slot.index.nextIntake}`;
  const put = await ctx.options.vault.put(plaintext, { twinId, recordKey: key, category: WEARABLE }, [
    ctx.custodianPublicKey,
  ]);
  slot.index.nextIntake += 1;
  slot.index.intakes.push({ key, cid: put.cid, count: readings.length, receivedAt });
  slot.deviceSigner = options.deviceSigner;
  ctx.twins.set(twinId, slot);
  await ctx.folder.save(slot.index);
  ctx.batcher.add(twinId, readings, receivedAt);

  const flushed = ctx.batcher.isDue(twinId, ctx.clock()) ? await flushTwin(ctx, twinId, options.deviceSigner) : null;
  return {
    twinId,
    readings: readings.length,
    skipped: result.skipped,
    pending: ctx.batcher.pending(twinId).readings.length,
    flushed,
  };
}
