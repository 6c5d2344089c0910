//! File names of a split build: each chunk's path from its template (`--entry-names`,
//! `--chunk-names`) and a content hash, then every chunk's markers for the others' paths
//! replaced by relative specifiers.
//!
//! A chunk's hash covers its own code (with the other chunks' paths left out, so renumbering
//! chunks does not move it) and the own hashes of every chunk it imports, directly or not,
//! statically or with `import()`: it changes exactly when the chunk's bytes or a chunk it
//! loads change, and cycles of `import()` need no order.

use camino::Utf8Path;
use packem_db::{Diagnostic, DiagnosticCode};
use packem_graph::module_graph;
use packem_link::{ChunkKind, link};

use crate::chunk::{ChunkOutput, rendered_chunk};
use crate::{ChunkNaming, Target};

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
}

impl OutputNames {
    /// The output number of part `part` (0: the main file) of chunk `chunk`.
    fn output(&self, chunk: u32, part: u32) -> usize {
        if part == 0 { chunk as usize } else { self.first_part[chunk as usize] + part as usize - 1 }
    }
}

/// The names of `target`'s outputs (code splitting).
#[salsa::tracked(returns(ref))]
pub(crate) fn output_names(db: &dyn packem_resolve::Db, target: Target) -> OutputNames {
    let _span = tracing::debug_span!("output_names").entered();
    let project = target.project(db);
    let naming = &target.emit(db).chunk_naming;
    let graph = module_graph(db, project);
    let plans = &link(db, project).chunks;
    let chunks: Vec<&ChunkOutput> = (0..plans.len()).map(|i| rendered_chunk(db, target, i as u32)).collect();
    let mut first_part = Vec::with_capacity(chunks.len());
    let mut count = chunks.len();
    for chunk in &chunks {
        first_part.push(count);
        count += chunk.parts.len();
    }
    let mut out = OutputNames { names: Vec::with_capacity(count), first_part, references: Vec::with_capacity(count) };
    let mut templates: Vec<String> = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| template(naming, i, chunk, &graph.module(plans[i].entry).path))
        .collect();
    // Parts are named by identity (see `parts`), so their own hash is that identity.
    let mut identities: Vec<Option<u64>> = vec![None; chunks.len()];
    for (i, chunk) in chunks.iter().enumerate() {
        let stem = graph.module(plans[i].entry).path.file_stem().unwrap_or("chunk").to_string();
        let stem = if chunk.kind == ChunkKind::Shared { "chunk".to_string() } else { stem };
        for part in &chunk.parts {
            let id = packem_db::short_hash(&part.identity.to_le_bytes());
            let name =
                if naming.chunks.contains("[hash]") { format!("{stem}-part") } else { format!("{stem}-part-{id}") };
            templates.push(fill(naming, "", &name, Some(&id)));
            identities.push(Some(part.identity));
        }
    }
    let codes: Vec<&crate::Code> =
        chunks.iter().map(|c| &c.code).chain(chunks.iter().flat_map(|c| c.parts.iter().map(|p| &p.code))).collect();
    for chunk in &chunks {
        out.references.push(chunk.references.iter().map(|&(c, p)| out.output(c, p)).collect());
    }
    for chunk in &chunks {
        for part in &chunk.parts {
            out.references.push(part.references.iter().map(|&(c, p)| out.output(c, p)).collect());
        }
    }
    // Names without `[hash]` need no contents hashed.
    let hashed = templates.iter().any(|t| t.contains("[hash]"));
    let unhashed: Vec<String> = templates.iter().map(|t| t.replace("[hash]", "")).collect();
    let own: Vec<u128> = codes
        .iter()
        .zip(&identities)
        .map(|(code, identity)| match identity {
            Some(identity) => u128::from(*identity),
            None if hashed => code.with_chunk_paths(|c, p| unhashed[out.output(c, p)].clone()).hash128(),
            None => 0,
        })
        .collect();
    for (i, template) in templates.iter().enumerate() {
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
    out
}

/// Output number `output` of a split build, named, with the other outputs' paths resolved.
#[salsa::tracked(returns(ref))]
pub(crate) fn resolved_output(db: &dyn packem_resolve::Db, target: Target, output: u32) -> ChunkOutput {
    let names = output_names(db, target);
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
    let resolve = |code: &crate::Code| {
        if references.is_empty() {
            code.clone()
        } else {
            code.with_chunk_paths(|c, p| relative(name, &names.names[names.output(c, p)]))
        }
    };
    match part {
        Some(k) => {
            let part = &rendered.parts[k];
            ChunkOutput {
                entry: rendered.entry.clone(),
                kind: ChunkKind::Shared,
                file_name: Some(name.clone()),
                code: resolve(&part.code),
                inputs: part.inputs.clone(),
                exports: Vec::new(),
                external_imports: Vec::new(),
                chunk_imports: references.iter().map(|&j| (names.names[j].clone(), "import-statement")).collect(),
                parts: Vec::new(),
                part_owners: Vec::new(),
                references: Vec::new(),
            }
        }
        None => {
            let imported: Vec<usize> = plans[chunk].imports.iter().map(|import| import.chunk as usize).collect();
            ChunkOutput {
                entry: rendered.entry.clone(),
                kind: rendered.kind,
                code: resolve(&rendered.code),
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
                part_owners: Vec::new(),
                references: Vec::new(),
            }
        }
    }
}

/// Every output of a split build, and an error for two outputs with one name.
pub(crate) fn name_chunks(
    db: &dyn packem_resolve::Db,
    target: Target,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ChunkOutput> {
    let names = output_names(db, target);
    let mut sorted: Vec<&String> = names.names.iter().collect();
    sorted.sort();
    for pair in sorted.windows(2) {
        if pair[0] == pair[1] {
            diagnostics.push(
                Diagnostic::error(
                    DiagnosticCode::OutputError,
                    format!("Two output files share the same path \"{}\"", pair[0]),
                )
                .with_help("Put [hash] or [dir] in --chunk-names or --entry-names."),
            );
        }
    }
    (0..names.names.len()).map(|i| resolved_output(db, target, i as u32).clone()).collect()
}

/// The path template of chunk number `index` with `[dir]` and `[name]` filled in.
fn template(naming: &ChunkNaming, index: usize, chunk: &ChunkOutput, path: &Utf8Path) -> String {
    let stem = path.file_stem().unwrap_or("chunk");
    if chunk.kind == ChunkKind::Entry {
        return naming.entries.get(index).cloned().unwrap_or_else(|| format!("{stem}{}", naming.extension));
    }
    let (name, dir) = match chunk.kind {
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
