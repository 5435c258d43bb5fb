import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** The package's name in package.json: how its root is recognised from the source tree and from dist/. */
export const PACKAGE_NAME = "twinledger";

/**
 * The package's root folder: the nearest folder above this module whose package.json names the package. The same
 * answer from src/chain (ts-node, tests), dist/src/chain (the build) and node_modules/twinledger/dist/src/chain (an
 * installed package), where a fixed `../..` would land in dist/.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // an unreadable package.json is not ours: keep looking
      }
    }
    if (path.dirname(dir) === dir) return path.resolve(from, "../..");
  }
}

/** The deployments shipped with the package: `<package root>/deployments` (release.json, public networks). */
export const DEFAULT_DEPLOYMENTS_DIR = path.join(packageRoot(), "deployments");
