//! Corpora for packem's benchmarks: copies of npm packages installed by `cargo xtask fixtures`
//! and of the corpora it generates (`three10`, `synth-1000`, `synth-10000`), and a watch-mode
//! session that rebuilds after a change and writes the outputs to disk. `three10-min` is a
//! variant of `three10` (the same files) built with `--minify --sourcemap`.
#![allow(clippy::disallowed_methods)] // test and benchmark support writes fixtures directly

use std::sync::Arc;

/// The allocator the `packem` binary uses, so in-process numbers match the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{Platform, ProjectOptions};
use packem_host::{Format, ModuleGraph, SourceMapMode, SourceMapOptions, Target, Workspace};
use packem_output::{WriteOptions, WrittenSet};

/// `.fixtures/npm` at the workspace root, or a panic telling how to create it.
pub fn npm_fixtures() -> Utf8PathBuf {
    let dir = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join(".fixtures/npm");
    assert!(dir.join("node_modules/.packem-stamp").exists(), "run `cargo xtask fixtures` first");
    dir
}

/// A private copy of `three/src` (so benchmarks may edit it) with an entry re-exporting it.
pub struct ThreeCopy {
    /// The temp directory holding the copy; deleted on drop.
    pub dir: tempfile::TempDir,
    /// The entry file.
    pub entry: Utf8PathBuf,
    /// A leaf module edited by the rebuild benchmark.
    pub leaf: Utf8PathBuf,
}

impl ThreeCopy {
    /// Copies `three/src` into a new temp directory.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().canonicalize().unwrap()).unwrap();
        copy_dir(&npm_fixtures().join("node_modules/three/src"), &root.join("src"));
        let entry = root.join("entry.js");
        std::fs::write(&entry, "export * from './src/Three.js';\n").unwrap();
        Self { dir, entry, leaf: root.join("src/math/MathUtils.js") }
    }
}

impl ThreeCopy {
    /// A workspace on the copy's entry (browser platform).
    pub fn workspace(&self) -> packem_host::Workspace {
        let options = packem_db::ProjectOptions {
            cwd: self.entry.parent().unwrap().to_owned(),
            platform: packem_db::Platform::Browser,
            ..Default::default()
        };
        packem_host::Workspace::new(vec![self.entry.clone()], options)
    }
}

impl Default for ThreeCopy {
    fn default() -> Self {
        Self::new()
    }
}

/// The directory under `.fixtures` holding corpus `name`'s files: its own, except for variants
/// of a corpus built with other options (`three10-min`: `three10`).
pub fn fixture_name(name: &str) -> &str {
    match name {
        "three10-min" => "three10",
        _ => name,
    }
}

/// Whether corpus `name` is built minified and with a linked source map (`--minify
/// --sourcemap`, esbuild's headline benchmark).
pub fn is_minified(name: &str) -> bool {
    name == "three10-min"
}

/// `.fixtures/<name>` at the workspace root (a corpus `cargo xtask fixtures` generates; for a
/// variant, the corpus it varies, see [`fixture_name`]), or a panic telling how to create it.
pub fn generated_fixture(name: &str) -> Utf8PathBuf {
    let dir = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join(".fixtures").join(fixture_name(name));
    assert!(dir.join(".packem-stamp").exists(), "run `cargo xtask fixtures` first (no {dir})");
    dir
}

/// The generated corpora, by name (not the variants such as `three10-min`). Debug builds
/// (benchmarks run once each in test mode under `cargo test --all-targets`) leave out the
/// 10,000-module app, which takes too long unoptimized.
pub fn corpora() -> Vec<&'static str> {
    let mut all = vec!["three10", "react-app", "synth-1000", "synth-10000"];
    if cfg!(debug_assertions) {
        all.pop();
    }
    all
}

/// A private copy of a generated corpus (so benchmarks may edit it), with the files and edits
/// the rebuild benchmarks use.
pub struct Corpus {
    /// The temp directory holding the copy (and the output directory); deleted on drop.
    pub dir: tempfile::TempDir,
    /// The entry file.
    pub entry: Utf8PathBuf,
    /// Where outputs are written.
    pub outdir: Utf8PathBuf,
    /// The output file's name, relative to `outdir`.
    pub output_name: String,
    /// Whether sessions on it minify and write a linked source map (`three10-min`).
    pub minified: bool,
    /// A leaf module (it imports nothing) whose function body [`Corpus::body_edit`] changes.
    pub leaf: Utf8PathBuf,
    leaf_text: String,
    leaf_needle: &'static str,
    /// For corpora whose leaf is TypeScript/JSX, a JavaScript leaf (with the same needle) whose
    /// body edit [`Corpus::js_body_edit`] makes: the cost of compiling TSX shows against it.
    pub js_leaf: Option<Utf8PathBuf>,
    js_leaf_text: String,
    /// The module to which [`Corpus::import_edit`] adds an import of another existing module.
    pub importer: Utf8PathBuf,
    importer_text: String,
    extra_import: String,
}

impl Corpus {
    /// Copies `.fixtures/<name>` (one of [`corpora`], or a variant such as `three10-min`: see
    /// [`fixture_name`]) into a new temp directory.
    pub fn new(name: &str) -> Self {
        let fixture = generated_fixture(name);
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().canonicalize().unwrap()).unwrap().join(name);
        copy_dir(&fixture, &root);
        let outdir = root.parent().unwrap().join("out");
        let mut js_leaf = None;
        let (entry, leaf, leaf_needle, importer, extra_import) = if name == "react-app" {
            js_leaf = Some(root.join("src/format.js"));
            (
                root.join("src/main.tsx"),
                root.join("src/Badge.tsx"),
                "const threshold = 1;",
                // Badge.tsx imports only react's runtime; format.js imports nothing.
                root.join("src/Badge.tsx"),
                "import { plural as benchExtra } from './format.js';\n".to_owned(),
            )
        } else if fixture_name(name) == "three10" {
            (
                root.join("entry.js"),
                root.join("copy0/math/MathUtils.js"),
                "return degrees * DEG2RAD;",
                // MathUtils.js imports only ../utils.js; EventDispatcher.js imports nothing, so
                // the new edge makes no cycle.
                root.join("copy0/math/MathUtils.js"),
                "import { EventDispatcher as BenchExtra } from '../core/EventDispatcher.js';\n".to_owned(),
            )
        } else {
            let modules: usize = name.strip_prefix("synth-").unwrap().parse().unwrap();
            let module = |i: usize| root.join(format!("src/g{}/m{i}.js", i / 100));
            // The last module imports nothing; module 0 (a root) imports modules within the
            // generator's window of 40, never the middle one.
            let middle = modules / 2;
            (
                root.join("src/index.js"),
                module(modules - 1),
                "let acc = (input | 0) + 1;",
                module(0),
                format!("import {{ f{middle}_a as benchExtra }} from '../g{}/m{middle}.js';\n", middle / 100),
            )
        };
        let leaf_text = std::fs::read_to_string(&leaf).unwrap();
        assert!(leaf_text.contains(leaf_needle), "{leaf} lacks `{leaf_needle}`");
        let importer_text = std::fs::read_to_string(&importer).unwrap();
        let js_leaf_text = js_leaf.as_ref().map(|p| std::fs::read_to_string(p).unwrap()).unwrap_or_default();
        assert!(js_leaf.is_none() || js_leaf_text.contains(leaf_needle), "the JavaScript leaf lacks `{leaf_needle}`");
        let output_name = entry.with_extension("js").file_name().unwrap().to_owned();
        Self {
            dir,
            entry,
            outdir,
            output_name,
            minified: is_minified(name),
            leaf,
            leaf_text,
            leaf_needle,
            js_leaf,
            js_leaf_text,
            importer,
            importer_text,
            extra_import,
        }
    }

    /// Like [`Corpus::body_edit`], for the JavaScript leaf (corpora that have one).
    pub fn js_body_edit(&self, n: u64) -> String {
        let expr = self.leaf_needle.strip_suffix(';').unwrap();
        let edited = format!("{expr} + {n} - {n}{};", " + 0".repeat((n % 3) as usize));
        self.js_leaf_text.replacen(self.leaf_needle, &edited, 1)
    }

    /// The JavaScript leaf's original text.
    pub fn js_leaf_text(&self) -> &str {
        &self.js_leaf_text
    }

    /// The leaf's text with edit number `n` applied: a new literal inside a function body (no
    /// import, export or declared name changes). Distinct for every `n`, and of another length
    /// than edits `n - 1` and `n - 2`, like typing: the output's bytes after the leaf move on
    /// every edit, so a writer cannot reuse the bytes of the version before last in place.
    pub fn body_edit(&self, n: u64) -> String {
        let expr = self.leaf_needle.strip_suffix(';').unwrap();
        let edited = format!("{expr} + {n} - {n}{};", " + 0".repeat((n % 3) as usize));
        self.leaf_text.replacen(self.leaf_needle, &edited, 1)
    }

    /// The leaf's original text (writing it back is a no-op change).
    pub fn leaf_text(&self) -> &str {
        &self.leaf_text
    }

    /// The importer's text with (`add`) or without an extra import of an existing module.
    pub fn import_edit(&self, add: bool) -> String {
        if add { format!("{}{}", self.extra_import, self.importer_text) } else { self.importer_text.clone() }
    }

    /// A warm watch-mode session on this corpus: built and written once.
    pub fn session(&self) -> Session {
        let mut session = Session::new(self);
        session.cold();
        session
    }

    /// The same, with code splitting into parts of at most `max_chunk_size` bytes.
    pub fn split_session(&self, max_chunk_size: u64) -> Session {
        let mut session = Session::split(self, max_chunk_size);
        session.cold();
        session
    }
}

/// A workspace building one ESM bundle and writing it like watch mode does: each write gets the
/// previous [`WrittenSet`], so unchanged files are neither read back nor rewritten.
pub struct Session {
    /// The workspace.
    pub ws: Workspace,
    target: Target,
    outdir: Utf8PathBuf,
    output_name: String,
    written: WrittenSet,
    graph: Option<Arc<ModuleGraph>>,
    inputs: packem_output::InputPaths,
    /// Minification (all of `--minify`), for a minified corpus.
    minify: packem_db::Minify,
    /// The source map options (`--sourcemap`, linked), for a minified corpus.
    sourcemap: Option<SourceMapOptions>,
}

impl Session {
    /// A fresh (cold) workspace for `corpus` building with code splitting and chunks cut into
    /// parts of at most `max_chunk_size` bytes (`--splitting --max-chunk-size`); every chunk is
    /// written under its name.
    pub fn split(corpus: &Corpus, max_chunk_size: u64) -> Self {
        let mut session = Session::new(corpus);
        session.ws.set_link_options(packem_db::LinkOptions {
            splitting: true,
            minify: session.minify,
            ..Default::default()
        });
        // Names that do not follow contents, so that an edit renames (and rewrites) no importer.
        let chunk_naming = packem_host::ChunkNaming { chunks: "[dir]/[name]".to_string(), ..Default::default() };
        let emit = packem_host::EmitOptions {
            max_chunk_size: Some(max_chunk_size),
            chunk_naming,
            sourcemap: session.sourcemap.clone(),
            ..Default::default()
        };
        session.target = session.ws.target_with(Format::Esm, None, emit);
        session
    }

    /// A fresh (cold) workspace for `corpus`; nothing is built yet. A minified corpus is built
    /// as `--minify --sourcemap` does (all of minification, a linked `.map` file with the
    /// sources' text).
    pub fn new(corpus: &Corpus) -> Self {
        let options = ProjectOptions {
            cwd: corpus.entry.parent().unwrap().to_owned(),
            platform: Platform::Browser,
            ..Default::default()
        };
        let mut ws = Workspace::new(vec![corpus.entry.clone()], options);
        let (minify, sourcemap) = if corpus.minified {
            let sourcemap = SourceMapOptions {
                mode: SourceMapMode::Linked,
                sources_content: true,
                source_root: None,
                base: corpus.outdir.clone(),
            };
            (packem_db::Minify { whitespace: true, syntax: true, identifiers: true }, Some(sourcemap))
        } else {
            (packem_db::Minify::default(), None)
        };
        if corpus.minified {
            ws.set_link_options(packem_db::LinkOptions { minify, ..Default::default() });
        }
        let emit = packem_host::EmitOptions { sourcemap: sourcemap.clone(), ..Default::default() };
        let target = ws.target_with(Format::Esm, None, emit);
        Self {
            ws,
            target,
            outdir: corpus.outdir.clone(),
            output_name: corpus.output_name.clone(),
            written: WrittenSet::notified(),
            graph: None,
            inputs: Default::default(),
            minify,
            sourcemap,
        }
    }

    /// Builds and writes everything; panics on any diagnostic. Returns the output's size.
    pub fn cold(&mut self) -> usize {
        let size = self.build_and_write();
        let diagnostics = self.ws.build_diagnostics(self.target);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        size
    }

    /// Writes `text` to `path`, then applies the change, rebuilds and writes the outputs.
    /// Returns the output's size.
    pub fn edit(&mut self, path: &Utf8Path, text: &str) -> usize {
        std::fs::write(path, text).unwrap();
        self.ws.apply_changes([path.to_owned()]);
        self.build_and_write()
    }

    /// Like [`Session::edit`], returning the time from the change being on disk (and applied)
    /// to the last output byte being written.
    pub fn timed_edit(&mut self, path: &Utf8Path, text: &str) -> Duration {
        std::fs::write(path, text).unwrap();
        let start = Instant::now();
        self.ws.apply_changes([path.to_owned()]);
        self.build_and_write();
        start.elapsed()
    }

    /// Like [`Session::edit`], printing the time each phase took and the queries that re-ran
    /// (a profiling aid: `PACKEM_BENCH_PHASES=1` on the memory driver).
    pub fn traced_edit(&mut self, path: &Utf8Path, text: &str) -> usize {
        use salsa::Database as _;
        std::fs::write(path, text).unwrap();
        self.ws.db().events().enable();
        let _ = self.ws.db().events().take();
        let t0 = Instant::now();
        self.ws.apply_changes([path.to_owned()]);
        let t1 = Instant::now();
        let bundle = self.ws.build(self.target);
        let t2 = Instant::now();
        let size = self.write(&bundle);
        let t3 = Instant::now();
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for key in self.ws.db().events().take() {
            *counts.entry(self.ws.db().ingredient_debug_name(key.ingredient_index()).to_string()).or_default() += 1;
        }
        println!("apply {:>8.2?} build {:>8.2?} write {:>8.2?} ran {counts:?}", t1 - t0, t2 - t1, t3 - t2);
        size
    }

    fn build_and_write(&mut self) -> usize {
        let bundle = self.ws.build(self.target);
        self.write(&bundle)
    }

    fn write(&mut self, bundle: &packem_host::Bundle) -> usize {
        assert!(bundle.diagnostics.is_empty(), "{:?}", bundle.diagnostics);
        // The inputs an output may not overwrite: recomputed only when the graph changed.
        let graph = self.ws.module_graph();
        if !self.graph.as_ref().is_some_and(|old| Arc::ptr_eq(old, &graph)) {
            self.inputs = packem_output::InputPaths::new(graph.modules.iter().map(|m| m.path.as_path()));
            self.graph = Some(graph);
        }
        // Split builds name their chunks; otherwise the one output is the entry's.
        let names = if bundle.chunks.first().is_some_and(|c| c.file_name.is_some()) {
            Vec::new()
        } else {
            vec![self.output_name.clone()]
        };
        let files = packem_host::BundleOutputs::new(bundle, &names, &[], self.sourcemap.as_ref(), Default::default());
        let options = WriteOptions { outdir: &self.outdir, inputs: &self.inputs, allow_overwrite: false, spare: true };
        packem_output::write_changed(&files, &options, &mut self.written).unwrap();
        bundle.chunks.iter().map(|chunk| chunk.code.len()).sum()
    }
}

/// The `q` quantile (0–1) of `samples`, nearest rank.
pub fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    let rank = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len());
    samples[rank - 1]
}

/// The resident set size of this process in KiB, from `/proc/self/status` (0 where unavailable).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The CPU time (user and system, all threads) this process has used, from `/proc/self/stat`
/// (clock ticks of 10 ms): with wall time, it shows whether a rebuild waited (I/O, a busy
/// machine) or worked.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: u64 = fields.get(11..13).map(|f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn copy_dir(from: &Utf8Path, to: &Utf8Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in from.read_dir_utf8().unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            // Linked packages (react-app's node_modules) stay shared, not copied.
            let real = entry.path().canonicalize_utf8().unwrap();
            std::os::unix::fs::symlink(real, &target).unwrap();
        } else if kind.is_dir() {
            copy_dir(entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
