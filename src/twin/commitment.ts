import { TwinEngineError } from "./errors";
import type { Bytes32, TwinVersion } from "./types";

/** The arguments of `TwinUpdateLog.commitTwinState(twinId, stateRoot, sourcesRoot, version)` after the twin id. */
export interface StateCommitment {
  readonly stateRoot: Bytes32;
  readonly sourcesRoot: Bytes32;
  /** `uint64` on chain. */
  readonly version: bigint;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * What to anchor for a version. Throws `TWIN_NOT_COMMITTABLE` for a version the contract would
 * refuse: version 0 (the empty twin), or no source hashes at all (a zero sources root reverts
 * with `EmptyHash`; pass the source blobs' content hashes to `apply`). The contract also wants
 * the version above the last committed one; that is the caller's check against the chain.
 */
export function stateCommitment(version: TwinVersion): StateCommitment {
  if (version.version < 1 || BigInt(version.version) > MAX_UINT64) {
    throw new TwinEngineError("TWIN_NOT_COMMITTABLE", "only versions 1 to 2^64 − 1 can be committed");
  }
  if (version.sourceHashes.length === 0) {
    throw new TwinEngineError("TWIN_NOT_COMMITTABLE", "a version without source hashes cannot be committed");
  }
  return { stateRoot: version.stateRoot, sourcesRoot: version.sourcesRoot, version: BigInt(version.version) };
}
