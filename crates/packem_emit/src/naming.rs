//! File names of a split build: each chunk's path from its template (`--entry-names`,
//! `--chunk-names`) and a content hash, then every chunk's markers for the others' paths
//! replaced by relative specifiers.
//!
//! A chunk's hash covers its own code (with the other chunks' paths left out, so renumbering
//! chunks does not move it) and the own hashes of every chunk it imports, directly or not,
//! statically or with `import()`: it changes exactly when the chunk's bytes or a chunk it
//! loads change, and cycles of `import()` need no order.

use std::sync::Arc;

use camino::Utf8Path;
use packem_db::{Diagnostic, DiagnosticCode};
use packem_graph::module_graph;
use packem_link::{ChunkKind, link};

use crate::chunk::{ChunkOutput, rendered_chunk};
use crate::{ChunkNaming, Target};

/// How many chunks (or outputs) one group query covers.
///
/// The project-wide steps of naming read groups, not chunks: after an edit inside one chunk,
/// salsa verifies about N/64 groups and the 64 members of one, instead of N chunks.
const GROUP: u32 = 64;

/// The file names of a split build's outputs: every chunk's main file (in chunk order), then
/// the parts of chunks cut by `--max-chunk-size` (in chunk order). `Eq`, so an edit that moves
/// no name (names without `[hash]`, or a hash that did not change) re-resolves nothing but the
/// edited chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OutputNames {
    /// Each output's path under the output directory.
    pub names: Vec<String>,
    /// Per chunk: the output number of its first part.
    first_part: Vec<usize>,
    /// Per output: the outputs it loads (static imports and `import()`).
    references: Vec<Vec<usize>>,
    /// Names two outputs share (an error), sorted.
    duplicates: Vec<String>,
    /// A hash of `names`, in order (see [`crate::Bundle::names_key`]).
    pub key: u128,
}

impl OutputNames {
    /// The output number of part `part` (0: the main file) of chunk `chunk`.
    fn output(&self, chunk: u32, part: u32) -> usize {
        output_number(&self.first_part, chunk, part)
    }

    /// The number of outputs.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no output.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The output number of part `part` (0: the main file) of chunk `chunk`, given each chunk's
/// first part output.
fn output_number(first_part: &[usize], chunk: u32, part: u32) -> usize {
    if part == 0 { chunk as usize } else { first_part[chunk as usize] + part as usize - 1 }
}

/// What naming reads of one chunk: its parts' identities and what each of its files refers to
/// (the main file first). An edit that moves no part boundary and no reference keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct ChunkLayout {
    parts: Vec<u64>,
    references: Vec<Vec<(u32, u32)>>,
}

/// The layouts of chunks `group * GROUP ..` (at most [`GROUP`] of them).
#[salsa::tracked(returns(ref))]
fn layout_group(db: &dyn packem_resolve::Db, target: Target, group: u32) -> Vec<ChunkLayout> {
    let chunks = link(db, target.project(db)).chunks.len() as u32;
    (group * GROUP..chunks.min((group + 1) * GROUP))
        .map(|index| {
            let chunk = rendered_chunk(db, target, index);
            ChunkLayout {
                parts: chunk.parts.iter().map(|p| p.identity).collect(),
                references: std::iter::once(chunk.references.clone())
                    .chain(chunk.parts.iter().map(|p| p.references.clone()))
                    .collect(),
            }
        })
        .collect()
}

/// The names of `target`'s outputs before `[hash]` is filled in, and what filling it needs.
/// Reads the chunk plans and layouts, not the code, so a body edit that moves no part boundary
/// keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Templates {
    /// Per output: its path template, `[dir]` and `[name]` filled in.
    templates: Vec<String>,
    /// Per output: the template without `[hash]` (what hashed code says for another output).
    unhashed: Vec<String>,
    /// Per part output (after the main files): its identity, which is its own hash.
    part_identities: Vec<u64>,
    /// Per chunk: the output number of its first part.
    first_part: Vec<usize>,
    /// Whether any template holds `[hash]`.
    hashed: bool,
}

/// The layouts of every chunk, group by group.
fn layouts(db: &dyn packem_resolve::Db, target: Target) -> Vec<&ChunkLayout> {
    let groups = (link(db, target.project(db)).chunks.len() as u32).div_ceil(GROUP);
    (0..groups).flat_map(|g| layout_group(db, target, g)).collect()
}

/// The output templates of `target` (see [`Templates`]).
#[salsa::tracked(returns(ref))]
fn output_templates(db: &dyn packem_resolve::Db, target: Target) -> Templates {
    let _span = tracing::debug_span!("output_templates").entered();
    let project = target.project(db);
    let naming = &target.emit(db).chunk_naming;
    let graph = module_graph(db, project);
    let plans = &link(db, project).chunks;
    let layouts = layouts(db, target);
    let mut first_part = Vec::with_capacity(layouts.len());
    let mut count = layouts.len();
    for layout in &layouts {
        first_part.push(count);
        count += layout.parts.len();
    }
    let mut templates: Vec<String> = Vec::with_capacity(count);
    templates.extend(
        plans.iter().enumerate().map(|(i, plan)| template(naming, i, plan.kind, &graph.module(plan.entry).path)),
    );
    // Parts are named by identity (see `parts`), so their own hash is that identity.
    let mut part_identities: Vec<u64> = Vec::with_capacity(count - layouts.len());
    for (plan, layout) in plans.iter().zip(&layouts) {
        let stem = packem_db::files::module_stem(&graph.module(plan.entry).path);
        let stem = if plan.kind == ChunkKind::Shared { "chunk" } else { stem.as_deref().unwrap_or("chunk") };
        for &identity in &layout.parts {
            let id = packem_db::short_hash(&identity.to_le_bytes());
            let name =
                if naming.chunks.contains("[hash]") { format!("{stem}-part") } else { format!("{stem}-part-{id}") };
            templates.push(fill(naming, "", &name, Some(&id)));
            part_identities.push(identity);
        }
    }
    let hashed = templates.iter().any(|t| t.contains("[hash]"));
    let unhashed = if hashed { templates.iter().map(|t| t.replace("[hash]", "")).collect() } else { Vec::new() };
    Templates { templates, unhashed, part_identities, first_part, hashed }
}

/// The own hashes (see [`hash_names`]) of the main files of chunks `group * GROUP ..`: a hash of
/// each one's code with the other outputs' paths left unhashed. Equal after an edit that only
/// changes a chunk's parts, so naming then re-runs nothing.
#[salsa::tracked(returns(ref))]
fn own_hash_group(db: &dyn packem_resolve::Db, target: Target, group: u32) -> Vec<u128> {
    let templates = output_templates(db, target);
    let chunks = templates.first_part.len() as u32;
    (group * GROUP..chunks.min((group + 1) * GROUP))
        .map(|index| {
            rendered_chunk(db, target, index)
                .code
                .with_chunk_paths(|c, p| templates.unhashed[output_number(&templates.first_part, c, p)].clone())
                .0
                .hash128()
        })
        .collect()
}

/// The names of `target`'s outputs (code splitting). Reads the chunks' layouts, and the own
/// hashes of their main files only when a name holds `[hash]`.
#[salsa::tracked(returns(ref))]
pub fn output_names(db: &dyn packem_resolve::Db, target: Target) -> Arc<OutputNames> {
    let _span = tracing::debug_span!("output_names").entered();
    let templates = output_templates(db, target);
    let layouts = layouts(db, target);
    let count = templates.templates.len();
    let mut out = OutputNames {
        names: Vec::with_capacity(count),
        first_part: templates.first_part.clone(),
        references: Vec::with_capacity(count),
        duplicates: Vec::new(),
        key: 0,
    };
    for layout in &layouts {
        out.references.push(layout.references[0].iter().map(|&(c, p)| out.output(c, p)).collect());
    }
    for layout in &layouts {
        for references in &layout.references[1..] {
            out.references.push(references.iter().map(|&(c, p)| out.output(c, p)).collect());
        }
    }
    if templates.hashed {
        hash_names(db, target, templates, &mut out);
    } else {
        out.names = templates.templates.clone();
    }
    let mut sorted: Vec<&String> = out.names.iter().collect();
    sorted.sort();
    out.duplicates = sorted.windows(2).filter(|pair| pair[0] == pair[1]).map(|pair| pair[0].clone()).collect();
    out.duplicates.dedup();
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for name in &out.names {
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
    }
    out.key = hasher.digest128();
    Arc::new(out)
}

/// Fills `[hash]` in the templates: a hash of the output's own code (with the other outputs'
/// paths left unhashed) and of the own hashes of every output it loads, directly or not.
fn hash_names(db: &dyn packem_resolve::Db, target: Target, templates: &Templates, out: &mut OutputNames) {
    let count = templates.templates.len();
    let groups = (out.first_part.len() as u32).div_ceil(GROUP);
    let own: Vec<u128> = (0..groups)
        .flat_map(|g| own_hash_group(db, target, g).iter().copied())
        .chain(templates.part_identities.iter().map(|&identity| u128::from(identity)))
        .collect();
    for (i, template) in templates.templates.iter().enumerate() {
        if !template.contains("[hash]") {
            out.names.push(template.clone());
            continue;
        }
        let mut seen = vec![false; count];
        seen[i] = true;
        let mut stack = out.references[i].clone();
        let mut loaded = Vec::new();
        while let Some(j) = stack.pop() {
            if j < count && !seen[j] {
                seen[j] = true;
                loaded.push(own[j]);
                stack.extend(out.references[j].iter().copied());
            }
        }
        loaded.sort_unstable();
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&own[i].to_le_bytes());
        for hash in loaded {
            hasher.update(&hash.to_le_bytes());
        }
        let hash = packem_db::short_hash(&hasher.digest128().to_le_bytes());
        out.names.push(template.replace("[hash]", &hash));
    }
}

/// One output's names, copied into an input by the host after naming (the "names firewall").
///
/// Naming reads every chunk, so it is LOW durability after any edit, and so would be every
/// output that read it: after each edit salsa would verify all N outputs. An output reads the
/// names from this input (MEDIUM) instead, which the host sets only when the names changed
/// (`Workspace::build`), so an unedited output verifies in O(1).
#[salsa::input(debug)]
pub struct NamesCell {
    /// Equal to `output_names(target)` once synced.
    #[returns(ref)]
    pub names: Arc<OutputNames>,
}

/// The names outputs read: the host's cell when it made one, else `output_names`.
fn names(db: &dyn packem_resolve::Db, target: Target) -> &Arc<OutputNames> {
    match target.names_cell(db) {
        Some(cell) => cell.names(db),
        None => output_names(db, target),
    }
}

/// Output number `output` of a split build, named, with the other outputs' paths resolved.
#[salsa::tracked(returns(ref))]
fn resolved_output(db: &dyn packem_resolve::Db, target: Target, output: u32) -> Arc<ChunkOutput> {
    let names = names(db, target);
    let plans = &link(db, target.project(db)).chunks;
    let output = output as usize;
    let mains = plans.len();
    let (chunk, part) = if output < mains {
        (output, None)
    } else {
        // The last chunk whose parts start at or before `output` (`first_part` is ascending).
        let chunk = names.first_part.partition_point(|&first| first <= output) - 1;
        (chunk, Some(output - names.first_part[chunk]))
    };
    let rendered = rendered_chunk(db, target, chunk as u32);
    let name = &names.names[output];
    let references = &names.references[output];
    let resolve = |code: &crate::Code, map: &Option<Arc<crate::OutputMap>>| {
        if references.is_empty() {
            (code.clone(), map.clone())
        } else {
            let (code, shifts) = code.with_chunk_paths(|c, p| relative(name, &names.names[names.output(c, p)]));
            (code, map.as_ref().map(|m| Arc::new(m.shifted(&shifts))))
        }
    };
    Arc::new(match part {
        Some(k) => {
            let part = &rendered.parts[k];
            let (code, map) = resolve(&part.code, &part.map);
            ChunkOutput {
                entry: rendered.entry.clone(),
                kind: ChunkKind::Shared,
                file_name: Some(name.clone()),
                code,
                map,
                legal: None,
                inputs: part.inputs.clone(),
                exports: Vec::new(),
                external_imports: Vec::new(),
                chunk_imports: references.iter().map(|&j| (names.names[j].clone(), "import-statement")).collect(),
                parts: Vec::new(),
                references: Vec::new(),
            }
        }
        None => {
            let imported: Vec<usize> = plans[chunk].imports.iter().map(|import| import.chunk as usize).collect();
            let (code, map) = resolve(&rendered.code, &rendered.map);
            ChunkOutput {
                entry: rendered.entry.clone(),
                kind: rendered.kind,
                code,
                map,
                legal: rendered.legal.clone(),
                file_name: Some(name.clone()),
                inputs: rendered.inputs.clone(),
                exports: rendered.exports.clone(),
                external_imports: rendered.external_imports.clone(),
                chunk_imports: references
                    .iter()
                    .map(|&j| {
                        let kind =
                            if j >= mains || imported.contains(&j) { "import-statement" } else { "dynamic-import" };
                        (names.names[j].clone(), kind)
                    })
                    .collect(),
                parts: Vec::new(),
                references: Vec::new(),
            }
        }
    })
}

/// Outputs `group * GROUP ..` (at most [`GROUP`] of them), resolved.
#[salsa::tracked(returns(ref))]
fn output_group(db: &dyn packem_resolve::Db, target: Target, group: u32) -> Arc<Vec<Arc<ChunkOutput>>> {
    let count = names(db, target).len() as u32;
    Arc::new((group * GROUP..count.min((group + 1) * GROUP)).map(|i| resolved_output(db, target, i).clone()).collect())
}

/// Every output of a split build, and an error for two outputs with one name.
pub(crate) fn name_chunks(
    db: &dyn packem_resolve::Db,
    target: Target,
    diagnostics: &mut Vec<Diagnostic>,
) -> (crate::chunk::Chunks, u128) {
    let names = names(db, target);
    for name in &names.duplicates {
        diagnostics.push(
            Diagnostic::error(DiagnosticCode::OutputError, format!("Two output files share the same path \"{name}\""))
                .with_help("Put [hash] or [dir] in --chunk-names or --entry-names."),
        );
    }
    let groups = (names.len() as u32).div_ceil(GROUP);
    let groups = (0..groups).map(|group| output_group(db, target, group).clone()).collect();
    (crate::chunk::Chunks::from_groups(groups, GROUP as usize), names.key)
}

/// The path template of chunk number `index` with `[dir]` and `[name]` filled in.
fn template(naming: &ChunkNaming, index: usize, kind: ChunkKind, path: &Utf8Path) -> String {
    let stem = packem_db::files::module_stem(path);
    let stem = stem.as_deref().unwrap_or("chunk");
    if kind == ChunkKind::Entry {
        return naming.entries.get(index).cloned().unwrap_or_else(|| format!("{stem}{}", naming.extension));
    }
    let (name, dir) = match kind {
        // Without `[hash]`, shared chunks are told apart by their first module (stable across
        // edits: see `parts` for why names that do not follow contents matter).
        ChunkKind::Shared if !naming.chunks.contains("[hash]") => {
            let id = packem_db::short_hash(&xxhash_rust::xxh3::xxh3_64(path.as_str().as_bytes()).to_le_bytes());
            return fill(naming, "", &format!("chunk-{id}"), None);
        }
        ChunkKind::Shared => ("chunk", String::new()),
        _ => {
            let dir = path
                .parent()
                .and_then(|p| p.strip_prefix(&naming.outbase).ok())
                .filter(|_| !naming.outbase.as_str().is_empty())
                .map(|d| d.as_str().replace('\\', "/"))
                .unwrap_or_default();
            (stem, dir)
        }
    };
    fill(naming, &dir, name, None)
}

/// The chunk template with `[dir]`, `[name]` (and `[hash]` when given) filled in, as a relative
/// path with the chunks' extension.
fn fill(naming: &ChunkNaming, dir: &str, name: &str, hash: Option<&str>) -> String {
    let mut filled = naming.chunks.replace("[dir]", dir).replace("[name]", name).replace("[ext]", "js");
    if let Some(hash) = hash {
        filled = filled.replace("[hash]", hash);
    }
    let filled = filled.trim_start_matches("./").trim_start_matches('/').replace("//", "/");
    format!("{filled}{}", naming.extension)
}

/// The specifier that loads `to` from `from` (both relative to the output directory).
fn relative(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = from.rsplit_once('/').map(|(dir, _)| dir.split('/').collect()).unwrap_or_default();
    let to_parts: Vec<&str> = to.split('/').collect();
    let to_dir = &to_parts[..to_parts.len() - 1];
    let common = from_dir.iter().zip(to_dir).take_while(|(a, b)| a == b).count();
    let mut out = "../".repeat(from_dir.len() - common);
    if out.is_empty() {
        out.push_str("./");
    }
    out.push_str(&to_parts[common..].join("/"));
    out
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_specifiers() {
        assert_eq!(relative("main.js", "chunk-a.js"), "./chunk-a.js");
        assert_eq!(relative("pages/a.js", "chunk-a.js"), "../chunk-a.js");
        assert_eq!(relative("pages/a.js", "pages/b.js"), "./b.js");
        assert_eq!(relative("a/b/c.js", "a/d/e.js"), "../d/e.js");
        assert_eq!(relative("main.js", "x/y.js"), "./x/y.js");
    }
}
