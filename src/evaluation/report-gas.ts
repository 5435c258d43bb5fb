import { change, ethCells, ethHeaders, fn, int, ms, priceHeaders, table, usdCells } from "./report-format";
import { REFERENCES } from "./references";
import type { EvaluationResult, FunctionGas } from "./types";
import { V1_DEPLOYMENTS, V1_FUNCTION_AVG, V1_SOURCE, V2_CHANGES } from "./v1";

/** What an EVM floor means for the figures above, with a measured example where one shows it. */
function floorNote(refId: string, functions: readonly FunctionGas[]): string {
  const records = fn(functions, "TwinUpdateLog", "anchorRecords");
  const grant = fn(functions, "ConsentPolicy", "grant");
  switch (refId) {
    case "txBase":
      return "included in every transaction figure above; no transaction costs less";
    case "sstoreNew":
      return records?.firstTime != null && records.typical != null
        ? `anchorRecords first-time ${int(records.firstTime)} vs typical ${int(records.typical)}: the twin's log-head slot written new once (each record batch writes its own new slot)`
        : "";
    case "sstoreReset":
      return grant?.typical != null ? `a typical grant (${int(grant.typical)}) overwrites its packed grant slot` : "";
    case "coldSload":
    case "coldAccount":
      return "every consent check reads the registry (another contract) and the grant slot cold";
    default:
      return "";
  }
}

/** The report's blocks for part 1: execution cost (deployment, gas per function, v1 → v2, views, published figures and the EVM floors, the test suite's gas report). */
export function renderGasPart(result: EvaluationResult): string[] {
  const { prices, gas } = result;
  const out: string[] = [];
  const p = (...blocks: string[]) => void out.push(...blocks);
  p(
    "## 1. Execution cost",
    "### Deployment",
    table(
      [
        "contract",
        "deployment gas",
        "v1 gas",
        "v1 → v2",
        "runtime code (bytes)",
        "v1 bytes",
        ...ethHeaders(prices),
        ...priceHeaders(prices),
      ],
      [
        ...gas.deployments.map((d) => [
          d.contract,
          int(d.gas),
          int(V1_DEPLOYMENTS[d.contract]?.gas),
          V1_DEPLOYMENTS[d.contract] ? change(V1_DEPLOYMENTS[d.contract].gas, d.gas) : "",
          int(d.runtimeBytes),
          int(V1_DEPLOYMENTS[d.contract]?.runtimeBytes),
          ...ethCells(d.gas, prices),
          ...usdCells(d.gas, prices),
        ]),
        [
          "TwinLedger total (the three product contracts)",
          int(gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0)),
          int(Object.values(V1_DEPLOYMENTS).reduce((a, d) => a + d.gas, 0)),
          change(
            Object.values(V1_DEPLOYMENTS).reduce((a, d) => a + d.gas, 0),
            gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0),
          ),
          "",
          "",
          ...ethCells(
            gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0),
            prices,
          ),
          ...usdCells(
            gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0),
            prices,
          ),
        ],
        [
          `the paper's data contract (${REFERENCES.paperDeployGas.source}; “about $${REFERENCES.paperDeployUsd.value} then”)`,
          int(REFERENCES.paperDeployGas.value),
          "",
          "",
          "",
          "",
          ...ethCells(REFERENCES.paperDeployGas.value, prices),
          ...usdCells(REFERENCES.paperDeployGas.value, prices),
        ],
      ],
    ),
  );
  p(
    "### Gas per function",
    "Each state-changing function, called by the evaluation's workload over fresh twins (deterministic): calls, " +
      "min / avg / max gas, and the means of its first-time and typical paths. ETH and USD at the average. ms per tx is " +
      "the in-process send-and-receipt time (part 3).",
    table(
      [
        "function",
        "calls",
        "min",
        "avg",
        "max",
        "first-time",
        "typical",
        ...ethHeaders(prices),
        ...priceHeaders(prices),
        "ms per tx",
      ],
      gas.functions.map((f) => [
        `${f.contract}.${f.method}`,
        int(f.calls),
        int(f.min),
        int(f.avg),
        int(f.max),
        int(f.firstTime),
        int(f.typical),
        ...ethCells(f.avg, prices),
        ...usdCells(f.avg, prices),
        ms(f.msPerTx),
      ]),
    ),
  );
  p(
    "### Changes from v1",
    `Average gas of each function here against v1's (${V1_SOURCE}), with what v2 changed in the function's work ` +
      "(issue 9). The workload is the same except where the ABI changed it (salts, epochs, record batches).",
    table(
      ["function", "v1 avg", "v2 avg", "v1 → v2", "what v2 changed"],
      gas.functions.map((f) => {
        const key = `${f.contract}.${f.method}`;
        return [key, int(V1_FUNCTION_AVG[key]), int(f.avg), change(V1_FUNCTION_AVG[key], f.avg), V2_CHANGES[key] ?? ""];
      }),
    ),
  );
  p(
    "### Views (execution gas)",
    "A view costs nothing when called off chain (eth_call); inside a transaction (another contract asking) it costs " +
      "its execution gas: eth_estimateGas minus the 21,000 base and the calldata.",
    table(
      ["view", "case", "execution gas"],
      gas.views.map((v) => [`${v.contract}.${v.method}`, v.case, int(v.executionGas)]),
    ),
  );
  const grantBySig = fn(gas.functions, "ConsentPolicy", "grantBySig");
  const grant = fn(gas.functions, "ConsentPolicy", "grant");
  const createTwin = fn(gas.functions, "TwinRegistry", "createTwin");
  const authorize = fn(gas.functions, "TwinRegistry", "authorizeSource");
  const registration = (createTwin?.avg ?? NaN) + 2 * (authorize?.firstTime ?? NaN);
  p(
    "### Side by side with published figures and the EVM floors",
    table(
      ["figure", "gas", "source", "TwinLedger here"],
      [
        [
          REFERENCES.paperDeployGas.what,
          int(REFERENCES.paperDeployGas.value),
          REFERENCES.paperDeployGas.source,
          `largest contract ${int(Math.max(...gas.deployments.filter((d) => !d.contract.includes("baseline")).map((d) => d.gas)))}; ` +
            `all three ${int(gas.deployments.filter((d) => !d.contract.includes("baseline")).reduce((a, d) => a + d.gas, 0))}`,
        ],
        [
          REFERENCES.eip712Grant.what,
          int(REFERENCES.eip712Grant.value),
          REFERENCES.eip712Grant.source,
          `grantBySig avg ${int(grantBySig?.avg)} (relayed, signature checked on chain; v1 ${int(V1_FUNCTION_AVG["ConsentPolicy.grantBySig"])}); grant avg ${int(grant?.avg)}, typical ${int(grant?.typical)}`,
        ],
        [
          REFERENCES.ehrRegistration.what,
          int(REFERENCES.ehrRegistration.value),
          REFERENCES.ehrRegistration.source,
          `createTwin ${int(createTwin?.avg)} (v1 ${int(V1_FUNCTION_AVG["TwinRegistry.createTwin"])}); with its EMR and device sources authorized ${int(registration)}`,
        ],
        ...(
          [
            REFERENCES.txBase,
            REFERENCES.sstoreNew,
            REFERENCES.sstoreReset,
            REFERENCES.coldSload,
            REFERENCES.coldAccount,
            REFERENCES.warmAccess,
            REFERENCES.calldataNonZero,
          ] as const
        ).map((r) => [r.what, int(r.value), r.source, floorNote(r.id, gas.functions)]),
      ],
    ),
  );
  if (gas.gasReport) {
    p(
      "### From the test suite's gas report",
      `\`${gas.gasReport.file}\` (hardhat-gas-reporter over \`npm run gas\`; averages over every call the tests make, ` +
        "reverts excluded):",
      table(
        ["contract", "method", "calls", "min", "avg", "max"],
        gas.gasReport.methods.map((m) => [m.contract, m.method, int(m.calls), int(m.min), int(m.avg), int(m.max)]),
      ),
    );
  } else {
    p(
      "### From the test suite's gas report",
      "`reports/gas-report.json` was not present for this run (`npm run gas` writes it).",
    );
  }

  return out;
}
