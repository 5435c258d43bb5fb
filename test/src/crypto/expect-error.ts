import { expect } from "chai";
import { TwinLedgerError } from "../../../src/errors";

/** Run `action` and assert it throws a TwinLedgerError with one of the codes; returns the error. */
export function expectCode(action: () => unknown, ...codes: string[]): TwinLedgerError {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  return checkError(thrown, codes);
}

/** Await `promise` and assert it rejects with a TwinLedgerError with one of the codes; returns the error. */
export async function expectRejectCode(promise: Promise<unknown>, ...codes: string[]): Promise<TwinLedgerError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  return checkError(thrown, codes);
}

function checkError(thrown: unknown, codes: string[]): TwinLedgerError {
  expect(thrown, `expected an error with code ${codes.join(" or ")}`).to.be.instanceOf(TwinLedgerError);
  const error = thrown as TwinLedgerError;
  expect(codes, `unexpected code ${error.code}: ${error.message}`).to.include(error.code);
  return error;
}

/** A copy of the bytes with one bit flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[bit >> 3] ^= 1 << (bit & 7);
  return copy;
}

/** Byte equality that ignores Buffer/Uint8Array differences. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
