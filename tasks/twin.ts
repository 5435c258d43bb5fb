import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { twinIdOf } from "../src/chain/twin-id";
import { twinMetadataCommitment } from "../src/chain/commitments";
import { DataCategory, namesOf, SourceKind, TwinStatus } from "../src/vocabulary";
import { address, bytes32, bytes32OrText, call, contextOf, fail, maskOf, send, type CommonArgs } from "./lib/context";
import { report, table } from "./lib/output";

export interface TwinCreateArgs extends CommonArgs {
  readonly salt: string;
  readonly custodian: string;
  readonly metadata?: string;
}

/** twin:create: the signer creates its twin at an accredited custodian. */
export async function twinCreate(args: TwinCreateArgs, hre: HardhatRuntimeEnvironment) {
  const custodian = address(args.custodian, "--custodian");
  if (!args.salt) fail("--salt is required (any text, or 0x and 64 hex digits)");
  const salt = bytes32OrText(args.salt);
  // Without --metadata, a salted commitment to an empty metadata object: nothing about the patient on chain.
  const metadata = args.metadata ? bytes32OrText(args.metadata) : twinMetadataCommitment({}).commitment;
  const ctx = await contextOf(hre, args);
  const twinId = twinIdOf(ctx.signerAddress, salt);
  const tx = await send(ctx, "TwinRegistry.createTwin", () => ctx.registry.createTwin(salt, metadata, custodian));
  const data = { twinId, owner: ctx.signerAddress, custodian, salt, metadataCommitment: metadata, ...tx };
  return report(args, data, (d) => [
    `Twin created: ${d.twinId}`,
    ...table([
      ["owner", d.owner],
      ["custodian", d.custodian],
      ["salt", d.salt],
      ["metadata", d.metadataCommitment],
      ["transaction", `${d.hash} (block ${d.blockNumber}, ${d.gasUsed} gas)`],
    ]),
  ]);
}

export interface TwinArgs extends CommonArgs {
  readonly twin: string;
}

/** twin:show: everything the chain knows about a twin. */
export async function twinShow(args: TwinArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  const ctx = await contextOf(hre, args);
  const status = Number(await ctx.registry.statusOf(twinId));
  if (status === TwinStatus.None)
    fail(`no twin ${twinId} on ${hre.network.name} (registry ${ctx.addresses.TwinRegistry})`);
  const [owner, custodian, metadata, pendingOwner, head, state, emergency] = await call(ctx, "reading the twin", () =>
    Promise.all([
      ctx.registry.ownerOf(twinId),
      ctx.registry.custodianOf(twinId),
      ctx.registry.metadataOf(twinId),
      ctx.registry.pendingOwnerOf(twinId),
      ctx.updateLog.logHeadOf(twinId),
      ctx.updateLog.twinStateOf(twinId),
      ctx.consent.emergencyPolicyOf(twinId),
    ]),
  );
  const data = {
    twinId,
    status: TwinStatus[status],
    owner,
    custodian,
    metadataCommitment: metadata,
    pendingOwner: /^0x0{40}$/.test(pendingOwner) ? null : pendingOwner,
    log: { sequence: head.sequence, head: head.head },
    state: { version: state.version, epoch: state.epoch, stateRoot: state.stateRoot, blockNumber: state.blockNumber },
    emergency: {
      allowed: emergency.allowed,
      maxDuration: emergency.maxDuration,
      categories: namesOf(DataCategory, Number(emergency.categories)),
    },
  };
  return report(args, data, (d) => [
    `Twin ${d.twinId}`,
    ...table([
      ["status", d.status],
      ["owner", d.owner],
      ["custodian", d.custodian],
      ["metadata", d.metadataCommitment],
      ["pending owner", d.pendingOwner ?? "—"],
      ["log", `${d.log.sequence} entries, head ${d.log.head}`],
      [
        "state",
        d.state.version === 0n
          ? "none committed"
          : `version ${d.state.version} (epoch ${d.state.epoch}), block ${d.state.blockNumber}`,
      ],
      [
        "emergency",
        d.emergency.allowed
          ? `allowed up to ${d.emergency.maxDuration} s for ${d.emergency.categories.join(", ") || "no category"}`
          : "not allowed",
      ],
    ]),
  ]);
}

export interface SourceAuthorizeArgs extends TwinArgs {
  readonly source: string;
  readonly kind: string;
  readonly categories: string;
}

/** source:authorize: a controller lets a device, EMR, app or lab write categories of the twin. */
export async function sourceAuthorize(args: SourceAuthorizeArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  const source = address(args.source, "--source");
  const kindName = Object.keys(SourceKind).find((k) => k.toLowerCase() === (args.kind ?? "").toLowerCase());
  const kinds = ["Emr", "Device", "App", "Lab"];
  if (!kindName || !kinds.includes(kindName)) fail(`--kind must be one of ${kinds.join(", ")}, got "${args.kind}"`);
  const kind = SourceKind[kindName as keyof typeof SourceKind];
  const categories = maskOf(args.categories, DataCategory, "--categories");
  const ctx = await contextOf(hre, args);
  const tx = await send(ctx, "TwinRegistry.authorizeSource", () =>
    ctx.registry.authorizeSource(twinId, source, kind, categories),
  );
  const data = { twinId, source, kind: kindName, categories: namesOf(DataCategory, categories), ...tx };
  return report(args, data, (d) => [
    `Source ${d.source} (${d.kind}) may write ${d.categories.join(", ")} on twin ${d.twinId}`,
    `transaction ${d.hash} (block ${d.blockNumber}, ${d.gasUsed} gas)`,
  ]);
}
