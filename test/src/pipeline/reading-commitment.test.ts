import { expect } from "chai";
import { randomBytes, randomInt } from "node:crypto";
import { AbiCoder, hexlify, keccak256 } from "ethers";
import {
  READING_COMMITMENT_ENCODING,
  readingCommitment,
  scaledReadingValue,
} from "../../../src/pipeline/reading-commitment";

/** A reading with any sign string: the encoding must hold for every string, not only today's sign names. */
interface AnyReading {
  sign: string;
  value: number;
  unit: string;
  at: number;
}

const commit = (salt: string, twinId: string, reading: AnyReading): string =>
  readingCommitment(salt, twinId, reading as Parameters<typeof readingCommitment>[2]);

/** The commitment as ethers' ABI coder computes it: the reference the hand-written encoding must equal. */
function reference(salt: string, twinId: string, reading: AnyReading): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      [...READING_COMMITMENT_ENCODING],
      [
        salt.toLowerCase(),
        twinId.toLowerCase(),
        reading.sign,
        scaledReadingValue(reading.value),
        reading.unit,
        reading.at,
      ],
    ),
  );
}

const SIGNS = ["heartRate", "spo2", "", "x".repeat(32), "y".repeat(33), "systolicBloodPressure".repeat(3)];
const UNITS = ["/min", "%", "mm[Hg]", "Cel", "", "µg/L", "°C ✓ 😀", "u".repeat(64)];

describe("pipeline/reading commitment: the hand-written encoding is ethers' abi.encode", function () {
  it("gives the same commitment as ethers' coder on 500 random readings", () => {
    for (let i = 0; i < 500; i++) {
      const salt = hexlify(randomBytes(32));
      const twinId =
        i % 2 === 0 ? hexlify(randomBytes(32)) : hexlify(randomBytes(32)).toUpperCase().replace("0X", "0x");
      const magnitude = 10 ** randomInt(-6, 12);
      const value = Number(((Math.random() - 0.5) * magnitude).toFixed(6));
      const reading = {
        sign: SIGNS[i % SIGNS.length],
        unit: UNITS[i % UNITS.length],
        value: i % 50 === 0 ? 0 : value,
        at: i % 7 === 0 ? 0 : randomInt(0, 2 ** 47),
      };
      expect(commit(salt, twinId, reading), JSON.stringify(reading)).to.equal(reference(salt, twinId, reading));
    }
  });

  it("keeps ethers' answers at the edges: a value beyond int256 and a lone surrogate are refused as before", () => {
    const salt = hexlify(randomBytes(32));
    const twinId = hexlify(randomBytes(32));
    const huge = { sign: "heartRate", unit: "/min", value: 1e300, at: 1 };
    expect(() => commit(salt, twinId, huge)).to.throw();
    expect(() => reference(salt, twinId, huge)).to.throw();
    const lone = { sign: "heartRate", unit: "\ud800", value: 1, at: 1 };
    let expected: string | Error;
    try {
      expected = reference(salt, twinId, lone);
    } catch (error) {
      expected = error as Error;
    }
    if (expected instanceof Error) expect(() => commit(salt, twinId, lone)).to.throw();
    else expect(commit(salt, twinId, lone)).to.equal(expected);
  });

  it("gives the same commitments with its encoding caches warm, cleared and alternating between twins", () => {
    const twins = [hexlify(randomBytes(32)), hexlify(randomBytes(32))];
    const values = [72, 72.5, -0, 0, 98.6, 120, 1e-6, 72.5];
    // more distinct values and strings than the caches keep (4,096), then the first ones again
    const readings: AnyReading[] = [];
    for (let i = 0; i < 9000; i++) {
      readings.push({
        sign: i % 3 === 0 ? `sign-${i}` : SIGNS[i % SIGNS.length],
        unit: UNITS[i % UNITS.length],
        value: i < 5000 ? i + 0.25 : values[i % values.length],
        at: i % 11 === 0 ? Number.MAX_SAFE_INTEGER - i : i * 60_000,
      });
    }
    readings.push(...readings.slice(0, 50));
    readings.forEach((reading, i) => {
      const salt = hexlify(randomBytes(32));
      const twinId = twins[i % 2];
      if (i % 97 === 0 || i >= 9000) expect(commit(salt, twinId, reading)).to.equal(reference(salt, twinId, reading));
      else commit(salt, twinId, reading);
    });
  });

  it("refuses a salt or twin id that is not 0x and 64 hex digits, before and after a good twin is cached", () => {
    const salt = hexlify(randomBytes(32));
    const twinId = hexlify(randomBytes(32));
    const reading = { sign: "heartRate", unit: "/min", value: 61, at: 1 };
    const malformed = [
      "0x" + "ab".repeat(31) + "ag",
      "0x" + "zz".repeat(32),
      "0X" + "ab".repeat(32),
      "0x" + "a".repeat(63),
      "0x" + "a".repeat(65),
      "",
    ];
    for (const round of [0, 1]) {
      for (const bad of malformed) {
        expect(() => commit(bad, twinId, reading))
          .to.throw(/salt/)
          .with.property("code", "INVALID_OPTIONS");
        expect(() => commit(salt, bad, reading))
          .to.throw(/twinId/)
          .with.property("code", "INVALID_OPTIONS");
      }
      if (round === 0) expect(commit(salt, twinId, reading)).to.equal(reference(salt, twinId, reading));
    }
    // upper-case digits are the same bytes
    expect(commit(salt.toUpperCase().replace("0X", "0x"), twinId.toUpperCase().replace("0X", "0x"), reading)).to.equal(
      reference(salt, twinId, reading),
    );
  });

  it("refuses a value that is not finite with the same typed error every time (nothing cached)", () => {
    const salt = hexlify(randomBytes(32));
    const twinId = hexlify(randomBytes(32));
    for (const value of [NaN, Infinity, -Infinity, NaN]) {
      expect(() => commit(salt, twinId, { sign: "heartRate", unit: "/min", value, at: 1 }))
        .to.throw()
        .with.property("code", "INVALID_OPTIONS");
    }
  });
});
