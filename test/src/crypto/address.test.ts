import { expect } from "chai";
import fc from "fast-check";
import { getAddress, getIcapAddress, hexlify } from "ethers";
import { checksumAddress, checksumOrNull } from "../../../src/crypto/address";

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => hexlify(b));

/** A checksummed address with one letter's case flipped (a wrong checksum), or the address when it has no letter. */
function flipOne(checksummed: string, at: number): string {
  const letters = [...checksummed.slice(2)].flatMap((c, i) => (/[a-fA-F]/.test(c) ? [i + 2] : []));
  if (letters.length === 0) return checksummed;
  const i = letters[at % letters.length];
  const c = checksummed[i];
  const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return `${checksummed.slice(0, i)}${flipped}${checksummed.slice(i + 1)}`;
}

/** Addresses in every form ethers accepts or refuses: lower, checksummed, upper, random case, flipped, no `0x`. */
const address = fc
  .tuple(
    hex(20),
    fc.constantFrom("lower", "checksum", "upper", "random", "flipped"),
    fc.boolean(),
    fc.nat(),
    fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  )
  .map(([a, form, prefixed, at, cases]) => {
    let out: string;
    if (form === "lower") out = a;
    else if (form === "checksum") out = getAddress(a);
    else if (form === "upper") out = `0x${a.slice(2).toUpperCase()}`;
    else if (form === "random") out = `0x${[...a.slice(2)].map((c, i) => (cases[i] ? c.toUpperCase() : c)).join("")}`;
    else out = flipOne(getAddress(a), at);
    return prefixed ? out : out.slice(2);
  });

/** Strings ethers refuses or converts otherwise: wrong lengths, non-hex, `0X`, ICAP, empty. */
const oddities = fc.oneof(
  hex(19),
  hex(21),
  fc.string({ maxLength: 44 }),
  hex(20).map((a) => `0X${a.slice(2)}`),
  hex(20).map((a) => `${a.slice(0, 10)}g${a.slice(11)}`),
  hex(20).map((a) => ` ${a}`),
  hex(20).map((a) => getIcapAddress(a)),
  fc.constant(""),
);

type Outcome = { ok: true; value: string } | { ok: false; name: string; message: string; code: unknown };

function outcome(run: () => string): Outcome {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return { ok: false, name: e.constructor.name, message: e.message, code: e.code };
  }
}

describe("crypto/address", () => {
  it("property: checksumAddress equals ethers' getAddress, value or error (asked twice: cached)", () => {
    fc.assert(
      fc.property(fc.oneof(address, oddities), (input) => {
        const reference = outcome(() => getAddress(input));
        expect(outcome(() => checksumAddress(input))).to.deep.equal(reference);
        expect(outcome(() => checksumAddress(input))).to.deep.equal(reference);
      }),
      { numRuns: 2000 },
    );
  });

  it("property: checksumOrNull is ethers' answer for 40-hex-digit addresses, null where ethers throws", () => {
    fc.assert(
      fc.property(address, (input) => {
        const reference = outcome(() => getAddress(input));
        expect(checksumOrNull(input)).to.equal(reference.ok ? reference.value : null);
      }),
      { numRuns: 1000 },
    );
  });

  it("a wrong checksum stays refused after the right one was cached, and vice versa", () => {
    const right = getAddress("0x8ba1f109551bd432803012645ac136ddd64dba72");
    const wrong = flipOne(right, 0);
    expect(checksumAddress(right)).to.equal(right);
    expect(() => checksumAddress(wrong)).to.throw(TypeError, "bad address checksum");
    expect(checksumOrNull(wrong)).to.equal(null);
    expect(checksumAddress(right.toLowerCase())).to.equal(right);
    expect(checksumAddress(right)).to.equal(right);
  });

  it("refuses what is not an address with ethers' error, and converts ICAP through ethers", () => {
    expect(() => checksumAddress("0x1234")).to.throw(TypeError, "invalid address");
    expect(() => checksumAddress(undefined as unknown as string)).to.throw(TypeError, "invalid address");
    expect(checksumOrNull(42 as unknown as string)).to.equal(null);
    const a = getAddress("0x8ba1f109551bd432803012645ac136ddd64dba72");
    expect(checksumAddress(getIcapAddress(a))).to.equal(a);
  });
});
