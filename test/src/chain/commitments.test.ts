import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import fc from "fast-check";
import { AbiCoder, hexlify, id, keccak256, toUtf8Bytes, ZeroHash } from "ethers";
import {
  commit,
  commitmentDomainTag,
  commitmentOf,
  COMMITMENT_DOMAINS,
  CommitmentError,
  emergencyReasonCommitment,
  requestReasonCommitment,
  twinMetadataCommitment,
  verifyCommitment,
} from "../../../src/chain";
import { DataCategory } from "../../../src/vocabulary";
import { twinFixture } from "../../fixtures";

/** The demo's emergency reason (scripts/demo.ts at 9a6a5cd put `ethers.id(DEMO_REASON)` on chain). */
const DEMO_REASON = "ambulance 17: unconscious patient";

/**
 * An attacker's word list: likely emergency and request reasons, built from a few templates (what anyone reading
 * the chain can write). It holds the demo's reason.
 */
function wordList(): string[] {
  const units = ["ambulance", "paramedic unit", "helicopter", "ER team", "rescue"];
  const states = ["unconscious patient", "cardiac arrest", "car accident", "stroke", "overdose", "fall", "seizure"];
  const words: string[] = [];
  for (const unit of units) {
    for (let n = 1; n <= 40; n += 1) for (const state of states) words.push(`${unit} ${n}: ${state}`);
  }
  return words;
}

/**
 * The dictionary attack on an on-chain reason hash: every word hashed as the contract's callers used to
 * (`keccak256(text)`), and, for good measure, under every known domain with guessable salts (zero, one, the hash of
 * the text): what an attacker who has read this module would try.
 */
function reverse(hash: string, words: readonly string[]): string | undefined {
  let table = tables.get(words);
  if (table === undefined) {
    table = new Map();
    const coder = AbiCoder.defaultAbiCoder();
    const tags = Object.values(COMMITMENT_DOMAINS).map(commitmentDomainTag);
    for (const word of words) {
      const hashed = id(word);
      table.set(hashed, word);
      for (const tag of tags) {
        for (const salt of [ZeroHash, `0x${"00".repeat(31)}01`, hashed]) {
          table.set(keccak256(coder.encode(["bytes32", "bytes32", "bytes32"], [tag, salt, hashed])), word);
        }
      }
    }
    tables.set(words, table);
  }
  return table.get(hash.toLowerCase());
}
const tables = new WeakMap<readonly string[], Map<string, string>>();

describe("chain/commitments: salted commitments for reasons and metadata", () => {
  it("commitment = keccak256(abi.encode(keccak256(domain), salt, keccak256(content))), for any text and salt", () => {
    const coder = AbiCoder.defaultAbiCoder();
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((s) => s.some((b) => b !== 0)),
        (text, salt) => {
          const made = commit(text, { domain: COMMITMENT_DOMAINS.requestReason, salt });
          const expected = keccak256(
            coder.encode(
              ["bytes32", "bytes32", "bytes32"],
              [id(COMMITMENT_DOMAINS.requestReason), hexlify(salt), keccak256(toUtf8Bytes(text))],
            ),
          );
          expect(made.commitment).to.equal(expected);
          expect(made.salt).to.equal(hexlify(salt));
          expect(verifyCommitment(made.commitment, made.opening)).to.equal(true);
          expect(commitmentOf(made.opening)).to.equal(made.commitment);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("a fresh 32-byte salt each time: one text commits to unrelated values", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const made = emergencyReasonCommitment(DEMO_REASON);
      expect(made.salt).to.match(/^0x[0-9a-f]{64}$/);
      expect(seen.has(made.commitment)).to.equal(false);
      seen.add(made.commitment);
    }
  });

  it("bytes commit like their hex, and the opening round-trips through JSON", () => {
    const bytes = toUtf8Bytes("some bytes");
    const made = commit(bytes);
    const stored = JSON.parse(JSON.stringify(made.opening));
    expect(stored).to.deep.equal({ domain: "TwinLedger commitment v1", salt: made.salt, bytes: hexlify(bytes) });
    expect(verifyCommitment(made.commitment, stored)).to.equal(true);
    // Text and the same bytes differ only by how the opening names them: both hash the same UTF-8.
    expect(commit("some bytes", { salt: made.salt }).commitment).to.equal(made.commitment);
  });

  it("verifyCommitment refuses another text, salt, domain, a wrong expected domain and malformed input", () => {
    const made = requestReasonCommitment("second opinion on the MRI");
    const { opening } = made;
    expect(verifyCommitment(made.commitment, opening, COMMITMENT_DOMAINS.requestReason)).to.equal(true);
    expect(
      verifyCommitment(made.commitment, {
        domain: opening.domain,
        salt: opening.salt,
        text: "second opinion on the MRl",
      }),
    ).to.equal(false);
    expect(verifyCommitment(made.commitment, { ...opening, salt: id("other") })).to.equal(false);
    expect(verifyCommitment(made.commitment, { ...opening, domain: COMMITMENT_DOMAINS.emergencyReason })).to.equal(
      false,
    );
    // A request-reason opening does not pass as an emergency reason, even though it opens its commitment.
    expect(verifyCommitment(made.commitment, opening, COMMITMENT_DOMAINS.emergencyReason)).to.equal(false);
    expect(verifyCommitment("0x1234", opening)).to.equal(false);
    expect(verifyCommitment(made.commitment, { ...opening, salt: "0x12" })).to.equal(false);
    expect(verifyCommitment(made.commitment, { domain: opening.domain, salt: opening.salt } as never)).to.equal(false);
    expect(verifyCommitment(made.commitment, { ...opening, bytes: "0x00" } as never)).to.equal(false);
  });

  it("refuses a zero, short or non-hex salt, an empty domain and an empty reason, naming no content", () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(error).to.be.instanceOf(CommitmentError);
        expect((error as Error).message).to.not.include("secret reason");
        return (error as CommitmentError).code;
      }
      return "none";
    };
    expect(codeOf(() => commit("secret reason", { salt: ZeroHash }))).to.equal("COMMITMENT_INVALID_INPUT");
    expect(codeOf(() => commit("secret reason", { salt: "0x1234" }))).to.equal("COMMITMENT_INVALID_INPUT");
    expect(codeOf(() => commit("secret reason", { salt: "xyz" }))).to.equal("COMMITMENT_INVALID_INPUT");
    expect(codeOf(() => commit("secret reason", { domain: "" }))).to.equal("COMMITMENT_INVALID_INPUT");
    expect(codeOf(() => emergencyReasonCommitment(""))).to.equal("COMMITMENT_INVALID_INPUT");
    expect(codeOf(() => twinMetadataCommitment([] as never))).to.equal("COMMITMENT_INVALID_INPUT");
  });

  it("the three uses have their own domains: equal text and salt give different commitments", () => {
    const salt = id("one salt");
    const values = [
      emergencyReasonCommitment("x", { salt }).commitment,
      requestReasonCommitment("x", { salt }).commitment,
      commit("x", { salt }).commitment,
    ];
    expect(new Set(values).size).to.equal(3);
  });

  it("twin metadata: canonical JSON (key order does not matter), and two twins with equal metadata are unlinkable", () => {
    const metadata = { schema: "twinledger-twin/1", custodian: "hospital", created: "2024-05-01" };
    const reordered = { created: "2024-05-01", custodian: "hospital", schema: "twinledger-twin/1" };
    const a = twinMetadataCommitment(metadata);
    expect(a.opening.text).to.equal('{"created":"2024-05-01","custodian":"hospital","schema":"twinledger-twin/1"}');
    expect(twinMetadataCommitment(reordered, { salt: a.salt }).commitment).to.equal(a.commitment);
    const b = twinMetadataCommitment(metadata);
    expect(b.commitment).to.not.equal(a.commitment);
    expect(verifyCommitment(b.commitment, b.opening, COMMITMENT_DOMAINS.twinMetadata)).to.equal(true);
  });

  describe("regression: a word list no longer reverses the reason hashes", () => {
    const words = wordList();

    it("the old demo's reason hash, keccak256(text), is reversed by the word list (the attack)", () => {
      expect(words.length).to.be.greaterThan(1000);
      expect(reverse(id(DEMO_REASON), words)).to.equal(DEMO_REASON);
    });

    it("regression: the demo's emergency reason, committed with emergencyReasonCommitment, is not reversed", () => {
      const made = emergencyReasonCommitment(DEMO_REASON);
      expect(reverse(made.commitment, words)).to.equal(undefined);
      expect(verifyCommitment(made.commitment, made.opening, COMMITMENT_DOMAINS.emergencyReason)).to.equal(true);
    });

    it("regression: request reasons and metadata commitments are not reversed either", () => {
      expect(reverse(requestReasonCommitment("ambulance 3: stroke").commitment, words)).to.equal(undefined);
      // The demo's old metadata commitment, id("encrypted twin metadata"), was the same for every twin.
      const oldMetadata = id("encrypted twin metadata");
      expect(reverse(oldMetadata, ["encrypted twin metadata"])).to.equal("encrypted twin metadata");
      const made = twinMetadataCommitment({ note: "encrypted twin metadata" });
      expect(made.commitment).to.not.equal(oldMetadata);
      expect(reverse(made.commitment, [made.opening.text ?? "", "encrypted twin metadata"])).to.equal(undefined);
    });

    it("regression: on chain, EmergencyAccessOpened's reasonHash is the salted commitment and the word list finds nothing", async () => {
      const f = await loadFixture(twinFixture);
      const { consent, patient, responder, twinId } = f;
      await (await consent.connect(patient).setEmergencyPolicy(twinId, true, 12 * 3600, DataCategory.VITALS)).wait();
      const made = emergencyReasonCommitment(DEMO_REASON);
      const receipt = (await (
        await consent.connect(responder).openEmergencyAccess(twinId, 4 * 3600, made.commitment)
      ).wait())!;
      const [event] = await consent.queryFilter(consent.filters.EmergencyAccessOpened(twinId), receipt.blockNumber);
      expect(event.args.reasonHash).to.equal(made.commitment);
      expect(reverse(event.args.reasonHash, words)).to.equal(undefined);
      // Whoever holds the opening (the responder, the patient after the fact) checks the event against it.
      expect(verifyCommitment(event.args.reasonHash, made.opening, COMMITMENT_DOMAINS.emergencyReason)).to.equal(true);
    });
  });
});
