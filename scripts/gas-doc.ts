/**
 * Generates docs/GAS.md: how to read the gas report (reports/gas-report.json, written by `npm run gas`) against the
 * EVM's floors, and the report's figures with, beside each function, what it does and its typical path.
 * A test (test/gas/gas-doc.test.ts) fails when a measured function has no description here or the committed
 * docs/GAS.md is not what this prints; scripts/check-gas-report.ts checks it after regenerating the report.
 *
 *   npx ts-node scripts/gas-doc.ts          # rewrites docs/GAS.md from reports/gas-report.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");
export const GAS_DOC = path.join(ROOT, "docs/GAS.md");
export const GAS_REPORT = path.join(ROOT, "reports/gas-report.json");

/** What a function does, and the path a typical call takes (the storage and logs it pays for). */
export const GAS_DESCRIPTIONS: Readonly<Record<string, readonly [does: string, typicalPath: string]>> = {
  // TwinRegistry
  "TwinRegistry.createTwin(bytes32,bytes32,address)": [
    "The caller creates their twin at an accredited custodian",
    "new twin: twin slot and metadata slot written from zero (2 × 22,100), role check (cold SLOAD), TwinCreated (4 topics)",
  ],
  "TwinRegistry.createTwinFor(address,bytes32,bytes32,uint256,uint256,bytes)": [
    "A custodian creates a patient's twin with the patient's EIP-712 signature",
    "as createTwin, plus signature recovery (ecrecover 3,000), the patient's nonce bumped, 65-byte signature in calldata",
  ],
  "TwinRegistry.updateMetadata(bytes32,bytes32)": [
    "Replaces the metadata commitment (owner or delegate)",
    "the metadata slot rewritten non-zero → non-zero (2,900 + 2,100 cold), TwinMetadataUpdated",
  ],
  "TwinRegistry.changeCustodian(bytes32,address)": [
    "Moves the twin to another accredited custodian (owner or delegate)",
    "role check of the new custodian, the packed twin slot rewritten, CustodianChanged (4 topics)",
  ],
  "TwinRegistry.authorizeSource(bytes32,address,uint8,uint32)": [
    "Lets a source (EMR, device, app, lab) write categories of the twin",
    "new source: one packed slot written from zero (22,100), SourceAuthorized (3 topics)",
  ],
  "TwinRegistry.removeSource(bytes32,address)": [
    "Removes a data source",
    "the source's slot cleared (refund up to 4,800, capped at a fifth of the gas used), SourceRemoved",
  ],
  "TwinRegistry.appointDelegate(bytes32,address)": [
    "The owner appoints a guardian or delegate",
    "new delegate: one slot written from zero (22,100), DelegateAppointed",
  ],
  "TwinRegistry.removeDelegate(bytes32,address)": [
    "The owner removes a delegate, or a delegate resigns",
    "the delegate's slot cleared (refund), DelegateRemoved (4 topics)",
  ],
  "TwinRegistry.transferOwnership(bytes32,address)": [
    "Starts a two-step ownership transfer (key rotation, recovery by a guardian)",
    "pending-transfer slot written from zero (22,100), OwnershipTransferStarted (4 topics)",
  ],
  "TwinRegistry.acceptOwnership(bytes32)": [
    "The pending owner takes the twin; delegates end, the pending transfer is cleared",
    "the twin's slot rewritten (new owner), the pending transfer cleared (refund), OwnershipTransferred and DelegatesCleared",
  ],
  "TwinRegistry.suspendTwin(bytes32)": [
    "Suspends an active twin: grants, emergency access and sources stop working",
    "the packed twin slot rewritten (status), TwinSuspended",
  ],
  "TwinRegistry.resumeTwin(bytes32)": [
    "Resumes a suspended twin",
    "the packed twin slot rewritten (status), TwinResumed",
  ],
  "TwinRegistry.eraseTwin(bytes32)": [
    "Marks the twin erased for good (off-chain keys are destroyed; anchors remain as proof)",
    "the packed twin slot rewritten (status), TwinErased",
  ],
  "TwinRegistry.grantRole(bytes32,address)": [
    "Governance accredits a custodian or emergency responder (OpenZeppelin AccessControl)",
    "new member: role slot written from zero (22,100); a first custodian also gets a compact id (two more new slots)",
  ],
  "TwinRegistry.revokeRole(bytes32,address)": [
    "Governance withdraws an accreditation",
    "role slot cleared (refund), RoleRevoked (4 topics)",
  ],
  "TwinRegistry.renounceRole(bytes32,address)": [
    "An account gives up its own role",
    "role slot cleared (refund), RoleRevoked (4 topics)",
  ],
  "TwinRegistry.beginDefaultAdminTransfer(address)": [
    "Starts the delayed handover of the default admin (AccessControlDefaultAdminRules)",
    "pending admin and schedule written (one packed slot from zero), DefaultAdminTransferScheduled",
  ],
  "TwinRegistry.acceptDefaultAdminTransfer()": [
    "The new default admin accepts after the delay",
    "old admin's role cleared, new admin's written, pending slot cleared, two role events",
  ],
  // ConsentPolicy
  "ConsentPolicy.grant(bytes32,address,uint32,uint8,uint16,uint40,uint40)": [
    "The owner or a delegate grants a reader categories, actions and purposes for a window",
    "new grant: one packed slot (terms + the pair's epoch) written from zero (22,100), the registry read by one staticcall (2,600 cold account), ConsentGranted (3 topics, 5 words)",
  ],
  "ConsentPolicy.grantBySig((bytes32,address,uint32,uint8,uint16,uint40,uint40),address,uint32,uint256,uint256,bytes)":
    [
      "The same grant, signed off chain by the owner or a delegate and relayed by anyone",
      "as grant, plus EIP-712 hashing, ecrecover (3,000), the nonce bit set (a warm bitmap word for a signer numbering from 0), ~400 calldata bytes",
    ],
  "ConsentPolicy.updateGrant(bytes32,address,uint32,uint8,uint16,uint40,uint40)": [
    "Changes the terms of a live grant",
    "the grant's slot rewritten non-zero → non-zero (2,900 + 2,100 cold), ConsentUpdated",
  ],
  "ConsentPolicy.revoke(bytes32,address)": [
    "Revokes a reader's grant from this block on",
    "the grant's slot rewritten (revokedAt, epoch +1: 2,900 + 2,100 cold), one registry staticcall, ConsentRevoked (4 topics)",
  ],
  "ConsentPolicy.cancelNonce(uint256)": [
    "A signer voids one of its grant-signature nonces",
    "one bit set in the signer's bitmap word (22,100 for a fresh word, 2,900 for one in use), NonceCancelled",
  ],
  "ConsentPolicy.requestConsent(bytes32,uint32,uint16,uint32,bytes32)": [
    "A would-be reader asks the patient for consent",
    "new request: its slots and the requester's latest-request slot written from zero (22,100 each), the id counter bumped, ConsentRequested (4 topics)",
  ],
  "ConsentPolicy.grantRequest(uint256,uint8,uint40)": [
    "The patient answers a pending request with a grant of what it asked",
    "request status rewritten + a new grant slot from zero (22,100), two events",
  ],
  "ConsentPolicy.denyRequest(uint256)": [
    "The patient denies a request",
    "request status rewritten, ConsentRequestClosed",
  ],
  "ConsentPolicy.withdrawRequest(uint256)": [
    "The requester withdraws its request",
    "request status rewritten, ConsentRequestClosed",
  ],
  "ConsentPolicy.setEmergencyPolicy(bytes32,bool,uint32,uint32)": [
    "The patient sets whether, how long and on what emergency access may be opened",
    "one packed slot written (22,100 the first time), EmergencyPolicySet",
  ],
  "ConsentPolicy.openEmergencyAccess(bytes32,uint32,bytes32)": [
    "An accredited responder opens break-glass access, with a reason commitment",
    "role check in the registry, one packed access slot written from zero (22,100), EmergencyAccessOpened",
  ],
  "ConsentPolicy.closeEmergencyAccess(bytes32,address)": [
    "The responder or a controller closes an emergency access",
    "the access slot rewritten (cooldown when a controller closes it), EmergencyAccessClosed (4 topics)",
  ],
  "ConsentPolicy.setBlocked(bytes32,address,bool)": [
    "A controller blocks or unblocks an account on the twin",
    "one flag slot written (22,100 to block, a refund to unblock), AccountBlocked",
  ],
  // TwinUpdateLog
  "TwinUpdateLog.recordUpdate(bytes32,uint32,bytes32,bytes)": [
    "A source appends one record (v1 path; the pipeline batches records with anchorRecords)",
    "the twin's log head rewritten (one packed slot: sequence + 24-byte head), the registry read, UpdateRecorded with the CID (~36 bytes) in data",
  ],
  "StudyRegistry.registerStudy((uint16,uint32,uint8,uint32,uint48,uint40,uint40,bytes32))": [
    "A sponsor registers a cohort study (purpose, categories, aggregates, k, ε budget, window, protocol commitment)",
    "the study's packed terms written from zero (several 22,100 slots), the id counter bumped, StudyRegistered with the terms",
  ],
  "StudyRegistry.reviewStudy(uint256,bool)": [
    "The ethics board approves or rejects a proposed study",
    "the status byte rewritten in a warm slot, StudyReviewed",
  ],
  "StudyRegistry.closeStudy(uint256)": [
    "The sponsor or the ethics board closes an approved study",
    "the status byte rewritten, StudyClosed",
  ],
  "StudyRegistry.enrol(uint256,bytes32)": [
    "A twin's owner or delegate enrols the twin (the registry asked for its controller and status)",
    "one external view call to TwinRegistry, the enrolment slot written from zero (22,100), the count bumped, TwinEnrolled",
  ],
  "StudyRegistry.withdraw(uint256,bytes32)": [
    "A twin's owner or delegate withdraws it; answers from this block leave it out",
    "one external view call, the enrolment slot rewritten non-zero → non-zero, the count lowered, TwinWithdrawn",
  ],
  "StudyRegistry.spendBudget(uint256,uint8,uint48,uint32,bytes32,uint64)": [
    "The gateway operator records an answer's ε spent and its contributors' Merkle root",
    "the spent budget rewritten in the study's slot, the query counter bumped, BudgetSpent with the root",
  ],
  "StudyRegistry.grantRole(bytes32,address)": [
    "Governance grants a study role (ethics board, operator)",
    "OpenZeppelin AccessControl: the role's member slot written from zero (22,100), RoleGranted",
  ],
  "StudyRegistry.revokeRole(bytes32,address)": [
    "Governance revokes a study role",
    "OpenZeppelin AccessControl: the role's member slot cleared (a refund), RoleRevoked",
  ],
  "StudyRegistry.renounceRole(bytes32,address)": [
    "A holder gives up its own study role",
    "OpenZeppelin AccessControl: the role's member slot cleared (a refund), RoleRevoked",
  ],
  "DeviceRegistry.revokeRole(bytes32,address)": [
    "Governance revokes the manufacturer role",
    "OpenZeppelin AccessControl: the role's member slot cleared (a refund), RoleRevoked",
  ],
  "DeviceRegistry.renounceRole(bytes32,address)": [
    "A manufacturer gives up its role",
    "OpenZeppelin AccessControl: the role's member slot cleared (a refund), RoleRevoked",
  ],
  "DeviceRegistry.registerDevice(address,bytes32,bytes32,bytes32)": [
    "A manufacturer registers a device with commitments of its model, firmware and calibration",
    "the device's manufacturer and three commitment slots written from zero (4 × 22,100), DeviceRegistered",
  ],
  "DeviceRegistry.updateDevice(address,bytes32,bytes32)": [
    "The manufacturer replaces the firmware and calibration commitments",
    "two commitment slots rewritten non-zero → non-zero, DeviceUpdated",
  ],
  "DeviceRegistry.flagDevice(address,uint8)": [
    "The manufacturer flags a device (recall, calibration expired, …)",
    "the flag slot (reason and time) written, DeviceFlagged",
  ],
  "DeviceRegistry.flagDeviceAsCustodian(bytes32,address,uint8)": [
    "A twin's custodian flags a device that feeds the twin",
    "two external view calls to TwinRegistry (custodian, source), the flag slot written, DeviceFlagged",
  ],
  "DeviceRegistry.clearFlag(address)": [
    "The manufacturer clears a device's flag",
    "the flag slot cleared (a refund), FlagCleared",
  ],
  "DeviceRegistry.grantRole(bytes32,address)": [
    "Governance grants the manufacturer role",
    "OpenZeppelin AccessControl: the role's member slot written from zero (22,100), RoleGranted",
  ],
  "TwinUpdateLog.anchorRecords(bytes32,bytes32,uint32)": [
    "A source anchors the Merkle root of a batch of records (one EMR ingest), any size",
    "log head rewritten + the batch's slot from zero (22,100), RecordsAnchored; a twin's first anchor also writes the head from zero",
  ],
  "TwinUpdateLog.anchorBatch(bytes32,bytes32)": [
    "A device anchors the Merkle root of a batch of readings, any size",
    "the batch's slot written from zero (22,100), BatchAnchored (4 topics, no data)",
  ],
  "TwinUpdateLog.commitTwinState(bytes32,bytes32,bytes32,uint64)": [
    "The custodian commits a new twin version (state root, sources root)",
    "the twin's state slots rewritten non-zero → non-zero (a first commit writes them from zero: the max), TwinStateCommitted",
  ],
  "TwinUpdateLog.anchorAccessLog(bytes32,uint64,uint64)": [
    "A gateway operator anchors the root of its access-log entries",
    "one packed anchor slot written from zero (22,100), AccessLogAnchored (3 topics)",
  ],
};

interface Method {
  contract: string;
  fnSig: string;
  numberOfCalls: number;
  min?: number;
  max?: number;
  executionGasAverage?: number;
}
interface Report {
  options: { gasPrice: number; tokenPrice: string; blockGasLimit: number; solcInfo: { version: string; runs: number } };
  data: {
    methods: Record<string, Method>;
    deployments: { name: string; min?: number; max?: number; executionGasAverage?: number }[];
  };
}

const n = (value: number | undefined) => (value === undefined ? "—" : value.toLocaleString("en-US"));

/** The measured functions of the report, `Contract.fnSig`, in the report's order. */
export function measuredFunctions(report: Report = readReport()): string[] {
  return Object.values(report.data.methods)
    .filter((m) => m.numberOfCalls > 0)
    .map((m) => `${m.contract}.${m.fnSig}`);
}

function readReport(): Report {
  return JSON.parse(readFileSync(GAS_REPORT, "utf8")) as Report;
}

function guide(report: Report): string {
  const { solcInfo, gasPrice, tokenPrice } = report.options;
  return `# Gas: how to read the report

<!-- Generated by scripts/gas-doc.ts from reports/gas-report.json and its descriptions; do not edit by hand. -->

\`npm run gas\` runs the contract and gas tests under hardhat-gas-reporter and writes reports/gas-report.md and
reports/gas-report.json; \`npm run gas:check\` regenerates them and fails when a figure moved by more than 1%, and
test/gas/budgets.test.ts holds the typical path of the hot functions to exact budgets. The table below is the
committed report, each function with what it does and its typical path.

## What the figures are

- **Total transaction gas**, what the sender pays: the 21,000 base and the calldata are included (the
  reporter's \`includeIntrinsicGas\`). A view (\`checkAccess\`) costs nothing off chain; its budget is on
  execution gas.
- **Min / Max / Avg over every call the tests make**: the averages mix first-time calls (storage written from
  zero, cold slots) with repeat calls. Max is usually the first write, Min a call that changes little. The
  typical path column says which case the everyday call is; budgets.test.ts measures that case exactly.
- Refunds (clearing a slot) are already subtracted, capped at a fifth of the transaction's gas (EIP-3529).

## The floors every figure is measured against

| what | gas | where it shows |
| --- | ---: | --- |
| transaction base (intrinsic) | 21,000 | every send; nothing costs less |
| calldata, per byte (EIP-2028) | 16 non-zero, 4 zero | addresses and hashes are mostly non-zero: a 32-byte word ≈ 512 |
| storage write, zero → non-zero (cold) | 22,100 (20,000 + 2,100 cold access) | a new twin, grant, batch, request |
| storage write, non-zero → non-zero (cold) | 5,000 (2,900 + 2,100) | updating a grant, a head, a status |
| storage read, cold / warm (EIP-2929) | 2,100 / 100 | the first read of a slot in a transaction, then each read again |
| account access, cold (call to another contract) | 2,600 | ConsentPolicy and TwinUpdateLog reading the registry |
| event (LOG) | 375 + 375 per topic + 8 per data byte | every state change emits one; indexed fields are topics |
| ecrecover (precompile) | 3,000 | createTwinFor, grantBySig |
| Keccak-256 | 30 + 6 per word | EIP-712 digests, twin ids, the hash-chain head |

A quick reading: \`anchorBatch\` ≈ 21,000 base + ~1,100 calldata + 22,100 for the batch's new slot + a 4-topic
event (1,875) + the registry read (2,600 cold account + slots) and the checks: about 54,800, which is what the
report shows. A function near its floor has nothing left to save but storage layout; one far above it pays for
checks (registry reads, signature recovery) that the threat model needs (docs/THREAT-MODEL.md).

## Settings

Solidity ${solcInfo.version}, optimizer ${solcInfo.runs} runs, EVM cancun. USD at ${gasPrice} gwei and ${tokenPrice}
USD/ETH, offline (no price is fetched).
`;
}

/** The text of docs/GAS.md. */
export function gasDoc(report: Report = readReport()): string {
  const lines = [guide(report), "## Functions", ""];
  const methods = Object.values(report.data.methods).filter((m) => m.numberOfCalls > 0);
  for (const contract of [...new Set(methods.map((m) => m.contract))].sort()) {
    lines.push(`### ${contract}`, "", "| function | what it does | typical path | min | avg | max | calls |");
    lines.push("| --- | --- | --- | ---: | ---: | ---: | ---: |");
    const rows = methods.filter((m) => m.contract === contract).sort((a, b) => a.fnSig.localeCompare(b.fnSig));
    for (const m of rows) {
      const [does, typical] = GAS_DESCRIPTIONS[`${m.contract}.${m.fnSig}`] ?? ["**not described**", "—"];
      const name = m.fnSig.slice(0, m.fnSig.indexOf("("));
      lines.push(
        `| \`${name}\` | ${does} | ${typical} | ${n(m.min)} | ${n(m.executionGasAverage)} | ${n(m.max)} | ${m.numberOfCalls} |`,
      );
    }
    lines.push("");
  }
  const limit = report.options.blockGasLimit;
  lines.push("## Deployments", "", `| contract | gas | share of a ${n(limit)}-gas block |`, "| --- | ---: | ---: |");
  for (const d of report.data.deployments.filter((x) => x.executionGasAverage !== undefined)) {
    const share = ((d.executionGasAverage! / limit) * 100).toFixed(1);
    lines.push(`| ${d.name} | ${n(d.executionGasAverage)} | ${share} % |`);
  }
  lines.push("");
  return lines.join("\n");
}

if (require.main === module) {
  writeFileSync(GAS_DOC, gasDoc());
  console.log(`wrote ${path.relative(process.cwd(), GAS_DOC)}`);
}
