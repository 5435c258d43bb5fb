import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
/** The built app, served by the gateway under /app/. */
export const APP_DIST = path.join(ROOT, "dist-app");

/** Builds the web app (app/) into dist-app/ with Vite, as `npm run app:build` does (without its type check). */
export function buildApp(): Promise<void> {
  const result = spawnSync("npx", ["vite", "build", "--config", "app/vite.config.mts", "--logLevel", "warn"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (result.status !== 0) return Promise.reject(new Error(`the app build failed (exit ${result.status})`));
  return Promise.resolve();
}

/** True when dist-app/ is missing or older than a file of app/ (or of src/, which the app bundles). */
export function appBuildIsStale(): boolean {
  const built = path.join(APP_DIST, "index.html");
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const newer = (folder: string): boolean =>
    readdirSync(folder, { withFileTypes: true }).some((entry) => {
      const full = path.join(folder, entry.name);
      return entry.isDirectory() ? newer(full) : statSync(full).mtimeMs > builtAt;
    });
  return newer(path.join(ROOT, "app")) || newer(path.join(ROOT, "src"));
}

/** Builds the app when its build is missing or stale. */
export async function ensureAppBuilt(): Promise<string> {
  if (appBuildIsStale()) await buildApp();
  return APP_DIST;
}
