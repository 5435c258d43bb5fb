import { expect } from "chai";
import { getCurves } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import {
  ephemeralPublicKey,
  ephemeralPublicKeyNoble,
  ephemeralPublicKeyOpenSsl,
  readerEcdh,
  readerEcdhNoble,
  readerEcdhOpenSsl,
} from "../../../src/crypto/ecdh";
import { expectCode, sameBytes } from "./expect-error";

const hasOpenSslSecp256k1 = getCurves().includes("secp256k1");

describe("crypto/ecdh (unwrap side)", () => {
  it("uses OpenSSL when it has secp256k1, noble otherwise", () => {
    expect(readerEcdh).to.equal(hasOpenSslSecp256k1 ? readerEcdhOpenSsl : readerEcdhNoble);
  });

  it("both backends agree with each other and with the sender's side", function () {
    if (!hasOpenSslSecp256k1) this.skip();
    for (let i = 0; i < 5; i++) {
      const reader = secp256k1.keygen();
      const ephemeral = secp256k1.keygen();
      const senderX = secp256k1.getSharedSecret(ephemeral.secretKey, reader.publicKey, true).subarray(1);
      const ephemeralPublic = secp256k1.getPublicKey(ephemeral.secretKey, true);
      const viaOpenSsl = readerEcdhOpenSsl(reader.secretKey, ephemeralPublic);
      const viaNoble = readerEcdhNoble(reader.secretKey, ephemeralPublic);
      expect(sameBytes(viaOpenSsl.sharedX, senderX)).to.equal(true);
      expect(sameBytes(viaNoble.sharedX, senderX)).to.equal(true);
      expect(sameBytes(viaOpenSsl.readerPublicKey, reader.publicKey)).to.equal(true);
      expect(sameBytes(viaNoble.readerPublicKey, reader.publicKey)).to.equal(true);
    }
  });

  it("both backends reject an ephemeral key that is not on the curve", () => {
    const reader = secp256k1.keygen();
    const offCurve = Uint8Array.from([0x02, ...new Uint8Array(32)]); // x = 0: 7 is not a square mod p
    const backends = hasOpenSslSecp256k1 ? [readerEcdhOpenSsl, readerEcdhNoble] : [readerEcdhNoble];
    for (const backend of backends) expectCode(() => backend(reader.secretKey, offCurve), "CRYPTO_FORMAT");
  });
});

describe("crypto/ecdh (ephemeral key)", () => {
  it("both backends compute the same public key as noble's getPublicKey", function () {
    if (!hasOpenSslSecp256k1) this.skip();
    expect(ephemeralPublicKey).to.equal(ephemeralPublicKeyOpenSsl);
    for (let i = 0; i < 5; i++) {
      const secret = secp256k1.utils.randomSecretKey();
      const expected = secp256k1.getPublicKey(secret, true);
      expect(sameBytes(ephemeralPublicKeyOpenSsl(secret), expected)).to.equal(true);
      expect(sameBytes(ephemeralPublicKeyNoble(secret), expected)).to.equal(true);
    }
  });
});
