#!/usr/bin/env node
// Drives the bundlers `cargo xtask bench` compares packem with (esbuild, rolldown, rspack) and
// packem's own watch mode, one tool and one corpus per process, and prints JSON on stdout
// (progress goes to stderr).
//
//   node driver.mjs versions
//   node driver.mjs cold <tool> <entry> <outfile> [--minify]
//   node driver.mjs rebuild <tool> <corpus> <corpus-dir> <workdir> [--reps=N] [--packem=BIN]
//   node driver.mjs run <outfile>
//
// `cold` builds once and exits (the caller times the process). `rebuild` copies the corpus into
// `<workdir>`, starts a warm session (esbuild: `context().rebuild()`; rolldown: `watch()`; rspack:
// `compiler.watch()` in development mode; packem: `packem build --watch`) and times edits: from
// just after the edited file is written to the output being on disk (esbuild: `rebuild()`
// resolved; rolldown: the `BUNDLE_END` event; rspack: the watch callback, after `done`; packem:
// its rebuild line on stderr, printed after the write). The edits are those of benches/lib.rs
// (`Corpus::body_edit`, `import_edit`, a no-op rewrite), for the same files. `run` imports a
// bundle in Node and prints how many exports it has and its default export.
//
// Every tool bundles to one ESM file for the browser platform, without minification or source
// maps, except with `cold --minify` and for the corpus `three10-min` (three10's files and edits):
// then minified, with a linked `.map` file (esbuild's headline benchmark, `--minify
// --sourcemap`). rspack's rebuild sessions (development mode) are not configured for
// `three10-min` and report it skipped. The packages are resolved from `--peers=DIR` (default:
// .fixtures/peers at the repository root, where the xtask installs package.json).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [command, ...rest] = process.argv.slice(2);
const options = Object.fromEntries(
  rest.filter((a) => a.startsWith('--')).map((a) => {
    const [key, value = 'true'] = a.slice(2).split(/=(.*)/s);
    return [key, value];
  }),
);
const positional = rest.filter((a) => !a.startsWith('--'));
const peers = path.resolve(options.peers ?? path.join(here, '../../.fixtures/peers'));
const requirePeer = createRequire(path.join(peers, 'package.json'));

/** Loads an installed peer package (ESM or CommonJS). */
async function load(name) {
  return import(pathToFileURL(requirePeer.resolve(name)).href);
}

function version(name) {
  return JSON.parse(fs.readFileSync(requirePeer.resolve(`${name}/package.json`), 'utf8')).version;
}

const log = (...args) => console.error('[driver]', ...args);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The corpora's edits: keep in step with `Corpus::new` in benches/lib.rs.

function corpusSpec(name) {
  if (name === 'three10-min') {
    // three10's files and edits, built minified with a source map.
    return { ...corpusSpec('three10'), minify: true };
  }
  if (name === 'react-app') {
    return {
      entry: 'src/main.tsx',
      leaf: 'src/Badge.tsx',
      needle: 'const threshold = 1;',
      jsLeaf: 'src/format.js',
      importer: 'src/Badge.tsx',
      extraImport: "import { plural as benchExtra } from './format.js';\n",
    };
  }
  if (name === 'three10') {
    return {
      entry: 'entry.js',
      leaf: 'copy0/math/MathUtils.js',
      needle: 'return degrees * DEG2RAD;',
      importer: 'copy0/math/MathUtils.js',
      extraImport: "import { EventDispatcher as BenchExtra } from '../core/EventDispatcher.js';\n",
    };
  }
  const modules = Number(name.replace(/^synth-/, ''));
  if (!Number.isInteger(modules)) throw new Error(`unknown corpus ${name}`);
  const module = (i) => `src/g${Math.floor(i / 100)}/m${i}.js`;
  const middle = Math.floor(modules / 2);
  return {
    entry: 'src/index.js',
    leaf: module(modules - 1),
    needle: 'let acc = (input | 0) + 1;',
    importer: module(0),
    extraImport: `import { f${middle}_a as benchExtra } from '../g${Math.floor(middle / 100)}/m${middle}.js';\n`,
  };
}

// ---------------------------------------------------------------------------------------------
// Tool configurations: one ESM file, browser platform, no minification, no source maps; with
// `minify`, minified and with a linked source map (a `.map` file named by a comment).

function esbuildOptions(entry, outfile, minify = false) {
  return {
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile,
    write: true,
    logLevel: 'warning',
    minify,
    sourcemap: minify,
  };
}

function rolldownOptions(entry, outfile, minify = false) {
  return {
    input: entry,
    platform: 'browser',
    logLevel: 'warn',
    // Dynamic imports inlined: one output file, like the others.
    output: { file: outfile, format: 'esm', codeSplitting: false, sourcemap: minify, minify },
  };
}

function rspackOptions(entry, outfile, mode, minify = false) {
  return {
    mode,
    context: path.dirname(entry),
    entry: { main: entry },
    target: ['web', 'es2022'],
    devtool: minify ? 'source-map' : false,
    output: {
      path: path.dirname(outfile),
      filename: path.basename(outfile),
      module: true,
      chunkFormat: 'module',
      library: { type: 'module' },
      // Dynamic imports stay in the entry chunk: one output file, like the others.
      asyncChunks: false,
      clean: false,
    },
    // `sideEffects: 'flag'`: modules are side-effect free only when their package.json says so,
    // as for esbuild and rolldown; rspack's production default (`true`) also analyzes the code,
    // which takes ~10× longer on synth-10000.
    optimization: { minimize: minify, splitChunks: false, runtimeChunk: false, sideEffects: 'flag' },
    performance: { hints: false },
    infrastructureLogging: { level: 'error' },
    stats: 'errors-warnings',
  };
}

function rspackErrors(stats) {
  if (!stats?.hasErrors()) return null;
  return stats.toString({ all: false, errors: true }).slice(0, 2000);
}

// ---------------------------------------------------------------------------------------------
// Cold builds.

async function cold(tool, entry, outfile, minify) {
  entry = path.resolve(entry);
  outfile = path.resolve(outfile);
  if (tool === 'esbuild') {
    const esbuild = await load('esbuild');
    await esbuild.build(esbuildOptions(entry, outfile, minify));
  } else if (tool === 'rolldown') {
    const { build } = await load('rolldown');
    await build(rolldownOptions(entry, outfile, minify));
  } else if (tool === 'rspack') {
    const { rspack } = await load('@rspack/core');
    const compiler = rspack(rspackOptions(entry, outfile, 'production', minify));
    const stats = await new Promise((resolve, reject) => compiler.run((err, s) => (err ? reject(err) : resolve(s))));
    const errors = rspackErrors(stats);
    await new Promise((resolve) => compiler.close(resolve));
    if (errors) throw new Error(errors);
  } else {
    throw new Error(`cold: unknown tool ${tool}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Warm sessions. Each has `start()` (the initial build), `rebuild()` (resolves with the time at
// which the output is on disk, or null on timeout) and `close()`. Watch-based sessions arm a
// waiter before the edit is written, so no event is missed.

class Waiter {
  constructor() {
    this.pending = null;
    this.spurious = 0;
    this.failed = 0;
  }

  /** A rebuild finished (its output is on disk), or failed with `error`. */
  done(error) {
    const at = performance.now();
    const pending = this.pending;
    if (!pending) {
      this.spurious += 1;
      return;
    }
    if (error && pending.tolerate) {
      // A watcher may read the file between the truncation and the write of the edit (the
      // failed build); the rest of the write's events start another one, which we wait for.
      this.failed += 1;
      log(`a rebuild failed (waiting for the next): ${String(error.message ?? error).split('\n')[0]}`);
      return;
    }
    this.pending = null;
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(at);
  }

  /**
   * Arms the waiter; the promise resolves with the finish time, or null after `timeoutMs`. With
   * `tolerate`, failed builds are counted and the waiter waits on for a successful one.
   */
  arm(timeoutMs, tolerate) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        resolve(null);
      }, timeoutMs);
      this.pending = { resolve, reject, timer, tolerate };
    });
  }
}

async function esbuildSession(entry, outfile, minify) {
  const esbuild = await load('esbuild');
  const ctx = await esbuild.context(esbuildOptions(entry, outfile, minify));
  return {
    watch: false,
    async start() {
      await ctx.rebuild();
    },
    async edit(write) {
      write();
      const t0 = performance.now();
      await ctx.rebuild();
      return performance.now() - t0;
    },
    spurious: () => 0,
    failed: () => 0,
    close: () => ctx.dispose(),
  };
}

/** A session on a file-watching tool: `begin` starts it and calls `waiter.done` per rebuild. */
function watchSession(waiter, begin, close) {
  return {
    watch: true,
    async start(timeoutMs) {
      const first = waiter.arm(timeoutMs, false);
      await begin();
      if ((await first) === null) throw new Error('the initial build did not finish');
    },
    async edit(write, timeoutMs) {
      const finished = waiter.arm(timeoutMs, true);
      write();
      const t0 = performance.now();
      const at = await finished;
      return at === null ? null : at - t0;
    },
    spurious: () => waiter.spurious,
    failed: () => waiter.failed,
    close,
  };
}

async function rolldownSession(entry, outfile, minify) {
  const { watch } = await load('rolldown');
  const waiter = new Waiter();
  let watcher;
  return watchSession(
    waiter,
    async () => {
      watcher = watch({
        ...rolldownOptions(entry, outfile, minify),
        experimental: { incrementalBuild: true },
      });
      watcher.on('event', (event) => {
        if (event.code === 'BUNDLE_END') {
          event.result.close();
          waiter.done();
        } else if (event.code === 'ERROR') {
          event.result?.close();
          waiter.done(event.error);
        }
      });
    },
    () => watcher.close(),
  );
}

async function rspackSession(entry, outfile) {
  const { rspack } = await load('@rspack/core');
  const waiter = new Waiter();
  const compiler = rspack(rspackOptions(entry, outfile, 'development'));
  let watching;
  return watchSession(
    waiter,
    async () => {
      // rspack's default debounce (`aggregateTimeout`) is 5 ms.
      watching = compiler.watch({}, (err, stats) => {
        const errors = err ?? rspackErrors(stats);
        waiter.done(errors ? new Error(String(errors)) : undefined);
      });
    },
    () => new Promise((resolve) => watching.close(() => compiler.close(resolve))),
  );
}

async function packemSession(entry, outfile, bin, minify) {
  const waiter = new Waiter();
  let child;
  let exited;
  return watchSession(
    waiter,
    async () => {
      const args = ['build', entry, `--outfile=${outfile}`, '--format=esm', '--platform=browser', '--watch'];
      if (minify) args.push('--minify', '--sourcemap');
      child = spawn(bin, args, { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      exited = new Promise((resolve) => child.on('exit', resolve));
      const lines = readline.createInterface({ input: child.stderr });
      lines.on('line', (line) => {
        if (!line.startsWith('[watch]')) {
          if (line.trim()) log('packem:', line);
          return;
        }
        const failed = /build failed| errors?, kept the last good output/.test(line);
        waiter.done(failed ? new Error(line) : undefined);
      });
      child.on('exit', (code) => {
        if (waiter.pending) waiter.done(new Error(`packem exited with ${code}`));
      });
    },
    async () => {
      child.stdin.end();
      await exited;
    },
  );
}

// ---------------------------------------------------------------------------------------------
// The rebuild benchmark.

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.min(Math.max(Math.ceil(sorted.length * q), 1), sorted.length);
  return sorted[rank - 1];
}

function summary(samples, missed, failed) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: samples.length,
    missed,
    failed_builds: failed,
    median_ms: quantile(sorted, 0.5),
    p90_ms: quantile(sorted, 0.9),
    samples_ms: samples.map((x) => Math.round(x * 1000) / 1000),
  };
}

async function rebuild(tool, corpus, corpusDir, workdir, reps, packemBin) {
  const began = performance.now();
  const spec = corpusSpec(corpus);
  const minify = spec.minify ?? false;
  if (tool === 'rspack' && minify) {
    // rspack's sessions run in development mode, which does not minify; not configured.
    return { tool, corpus, skipped: 'not configured for this corpus' };
  }
  // The copy and the output directory live in `<workdir>/<corpus>` and `<workdir>/out`.
  const root = path.join(path.resolve(workdir), corpus);
  const outdir = path.join(path.resolve(workdir), 'out');
  const cleanUp = () => {
    for (const dir of [root, outdir]) fs.rmSync(dir, { recursive: true, force: true });
  };
  cleanUp();
  fs.mkdirSync(root, { recursive: true });
  fs.cpSync(path.resolve(corpusDir), root, { recursive: true });
  const entry = path.join(root, spec.entry);
  const outfile = path.join(outdir, path.basename(spec.entry).replace(/\.[^.]+$/, '.js'));
  const leaf = path.join(root, spec.leaf);
  const importer = path.join(root, spec.importer);
  const leafText = fs.readFileSync(leaf, 'utf8');
  const importerText = fs.readFileSync(importer, 'utf8');
  if (!leafText.includes(spec.needle)) throw new Error(`${leaf} lacks ${spec.needle}`);
  const expr = spec.needle.replace(/;$/, '');
  const bodyEdit = (n) => leafText.replace(spec.needle, () => `${expr} + ${n} - ${n}${' + 0'.repeat(n % 3)};`);
  const importEdit = (add) => (add ? spec.extraImport + importerText : importerText);

  const session =
    tool === 'esbuild'
      ? await esbuildSession(entry, outfile, minify)
      : tool === 'rolldown'
        ? await rolldownSession(entry, outfile, minify)
        : tool === 'rspack'
          ? await rspackSession(entry, outfile)
          : tool === 'packem'
            ? await packemSession(entry, outfile, packemBin, minify)
            : null;
  if (!session) throw new Error(`rebuild: unknown tool ${tool}`);

  log(`${tool} ${corpus}: copied the corpus in ${(performance.now() - began).toFixed(0)}ms`);
  const t0 = performance.now();
  await session.start(300_000);
  const initial = performance.now() - t0;
  log(`${tool} ${corpus}: initial build ${initial.toFixed(0)}ms`);
  // Watchers may still be registering directories, or report a late event of the first build.
  const settle = session.watch ? 100 : 0;
  await sleep(session.watch ? 500 : 0);

  let timeout = 10_000;
  const write = (file, text) => () => fs.writeFileSync(file, text);
  /** One edit; returns its latency in ms or null when no rebuild was reported. */
  const edit = async (file, text) => {
    const ms = await session.edit(write(file, text), timeout);
    await sleep(settle);
    return ms;
  };
  const measure = async (name, warmup, count, next, restore) => {
    const samples = [];
    let missed = 0;
    let n = 0;
    const failedBefore = session.failed();
    for (let i = 0; i < warmup + count; i++) {
      n += 1;
      const [file, text] = next(n);
      const ms = await edit(file, text);
      if (i < warmup) continue;
      if (ms === null) {
        missed += 1;
        // A tool that skips unchanged files never reports one: three misses in a row settle it.
        if (samples.length === 0 && missed >= 3) break;
      } else {
        samples.push(ms);
      }
    }
    const failed = session.failed() - failedBefore;
    if (restore) await edit(...restore);
    const result = summary(samples, missed, failed);
    log(
      `${tool} ${corpus} ${name}: median ${result.median_ms?.toFixed(1)}ms p90 ${result.p90_ms?.toFixed(1)}ms` +
        (missed ? ` (${missed} without a rebuild)` : '') +
        (failed ? ` (${failed} failed builds)` : ''),
    );
    return result;
  };

  const edits = {};
  edits.body = await measure('body', 2, reps, (n) => [leaf, bodyEdit(n)], [leaf, leafText]);
  if (spec.jsLeaf) {
    // The same edit of a JavaScript module: what compiling TypeScript and JSX adds shows against it.
    const jsLeaf = path.join(root, spec.jsLeaf);
    const jsText = fs.readFileSync(jsLeaf, 'utf8');
    const jsEdit = (n) => jsText.replace(spec.needle, () => `${expr} + ${n} - ${n}${' + 0'.repeat(n % 3)};`);
    edits.body_js = await measure('body_js', 2, reps, (n) => [jsLeaf, jsEdit(n)], [jsLeaf, jsText]);
  }
  // A no-op write should be quick to dismiss; wait long enough for a slow tool's real rebuild.
  timeout = Math.max(1000, 5 * (quantile([...edits.body.samples_ms].sort((a, b) => a - b), 1) ?? 1000));
  const imports = 2 * Math.ceil(reps / 2);
  edits.import = await measure('import', 2, imports, (n) => [importer, importEdit(n % 2 === 1)], null);
  edits.noop = await measure('noop', 1, reps, () => [leaf, leafText], null);
  const spurious = session.spurious();
  const closing = performance.now();
  await session.close();
  log(`${tool} ${corpus}: closed in ${(performance.now() - closing).toFixed(0)}ms`);
  cleanUp();
  return { tool, corpus, initial_build_ms: initial, spurious_rebuilds: spurious, edits };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  switch (command) {
    case 'versions': {
      const out = { node: process.versions.node };
      for (const [key, name] of [
        ['esbuild', 'esbuild'],
        ['rolldown', 'rolldown'],
        ['rspack', '@rspack/core'],
      ]) {
        out[key] = version(name);
      }
      console.log(JSON.stringify(out));
      break;
    }
    case 'cold': {
      const [tool, entry, outfile] = positional;
      await cold(tool, entry, outfile, options.minify === 'true');
      break;
    }
    case 'rebuild': {
      const [tool, corpus, corpusDir, workdir] = positional;
      const reps = Number(options.reps ?? 20);
      const result = await rebuild(tool, corpus, corpusDir, workdir, reps, options.packem);
      console.log(JSON.stringify(result));
      break;
    }
    case 'run': {
      const [outfile] = positional;
      const m = await import(pathToFileURL(path.resolve(outfile)).href);
      const value = m.default;
      console.log(JSON.stringify({ exports: Object.keys(m).length, default: typeof value === 'number' ? value : null }));
      break;
    }
    default:
      console.error('usage: node driver.mjs <versions|cold|rebuild|run> ...');
      process.exit(2);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    // For the xtask: the reason, on one line.
    console.log(JSON.stringify({ error: String(error?.message ?? error).split('\n')[0] }));
    process.exit(1);
  },
);
