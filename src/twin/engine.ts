import { resolveConfig, type ResolvedConfig, type TwinOptions } from "./config";
import { addBatch, composeVersion, inputsOf, NO_INPUTS, type TwinInputs } from "./model";
import type { TwinBatch, TwinVersion } from "./types";

/**
 * The incremental twin engine of one patient. Each `apply` folds a batch into everything
 * fed so far and returns the next immutable version; a failed `apply` (invalid input) leaves
 * the engine unchanged. Version n equals `buildTwinModel` over the union of batches 1..n,
 * so the order in which batches and their items arrive does not change the roots.
 */
export class TwinEngine {
  readonly #config: ResolvedConfig;
  #inputs: TwinInputs;
  #current: TwinVersion;

  /** Start an empty twin (version 0), or resume after `from` (a version this engine's options built). */
  constructor(options: TwinOptions = {}, from?: TwinVersion) {
    this.#config = resolveConfig(options);
    this.#inputs = from === undefined ? NO_INPUTS : inputsOf(from);
    this.#current = from ?? composeVersion(this.#inputs, 0, this.#config);
  }

  /** The latest version. */
  get current(): TwinVersion {
    return this.#current;
  }

  /** The latest version number (0 before the first apply). */
  get version(): number {
    return this.#current.version;
  }

  /** The resolved, frozen options. */
  get config(): ResolvedConfig {
    return this.#config;
  }

  /** Fold a batch in and return the new version (number + 1), even if the batch added nothing new. */
  apply(batch: TwinBatch): TwinVersion {
    const inputs = addBatch(this.#inputs, batch);
    const next = composeVersion(inputs, this.#current.version + 1, this.#config);
    this.#inputs = inputs;
    this.#current = next;
    return next;
  }
}
