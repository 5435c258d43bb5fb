import { spawnSync } from "node:child_process";
import path from "node:path";

/** Builds the web app (app/) into dist-app/ with Vite, as `npm run app:build` does. */
export function buildApp(): Promise<void> {
  const root = path.resolve(__dirname, "..", "..");
  const result = spawnSync("npx", ["vite", "build", "--config", "app/vite.config.mts", "--logLevel", "warn"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: "true" },
  });
  if (result.status !== 0) return Promise.reject(new Error(`the app build failed (exit ${result.status})`));
  return Promise.resolve();
}
