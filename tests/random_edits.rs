//! Randomized incremental == cold builds.
//!
//! A seeded generator writes a small project (ESM `.js` modules, a few CommonJS ones, a JSON file,
//! a directory index and a `node_modules` package with `exports`), then applies random edits,
//! creates, deletes and renames to disk. After every step the incremental workspace's chunks and
//! diagnostics must equal a cold build's (a fresh [`Workspace`] on the same files), for ESM and
//! one of CJS/IIFE. Every third sequence compiles with `--define`s whose names files start and stop
//! mentioning, and whose values change now and then. Tree shaking is on except in every fourth
//! sequence. Now and then, when the project is plain
//! acyclic ESM without defines and builds without errors, the ESM bundle is run with node and
//! must print what node prints running the sources.
//!
//! Environment:
//! Every other sequence runs each step in a new "process": a fresh database that opens the
//! persistent cache the previous step saved (`Workspace::open_cache`/`save_cache`), so its
//! outputs are those of a warm cross-process build, compared with the same cold build.
//!
//! - `PACKEM_RANDOM_SEED=<n>`: run only sequence `n` (what a failure message tells you to do).
//! - `PACKEM_RANDOM_SEQUENCES=<n>` (default 300) sequences, seeds `PACKEM_RANDOM_FIRST_SEED..` (0).
//! - `PACKEM_RANDOM_STEPS=<n>` (default 8) steps per sequence.
//! - `PACKEM_RANDOM_THREADS=<n>` (default 2) sequences run at once.
//! - `PACKEM_RANDOM_TRACE=1` prints every disk change with the files' contents.
//! - `PACKEM_RANDOM_NODE=0` skips the node comparisons (`node` must be installed otherwise).
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{CompileOptions, Diagnostic, LinkOptions, Platform, ProjectOptions};
use packem_host::{EmitOptions, Format, PackemDatabase, Workspace};
use packem_tests::TestProject;

// ---------------------------------------------------------------------------------------------
// Seeded randomness (splitmix64: deterministic on every platform, no dependency).

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5851_F42D_4C95_7F2D)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0);
        (self.next_u64() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() { None } else { Some(items[self.below(items.len())].clone()) }
    }

    fn num(&mut self) -> u32 {
        self.below(1000) as u32
    }
}

// ---------------------------------------------------------------------------------------------
// The project model: modules as data, rendered to source text.

/// Export names. Small on purpose: `export *` of two modules then sometimes collides (ambiguous
/// names are legal ESM and must behave the same incrementally).
const NAMES: &[&str] = &["alpha", "beta", "gamma", "delta", "omega", "run", "total", "value", "item", "label"];
const WORDS: &[&str] = &["red", "green", "blue", "cyan", "plum", "sand", "teal", "rose"];
const PKG_FILES: [&str; 3] = ["a.js", "b.js", "c.cjs"];
const PKG_JSON: &str = "node_modules/pkg/package.json";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Esm,
    Cjs,
    Json,
}

#[derive(Clone, Debug)]
enum What {
    /// `export function name() { [counter += 1;] return "word" + n [+ counter]; }`
    Func { word: &'static str, n: u32, bump: bool },
    /// `export const name = n;`
    Const(u32),
    /// `export { counter as name };` (a live binding of the module's `let counter`).
    Live,
}

#[derive(Clone, Debug)]
struct Export {
    name: String,
    what: What,
}

#[derive(Clone, Debug, PartialEq)]
enum Target {
    /// A project file, written `./x.js` or (extensionless) `./x`.
    File { path: String, extless: bool },
    /// A directory whose `index.js` is the module: `./lib3`.
    Dir(String),
    /// The package: `pkg` or `pkg/sub`.
    Bare(&'static str),
}

#[derive(Clone, Debug)]
enum ImportKind {
    /// `import { imported as local, … }`
    Named(Vec<(String, String)>),
    /// `import local from`
    Default(String),
    /// `import * as local from`, and `local.member` is used.
    Namespace(String, Option<String>),
    /// `const local = require(…)` (a namespace import when the module is ESM).
    Require(String),
    /// `import "…"`
    SideEffect,
    /// `function local() { return import("…"); }` (never called).
    Dynamic(String),
    /// `export * from`
    Star,
    /// `export { imported as exported } from`
    ReexportNamed(Vec<(String, String)>),
}

#[derive(Clone, Debug)]
struct Import {
    target: Target,
    kind: ImportKind,
}

#[derive(Clone, Debug)]
struct Module {
    id: usize,
    path: String,
    kind: Kind,
    counter: bool,
    exports: Vec<Export>,
    default: Option<u32>,
    imports: Vec<Import>,
    log: u32,
    word: &'static str,
    next_local: usize,
    /// CommonJS only: `Object.defineProperty(exports, "__esModule", { value: true })`.
    es_flag: bool,
}

impl Module {
    fn new(id: usize, path: String, kind: Kind, rng: &mut Rng) -> Self {
        Module {
            id,
            path,
            kind,
            counter: false,
            exports: Vec::new(),
            default: None,
            imports: Vec::new(),
            log: rng.num(),
            word: rng.pick(WORDS).unwrap(),
            next_local: 0,
            es_flag: false,
        }
    }

    fn local(&mut self) -> String {
        self.next_local += 1;
        format!("l{}", self.next_local)
    }

    /// Every name the module exports itself (not through `export *`), `default` aside.
    fn export_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.exports.iter().map(|e| e.name.clone()).collect();
        for import in &self.imports {
            if let ImportKind::ReexportNamed(items) = &import.kind {
                names.extend(items.iter().map(|(_, alias)| alias.clone()));
            }
        }
        names
    }

    fn fresh_export_name(&mut self, rng: &mut Rng) -> String {
        let taken = self.export_names();
        for _ in 0..8 {
            let name = rng.pick(NAMES).unwrap();
            if !taken.iter().any(|t| t == name) {
                return name.to_string();
            }
        }
        self.next_local += 1;
        format!("x{}", self.next_local)
    }

    fn add_random_export(&mut self, rng: &mut Rng) {
        let name = self.fresh_export_name(rng);
        let what = match rng.below(4) {
            0 | 1 => What::Func { word: rng.pick(WORDS).unwrap(), n: rng.num(), bump: rng.chance(50) },
            2 => What::Const(rng.num()),
            _ => What::Live,
        };
        if matches!(what, What::Live | What::Func { bump: true, .. }) {
            self.counter = true;
        }
        self.exports.push(Export { name, what });
    }
}

enum Disk {
    Write(String),
    Remove(String),
    Rename(String, String),
}

struct Model {
    modules: Vec<Module>,
    graveyard: Vec<Module>,
    entries: Vec<String>,
    pkg_main: usize,
    pkg_sub: usize,
    pkg_version: [u32; 3],
    next_id: usize,
    /// Specifiers are written `./x.js`, never extensionless or as a directory (node can run it).
    plain: bool,
    /// A `package.json` of the project itself (root or `src/`): path and text.
    manifest: Option<(String, &'static str)>,
}

/// Texts of the project's own `package.json`: `type` decides Node's interop for ESM importers.
const MANIFESTS: &[&str] = &[
    "{ \"type\": \"module\" }",
    "{ \"type\": \"commonjs\" }",
    "{ \"name\": \"app\", \"private\": true }",
    "{ \"type\": \"module\"",
];

fn relative(from_file: &str, to: &str) -> String {
    let mut from_dir: Vec<&str> = from_file.split('/').collect();
    from_dir.pop();
    let to_parts: Vec<&str> = to.split('/').collect();
    let limit = from_dir.len().min(to_parts.len() - 1);
    let common = (0..limit).take_while(|&i| from_dir[i] == to_parts[i]).count();
    let ups = from_dir.len() - common;
    let rest = to_parts[common..].join("/");
    if ups == 0 { format!("./{rest}") } else { format!("{}{rest}", "../".repeat(ups)) }
}

fn lit(word: &str, n: u32) -> String {
    // One word reads a global that the define sequences (see `defines`) replace; elsewhere it is
    // undefined, as under node.
    if word == "plum" {
        return format!("(typeof PACKEM_PLUM === \"undefined\" ? \"plum-{n}\" : PACKEM_PLUM + \"-{n}\")");
    }
    format!("\"{word}-{n}\"")
}

impl Model {
    fn generate(rng: &mut Rng) -> Model {
        let mut model = Model {
            modules: Vec::new(),
            graveyard: Vec::new(),
            entries: vec!["src/main.js".into()],
            pkg_main: rng.below(3),
            pkg_sub: rng.below(3),
            pkg_version: [0; 3],
            next_id: 0,
            plain: rng.chance(40),
            manifest: None,
        };
        if rng.chance(35) {
            model.entries.push("src/second.js".into());
        }
        let total = rng.range(5, 25);
        let mut paths: Vec<(String, Kind)> = model.entries.iter().map(|e| (e.clone(), Kind::Esm)).collect();
        paths.push(("src/data.json".into(), Kind::Json));
        // Plain projects start as acyclic ESM, which node runs as they are.
        let cjs = if model.plain { 0 } else { rng.below(3) };
        let dir = rng.chance(40);
        let wanted = total.max(paths.len() + cjs + usize::from(dir));
        while paths.len() < wanted {
            let id = model.id();
            let n = paths.len() - model.entries.len() - 1;
            if n < cjs {
                paths.push((format!("src/c{id}.cjs"), Kind::Cjs));
            } else if n == cjs && dir {
                paths.push((format!("src/lib{id}/index.js"), Kind::Esm));
            } else {
                paths.push((format!("src/m{id}.js"), Kind::Esm));
            }
        }
        // Entries first, then the rest shuffled: imports mostly go forward in this order.
        let tail = &mut paths[model.entries.len()..];
        for i in (1..tail.len()).rev() {
            let j = rng.below(i + 1);
            tail.swap(i, j);
        }
        for (path, kind) in paths {
            let id = model.id();
            let mut module = Module::new(id, path, kind, rng);
            if kind != Kind::Json {
                for _ in 0..rng.range(1, 3) {
                    module.add_random_export(rng);
                }
                if rng.chance(30) {
                    module.default = Some(rng.num());
                }
            }
            model.modules.push(module);
        }
        let n = model.modules.len();
        for a in 0..n {
            if model.modules[a].kind == Kind::Json {
                continue;
            }
            if a + 1 < n {
                for _ in 0..rng.below(4) {
                    let b = rng.range(a + 1, n - 1);
                    model.add_import(rng, a, b);
                }
            }
            if a > 0 && !model.plain && rng.chance(12) {
                let b = rng.below(a);
                model.add_import(rng, a, b);
            }
            if rng.chance(8) {
                let target = Target::Bare(if rng.chance(70) { "pkg" } else { "pkg/sub" });
                model.add_import_to(rng, a, target);
            }
        }
        // Every module is imported by an earlier one, so most of the project is in the bundle.
        for b in model.entries.len()..n {
            let imported = (0..n).any(|a| a != b && model.imports_of(a).contains(&b));
            if !imported {
                let candidates: Vec<usize> = (0..b).filter(|&a| model.modules[a].kind != Kind::Json).collect();
                let a = rng.pick(&candidates).unwrap();
                model.add_import(rng, a, b);
            }
        }
        model
    }

    fn id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    fn find(&self, path: &str) -> Option<usize> {
        self.modules.iter().position(|m| m.path == path)
    }

    fn resolve(&self, target: &Target) -> Option<usize> {
        match target {
            Target::File { path, .. } => self.find(path),
            Target::Dir(dir) => self.find(&format!("{dir}/index.js")),
            Target::Bare(_) => None,
        }
    }

    /// The modules `a` imports (any kind of import), resolved.
    fn imports_of(&self, a: usize) -> Vec<usize> {
        self.modules[a].imports.iter().filter_map(|i| self.resolve(&i.target)).collect()
    }

    /// Modules reachable from `from` through one or more imports.
    fn reachable(&self, from: usize) -> Vec<bool> {
        let mut seen = vec![false; self.modules.len()];
        let mut stack = self.imports_of(from);
        while let Some(m) = stack.pop() {
            if !seen[m] {
                seen[m] = true;
                stack.extend(self.imports_of(m));
            }
        }
        seen
    }

    fn has_cycle(&self) -> bool {
        (0..self.modules.len()).any(|m| self.reachable(m)[m])
    }

    fn code_modules(&self) -> Vec<usize> {
        (0..self.modules.len()).filter(|&m| self.modules[m].kind != Kind::Json).collect()
    }

    fn target_for(&self, rng: &mut Rng, b: usize) -> Target {
        let path = &self.modules[b].path;
        if let Some(dir) = path.strip_suffix("/index.js")
            && !self.plain
            && rng.chance(60)
        {
            return Target::Dir(dir.to_string());
        }
        Target::File { path: path.clone(), extless: !self.plain && path.ends_with(".js") && rng.chance(15) }
    }

    fn add_import(&mut self, rng: &mut Rng, a: usize, b: usize) {
        let target = self.target_for(rng, b);
        self.add_import_to(rng, a, target);
    }

    /// Adds an import of `target` to module `a`, of a kind that fits what `target` exports.
    fn add_import_to(&mut self, rng: &mut Rng, a: usize, target: Target) {
        let resolved = self.resolve(&target);
        let (names, has_default, json) = match (&target, resolved) {
            (Target::Bare(_), _) => (vec!["which".to_string(), "tag".to_string()], true, false),
            (_, Some(b)) => {
                let m = &self.modules[b];
                (m.export_names(), m.default.is_some() || m.kind == Kind::Cjs, m.kind == Kind::Json)
            }
            (_, None) => (vec!["alpha".to_string()], false, false),
        };
        let a_kind = self.modules[a].kind;
        let module = &mut self.modules[a];
        let kind = loop {
            if json {
                break match rng.below(3) {
                    0 => ImportKind::SideEffect,
                    1 => ImportKind::Namespace(module.local(), None),
                    _ => ImportKind::Default(module.local()),
                };
            }
            match rng.below(9) {
                0 | 1 if !names.is_empty() => {
                    let mut items = Vec::new();
                    for _ in 0..rng.range(1, 2) {
                        let name = rng.pick(&names).unwrap();
                        if !items.iter().any(|(n, _)| n == &name) {
                            items.push((name, module.local()));
                        }
                    }
                    break ImportKind::Named(items);
                }
                2 if has_default => break ImportKind::Default(module.local()),
                3 => {
                    let member = if rng.chance(60) { rng.pick(&names) } else { None };
                    break ImportKind::Namespace(module.local(), member);
                }
                4 => break ImportKind::SideEffect,
                5 => break ImportKind::Dynamic(module.local()),
                6 => break ImportKind::Star,
                7 if !names.is_empty() => {
                    let name = rng.pick(&names).unwrap();
                    let alias = module.fresh_export_name(rng);
                    break ImportKind::ReexportNamed(vec![(name, alias)]);
                }
                8 if a_kind == Kind::Cjs => break ImportKind::Require(module.local()),
                _ => {}
            }
        };
        module.imports.push(Import { target, kind });
    }

    // --- rendering ---

    fn spec(&self, from: &Module, target: &Target) -> String {
        match target {
            Target::File { path, extless } => {
                let spec = relative(&from.path, path);
                if *extless { spec.trim_end_matches(".js").to_string() } else { spec }
            }
            Target::Dir(dir) => relative(&from.path, dir),
            Target::Bare(name) => name.to_string(),
        }
    }

    fn render(&self, path: &str) -> String {
        if let Some((manifest, text)) = &self.manifest
            && manifest == path
        {
            return format!("{text}\n");
        }
        if path == PKG_JSON {
            return format!(
                "{{\n  \"name\": \"pkg\",\n  \"version\": \"1.0.0\",\n  \"type\": \"module\",\n  \"exports\": {{\n    \".\": \"./{}\",\n    \"./sub\": \"./{}\"\n  }}\n}}\n",
                PKG_FILES[self.pkg_main], PKG_FILES[self.pkg_sub]
            );
        }
        if let Some(file) = path.strip_prefix("node_modules/pkg/") {
            let k = PKG_FILES.iter().position(|f| *f == file).unwrap();
            let v = self.pkg_version[k];
            let letter = &file[..1];
            return if file.ends_with(".cjs") {
                format!("exports.which = function () {{\n  return \"{letter}{v}\";\n}};\nexports.tag = \"{letter}\";\n")
            } else {
                format!(
                    "export function which() {{\n  return \"{letter}{v}\";\n}}\nexport const tag = \"{letter}\";\nexport default function () {{\n  return \"pkg-{letter}\";\n}}\n"
                )
            };
        }
        let m = &self.modules[self.find(path).unwrap_or_else(|| panic!("no module {path}"))];
        match m.kind {
            Kind::Json => format!("{{\n  \"name\": \"{}\",\n  \"n\": {},\n  \"list\": [1, 2]\n}}\n", m.word, m.log),
            Kind::Esm => self.render_esm(m),
            Kind::Cjs => self.render_cjs(m),
        }
    }

    fn body(m: &Module, what: &What) -> String {
        match what {
            What::Func { word, n, bump: true } => {
                format!("{{\n  counter += 1;\n  return {} + counter;\n}}", lit(word, *n))
            }
            What::Func { word, n, bump: false } => format!("{{\n  return {} + {};\n}}", lit(word, *n), m.id),
            _ => unreachable!(),
        }
    }

    fn render_esm(&self, m: &Module) -> String {
        let mut out = String::new();
        let mut uses: Vec<String> = Vec::new();
        let mut functions = String::new();
        for import in &m.imports {
            let spec = self.spec(m, &import.target);
            let attr = if spec.ends_with(".json") { " with { type: \"json\" }" } else { "" };
            match &import.kind {
                ImportKind::Named(items) => {
                    let list: Vec<String> = items.iter().map(|(n, l)| format!("{n} as {l}")).collect();
                    writeln!(out, "import {{ {} }} from \"{spec}\"{attr};", list.join(", ")).unwrap();
                    uses.extend(items.iter().map(|(_, l)| format!("show({l})")));
                }
                ImportKind::Default(l) => {
                    writeln!(out, "import {l} from \"{spec}\"{attr};").unwrap();
                    uses.push(format!("show({l})"));
                }
                ImportKind::Namespace(l, _) | ImportKind::Require(l) => {
                    writeln!(out, "import * as {l} from \"{spec}\"{attr};").unwrap();
                    uses.push(format!("show({l})"));
                    if let ImportKind::Namespace(_, Some(member)) = &import.kind {
                        uses.push(format!("show({l}.{member})"));
                    }
                }
                ImportKind::SideEffect => writeln!(out, "import \"{spec}\"{attr};").unwrap(),
                ImportKind::Dynamic(l) => {
                    writeln!(functions, "function {l}() {{\n  return import(\"{spec}\");\n}}").unwrap();
                    uses.push(format!("typeof {l}"));
                }
                ImportKind::Star => writeln!(out, "export * from \"{spec}\"{attr};").unwrap(),
                ImportKind::ReexportNamed(items) => {
                    let list: Vec<String> = items.iter().map(|(n, a)| format!("{n} as {a}")).collect();
                    writeln!(out, "export {{ {} }} from \"{spec}\"{attr};", list.join(", ")).unwrap();
                }
            }
        }
        if m.counter {
            out.push_str("let counter = 0;\n");
        }
        out.push_str(SHOW);
        out.push_str(&functions);
        for export in &m.exports {
            match &export.what {
                What::Func { .. } => {
                    writeln!(out, "export function {}() {}", export.name, Self::body(m, &export.what)).unwrap()
                }
                What::Const(n) => writeln!(out, "export const {} = {n};", export.name).unwrap(),
                What::Live => writeln!(out, "export {{ counter as {} }};", export.name).unwrap(),
            }
        }
        if let Some(n) = m.default {
            writeln!(out, "export default function () {{\n  return {};\n}}", lit("default", n)).unwrap();
        }
        uses.insert(0, lit(m.word, m.log));
        writeln!(out, "console.log(\"{}\", {});", m.path, uses.join(", ")).unwrap();
        out
    }

    fn render_cjs(&self, m: &Module) -> String {
        let mut out = String::new();
        if m.es_flag {
            out.push_str("Object.defineProperty(exports, \"__esModule\", { value: true });\n");
        }
        let mut uses: Vec<String> = Vec::new();
        let mut functions = String::new();
        for import in &m.imports {
            let spec = self.spec(m, &import.target);
            match &import.kind {
                ImportKind::Named(items) => {
                    let list: Vec<String> = items.iter().map(|(n, l)| format!("{n}: {l}")).collect();
                    writeln!(out, "const {{ {} }} = require(\"{spec}\");", list.join(", ")).unwrap();
                    uses.extend(items.iter().map(|(_, l)| format!("show({l})")));
                }
                ImportKind::Default(l) | ImportKind::Require(l) | ImportKind::Namespace(l, _) => {
                    writeln!(out, "const {l} = require(\"{spec}\");").unwrap();
                    uses.push(format!("show({l})"));
                    if let ImportKind::Namespace(_, Some(member)) = &import.kind {
                        uses.push(format!("show({l}.{member})"));
                    }
                }
                ImportKind::SideEffect => writeln!(out, "require(\"{spec}\");").unwrap(),
                ImportKind::Dynamic(l) => {
                    writeln!(functions, "function {l}() {{\n  return import(\"{spec}\");\n}}").unwrap();
                    uses.push(format!("typeof {l}"));
                }
                ImportKind::Star => writeln!(out, "Object.assign(exports, require(\"{spec}\"));").unwrap(),
                ImportKind::ReexportNamed(items) => {
                    for (n, a) in items {
                        writeln!(out, "exports.{a} = require(\"{spec}\").{n};").unwrap();
                    }
                }
            }
        }
        if m.counter {
            out.push_str("let counter = 0;\n");
        }
        out.push_str(SHOW);
        out.push_str(&functions);
        for export in &m.exports {
            match &export.what {
                What::Func { .. } => {
                    writeln!(out, "exports.{} = function () {};", export.name, Self::body(m, &export.what)).unwrap()
                }
                What::Const(n) => writeln!(out, "exports.{} = {n};", export.name).unwrap(),
                What::Live => writeln!(out, "exports.{} = counter;", export.name).unwrap(),
            }
        }
        if let Some(n) = m.default {
            writeln!(out, "exports.default = function () {{\n  return {};\n}};", lit("default", n)).unwrap();
        }
        uses.insert(0, lit(m.word, m.log));
        writeln!(out, "console.log(\"{}\", {});", m.path, uses.join(", ")).unwrap();
        out
    }

    fn all_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.modules.iter().map(|m| m.path.clone()).collect();
        paths.push(PKG_JSON.into());
        paths.extend(PKG_FILES.iter().map(|f| format!("node_modules/pkg/{f}")));
        paths.extend(self.manifest.iter().map(|(path, _)| path.clone()));
        paths
    }

    /// Whether node can run the sources as they are and must print what the bundle prints.
    fn node_comparable(&self) -> bool {
        if self.has_cycle() || self.modules.iter().any(|m| m.kind == Kind::Cjs) {
            return false;
        }
        if self.manifest.as_ref().is_some_and(|(_, text)| *text != MANIFESTS[0] && *text != MANIFESTS[2]) {
            return false;
        }
        self.modules.iter().flat_map(|m| &m.imports).all(|i| {
            let json = matches!(&i.target, Target::File { path, .. } if path.ends_with(".json"));
            match (&i.target, &i.kind) {
                (Target::Dir(_) | Target::File { extless: true, .. }, _) | (_, ImportKind::Require(_)) => false,
                // Bundlers (esbuild, packem) give a JSON module named exports for its top-level
                // keys; node's namespace has only `default`.
                (_, ImportKind::Namespace(..)) if json => false,
                _ => true,
            }
        })
    }

    // --- operations ---

    /// Applies one random operation to the model: its description and the disk changes.
    fn step(&mut self, rng: &mut Rng) -> (String, Vec<Disk>) {
        const WEIGHTS: &[(u32, &str)] = &[
            (18, "body"),
            (10, "add-import"),
            (7, "remove-import"),
            (7, "add-export"),
            (8, "rename-export"),
            (6, "create-module"),
            (5, "delete-module"),
            (4, "restore-module"),
            (6, "rename-file"),
            (5, "add-cycle"),
            (5, "break-cycle"),
            (5, "switch-kind"),
            (4, "pkg-exports"),
            (2, "pkg-body"),
            (5, "dir-index"),
            (4, "manifest"),
            (3, "esmodule-flag"),
            (3, "rename-over"),
            (10, "heal"),
        ];
        let total: u32 = WEIGHTS.iter().map(|w| w.0).sum();
        loop {
            let mut roll = rng.below(total as usize) as u32;
            let op = WEIGHTS
                .iter()
                .find(|w| {
                    if roll < w.0 {
                        true
                    } else {
                        roll -= w.0;
                        false
                    }
                })
                .unwrap()
                .1;
            let done = match op {
                "body" => self.op_body(rng),
                "add-import" => self.op_add_import(rng),
                "remove-import" => self.op_remove_import(rng),
                "add-export" => self.op_add_export(rng),
                "rename-export" => self.op_rename_export(rng),
                "create-module" => self.op_create_module(rng),
                "delete-module" => self.op_delete_module(rng),
                "restore-module" => self.op_restore_module(rng),
                "rename-file" => self.op_rename_file(rng),
                "add-cycle" => self.op_add_cycle(rng),
                "break-cycle" => self.op_break_cycle(rng),
                "switch-kind" => self.op_switch_kind(rng),
                "pkg-exports" => self.op_pkg_exports(rng),
                "pkg-body" => self.op_pkg_body(rng),
                "dir-index" => self.op_dir_index(rng),
                "manifest" => self.op_manifest(rng),
                "esmodule-flag" => self.op_esmodule_flag(rng),
                "rename-over" => self.op_rename_over(rng),
                "heal" => self.op_heal(rng),
                _ => unreachable!(),
            };
            if let Some(done) = done {
                return done;
            }
        }
    }

    fn op_body(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let i = rng.below(self.modules.len());
        let n = rng.num();
        let m = &mut self.modules[i];
        let what = match m.kind {
            Kind::Json => {
                m.log = n;
                "value".to_string()
            }
            _ => {
                let choice = rng.below(m.exports.len() + 2);
                if choice < m.exports.len() {
                    let export = &mut m.exports[choice];
                    match &mut export.what {
                        What::Func { n: old, .. } | What::Const(old) => *old = n,
                        What::Live => return None,
                    }
                    format!("export {}", export.name)
                } else if choice == m.exports.len() && m.default.is_some() {
                    m.default = Some(n);
                    "default export".to_string()
                } else {
                    m.log = n;
                    "top-level log".to_string()
                }
            }
        };
        Some((format!("body edit of {} ({what} literal -> {n})", m.path), vec![Disk::Write(m.path.clone())]))
    }

    fn op_add_import(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let a = rng.pick(&self.code_modules())?;
        if rng.chance(10) {
            let target = Target::Bare(if rng.chance(60) { "pkg" } else { "pkg/sub" });
            self.add_import_to(rng, a, target);
        } else {
            let b = rng.below(self.modules.len());
            if b == a {
                return None;
            }
            self.add_import(rng, a, b);
        }
        let m = &self.modules[a];
        let import = m.imports.last().unwrap();
        Some((
            format!("add import to {}: {:?} of {}", m.path, import.kind, self.spec(m, &import.target)),
            vec![Disk::Write(m.path.clone())],
        ))
    }

    fn op_remove_import(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let a =
            rng.pick(&(0..self.modules.len()).filter(|&m| !self.modules[m].imports.is_empty()).collect::<Vec<_>>())?;
        let k = rng.below(self.modules[a].imports.len());
        let import = self.modules[a].imports.remove(k);
        let m = &self.modules[a];
        Some((
            format!("remove import from {}: {:?} of {}", m.path, import.kind, self.spec(m, &import.target)),
            vec![Disk::Write(m.path.clone())],
        ))
    }

    fn op_add_export(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let a = rng.pick(&self.code_modules())?;
        let m = &mut self.modules[a];
        if m.default.is_none() && rng.chance(20) {
            m.default = Some(rng.num());
            return Some((format!("add default export to {}", m.path), vec![Disk::Write(m.path.clone())]));
        }
        m.add_random_export(rng);
        let export = m.exports.last().unwrap();
        Some((
            format!("add export to {}: {} = {:?}", m.path, export.name, export.what),
            vec![Disk::Write(m.path.clone())],
        ))
    }

    fn op_rename_export(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let b =
            rng.pick(&(0..self.modules.len()).filter(|&m| !self.modules[m].exports.is_empty()).collect::<Vec<_>>())?;
        let k = rng.below(self.modules[b].exports.len());
        let new = self.modules[b].fresh_export_name(rng);
        let old = std::mem::replace(&mut self.modules[b].exports[k].name, new.clone());
        let mut disk = vec![Disk::Write(self.modules[b].path.clone())];
        let fix = rng.chance(70);
        if fix {
            for a in 0..self.modules.len() {
                let mut changed = false;
                for i in 0..self.modules[a].imports.len() {
                    if self.resolve(&self.modules[a].imports[i].target) != Some(b) {
                        continue;
                    }
                    match &mut self.modules[a].imports[i].kind {
                        ImportKind::Named(items) | ImportKind::ReexportNamed(items) => {
                            for (name, _) in items.iter_mut().filter(|(name, _)| *name == old) {
                                *name = new.clone();
                                changed = true;
                            }
                        }
                        ImportKind::Namespace(_, Some(member)) if *member == old => {
                            *member = new.clone();
                            changed = true;
                        }
                        _ => {}
                    }
                }
                if changed && a != b {
                    disk.push(Disk::Write(self.modules[a].path.clone()));
                }
            }
        }
        let fixed = if fix { "importers fixed" } else { "importers left" };
        Some((format!("rename export {old} -> {new} in {} ({fixed})", self.modules[b].path), disk))
    }

    fn op_create_module(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let id = self.id();
        let path = if rng.chance(25) { format!("src/lib{id}/index.js") } else { format!("src/n{id}.js") };
        let mut module = Module::new(id, path.clone(), Kind::Esm, rng);
        for _ in 0..rng.range(1, 2) {
            module.add_random_export(rng);
        }
        self.modules.push(module);
        let new = self.modules.len() - 1;
        if rng.chance(50) {
            let b = rng.below(new);
            self.add_import(rng, new, b);
        }
        let a = rng.pick(&self.code_modules().into_iter().filter(|&a| a != new).collect::<Vec<_>>())?;
        self.add_import(rng, a, new);
        let importer = self.modules[a].path.clone();
        Some((format!("create {path}, imported by {importer}"), vec![Disk::Write(path), Disk::Write(importer)]))
    }

    fn op_delete_module(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let entries_too = rng.chance(10);
        let candidates: Vec<usize> =
            (0..self.modules.len()).filter(|&m| entries_too || !self.entries.contains(&self.modules[m].path)).collect();
        let b = rng.pick(&candidates)?;
        let module = self.modules.remove(b);
        let path = module.path.clone();
        self.graveyard.push(module);
        Some((format!("delete {path}"), vec![Disk::Remove(path)]))
    }

    fn op_restore_module(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let candidates: Vec<usize> =
            (0..self.graveyard.len()).filter(|&g| self.find(&self.graveyard[g].path).is_none()).collect();
        let g = rng.pick(&candidates)?;
        let module = self.graveyard.remove(g);
        let path = module.path.clone();
        self.modules.push(module);
        Some((format!("restore deleted {path}"), vec![Disk::Write(path)]))
    }

    fn op_rename_file(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let candidates: Vec<usize> =
            (0..self.modules.len()).filter(|&m| !self.entries.contains(&self.modules[m].path)).collect();
        let b = rng.pick(&candidates)?;
        let k = self.id();
        let old = self.modules[b].path.clone();
        let (from, to, new) = if let Some(dir) = old.strip_suffix("/index.js") {
            let new_dir = format!("{dir}_r{k}");
            (dir.to_string(), new_dir.clone(), format!("{new_dir}/index.js"))
        } else {
            let (stem, mut ext) = old.rsplit_once('.').unwrap();
            if self.modules[b].kind == Kind::Esm && ext == "js" && rng.chance(25) {
                ext = "mjs";
            }
            let new = format!("{stem}_r{k}.{ext}");
            (old.clone(), new.clone(), new)
        };
        self.modules[b].path = new.clone();
        let mut disk = vec![Disk::Rename(from.clone(), to.clone())];
        let fix = rng.chance(65);
        if fix {
            for a in 0..self.modules.len() {
                let mut changed = false;
                for import in &mut self.modules[a].imports {
                    match &mut import.target {
                        Target::File { path, .. } if *path == old => {
                            *path = new.clone();
                            changed = true;
                        }
                        Target::Dir(dir) if *dir == from => {
                            *dir = to.clone();
                            changed = true;
                        }
                        _ => {}
                    }
                }
                if changed {
                    disk.push(Disk::Write(self.modules[a].path.clone()));
                }
            }
        }
        let fixed = if fix { "importers fixed" } else { "importers left" };
        Some((format!("rename {from} -> {to} ({fixed})"), disk))
    }

    fn op_add_cycle(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let y = rng.pick(&self.code_modules())?;
        let reach = self.reachable(y);
        let candidates: Vec<usize> = self.code_modules().into_iter().filter(|&x| x != y && reach[x]).collect();
        let x = rng.pick(&candidates)?;
        self.add_import(rng, x, y);
        let m = &self.modules[x];
        let import = m.imports.last().unwrap();
        Some((
            format!("add cycle: {} imports {} ({:?})", m.path, self.modules[y].path, import.kind),
            vec![Disk::Write(m.path.clone())],
        ))
    }

    fn op_break_cycle(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let mut edges = Vec::new();
        for x in 0..self.modules.len() {
            for (i, import) in self.modules[x].imports.iter().enumerate() {
                if let Some(y) = self.resolve(&import.target)
                    && (y == x || self.reachable(y)[x])
                {
                    edges.push((x, i));
                }
            }
        }
        let (x, i) = rng.pick(&edges)?;
        let import = self.modules[x].imports.remove(i);
        let m = &self.modules[x];
        Some((
            format!("break cycle: remove {:?} of {} from {}", import.kind, self.spec(m, &import.target), m.path),
            vec![Disk::Write(m.path.clone())],
        ))
    }

    fn op_switch_kind(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let candidates: Vec<usize> =
            (0..self.modules.len()).filter(|&m| self.modules[m].path.ends_with(".js")).collect();
        let a = rng.pick(&candidates)?;
        let m = &mut self.modules[a];
        m.kind = if m.kind == Kind::Esm { Kind::Cjs } else { Kind::Esm };
        Some((format!("rewrite {} as {:?}", m.path, m.kind), vec![Disk::Write(m.path.clone())]))
    }

    fn op_pkg_exports(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let to = rng.below(3);
        let which = if rng.chance(70) { &mut self.pkg_main } else { &mut self.pkg_sub };
        if *which == to {
            return None;
        }
        *which = to;
        Some((
            format!("package.json exports: main {} sub {}", PKG_FILES[self.pkg_main], PKG_FILES[self.pkg_sub]),
            vec![Disk::Write(PKG_JSON.into())],
        ))
    }

    fn op_pkg_body(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let k = rng.below(3);
        self.pkg_version[k] += 1;
        let path = format!("node_modules/pkg/{}", PKG_FILES[k]);
        Some((format!("body edit of {path}"), vec![Disk::Write(path)]))
    }

    /// Repairs one thing earlier operations broke: a broken `package.json`, an unresolved import
    /// (removed) or an import of a missing name (another name, or removed). Keeps most steps
    /// building without errors.
    fn op_heal(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        if let Some((path, text)) = &mut self.manifest
            && *text == MANIFESTS[3]
        {
            *text = MANIFESTS[rng.below(3)];
            return Some((format!("fix {path}: {text}"), vec![Disk::Write(path.clone())]));
        }
        let mut broken = Vec::new();
        for (a, m) in self.modules.iter().enumerate() {
            for (i, import) in m.imports.iter().enumerate() {
                let names = match (&import.target, self.resolve(&import.target)) {
                    (Target::Bare(_), _) => continue,
                    (_, None) => {
                        broken.push((a, i, None));
                        continue;
                    }
                    (_, Some(b)) => self.modules[b].export_names(),
                };
                let missing = match &import.kind {
                    ImportKind::Named(items) | ImportKind::ReexportNamed(items) => {
                        items.iter().any(|(n, _)| !names.contains(n))
                    }
                    ImportKind::Namespace(_, Some(member)) => !names.contains(member),
                    _ => false,
                };
                if missing {
                    broken.push((a, i, Some(names)));
                }
            }
        }
        let (a, i, names) = rng.pick(&broken)?;
        let m = &mut self.modules[a];
        let path = m.path.clone();
        let what = match names {
            Some(names) if !names.is_empty() => {
                match &mut m.imports[i].kind {
                    ImportKind::Named(items) | ImportKind::ReexportNamed(items) => {
                        for (n, _) in items.iter_mut().filter(|(n, _)| !names.contains(n)) {
                            *n = rng.pick(&names).unwrap();
                        }
                    }
                    ImportKind::Namespace(_, member) => *member = rng.pick(&names),
                    _ => unreachable!(),
                }
                format!("fix the imported names of {:?}", m.imports[i].kind)
            }
            Some(_) => format!("remove {:?}", m.imports.remove(i).kind),
            None => {
                // Every import of the missing module goes, as after a clean-up across the project.
                let target = m.imports[i].target.clone();
                let mut disk = Vec::new();
                for m in &mut self.modules {
                    let before = m.imports.len();
                    m.imports.retain(|i| i.target != target);
                    if m.imports.len() != before {
                        disk.push(Disk::Write(m.path.clone()));
                    }
                }
                return Some((format!("heal: remove every import of {target:?}"), disk));
            }
        };
        Some((format!("heal {path}: {what}"), vec![Disk::Write(path)]))
    }

    /// Creates, edits or deletes the project's own `package.json`.
    fn op_manifest(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let text = MANIFESTS[if rng.chance(15) { 3 } else { rng.below(3) }];
        match self.manifest.take() {
            Some((path, _)) if rng.chance(35) => Some((format!("delete {path}"), vec![Disk::Remove(path)])),
            Some((path, _)) => {
                self.manifest = Some((path.clone(), text));
                Some((format!("edit {path}: {text}"), vec![Disk::Write(path)]))
            }
            None => {
                let path = if rng.chance(50) { "package.json" } else { "src/package.json" }.to_string();
                self.manifest = Some((path.clone(), text));
                Some((format!("create {path}: {text}"), vec![Disk::Write(path)]))
            }
        }
    }

    fn op_esmodule_flag(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let candidates: Vec<usize> = (0..self.modules.len()).filter(|&m| self.modules[m].kind == Kind::Cjs).collect();
        let m = &mut self.modules[rng.pick(&candidates)?];
        m.es_flag = !m.es_flag;
        Some((format!("__esModule in {}: {}", m.path, m.es_flag), vec![Disk::Write(m.path.clone())]))
    }

    /// Renames a module over another one (same extension), which disappears.
    fn op_rename_over(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let candidates: Vec<usize> = (0..self.modules.len())
            .filter(|&m| !self.entries.contains(&self.modules[m].path) && !self.modules[m].path.ends_with("/index.js"))
            .collect();
        let a = rng.pick(&candidates)?;
        let b = rng.pick(&candidates)?;
        let (from, to) = (self.modules[a].path.clone(), self.modules[b].path.clone());
        if a == b || from.rsplit_once('.').unwrap().1 != to.rsplit_once('.').unwrap().1 {
            return None;
        }
        let replaced = self.modules.remove(b);
        self.graveyard.push(replaced);
        let a = self.find(&from).unwrap();
        self.modules[a].path = to.clone();
        let mut disk = vec![Disk::Rename(from.clone(), to.clone())];
        let fix = rng.chance(50);
        if fix {
            for m in &mut self.modules {
                let mut changed = false;
                for import in &mut m.imports {
                    if let Target::File { path, .. } = &mut import.target
                        && *path == from
                    {
                        *path = to.clone();
                        changed = true;
                    }
                }
                if changed {
                    disk.push(Disk::Write(m.path.clone()));
                }
            }
        }
        let fixed = if fix { "importers fixed" } else { "importers left" };
        Some((format!("rename {from} over {to} ({fixed})"), disk))
    }

    /// Creates the `index.js` a dangling directory import wants, or adds such an import.
    fn op_dir_index(&mut self, rng: &mut Rng) -> Option<(String, Vec<Disk>)> {
        let mut pending: Vec<String> = Vec::new();
        for m in &self.modules {
            for import in &m.imports {
                if let Target::Dir(dir) = &import.target
                    && self.resolve(&import.target).is_none()
                    && !self.modules.iter().any(|m| m.path.starts_with(&format!("{dir}/")))
                    && !pending.contains(dir)
                {
                    pending.push(dir.clone());
                }
            }
        }
        if let Some(dir) = rng.pick(&pending) {
            let id = self.id();
            let path = format!("{dir}/index.js");
            let mut module = Module::new(id, path.clone(), Kind::Esm, rng);
            let target = Target::Dir(dir.clone());
            for m in &self.modules {
                for import in m.imports.iter().filter(|i| i.target == target) {
                    let wanted: Vec<String> = match &import.kind {
                        ImportKind::Named(items) | ImportKind::ReexportNamed(items) => {
                            items.iter().map(|(n, _)| n.clone()).collect()
                        }
                        ImportKind::Namespace(_, Some(member)) => vec![member.clone()],
                        ImportKind::Default(_) => {
                            module.default = Some(rng.num());
                            vec![]
                        }
                        _ => vec![],
                    };
                    for name in wanted {
                        if !module.exports.iter().any(|e| e.name == name) {
                            module
                                .exports
                                .push(Export { name, what: What::Func { word: "dir", n: rng.num(), bump: false } });
                        }
                    }
                }
            }
            if module.exports.is_empty() {
                module.add_random_export(rng);
            }
            self.modules.push(module);
            return Some((format!("create {path} for a directory import"), vec![Disk::Write(path)]));
        }
        let a = rng.pick(&self.code_modules())?;
        let dir = format!("src/lib{}", self.id());
        self.add_import_to(rng, a, Target::Dir(dir.clone()));
        let m = &self.modules[a];
        let kind = &m.imports.last().unwrap().kind;
        Some((
            format!("add import of missing directory {dir} to {} ({kind:?})", m.path),
            vec![Disk::Write(m.path.clone())],
        ))
    }
}

const SHOW: &str = "function show(x) {\n  return typeof x === \"function\" ? x() : x !== null && typeof x === \"object\" ? Object.keys(x).sort().join(\"|\") : x;\n}\n";

// ---------------------------------------------------------------------------------------------
// Running a sequence.

struct Outputs {
    chunks: Vec<(String, String)>,
    /// With code splitting: each chunk's file name, and whether it is an entry's.
    files: Vec<(Option<String>, bool)>,
    /// With source maps: each chunk's map, as JSON.
    maps: Vec<String>,
    diagnostics: Vec<String>,
    errors: bool,
}

/// Whether sequence `seed` compiles with [`defines`].
fn uses_defines(seed: u64) -> bool {
    seed % 3 == 1
}

/// Compile options defining `PACKEM_PLUM` and two names the model declares, with `value` in them.
fn defines(value: usize) -> CompileOptions {
    CompileOptions {
        define: vec![
            ("PACKEM_PLUM".into(), format!("\"P{value}\"")),
            ("alpha".into(), value.to_string()),
            ("total.missing".into(), format!("\"{value}\"")),
        ],
        ..CompileOptions::default()
    }
}

fn describe(root: &Utf8Path, d: &Diagnostic) -> String {
    let rel = |f: &Option<Utf8PathBuf>| match f {
        Some(f) => f.strip_prefix(root).unwrap_or(f).to_string(),
        None => "-".to_string(),
    };
    let mut s = format!("{:?} {} {}:{:?} {}", d.severity, d.code.as_str(), rel(&d.file), d.range, d.message);
    for note in &d.notes {
        write!(s, " [note {}:{:?} {}]", rel(&note.file), note.range, note.message).unwrap();
    }
    s
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic)".to_string()
    }
}

fn outputs(ws: &mut Workspace, root: &Utf8Path, format: Format, emit: &EmitOptions) -> Result<Outputs, String> {
    catch_unwind(AssertUnwindSafe(|| {
        let target = ws.target_with(format, None, emit.clone());
        let bundle = ws.build(target);
        let diags = ws.build_diagnostics(target);
        let mut diagnostics: Vec<String> = diags.iter().map(|d| describe(root, d)).collect();
        diagnostics.sort();
        Outputs {
            chunks: bundle
                .chunks
                .iter()
                .map(|c| (c.entry.strip_prefix(root).unwrap_or(&c.entry).to_string(), c.code.to_string()))
                .collect(),
            files: bundle
                .chunks
                .iter()
                .map(|c| (c.file_name.clone(), c.kind == packem_host::ChunkKind::Entry))
                .collect(),
            maps: bundle
                .chunks
                .iter()
                .filter_map(|c| c.map.as_ref().map(|m| m.json("out.js", None, "").to_string()))
                .collect(),
            diagnostics,
            errors: diags.iter().any(|d| d.severity == packem_db::Severity::Error),
        }
    }))
    .map_err(panic_message)
}

/// A line diff (`-` cold, `+` incremental) with three lines of context, cut at 120 lines.
fn diff(cold: &str, incremental: &str) -> String {
    let a: Vec<&str> = cold.lines().collect();
    let b: Vec<&str> = incremental.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            lines.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            lines.push(('+', b[j]));
            j += 1;
        } else {
            lines.push(('-', a[i]));
            i += 1;
        }
    }
    let near = |k: usize| lines[k.saturating_sub(3)..(k + 4).min(lines.len())].iter().any(|l| l.0 != ' ');
    let mut out = String::new();
    let mut shown = 0;
    let mut skipped = false;
    for (k, (tag, line)) in lines.iter().enumerate() {
        if near(k) {
            if skipped {
                out.push_str("@@\n");
                skipped = false;
            }
            writeln!(out, "{tag} {line}").unwrap();
            shown += 1;
            if shown >= 120 {
                out.push_str("… (diff cut)\n");
                break;
            }
        } else {
            skipped = true;
        }
    }
    out
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn trace() -> bool {
    std::env::var("PACKEM_RANDOM_TRACE").is_ok_and(|v| v != "0")
}

/// Writes a file, creating its directory: the directories created, outermost first (a watcher
/// reports those).
fn write_file(path: &Utf8Path, text: &str) -> Vec<Utf8PathBuf> {
    let mut created: Vec<Utf8PathBuf> = path.ancestors().skip(1).take_while(|d| !d.exists()).map(Into::into).collect();
    created.reverse();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    created
}

/// Runs `script` with node from `cwd`: success, stdout and stderr, or `None` without node.
fn run_node(script: &Utf8Path, cwd: &Utf8Path) -> Option<(bool, String, String)> {
    let output = Command::new("node")
        .arg("--experimental-default-type=module")
        .arg("--no-warnings")
        .arg(script)
        .current_dir(cwd)
        .output()
        .ok()?;
    Some((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

struct Sequence {
    seed: u64,
    steps: usize,
    rng: Rng,
    model: Model,
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
    ws: Workspace,
    formats: Vec<Format>,
    /// Emission options (with splitting, now and then parts of at most a few modules).
    emit: EmitOptions,
    log: Vec<String>,
    /// In cross-process sequences, the persistent cache every step's new workspace opens.
    cache: Option<Utf8PathBuf>,
    /// Stored facts the restarted steps found (so the cross-process steps did use the cache).
    reused: usize,
    node_checks: usize,
    /// Builds compared, and how many of them had no errors.
    compared: usize,
    clean: usize,
}

impl Sequence {
    fn new(seed: u64, steps: usize) -> Self {
        let mut rng = Rng::new(seed);
        let model = Model::generate(&mut rng);
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().canonicalize().unwrap()).unwrap();
        for path in model.all_paths() {
            let _ = write_file(&root.join(&path), &model.render(&path));
        }
        let entries = model.entries.iter().map(|e| root.join(e)).collect();
        let options = ProjectOptions { cwd: root.clone(), platform: Platform::Browser, ..ProjectOptions::default() };
        // Every third sequence compiles with defines: `PACKEM_PLUM`, which literals of one word
        // read (so the bundle differs from the sources and node is not compared), and names the
        // model declares (never replaced). Files start and stop mentioning them as edits happen,
        // which re-derives their compile settings, and now and then the defines' values change.
        let compile = if uses_defines(seed) { defines(1) } else { CompileOptions::default() };
        let mut ws = Workspace::with_compile(PackemDatabase::default(), entries, options, compile);
        // Tree shaking is on (the default) except in every fourth sequence; every fifth splits
        // code (ESM only); every third minifies (`--minify`: whitespace, syntax, identifiers).
        let splitting = seed % 5 == 2;
        ws.set_link_options(LinkOptions {
            tree_shaking: seed % 4 != 3,
            splitting,
            minify: if seed % 3 == 1 { packem_db::Minify::ALL } else { packem_db::Minify::default() },
            ..LinkOptions::default()
        });
        // Half of those cut chunks into parts of a module or two (`--max-chunk-size`). Source
        // maps in every third sequence but one in nine, so some are minified and some not.
        let emit = EmitOptions {
            max_chunk_size: (splitting && seed % 10 == 7).then_some(120),
            sourcemap: (seed % 3 == 1 || seed % 9 == 3).then(|| packem_host::SourceMapOptions {
                mode: packem_host::SourceMapMode::Linked,
                sources_content: seed.is_multiple_of(2),
                source_root: None,
                base: root.clone(),
            }),
            // One in seven mangles the CommonJS modules' export properties (the bundle then no
            // longer prints what the sources print: `Object.keys` shows the new names; not run
            // in node).
            mangle_props: (seed % 7 == 5).then(|| packem_host::ManglePropsOptions {
                pattern: "^(which|tag)$".into(),
                reserve: None,
                quoted: false,
            }),
            ..EmitOptions::default()
        };
        // Every other sequence restarts (a new database on the persistent cache) at each step.
        let cache = seed.is_multiple_of(2).then(|| root.join("node_modules/.cache/packem"));
        if let Some(dir) = &cache {
            assert_eq!(ws.open_cache(dir), None);
        }
        let formats = match splitting {
            true => vec![Format::Esm],
            false => vec![Format::Esm, if rng.chance(50) { Format::Cjs } else { Format::Iife }],
        };
        if trace() {
            eprintln!("== seed {seed}: initial files");
            for path in model.all_paths() {
                eprintln!("--- {path}\n{}", model.render(&path));
            }
        }
        Sequence {
            seed,
            steps,
            rng,
            model,
            _dir: dir,
            root,
            ws,
            formats,
            emit,
            log: Vec::new(),
            cache,
            reused: 0,
            node_checks: 0,
            compared: 0,
            clean: 0,
        }
    }

    fn cold(&self) -> Workspace {
        let db = self.ws.db();
        let project = self.ws.project();
        let mut ws = Workspace::with_compile(
            PackemDatabase::default(),
            project.entries(db).clone(),
            project.options(db).clone(),
            project.compile(db).clone(),
        );
        ws.set_link_options(project.link(db).clone());
        ws
    }

    fn fail(&self, step: usize, what: &str, details: &str) -> String {
        let mut s = format!(
            "random_edits: seed {} step {step}/{}: {what}\nre-run: PACKEM_RANDOM_SEED={} PACKEM_RANDOM_STEPS={} cargo test -p packem_tests --test random_edits -- --nocapture (add PACKEM_RANDOM_TRACE=1 to print every file written)\noperations:\n",
            self.seed, self.steps, self.seed, self.steps
        );
        for (k, op) in self.log.iter().enumerate() {
            writeln!(s, "  {}: {op}", k + 1).unwrap();
        }
        s.push_str(details);
        s
    }

    /// Performs the disk changes and tells the workspace, at once or change by change.
    fn apply(&mut self, disk: Vec<Disk>, changed: &mut Vec<Utf8PathBuf>) -> Vec<String> {
        let batch = self.rng.chance(50);
        let mut notes = Vec::new();
        for action in disk {
            let mut paths = Vec::new();
            match action {
                Disk::Write(rel) => {
                    let text = self.model.render(&rel);
                    let path = self.root.join(&rel);
                    if path.exists() && self.rng.chance(30) {
                        // Atomic save: write a sibling, then rename it over the file.
                        let tmp = self.root.join(format!("{rel}.tmp"));
                        paths.extend(write_file(&tmp, &text));
                        std::fs::rename(&tmp, &path).unwrap();
                        paths.extend([tmp, path]);
                        notes.push(format!("atomic-save {rel}"));
                    } else {
                        paths.extend(write_file(&path, &text));
                        paths.push(path);
                        notes.push(format!("write {rel}"));
                    }
                    if trace() {
                        eprintln!("--- write {rel}\n{text}");
                    }
                }
                Disk::Remove(rel) => {
                    let path = self.root.join(&rel);
                    std::fs::remove_file(&path).unwrap();
                    paths.push(path);
                    notes.push(format!("remove {rel}"));
                    if trace() {
                        eprintln!("--- remove {rel}");
                    }
                }
                Disk::Rename(from, to) => {
                    let (f, t) = (self.root.join(&from), self.root.join(&to));
                    std::fs::create_dir_all(t.parent().unwrap()).unwrap();
                    std::fs::rename(&f, &t).unwrap();
                    paths.extend([f, t]);
                    notes.push(format!("rename {from} {to}"));
                    if trace() {
                        eprintln!("--- rename {from} -> {to}");
                    }
                }
            }
            if batch {
                changed.extend(paths);
            } else {
                self.ws.apply_changes(paths);
            }
        }
        if batch {
            notes.push("(one apply_changes)".into());
        }
        notes
    }

    fn run(&mut self) -> Result<(), String> {
        let mut node_rng = Rng::new(self.seed ^ 0xA5A5_5A5A);
        for step in 0..=self.steps {
            if step > 0 {
                // Now and then several operations between two builds.
                let ops = if self.rng.chance(25) { self.rng.range(2, 3) } else { 1 };
                let mut changed = Vec::new();
                let mut descriptions = Vec::new();
                for _ in 0..ops {
                    let (desc, disk) = self.model.step(&mut self.rng);
                    if trace() {
                        eprintln!("== step {step}: {desc}");
                    }
                    let notes = self.apply(disk, &mut changed);
                    descriptions.push(format!("{desc}  [{}]", notes.join(", ")));
                }
                if !changed.is_empty() {
                    self.ws.apply_changes(changed);
                }
                if uses_defines(self.seed) && self.rng.chance(10) {
                    let value = self.rng.range(1, 3);
                    self.ws.set_compile_options(defines(value));
                    descriptions.push(format!("defines set to {value}"));
                }
                if let Some(dir) = self.cache.clone() {
                    // A new process starts from the cache with whatever options the step set.
                    let mut next = self.cold();
                    if let Some(warning) = next.open_cache(&dir) {
                        return Err(self.fail(step, "opening the cache warned", &warning));
                    }
                    self.ws = next;
                    descriptions.push("(new process on the cache)".into());
                }
                self.log.push(descriptions.join("\n     then "));
            }
            // Either order; now and then one format only, so the other's results go stale for
            // a few revisions before they are checked again.
            let mut formats = self.formats.to_vec();
            if self.rng.chance(30) {
                formats.reverse();
            }
            if self.rng.chance(25) && step > 0 {
                formats.truncate(1);
            }
            for format in formats {
                let incremental = outputs(&mut self.ws, &self.root, format, &self.emit)
                    .map_err(|p| self.fail(step, &format!("incremental build panicked ({format:?})"), &p))?;
                let mut cold_ws = self.cold();
                let cold = outputs(&mut cold_ws, &self.root, format, &self.emit)
                    .map_err(|p| self.fail(step, &format!("cold build panicked ({format:?})"), &p))?;
                if trace() {
                    let bytes: usize = incremental.chunks.iter().map(|c| c.1.len()).sum();
                    eprintln!(
                        "== step {step} {format:?}: {bytes} bytes of chunks, diagnostics:\n  {}",
                        incremental.diagnostics.join("\n  ")
                    );
                }
                if incremental.diagnostics != cold.diagnostics {
                    let details = format!(
                        "cold diagnostics:\n  {}\nincremental diagnostics:\n  {}\n",
                        cold.diagnostics.join("\n  "),
                        incremental.diagnostics.join("\n  ")
                    );
                    return Err(self.fail(step, &format!("diagnostics differ ({format:?})"), &details));
                }
                if incremental.maps != cold.maps {
                    let k = (0..cold.maps.len().max(incremental.maps.len()))
                        .find(|&k| cold.maps.get(k) != incremental.maps.get(k))
                        .unwrap();
                    let details = format!(
                        "map {k}:\ncold:        {}\nincremental: {}\n",
                        cold.maps.get(k).map_or("(none)", |m| m.as_str()),
                        incremental.maps.get(k).map_or("(none)", |m| m.as_str())
                    );
                    return Err(self.fail(step, &format!("source maps differ ({format:?})"), &details));
                }
                if incremental.files != cold.files {
                    let details = format!("cold files: {:?}\nincremental files: {:?}\n", cold.files, incremental.files);
                    return Err(self.fail(step, "chunk file names differ", &details));
                }
                if incremental.chunks != cold.chunks {
                    let k = (0..cold.chunks.len().max(incremental.chunks.len()))
                        .find(|&k| cold.chunks.get(k) != incremental.chunks.get(k))
                        .unwrap();
                    let empty = (String::new(), String::new());
                    let (c, i) = (cold.chunks.get(k).unwrap_or(&empty), incremental.chunks.get(k).unwrap_or(&empty));
                    let details = format!(
                        "chunk {k} (cold entry {}, incremental entry {}), - cold + incremental:\n{}",
                        c.0,
                        i.0,
                        diff(&c.1, &i.1)
                    );
                    return Err(self.fail(step, &format!("chunks differ ({format:?})"), &details));
                }
                self.compared += 1;
                self.clean += usize::from(!incremental.errors);
                if format == Format::Esm && !incremental.errors && self.model.node_comparable() && node_rng.chance(35) {
                    self.node_check(step, &incremental)?;
                }
            }
            if self.cache.is_some() {
                // The step's process ends: it saves what it computed.
                let saved = self.ws.save_cache().map_err(|w| self.fail(step, "saving the cache failed", &w))?;
                self.reused += saved.reused;
            }
        }
        Ok(())
    }

    /// Runs each ESM chunk and its entry's sources with node: the same output is expected.
    fn node_check(&mut self, step: usize, out: &Outputs) -> Result<(), String> {
        if std::env::var("PACKEM_RANDOM_NODE").is_ok_and(|v| v == "0")
            || uses_defines(self.seed)
            || self.emit.mangle_props.is_some()
            || !self.model.node_comparable()
        {
            return Ok(());
        }
        let bundles = tempfile::tempdir().unwrap();
        let bundles = Utf8PathBuf::from_path_buf(bundles.keep()).unwrap();
        let split = out.files.iter().any(|(name, _)| name.is_some());
        if split {
            // Chunks import each other by their names.
            let _ = write_file(&bundles.join("package.json"), "{\"type\": \"module\"}");
            for ((_, code), (name, _)) in out.chunks.iter().zip(&out.files) {
                let _ = write_file(&bundles.join(name.as_deref().unwrap_or("unnamed.js")), code);
            }
        }
        let result = (|| {
            for (k, (entry, code)) in out.chunks.iter().enumerate() {
                let bundle = match &out.files[k] {
                    (Some(name), true) => bundles.join(name),
                    (Some(_), false) => continue,
                    (None, _) => {
                        let bundle = bundles.join(format!("out{k}.mjs"));
                        let _ = write_file(&bundle, code);
                        bundle
                    }
                };
                let from_bundle = run_node(&bundle, &bundles).expect("node runs (PACKEM_RANDOM_NODE=0 skips it)");
                let from_sources = run_node(&self.root.join(entry), &self.root).unwrap();
                self.node_checks += 1;
                if from_bundle.0 != from_sources.0 || from_bundle.1 != from_sources.1 {
                    let details = format!(
                        "entry {entry}: node on the sources (ok: {}):\n{}{}\nnode on the ESM bundle (ok: {}):\n{}{}\ndiff (- sources + bundle):\n{}",
                        from_sources.0,
                        from_sources.1,
                        from_sources.2,
                        from_bundle.0,
                        from_bundle.1,
                        from_bundle.2,
                        diff(&from_sources.1, &from_bundle.1)
                    );
                    return Err(self.fail(step, "node prints differently for the bundle and the sources", &details));
                }
            }
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&bundles);
        result
    }
}

#[test]
fn random_edits_incremental_equals_cold() {
    let steps = env_u64("PACKEM_RANDOM_STEPS", 8) as usize;
    let (first, count) = match std::env::var("PACKEM_RANDOM_SEED").ok().and_then(|s| s.parse::<u64>().ok()) {
        Some(seed) => (seed, 1),
        None => (env_u64("PACKEM_RANDOM_FIRST_SEED", 0), env_u64("PACKEM_RANDOM_SEQUENCES", 300)),
    };
    let threads = env_u64("PACKEM_RANDOM_THREADS", 2).max(1);
    let next = AtomicU64::new(first);
    let failures: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
    let node_checks = AtomicU64::new(0);
    let compared = AtomicU64::new(0);
    let clean = AtomicU64::new(0);
    let reused = AtomicU64::new(0);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= first + count || !failures.lock().unwrap().is_empty() {
                        break;
                    }
                    let mut sequence = Sequence::new(seed, steps);
                    let result = sequence.run();
                    node_checks.fetch_add(sequence.node_checks as u64, Ordering::Relaxed);
                    compared.fetch_add(sequence.compared as u64, Ordering::Relaxed);
                    clean.fetch_add(sequence.clean as u64, Ordering::Relaxed);
                    reused.fetch_add(sequence.reused as u64, Ordering::Relaxed);
                    if let Err(message) = result {
                        failures.lock().unwrap().push((seed, message));
                    }
                }
            });
        }
    });
    eprintln!(
        "random_edits: {count} sequences of {steps} steps from seed {first}: {} builds compared ({} without \
         errors), {} node comparisons, {} stored facts reused across processes, {:.1?}",
        compared.load(Ordering::Relaxed),
        clean.load(Ordering::Relaxed),
        node_checks.load(Ordering::Relaxed),
        reused.load(Ordering::Relaxed),
        started.elapsed()
    );
    // Half the sequences restart on the cache at every step: most of their modules are unchanged.
    if steps > 1 && (first..first + count).any(|seed| seed.is_multiple_of(2)) {
        assert!(reused.load(Ordering::Relaxed) > 0, "the cross-process sequences never used the cache");
    }
    let mut failures = failures.into_inner().unwrap();
    failures.sort_by_key(|f| f.0);
    if let Some((_, message)) = failures.first() {
        panic!("{message}");
    }
}

// ---------------------------------------------------------------------------------------------
// Reductions of what the randomized test found, kept as regression tests.

fn files_project(files: &[(&str, &str)], entries: &[&str]) -> TestProject {
    TestProject::new(files, entries)
}

fn esm_chunks(ws: &mut Workspace) -> (Vec<String>, Vec<String>) {
    let target = ws.target(Format::Esm, None);
    let bundle = ws.build(target);
    let diagnostics = ws.build_diagnostics(target).iter().map(|d| d.message.clone()).collect();
    (bundle.chunks.iter().map(|c| c.code.to_string()).collect(), diagnostics)
}

/// An ESM module's namespace object leaves out the names it gets from `export * from` a CommonJS
/// module: `Object.keys(ns)` is `label` in the bundle, `label|tag|which` in node (and esbuild,
/// which copies them with `__reExport(m2_exports, __toESM(require_c()))`). Named imports of those
/// names through the re-exporting module work. Found by the node comparison: not an
/// incremental bug, cold builds do the same.
#[test]
fn regression_namespace_includes_names_from_export_star_of_commonjs() {
    let mut p = files_project(
        &[
            ("src/main.js", "import * as ns from \"./m2.js\";\nconsole.log(Object.keys(ns).sort().join(\"|\"));\n"),
            ("src/m2.js", "export * from \"./c.cjs\";\nexport const label = 1;\n"),
            ("src/c.cjs", "exports.which = function () {};\nexports.tag = \"c\";\n"),
        ],
        &["src/main.js"],
    );
    let (chunks, diagnostics) = esm_chunks(&mut p.ws);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let bundle = p.path("out.mjs");
    let _ = write_file(&bundle, &chunks[0]);
    let (ok, stdout, _) = run_node(&bundle, p.root()).expect("node runs (the test suite needs it)");
    assert!(ok);
    assert_eq!(stdout, "label|tag|which\n", "bundle:\n{}", chunks[0]);
}

/// A file created in a new directory, reported to `apply_changes` by its own path only (as
/// `TestProject::write` does, or an LSP client's `workspace/didChangeWatchedFiles` with a `**/*.js`
/// glob), does not fix the import that wanted that directory: `./lib` stays unresolved until a
/// cold build. The resolver looked up `src/lib` (missing) but never `src/lib/index.js`, so the
/// file is unknown to `Files::sync_path` and nothing is invalidated. Reporting the directory too
/// (what the `notify` watcher does) works; the randomized test does that.
#[test]
fn regression_file_created_in_a_new_directory_fixes_the_import() {
    let mut p = files_project(&[("src/main.js", "import { a } from \"./lib\";\nconsole.log(a);\n")], &["src/main.js"]);
    let (_, diagnostics) = esm_chunks(&mut p.ws);
    assert_eq!(diagnostics, ["Could not resolve \"./lib\""]);
    p.write("src/lib/index.js", "export const a = 1;\n");
    let incremental = esm_chunks(&mut p.ws);
    let db = p.ws.db();
    let mut cold = Workspace::new(p.ws.project().entries(db).clone(), p.ws.project().options(db).clone());
    assert_eq!(incremental, esm_chunks(&mut cold));
}

/// With two entries, a module that one entry imports statically and the other only through
/// `import()` used to be emitted unwrapped (eager) in the second entry's chunk, so its top level
/// ran where node runs only `main`. Laziness is decided per output now: the module is an `__esm`
/// closure, and the entry that imports it statically calls its `init_x()` in place. Found by the
/// node comparison (it was `known_incremental_bug_3`).
#[test]
fn regression_laziness_is_decided_per_output() {
    let mut p = files_project(
        &[
            ("src/main.js", "export function lazy() {\n  return import(\"./m4.js\");\n}\nconsole.log(\"main\");\n"),
            ("src/second.js", "import \"./m4.js\";\n"),
            ("src/m4.js", "console.log(\"m4\");\n"),
        ],
        &["src/main.js", "src/second.js"],
    );
    let (chunks, diagnostics) = esm_chunks(&mut p.ws);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let bundle = p.path("out.mjs");
    let _ = write_file(&bundle, &chunks[0]);
    let (ok, stdout, _) = run_node(&bundle, p.root()).expect("node runs (the test suite needs it)");
    assert!(ok);
    assert_eq!(stdout, "main\n", "bundle:\n{}", chunks[0]); // The second entry imports it statically: it runs there, eagerly.
    let second = p.path("second.mjs");
    let _ = write_file(&second, &chunks[1]);
    let (ok, stdout, _) = run_node(&second, p.root()).unwrap();
    assert!(ok);
    assert_eq!(stdout, "m4\n", "bundle:\n{}", chunks[1]);
}

/// `export { item as gamma } from "./m19.js"` where `m19.js` has no `item` gets no diagnostic
/// when nothing imports `gamma` (or only `export *` reaches it), and the bundle runs; node fails
/// to link (`does not provide an export named 'item'`) and esbuild reports `No matching export
/// in "src/m19.js" for import "item"` at the re-export. When `gamma` is imported, packem's error
/// blames `src/m21.js` for `gamma` rather than the re-export. Found by the node comparison.
#[test]
fn regression_reexport_of_a_missing_name_is_an_error() {
    let mut p = files_project(
        &[
            ("src/main.js", "import \"./m21.js\";\nconsole.log(\"main\");\n"),
            ("src/m21.js", "export { item as gamma } from \"./m19.js\";\n"),
            ("src/m19.js", "export const other = 1;\n"),
        ],
        &["src/main.js"],
    );
    let (_, diagnostics) = esm_chunks(&mut p.ws);
    assert_eq!(diagnostics, ["No matching export in \"src/m19.js\" for import \"item\""]);
}
