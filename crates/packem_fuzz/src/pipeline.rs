//! The whole pipeline as the CLI runs it for one target: build, diagnostics rendered with their
//! code frames, then the outputs written through `packem_output`'s checks.

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::diagnostic::{RenderOptions, render};
use packem_db::{CompileOptions, Diagnostic, LinkOptions, Platform, ProjectOptions};
use packem_host::{BundleOutputs, EmitOptions, Format, PackemDatabase, Workspace};
use packem_output::{InputPaths, OutputFile, WriteOptions, WrittenSet};

/// What to build and how.
pub struct Settings {
    pub platform: Platform,
    pub compile: CompileOptions,
    pub link: LinkOptions,
    pub format: Format,
    pub global_name: Option<String>,
    pub emit: EmitOptions,
    /// Write through spare files, as watch mode does.
    pub spare: bool,
}

/// What a build left: its diagnostics, the files written (relative to the output directory) and
/// each entry's output file (absolute entry path, name under the output directory).
pub struct Built {
    pub diagnostics: Vec<Diagnostic>,
    pub written: Vec<String>,
    pub entry_files: Vec<(Utf8PathBuf, String)>,
}

/// Builds `entries` under `root` with `settings` and writes the outputs to `root/out`.
pub fn build_and_write(root: &Utf8Path, entries: Vec<Utf8PathBuf>, settings: Settings) -> Built {
    build_into(root, entries, settings, &root.join("out"))
}

/// [`build_and_write`] into `outdir`.
pub fn build_into(root: &Utf8Path, entries: Vec<Utf8PathBuf>, settings: Settings, outdir: &Utf8Path) -> Built {
    let options = ProjectOptions { cwd: root.to_owned(), platform: settings.platform, ..ProjectOptions::default() };
    let mut workspace = Workspace::with_compile(PackemDatabase::default(), entries, options, settings.compile);
    workspace.set_link_options(settings.link);
    let emit = settings.emit;
    let target = workspace.target_with(settings.format, settings.global_name, emit.clone());
    let bundle = workspace.build(target);
    let mut diagnostics = workspace.build_diagnostics(target);
    diagnostics.extend(workspace.check_diagnostics());
    render_all(&workspace, &diagnostics, root);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Built { diagnostics, written: Vec::new(), entry_files: Vec::new() };
    }
    let extension = if settings.format == Format::Cjs { "cjs" } else { "js" };
    let names: Vec<String> = bundle
        .chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| chunk.file_name.clone().unwrap_or_else(|| format!("entry{i}.{extension}")))
        .collect();
    let assets: Vec<OutputFile> =
        bundle.assets.iter().map(|asset| OutputFile::new(asset.name.clone(), asset.bytes.clone())).collect();
    let files = BundleOutputs::new(&bundle, &names, &assets, emit.sourcemap.as_ref(), emit.legal_comments);
    let graph = workspace.module_graph();
    let inputs = InputPaths::new(graph.modules.iter().map(|m| m.path.as_path()));
    let entry_files = bundle
        .chunks
        .iter()
        .zip(&names)
        .filter(|(chunk, _)| chunk.kind == packem_host::ChunkKind::Entry)
        .map(|(chunk, name)| (chunk.entry.clone(), name.clone()))
        .collect();
    let options = WriteOptions { outdir, inputs: &inputs, allow_overwrite: false, spare: settings.spare };
    let mut set = WrittenSet::default();
    let written = match packem_output::write_changed(&files, &options, &mut set) {
        Ok(_) => set.paths().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    };
    for path in &written {
        let full = packem_host::config::normalize(&outdir.join(path));
        assert!(full.starts_with(outdir), "an output was written outside the output directory: {full}");
    }
    Built { diagnostics, written, entry_files }
}

/// Renders every diagnostic as the CLI prints it (the code frame reads the file's text).
fn render_all(workspace: &Workspace, diagnostics: &[Diagnostic], cwd: &Utf8Path) {
    let db = workspace.db();
    let text_of = |path: &Utf8Path| -> Option<Arc<str>> {
        let file = packem_db::Db::files(db).get(path)?;
        Some(packem_db::source_text(db, file).arc().clone())
    };
    for color in [false, true] {
        let options = RenderOptions { color, cwd };
        for diagnostic in diagnostics {
            let _ = render(diagnostic, &text_of, &options);
        }
    }
}
