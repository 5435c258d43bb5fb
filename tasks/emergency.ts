import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { emergencyReasonCommitment } from "../src/chain/commitments";
import { address, bytes32, contextOf, durationOf, fail, iso, send } from "./lib/context";
import { report, table } from "./lib/output";
import type { TwinArgs } from "./twin";

export interface EmergencyOpenArgs extends TwinArgs {
  readonly duration: string;
  readonly reason?: string;
  readonly reasonHash?: string;
}

/**
 * emergency:open: an accredited responder opens break-glass access to a twin whose patient allows it. The reason is
 * committed (salted); only the commitment goes on chain, and the opening (domain, salt) is printed for the record.
 */
export async function emergencyOpen(args: EmergencyOpenArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  const duration = durationOf(args.duration, "--duration");
  if (!args.reason === !args.reasonHash) fail("give exactly one of --reason (text, committed here) or --reason-hash");
  const commitment = args.reason ? emergencyReasonCommitment(args.reason) : null;
  const reasonHash = commitment ? commitment.commitment : bytes32(args.reasonHash, "--reason-hash");
  const ctx = await contextOf(hre, args);
  const tx = await send(ctx, "ConsentPolicy.openEmergencyAccess", () =>
    ctx.consent.openEmergencyAccess(twinId, duration, reasonHash),
  );
  const access = await ctx.consent.emergencyAccessOf(twinId, ctx.signerAddress);
  const data = {
    twinId,
    responder: ctx.signerAddress,
    until: Number(access.until),
    reasonHash,
    reasonOpening: commitment ? { domain: commitment.opening.domain, salt: commitment.salt } : null,
    ...tx,
  };
  return report(args, data, (d) => [
    `Emergency access open: ${d.responder} on twin ${d.twinId} until ${iso(d.until)} (block time)`,
    ...table([
      ["reason hash", d.reasonHash],
      ["reason salt", d.reasonOpening ? `${d.reasonOpening.salt} (keep it with the reason text, off chain)` : "—"],
      ["transaction", `${d.hash} (block ${d.blockNumber}, ${d.gasUsed} gas)`],
    ]),
  ]);
}

export interface EmergencyCloseArgs extends TwinArgs {
  readonly responder?: string;
}

/** emergency:close: the responder, or a controller of the twin, closes an emergency access. */
export async function emergencyClose(args: EmergencyCloseArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  const ctx = await contextOf(hre, args);
  const responder = args.responder ? address(args.responder, "--responder") : ctx.signerAddress;
  const tx = await send(ctx, "ConsentPolicy.closeEmergencyAccess", () =>
    ctx.consent.closeEmergencyAccess(twinId, responder),
  );
  return report(args, { twinId, responder, closedBy: ctx.signerAddress, ...tx }, (d) => [
    `Emergency access closed: ${d.responder} on twin ${d.twinId} (by ${d.closedBy})`,
    `transaction ${d.hash} (block ${d.blockNumber}, ${d.gasUsed} gas)`,
  ]);
}
