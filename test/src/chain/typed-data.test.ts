import { expect } from "chai";
import fc from "fast-check";
import { TypedDataEncoder, Wallet, getAddress, hexlify, type Signer } from "ethers";
import {
  ACCESS_LOG_REQUEST_TYPES,
  domainOf,
  GATEWAY_DOMAIN_NAME,
  QUERY_TYPES,
  TypedDataHasher,
  type GatewayQuery,
} from "../../../src/chain/typed-data";
import { GatewayClient } from "../../../src/service";
import { Purpose } from "../../../src/vocabulary";

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));
/** Addresses as a reader's client may write them: lower case, checksummed (ethers' signers) or upper case. */
const address = fc
  .tuple(
    fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => hexlify(b)),
    fc.constantFrom("lower", "checksum", "upper"),
  )
  .map(([a, form]) => (form === "lower" ? a : form === "checksum" ? getAddress(a) : `0x${a.slice(2).toUpperCase()}`));
const query: fc.Arbitrary<GatewayQuery> = fc.record({
  operator: address,
  // any text, and long enough sometimes not to be kept in the string-hash cache (more than 128 code units)
  origin: fc.oneof(fc.string({ maxLength: 64, unit: "grapheme" }), fc.string({ minLength: 129, maxLength: 300 })),
  twinId: bytes32,
  queryType: fc.string({ maxLength: 64, unit: "grapheme" }),
  category: fc.integer({ min: 0, max: 0xffffffff }),
  purpose: fc.integer({ min: 0, max: 0xffff }),
  issuedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nonce: bytes32,
  paramsHash: bytes32,
});
const domain = fc
  .record({
    chainId: fc.bigInt({ min: 1n, max: 2n ** 64n }),
    contract: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  })
  .map(({ chainId, contract }) => domainOf(GATEWAY_DOMAIN_NAME, chainId, hexlify(contract)));

describe("chain/typed-data: TypedDataHasher", () => {
  it("property: digest is TypedDataEncoder.hash, for queries and access-log requests of any domain", () => {
    fc.assert(
      fc.property(domain, query, (d, q) => {
        const queries = new TypedDataHasher(d, QUERY_TYPES);
        const requests = new TypedDataHasher(d, ACCESS_LOG_REQUEST_TYPES);
        const request = {
          operator: q.operator,
          origin: q.origin,
          twinId: q.twinId,
          issuedAt: q.issuedAt,
          nonce: q.nonce,
        };
        expect(queries.domainSeparator).to.equal(TypedDataEncoder.hashDomain(d));
        expect(queries.digest(q)).to.equal(TypedDataEncoder.hash(d, QUERY_TYPES, q));
        expect(requests.digest(request)).to.equal(TypedDataEncoder.hash(d, ACCESS_LOG_REQUEST_TYPES, request));
      }),
      { numRuns: 300 },
    );
  });

  it("GatewayClient signs a local key's queries as signTypedData does, and other signers through it", async () => {
    const wallet = Wallet.createRandom();
    const options = {
      baseUrl: "http://127.0.0.1:1",
      chainId: 31337n,
      consentAddress: wallet.address,
      operator: wallet.address,
    };
    const local = new GatewayClient({ ...options, signer: wallet });
    // A signer without a signingKey (a browser or remote wallet): asked through signTypedData.
    let asked = 0;
    const remote: Pick<Signer, "getAddress" | "signTypedData"> = {
      getAddress: () => Promise.resolve(wallet.address),
      signTypedData: (...args: Parameters<Signer["signTypedData"]>) => {
        asked += 1;
        return wallet.signTypedData(...args);
      },
    };
    const viaSigner = new GatewayClient({ ...options, signer: remote as unknown as Signer });
    const fixed = { purpose: Purpose.TREATMENT, nonce: hexlify(new Uint8Array(32).fill(5)), issuedAt: 1_700_000_000 };
    const twinId = hexlify(new Uint8Array(32).fill(1));
    const a = await local.signQuery(twinId, "latest-vitals", {}, fixed);
    const b = await viaSigner.signQuery(twinId, "latest-vitals", {}, fixed);
    expect(asked).to.equal(1);
    expect(a).to.deep.equal(b); // RFC 6979: the same key signs the same digest identically
    const expected = await wallet.signTypedData(
      domainOf(GATEWAY_DOMAIN_NAME, 31337n, wallet.address),
      QUERY_TYPES,
      a.query,
    );
    expect(a.signature).to.equal(expected);
    expect(a.reader).to.equal(wallet.address);
  });
});
