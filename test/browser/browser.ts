import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium (`apt-get install chromium`), or CHROMIUM_PATH; null when there is none. */
export function chromiumPath(): string | null {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const found = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
      if (found) return found;
    } catch {
      // not this one
    }
  }
  return null;
}

export async function launch(executablePath: string): Promise<Browser> {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return chromium.launch({ executablePath, headless: true, args: root ? ["--no-sandbox"] : [] });
}

/**
 * Where the screenshots go: docs/img/ (the README shows them) with UPDATE_SCREENSHOTS=1, as `npm run test:browser`
 * sets it; otherwise a temporary folder, so that `npm test` leaves the committed images alone (they change with
 * every run's random accounts and times).
 */
export const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === "1"
    ? path.resolve(__dirname, "..", "..", "docs", "img")
    : path.join(os.tmpdir(), "twinledger-screenshots");

/** Writes a full-page screenshot of the page into SCREENSHOTS. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!existsSync(SCREENSHOTS)) mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
