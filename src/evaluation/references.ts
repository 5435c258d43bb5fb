/**
 * The outside figures the evaluation sets its own next to, with their sources exactly as TwinLedger's issue 5
 * gives them. No figure here is measured by this project; no URL is given where the issue gives none.
 */

export interface Reference {
  readonly id: string;
  readonly what: string;
  readonly value: number;
  readonly unit: "gas" | "ms" | "s" | "USD" | "requests";
  readonly source: string;
}

export const PAPER =
  "Amofa et al. 2024, PLoS ONE, “Blockchain-secure patient Digital Twin in healthcare using smart contracts”";
const ISSUE = "published figure as quoted in TwinLedger issue 5 (the issue does not name the publication)";
const YELLOW_PAPER = "Ethereum Yellow Paper, fee schedule";

export const REFERENCES = {
  paperDeployGas: {
    id: "paperDeployGas",
    what: "deployment of the paper's data contract",
    value: 1_308_303,
    unit: "gas",
    source: PAPER,
  },
  paperDeployUsd: {
    id: "paperDeployUsd",
    what: "the same deployment in USD at the paper's time (“about $2.62 then”)",
    value: 2.62,
    unit: "USD",
    source: PAPER,
  },
  eip712Grant: {
    id: "eip712Grant",
    what: "an EIP-712 time-bounded access grant, on average",
    value: 78_000,
    unit: "gas",
    source: ISSUE,
  },
  ehrRegistration: {
    id: "ehrRegistration",
    what: "an EHR patient registration",
    value: 475_089,
    unit: "gas",
    source: ISSUE,
  },
  txBase: {
    id: "txBase",
    what: "base cost of any transaction (G_transaction)",
    value: 21_000,
    unit: "gas",
    source: YELLOW_PAPER,
  },
  sstoreNew: {
    id: "sstoreNew",
    what: "SSTORE of a new (zero to non-zero) storage slot (G_sset; EIP-2200)",
    value: 20_000,
    unit: "gas",
    source: `${YELLOW_PAPER}; EIP-2200`,
  },
  sstoreReset: {
    id: "sstoreReset",
    what: "SSTORE changing a non-zero slot, after the cold surcharge (5,000 − 2,100)",
    value: 2_900,
    unit: "gas",
    source: "EIP-2200 with EIP-2929",
  },
  coldSload: {
    id: "coldSload",
    what: "first (cold) SLOAD of a slot in a transaction",
    value: 2_100,
    unit: "gas",
    source: "EIP-2929",
  },
  coldAccount: {
    id: "coldAccount",
    what: "first (cold) access to another account (CALL, STATICCALL, BALANCE…)",
    value: 2_600,
    unit: "gas",
    source: "EIP-2929",
  },
  warmAccess: {
    id: "warmAccess",
    what: "warm storage or account access",
    value: 100,
    unit: "gas",
    source: "EIP-2929",
  },
  calldataNonZero: {
    id: "calldataNonZero",
    what: "calldata, per non-zero byte (4 per zero byte)",
    value: 16,
    unit: "gas",
    source: "EIP-2028",
  },
  paperPairing: { id: "paperPairing", what: "bilinear pairing", value: 14.32, unit: "ms", source: PAPER },
  paperExponentiation: {
    id: "paperExponentiation",
    what: "exponentiation",
    value: 1.26,
    unit: "ms",
    source: PAPER,
  },
  paperSigncryption: {
    id: "paperSigncryption",
    what: "signcryption (about)",
    value: 4.34,
    unit: "ms",
    source: PAPER,
  },
  paperRequests: {
    id: "paperRequests",
    what: "requests in the paper's public-testnet experiment",
    value: 200,
    unit: "requests",
    source: PAPER,
  },
  paperRequestsSeconds: {
    id: "paperRequestsSeconds",
    what: "end-to-end time of those 200 requests (8 s a request)",
    value: 1_600,
    unit: "s",
    source: PAPER,
  },
  paperBlockSeconds: {
    id: "paperBlockSeconds",
    what: "block time in the paper's experiment (about)",
    value: 11.7,
    unit: "s",
    source: PAPER,
  },
} as const satisfies Record<string, Reference>;

export type ReferenceId = keyof typeof REFERENCES;
