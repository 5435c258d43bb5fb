import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

/**
 * The web app's build: static files in ../dist-app, served by the gateway under /app/ (src/service/app-static.ts).
 * The app reuses the project's own modules (the gateway client, its proof checks, the typed data, the typechain
 * bindings); the few Node modules they import for the server side are replaced by browser shims: node:crypto by
 * @noble/hashes and WebCrypto, the file system and SQLite by a module whose functions throw (never called here).
 */
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const unused = here("./src/shims/unused.ts");

export default defineConfig({
  root: here("."),
  base: "/app/",
  plugins: [preact()],
  resolve: {
    alias: [
      { find: /^(node:)?crypto$/, replacement: here("./src/shims/node-crypto.ts") },
      {
        find: /^(node:)?(fs|fs\/promises|path|os|url|util|worker_threads|stream|stream\/promises)$/,
        replacement: unused,
      },
      { find: /^(better-sqlite3|pg|secp256k1|secp256k1\/bindings)$/, replacement: unused },
    ],
  },
  build: {
    outDir: here("../dist-app"),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2048,
    // No inline scripts or styles that a `default-src 'self'` policy would block.
    assetsInlineLimit: 0,
  },
});
