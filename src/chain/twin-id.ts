import { AbiCoder, keccak256 } from "ethers";

/**
 * The id of the twin that `patient` creates with `salt`, as TwinRegistry derives it on chain
 * (`twinIdOf(patient, salt) = keccak256(abi.encode(address patient, bytes32 salt))`): a twin's id is known before
 * the transaction, and nobody but the patient can create a twin under it.
 *
 * @param patient The patient's address (the twin's owner: the caller of `createTwin`, or the signer for
 *   `createTwinFor`).
 * @param salt A 32-byte hex string the patient chose (random, to keep twins unlinkable; zero is allowed).
 * @returns The twin id, a 32-byte hex string.
 */
export function twinIdOf(patient: string, salt: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [patient, salt]));
}
