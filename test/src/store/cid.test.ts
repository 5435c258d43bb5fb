import { expect } from "chai";
import { base58btc } from "multiformats/bases/base58";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { blobMatchesCid, cidOf, parseCid, verifyBlob } from "../../../src/store";
import { expectCode } from "../crypto/expect-error";

const utf8 = (text: string) => new TextEncoder().encode(text);

describe("store/cid", () => {
  it("matches known CIDv1 raw sha2-256 vectors", () => {
    expect(cidOf(new Uint8Array(0))).to.equal("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    expect(cidOf(utf8("hello"))).to.equal("bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq");
  });

  it("matches a CID computed independently with multiformats' own hasher", async () => {
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff);
    const independent = CID.create(1, raw.code, await sha256.digest(bytes)).toString();
    expect(cidOf(bytes)).to.equal(independent);
    const parsed = parseCid(independent);
    expect(parsed.version).to.equal(1);
    expect(parsed.code).to.equal(0x55);
    expect(parsed.multihash.code).to.equal(0x12);
  });

  it("rejects anything that is not a canonical CIDv1 raw sha2-256 base32 id with CID_INVALID", () => {
    const valid = cidOf(utf8("hello"));
    for (const bad of [
      "",
      "hello",
      valid.slice(0, -1), // truncated
      valid.toUpperCase(), // base32upper: same CID, not our canonical spelling
      CID.parse(valid).toString(base58btc), // same CID in base58btc
      "QmPZ9gcCEpqKTo6aq61g2nXGUhM4iCL3ewB6LDXZCtioEB", // CIDv0 (dag-pb)
      "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", // CIDv1 dag-pb
      valid.replace("bafkrei", "bafkreh"),
      "../../etc/passwd",
    ]) {
      expectCode(() => parseCid(bad), "CID_INVALID");
    }
    expectCode(() => parseCid(42 as unknown as string), "CID_INVALID");
  });

  it("verifies bytes against their id", () => {
    const cid = cidOf(utf8("hello"));
    expect(blobMatchesCid(cid, utf8("hello"))).to.equal(true);
    expect(blobMatchesCid(cid, utf8("hellO"))).to.equal(false);
    verifyBlob(cid, utf8("hello"));
    expectCode(() => verifyBlob(cid, utf8("hellO")), "BLOB_TAMPERED");
  });
});
