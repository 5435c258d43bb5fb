import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { hexlify } from "ethers";
import { privateKeyBytes, type PrivateKeyLike } from "../crypto";

/**
 * One twin, one patient, across ingests. The first EMR ingest of a twin names its patient (the Patient
 * resource or the `patient` option); every later ingest must name the same one. The index keeps only a
 * keyed digest of that link, never the hospital's patient reference itself: HMAC-SHA-256 under a key
 * derived from the custodian's key, over the twin id and the patient's logical id, so that whoever reads
 * the index cannot test guessed record numbers against it.
 *
 * A reference is reduced to its logical id first, so `Patient/123`, `https://ehr.example/fhir/Patient/123`
 * and a transaction bundle's `urn:uuid:123` name the same patient.
 */
export function patientLinkDigest(custodianKey: PrivateKeyLike, twinId: string, patientReference: string): string {
  const key = hmac(sha256, privateKeyBytes(custodianKey), new TextEncoder().encode("twinledger/patient-link/1"));
  const message = new TextEncoder().encode(`${twinId.toLowerCase()}\n${logicalId(patientReference)}`);
  return hexlify(hmac(sha256, key, message));
}

/** The logical id of a patient reference: the part after `Patient/`, `urn:uuid:` or `urn:oid:`. */
export function logicalId(reference: string): string {
  const trimmed = reference.trim();
  const urn = /^urn:(?:uuid|oid):(.+)$/i.exec(trimmed);
  if (urn) return urn[1].toLowerCase();
  const path = /(?:^|\/)Patient\/([^/]+)(?:\/_history\/[^/]+)?$/.exec(trimmed);
  return path ? path[1] : trimmed;
}
