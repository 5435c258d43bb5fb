/**
 * Typed clients over the contracts: deployment (one code path for scripts, demo, tests), deployment
 * records, EIP-712 typed data, and the off-chain mirror of what TwinUpdateLog computes.
 */
export {
  CONTRACT_NAMES,
  DEFAULT_ADMIN_DELAY,
  DEPLOYMENT_SALT,
  deployTwinLedger,
  predictTwinLedgerAddresses,
  twinLedgerInitCodes,
  type AddressInputs,
  type ContractName,
  type DeployedContract,
  type DeployOptions,
  type DeployStrategy,
  type ExistingContract,
  type InitCode,
  type TwinLedgerDeployment,
} from "./deploy";
export {
  attachDeployment,
  CONTRACT_ABIS,
  DEFAULT_DEPLOYMENTS_DIR,
  deploymentDirs,
  readDeploymentRecord,
  recordedNetworks,
  writeDeploymentRecords,
  type AttachedTwinLedger,
  type DeploymentLookup,
  type DeploymentRecord,
} from "./deployments";
export {
  create2Address,
  DETERMINISTIC_DEPLOYER,
  ensureDeterministicDeployer,
  type FactoryInstall,
} from "./deterministic";
export {
  checkDeployedCode,
  DEVELOPMENT_ADMIN,
  readReleaseManifest,
  verifyDeployedCode,
  type CodeCheck,
  type ReleasedContract,
  type ReleaseManifest,
} from "./release";
export * from "./typed-data";
export * from "./anchors";
export { twinIdOf } from "./twin-id";
export {
  commit,
  commitmentDomainTag,
  commitmentOf,
  COMMITMENT_DOMAINS,
  COMMITMENT_ENCODING,
  CommitmentError,
  DEFAULT_COMMITMENT_DOMAIN,
  emergencyReasonCommitment,
  requestReasonCommitment,
  COMMITMENT_SALT_LENGTH,
  twinMetadataCommitment,
  verifyCommitment,
  type CommitOptions,
  type Commitment,
  type CommitmentErrorCode,
  type CommitmentOpening,
} from "./commitments";
export {
  COMMON_CHAIN_IDS,
  ContractRevertError,
  decodeError,
  diagnoseGrantSignature,
  knownErrors,
  revertDataOf,
  withDecodedRevert,
  type DecodeErrorOptions,
  type DecodedArg,
  type DecodedError,
  type DecodedErrorKind,
  type GrantSignatureDiagnosis,
  type SignedGrantValues,
} from "./decode-error";
export { ERROR_FIXES, PANIC_REASONS } from "./error-catalog";
