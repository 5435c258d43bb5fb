import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { IndexerProvider } from "../src/indexer";
import { address, contextOf, durationOf, fail, type CommonArgs } from "./lib/context";
import { progress, report, table } from "./lib/output";
import { waitForShutdown } from "./lib/shutdown";

export interface GatewayStartArgs extends CommonArgs {
  readonly data: string;
  readonly db?: string;
  readonly host: string;
  readonly port: string;
  readonly origin?: string;
  readonly anchorEvery?: string;
  readonly auditors?: string;
  readonly studies?: string;
  readonly devices?: string;
}

/** The environment variable holding the custodian's reader key (never a flag: flags show in `ps`). */
export const CUSTODIAN_KEY_ENV = "TWINLEDGER_CUSTODIAN_KEY";

/**
 * gateway:start: serves the twins of a pipeline folder (blobs/, keys/, pipeline/, as the demo and the pipeline
 * write them) through the query gateway, the signer (`--from`) being the operator, until Ctrl-C.
 */
export async function gatewayStart(args: GatewayStartArgs, hre: HardhatRuntimeEnvironment) {
  const key = process.env[CUSTODIAN_KEY_ENV];
  if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    fail(`set ${CUSTODIAN_KEY_ENV} to the custodian's reader key (0x and 64 hex digits) before starting the gateway`);
  }
  if (!args.data) fail("--data is required: the pipeline's folder (blobs/, keys/, pipeline/)");
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(`--port must be 0..65535, got "${args.port}"`);
  const auditors = (args.auditors ?? "")
    .split(",")
    .filter((a) => a.trim() !== "")
    .map((a) => address(a.trim(), "--auditors"));
  const anchorIntervalMs = args.anchorEvery ? durationOf(args.anchorEvery, "--anchor-every") * 1000 : 0;
  const ctx = await contextOf(hre, args);
  const { TwinPipeline } = await import("../src/pipeline");
  const { FolderKeyStore, LocalFolderBlobStore, RecordVault } = await import("../src/store");
  const { createGateway } = await import("../src/service");
  const { DeviceRegistry__factory, StudyRegistry__factory } = await import("../typechain-types");
  const studies = args.studies ? StudyRegistry__factory.connect(address(args.studies, "--studies"), ctx.signer) : null;
  const devices = args.devices ? DeviceRegistry__factory.connect(address(args.devices, "--devices"), ctx.signer) : null;
  const folder = path.resolve(args.data);
  const pipeline = await TwinPipeline.open({
    updateLog: ctx.updateLog,
    registry: ctx.registry,
    vault: new RecordVault(
      new LocalFolderBlobStore(path.join(folder, "blobs")),
      new FolderKeyStore(path.join(folder, "keys")),
    ),
    custodianKey: key,
    custodianSigner: ctx.signer,
    patientPublicKey: () => fail("the gateway reads twins; it does not ingest"),
    indexFolder: path.join(folder, "pipeline"),
    ...(devices !== null && { deviceRegistry: devices }),
  });
  if (devices !== null) await pipeline.followDeviceFlags(15_000);
  const gateway = createGateway({
    data: pipeline,
    consent: ctx.consent,
    registry: ctx.registry,
    updateLog: ctx.updateLog,
    chainId: ctx.chainId,
    dbPath: args.db ? path.resolve(args.db) : path.join(folder, "gateway.sqlite"),
    host: args.host,
    port,
    origin: args.origin,
    auditors,
    anchorIntervalMs,
    operator: ctx.signerAddress,
    ...(studies !== null && { studies }),
    ...(devices !== null && { devices }),
    onAnchorError: (error) => process.stderr.write(`access-log anchoring failed: ${(error as Error).message}\n`),
  });
  const url = await gateway.listen();
  report(
    args,
    { url, operator: ctx.signerAddress, network: hre.network.name, consent: ctx.addresses.ConsentPolicy },
    (d) => [
      `Gateway listening on ${d.url} (Ctrl-C stops it)`,
      ...table([
        ["operator", d.operator],
        ["network", d.network],
        ["consent", d.consent],
      ]),
    ],
  );
  const reason = await waitForShutdown();
  await gateway.close();
  await pipeline.close();
  return { url, stoppedBy: reason };
}

export interface IndexSyncArgs extends CommonArgs {
  readonly db: string;
  readonly confirmations?: string;
  readonly startBlock?: string;
  readonly follow: boolean;
}

/**
 * index:sync: brings the SQLite index (src/indexer) up to the chain head minus the confirmations, with a progress bar
 * over the block ranges; `--follow` keeps polling until Ctrl-C.
 */
export async function indexSync(args: IndexSyncArgs, hre: HardhatRuntimeEnvironment) {
  if (!args.db) fail("--db is required: the SQLite file of the index");
  const local = hre.network.name === "hardhat" || hre.network.name === "localhost";
  const confirmations = wholeNumber(args.confirmations, "--confirmations") ?? (local ? 0 : 2);
  const ctx = await contextOf(hre, args);
  const startBlock = wholeNumber(args.startBlock, "--start-block") ?? ctx.deploymentBlock;
  const { Indexer, DEFAULT_BATCH_BLOCKS } = await import("../src/indexer");
  const provider = hre.ethers.provider;
  let bar = progress(args, 0, "");
  let ranges = 0;
  const counting: IndexerProvider = {
    getBlockNumber: () => provider.getBlockNumber(),
    getBlock: (block) => provider.getBlock(block),
    getNetwork: () => provider.getNetwork(),
    getLogs: async (filter) => {
      const logs = await provider.getLogs(filter);
      ranges += 1;
      bar.increment();
      return logs;
    },
  };
  const indexer = await Indexer.open({
    provider: counting,
    addresses: {
      registry: ctx.addresses.TwinRegistry,
      consent: ctx.addresses.ConsentPolicy,
      updateLog: ctx.addresses.TwinUpdateLog,
    },
    dbPath: path.resolve(args.db),
    confirmations,
    startBlock,
  });
  try {
    const head = await provider.getBlockNumber();
    const from = (await indexer.checkpoint()).blockNumber + 1;
    bar = progress(args, Math.ceil(Math.max(0, head - confirmations - from + 1) / DEFAULT_BATCH_BLOCKS), "indexing");
    const result = await indexer.syncOnce().finally(() => bar.stop());
    const data = { db: path.resolve(args.db), ...result, rangesRead: ranges };
    report(args, data, (d) => [
      d.fromBlock === null
        ? `Index up to date at block ${d.checkpoint.blockNumber} (head ${d.head}, ${confirmations} confirmations)`
        : `Indexed blocks ${d.fromBlock}..${d.toBlock}: ${d.events} events in ${d.ranges} ranges (head ${d.head})`,
      `database ${d.db}`,
    ]);
    if (args.follow) {
      indexer.start();
      process.stderr.write("following the chain (Ctrl-C stops)\n");
      await waitForShutdown();
    }
    return data;
  } catch (error) {
    fail(`index:sync failed: ${(error as Error).message}`, error as Error);
  } finally {
    await indexer.close();
  }
}

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (!/^\d+$/.test(value)) fail(`${flag} must be a whole number, got "${value}"`);
  return Number(value);
}
