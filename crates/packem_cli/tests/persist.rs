//! The persistent cache between processes (`node_modules/.cache/packem/packem.cache`), end to
//! end: every build that reads it is a new `packem` process, and its outputs must equal, byte for
//! byte, those of a `--no-cache` build of the same files with the same flags. Covers a seeded
//! random walk of edits, renames, deletions, `exports` edits and option changes; that a second
//! process parses only what changed (from `PACKEM_LOG=packem_parse=debug` spans); the faults the
//! cache must survive (truncation, bit flips, another build's file, a build killed mid-write, two
//! builds racing, an unwritable directory, an edit keeping size and mtime); and
//! `packem cache info|clean`.
//!
//! Every project comes from [`Model`]: ESM and CommonJS modules under `src/` (some in `src/lib/`)
//! importing modules of lower rank (no cycles), `src/data.json`, and `node_modules/pkg` whose
//! `package.json` `exports` maps `.` and `./sub`; entries `src/main.js` and `src/other.js` (with a
//! dynamic `import()`). Randomness is a splitmix64 seeded from `PACKEM_PERSIST_SEED` (default a
//! fixed seed, so a failure reproduces), printed on failure with the step log.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{files_under, stderr, stdout};

/// What every cache warning starts with (`crates/packem_cli/src/cache.rs`).
const WARNING: &str = "[WARNING] The persistent cache";

const ENTRIES: [&str; 2] = ["src/main.js", "src/other.js"];

// ---------------------------------------------------------------------------------------------
// Randomness

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// The base seed: `PACKEM_PERSIST_SEED` (decimal or `0x` hex) or a fixed default.
fn base_seed() -> u64 {
    match std::env::var("PACKEM_PERSIST_SEED") {
        Ok(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).expect("PACKEM_PERSIST_SEED"),
            None => s.parse().expect("PACKEM_PERSIST_SEED"),
        },
        Err(_) => 0x5EED_CAC4E,
    }
}

// ---------------------------------------------------------------------------------------------
// Running packem

/// Runs `bin` in `cwd` (no colors; tracing only from `env`).
fn run_bin(bin: &Path, cwd: &Path, args: &[String], env: &[(&str, &str)]) -> Output {
    let mut attempts = 0;
    loop {
        let mut cmd = Command::new(bin);
        cmd.current_dir(cwd).args(args).env("NO_COLOR", "1").env_remove("PACKEM_LOG").env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        match cmd.output() {
            Ok(out) => return out,
            // A binary this test just copied can be "busy" while another test thread's child
            // still holds the copy's write descriptor (inherited across fork): retry.
            Err(e) if e.raw_os_error() == Some(26) && attempts < 50 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("running {}: {e}", bin.display()),
        }
    }
}

fn packem_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_packem"))
}

/// `packem build <entries> --outdir=<out> <flags> <extra>` after removing `out`.
fn build_args(out: &str, flags: &[String], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["build".to_string()];
    args.extend(ENTRIES.iter().map(|e| e.to_string()));
    args.push(format!("--outdir={out}"));
    args.extend(flags.iter().cloned());
    args.extend(extra.iter().map(|e| e.to_string()));
    args
}

fn build_with(bin: &Path, dir: &Path, out: &str, flags: &[String], extra: &[&str]) -> Output {
    remove_dir(&dir.join(out));
    run_bin(bin, dir, &build_args(out, flags, extra), &[])
}

/// A build reading and writing the default cache, into `out`.
fn cached(dir: &Path, out: &str, flags: &[String]) -> Output {
    build_with(&packem_bin(), dir, out, flags, &[])
}

/// A `--no-cache` build into `out-cold`; panics unless it succeeds.
fn cold(dir: &Path, flags: &[String]) {
    let out = build_with(&packem_bin(), dir, "out-cold", flags, &["--no-cache"]);
    assert!(out.status.success(), "the --no-cache build failed ({flags:?}):\n{}", stderr(&out));
    assert!(!stderr(&out).contains(WARNING), "--no-cache printed a cache warning:\n{}", stderr(&out));
}

fn remove_dir(path: &Path) {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("removing {}: {e}", path.display()),
        _ => {}
    }
}

/// `None` when `a` and `b` hold the same file names with the same bytes, else what differs.
fn diff_dirs(a: &Path, b: &Path) -> Option<String> {
    let (fa, fb) = (files_under(a), files_under(b));
    if fa != fb {
        return Some(format!("different files:\n  {}: {fa:?}\n  {}: {fb:?}", a.display(), b.display()));
    }
    if fa.is_empty() {
        return Some(format!("no outputs in {}", a.display()));
    }
    for name in &fa {
        let (x, y) = (std::fs::read(a.join(name)).unwrap(), std::fs::read(b.join(name)).unwrap());
        if x != y {
            let (x, y) = (String::from_utf8_lossy(&x), String::from_utf8_lossy(&y));
            let line =
                x.lines().zip(y.lines()).position(|(l, r)| l != r).unwrap_or(x.lines().count().min(y.lines().count()));
            let show = |s: &str| s.lines().nth(line).unwrap_or("<end>").chars().take(400).collect::<String>();
            return Some(format!(
                "{name} differs ({} vs {} bytes), first at line {}:\n  {}: {}\n  {}: {}",
                x.len(),
                y.len(),
                line + 1,
                a.display(),
                show(&x),
                b.display(),
                show(&y)
            ));
        }
    }
    None
}

/// Panics (with `context`) unless `dir/out` equals `dir/out-cold` name for name, byte for byte.
fn assert_same(dir: &Path, out: &str, context: &str) {
    if let Some(diff) = diff_dirs(&dir.join(out), &dir.join("out-cold")) {
        panic!("{out} differs from the --no-cache build ({context}):\n{diff}");
    }
}

fn assert_ok(out: &Output, context: &str) {
    assert!(out.status.success(), "build failed ({context}): {:?}\n{}", out.status, stderr(out));
}

fn warned(out: &Output) -> bool {
    stderr(out).contains(WARNING)
}

fn cache_file(dir: &Path) -> PathBuf {
    dir.join("node_modules/.cache/packem/packem.cache")
}

/// A packem exit status that is not a panic (101): 0, 1, or killed by a signal.
fn assert_no_panic(status: ExitStatus, context: &str) {
    assert!(matches!(status.code(), None | Some(0) | Some(1)), "packem exited with {status:?} ({context})");
}

// ---------------------------------------------------------------------------------------------
// The generated project

#[derive(Clone, Debug)]
struct Module {
    cjs: bool,
    /// A module imports only modules of lower rank.
    rank: u64,
    /// In `src/lib/` rather than `src/`.
    lib: bool,
    /// How many times it was renamed (part of its file name).
    renamed: u32,
    version: u32,
    imports: Vec<u32>,
    json: bool,
    pkg: bool,
    sub: bool,
    /// Extra exported functions (parse work).
    filler: usize,
}

#[derive(Clone, Debug)]
struct Entry {
    path: &'static str,
    version: u32,
    imports: Vec<u32>,
    /// ESM modules loaded with `import()`.
    dynamic: Vec<u32>,
    /// ESM modules whose otherwise unused export `unused<id>` it imports (tree shaking keeps it).
    uses_unused: Vec<u32>,
}

#[derive(Debug)]
struct Model {
    modules: BTreeMap<u32, Module>,
    entries: Vec<Entry>,
    /// `exports["./sub"]` is `./sub-b.js` (else `./sub-a.js`).
    sub_b: bool,
    json_version: u32,
    next_id: u32,
    filler: usize,
    /// What [`Model::sync`] last wrote: path -> text.
    written: BTreeMap<String, String>,
}

const RANK_STEP: u64 = 1 << 20;

impl Module {
    fn stem(&self, id: u32) -> String {
        let letter = if self.cjs { 'c' } else { 'm' };
        match self.renamed {
            0 => format!("{letter}{id}"),
            n => format!("{letter}{id}_r{n}"),
        }
    }
    fn file(&self, id: u32) -> String {
        format!("{}.{}", self.stem(id), if self.cjs { "cjs" } else { "js" })
    }
    fn path(&self, id: u32) -> String {
        format!("src/{}{}", if self.lib { "lib/" } else { "" }, self.file(id))
    }
}

impl Model {
    /// `esm` + `cjs` modules, each importing up to three of lower rank; every module is reached
    /// from an entry.
    fn generate(rng: &mut Rng, esm: usize, cjs: usize, filler: usize) -> Model {
        let count = esm + cjs;
        let mut cjs_ids: BTreeSet<u32> = BTreeSet::new();
        while cjs_ids.len() < cjs {
            cjs_ids.insert(rng.below(count) as u32);
        }
        let mut modules = BTreeMap::new();
        for id in 0..count as u32 {
            let mut imports = Vec::new();
            if id > 0 {
                for _ in 0..rng.below(4) {
                    let dep = rng.below(id as usize) as u32;
                    if !imports.contains(&dep) {
                        imports.push(dep);
                    }
                }
            }
            modules.insert(
                id,
                Module {
                    cjs: cjs_ids.contains(&id),
                    rank: id as u64 * RANK_STEP,
                    lib: rng.chance(30),
                    renamed: 0,
                    version: 0,
                    imports,
                    json: rng.chance(15),
                    pkg: rng.chance(15),
                    sub: rng.chance(15),
                    filler,
                },
            );
        }
        let mut entries = vec![
            Entry { path: ENTRIES[0], version: 0, imports: Vec::new(), dynamic: Vec::new(), uses_unused: Vec::new() },
            Entry { path: ENTRIES[1], version: 0, imports: Vec::new(), dynamic: Vec::new(), uses_unused: Vec::new() },
        ];
        let ids: Vec<u32> = modules.keys().copied().collect();
        for (e, n) in [(0, 4), (1, 3)] {
            for _ in 0..n {
                let id = rng.pick(&ids);
                if !entries[e].imports.contains(&id) {
                    entries[e].imports.push(id);
                }
            }
        }
        let esm_ids: Vec<u32> = ids.iter().copied().filter(|id| !modules[id].cjs).collect();
        entries[0].dynamic.push(rng.pick(&esm_ids));
        let imported: BTreeSet<u32> = modules
            .values()
            .flat_map(|m| m.imports.iter().copied())
            .chain(entries.iter().flat_map(|e| e.imports.iter().chain(&e.dynamic).copied()))
            .collect();
        for id in ids {
            if !imported.contains(&id) {
                entries[rng.below(2)].imports.push(id);
            }
        }
        Model {
            modules,
            entries,
            sub_b: false,
            json_version: 0,
            next_id: count as u32,
            filler,
            written: BTreeMap::new(),
        }
    }

    /// The specifier of module `to` from a file in `src/lib/` (`from_lib`) or `src/`.
    fn spec(&self, from_lib: bool, to: u32) -> String {
        let m = &self.modules[&to];
        let prefix = match (from_lib, m.lib) {
            (false, false) | (true, true) => "./",
            (false, true) => "./lib/",
            (true, false) => "../",
        };
        format!("{prefix}{}", m.file(to))
    }

    /// ESM import lines for `imports` (+ json/pkg/sub) and the expressions of their values.
    fn esm_imports(&self, from_lib: bool, imports: &[u32], json: bool, pkg: bool, sub: bool) -> (String, Vec<String>) {
        let (mut text, mut parts) = (String::new(), Vec::new());
        for &dep in imports {
            let spec = self.spec(from_lib, dep);
            if self.modules[&dep].cjs {
                text += &format!("import d{dep} from '{spec}';\n");
                parts.push(format!("d{dep}.v{dep}"));
            } else {
                text += &format!("import {{ v{dep} }} from '{spec}';\n");
                parts.push(format!("v{dep}"));
            }
        }
        if json {
            text += &format!("import data from '{}data.json';\n", if from_lib { "../" } else { "./" });
            parts.push("data.n".into());
        }
        if pkg {
            text += "import { pkgMain } from 'pkg';\n";
            parts.push("pkgMain".into());
        }
        if sub {
            text += "import { sub } from 'pkg/sub';\n";
            parts.push("sub".into());
        }
        (text, parts)
    }

    fn module_text(&self, id: u32) -> String {
        let m = &self.modules[&id];
        let v = m.version;
        let mut s = format!("// {} version {v}\n", m.file(id));
        if m.cjs {
            let mut parts = Vec::new();
            for &dep in &m.imports {
                s += &format!("const d{dep} = require('{}');\n", self.spec(m.lib, dep));
                parts.push(format!("d{dep}.v{dep}"));
            }
            if m.json {
                s += &format!("const data = require('{}data.json');\n", if m.lib { "../" } else { "./" });
                parts.push("data.n".into());
            }
            if m.pkg {
                s += "const pkg = require('pkg');\n";
                parts.push("pkg.pkgMain".into());
            }
            if m.sub {
                s += "const sub = require('pkg/sub');\n";
                parts.push("sub.sub".into());
            }
            for k in 0..m.filler {
                s += &format!(
                    "module.exports.helper{id}_{k} = function (a) {{\n  return a.map((x) => x * {k} + {v}).filter(Boolean);\n}};\n"
                );
            }
            s += &format!(
                "module.exports.v{id} = 'c{id}@{v}:' + [{}].join(',') + (process.env.X === '2' ? '?' : '');\n",
                parts.join(", ")
            );
            s += &format!("module.exports.unused{id} = {v};\n");
        } else {
            let (imports, parts) = self.esm_imports(m.lib, &m.imports, m.json, m.pkg, m.sub);
            s += &imports;
            for k in 0..m.filler {
                s += &format!(
                    "export function helper{id}_{k}(a) {{\n  return a.map((x) => x * {k} + {v}).filter(Boolean);\n}}\n"
                );
            }
            // `label` and `fmt` in every module: the bundle renames all but one, so a module's
            // output depends on which others are in the bundle, not only on its own text.
            s += &format!("const label = 'm{id}@{v}';\n");
            s += "function fmt(s) {\n  return process.env.X === '1' ? s + '!' : s;\n}\n";
            s += &format!("export const v{id} = fmt(label + ':' + [{}].join(','));\n", parts.join(", "));
            s += &format!("export const unused{id} = {v};\n");
        }
        s
    }

    fn entry_text(&self, e: &Entry) -> String {
        let (mut s, mut parts) = self.esm_imports(false, &e.imports, false, false, false);
        for &id in &e.uses_unused {
            s += &format!("import {{ unused{id} }} from '{}';\n", self.spec(false, id));
            parts.push(format!("unused{id}"));
        }
        s += &format!("console.log('{} {}', [{}].join(' '));\n", e.path, e.version, parts.join(", "));
        for &dep in &e.dynamic {
            s += &format!("import('{}').then((m) => console.log('lazy', m.v{dep}));\n", self.spec(false, dep));
        }
        s
    }

    fn files(&self) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        files.insert("package.json".to_string(), "{ \"name\": \"app\", \"private\": true }\n".to_string());
        files.insert("src/data.json".to_string(), format!("{{ \"name\": \"data\", \"n\": {} }}\n", self.json_version));
        let sub = if self.sub_b { "./sub-b.js" } else { "./sub-a.js" };
        files.insert(
            "node_modules/pkg/package.json".to_string(),
            format!("{{\n  \"name\": \"pkg\",\n  \"version\": \"1.0.0\",\n  \"exports\": {{ \".\": \"./index.js\", \"./sub\": \"{sub}\" }}\n}}\n"),
        );
        files.insert("node_modules/pkg/index.js".to_string(), "export const pkgMain = 'pkg-main';\n".to_string());
        files.insert("node_modules/pkg/sub-a.js".to_string(), "export const sub = 'sub-a';\n".to_string());
        files.insert("node_modules/pkg/sub-b.js".to_string(), "export const sub = 'sub-b';\n".to_string());
        for e in &self.entries {
            files.insert(e.path.to_string(), self.entry_text(e));
        }
        for (&id, m) in &self.modules {
            files.insert(m.path(id), self.module_text(id));
        }
        files
    }

    /// Writes the files that changed since the last sync and removes those that are gone.
    fn sync(&mut self, dir: &Path) {
        let files = self.files();
        for (path, text) in &files {
            if self.written.get(path) != Some(text) {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
        }
        for path in self.written.keys() {
            if !files.contains_key(path) {
                std::fs::remove_file(dir.join(path)).unwrap();
            }
        }
        self.written = files;
    }

    fn ids(&self) -> Vec<u32> {
        self.modules.keys().copied().collect()
    }

    fn name(&self, id: u32) -> String {
        self.modules[&id].path(id)
    }

    /// Edits the body of module `id` (a new string literal, a new filler constant).
    fn edit_body(&mut self, id: u32) {
        self.modules.get_mut(&id).unwrap().version += 1;
    }

    /// One random edit of the files; returns what it did.
    fn mutate(&mut self, rng: &mut Rng) -> String {
        let ids = self.ids();
        match rng.below(8) {
            0 if rng.chance(20) => {
                self.json_version += 1;
                format!("edit src/data.json (n = {})", self.json_version)
            }
            0 if rng.chance(15) => {
                let e = rng.below(self.entries.len());
                self.entries[e].version += 1;
                format!("edit the body of {}", self.entries[e].path)
            }
            0 => {
                let id = rng.pick(&ids);
                self.edit_body(id);
                format!("edit the body of {}", self.name(id))
            }
            1 => {
                // Add an import: into an entry (any module) or a module (one of lower rank).
                if rng.chance(25) {
                    let e = rng.below(self.entries.len());
                    let id = rng.pick(&ids);
                    if self.entries[e].imports.contains(&id) {
                        return self.mutate(rng);
                    }
                    self.entries[e].imports.push(id);
                    return format!("{} imports {}", self.entries[e].path, self.name(id));
                }
                let id = rng.pick(&ids);
                let rank = self.modules[&id].rank;
                let candidates: Vec<u32> = ids
                    .iter()
                    .copied()
                    .filter(|d| self.modules[d].rank < rank && !self.modules[&id].imports.contains(d))
                    .collect();
                if candidates.is_empty() {
                    return self.mutate(rng);
                }
                let dep = rng.pick(&candidates);
                self.modules.get_mut(&id).unwrap().imports.push(dep);
                format!("{} imports {}", self.name(id), self.name(dep))
            }
            2 => {
                let with: Vec<u32> = ids.iter().copied().filter(|id| !self.modules[id].imports.is_empty()).collect();
                if with.is_empty() || rng.chance(20) {
                    let e = rng.below(self.entries.len());
                    if self.entries[e].imports.len() < 2 {
                        return self.mutate(rng);
                    }
                    let at = rng.below(self.entries[e].imports.len());
                    let dep = self.entries[e].imports.remove(at);
                    return format!("{} no longer imports {}", self.entries[e].path, self.name(dep));
                }
                let id = rng.pick(&with);
                let m = self.modules.get_mut(&id).unwrap();
                let dep = m.imports.remove(rng.below(m.imports.len()));
                format!("{} no longer imports {}", self.name(id), self.name(dep))
            }
            3 => {
                // Create a module and import it from an entry or a module of higher rank.
                let id = self.next_id;
                self.next_id += 1;
                let max = self.modules.values().map(|m| m.rank).max().unwrap_or(0);
                let rank = self.next_rank(rng, max);
                let lower: Vec<u32> = ids.iter().copied().filter(|d| self.modules[d].rank < rank).collect();
                let mut imports = Vec::new();
                for _ in 0..rng.below(3) {
                    if !lower.is_empty() {
                        let dep = rng.pick(&lower);
                        if !imports.contains(&dep) {
                            imports.push(dep);
                        }
                    }
                }
                let m = Module {
                    cjs: rng.chance(20),
                    rank,
                    lib: rng.chance(30),
                    renamed: 0,
                    version: 0,
                    imports,
                    json: rng.chance(20),
                    pkg: rng.chance(20),
                    sub: rng.chance(20),
                    filler: self.filler,
                };
                self.modules.insert(id, m);
                let higher: Vec<u32> = ids.iter().copied().filter(|d| self.modules[d].rank > rank).collect();
                let importer = if higher.is_empty() || rng.chance(40) {
                    let e = rng.below(self.entries.len());
                    self.entries[e].imports.push(id);
                    self.entries[e].path.to_string()
                } else {
                    let by = rng.pick(&higher);
                    self.modules.get_mut(&by).unwrap().imports.push(id);
                    self.name(by)
                };
                format!("create {} (imports {:?}), imported by {importer}", self.name(id), self.modules[&id].imports)
            }
            4 => {
                if ids.len() <= 3 {
                    return self.mutate(rng);
                }
                let id = rng.pick(&ids);
                let name = self.name(id);
                self.modules.remove(&id);
                for m in self.modules.values_mut() {
                    m.imports.retain(|&d| d != id);
                }
                for e in &mut self.entries {
                    e.imports.retain(|&d| d != id);
                    e.dynamic.retain(|&d| d != id);
                    e.uses_unused.retain(|&d| d != id);
                }
                format!("delete {name} (and its imports)")
            }
            5 => {
                let id = rng.pick(&ids);
                let old = self.name(id);
                let m = self.modules.get_mut(&id).unwrap();
                m.renamed += 1;
                if rng.chance(50) {
                    m.lib = !m.lib;
                }
                format!("rename {old} to {}", self.name(id))
            }
            6 => {
                // An entry starts or stops using a module's `unused<id>` export: that module's
                // text is unchanged, its output is not.
                let e = rng.below(self.entries.len());
                if !self.entries[e].uses_unused.is_empty() && rng.chance(50) {
                    let id = self.entries[e].uses_unused.remove(0);
                    return format!("{} no longer uses unused{id} of {}", self.entries[e].path, self.name(id));
                }
                let esm: Vec<u32> = ids.iter().copied().filter(|id| !self.modules[id].cjs).collect();
                if esm.is_empty() {
                    return "no ESM module to use".to_string();
                }
                let id = rng.pick(&esm);
                if self.entries[e].uses_unused.contains(&id) {
                    return self.mutate(rng);
                }
                self.entries[e].uses_unused.push(id);
                format!("{} uses unused{id} of {}", self.entries[e].path, self.name(id))
            }
            _ => {
                self.sub_b = !self.sub_b;
                format!("point exports[\"./sub\"] at {}", if self.sub_b { "./sub-b.js" } else { "./sub-a.js" })
            }
        }
    }

    fn next_rank(&self, rng: &mut Rng, max: u64) -> u64 {
        loop {
            let rank = rng.next() % (max + RANK_STEP);
            if self.modules.values().all(|m| m.rank != rank) {
                return rank;
            }
        }
    }
}

/// Build options the random walk toggles between steps.
#[derive(Clone, Debug)]
struct Opts {
    format: &'static str,
    minify: bool,
    sourcemap: bool,
    define: u8,
    splitting: bool,
}

impl Opts {
    fn random(rng: &mut Rng) -> Opts {
        let format = rng.pick(&["esm", "cjs", "iife"]);
        Opts {
            format,
            minify: rng.chance(30),
            sourcemap: rng.chance(30),
            define: rng.below(3) as u8,
            splitting: format == "esm" && rng.chance(40),
        }
    }

    fn flags(&self) -> Vec<String> {
        let mut flags = vec![format!("--format={}", self.format)];
        if self.minify {
            flags.push("--minify".into());
        }
        if self.sourcemap {
            flags.push("--sourcemap".into());
        }
        if self.define > 0 {
            flags.push(format!("--define:process.env.X=\"{}\"", self.define));
        }
        if self.splitting {
            flags.push("--splitting".into());
        }
        flags
    }

    fn mutate(&mut self, rng: &mut Rng) {
        match rng.below(5) {
            0 => {
                let others: Vec<&'static str> =
                    ["esm", "cjs", "iife"].into_iter().filter(|f| *f != self.format).collect();
                self.format = rng.pick(&others);
                self.splitting &= self.format == "esm";
            }
            1 => self.minify = !self.minify,
            2 => self.sourcemap = !self.sourcemap,
            3 => self.define = (self.define + 1) % 3,
            _ => {
                self.splitting = !self.splitting;
                if self.splitting {
                    self.format = "esm";
                }
            }
        }
    }
}

/// A project from a fresh [`Model`] written into a temp dir.
fn generated(seed: u64, esm: usize, cjs: usize, filler: usize) -> (tempfile::TempDir, Model, Rng) {
    let mut rng = Rng::new(seed);
    let mut model = Model::generate(&mut rng, esm, cjs, filler);
    let dir = tempfile::tempdir().unwrap();
    model.sync(dir.path());
    (dir, model, rng)
}

fn default_flags() -> Vec<String> {
    vec!["--format=esm".to_string()]
}

// ---------------------------------------------------------------------------------------------
// 1. The random walk

#[test]
fn every_step_a_new_process_equals_a_build_without_cache() {
    const SEQUENCES: u64 = 8;
    const STEPS: usize = 8;
    let seed = base_seed();
    let mut journal_hits = 0;
    for seq in 0..SEQUENCES {
        let seq_seed = Rng::new(seed ^ seq.wrapping_mul(0xA076_1D64_78BD_642F)).next();
        let mut rng = Rng::new(seq_seed);
        let (esm, cjs) = (15 + rng.below(16), 2 + rng.below(3));
        let (dir, mut model, mut rng) = generated(rng.next(), esm, cjs, 0);
        let d = dir.path();
        let mut opts = Opts::random(&mut rng);
        let mut log = vec![format!("generate {esm} ESM + {cjs} CommonJS modules; options {:?}", opts.flags())];
        let fail = |log: &[String], what: String| -> ! {
            panic!(
                "seed {seed:#x} (PACKEM_PERSIST_SEED), sequence {seq}:\n{}\n\n{what}",
                log.iter().enumerate().map(|(i, l)| format!("  {i}. {l}")).collect::<Vec<_>>().join("\n")
            )
        };
        // Odd sequences build into one output directory that stays, from sources made older than
        // the timestamp granularity after each step: each build leaves a journal and each next
        // one checks it (see `packem_host`'s journal), and some steps change nothing at all.
        let aged = seq % 2 == 1;
        let mut last_flags = None;
        for step in 0..=STEPS {
            if step > 0 && aged && rng.chance(25) {
                log.push("nothing".to_string());
            } else if step > 0 {
                let mut did = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    if rng.chance(20) {
                        opts.mutate(&mut rng);
                        did.push(format!("options {:?}", opts.flags()));
                    } else {
                        did.push(model.mutate(&mut rng));
                    }
                }
                model.sync(d);
                log.push(did.join("; "));
            }
            let flags = opts.flags();
            let warm = if aged {
                // Another command line writes other files, and a new process does not know the
                // old ones (nor does esbuild delete them): start that output directory afresh.
                if last_flags.as_ref() != Some(&flags) {
                    remove_dir(&d.join("out/kept"));
                    last_flags = Some(flags.clone());
                }
                age_recent(d);
                let out =
                    run_bin(&packem_bin(), d, &build_args("out/kept", &flags, &[]), &[("PACKEM_LOG", JOURNAL_LOG)]);
                journal_hits += usize::from(stderr(&out).contains("same=true"));
                out
            } else {
                cached(d, "out/cache", &flags)
            };
            if !warm.status.success() {
                fail(&log, format!("the cached build failed: {:?}\n{}", warm.status, stderr(&warm)));
            }
            if warned(&warm) {
                fail(&log, format!("the cached build warned:\n{}", stderr(&warm)));
            }
            // Below `out/`, made once, so that the project directory's stamp stays put.
            let cold_out = build_with(&packem_bin(), d, "out/cold", &flags, &["--no-cache"]);
            if !cold_out.status.success() {
                fail(&log, format!("the --no-cache build failed: {:?}\n{}", cold_out.status, stderr(&cold_out)));
            }
            if aged {
                // Files an earlier build named by content (split chunks) stay behind in a kept
                // directory, as with esbuild: the outputs of this build are what must match.
                for entry in std::fs::read_dir(d.join("out/kept")).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_file() && !d.join("out/cold").join(path.file_name().unwrap()).exists() {
                        std::fs::remove_file(&path).unwrap();
                    }
                }
            }
            if let Some(diff) = diff_dirs(&d.join(if aged { "out/kept" } else { "out/cache" }), &d.join("out/cold")) {
                fail(&log, format!("step {step}: the cached build differs from --no-cache:\n{diff}"));
            }
        }
    }
    assert!(journal_hits > 0, "no build of the aged sequences was found unchanged by its journal");
}

/// Tracing that shows whether a build's journal found nothing changed (`same=true`).
const JOURNAL_LOG: &str = "packem_host::journal=debug";

/// Sets the mtime of every file and directory under `dir` modified in the last minute an hour
/// back (output directories and the cache excepted), as if the last edit were long ago. Only
/// those: setting a time changes a file's ctime, which is part of its stamp.
fn age_recent(dir: &Path) {
    let now = SystemTime::now();
    let old = now - Duration::from_secs(3600);
    let recent = |path: &Path| std::fs::metadata(path).unwrap().modified().unwrap() > now - Duration::from_secs(60);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "out" || name == ".cache" {
                continue;
            }
            if path.is_dir() {
                stack.push(path.clone());
                if recent(&path) {
                    std::fs::File::open(&path).unwrap().set_modified(old).unwrap();
                }
            } else if recent(&path) {
                std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
            }
        }
    }
    if recent(dir) {
        std::fs::File::open(dir).unwrap().set_modified(old).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// 2. What a second process computes

/// The paths whose `parsed_module` span closed (the file was parsed), from
/// `PACKEM_LOG=packem_parse=debug` output: lines such as
/// `… DEBUG parsed_summary{path=/p/src/a.js}:module_scan{path=/p/src/a.js}:parsed_module{path=/p/src/a.js}: packem_parse: close time.busy=…`
/// where `parsed_module` is the innermost span.
fn parsed_paths(stderr: &str, root: &Path) -> BTreeSet<String> {
    const SPAN: &str = "parsed_module{path=";
    let root = format!("{}/", root.display());
    stderr
        .lines()
        .filter_map(|line| {
            let at = line.rfind(SPAN)?;
            let rest = &line[at + SPAN.len()..];
            let end = rest.find('}')?;
            let after = &rest[end + 1..];
            // Innermost span (no `:child{` after it), and the close event.
            (after.starts_with(": ") && after.contains(" close ")).then(|| {
                let path = &rest[..end];
                path.strip_prefix(&root).unwrap_or(path).to_string()
            })
        })
        .collect()
}

/// [`parsed_paths`] but for JSON files: their renders are not stored (`packem_emit::render_key`
/// is `None` for non-code loaders), so rendering one parses it again in every process.
fn parsed_code(stderr: &str, root: &Path) -> BTreeSet<String> {
    parsed_paths(stderr, root).into_iter().filter(|p| !p.ends_with(".json")).collect()
}

/// Evidence from tracing spans: `PACKEM_LOG=packem_parse=debug` makes each parse of a file close a
/// `parsed_module{path=…}` span on stderr. A cold (`--no-cache`) process closes one for every
/// module; a process after a one-file body edit closes one for that file only, and one after no
/// edit closes none (JSON files aside, see [`parsed_code`]), with outputs equal to the cold
/// build's. The project imports `src/data.json`, so the JSON exception is exercised.
#[test]
fn a_second_process_after_a_body_edit_reads_everything_else_from_the_cache() {
    let (dir, mut model, _) = generated(base_seed() ^ 2, 7, 2, 1);
    let d = dir.path();
    for m in model.modules.values_mut().filter(|m| !m.cjs).take(2) {
        m.json = true;
    }
    model.sync(d);
    let flags = default_flags();
    let traced = |args: Vec<String>| run_bin(&packem_bin(), d, &args, &[("PACKEM_LOG", "packem_parse=debug")]);
    // Process 1 fills the cache; it parses everything.
    let first = traced(build_args("out-cache", &flags, &[]));
    assert_ok(&first, "first build");
    let all = parsed_paths(&stderr(&first), d);
    for (&id, m) in &model.modules {
        assert!(all.contains(&m.path(id)), "the first build parsed {}: {all:?}\n{}", m.path(id), stderr(&first));
    }
    for entry in ENTRIES.iter().chain(&["src/data.json"]) {
        assert!(all.contains(*entry), "the first build parsed {entry}: {all:?}");
    }
    // A body edit of one module.
    let edited = model.ids()[3];
    model.edit_body(edited);
    model.sync(d);
    remove_dir(&d.join("out-cache"));
    let second = traced(build_args("out-cache", &flags, &[]));
    assert_ok(&second, "second build");
    assert!(!warned(&second), "{}", stderr(&second));
    let parsed = parsed_code(&stderr(&second), d);
    assert_eq!(parsed, BTreeSet::from([model.name(edited)]), "the second process parses only the edited file");
    // A cold build of the same files parses them all, and writes the same bytes.
    remove_dir(&d.join("out-cold"));
    let cold_out = traced(build_args("out-cold", &flags, &["--no-cache"]));
    assert_ok(&cold_out, "--no-cache build");
    assert_eq!(parsed_paths(&stderr(&cold_out), d), all, "--no-cache parses every file");
    assert_same(d, "out-cache", "after the body edit");
    // A third process without an edit parses nothing, and writes the same bytes.
    remove_dir(&d.join("out-cache"));
    let third = traced(build_args("out-cache", &flags, &[]));
    assert_ok(&third, "third build");
    assert_eq!(parsed_code(&stderr(&third), d), BTreeSet::new(), "nothing changed: nothing parsed");
    assert_same(d, "out-cache", "without an edit");
}

// ---------------------------------------------------------------------------------------------
// 3. Faults

/// A small project built twice with the cache (two commits in the file, an edit between), plus
/// the `--no-cache` output for its current files.
fn warmed(seed: u64) -> (tempfile::TempDir, Model) {
    let (dir, mut model, _) = generated(seed, 10, 2, 1);
    let d = dir.path();
    let flags = default_flags();
    assert_ok(&cached(d, "out-cache", &flags), "first build");
    model.edit_body(model.ids()[0]);
    model.sync(d);
    assert_ok(&cached(d, "out-cache", &flags), "second build");
    cold(d, &flags);
    assert_same(d, "out-cache", "warm-up");
    (dir, model)
}

/// A cached build must succeed with the `--no-cache` bytes; `expect_warning`: `Some(true)` it
/// must warn, `Some(false)` it must not.
fn check_cached(d: &Path, context: &str, expect_warning: Option<bool>) -> bool {
    let out = cached(d, "out-cache", &default_flags());
    assert_no_panic(out.status, context);
    assert_ok(&out, context);
    assert_same(d, "out-cache", context);
    let w = warned(&out);
    if let Some(expected) = expect_warning {
        assert_eq!(w, expected, "{context}: a cache warning expected: {expected}; stderr:\n{}", stderr(&out));
    }
    w
}

/// Truncation to half and to 10 bytes (warnings); and a torn tail, as a process killed while
/// appending its commit would leave: cut at random points inside the last commit, the store falls
/// back on the previous commit (a warning), and cut exactly at the previous commit's end it is
/// that complete, valid file (no warning). Every build is byte-identical to `--no-cache`.
#[test]
fn a_truncated_cache_warns_and_builds_correctly() {
    let seed = base_seed() ^ 31;
    let (dir, mut model) = warmed(seed);
    let d = dir.path();
    let file = cache_file(d);
    let previous = std::fs::read(&file).unwrap();
    // One more commit, appended after an edit.
    let mut rng = Rng::new(seed);
    for _ in 0..3 {
        let id = rng.pick(&model.ids());
        model.edit_body(id);
    }
    model.sync(d);
    cold(d, &default_flags());
    check_cached(d, "third build", Some(false));
    let good = std::fs::read(&file).unwrap();
    assert!(good.len() > previous.len() + 100, "{} then {} bytes", previous.len(), good.len());
    assert_eq!(good[..previous.len()], previous[..], "the third commit was appended");
    let mut cuts = vec![(good.len() / 2, true), (10, true), (previous.len(), false), (good.len() - 1, true)];
    for _ in 0..4 {
        cuts.push((previous.len() + 1 + rng.below(good.len() - previous.len() - 1), true));
    }
    for (len, warns) in cuts {
        std::fs::write(&file, &good[..len]).unwrap();
        let context =
            format!("cache of {} bytes truncated to {len} (previous commit ended at {})", good.len(), previous.len());
        check_cached(d, &context, Some(warns));
        // That build replaced the damaged file: the next one is silent and reads it.
        check_cached(d, &format!("the build after the one that found {len} bytes"), Some(false));
    }
}

#[test]
fn a_bit_flipped_cache_builds_correctly() {
    let (dir, _model) = warmed(base_seed() ^ 32);
    let d = dir.path();
    let file = cache_file(d);
    let good = std::fs::read(&file).unwrap();
    let len = good.len();
    // The live index's offset, from the footer (its first field; see packem_cache's format docs).
    let index_at = u64::from_le_bytes(good[len - 28..len - 20].try_into().unwrap()) as usize;
    assert!(40 < index_at && index_at < len - 28, "index at {index_at} in {len} bytes");
    // (position, region): the header, the index and the footer are checked on open (warning);
    // a record is checked when read (a silent miss).
    let flips = [
        (2, "header magic"),
        (20, "header build id"),
        (40 + 5, "first record's key"),
        (40 + 21 + 2, "first record's payload"),
        (index_at / 2, "a record in the middle"),
        (index_at - 3, "the last record's checksum"),
        (index_at + 16, "index entry count"),
        (index_at + 20 + 10, "first index entry's key"),
        (len - 28 + 1, "footer index offset"),
        (len - 12, "footer checksum"),
        (len - 3, "footer end marker"),
    ];
    let mut warnings = Vec::new();
    for (at, region) in flips {
        let mut bytes = good.clone();
        bytes[at] ^= 0x5a;
        std::fs::write(&file, &bytes).unwrap();
        let context = format!("byte {at} of {len} ({region}) flipped");
        let w = check_cached(d, &context, None);
        warnings.push((region, w));
        check_cached(d, &format!("the build after {context}"), Some(false));
    }
    eprintln!("flips and whether they warned: {warnings:?}");
    assert!(warnings.iter().any(|(_, w)| *w), "no flip produced a warning: {warnings:?}");
    // The header, index and footer are checked on open: flips there must warn.
    for (region, w) in &warnings {
        if region.starts_with("header") || region.starts_with("index") || region.starts_with("footer") {
            assert!(*w, "a flip in the {region} did not warn: {warnings:?}");
        }
    }
}

#[test]
fn a_cache_from_another_build_warns_once_and_is_replaced() {
    let (dir, _model, _) = generated(base_seed() ^ 33, 8, 2, 0);
    let d = dir.path();
    let flags = default_flags();
    cold(d, &flags);
    // A copy of the binary: another size/mtime/inode, so another build id.
    let bin_dir = tempfile::tempdir().unwrap();
    let copy = bin_dir.path().join("packem");
    std::fs::copy(packem_bin(), &copy).unwrap();
    let by_copy = build_with(&copy, d, "out-cache", &flags, &[]);
    assert_ok(&by_copy, "build by the copy");
    assert!(!warned(&by_copy), "no cache yet: {}", stderr(&by_copy));
    assert_same(d, "out-cache", "build by the copy");
    assert!(cache_file(d).is_file());
    let original = cached(d, "out-cache", &flags);
    assert_ok(&original, "original after the copy");
    assert_same(d, "out-cache", "original after the copy");
    let text = stderr(&original);
    assert!(text.contains(WARNING) && text.contains("another packem build"), "{text}");
    assert_eq!(text.matches(WARNING).count(), 1, "one warning: {text}");
    // The original replaced the file: no warning now.
    check_cached(d, "the original's second build", Some(false));
    // And `cache info` from the copy calls it another build's.
    let info = run_bin(&copy, d, &["cache".to_string(), "info".to_string()], &[]);
    assert!(stdout(&info).contains("another build"), "{}", stdout(&info));
}

/// The busy time of the span whose close line contains `span` (`… close time.busy=3.74ms …`),
/// in µs.
fn span_busy_us(stderr: &str, span: &str) -> Option<u64> {
    let line = stderr.lines().find(|l| l.contains(span))?;
    let busy = line.split("time.busy=").nth(1)?.split_whitespace().next()?;
    let (number, scale) = [("ns", 0.001), ("µs", 1.0), ("us", 1.0), ("ms", 1000.0), ("s", 1_000_000.0)]
        .iter()
        .find_map(|(unit, scale)| busy.strip_suffix(unit).map(|n| (n, *scale)))?;
    Some((number.parse::<f64>().ok()? * scale) as u64)
}

/// Builds are SIGKILLed while they may be writing their cache, after an edit of many modules or
/// an option change (so there is much to write): 30 % after a random delay up to a build's
/// duration, the others a random ½ to 1½ saving time (+ 1.5 ms) after the build logs that it wrote its
/// outputs (`PACKEM_LOG=packem_output=debug`: `save_cache` starts right after; its duration comes
/// from the previous build's `save_cache` span). The cache log tells whether the commit had
/// finished. A killed process must not have panicked, and the next normal build must exit 0 with
/// the `--no-cache` bytes. (SIGKILL lands between syscalls or cuts a large write short, so a torn
/// tail is possible but rare; the truncation test covers torn tails deterministically.)
#[test]
fn a_build_killed_while_writing_its_cache_leaves_a_usable_cache() {
    use std::io::BufRead as _;
    const ROUNDS: usize = 40;
    const LOG: &str = "packem_output=debug,packem_cache=debug,packem_host=info";
    const TRIGGER: &str = "wrote outputs";
    let seed = base_seed() ^ 34;
    let (dir, mut model, mut rng) = generated(seed, 280, 20, 3);
    let d = dir.path();
    let bin = packem_bin();
    let mut minify = false;
    let flags = |minify: bool| {
        let mut f = default_flags();
        if minify {
            f.push("--minify".into());
        }
        f
    };
    assert_ok(&cached(d, "out-cache", &flags(minify)), "initial build");
    let (mut duration, mut saving) = (0u64, 0u64);
    let mut log = Vec::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    // Round 0 is not killed: it measures the duration and the saving time.
    for round in 0..=ROUNDS {
        let ids = model.ids();
        let edits = 10 + rng.below(ids.len() / 2);
        for _ in 0..edits {
            model.edit_body(rng.pick(&ids));
        }
        if round > 0 && rng.chance(25) {
            minify = !minify;
        }
        model.sync(d);
        let f = flags(minify);
        cold(d, &f);
        // (delay from spawning, delay from the trigger), in µs.
        let (delay, after_trigger) = match round {
            0 => (u64::MAX, None),
            _ if rng.chance(30) => (rng.next() % (duration + 1), None),
            _ => (u64::MAX, Some(saving / 2 + rng.next() % (saving + 1_500))),
        };
        let stamp = || std::fs::metadata(cache_file(d)).ok().map(|m| (m.len(), m.modified().unwrap()));
        let before = stamp();
        remove_dir(&d.join("out-cache"));
        let start = Instant::now();
        let mut child: Child = Command::new(&bin)
            .current_dir(d)
            .args(build_args("out-cache", &f, &[]))
            .env("NO_COLOR", "1")
            .env("PACKEM_LOG", LOG)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in std::io::BufReader::new(pipe).lines() {
                let line = line.unwrap_or_default();
                if line.contains(TRIGGER) {
                    let _ = tx.send(());
                }
                lines.push(line);
            }
            lines.join("\n")
        });
        let status = match after_trigger {
            Some(after) => {
                if rx.recv_timeout(Duration::from_secs(60)).is_ok() {
                    std::thread::sleep(Duration::from_micros(after));
                    let _ = child.kill();
                }
                child.wait().unwrap()
            }
            None => loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if start.elapsed() >= Duration::from_micros(delay) {
                    let _ = child.kill();
                    break child.wait().unwrap();
                }
                std::thread::sleep(Duration::from_micros(100));
            },
        };
        let traced = reader.join().unwrap();
        if status.success() {
            duration = start.elapsed().as_micros() as u64;
            saving = span_busy_us(&traced, "save_cache: packem_host::persist: close").unwrap_or(saving);
        }
        let outcome = match (status.code(), traced.contains("committed cache"), stamp() != before) {
            (Some(_), _, _) => "exited",
            (None, true, _) => "killed after its commit",
            (None, false, true) => "killed during its commit, after writing",
            (None, false, false) => "killed before writing",
        };
        let when = match after_trigger {
            Some(after) => format!("{after} µs after it wrote its outputs"),
            None => format!("{delay} µs after spawning"),
        };
        let context = format!(
            "seed {seed:#x}, round {round}: {edits} edits, minify {minify}, {outcome} {when} (the last build took \
             {duration} µs, {saving} µs of which saving the cache)"
        );
        assert_no_panic(status, &context);
        assert!(!traced.contains("panicked"), "{context}:\n{traced}");
        if round == 0 {
            assert!(status.success() && saving > 0, "{context}:\n{traced}");
            continue;
        }
        *outcomes.entry(outcome).or_insert(0) += 1;
        let after = cached(d, "out-cache", &f);
        assert_no_panic(after.status, &context);
        assert_ok(&after, &context);
        assert_same(d, "out-cache", &context);
        log.push(format!("{outcome} {when}; the next build warned: {}", warned(&after)));
    }
    eprintln!("{outcomes:?}: {log:#?}");
    // And the cache is valid in the end: one more build without edits is silent.
    let last = cached(d, "out-cache", &flags(minify));
    assert_ok(&last, "last build");
    assert!(!warned(&last), "{}\n{log:#?}", stderr(&last));
    assert_same(d, "out-cache", "last build");
}

#[test]
fn two_builds_racing_on_one_cache_both_build_correctly() {
    const ROUNDS: usize = 10;
    let (dir, mut model, mut rng) = generated(base_seed() ^ 35, 90, 10, 2);
    let d = dir.path();
    let bin = packem_bin();
    // Racers may warn (a lock held too long, a file read while another process appends); only
    // counted, for `--nocapture`.
    let mut racers_warned = 0;
    for round in 0..ROUNDS {
        let ids = model.ids();
        for _ in 0..1 + rng.below(30) {
            model.edit_body(rng.pick(&ids));
        }
        model.sync(d);
        // Every other round, the two racers use different options (different renders).
        let (fa, fb) = if round % 2 == 0 {
            (default_flags(), default_flags())
        } else {
            (default_flags(), vec!["--format=cjs".to_string(), "--minify".to_string()])
        };
        remove_dir(&d.join("out-a"));
        remove_dir(&d.join("out-b"));
        let spawn = |out: &str, flags: &[String]| {
            Command::new(&bin)
                .current_dir(d)
                .args(build_args(out, flags, &[]))
                .env("NO_COLOR", "1")
                .env_remove("PACKEM_LOG")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("out-a", &fa), spawn("out-b", &fb));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        racers_warned += usize::from(warned(&a)) + usize::from(warned(&b));
        for (name, out, flags) in [("out-a", &a, &fa), ("out-b", &b, &fb)] {
            let context = format!("round {round}, {name} ({flags:?})");
            assert_no_panic(out.status, &context);
            assert_ok(out, &context);
            cold(d, flags);
            assert_same(d, name, &context);
        }
        // The cache is valid afterwards: a third build is silent and correct. And unless a racer
        // could not save, neither lost the other's entries (the later commit builds on the
        // earlier one): the third build, with either racer's options, parses nothing (a render
        // missing from the cache would need its module parsed).
        let saved_both = !warned(&a) && !warned(&b);
        for flags in [&fa, &fb] {
            let context = format!("round {round}, the build after the race ({flags:?})");
            remove_dir(&d.join("out-cache"));
            let third = run_bin(&bin, d, &build_args("out-cache", flags, &[]), &[("PACKEM_LOG", "packem_parse=debug")]);
            assert_ok(&third, &context);
            assert!(!warned(&third), "{context}: {}\nracers' stderr:\n{}\n{}", stderr(&third), stderr(&a), stderr(&b));
            if saved_both {
                let parsed = parsed_code(&stderr(&third), d);
                assert!(
                    parsed.is_empty(),
                    "{context}: parsed {parsed:?}; racers' stderr:\n{}\n{}",
                    stderr(&a),
                    stderr(&b)
                );
            }
            cold(d, flags);
            assert_same(d, "out-cache", &context);
        }
    }
    eprintln!("{racers_warned} racers warned");
}

#[test]
fn an_unwritable_cache_directory_warns_and_builds() {
    let (dir, _model, _) = generated(base_seed() ^ 36, 6, 1, 0);
    let d = dir.path();
    // Tests run as root, whom permissions do not stop: a directory under a regular file cannot be
    // created by anyone.
    std::fs::write(d.join("somefile"), "not a directory\n").unwrap();
    let flags = default_flags();
    cold(d, &flags);
    for run in 0..2 {
        let out = build_with(&packem_bin(), d, "out-cache", &flags, &["--cache-dir=somefile/cache"]);
        assert_ok(&out, "unwritable cache dir");
        assert!(warned(&out), "run {run}: {}", stderr(&out));
        assert_same(d, "out-cache", "unwritable cache dir");
    }
    assert!(d.join("somefile").is_file());
    assert!(!cache_file(d).exists(), "the default cache was not used");
}

/// A file rewritten with other bytes of the same length and its old mtime (inode unchanged): a
/// build must not trust size + mtime. Once right after the first build (a "racy" mtime, within
/// the file system's timestamp granularity) and once with an mtime an hour old.
#[test]
fn an_edit_keeping_size_and_mtime_is_seen() {
    for hour_old in [false, true] {
        let (dir, model, _) = generated(base_seed() ^ 37, 6, 1, 0);
        let d = dir.path();
        let id = model.ids()[2];
        let path = d.join(model.name(id));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("version 0"), "{text}");
        let set_mtime = |t: SystemTime| {
            std::fs::File::options().write(true).open(&path).unwrap().set_modified(t).unwrap();
        };
        if hour_old {
            set_mtime(SystemTime::now() - Duration::from_secs(3600));
        }
        let flags = default_flags();
        assert_ok(&cached(d, "out-cache", &flags), "first build");
        let before = std::fs::metadata(&path).unwrap();
        let new_text = text.replace(&format!("'m{id}@0'"), &format!("'m{id}@7'"));
        assert_ne!(new_text, text);
        assert_eq!(new_text.len(), text.len());
        std::fs::write(&path, &new_text).unwrap();
        set_mtime(before.modified().unwrap());
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!((after.len(), after.modified().unwrap()), (before.len(), before.modified().unwrap()));
        let context = format!("same size and mtime (hour old: {hour_old})");
        let out = cached(d, "out-cache", &flags);
        assert_ok(&out, &context);
        let bundle = std::fs::read_to_string(d.join("out-cache/main.js")).unwrap()
            + &std::fs::read_to_string(d.join("out-cache/other.js")).unwrap();
        assert!(bundle.contains(&format!("m{id}@7")), "{context}: the new text is missing:\n{bundle}");
        assert!(!bundle.contains(&format!("m{id}@0")), "{context}: the old text is still there:\n{bundle}");
        cold(d, &flags);
        assert_same(d, "out-cache", &context);
    }
}

/// The journal: a build with the same command line whose inputs and outputs are as the last one
/// left them does nothing (and reports the same outputs); any change to an input (even one that
/// keeps its size and mtime), a new file beside the inputs, or a damaged output builds again.
#[test]
fn an_unchanged_build_is_a_no_op_and_any_change_builds() {
    let (dir, model, _) = generated(base_seed() ^ 41, 8, 1, 0);
    let d = dir.path();
    let flags = default_flags();
    let kept = |context: &str| -> bool {
        let out = run_bin(&packem_bin(), d, &build_args("out/kept", &flags, &[]), &[("PACKEM_LOG", JOURNAL_LOG)]);
        assert_ok(&out, context);
        assert!(stderr(&out).contains("main.js"), "{context}: the outputs are reported:\n{}", stderr(&out));
        // Below `out/`, so that the project directory's stamp stays put.
        assert_ok(&build_with(&packem_bin(), d, "out/cold", &flags, &["--no-cache"]), context);
        assert_eq!(diff_dirs(&d.join("out/kept"), &d.join("out/cold")), None, "{context}");
        stderr(&out).contains("same=true")
    };
    std::fs::create_dir_all(d.join("out")).unwrap();
    age_recent(d);
    assert!(!kept("first build"));
    // It made `node_modules/.cache`, beside the inputs of `node_modules/pkg`: too recent a change
    // to journal that build.
    age_recent(d);
    assert!(!kept("journaled"));
    assert!(kept("nothing changed"));
    assert!(kept("nothing changed, again"));

    // Other bytes, same size and mtime: the ctime differs.
    let path = d.join(model.name(model.ids()[2]));
    let text = std::fs::read_to_string(&path).unwrap();
    let before = std::fs::metadata(&path).unwrap();
    let id = model.ids()[2];
    std::fs::write(&path, text.replace(&format!("'m{id}@0'"), &format!("'m{id}@7'"))).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(before.modified().unwrap()).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), before.len());
    assert!(!kept("an edit keeping size and mtime"));
    let bundle = std::fs::read_to_string(d.join("out/kept/main.js")).unwrap()
        + &std::fs::read_to_string(d.join("out/kept/other.js")).unwrap();
    assert!(bundle.contains(&format!("m{id}@7")), "{bundle}");
    // Its mtime is old, so that build was journaled (git's racy rule looks at mtimes).
    assert!(kept("a no-op after it"));
    // An edit just now: its stamp is too recent to trust, so the build after it is not
    // journaled and the next one builds again.
    std::fs::write(&path, text.replace(&format!("'m{id}@0'"), &format!("'m{id}@8'"))).unwrap();
    assert!(!kept("an edit"));
    assert!(!kept("right after an edit"));
    age_recent(d);
    assert!(!kept("aged: journaled again"));
    assert!(kept("aged: a no-op"));

    // A new file beside the sources (it could be what an import now finds).
    std::fs::write(d.join("src/new.js"), "export {};\n").unwrap();
    age_recent(d);
    assert!(!kept("a file created"));
    assert!(kept("a no-op after the creation"));

    // An output removed, or changed: written again.
    std::fs::remove_file(d.join("out/kept/other.js")).unwrap();
    assert!(!kept("an output deleted"));
    assert!(kept("a no-op after the deletion"));
    std::fs::write(d.join("out/kept/main.js"), "tampered").unwrap();
    assert!(!kept("an output changed"));
    assert!(kept("a no-op after the change"));

    // Another command line is another journal.
    let out = run_bin(
        &packem_bin(),
        d,
        &build_args("out/kept", &["--format=cjs".to_string()], &[]),
        &[("PACKEM_LOG", JOURNAL_LOG)],
    );
    assert_ok(&out, "another format");
    assert!(!stderr(&out).contains("same=true"));
}

/// `packem check` keeps a journal too: a clean check whose inputs and configuration are
/// unchanged reports the same again without checking; editing `packem.json` checks again.
#[test]
fn an_unchanged_check_is_a_no_op_and_a_config_edit_is_not() {
    let (dir, _model, _) = generated(base_seed() ^ 43, 6, 1, 0);
    let d = dir.path();
    std::fs::write(d.join("packem.json"), "{ \"entries\": [\"src/main.js\", \"src/other.js\"] }\n").unwrap();
    let check = |context: &str| -> bool {
        let out = run_bin(&packem_bin(), d, &["check".to_string()], &[("PACKEM_LOG", JOURNAL_LOG)]);
        assert_ok(&out, context);
        assert!(stderr(&out).contains("modules checked: no problems"), "{context}:\n{}", stderr(&out));
        stderr(&out).contains("same=true")
    };
    age_recent(d);
    assert!(!check("first check"));
    age_recent(d);
    assert!(!check("journaled"));
    assert!(check("nothing changed"));
    // The configuration is read by the command line, not the database: it is in the journal too.
    std::fs::write(d.join("packem.json"), "{ \"entries\": [\"src/main.js\"] }\n").unwrap();
    age_recent(d);
    assert!(!check("packem.json edited"));
    assert!(check("nothing changed since"));
}

/// `packem build` of packem.json's targets keeps a journal too: unchanged, it prints each
/// target's outputs again without building; an edit of packem.json, of a source, or a deleted
/// output builds. (Without packem.json among the journal's inputs, the edited target would be
/// a no-op with stale outputs.)
#[test]
fn an_unchanged_targets_build_is_a_no_op_and_a_config_edit_is_not() {
    let (dir, _model, _) = generated(base_seed() ^ 47, 6, 1, 0);
    let d = dir.path();
    let config = |format: &str| {
        format!(
            "{{ \"targets\": [ {{ \"name\": \"esm\", \"entries\": [\"src/main.js\"], \"outdir\": \"out/esm\", \"format\": \"esm\" }}, {{ \"name\": \"other\", \"entries\": [\"src/other.js\"], \"outdir\": \"out/other\", \"format\": \"{format}\" }} ] }}\n"
        )
    };
    std::fs::write(d.join("packem.json"), config("cjs")).unwrap();
    let build = |context: &str| -> (bool, String) {
        let out = run_bin(&packem_bin(), d, &["build".to_string()], &[("PACKEM_LOG", JOURNAL_LOG)]);
        assert_ok(&out, context);
        let err = stderr(&out);
        assert!(err.contains("target esm:") && err.contains("target other:"), "{context}:\n{err}");
        assert!(err.contains("out/esm/main.js") && err.contains("out/other/other.js"), "{context}:\n{err}");
        (err.contains("same=true"), std::fs::read_to_string(d.join("out/other/other.js")).unwrap())
    };
    age_recent(d);
    assert!(!build("first build").0);
    age_recent(d);
    let (hit, cjs) = build("journaled");
    assert!(!hit);
    assert!(build("nothing changed").0);
    std::fs::write(d.join("packem.json"), config("esm")).unwrap();
    age_recent(d);
    let (hit, esm) = build("packem.json edited");
    assert!(!hit, "an edited packem.json must build");
    assert_ne!(cjs, esm, "the format changed");
    assert!(build("nothing changed since").0);
    std::fs::remove_file(d.join("out/esm/main.js")).unwrap();
    assert!(!build("an output deleted").0);
    assert!(d.join("out/esm/main.js").is_file());
}

// ---------------------------------------------------------------------------------------------
// 4. `packem cache info|clean`

#[test]
fn cache_info_and_clean() {
    let (dir, _model, _) = generated(base_seed() ^ 4, 6, 1, 0);
    let d = dir.path();
    let cache = |sub: &str| {
        let out = run_bin(&packem_bin(), d, &["cache".to_string(), sub.to_string()], &[]);
        assert!(out.status.success(), "cache {sub}: {}", stderr(&out));
        stdout(&out)
    };
    let file = cache_file(d);
    cold(d, &default_flags());
    assert!(cache("info").contains("no cache"), "before any build");
    assert_ok(&cached(d, "out-cache", &default_flags()), "build");
    let info = cache("info");
    let first = info.lines().next().unwrap_or_default();
    assert!(first.starts_with(&file.display().to_string()) && !first.contains("another"), "{info}");
    let number = |label: &str| -> u64 {
        let line =
            info.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label}: {info}"));
        line.trim_start()[label.len()..].split_whitespace().next().unwrap().parse().unwrap()
    };
    let size = number("size:");
    assert_eq!(size, std::fs::metadata(&file).unwrap().len(), "{info}");
    assert!(number("entries:") > 0, "{info}");
    // `--cache-dir` names the same file.
    let explicit = run_bin(
        &packem_bin(),
        d,
        &["cache".into(), "info".into(), "--cache-dir".into(), "node_modules/.cache/packem".into()],
        &[],
    );
    assert_eq!(stdout(&explicit).lines().nth(1), info.lines().nth(1), "{}", stderr(&explicit));
    assert!(cache("clean").contains("removed"));
    assert!(!file.exists());
    let info = cache("info");
    assert!(info.contains("no cache"), "{info}");
    // A build after `clean` starts cold without a warning.
    check_cached(d, "after clean", Some(false));
}
