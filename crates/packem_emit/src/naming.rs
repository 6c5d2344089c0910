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

use crate::chunk::ChunkOutput;
use crate::{ChunkNaming, Target};

/// Names the chunks of a split build and resolves their paths to each other.
pub(crate) fn name_chunks(
    db: &dyn packem_resolve::Db,
    target: Target,
    chunks: &mut [ChunkOutput],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let _span = tracing::debug_span!("name_chunks", chunks = chunks.len()).entered();
    let project = target.project(db);
    let naming = &target.emit(db).chunk_naming;
    let graph = module_graph(db, project);
    let plans = &link(db, project).chunks;
    let templates: Vec<String> = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| template(naming, i, chunk, &graph.module(plans[i].entry).path))
        .collect();
    let unhashed: Vec<String> = templates.iter().map(|t| t.replace("[hash]", "")).collect();
    let own: Vec<u128> =
        chunks.iter().map(|chunk| chunk.code.with_chunk_paths(|j| unhashed[j as usize].clone()).hash128()).collect();
    let references: Vec<Vec<u32>> = chunks.iter().map(|chunk| chunk.code.chunk_references()).collect();
    let mut names = Vec::with_capacity(chunks.len());
    for (i, template) in templates.iter().enumerate() {
        let mut seen = vec![false; chunks.len()];
        seen[i] = true;
        let mut stack = references[i].clone();
        let mut loaded = Vec::new();
        while let Some(j) = stack.pop() {
            let j = j as usize;
            if j < chunks.len() && !seen[j] {
                seen[j] = true;
                loaded.push(own[j]);
                stack.extend(references[j].iter().copied());
            }
        }
        loaded.sort_unstable();
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&own[i].to_le_bytes());
        for hash in loaded {
            hasher.update(&hash.to_le_bytes());
        }
        let hash = packem_db::short_hash(&hasher.digest128().to_le_bytes());
        names.push(template.replace("[hash]", &hash));
    }
    let mut sorted: Vec<&String> = names.iter().collect();
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
    for (i, chunk) in chunks.iter_mut().enumerate() {
        if !references[i].is_empty() {
            chunk.code = chunk.code.with_chunk_paths(|j| relative(&names[i], &names[j as usize]));
        }
        chunk.file_name = Some(names[i].clone());
        let imported: Vec<u32> = plans[i].imports.iter().map(|import| import.chunk).collect();
        chunk.chunk_imports = imported
            .iter()
            .map(|&j| (names[j as usize].clone(), "import-statement"))
            .chain(
                references[i]
                    .iter()
                    .filter(|j| !imported.contains(j))
                    .map(|&j| (names[j as usize].clone(), "dynamic-import")),
            )
            .collect();
    }
}

/// The path template of chunk number `index` with `[dir]` and `[name]` filled in.
fn template(naming: &ChunkNaming, index: usize, chunk: &ChunkOutput, path: &Utf8Path) -> String {
    let stem = path.file_stem().unwrap_or("chunk");
    if chunk.kind == ChunkKind::Entry {
        return naming.entries.get(index).cloned().unwrap_or_else(|| format!("{stem}{}", naming.extension));
    }
    let (name, dir) = match chunk.kind {
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
    let filled = naming.chunks.replace("[dir]", &dir).replace("[name]", name).replace("[ext]", "js");
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
