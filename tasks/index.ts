/**
 * TwinLedger's Hardhat tasks, the operators' command line: `npx hardhat <task> --network <net> [--json]`.
 * Registered from hardhat.config.ts. The definitions only name the parameters; each action imports its module when
 * run, so that loading the config never needs the compiled contracts (typechain-types) or the off-chain modules.
 * Contracts come from the network's deployment records (src/chain/deployments.ts), or from --registry, --consent
 * and --log. Reverts are printed decoded (src/chain/decode-error.ts), with what to do.
 */
import { task } from "hardhat/config";
import type { ConfigurableTaskDefinition } from "hardhat/types";

function common(t: ConfigurableTaskDefinition): ConfigurableTaskDefinition {
  return t
    .addOptionalParam("from", "The account that signs: an address or an index into the network's accounts (default 0)")
    .addOptionalParam("registry", "TwinRegistry address (with --consent and --log; default: deployment records)")
    .addOptionalParam("consent", "ConsentPolicy address")
    .addOptionalParam("log", "TwinUpdateLog address")
    .addOptionalParam("deployments", "Folder of the deployment records (default: the package's deployments/)")
    .addFlag("json", "Print the result as JSON (for scripts)");
}

const TWIN = "The twin's id (0x and 64 hex digits)";
const CATEGORIES = "Data categories: names (VITALS,LABS), all, or a mask";

common(task("twin:create", "Create a twin owned by the signer, at an accredited custodian"))
  .addParam("salt", "Any text (hashed) or 0x and 64 hex digits; the twin id is twinIdOf(signer, salt)")
  .addParam("custodian", "The accredited custodian (CUSTODIAN_ROLE) that will keep the twin")
  .addOptionalParam("metadata", "Metadata commitment (default: a salted commitment to empty metadata)")
  .setAction(async (args, hre) => (await import("./twin")).twinCreate(args, hre));

common(task("twin:show", "Show a twin: status, owner, custodian, log head, committed state, emergency policy"))
  .addParam("twin", TWIN)
  .setAction(async (args, hre) => (await import("./twin")).twinShow(args, hre));

common(task("source:authorize", "Authorize a data source (EMR, device, app, lab) to write categories of a twin"))
  .addParam("twin", TWIN)
  .addParam("source", "The source's address")
  .addParam("kind", "Emr, Device, App or Lab")
  .addParam("categories", CATEGORIES)
  .setAction(async (args, hre) => (await import("./twin")).sourceAuthorize(args, hre));

common(task("consent:grant", "Grant (or update) a reader's consent on a twin"))
  .addParam("twin", TWIN)
  .addParam("grantee", "The reader's address")
  .addParam("categories", CATEGORIES)
  .addParam("actions", "READ, AGGREGATE, WRITE, SHARE (comma-separated), all, or a mask")
  .addParam("purposes", "TREATMENT, RESEARCH, ... (comma-separated), all, or a mask")
  .addOptionalParam("start", "Start: unix seconds or ISO date (default: the latest block's time)")
  .addOptionalParam("duration", "How long: 3600, 15m, 4h, 30d, 2w", "30d")
  .setAction(async (args, hre) => (await import("./consent")).consentGrant(args, hre));

common(task("consent:revoke", "Revoke a reader's consent on a twin"))
  .addParam("twin", TWIN)
  .addParam("grantee", "The reader's address")
  .setAction(async (args, hre) => (await import("./consent")).consentRevoke(args, hre));

common(task("consent:check", "Ask ConsentPolicy.checkAccess whether a reader may act on a category for a purpose"))
  .addParam("twin", TWIN)
  .addParam("grantee", "The reader's address")
  .addParam("category", "One data category, e.g. VITALS")
  .addOptionalParam("action", "One action", "READ")
  .addParam("purpose", "One purpose, e.g. TREATMENT")
  .setAction(async (args, hre) => (await import("./consent")).consentCheck(args, hre));

common(task("consent:requests", "List the consent requests made on a twin, with their status"))
  .addParam("twin", TWIN)
  .addOptionalParam("fromBlock", "First block to scan (default: the deployment block)")
  .addFlag("pending", "Only the open requests (pending, not expired)")
  .setAction(async (args, hre) => (await import("./consent")).consentRequests(args, hre));

common(task("emergency:open", "Open break-glass access to a twin (an accredited emergency responder)"))
  .addParam("twin", TWIN)
  .addOptionalParam("duration", "How long: 3600, 15m, 4h", "1h")
  .addOptionalParam("reason", "The reason (text): committed with a fresh salt; only the commitment goes on chain")
  .addOptionalParam("reasonHash", "A reason commitment made elsewhere (0x and 64 hex digits)")
  .setAction(async (args, hre) => (await import("./emergency")).emergencyOpen(args, hre));

common(task("emergency:close", "Close an emergency access (the responder, or a controller of the twin)"))
  .addParam("twin", TWIN)
  .addOptionalParam("responder", "The responder (default: the signer)")
  .setAction(async (args, hre) => (await import("./emergency")).emergencyClose(args, hre));

common(task("log:verify", "Verify records or readings (their anchors, as the gateway answers them) against the chain"))
  .addParam("twin", TWIN)
  .addOptionalParam("file", "A JSON file: an anchor, an array of anchors, or a gateway answer")
  .addOptionalParam("anchor", "The same, inline")
  .setAction(async (args, hre) => (await import("./log")).logVerify(args, hre));

common(
  task("gateway:start", "Serve a pipeline folder's twins through the query gateway (key in TWINLEDGER_CUSTODIAN_KEY)"),
)
  .addParam("data", "The pipeline's folder (blobs/, keys/, pipeline/)")
  .addOptionalParam("db", "SQLite file of the access log (default: <data>/gateway.sqlite)")
  .addOptionalParam("host", "Listening address", "127.0.0.1")
  .addOptionalParam("port", "Listening port (0: any free port)", "8080")
  .addOptionalParam("origin", "The origin readers address (behind a proxy or a DNS name)")
  .addOptionalParam("anchorEvery", "Anchor the access log this often (e.g. 1h); off by default")
  .addOptionalParam("auditors", "Addresses that may read any twin's access log (comma-separated)")
  .addOptionalParam("studies", "StudyRegistry address: serve cohort queries (the signer must hold its OPERATOR_ROLE)")
  .addOptionalParam("devices", "DeviceRegistry address: readings of devices flagged there are set aside")
  .setAction(async (args, hre) => (await import("./services")).gatewayStart(args, hre));

common(task("index:sync", "Bring the SQLite event index up to the chain head"))
  .addParam("db", "The index's SQLite file")
  .addOptionalParam("confirmations", "Blocks below the head to stay (default 0 on hardhat/localhost, else 2)")
  .addOptionalParam("startBlock", "First block, for a new index (default: the deployment block)")
  .addFlag("follow", "Keep following the chain until Ctrl-C")
  .setAction(async (args, hre) => (await import("./services")).indexSync(args, hre));
