// Builds the console into ../dist (committed; embedded by service/console.go):
// one ES module bundle, one stylesheet, the page and its icon. Deterministic:
// the same sources and lock file give the same bytes, which scripts/test.sh
// checks. `node build.mjs --watch` rebuilds on change while developing.
import * as esbuild from "esbuild";
import { copyFile, mkdir, rm } from "node:fs/promises";

const out = new URL("../dist/", import.meta.url).pathname;
const options = {
  entryPoints: { app: "src/main.tsx" },
  outdir: `${out}assets`,
  bundle: true,
  format: "esm",
  target: ["es2022", "chrome111", "firefox111", "safari16.4"],
  minify: true,
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "eof",
  charset: "utf8",
  logLevel: "info",
};

await rm(out, { recursive: true, force: true });
await mkdir(`${out}assets`, { recursive: true });
await copyFile("index.html", `${out}index.html`);
await copyFile("favicon.svg", `${out}assets/favicon.svg`);
if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
