// Bundles static/src into static/dist: the page script, the layout worker and the styles.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

const common = {
  bundle: true,
  minify: process.env.GRADSTAGE_DEBUG ? false : true,
  sourcemap: true,
  target: ["es2022"],
  legalComments: "eof",
  logLevel: "warning",
};

await mkdir("static/dist", { recursive: true });
await build({ ...common, entryPoints: ["static/src/app.ts"], outfile: "static/dist/app.js", format: "esm" });
await build({ ...common, entryPoints: ["static/src/layout.worker.ts"], outfile: "static/dist/layout.worker.js", format: "iife" });
await build({ ...common, entryPoints: ["static/src/styles.css"], outfile: "static/dist/app.css" });
await copyFile("static/src/favicon.svg", "static/dist/favicon.svg");
