import { expect } from "chai";
import fc from "fast-check";
import { concat, getAddress, hexlify, id, keccak256, zeroPadValue, ZeroHash } from "ethers";
import { twinIdOf } from "../../../src/chain";

const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(hexlify(b)));
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));

/** abi.encode(address, bytes32) by hand: the address left-padded to a word, then the salt. */
function reference(patient: string, salt: string): string {
  return keccak256(concat([zeroPadValue(patient, 32), salt]));
}

describe("chain/twin-id: twinIdOf", () => {
  it("property: keccak256 of the patient's address as a word followed by the salt, for any input", () => {
    fc.assert(
      fc.property(address, bytes32, (patient, salt) => {
        expect(twinIdOf(patient, salt)).to.equal(reference(patient, salt));
        // The address's spelling (checksummed or lower case) does not matter.
        expect(twinIdOf(patient.toLowerCase(), salt)).to.equal(twinIdOf(patient, salt));
      }),
      { numRuns: 200 },
    );
  });

  it("property: different patients with one salt, or one patient with different salts, get different ids", () => {
    fc.assert(
      fc.property(address, address, bytes32, bytes32, (a, b, s, t) => {
        fc.pre(a !== b && s !== t);
        expect(twinIdOf(a, s)).to.not.equal(twinIdOf(b, s));
        expect(twinIdOf(a, s)).to.not.equal(twinIdOf(a, t));
      }),
      { numRuns: 200 },
    );
  });

  it("matches a fixed vector, and takes a zero salt", () => {
    const patient = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
    expect(twinIdOf(patient, id("twin:salt:alice"))).to.equal(reference(patient, id("twin:salt:alice")));
    expect(twinIdOf(patient, ZeroHash)).to.equal(
      keccak256("0x000000000000000000000000976ea74026e726554db657fa54763abd0c3a0aa9" + "00".repeat(32)),
    );
    expect(twinIdOf(patient, ZeroHash)).to.not.equal(ZeroHash);
  });

  it("refuses what is not an address or a 32-byte salt", () => {
    expect(() => twinIdOf("0x1234", ZeroHash)).to.throw();
    expect(() => twinIdOf("0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x1234")).to.throw();
  });
});
