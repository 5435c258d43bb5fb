import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { hexlify, TypedDataEncoder, Wallet } from "ethers";
import {
  addressOf,
  normalizePublicKey,
  publicKeyFromDigest,
  publicKeyFromSignature,
  publicKeyOf,
  unwrapDataKey,
  wrapDataKey,
} from "../../../src/crypto";
import { expectCode, sameBytes } from "./expect-error";

describe("crypto/reader-keys", () => {
  const wallet = new Wallet(hexlify(randomBytes(32)));

  it("gets a reader's compressed public key from a Wallet, SigningKey or private key", () => {
    const expected = Buffer.from(wallet.signingKey.compressedPublicKey.slice(2), "hex");
    for (const source of [
      wallet,
      wallet.signingKey,
      wallet.privateKey,
      Buffer.from(wallet.privateKey.slice(2), "hex"),
    ]) {
      const publicKey = publicKeyOf(source);
      expect(publicKey.length).to.equal(33);
      expect(sameBytes(publicKey, expected)).to.equal(true);
    }
  });

  it("gives the Ethereum address of a public key in any form", () => {
    for (const form of [
      publicKeyOf(wallet),
      wallet.signingKey.publicKey,
      wallet.signingKey.compressedPublicKey,
      wallet.signingKey.publicKey.slice(4), // raw x ‖ y, no 0x04
    ]) {
      expect(addressOf(form)).to.equal(wallet.address);
    }
  });

  it("normalizes uncompressed keys to the compressed form", () => {
    expect(hexlify(normalizePublicKey(wallet.signingKey.publicKey))).to.equal(wallet.signingKey.compressedPublicKey);
  });

  it("recovers the public key of a reader from a signed message, usable to wrap to it", async () => {
    const message = "TwinLedger query: latest vitals of twin 0x01";
    const signature = await wallet.signMessage(message);
    const recovered = publicKeyFromSignature(message, signature);
    expect(addressOf(recovered)).to.equal(wallet.address);
    const dataKey = randomBytes(32);
    expect(sameBytes(unwrapDataKey(wrapDataKey(dataKey, recovered), wallet), dataKey)).to.equal(true);
  });

  it("recovers the public key from an EIP-712 signature digest", async () => {
    const domain = { name: "TwinLedger", version: "1", chainId: 31337 };
    const types = { Query: [{ name: "twinId", type: "bytes32" }] };
    const value = { twinId: "0x" + "01".repeat(32) };
    const signature = await wallet.signTypedData(domain, types, value);
    const recovered = publicKeyFromDigest(TypedDataEncoder.hash(domain, types, value), signature);
    expect(addressOf(recovered)).to.equal(wallet.address);
  });

  it("a signature over another message recovers another key", async () => {
    const signature = await wallet.signMessage("one");
    expect(addressOf(publicKeyFromSignature("two", signature))).not.to.equal(wallet.address);
  });

  it("rejects unusable signatures and keys with typed errors", () => {
    expectCode(() => publicKeyFromSignature("m", "0x1234"), "CRYPTO_SIGNATURE_INVALID");
    expectCode(() => publicKeyFromDigest("0x" + "00".repeat(32), "0x" + "00".repeat(65)), "CRYPTO_SIGNATURE_INVALID");
    expectCode(() => addressOf("0x04" + "11".repeat(64)), "CRYPTO_KEY_INVALID");
    expectCode(() => publicKeyOf("0x" + "00".repeat(32)), "CRYPTO_KEY_INVALID");
    expectCode(() => publicKeyOf({ address: wallet.address } as never), "CRYPTO_KEY_INVALID"); // a signer without its key
  });
});
