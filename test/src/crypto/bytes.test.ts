import { expect } from "chai";
import fc from "fast-check";
import { hexlify } from "ethers";
import { bytes32FromHex, writeHex } from "../../../src/crypto/bytes";

describe("crypto/bytes", () => {
  it("bytes32FromHex decodes with Node's Buffer as the browser does with noble: same bytes, same refusals", () => {
    const hexish = fc.constantFrom(..."0123456789abcdefABCDEFgxz -".split(""));
    const candidate = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b)),
      fc.array(hexish, { minLength: 64, maxLength: 64 }).map((chars) => "0x" + chars.join("")),
      fc.string({ maxLength: 70 }),
    );
    fc.assert(
      fc.property(candidate, (hex) => {
        const node = bytes32FromHex(hex, Buffer);
        const browser = bytes32FromHex(hex, null);
        expect(node === null ? null : hexlify(node)).to.equal(browser === null ? null : hexlify(browser));
      }),
      { numRuns: 2000 },
    );
  });
  it("writeHex writes 0x-hex of either case at an offset, as ethers decodes it; false for anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.boolean(), fc.nat(8), (bytes, upper, offset) => {
        const hex = upper ? "0x" + hexlify(bytes).slice(2).toUpperCase() : hexlify(bytes);
        const out = new Uint8Array(offset + bytes.length);
        expect(writeHex(hex, out, offset)).to.equal(true);
        expect([...out.subarray(offset)]).to.deep.equal([...bytes]);
        expect([...out.subarray(0, offset)]).to.deep.equal(new Array<number>(offset).fill(0));
      }),
      { numRuns: 500 },
    );
    const out = new Uint8Array(4);
    for (const bad of ["abcd", "0xabc", "0Xabcd", "0xabzz", "0x-1"]) expect(writeHex(bad, out, 0)).to.equal(false, bad);
  });
});
