import { expect } from "chai";
import { id, keccak256 } from "ethers";
import { contentHash } from "../../../src/crypto";

describe("crypto/content-hash", () => {
  it("is keccak256 as a bytes32 hex string (known vectors)", () => {
    expect(contentHash(new Uint8Array(0))).to.equal(
      "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
    );
    expect(contentHash(new TextEncoder().encode("hello"))).to.equal(id("hello"));
  });

  it("agrees with ethers on arbitrary bytes", () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff);
    expect(contentHash(bytes)).to.equal(keccak256(bytes));
  });
});
