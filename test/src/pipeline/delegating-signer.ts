import {
  AbstractSigner,
  type Signer,
  type TransactionRequest,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

/**
 * A signer that signs with an inner one: the fault doubles (FaultySigner in faults-doubles.ts, KillingSigner in
 * faults-child.ts) extend it and override only `sendTransaction` (and `connect`).
 */
export abstract class DelegatingSigner extends AbstractSigner {
  constructor(readonly inner: Signer) {
    super(inner.provider);
  }
  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }
  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.inner.signTransaction(tx);
  }
  signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.inner.signTypedData(domain, types, value);
  }
}
