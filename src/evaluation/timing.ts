import { readFileSync } from "node:fs";
import { Wallet, id, verifyTypedData } from "ethers";
import { buildReadingTree, proveReading, verifyReadingProof } from "../chain/anchors";
import { CONSENT_DOMAIN_NAME, GRANT_TYPES, domainOf, signGrant, type GrantTerms } from "../chain/typed-data";
import { contentHash, encryptEnvelope, openRecord, publicKeyOf, sealRecord, wrapDataKey } from "../crypto";
import { secp256k1Backend } from "../crypto/native-secp256k1";
import { ingest, parseFhirJson } from "../fhir";
import { Action, DataCategory, Purpose } from "../vocabulary";
import { REFERENCES } from "./references";
import { summarize, timeAsync, timeSync } from "./stats";
import type { TimedOperation } from "./types";

export interface TimingOptions {
  readonly runs: number;
  readonly warmup: number;
  /** Runs of the slow operations (FHIR ingest of the Synthea bundle, a 1,000-reading tree). */
  readonly slowRuns: number;
  readonly slowWarmup: number;
  /** Path of the Synthea patient bundle. */
  readonly syntheaBundle: string;
}

const encoder = new TextEncoder();

/**
 * Part 3, off chain: each operation of the pipeline and the gateway timed alone, in process, after a warm-up,
 * over repeated runs. Deterministic keys (derived from fixed labels) so the inputs are the same every run.
 */
export async function measureOffChain(options: TimingOptions, tick: () => void): Promise<TimedOperation[]> {
  const { runs, warmup, slowRuns, slowWarmup } = options;
  const reader = new Wallet(id("evaluation:reader"));
  const patient = new Wallet(id("evaluation:patient"));
  const readerPublic = publicKeyOf(reader.privateKey);
  const bundleText = readFileSync(options.syntheaBundle, "utf8");
  const bundle = parseFhirJson(bundleText);
  const emr = ingest(bundle);
  // A typical EMR record of the Synthea bundle: the median-sized resource.
  const sizes = emr.records.map((r) => JSON.stringify(r.resource)).sort((a, b) => a.length - b.length);
  const plaintext = encoder.encode(sizes[Math.floor(sizes.length / 2)]);
  const twinId = id("evaluation:timing:twin");
  const context = { twinId, recordKey: "Observation/typical", category: DataCategory.VITALS };
  const { envelope, dataKey } = encryptEnvelope(plaintext, context);
  const sealed = sealRecord(plaintext, context, [readerPublic]);
  const consent = { chainId: 31337n, address: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };
  const terms: GrantTerms = {
    twinId,
    grantee: reader.address,
    categories: DataCategory.VITALS,
    actions: Action.READ,
    purposes: Purpose.TREATMENT,
    validFrom: 1_700_000_000,
    validUntil: 1_800_000_000,
  };
  const signed = await signGrant(patient, consent, terms, 0n, 1_800_000_000);
  const domain = domainOf(CONSENT_DOMAIN_NAME, consent.chainId, consent.address);
  const grantValue = {
    ...terms,
    signer: signed.signer,
    epoch: signed.epoch,
    nonce: signed.nonce,
    deadline: signed.deadline,
  };
  const readings = Array.from({ length: 1000 }, (_, i) => ({
    readingHash: id(`evaluation:timing:reading:${i}`),
    timestamp: 1_700_000_000 + i * 60,
  }));
  const tree = buildReadingTree(readings);
  const probe = readings[500];
  const proof = proveReading(tree, probe.readingHash, probe.timestamp);

  const out: TimedOperation[] = [];
  const sync = async (
    opId: string,
    what: string,
    fn: () => unknown,
    paper?: TimedOperation["paper"],
    slow = false,
  ): Promise<void> => {
    const w = slow ? slowWarmup : warmup;
    out.push({ id: opId, what, warmup: w, ms: summarize(timeSync(fn, slow ? slowRuns : runs, w)), paper });
    tick();
    // Let the event loop run between operations (progress output, and a Ctrl-C is handled promptly).
    await new Promise((resolve) => setImmediate(resolve));
  };
  const bytes = `${plaintext.length}-byte`;
  await sync("encrypt", `AES-256-GCM envelope of a ${bytes} FHIR record (fresh data key)`, () =>
    encryptEnvelope(plaintext, context),
  );
  await sync(
    "wrap",
    `wrap the data key for one reader (ECIES secp256k1: ephemeral key, ECDH, HKDF, AES-GCM; curve: ${secp256k1Backend()})`,
    () => wrapDataKey(dataKey, readerPublic),
    { what: `exponentiation (${REFERENCES.paperExponentiation.value} ms)`, ms: REFERENCES.paperExponentiation.value },
  );
  await sync(
    "seal",
    `seal = encrypt a ${bytes} record + wrap its key for one reader + content hash (sealRecord)`,
    () => sealRecord(plaintext, context, [readerPublic]),
    { what: `signcryption (about ${REFERENCES.paperSigncryption.value} ms)`, ms: REFERENCES.paperSigncryption.value },
  );
  await sync("open", "open = unwrap the key as the reader + decrypt (openRecord)", () =>
    openRecord(sealed.envelope, sealed.wrappedKeys[0].wrappedKey, reader.privateKey, context),
  );
  await sync("content-hash", `keccak256 of a ${envelope.length}-byte envelope`, () => contentHash(envelope));
  out.push({
    id: "sign-eip712",
    what: "sign an EIP-712 grant (signGrant, ethers Wallet)",
    warmup,
    ms: summarize(await timeAsync(() => signGrant(patient, consent, terms, 0n, 1_800_000_000), runs, warmup)),
  });
  tick();
  await sync(
    "verify-eip712",
    "verify an EIP-712 grant signature (recover the signer)",
    () => {
      if (verifyTypedData(domain, GRANT_TYPES, grantValue, signed.signature) !== patient.address) {
        throw new Error("signature did not verify");
      }
    },
    { what: `pairing (${REFERENCES.paperPairing.value} ms)`, ms: REFERENCES.paperPairing.value },
  );
  await sync(
    "merkle-build-1000",
    "build the Merkle tree of 1,000 readings",
    () => buildReadingTree(readings),
    undefined,
    true,
  );
  await sync("merkle-proof", "proof of one reading in a 1,000-reading tree", () =>
    proveReading(tree, probe.readingHash, probe.timestamp),
  );
  await sync("merkle-verify", "check one reading's proof (off chain)", () => {
    if (!verifyReadingProof(tree.root, probe.readingHash, probe.timestamp, proof)) throw new Error("bad proof");
  });
  await sync(
    "fhir-ingest-synthea",
    `FHIR ingest of the Synthea bundle (parse + validate + normalize, ${
      emr.records.length
    } records, ${(bundleText.length / 1024).toFixed(0)} KiB)`,
    () => ingest(parseFhirJson(bundleText)),
    undefined,
    true,
  );
  return out;
}
