import { expect } from "chai";
import fc from "fast-check";
import { hexlify } from "ethers";
import { bytes32FromHex } from "../../../src/crypto/bytes";

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
});
