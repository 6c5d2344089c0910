//! Size-capped parts of a chunk (`--max-chunk-size`, with code splitting): a chunk's
//! consecutive modules grouped into several files, so that an edit rewrites one part's bytes
//! rather than a whole multi-megabyte chunk (rolldown's `advancedChunks.maxSize`).
//!
//! Boundaries are content-defined: a part ends before a module that would take it over the
//! cap, or after a module whose path hashes to a boundary once the part holds a quarter of the
//! cap. Neither depends on module ids or on where runs end, so cold and incremental builds
//! agree, and an edit that does not move a part across the cap keeps every boundary.
//!
//! Evaluation order: part `k` imports part `k - 1` first and the chunk's main file (the last
//! part, the one other chunks and users load) is imported last. Loading it walks down that
//! chain, so parts evaluate first to last, exactly as the one file would; a part that reads a
//! later part's names imports them too, which Node's cycle rule allows (that part is on the
//! import stack already, so it is not evaluated early). Each part imports what it reads and
//! does not declare from the part or chunk that declares it, and defines the runtime helpers
//! the chunk uses. Parts are named by the identity of their first module (a hash of its path),
//! not by their bytes, so an edit renames nothing.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use packem_db::File;
use packem_graph::module_graph;
use packem_link::{ChunkKind, ChunkPlan, Helpers, NameUse, OrderItem, link};
use packem_parse::Source;

use crate::chunk::{
    ChunkOutput, ModuleRun, PartOutput, RenderedRun, cjs_require, ends_run, entry_exports, esm_external_imports,
    esm_require,
};
use crate::code::{Piece, part_marker};
use crate::{Target, rendered_module, rendered_run, spelling};

/// A piece of a chunk's body: a module's code, or generated glue.
enum Item {
    Module {
        source: Source,
        piece: Option<Piece>,
        len: u64,
        names: Option<NameUse>,
        map: Option<std::sync::Arc<crate::ModuleMap>>,
    },
    Glue(String, NameUse),
}

/// The main file and parts of chunk `index`, each at most `max` bytes of modules where modules
/// allow.
pub(crate) fn rendered_parts(db: &dyn packem_resolve::Db, target: Target, index: u32, max: u64) -> ChunkOutput {
    let _span = tracing::debug_span!("rendered_parts", index).entered();
    let project = target.project(db);
    let graph = module_graph(db, project);
    let linked = link(db, project);
    let plan = &linked.chunks[index as usize];
    let helpers = plan.helpers(true);

    // The body, in the order the single file would have it, fetched run by run.
    let mut body =
        Body { db, target, items: Vec::new(), pending: Vec::new(), helpers, uses_require: false, legal: Vec::new() };
    for module in plan.wrappers.iter().map(|(m, _)| m).chain(&plan.lazy) {
        body.push(graph.module(*module).source);
    }
    for namespace in plan.namespaces.iter().filter(|n| !n.entry_only) {
        let mut names = NameUse::default();
        names.namespace_object(namespace);
        body.glue(spelling::namespace_object(&namespace.name, &namespace.getters, namespace.open), names);
    }
    for item in &plan.order {
        match item {
            OrderItem::Module(module) => body.push(graph.module(*module).source),
            OrderItem::Glue(glue) => {
                let mut text = String::new();
                spelling::glue(glue, true, &mut text);
                let mut names = NameUse::default();
                names.glue(glue);
                body.glue(text, names);
            }
        }
    }
    body.flush();
    let Body { items, helpers, uses_require, legal, .. } = body;
    // CommonJS modules get Node's `require` there (see `rendered_chunk`).
    let platform = project.options(db).platform;
    let uses_require = uses_require || (helpers.contains(Helpers::COMMON_JS) && platform == packem_db::Platform::Node);

    let ranges = boundaries(db, &items, max);
    let parts = ranges.len();
    // Per part: what it declares and reads. The first part holds the external imports; the
    // last (the main file) the entry's exports.
    let mut uses: Vec<NameUse> = vec![NameUse::default(); parts];
    let mut legal_file = None;
    for (part, range) in ranges.iter().enumerate() {
        for item in &items[range.clone()] {
            match item {
                Item::Module { names: Some(names), .. } | Item::Glue(_, names) => uses[part].extend(names),
                Item::Module { names: None, .. } => {}
            }
        }
    }
    uses[0].declares.extend(plan.externals.iter().map(|e| e.local.clone()));
    let last = parts - 1;
    for (_, value) in &plan.exports {
        uses[last].value(value);
    }
    uses[last].reads.extend(plan.entry_wrapper.iter().cloned());
    let owner_of = |name: &str| uses.iter().position(|u| u.declares.contains(name));
    // Names each part must export: read by another part, or imported by another chunk.
    let mut exported: Vec<BTreeSet<String>> = vec![BTreeSet::new(); parts];
    for u in &uses {
        for name in u.reads.difference(&u.declares) {
            if let Some(owner) = owner_of(name) {
                exported[owner].insert(name.clone());
            }
        }
    }
    // Other chunks import every name from the main file, which re-exports the ones its parts
    // declare: an importer's code then follows the chunk's exports, not where its part
    // boundaries fall (an edit that moves one re-renders this chunk only).
    let mut reexports: Vec<(&str, usize)> = Vec::new();
    for name in &plan.shared_exports {
        let owner = owner_of(name).unwrap_or(last);
        exported[owner].insert(name.clone());
        if owner != last {
            exported[last].insert(name.clone());
            reexports.push((name, owner));
        }
    }
    // Names other chunks declare, by the chunk that does (its main file).
    let mut from_chunks: rustc_hash::FxHashMap<&str, (u32, u32)> = rustc_hash::FxHashMap::default();
    for import in &plan.imports {
        for name in &import.names {
            from_chunks.insert(name, (import.chunk, 0));
        }
    }

    let style = crate::Style::of(db, target);
    let runtime = crate::minify::helpers_code(helpers, project.link(db).minify);
    let emit = target.emit(db);
    let mut outputs = Vec::with_capacity(parts);
    for (part, range) in ranges.iter().enumerate() {
        let mut out = crate::chunk::Output::new(emit.sourcemap.is_some());
        if part == last
            && plan.kind == ChunkKind::Entry
            && let Some(hashbang) = &rendered_module(db, target, graph.module(plan.entry).source).hashbang
        {
            out.text(&format!("#!{hashbang}\n"));
        }
        if let Some(banner) = &emit.banner {
            out.text(banner);
        }
        let mut header = String::new();
        if uses_require {
            header.push_str(esm_require(platform));
        }
        if part == 0 {
            header.push_str(&esm_external_imports(plan));
        } else {
            let _ = writeln!(header, "import \"{}\";", part_marker(index, marker_part(part - 1, last)));
        }
        // What the part reads and does not declare, grouped by where it is declared.
        let mut imports: std::collections::BTreeMap<(u32, u32), BTreeSet<&str>> = Default::default();
        for name in uses[part].reads.difference(&uses[part].declares) {
            if let Some(owner) = owner_of(name) {
                imports.entry((index, marker_part(owner, last))).or_default().insert(name);
            } else if let Some(&at) = from_chunks.get(String::as_str(name)) {
                imports.entry(at).or_default().insert(name);
            }
        }
        if part == last {
            for &(name, owner) in &reexports {
                imports.entry((index, marker_part(owner, last))).or_default().insert(name);
            }
        }
        for ((chunk, at), names) in imports {
            let names: Vec<&str> = names.into_iter().collect();
            let _ = writeln!(header, "import {{ {} }} from \"{}\";", names.join(", "), part_marker(chunk, at));
        }
        if helpers.contains(Helpers::COMMON_JS) {
            header.push_str(cjs_require(crate::Format::Esm, platform));
        }
        out.text(&style.glue(&header, 0));
        out.text(&runtime);
        let mut inputs: Vec<(File, u64)> = Vec::new();
        for item in &items[range.clone()] {
            match item {
                Item::Module { source, piece, len, map, .. } => {
                    inputs.push((source.file(db), *len));
                    if let Some(piece) = piece {
                        out.module(piece, map.as_deref());
                    }
                }
                Item::Glue(text, _) => out.text(text),
            }
        }
        if part == last {
            out.text(&style.glue(&entry_exports(plan), 0));
        }
        let own: Vec<&String> = exported[part].iter().filter(|n| part != last || !exported_by_entry(plan, n)).collect();
        if !own.is_empty() {
            let names: Vec<&str> = own.iter().map(|s| s.as_str()).collect();
            out.text(&style.glue(&format!("export {{ {} }};\n", names.join(", ")), 0));
        }
        if part == last && !legal.is_empty() {
            let mut seen = rustc_hash::FxHashSet::default();
            let mut text = String::new();
            for comment in &legal {
                if seen.insert(comment) {
                    text.push_str(comment);
                    text.push('\n');
                }
            }
            match emit.legal_comments {
                crate::LegalComments::Eof => out.text(&text),
                crate::LegalComments::Linked | crate::LegalComments::External => {
                    legal_file = Some(std::sync::Arc::from(text));
                }
                _ => {}
            }
        }
        if let Some(footer) = &emit.footer {
            out.text(footer);
        }
        // A file imported under two loaders is two modules: the loader is part of the identity.
        let first = items[range.clone()].iter().find_map(|item| match item {
            Item::Module { source, .. } => {
                Some(format!("{}\0{:?}", source.file(db).path(db), source.settings(db).loader))
            }
            Item::Glue(..) => None,
        });
        let mut identity = first.map_or(part as u64, |key| xxhash_rust::xxh3::xxh3_64(key.as_bytes()));
        while outputs.iter().any(|o: &PartOutput| o.identity == identity) {
            identity = identity.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
        }
        let (code, map) = out.finish();
        let references = code.chunk_references();
        outputs.push(PartOutput { code, inputs, identity, references, map });
    }
    let main = outputs.pop().expect("at least one part");
    let mut external_imports: Vec<(String, &'static str)> = Vec::new();
    for path in plan.externals.iter().map(|e| &e.path).chain(&plan.external_side_effects) {
        if !external_imports.iter().any(|(p, _)| p == path) {
            external_imports.push((path.clone(), "import-statement"));
        }
    }
    ChunkOutput {
        entry: graph.module(plan.entry).path.clone(),
        kind: plan.kind,
        file_name: None,
        code: main.code,
        map: main.map,
        legal: legal_file,
        inputs: main.inputs,
        references: main.references,
        exports: plan.exports.iter().map(|(name, _)| name.clone()).collect(),
        external_imports,
        chunk_imports: Vec::new(),
        parts: outputs,
    }
}

/// Collects a chunk's body as items, fetching modules run by run.
struct Body<'db> {
    db: &'db dyn packem_resolve::Db,
    target: Target,
    items: Vec<Item>,
    pending: Vec<Source>,
    helpers: Helpers,
    uses_require: bool,
    legal: Vec<String>,
}

impl Body<'_> {
    fn push(&mut self, source: Source) {
        self.pending.push(source);
        if ends_run(source, self.pending.len()) {
            self.flush();
        }
    }

    fn glue(&mut self, text: String, names: NameUse) {
        self.flush();
        self.items.push(Item::Glue(text, names));
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let run = ModuleRun::new(self.db, std::mem::take(&mut self.pending));
        let rendered: &RenderedRun = rendered_run(self.db, self.target, run);
        self.helpers |= rendered.helpers;
        self.uses_require |= rendered.uses_require;
        self.legal.extend(rendered.legal_comments.iter().cloned());
        let mut pieces = rendered.code.pieces();
        for (k, source) in run.sources(self.db).iter().enumerate() {
            let len = rendered.lens[k];
            let piece = if len > 0 { pieces.next().cloned() } else { None };
            let map = rendered.module_maps.get(k).cloned().flatten();
            self.items.push(Item::Module { source: *source, piece, len, names: rendered.names[k].clone(), map });
        }
    }
}

/// Whether `name` is already exported by the entry's own `export { … }` under that name.
fn exported_by_entry(plan: &ChunkPlan, name: &str) -> bool {
    plan.exports.iter().any(|(export, value)| export == name && value.name() == Some(name))
}

/// The marker number of part `part` (in file order) of a chunk whose main file is part `last`.
fn marker_part(part: usize, last: usize) -> u32 {
    if part == last { 0 } else { part as u32 + 1 }
}

/// The item ranges of each part (see the module docs).
fn boundaries(db: &dyn packem_resolve::Db, items: &[Item], max: u64) -> Vec<std::ops::Range<usize>> {
    let (mut total, mut modules) = (0u64, 0u64);
    for item in items {
        if let Item::Module { len, .. } = item {
            total += len;
            modules += 1;
        }
    }
    // A boundary every `spacing` modules on average, a power of two (so that edits, which
    // change the average a little, rarely change it), for parts of about half the cap.
    let average = (total / modules.max(1)).max(1);
    let ratio = (max / 2 / average).max(1);
    let spacing = 1u64 << (63 - ratio.leading_zeros());
    let mut ranges = Vec::new();
    let (mut start, mut size) = (0usize, 0u64);
    for (i, item) in items.iter().enumerate() {
        let len = match item {
            Item::Module { len, .. } => *len,
            Item::Glue(text, _) => text.len() as u64,
        };
        if let Item::Module { .. } = item
            && size > 0
            && size + len > max
        {
            ranges.push(start..i);
            (start, size) = (i, 0);
        }
        size += len;
        if let Item::Module { source, .. } = item
            && size >= max / 4
            && xxhash_rust::xxh3::xxh3_64(source.file(db).path(db).as_str().as_bytes()).is_multiple_of(spacing)
        {
            ranges.push(start..i + 1);
            (start, size) = (i + 1, 0);
        }
    }
    if start < items.len() || ranges.is_empty() {
        ranges.push(start..items.len());
    }
    ranges
}
