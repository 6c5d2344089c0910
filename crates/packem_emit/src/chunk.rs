//! Chunk assembly: runtime helpers, wrappers, namespace objects and modules in evaluation order,
//! framed by the output format.

use std::fmt::Write as _;
use std::sync::Arc;

use packem_db::syntax::{is_identifier, is_identifier_name, property_access, quote};
use packem_db::{Diagnostic, DiagnosticCode, File, Platform};
use packem_graph::module_graph;
use packem_link::{ChunkKind, ChunkPlan, Helpers, Imported, NameUse, OrderItem, link};
use packem_parse::Source;

use crate::spelling;
use crate::{Code, CodeBuilder, Format, Target, indent, rendered_module};

/// One output: the entry it belongs to and its code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkOutput {
    /// The entry module's path (a shared chunk's first module).
    pub entry: camino::Utf8PathBuf,
    /// What the chunk is for.
    pub kind: ChunkKind,
    /// With code splitting, its path under the output directory (emission names split
    /// outputs, because they import each other by path; otherwise the host does).
    pub file_name: Option<String>,
    /// The code, as pieces shared with the module memos.
    pub code: Code,
    /// The modules in the chunk, with the bytes each contributed (for the metafile).
    pub inputs: Vec<(File, u64)>,
    /// The entry's export names.
    pub exports: Vec<String>,
    /// External modules the output imports, with esbuild's import kind, in first-use order.
    pub external_imports: Vec<(String, &'static str)>,
    /// With code splitting: the other chunks it loads (their paths under the output directory)
    /// with esbuild's import kind (`import-statement`, `dynamic-import`).
    pub chunk_imports: Vec<(String, &'static str)>,
    /// With `--max-chunk-size`: the chunk's other files, in order (this one, the main file,
    /// comes last and loads them).
    pub parts: Vec<PartOutput>,
    /// With source maps: the code's map.
    pub map: Option<Arc<crate::OutputMap>>,
    /// With `--legal-comments=linked|external`: the legal comments, for a file of their own.
    pub legal: Option<Arc<str>>,
    /// With code splitting: the (chunk, part) pairs whose paths the code refers to.
    pub references: Vec<(u32, u32)>,
}

/// One of the extra files of a chunk split into parts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartOutput {
    /// The code.
    pub code: Code,
    /// The modules in it, with their sizes.
    pub inputs: Vec<(File, u64)>,
    /// What names it: a hash of its first module's path.
    pub identity: u64,
    /// The (chunk, part) pairs whose paths the code refers to.
    pub references: Vec<(u32, u32)>,
    /// With source maps: the code's map.
    pub map: Option<Arc<crate::OutputMap>>,
}

/// Every output of a target and the diagnostics of linking and emission.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Bundle {
    /// One output per entry, in entry order (with code splitting: every chunk, then the
    /// parts), each shared with its memo.
    pub chunks: Chunks,
    /// Link and emit diagnostics (missing exports, unsupported features).
    pub diagnostics: Vec<Diagnostic>,
    /// Files the `file` and `copy` loaders put in the output directory, sorted by name.
    pub assets: Vec<packem_graph::AssetFile>,
    /// With code splitting: a hash of the chunks' file names in order, so that a writer can tell
    /// an unchanged list of thousands of files without comparing them.
    pub names_key: Option<u128>,
}

/// A bundle's outputs, in groups shared with the memos that made them: a rebuild copies (and
/// later frees) one pointer per group, not one per output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Chunks {
    groups: Vec<Arc<Vec<Arc<ChunkOutput>>>>,
    /// The size of every group but the last.
    group: usize,
    len: usize,
}

impl Chunks {
    /// Outputs in groups of `group` (the last may be smaller).
    pub(crate) fn from_groups(groups: Vec<Arc<Vec<Arc<ChunkOutput>>>>, group: usize) -> Self {
        let len = groups.iter().map(|g| g.len()).sum();
        Chunks { groups, group: group.max(1), len }
    }

    /// The number of outputs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Output `index`.
    pub fn get(&self, index: usize) -> Option<&Arc<ChunkOutput>> {
        self.groups.get(index / self.group)?.get(index % self.group)
    }

    /// The first output.
    pub fn first(&self) -> Option<&Arc<ChunkOutput>> {
        self.get(0)
    }

    /// The outputs, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ChunkOutput>> {
        self.groups.iter().flat_map(|g| g.iter())
    }
}

impl From<Vec<Arc<ChunkOutput>>> for Chunks {
    fn from(chunks: Vec<Arc<ChunkOutput>>) -> Self {
        let group = chunks.len();
        Chunks::from_groups(vec![Arc::new(chunks)], group)
    }
}

impl std::ops::Index<usize> for Chunks {
    type Output = Arc<ChunkOutput>;

    fn index(&self, index: usize) -> &Arc<ChunkOutput> {
        self.get(index).expect("output index in range")
    }
}

/// All outputs of `target`.
#[salsa::tracked(returns(ref))]
pub fn bundle(db: &dyn packem_resolve::Db, target: Target) -> Arc<Bundle> {
    let _span = tracing::info_span!("bundle").entered();
    let project = target.project(db);
    let linked = link(db, project);
    let mut diagnostics = linked.diagnostics.clone();
    let graph = module_graph(db, project);
    let (format, splitting) = (target.format(db), project.link(db).splitting);
    let (mut entries, mut names_key) = (Vec::new(), None);
    for (index, plan) in linked.chunks.iter().enumerate() {
        if plan.top_level_await && format != Format::Esm {
            diagnostics.push(
                Diagnostic::error(
                    DiagnosticCode::UnsupportedFeature,
                    format!(
                        "Top-level await is currently not supported with the \"{}\" output format",
                        format.as_str()
                    ),
                )
                .at(graph.module(plan.entry).path.clone(), None),
            );
        }
        if !splitting {
            entries.push(rendered_chunk(db, target, index as u32).clone());
        }
    }
    let chunks = if splitting {
        if format != Format::Esm {
            diagnostics.push(Diagnostic::error(
                DiagnosticCode::UnsupportedFeature,
                format!(
                    "Code splitting is currently only supported with the \"esm\" output format, not \"{}\"",
                    format.as_str()
                ),
            ));
        }
        let (named, key) = crate::naming::name_chunks(db, target, &mut diagnostics);
        names_key = Some(key);
        named
    } else {
        Chunks::from(entries)
    };
    let (assets, asset_diagnostics) = bundle_assets(db, project);
    diagnostics.extend(asset_diagnostics.iter().cloned());
    Arc::new(Bundle { chunks, diagnostics, assets: assets.clone(), names_key })
}

/// The files the `file` and `copy` loaders put in the output directory, sorted by name, and an
/// error for two that would share a name. A query of its own, so that a rebuild after an edit
/// does not look at every module for assets.
#[salsa::tracked(returns(ref))]
fn bundle_assets(
    db: &dyn packem_resolve::Db,
    project: packem_db::Project,
) -> (Vec<packem_graph::AssetFile>, Vec<Diagnostic>) {
    let graph = module_graph(db, project);
    let mut diagnostics = Vec::new();
    let mut assets: Vec<packem_graph::AssetFile> = graph
        .modules
        .iter()
        .filter(|m| matches!(m.source.settings(db).loader, Some(packem_db::Loader::File | packem_db::Loader::Copy)))
        .filter_map(|m| packem_graph::asset_file(db, project, m.file).as_ref().ok().cloned())
        .collect();
    assets.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.source.cmp(&b.source)));
    // One file imported twice is one asset; two files that would land on one name are an error.
    assets.dedup_by(|a, b| a.name == b.name && a.bytes == b.bytes);
    for pair in assets.windows(2) {
        if pair[0].name == pair[1].name {
            let cwd = &project.options(db).cwd;
            let shown = |p: &camino::Utf8Path| packem_db::diagnostic::display_path(p, cwd);
            diagnostics.push(
                Diagnostic::error(
                    DiagnosticCode::OutputError,
                    format!(
                        "Two assets would be written to \"{}\": {} and {}",
                        pair[0].name,
                        shown(&pair[0].source),
                        shown(&pair[1].source)
                    ),
                )
                .with_help("Put [hash] or [dir] in --asset-names so that different files get different names."),
            );
        }
    }
    (assets, diagnostics)
}

/// Consecutive modules of a chunk with no generated code between them: the unit a chunk is
/// assembled from.
///
/// A chunk that fetched every module's render would re-run N fetches (and salsa would verify N
/// edges) after every edit. It fetches runs instead, and a run fetches its modules: an edit
/// re-runs one run and the chunk, about N/24 + 24 fetches. A run ends after a module whose id
/// hashes to 0 mod 24 (or at 96 modules), so inserting a module changes only its own run.
#[salsa::interned(debug)]
pub struct ModuleRun<'db> {
    /// The modules, in output order.
    #[returns(ref)]
    pub sources: Vec<Source>,
}

/// The code of a [`ModuleRun`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedRun {
    /// The modules' pieces, in order.
    pub code: Code,
    /// Each module's length in bytes.
    pub lens: Vec<u64>,
    /// Whether any module calls `__require`.
    pub uses_require: bool,
    /// Whether any module reads the `__import_meta_*` shims.
    pub uses_import_meta: bool,
    /// Runtime helpers the modules call.
    pub helpers: Helpers,
    /// The modules' legal comments, in order (for `--legal-comments=eof`).
    pub legal_comments: Vec<String>,
    /// With code splitting: each module's top-level names (see [`packem_link::NameUse`]).
    pub names: Vec<Option<NameUse>>,
    /// With source maps: the modules' maps joined.
    pub map: Option<crate::MapParts>,
    /// With source maps: each module's map (parts join them their own way).
    pub module_maps: Vec<Option<Arc<crate::ModuleMap>>>,
}

/// The modules of `run`, rendered for `target`.
#[salsa::tracked(returns(ref))]
pub fn rendered_run<'db>(db: &'db dyn packem_resolve::Db, target: Target, run: ModuleRun<'db>) -> RenderedRun {
    let mut code = CodeBuilder::default();
    let (mut lens, mut uses_require, mut uses_import_meta) = (Vec::new(), false, false);
    let mut helpers = Helpers::default();
    let mut legal_comments = Vec::new();
    let mut names = Vec::new();
    let mut map = target.emit(db).sourcemap.as_ref().map(|_| crate::sourcemap::MapJoiner::default());
    let mut module_maps = Vec::new();
    for source in run.sources(db) {
        names.push(crate::link_info(db, target, *source).names.clone());
        let rendered = rendered_module(db, target, *source);
        if let (Some(map), Some(module)) = (&mut map, &rendered.map) {
            map.module(module);
        }
        if map.is_some() {
            module_maps.push(rendered.map.clone());
        }
        legal_comments.extend(rendered.legal_comments.iter().cloned());
        lens.push(rendered.code.len() as u64);
        uses_require |= rendered.uses_require;
        uses_import_meta |= rendered.uses_import_meta;
        helpers |= rendered.helpers;
        code.push_piece(&rendered.code);
    }
    let map = map.map(crate::sourcemap::MapJoiner::finish);
    RenderedRun {
        code: code.finish(),
        lens,
        uses_require,
        uses_import_meta,
        helpers,
        legal_comments,
        names,
        map,
        module_maps,
    }
}

/// Where runs end (see [`ModuleRun`]): after a module whose id hashes to 0 mod `RUN_SPLIT`, or
/// at `RUN_MAX` modules. Ids are not stable across processes, but only memo reuse depends on
/// the boundaries, never the output's bytes.
const RUN_SPLIT: u64 = 24;
const RUN_MAX: usize = 96;

pub(crate) fn ends_run(source: Source, len: usize) -> bool {
    use salsa::plumbing::AsId as _;
    let mixed = u64::from(source.as_id().index()).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    len >= RUN_MAX || mixed % RUN_SPLIT == 0
}

/// Collects modules into runs and appends each finished run's code to a chunk body.
struct Runs<'db> {
    db: &'db dyn packem_resolve::Db,
    target: Target,
    pending: Vec<Source>,
    inputs: Vec<(File, u64)>,
    uses_require: bool,
    uses_import_meta: bool,
    helpers: Helpers,
    /// Legal comments of the modules, each once, in order (for `--legal-comments=eof`).
    legal: String,
    legal_seen: rustc_hash::FxHashSet<String>,
    /// With source maps: the map of the body so far.
    map: Option<crate::sourcemap::MapJoiner>,
}

impl<'db> Runs<'db> {
    fn push(&mut self, body: &mut CodeBuilder, source: Source) {
        self.pending.push(source);
        if ends_run(source, self.pending.len()) {
            self.flush(body);
        }
    }

    fn flush(&mut self, body: &mut CodeBuilder) {
        if self.pending.is_empty() {
            return;
        }
        let run = ModuleRun::new(self.db, std::mem::take(&mut self.pending));
        let rendered = rendered_run(self.db, self.target, run);
        self.inputs.extend(run.sources(self.db).iter().map(|s| s.file(self.db)).zip(rendered.lens.iter().copied()));
        self.uses_require |= rendered.uses_require;
        self.uses_import_meta |= rendered.uses_import_meta;
        self.helpers |= rendered.helpers;
        for comment in &rendered.legal_comments {
            if self.legal_seen.insert(comment.clone()) {
                self.legal.push_str(comment);
                self.legal.push('\n');
            }
        }
        body.push_code(&rendered.code);
        if let (Some(map), Some(run)) = (&mut self.map, &rendered.map) {
            map.parts(run);
        }
    }

    /// Generated text between runs.
    fn glue(&mut self, body: &mut CodeBuilder, text: &str) {
        self.flush(body);
        body.push_str(text);
        if let Some(map) = &mut self.map {
            map.unmapped(text);
        }
    }
}

/// The glue between a chunk's modules, spelled once per link: namespace objects, interop and
/// evaluation glue, in order with the modules (see [`chunk_layout`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ChunkLayout {
    /// The modules of the evaluation order and the (indented) glue before them.
    steps: Vec<LayoutStep>,
    /// The glue after the last module.
    trailing_glue: String,
    /// The helpers the glue calls beyond the plan's.
    helpers: Helpers,
    /// The entry's namespace object, when the output has one.
    entry_namespace: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LayoutStep {
    Module(Source),
    Glue(String),
}

/// The layout of entry number `index`'s output: reads only the link and the graph, so a body
/// edit reuses it, and re-assembling the chunk does not spell the namespace objects again
/// (three.js×10: ten of them, 15,000 getters).
#[salsa::tracked(returns(ref))]
pub(crate) fn chunk_layout(db: &dyn packem_resolve::Db, target: Target, index: u32) -> Arc<ChunkLayout> {
    let _span = tracing::debug_span!("chunk_layout", index).entered();
    let project = target.project(db);
    let graph = module_graph(db, project);
    let plan = &link(db, project).chunks[index as usize];
    let format = target.format(db);
    // In an IIFE everything sits one level deep: glue is indented here, modules come indented.
    let level = u32::from(format == Format::Iife);
    let style = crate::Style::of(db, target);
    let mut helpers = Helpers::default();
    let mut steps = Vec::with_capacity(plan.order.len());
    let mut glue = String::new();
    // Namespace objects: getters are lazy, so defining them all up front is safe in cycles.
    for namespace in &plan.namespaces {
        if namespace.entry_only && !exposes_exports(db, target) {
            continue;
        }
        glue.push_str(&spelling::namespace_object(&namespace.name, &namespace.getters, namespace.open));
    }
    let entry_namespace = plan
        .namespaces
        .iter()
        .find(|n| n.module == plan.entry && (!n.entry_only || exposes_exports(db, target)))
        .map(|n| n.name.clone());
    // An external's names join the entry's namespace once it is loaded (ESM output re-exports
    // it with `export *` instead).
    if format != Format::Esm
        && let Some(ns) = &entry_namespace
    {
        for path in &plan.external_star_exports {
            helpers |= Helpers::RE_EXPORT;
            let _ = writeln!(glue, "__reExport({ns}, require({}));", quote(path));
        }
    }
    // CommonJS output exposes the exports before the code runs, as a CommonJS module would.
    if format == Format::Cjs
        && let Some(ns) = &entry_namespace
    {
        helpers |= Helpers::TO_COMMON_JS;
        let _ = writeln!(glue, "module.exports = __toCommonJS({ns});");
    }
    for item in &plan.order {
        match item {
            OrderItem::Module(module) => {
                if !glue.is_empty() {
                    steps.push(LayoutStep::Glue(style.glue(&std::mem::take(&mut glue), level)));
                }
                steps.push(LayoutStep::Module(graph.module(*module).source));
            }
            OrderItem::Glue(item) => spelling::glue(item, true, &mut glue),
        }
    }
    Arc::new(ChunkLayout { steps, trailing_glue: style.glue(&glue, level), helpers, entry_namespace })
}

/// The output file of entry number `index`.
#[salsa::tracked(returns(ref))]
pub fn rendered_chunk(db: &dyn packem_resolve::Db, target: Target, index: u32) -> Arc<ChunkOutput> {
    let _span = tracing::info_span!("rendered_chunk", index).entered();
    let project = target.project(db);
    let graph = module_graph(db, project);
    let plan = &link(db, project).chunks[index as usize];
    let format = target.format(db);
    // Parts need ESM's live bindings between files and a synchronous chain of imports.
    if let Some(max) = target.emit(db).max_chunk_size
        && project.link(db).splitting
        && format == Format::Esm
        && !plan.top_level_await
        && !plan
            .order
            .iter()
            .any(|item| matches!(item, OrderItem::Glue(packem_link::Glue::InitLazy { is_async: true, .. })))
    {
        return Arc::new(crate::parts::rendered_parts(db, target, index, max));
    }
    let platform = project.options(db).platform;
    let mut body = CodeBuilder::default();
    let mut helpers = plan.helpers(!exposes_exports(db, target));
    let mut runs = Runs {
        db,
        target,
        pending: Vec::new(),
        inputs: Vec::new(),
        uses_require: false,
        uses_import_meta: false,
        helpers: Helpers::default(),
        legal: String::new(),
        legal_seen: Default::default(),
        map: target.emit(db).sourcemap.as_ref().map(|_| crate::sourcemap::MapJoiner::default()),
    };

    // Wrappers first: they are lazy, so their place does not matter, and every later module may call them.
    for (module, _) in &plan.wrappers {
        runs.push(&mut body, graph.module(*module).source);
    }
    // Lazily evaluated modules: definitions only; they run when first required or imported.
    for module in &plan.lazy {
        runs.push(&mut body, graph.module(*module).source);
    }
    let layout = chunk_layout(db, target, index);
    helpers |= layout.helpers;
    let entry_namespace = layout.entry_namespace.clone();
    for step in &layout.steps {
        match step {
            LayoutStep::Module(source) => runs.push(&mut body, *source),
            LayoutStep::Glue(glue) => runs.glue(&mut body, glue),
        }
    }
    runs.glue(&mut body, &layout.trailing_glue);
    let body = body.finish();
    let Runs { inputs, uses_require, uses_import_meta, helpers: module_helpers, legal, map: body_map, .. } = runs;
    let body_map = body_map.map(crate::sourcemap::MapJoiner::finish);
    helpers |= module_helpers;

    let uses_require =
        uses_require || (helpers.contains(Helpers::COMMON_JS) && format == Format::Esm && platform == Platform::Node);
    let mut prelude = String::new();
    // CommonJS and IIFE outputs `require` their externals after the runtime helpers, which
    // `__toESM(require(…))` calls (the helpers are variables, not hoisted functions).
    let mut required = String::new();
    match format {
        Format::Esm => {
            if uses_require {
                prelude.push_str(esm_require(platform));
            }
            prelude.push_str(&esm_external_imports(plan));
            // A chunk cut into parts re-exports from its main file what its parts declare.
            for import in &plan.imports {
                let _ = writeln!(
                    prelude,
                    "import {{ {} }} from \"{}\";",
                    import.names.join(", "),
                    crate::code::chunk_marker(import.chunk)
                );
            }
        }
        Format::Cjs | Format::Iife => required = required_externals(plan, &mut helpers),
    }
    if uses_import_meta {
        prelude.push_str("var __import_meta_url = require(\"url\").pathToFileURL(__filename).href;\nvar __import_meta_dirname = __dirname;\nvar __import_meta_filename = __filename;\n");
    }
    // The `require` CommonJS modules see: Node's where there is one.
    if helpers.contains(Helpers::COMMON_JS) {
        prelude.push_str(cjs_require(format, platform));
    }
    // ESM is strict; without CommonJS modules (which may rely on sloppy mode) the whole output can be.
    if format != Format::Esm && plan.wrappers.is_empty() {
        prelude.insert_str(0, "\"use strict\";\n");
    }
    let footer = match format {
        Format::Esm => esm_exports(plan),
        Format::Cjs => match &plan.entry_wrapper {
            Some(wrapper) => format!("module.exports = {wrapper}();\n"),
            None => node_export_names(plan),
        },
        Format::Iife => match (&plan.entry_wrapper, &entry_namespace) {
            (Some(wrapper), _) => format!("return {wrapper}();\n"),
            (None, Some(ns)) if target.global_name(db).is_some() => {
                helpers |= Helpers::TO_COMMON_JS;
                format!("return __toCommonJS({ns});\n")
            }
            _ => String::new(),
        },
    };
    // After every helper is known (`return __toCommonJS` may add one).
    let minify = project.link(db).minify;
    let runtime = crate::minify::helpers_code(helpers, minify);
    let style = crate::Style::of(db, target);
    let level = u32::from(format == Format::Iife);
    let (prelude, required, footer) =
        (style.glue(&prelude, level), style.glue(&required, level), style.glue(&footer, level));
    let emit = target.emit(db);
    let mut out = Output::new(body_map.is_some());
    // The entry's `#!` line must stay the first line, before the banner (as esbuild does).
    if plan.kind == ChunkKind::Entry
        && let Some(hashbang) = &rendered_module(db, target, graph.module(plan.entry).source).hashbang
    {
        out.text(&format!("#!{hashbang}\n"));
    }
    if let Some(banner) = &emit.banner {
        out.text(banner);
    }
    match format {
        Format::Iife => {
            match target.global_name(db) {
                Some(name) => out.text(&style.glue(&format!("{} = (() => {{\n", global_assignment(name)), 0)),
                None => out.text(&style.glue("(() => {\n", 0)),
            }
            out.text(&prelude);
            out.text(&if style.compact { runtime } else { indent(&runtime, 1) });
            out.text(&required);
            out.body(&body, body_map.as_ref());
            out.text(&footer);
            out.text("})();\n");
        }
        _ => {
            out.text(&prelude);
            out.text(&runtime);
            out.text(&required);
            out.body(&body, body_map.as_ref());
            out.text(&footer);
        }
    }
    if emit.legal_comments == crate::LegalComments::Eof && !legal.is_empty() {
        out.text(&legal);
    }
    let legal = matches!(emit.legal_comments, crate::LegalComments::Linked | crate::LegalComments::External)
        .then_some(legal)
        .filter(|l| !l.is_empty())
        .map(Arc::from);
    if let Some(footer) = &emit.footer {
        out.text(footer);
    }
    let mut external_imports: Vec<(String, &'static str)> = Vec::new();
    let kind = match format {
        Format::Esm => "import-statement",
        _ => "require-call",
    };
    for path in plan.externals.iter().map(|e| &e.path).chain(&plan.external_side_effects) {
        if !external_imports.iter().any(|(p, _)| p == path) {
            external_imports.push((path.clone(), kind));
        }
    }
    let (code, map) = out.finish();
    Arc::new(ChunkOutput {
        legal,
        external_imports,
        kind: plan.kind,
        file_name: None,
        chunk_imports: Vec::new(),
        parts: Vec::new(),
        map,
        references: if project.link(db).splitting { code.chunk_references() } else { Vec::new() },
        entry: graph.module(plan.entry).path.clone(),
        code,
        inputs,
        exports: plan.exports.iter().map(|(name, _)| name.clone()).collect(),
    })
}

/// An output's code and, with source maps, its map, written together.
pub(crate) struct Output {
    code: CodeBuilder,
    map: Option<crate::sourcemap::MapJoiner>,
}

impl Output {
    pub(crate) fn new(maps: bool) -> Self {
        Output { code: CodeBuilder::default(), map: maps.then(crate::sourcemap::MapJoiner::default) }
    }

    /// Generated text.
    pub(crate) fn text(&mut self, text: &str) {
        self.code.push_str(text);
        if let Some(map) = &mut self.map {
            map.unmapped(text);
        }
    }

    /// Code joined from modules, and its map.
    pub(crate) fn body(&mut self, code: &Code, map: Option<&crate::MapParts>) {
        self.code.push_code(code);
        if let (Some(joined), Some(map)) = (&mut self.map, map) {
            joined.parts(map);
        }
    }

    /// A module's code, and its map.
    pub(crate) fn module(&mut self, piece: &crate::Piece, map: Option<&crate::ModuleMap>) {
        self.code.push_piece(piece);
        if let (Some(joined), Some(map)) = (&mut self.map, map) {
            joined.module(map);
        }
    }

    pub(crate) fn finish(self) -> (Code, Option<Arc<crate::OutputMap>>) {
        (self.code.finish(), self.map.map(|m| Arc::new(m.finish().output())))
    }
}

/// Whether the output hands the entry's exports to its loader through the entry's namespace
/// object: CommonJS (`module.exports`) and IIFE with a global name do; ESM exports the names
/// themselves, and an IIFE without a global name exposes nothing.
pub(crate) fn exposes_exports(db: &dyn packem_resolve::Db, target: Target) -> bool {
    match target.format(db) {
        Format::Esm => false,
        Format::Cjs => true,
        Format::Iife => target.global_name(db).is_some(),
    }
}

/// `var __require = …` in ESM output: Node's `createRequire` on node, else `require` where there
/// is one.
pub(crate) fn esm_require(platform: Platform) -> &'static str {
    if platform == Platform::Node {
        "import { createRequire as __createRequire } from \"module\";\nvar __require = __createRequire(import.meta.url);\n"
    } else {
        "var __require = typeof require !== \"undefined\" ? require : (x) => { throw Error('Dynamic require of \"' + x + '\" is not supported'); };\n"
    }
}

/// `var __cjsRequire = …`: the `require` CommonJS modules see, Node's where there is one.
pub(crate) fn cjs_require(format: Format, platform: Platform) -> &'static str {
    match (format, platform) {
        (Format::Esm, Platform::Node) => "var __cjsRequire = __require;\n",
        (Format::Cjs, _) => "var __cjsRequire = require;\n",
        _ => "var __cjsRequire = typeof require !== \"undefined\" ? require : void 0;\n",
    }
}

/// `var a` for a plain name, `a.b.c` (with `var a = a || {}` style guards) for dotted ones.
fn global_assignment(name: &str) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() == 1 {
        return format!("var {name}");
    }
    let mut out = format!("var {0} = typeof {0} !== \"undefined\" ? {0} : {{}};\n", parts[0]);
    let mut path = parts[0].to_string();
    for part in &parts[1..parts.len() - 1] {
        path = format!("{path}.{part}");
        let _ = writeln!(out, "{path} = {path} || {{}};");
    }
    out.push_str(&format!("{path}.{}", parts[parts.len() - 1]));
    out
}

pub(crate) fn esm_external_imports(plan: &ChunkPlan) -> String {
    let mut out = String::new();
    let mut done = Vec::new();
    for binding in &plan.externals {
        let path = quote(&binding.path);
        let _ = match &binding.imported {
            Imported::Namespace => writeln!(out, "import * as {} from {path};", binding.local),
            Imported::Name(name) if name == "default" => {
                writeln!(out, "import {} from {path};", binding.local)
            }
            Imported::Name(name) if *name == binding.local => {
                writeln!(out, "import {{ {name} }} from {path};")
            }
            Imported::Name(name) => {
                let imported = if is_identifier_name(name) { name.clone() } else { quote(name) };
                writeln!(out, "import {{ {imported} as {} }} from {path};", binding.local)
            }
        };
        done.push(binding.path.clone());
    }
    for path in &plan.external_side_effects {
        if !done.contains(path) {
            let _ = writeln!(out, "import {};", quote(path));
            done.push(path.clone());
        }
    }
    out
}

fn required_externals(plan: &ChunkPlan, helpers: &mut Helpers) -> String {
    let mut out = String::new();
    let mut done = Vec::new();
    for binding in &plan.externals {
        let path = quote(&binding.path);
        let _ = match &binding.imported {
            Imported::Namespace => {
                *helpers |= Helpers::TO_ESM;
                writeln!(out, "var {} = __toESM(require({path}), 1);", binding.local)
            }
            // Node's rule: the default import of CommonJS is `module.exports`.
            Imported::Name(name) if name == "default" => {
                writeln!(out, "var {} = require({path});", binding.local)
            }
            Imported::Name(name) => {
                writeln!(out, "var {} = {};", binding.local, property_access(&format!("require({path})"), name))
            }
        };
        done.push(binding.path.clone());
    }
    for path in &plan.external_side_effects {
        if !done.contains(path) {
            let _ = writeln!(out, "require({});", quote(path));
            done.push(path.clone());
        }
    }
    out
}

/// `0 && (module.exports = { a, "b-c": _, ...require("x") });`: never runs, but tells Node's
/// CommonJS export detection (cjs-module-lexer, used when ESM imports this file) the entry's
/// export names and the externals it re-exports, which `__toCommonJS` hides from it.
fn node_export_names(plan: &ChunkPlan) -> String {
    let mut fields: Vec<String> = plan
        .exports
        .iter()
        .filter(|(name, _)| name != "default")
        .map(|(name, _)| if is_identifier(name) { name.clone() } else { format!("{}: _", quote(name)) })
        .collect();
    fields.extend(plan.external_star_exports.iter().map(|path| format!("...require({})", quote(path))));
    if fields.is_empty() {
        return String::new();
    }
    format!("0 && (module.exports = {{ {} }});\n", fields.join(", "))
}

fn esm_exports(plan: &ChunkPlan) -> String {
    let mut out = entry_exports(plan);
    if !plan.shared_exports.is_empty() {
        let _ = writeln!(out, "export {{ {} }};", plan.shared_exports.join(", "));
    }
    out
}

pub(crate) fn entry_exports(plan: &ChunkPlan) -> String {
    if let Some(wrapper) = &plan.entry_wrapper {
        return format!("export default {wrapper}();\n");
    }
    let stars: String =
        plan.external_star_exports.iter().map(|path| format!("export * from {};\n", quote(path))).collect();
    if plan.exports.is_empty() {
        return stars;
    }
    let mut prelude = String::new();
    let mut specifiers = Vec::new();
    for (i, (name, value)) in plan.exports.iter().enumerate() {
        // An export must name a variable; other values get one.
        let local = match value.name() {
            Some(name) => name.to_string(),
            None => {
                let local = format!("__export_{i}");
                let _ = writeln!(prelude, "var {local} = {};", spelling::value(value));
                local
            }
        };
        specifiers.push(if *name == local { local } else { format!("{local} as {}", property_key_export(name)) });
    }
    format!("{prelude}export {{\n  {}\n}};\n{stars}", specifiers.join(",\n  "))
}

fn property_key_export(name: &str) -> String {
    if is_identifier(name) || name == "default" { name.to_string() } else { quote(name) }
}
