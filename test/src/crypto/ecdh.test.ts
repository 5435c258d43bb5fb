import { expect } from "chai";
import { getCurves } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import {
  ECDH,
  ephemeralPublicKey,
  ephemeralPublicKeyNative,
  ephemeralPublicKeyNoble,
  ephemeralPublicKeyOpenSsl,
  JAVASCRIPT_ECDH,
  NATIVE_ECDH,
  readerEcdh,
  readerEcdhNative,
  readerEcdhNoble,
  readerEcdhOpenSsl,
  senderSharedX,
  senderSharedXNative,
  senderSharedXNoble,
} from "../../../src/crypto/ecdh";
import { nativeSecp256k1 } from "../../../src/crypto/native-secp256k1";
import { expectCode, sameBytes } from "./expect-error";

const hasOpenSslSecp256k1 = getCurves().includes("secp256k1");

describe("crypto/ecdh (backend choice)", () => {
  it("uses libsecp256k1 when it loads, else OpenSSL when it has secp256k1, else noble", () => {
    expect(NATIVE_ECDH === null).to.equal(nativeSecp256k1 === null);
    expect(ECDH).to.equal(NATIVE_ECDH ?? JAVASCRIPT_ECDH);
    if (nativeSecp256k1) {
      expect(readerEcdh).to.equal(readerEcdhNative);
      expect(ephemeralPublicKey).to.equal(ephemeralPublicKeyNative);
      expect(senderSharedX).to.equal(senderSharedXNative);
    } else {
      expect(readerEcdh).to.equal(hasOpenSslSecp256k1 ? readerEcdhOpenSsl : readerEcdhNoble);
      expect(ephemeralPublicKey).to.equal(hasOpenSslSecp256k1 ? ephemeralPublicKeyOpenSsl : ephemeralPublicKeyNoble);
      expect(senderSharedX).to.equal(senderSharedXNoble);
    }
    expect(JAVASCRIPT_ECDH.senderSharedX).to.equal(senderSharedXNoble);
  });
});

describe("crypto/ecdh (unwrap side)", () => {
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
  it("both JavaScript backends compute the same public key as noble's getPublicKey", function () {
    if (!hasOpenSslSecp256k1) this.skip();
    for (let i = 0; i < 5; i++) {
      const secret = secp256k1.utils.randomSecretKey();
      const expected = secp256k1.getPublicKey(secret, true);
      expect(sameBytes(ephemeralPublicKeyOpenSsl(secret), expected)).to.equal(true);
      expect(sameBytes(ephemeralPublicKeyNoble(secret), expected)).to.equal(true);
    }
  });
});
