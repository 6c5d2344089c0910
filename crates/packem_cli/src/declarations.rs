//! `--declarations`: where each module's `.d.ts` goes, and its relative specifiers rewritten so
//! that they resolve from there under TypeScript's `node16` and `bundler` resolution.
//!
//! An entry's declaration sits next to its output and follows the output's extension
//! (`index.mjs` → `index.d.mts`, `index.cjs` → `index.d.cts`, `index.js` → `index.d.ts`); every
//! other module's goes to its path relative to the outbase, under the output directory (the
//! outfile's directory with `--outfile`), its extension replaced (`.mts` → `.d.mts`, `.cts` →
//! `.d.cts`, else `.d.ts`). A specifier that names a declared module becomes the path of that
//! module's declaration with the JavaScript extension TypeScript maps back to it (`./util.js`
//! for `util.d.ts`, as `tsc` writes it); other relative specifiers keep their path and get
//! `.ts`/`.mts`/`.cts` rewritten to `.js`/`.mjs`/`.cjs` (`rewriteRelativeImportExtensions`).
//! The declarations themselves are queries (`packem_emit::project_declarations`).

use std::collections::BTreeMap;
use std::sync::Arc;

use camino::Utf8Path;
use packem_db::diagnostic::display_path;
use packem_db::{Diagnostic, DiagnosticCode};
use packem_host::{Bundle, ChunkKind, Target, Workspace};
use packem_output::OutputFile;

use crate::naming::Naming;

/// With `--declarations`, what `target`'s declaration files are made from (the memo of
/// `packem_emit::project_declarations`).
pub fn current(workspace: &Workspace, target: Target) -> Option<Arc<packem_emit::Declarations>> {
    let db = workspace.db();
    target.emit(db).declarations.then(|| packem_emit::project_declarations(db, target.project(db)).clone())
}

/// The declaration files of `target`'s modules, placed for the outputs `names` (the CLI's names
/// of the entries' outputs; empty when emission named them), with the declarations' diagnostics.
/// Nothing is placed when there is an error.
pub fn declaration_files(
    workspace: &Workspace,
    target: Target,
    bundle: &Bundle,
    names: &[String],
    naming: &Naming,
) -> (Vec<OutputFile>, Vec<Diagnostic>) {
    let db = workspace.db();
    if naming.stdout {
        let error = Diagnostic::error(
            DiagnosticCode::OutputError,
            "--declarations writes files next to the outputs, which cannot go to stdout: use --outdir or --outfile",
        );
        return (Vec::new(), vec![error]);
    }
    let declarations = packem_emit::project_declarations(db, target.project(db));
    let mut diagnostics: Vec<Diagnostic> =
        declarations.modules.iter().flat_map(|m| m.declaration.diagnostics.iter().cloned()).collect();

    // Where each entry's output is, by entry path.
    let mut outputs: BTreeMap<&Utf8Path, &str> = BTreeMap::new();
    for (i, chunk) in bundle.chunks.iter().enumerate() {
        let name = names.get(i).map(String::as_str).or(chunk.file_name.as_deref());
        if let (ChunkKind::Entry, Some(name)) = (chunk.kind, name) {
            outputs.entry(chunk.entry.as_path()).or_insert(name);
        }
    }
    let outbase = packem_host::config::normalize(&naming.outbase);
    let cwd = workspace.project().options(db).cwd.clone();
    let mut paths: Vec<Option<String>> = Vec::with_capacity(declarations.modules.len());
    let mut owners: BTreeMap<String, &Utf8Path> = BTreeMap::new();
    for module in &declarations.modules {
        let path = match outputs.get(module.path.as_path()) {
            Some(output) => Some(declaration_of_output(output)),
            None => match module.path.strip_prefix(&outbase) {
                Ok(rel) => Some(declaration_of_source(rel)),
                Err(_) => {
                    diagnostics.push(
                        Diagnostic::error(
                            DiagnosticCode::OutputError,
                            format!(
                                "The declaration of this module cannot be placed: it is not inside the outbase {}",
                                display_path(&outbase, &cwd)
                            ),
                        )
                        .at(module.path.clone(), None)
                        .with_help("Set --outbase to a directory that holds every source file."),
                    );
                    None
                }
            },
        };
        if let Some(path) = &path
            && let Some(other) = owners.insert(path.clone(), &module.path)
        {
            diagnostics.push(
                Diagnostic::error(
                    DiagnosticCode::OutputError,
                    format!(
                        "Two modules' declarations would be written to {}: {} and {}",
                        display_path(&naming.outdir.join(path), &cwd),
                        display_path(other, &cwd),
                        display_path(&module.path, &cwd)
                    ),
                )
                .with_help("Give the entry's output another name (--outfile, --entry-names)."),
            );
        }
        paths.push(path);
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (Vec::new(), diagnostics);
    }

    let files = declarations
        .modules
        .iter()
        .zip(&paths)
        .map(|(module, path)| {
            let path = path.as_deref().expect("placed: no error");
            let from = Utf8Path::new(path).parent().unwrap_or(Utf8Path::new(""));
            let text = &module.declaration.text;
            let mut out = String::with_capacity(text.len() + 16);
            let mut at = 0;
            for (specifier, target) in module.declaration.specifiers.iter().zip(&module.targets) {
                let (start, end) = (specifier.range.0 as usize, specifier.range.1 as usize);
                out.push_str(&text[at..start]);
                let rewritten = match target.and_then(|t| paths[t as usize].as_deref()) {
                    Some(to) => relative_specifier(from, &javascript_of_declaration(to)),
                    None => rewrite_extension(&specifier.specifier),
                };
                out.push_str(&packem_db::syntax::quote(&rewritten));
                at = end;
            }
            out.push_str(&text[at..]);
            OutputFile::new(path, out.into_bytes())
        })
        .collect();
    (files, diagnostics)
}

/// The declaration next to an output: `index.js` → `index.d.ts`, `.mjs` → `.d.mts`, `.cjs` →
/// `.d.cts`, and TypeScript's `x.d.ext.ts` for other extensions.
fn declaration_of_output(output: &str) -> String {
    let (stem, ext) = split_extension(output);
    match ext {
        "js" | "jsx" | "" => format!("{stem}.d.ts"),
        "mjs" => format!("{stem}.d.mts"),
        "cjs" => format!("{stem}.d.cts"),
        other => format!("{stem}.d.{other}.ts"),
    }
}

/// The declaration of a source file at `rel` (below the outbase): `.mts`/`.mjs` → `.d.mts`,
/// `.cts`/`.cjs` → `.d.cts`, else `.d.ts`.
fn declaration_of_source(rel: &Utf8Path) -> String {
    let (stem, ext) = split_extension(rel.as_str());
    match ext {
        "mts" | "mjs" => format!("{stem}.d.mts"),
        "cts" | "cjs" => format!("{stem}.d.cts"),
        _ => format!("{stem}.d.ts"),
    }
}

/// The JavaScript file a declaration describes, as TypeScript maps it back (`util.d.ts` →
/// `util.js`), which is what an import names.
fn javascript_of_declaration(declaration: &str) -> String {
    for (from, to) in [(".d.ts", ".js"), (".d.mts", ".mjs"), (".d.cts", ".cjs")] {
        if let Some(stem) = declaration.strip_suffix(from) {
            return format!("{stem}{to}");
        }
    }
    // `x.d.css.ts` describes `x.css`.
    if let Some((stem, ext)) = declaration.strip_suffix(".ts").and_then(|s| s.rsplit_once(".d."))
        && !ext.contains(['.', '/'])
    {
        return format!("{stem}.{ext}");
    }
    declaration.to_owned()
}

/// `to` relative to the directory `from` (both relative to the output directory), as a
/// relative specifier (`./x.js`, `../x.js`).
fn relative_specifier(from: &Utf8Path, to: &str) -> String {
    let from: Vec<&str> = from.as_str().split('/').filter(|c| !c.is_empty()).collect();
    let to: Vec<&str> = to.split('/').filter(|c| !c.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    let joined = parts.join("/");
    if joined.starts_with("../") { joined } else { format!("./{joined}") }
}

/// A specifier with a TypeScript extension rewritten to the JavaScript one (`./a.ts` → `./a.js`,
/// `.mts` → `.mjs`, `.cts` → `.cjs`, `.tsx` → `.js`); declaration files are left alone.
fn rewrite_extension(specifier: &str) -> String {
    let (stem, ext) = split_extension(specifier);
    if stem.ends_with(".d") || Utf8Path::new(stem).file_name().is_none() {
        return specifier.to_owned();
    }
    match ext {
        "ts" | "tsx" => format!("{stem}.js"),
        "mts" => format!("{stem}.mjs"),
        "cts" => format!("{stem}.cjs"),
        _ => specifier.to_owned(),
    }
}

/// `path` split at the extension of its last component (`a/b.c.js` → `a/b.c`, `js`).
fn split_extension(path: &str) -> (&str, &str) {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_start..].rfind('.') {
        Some(dot) if dot > 0 => (&path[..name_start + dot], &path[name_start + dot + 1..]),
        _ => (path, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_follow_outputs_and_sources() {
        assert_eq!(declaration_of_output("index.js"), "index.d.ts");
        assert_eq!(declaration_of_output("esm/index.mjs"), "esm/index.d.mts");
        assert_eq!(declaration_of_output("index.cjs"), "index.d.cts");
        assert_eq!(declaration_of_output("index.min.js"), "index.min.d.ts");
        assert_eq!(declaration_of_output("index.es"), "index.d.es.ts");
        assert_eq!(declaration_of_source(Utf8Path::new("lib/util.ts")), "lib/util.d.ts");
        assert_eq!(declaration_of_source(Utf8Path::new("view.tsx")), "view.d.ts");
        assert_eq!(declaration_of_source(Utf8Path::new("a.mts")), "a.d.mts");
        assert_eq!(declaration_of_source(Utf8Path::new("a.cts")), "a.d.cts");
        assert_eq!(declaration_of_source(Utf8Path::new("a.js")), "a.d.ts");
    }

    #[test]
    fn specifiers_name_the_javascript_of_a_declaration() {
        assert_eq!(javascript_of_declaration("util.d.ts"), "util.js");
        assert_eq!(javascript_of_declaration("a/b.d.mts"), "a/b.mjs");
        assert_eq!(javascript_of_declaration("b.d.cts"), "b.cjs");
        assert_eq!(javascript_of_declaration("index.d.es.ts"), "index.es");
        assert_eq!(relative_specifier(Utf8Path::new(""), "util.js"), "./util.js");
        assert_eq!(relative_specifier(Utf8Path::new("lib"), "util.js"), "../util.js");
        assert_eq!(relative_specifier(Utf8Path::new("lib/a"), "lib/b/c.js"), "../b/c.js");
        assert_eq!(relative_specifier(Utf8Path::new("lib"), "lib/c.js"), "./c.js");
    }

    #[test]
    fn typescript_extensions_are_rewritten() {
        assert_eq!(rewrite_extension("./a.ts"), "./a.js");
        assert_eq!(rewrite_extension("../a.mts"), "../a.mjs");
        assert_eq!(rewrite_extension("./a.cts"), "./a.cjs");
        assert_eq!(rewrite_extension("./a.tsx"), "./a.js");
        assert_eq!(rewrite_extension("./a.d.ts"), "./a.d.ts");
        assert_eq!(rewrite_extension("./a"), "./a");
        assert_eq!(rewrite_extension("./data.json"), "./data.json");
        assert_eq!(rewrite_extension(".."), "..");
    }
}
