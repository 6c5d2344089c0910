//! `cargo xtask`: the one entry point for everything beyond `cargo build` and `cargo test`.
//!
//! - `cargo xtask fixtures`: installs the pinned npm corpora (three, react, react-dom, preact,
//!   preact-render-to-string, @oxc-project/runtime) and
//!   esbuild (for comparisons) into `.fixtures/npm` (git-ignored), then generates the
//!   benchmark corpora next to it: `.fixtures/three10` (ten copies of three.js's sources, esbuild's
//!   classic benchmark), `.fixtures/react-app` (the React TSX app of `tests/fixtures/apps`) and
//!   `.fixtures/synth-1000`, `.fixtures/synth-10000` (synthetic apps of N ES modules, generated
//!   from a fixed seed).
//! - `cargo xtask test`: `fixtures`, `cargo fmt --check`, clippy with warnings denied, then the
//!   whole test suite. This is what CI runs.
//! - `cargo xtask bench`: `fixtures`, then packem against esbuild, rolldown and rspack (pinned in
//!   `benches/peers/package.json`, installed into `.fixtures/peers`): cold builds, rebuild latency
//!   and the parse-only floor, written to `docs/benchmarks.md` (see `bench.rs`; `--quick` for a
//!   short run on `synth-1000`).
//! - `cargo xtask fuzz`: the fuzz targets of `fuzz/` under cargo-fuzz (see `fuzz.rs`).
// Tooling: reads and writes files directly (clippy.toml keeps the product on its file owners).
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

mod bench;
mod fuzz;
mod second_process;
mod targets_bench;
mod tidy;

/// npm packages the test suite uses, pinned so every machine tests the same code.
const NPM_PACKAGES: &[(&str, &str)] = &[
    ("three", "0.187.0"),
    ("react", "19.3.1"),
    ("react-dom", "19.3.1"),
    ("preact", "11.2.0"),
    ("preact-render-to-string", "6.8.2"),
    // Tree-shaking sizes (`crates/packem_cli/tests/shaking_sizes.rs`).
    ("lodash-es", "4.18.1"),
    ("date-fns", "4.4.0"),
    // The lowering helpers oxc's transformer imports for `--target` (pinned to the oxc version).
    ("@oxc-project/runtime", "0.146.0"),
    ("esbuild", "0.28.2"),
    // An independent source map decoder (`crates/packem_cli/tests/sourcemaps.rs`).
    ("source-map", "0.7.6"),
    // Type-checks a package built with `--declarations` (`crates/packem_cli/tests/declarations.rs`).
    ("typescript", "5.9.3"),
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("fixtures") => all_fixtures(&root),
        Some("bench") => bench::bench(&root, &args[1..]),
        Some("bench-targets") => targets_bench::bench_targets(&root, &args[1..]),
        Some("bench-second") => bench::bench_second(&root, &args[1..]),
        Some("tidy") => tidy::tidy(&root),
        Some("fuzz") => fuzz::fuzz(&root, &args[1..]),
        Some("test") => {
            all_fixtures(&root)?;
            let cargo = env_or("CARGO", "cargo");
            run(Command::new(&cargo).current_dir(&root).args(["fmt", "--all", "--", "--check"]))?;
            run(Command::new(&cargo).current_dir(&root).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))?;
            run(Command::new(&cargo).current_dir(&root).args(["test", "--workspace", "--all-targets"]).args(&args[1..]))
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <fixtures|test [cargo test args]|bench [--quick] [--corpus=NAME] [--reps=N] [--runs=N]|bench-targets [--runs=N]|tidy|fuzz [--time=S] [--parallel=N] [--minimize] [TARGET...]>"
            );
            bail!("unknown or missing task")
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// The npm packages, then the generated benchmark corpora.
fn all_fixtures(root: &Path) -> Result<()> {
    fixtures(root)?;
    corpora::three10(root)?;
    corpora::react_app(root)?;
    for &modules in corpora::SYNTH_SIZES {
        corpora::synth(root, modules)?;
    }
    Ok(())
}

/// Installs [`NPM_PACKAGES`] into `.fixtures/npm` unless the lock of what is there matches.
fn fixtures(root: &Path) -> Result<()> {
    let dir = root.join(".fixtures/npm");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let deps: serde_json::Map<String, serde_json::Value> =
        NPM_PACKAGES.iter().map(|(name, version)| (name.to_string(), serde_json::Value::from(*version))).collect();
    let manifest = serde_json::json!({
        "name": "packem-fixtures",
        "private": true,
        "description": "Installed by `cargo xtask fixtures`; never committed.",
        "dependencies": deps,
    });
    let manifest = serde_json::to_string_pretty(&manifest)? + "\n";
    npm_install(&dir, &manifest, "fixtures")
}

/// Writes `manifest` as `dir/package.json` and runs `npm install` there, unless the stamp left by
/// the last install says the same manifest is installed. `what` prefixes the progress lines.
fn npm_install(dir: &Path, manifest: &str, what: &str) -> Result<()> {
    let stamp = dir.join("node_modules/.packem-stamp");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(manifest) {
        eprintln!("{what}: up to date in {}", dir.display());
        return Ok(());
    }
    std::fs::write(dir.join("package.json"), manifest)?;
    eprintln!("{what}: installing npm packages into {}", dir.display());
    run(Command::new("npm").current_dir(dir).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
        "--loglevel=error",
    ]))?;
    std::fs::write(&stamp, manifest)?;
    Ok(())
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Generated benchmark corpora under `.fixtures/`. Everything is a pure function of the
/// parameters below (a fixed seed, never the clock), and each corpus carries a stamp with a
/// content hash of its parameters and of this generator's source, so it is regenerated only
/// when either changes.
mod corpora {
    use std::fmt::Write as _;
    use std::path::Path;

    use anyhow::{Context as _, Result};

    /// Module counts of the synthetic apps (`.fixtures/synth-<N>`).
    pub const SYNTH_SIZES: &[usize] = &[1000, 10000];
    /// How many copies of three.js's sources `.fixtures/three10` holds.
    const THREE_COPIES: usize = 10;
    /// The synthetic apps' random seed.
    const SYNTH_SEED: u64 = 0x9ac3_e11b_e4c4_0001;
    /// How far (in module indices) an import usually reaches.
    const WINDOW: usize = 40;
    const STAMP: &str = ".packem-stamp";

    /// FNV-1a, 64 bits: a stable content hash needing no dependency.
    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    }

    /// The stamp for a corpus: a hash of its parameters and of this file (the generator).
    fn stamp(params: &str) -> String {
        format!("{:016x}\n", fnv1a(format!("{params}\n{}", include_str!("main.rs")).as_bytes()))
    }

    /// Whether `dir` holds a complete corpus generated with `stamp`; if not, empties it.
    fn up_to_date(dir: &Path, stamp: &str) -> Result<bool> {
        if std::fs::read_to_string(dir.join(STAMP)).ok().as_deref() == Some(stamp) {
            eprintln!("fixtures: up to date in {}", dir.display());
            return Ok(true);
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(false)
    }

    /// `.fixtures/three10`: `copy0/` … `copy9/`, each a copy of `three/src`, and `entry.js`
    /// importing each copy's `Three.js` as a namespace and re-exporting the namespaces.
    pub fn three10(root: &Path) -> Result<()> {
        let dir = root.join(".fixtures/three10");
        let three = root.join(".fixtures/npm/node_modules/three");
        let version = std::fs::read_to_string(three.join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| json["version"].as_str().map(str::to_owned))
            .context("three is not installed in .fixtures/npm")?;
        let stamp = stamp(&format!("three10 three={version} copies={THREE_COPIES}"));
        if up_to_date(&dir, &stamp)? {
            return Ok(());
        }
        eprintln!("fixtures: generating {}", dir.display());
        let mut entry = String::new();
        for i in 0..THREE_COPIES {
            copy_dir(&three.join("src"), &dir.join(format!("copy{i}")))?;
            writeln!(entry, "import * as t{i} from './copy{i}/Three.js';")?;
        }
        let names: Vec<String> = (0..THREE_COPIES).map(|i| format!("t{i}")).collect();
        writeln!(entry, "export {{ {} }};", names.join(", "))?;
        std::fs::write(dir.join("entry.js"), entry)?;
        std::fs::write(dir.join(STAMP), stamp)?;
        Ok(())
    }

    /// `.fixtures/react-app`: a copy of the React app in `tests/fixtures/apps/react` (TSX with
    /// the automatic runtime from tsconfig.json, `react-dom/server`) whose `node_modules` links
    /// to `.fixtures/npm/node_modules`; the benchmarks edit its TSX and JavaScript leaves.
    pub fn react_app(root: &Path) -> Result<()> {
        let dir = root.join(".fixtures/react-app");
        let app = root.join("tests/fixtures/apps/react");
        let mut contents = Vec::new();
        let mut stack = vec![app.clone()];
        while let Some(d) = stack.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&d)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                if entry.file_type()?.is_dir() {
                    stack.push(entry.path());
                } else {
                    contents.extend(entry.path().strip_prefix(&app)?.to_string_lossy().as_bytes());
                    contents.extend(std::fs::read(entry.path())?);
                }
            }
        }
        let stamp = stamp(&format!("react-app {:016x}", fnv1a(&contents)));
        if up_to_date(&dir, &stamp)? {
            return Ok(());
        }
        eprintln!("fixtures: generating {}", dir.display());
        copy_dir(&app, &dir)?;
        std::os::unix::fs::symlink(root.join(".fixtures/npm/node_modules"), dir.join("node_modules"))?;
        std::fs::write(dir.join(STAMP), stamp)?;
        Ok(())
    }

    fn copy_dir(from: &Path, to: &Path) -> Result<()> {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
            let entry = entry?;
            let target = to.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                copy_dir(&entry.path(), &target)?;
            } else {
                std::fs::copy(entry.path(), &target)?;
            }
        }
        Ok(())
    }

    /// SplitMix64: a small, well-mixed deterministic generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in `lo..hi` (`hi > lo`).
        fn range(&mut self, lo: usize, hi: usize) -> usize {
            lo + (self.next() % (hi - lo) as u64) as usize
        }

        /// True with probability `percent`%.
        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.range(0, items.len())]
        }
    }

    /// How a module imports one of its dependencies.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Edge {
        /// `import runJ from …` and a call of it.
        Default,
        /// `import * as nsJ from …`, calling `nsJ.default` and reading `nsJ.CJ`.
        Namespace,
        /// `import { fJ_a, CJ } from …`.
        Named,
        /// `import('…').then((m) => m.default(…))` inside the default export.
        Dynamic,
        /// `export * from …`.
        Star,
    }

    /// Where module `i` lives, relative to `src/`.
    fn module_path(i: usize) -> String {
        format!("g{}/m{i}.js", i / 100)
    }

    /// The specifier module `from` uses for module `to`.
    fn specifier(from: usize, to: usize) -> String {
        if from / 100 == to / 100 { format!("./m{to}.js") } else { format!("../{}", module_path(to)) }
    }

    /// `.fixtures/synth-<modules>`: `src/index.js` importing the roots, and `modules` ES modules
    /// in `src/g<i/100>/m<i>.js`. Module `i` imports 1–4 modules with a larger index (most within
    /// [`WINDOW`], a few anywhere), so the graph is a DAG; every non-root module is imported by
    /// default or namespace by a lower one (its "parent") whose default export calls it, so every
    /// module is live. Each default export calls its own module's functions (and class, when it
    /// has one), so every export is used. Calls into dependencies are bounded by a depth argument,
    /// so running the bundle stays cheap.
    ///
    /// Benchmarks rely on two markers: every `fI_a` starts with `let acc = (input | 0) + 1;` (a
    /// literal to edit), and the last module imports nothing.
    pub fn synth(root: &Path, modules: usize) -> Result<()> {
        let dir = root.join(format!(".fixtures/synth-{modules}"));
        let stamp = stamp(&format!("synth modules={modules} seed={SYNTH_SEED} window={WINDOW}"));
        if up_to_date(&dir, &stamp)? {
            return Ok(());
        }
        eprintln!("fixtures: generating {}", dir.display());
        let mut rng = Rng(SYNTH_SEED ^ modules as u64);
        let roots = (modules / 100).max(1);

        // The edges: first each non-root module's parent, then more dependencies up to a target
        // of 1–4 per module.
        let mut deps: Vec<Vec<(usize, Edge)>> = vec![Vec::new(); modules];
        let wanted: Vec<usize> = (0..modules).map(|_| rng.range(1, 5)).collect();
        for j in roots..modules {
            let lo = j.saturating_sub(WINDOW);
            let mut parent = rng.range(lo, j);
            for _ in 0..8 {
                if deps[parent].len() < wanted[parent] {
                    break;
                }
                parent = rng.range(lo, j);
            }
            let edge = if rng.chance(60) { Edge::Default } else { Edge::Namespace };
            deps[parent].push((j, edge));
        }
        for (i, module_deps) in deps.iter_mut().enumerate() {
            let mut attempts = 0;
            while module_deps.len() < wanted[i] && i + 1 < modules && attempts < 16 {
                attempts += 1;
                let dep = if rng.chance(10) {
                    rng.range(i + 1, modules)
                } else {
                    rng.range(i + 1, (i + 1 + WINDOW).min(modules))
                };
                if module_deps.iter().any(|&(d, _)| d == dep) {
                    continue;
                }
                let edge = match rng.range(0, 100) {
                    0..40 => Edge::Named,
                    40..60 => Edge::Default,
                    60..80 => Edge::Namespace,
                    80..92 => Edge::Dynamic,
                    _ => Edge::Star,
                };
                module_deps.push((dep, edge));
            }
        }

        for (i, module_deps) in deps.iter().enumerate() {
            let path = dir.join("src").join(module_path(i));
            std::fs::create_dir_all(path.parent().unwrap())?;
            std::fs::write(&path, module_source(&mut rng, i, module_deps))?;
        }
        let mut index = format!("// synth-{modules}: the entry, importing the {roots} root modules.\n");
        for r in 0..roots {
            writeln!(index, "import run{r} from './{}';", module_path(r))?;
        }
        index.push_str("\nlet total = 0;\n");
        for r in 0..roots {
            writeln!(index, "total += run{r}({r}, 3);")?;
        }
        index.push_str("\nexport default total;\n");
        std::fs::write(dir.join("src/index.js"), index)?;
        std::fs::write(dir.join(STAMP), stamp)?;
        Ok(())
    }

    const WORDS: &[&str] = &[
        "alpha", "render", "layout", "commit", "queue", "state", "cache", "route", "token", "frame", "batch", "signal",
        "effect", "store", "widget", "panel", "cursor", "scroll", "index", "shadow",
    ];

    /// One module's source.
    fn module_source(rng: &mut Rng, i: usize, deps: &[(usize, Edge)]) -> String {
        let mut out = format!("// m{i}: generated by `cargo xtask fixtures`.\n");
        for &(j, edge) in deps {
            let spec = specifier(i, j);
            match edge {
                Edge::Default => writeln!(out, "import run{j} from '{spec}';"),
                Edge::Namespace => writeln!(out, "import * as ns{j} from '{spec}';"),
                Edge::Named => writeln!(out, "import {{ f{j}_a, C{j} }} from '{spec}';"),
                Edge::Star => writeln!(out, "export * from '{spec}';"),
                Edge::Dynamic => Ok(()),
            }
            .unwrap();
        }
        out.push('\n');

        let (w1, w2) = (rng.pick(WORDS), rng.pick(WORDS));
        writeln!(
            out,
            "export const C{i} = {{\n  id: {i},\n  name: 'm{i}',\n  kind: '{w1}',\n  weights: [{}, {}, {}],\n  \
             flags: {{ enabled: {}, level: {} }},\n  describe(extra) {{\n    return `{w2} m{i} ${{this.kind}} \
             ${{extra}}`;\n  }},\n}};\n",
            rng.range(1, 100),
            rng.range(1, 100),
            rng.range(1, 100),
            rng.chance(50),
            rng.range(0, 9),
        )
        .unwrap();

        out.push_str(&format!("export function f{i}_a(input, depth) {{\n  let acc = (input | 0) + 1;\n"));
        let count = rng.range(3, 6);
        body(rng, &mut out, count);
        out.push_str("  return acc % 1000003;\n}\n\n");
        out.push_str(&format!("export function f{i}_b(items) {{\n  let acc = items.length;\n"));
        let count = rng.range(2, 5);
        body(rng, &mut out, count);
        out.push_str("  return acc % 1000003;\n}\n\n");

        let class = rng.chance(25);
        if class {
            writeln!(
                out,
                "export class K{i} {{\n  constructor(seed) {{\n    this.seed = seed;\n    this.items = [];\n  }}\n\n  \
                 step() {{\n    this.items.push(this.seed);\n    this.seed = (this.seed * {} + {}) % 65521;\n    \
                 return this.seed;\n  }}\n\n  get size() {{\n    return this.items.length;\n  }}\n}}\n",
                rng.range(3, 50),
                rng.range(1, 1000),
            )
            .unwrap();
        }

        out.push_str(&format!(
            "export default function run{i}(input, depth) {{\n  let acc = f{i}_a(input, depth) + f{i}_b([input, \
             depth]) + C{i}.weights[0];\n  acc += C{i}.describe(depth).length;\n"
        ));
        if class {
            out.push_str(&format!("  const k = new K{i}(acc);\n  acc += k.step() + k.size;\n"));
        }
        if !deps.is_empty() {
            out.push_str("  if (depth > 0) {\n");
            for &(j, edge) in deps {
                let spec = specifier(i, j);
                match edge {
                    Edge::Default => writeln!(out, "    acc += run{j}(acc % 97, depth - 1);"),
                    Edge::Namespace => writeln!(out, "    acc += ns{j}.default(acc % 89, depth - 1) + ns{j}.C{j}.id;"),
                    Edge::Named => writeln!(out, "    acc += f{j}_a(acc % 83, depth - 1) + C{j}.flags.level;"),
                    Edge::Dynamic => writeln!(
                        out,
                        "    if (depth > 2) {{\n      import('{spec}').then((m) => m.default(acc % 79, 0));\n    }}"
                    ),
                    Edge::Star => Ok(()),
                }
                .unwrap();
            }
            out.push_str("  }\n");
        }
        out.push_str("  return acc % 1000003;\n}\n");
        out
    }

    /// `count` statements updating `acc`.
    fn body(rng: &mut Rng, out: &mut String, count: usize) {
        for s in 0..count {
            let (a, b, n) = (rng.range(2, 50), rng.range(2, 50), rng.range(3, 20));
            let (w1, w2) = (rng.pick(WORDS), rng.pick(WORDS));
            let text = match rng.range(0, 8) {
                0 => format!(
                    "  for (let k = 0; k < {n}; k++) {{\n    acc += (k * {a}) % {b};\n    if (acc > 100000) {{\n      \
                     acc -= 100000;\n    }}\n  }}\n"
                ),
                1 => format!(
                    "  const cfg{s} = {{\n    mode: '{w1}',\n    size: {n},\n    nested: {{ x: {a}, y: {b}, list: [{a}, \
                     {b}, {n}] }},\n  }};\n  acc += cfg{s}.size + cfg{s}.nested.list.length;\n"
                ),
                2 => format!(
                    "  const msg{s} = `{w1} ${{acc}} of {w2} [${{typeof acc}}]`;\n  acc += msg{s}.length;\n  if \
                     (msg{s}.includes('{w2}')) {{\n    acc += {a};\n  }}\n"
                ),
                3 => format!(
                    "  const arr{s} = Array.from({{ length: {n} }}, (_, k) => k * {a});\n  acc += arr{s}\n    \
                     .filter((v) => v % {b} === 0)\n    .map((v) => v + 1)\n    .reduce((sum, v) => sum + v, 0);\n"
                ),
                4 => format!(
                    "  switch (acc % 3) {{\n    case 0:\n      acc += {a};\n      break;\n    case 1:\n      acc -= \
                     {b};\n      break;\n    default:\n      acc = acc * 2;\n  }}\n"
                ),
                5 => format!(
                    "  const {{ x: x{s}, y: y{s} = {a} }} = {{ x: acc, ...{{ z: {b} }} }};\n  acc += x{s} + y{s};\n"
                ),
                6 => {
                    format!("  let w{s} = {n};\n  while (w{s} > 0) {{\n    acc += w{s} & {a};\n    w{s} >>= 1;\n  }}\n")
                }
                _ => format!(
                    "  try {{\n    acc += JSON.parse('{{\"v\": {a}}}').v;\n  }} catch (err) {{\n    acc = \
                     String(err).length;\n  }}\n"
                ),
            };
            out.push_str(&text);
        }
    }
}
