// The five targets of tests/fixtures/extism built with esbuild's API, the way an esbuild user
// would: one build per target, workers first, then the hosts, with a plugin for packem.json's
// `polyfills` and for `packem:target/NAME` (the worker file, read as text).
// Usage: node targets-esbuild.mjs <fixture dir> <peers dir>; prints {"ms": <builds' time>}.
import { createRequire } from "node:module";
import path from "node:path";
import fs from "node:fs";

const [dir, peers] = process.argv.slice(2);
const esbuild = createRequire(path.join(peers, "package.json"))("esbuild");
const src = (rel) => path.join(dir, "src", rel);

function plugin(polyfills) {
  return {
    name: "packem-targets",
    setup(build) {
      build.onResolve({ filter: /^packem:target\// }, (args) => ({
        path: path.join(dir, "dist/worker", args.path.endsWith("-node") ? "node.js" : "browser.js"),
        namespace: "target",
      }));
      build.onLoad({ filter: /.*/, namespace: "target" }, (args) => ({
        contents: fs.readFileSync(args.path, "utf8"),
        loader: "text",
      }));
      build.onResolve({ filter: /^\./ }, (args) => {
        const file = path.resolve(args.resolveDir, args.path) + ".ts";
        return polyfills[file] ? { path: polyfills[file] } : undefined;
      });
    },
  };
}

const common = { bundle: true, logLevel: "warning", absWorkingDir: dir };
const nodePolyfills = {
  [src("polyfills/deno-worker.ts")]: src("polyfills/node-worker.ts"),
  [src("worker-source.ts")]: src("polyfills/node-worker-source.ts"),
};
const browserPolyfills = {
  [src("polyfills/deno-worker.ts")]: src("polyfills/browser-worker.ts"),
  [src("worker-source.ts")]: src("polyfills/browser-worker-source.ts"),
};
const start = performance.now();
await esbuild.build({ ...common, entryPoints: [src("worker.ts")], platform: "node", format: "cjs", minify: true, outfile: path.join(dir, "dist/worker/node.js") });
await esbuild.build({
  ...common, entryPoints: [src("worker.ts")], platform: "browser", format: "iife", minify: true,
  outfile: path.join(dir, "dist/worker/browser.js"),
  plugins: [plugin({ [src("worker-port/node.ts")]: src("worker-port/browser.ts") })],
});
await esbuild.build({ ...common, entryPoints: [src("mod.ts")], platform: "node", format: "esm", outfile: path.join(dir, "dist/esm/mod.mjs"), plugins: [plugin(nodePolyfills)] });
await esbuild.build({ ...common, entryPoints: [src("mod.ts")], platform: "node", format: "cjs", outfile: path.join(dir, "dist/cjs/mod.cjs"), plugins: [plugin(nodePolyfills)] });
await esbuild.build({ ...common, entryPoints: [src("mod.ts")], platform: "browser", format: "esm", outfile: path.join(dir, "dist/browser/mod.js"), plugins: [plugin(browserPolyfills)] });
console.log(JSON.stringify({ ms: performance.now() - start }));
