//! `packem build`: bundle, then write the outputs (nothing when there are errors).

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use camino::{Utf8Path, Utf8PathBuf};
use packem_db::diagnostic::display_path;
use packem_db::{Diagnostic, DiagnosticCode};
use packem_host::{
    Bundle, BundleOutputs, EdgeTarget, EmitOptions, Format, LegalComments, ModuleGraph, PackemDatabase, SourceMapMode,
    Workspace,
};
use packem_output::{
    MetaImport, MetaInput, MetaOutput, MetaOutputInput, Metafile, OutputFile, Outputs as _, WriteOptions,
};
use packem_parse::ModuleFormat;

use crate::args::{BuildArgs, LegalCommentsArg, LogLevel, OutputFormat, SourceMapArg};
use crate::naming::Naming;
use crate::report;

pub fn run(mut args: BuildArgs, start: Instant) -> Result<ExitCode> {
    report::set_color(args.common.color);
    let mut builder = Builder::new(&mut args)?;
    if args.watch.is_some() {
        return crate::watch::run(builder, &args);
    }
    let outcome = builder.build();
    let counts = report::print_diagnostics(&builder.workspace, &outcome.diagnostics, &args.common);
    if counts.errors == 0 && args.common.log_level <= LogLevel::Info && !builder.to_stdout() {
        let text = packem_output::summary(&outcome.outputs, start.elapsed(), report::stderr_has_color(), 20);
        let _ = anstream::stderr().lock().write_all(text.as_bytes());
    }
    // The process is about to exit: freeing every memo one by one took ~5% of a cold build.
    std::mem::forget(outcome);
    std::mem::forget(builder);
    Ok(if counts.errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// One build's result.
pub struct Outcome {
    /// Every diagnostic (graph, link, emit, writing).
    pub diagnostics: Vec<Diagnostic>,
    /// All outputs with their sizes (display paths), when they were written.
    pub outputs: Vec<(String, u64)>,
    /// What the write did (`None` when nothing was written because of errors).
    pub write: Option<packem_output::WriteDelta>,
}

/// A build made but not written yet ([`Builder::prepare`]).
pub enum Prepared {
    /// Nothing to write: the bundle is the one on disk.
    Done(Outcome),
    /// A bundle to write.
    Ready(Ready),
}

/// A bundle, its assets and its diagnostics, to write.
pub struct Ready {
    bundle: Arc<Bundle>,
    assets: Vec<OutputFile>,
    /// `--declarations`: what the declaration files among `assets` were made from.
    declarations: Option<Arc<packem_emit::Declarations>>,
    /// The diagnostics so far (writing adds its own).
    pub diagnostics: Vec<Diagnostic>,
}

/// A build target bound to its output locations; builds again as often as asked, writing only
/// what changed since the previous build.
pub struct Builder {
    pub workspace: Workspace,
    target: packem_host::Target,
    outdir: Utf8PathBuf,
    naming: Naming,
    /// The names of the last build's outputs, when the CLI names them (emission names a split
    /// build's).
    names: Vec<String>,
    cwd: Utf8PathBuf,
    metafile: Option<Utf8PathBuf>,
    allow_overwrite: bool,
    /// Keep spare output files to swap with (watch mode; see `WriteOptions::spare`).
    spare: bool,
    /// What the last write left on disk. In watch mode the watcher reports outputs others change
    /// ([`Builder::output_touched`]), so unchanged outputs are trusted without a system call.
    written: packem_output::WrittenSet,
    /// The last bundle written without errors, and its outputs' sizes.
    last: Option<(Arc<Bundle>, OutputSizes)>,
    /// `--declarations`: what the last write's declaration files were made from.
    declarations: Option<Arc<packem_emit::Declarations>>,
    /// The input paths outputs may not overwrite, and the graph they come from (recomputed only
    /// when the graph changes).
    inputs: Option<(Arc<packem_host::ModuleGraph>, packem_output::InputPaths)>,
}

/// Output display paths with their sizes in bytes.
type OutputSizes = Vec<(String, u64)>;

impl Builder {
    pub fn new(args: &mut BuildArgs) -> Result<Self> {
        let (entries, options) = args.common.project()?;
        let cwd = options.cwd.clone();
        let naming = Naming::new(args, &entries, &cwd)?;
        let default_format = if args.splitting { OutputFormat::Esm } else { naming.default_format(options.platform) };
        if args.max_chunk_size.is_some() && !args.splitting {
            bail!("--max-chunk-size needs --splitting");
        }
        if args.max_chunk_size == Some(0) {
            bail!("invalid --max-chunk-size=0: expected a number of bytes above 0");
        }
        if args.splitting && args.format.is_some_and(|f| f != OutputFormat::Esm) {
            bail!("--splitting currently only works with --format=esm");
        }
        let format = match args.format.unwrap_or(default_format) {
            OutputFormat::Esm => Format::Esm,
            OutputFormat::Cjs => Format::Cjs,
            OutputFormat::Iife => Format::Iife,
        };
        let mut compile = args.common.compile_options(&cwd, &entries)?;
        if let Some(outbase) = &args.outbase {
            // Assets' `[dir]` is relative to the same base as the entries' outputs.
            compile.assets.outbase = crate::args::absolute(&cwd, outbase);
        }
        if compile.assets.prefix == "./" {
            // Code refers to assets relative to its own file; with outputs in several
            // directories there is no one such path (a build with assets then needs --public-path).
            compile.assets.prefix = naming.asset_prefix().unwrap_or_default();
        }
        let emit = EmitOptions {
            banner: js_text("banner", &args.banner)?,
            footer: js_text("footer", &args.footer)?,
            legal_comments: match args.legal_comments {
                Some(LegalCommentsArg::None) => LegalComments::None,
                Some(LegalCommentsArg::Inline) => LegalComments::Inline,
                Some(LegalCommentsArg::Eof) | None => LegalComments::Eof,
                Some(LegalCommentsArg::Linked) => LegalComments::Linked,
                Some(LegalCommentsArg::External) => LegalComments::External,
            },
            chunk_naming: naming.chunks.clone().unwrap_or_default(),
            max_chunk_size: args.max_chunk_size,
            sourcemap: args.sourcemap.map(|mode| packem_host::SourceMapOptions {
                mode: match mode {
                    SourceMapArg::Linked => SourceMapMode::Linked,
                    SourceMapArg::Inline => SourceMapMode::Inline,
                    SourceMapArg::External => SourceMapMode::External,
                    SourceMapArg::Both => SourceMapMode::Both,
                },
                sources_content: args.sources_content.unwrap_or(true),
                source_root: args.source_root.clone(),
                base: naming.outdir.clone(),
            }),
            mangle_props: match &args.mangle_props {
                Some(pattern) => {
                    let options = packem_host::ManglePropsOptions {
                        pattern: pattern.clone(),
                        reserve: args.reserve_props.clone(),
                        quoted: args.mangle_quoted,
                    };
                    options.oxc().map_err(|message| anyhow::anyhow!(message))?;
                    Some(options)
                }
                None if args.reserve_props.is_some() || args.mangle_quoted => {
                    bail!("--reserve-props and --mangle-quoted need --mangle-props")
                }
                None => None,
            },
            declarations: args.declarations,
        };
        let mut workspace = Workspace::with_compile(PackemDatabase::default(), entries, options, compile);
        workspace.set_link_options(packem_db::LinkOptions {
            splitting: args.splitting,
            minify: packem_db::Minify {
                whitespace: args.minify || args.minify_whitespace,
                syntax: args.minify || args.minify_syntax,
                identifiers: args.minify || args.minify_identifiers,
            },
            keep_names: args.keep_names,
            ..args.common.link_options()
        });
        workspace.set_incremental(args.watch.is_some());
        let target = workspace.target_with(format, args.global_name.clone(), emit);
        let outdir = naming.outdir.clone();
        Ok(Self {
            workspace,
            target,
            outdir,
            naming,
            names: Vec::new(),
            metafile: args.metafile.as_ref().map(|m| crate::args::absolute(&cwd, m)),
            cwd,
            allow_overwrite: args.allow_overwrite,
            spare: args.watch.is_some(),
            written: if args.watch.is_some() {
                packem_output::WrittenSet::notified()
            } else {
                packem_output::WrittenSet::default()
            },
            last: None,
            declarations: None,
            inputs: None,
        })
    }

    /// Whether the output goes to stdout.
    pub fn to_stdout(&self) -> bool {
        self.naming.stdout
    }

    /// Deletes the spare files watch mode keeps next to the outputs.
    pub fn remove_spares(&self) {
        packem_output::remove_spares(&self.outdir, &self.written);
    }

    /// The directories the outputs of the last write are in (existing ones).
    pub fn output_directories(&self) -> Vec<Utf8PathBuf> {
        let dirs: std::collections::BTreeSet<&str> =
            self.written.paths().map(|p| p.rsplit_once('/').map_or("", |(dir, _)| dir)).collect();
        dirs.into_iter()
            .map(|d| if d.is_empty() { self.outdir.clone() } else { self.outdir.join(d) })
            .filter(|d| d.is_dir())
            .collect()
    }

    /// Reports that an output file may have been changed by someone else (a watcher event for
    /// one of our paths): the next build compares it with the disk again.
    pub fn output_touched(&mut self, path: &Utf8Path) {
        if let Ok(rel) = path.strip_prefix(&self.outdir) {
            self.written.touched(rel.as_str());
        }
    }

    /// Whether `path` is a file this builder writes (an output, an asset, a temporary or spare
    /// file next to one, the metafile): the watcher ignores those, and only those, so outputs
    /// next to the sources (`--outfile=out.js` in the project) do not hide source edits.
    pub fn is_own_output(&self, path: &Utf8Path) -> bool {
        if self.metafile.as_deref() == Some(path) {
            return true;
        }
        let Ok(rel) = path.strip_prefix(&self.outdir) else { return false };
        let ours = path.file_name().is_some_and(|name| name.starts_with('.') && name.contains(".packem-"));
        // The output directory and the directories outputs are in report our own writes too
        // (a source created there comes as an event for the file itself).
        ours || self.written.contains(rel.as_str())
            || self.names.iter().any(|name| name == rel.as_str())
            || rel.as_str().is_empty()
            || self.written.holds_dir(rel.as_str())
    }

    /// Builds and, when there is no error, writes the outputs that changed and deletes the ones
    /// the previous build wrote and this one does not.
    pub fn build(&mut self) -> Outcome {
        match self.prepare() {
            Prepared::Done(outcome) => outcome,
            Prepared::Ready(ready) => self.write(ready),
        }
    }

    /// Builds the bundle and names its outputs, writing nothing ([`Builder::write`] does).
    pub fn prepare(&mut self) -> Prepared {
        let bundle = self.workspace.build(self.target);
        // Declarations can change while the bundle does not (an edit of types only).
        let declarations = crate::declarations::current(&self.workspace, self.target);
        // The same memo as last time (salsa backdated it): the outputs on disk are current.
        if let Some((previous, outputs)) = &self.last
            && Arc::ptr_eq(previous, &bundle)
            && declarations == self.declarations
        {
            let write = packem_output::WriteDelta { unchanged: self.written.len(), ..Default::default() };
            return Prepared::Done(Outcome { diagnostics: Vec::new(), outputs: outputs.clone(), write: Some(write) });
        }
        let mut diagnostics = self.workspace.build_diagnostics(self.target);
        // A split build's chunks come named; otherwise the entries' names follow the templates.
        self.names = match self.naming.chunks {
            Some(_) => Vec::new(),
            None => self.naming.names(|i| bundle.chunks[i].code.hash128()),
        };
        let mut assets = Vec::new();
        if !bundle.assets.is_empty() {
            if self.naming.stdout {
                diagnostics.push(Diagnostic::error(
                    DiagnosticCode::OutputError,
                    "The bundle has assets (the file or copy loader), which cannot be written to stdout: use --outdir",
                ));
            } else if self.workspace.project().compile(self.workspace.db()).assets.prefix.is_empty() {
                diagnostics.push(Diagnostic::error(
                    DiagnosticCode::OutputError,
                    "The outputs are written to several directories, so code cannot refer to assets by one relative path: set --public-path",
                ));
            }
            for asset in &bundle.assets {
                assets.push(OutputFile::new(asset.name.clone(), asset.bytes.clone()));
            }
        }
        // `--declarations`: `.d.ts` files are written like assets.
        if declarations.is_some() {
            let (files, errors) = crate::declarations::declaration_files(
                &self.workspace,
                self.target,
                &bundle,
                &self.names,
                &self.naming,
            );
            assets.extend(files);
            diagnostics.extend(errors);
        }
        Prepared::Ready(Ready { bundle, assets, declarations, diagnostics })
    }

    /// The absolute paths `ready` writes (none to stdout), the metafile's included.
    pub fn output_paths(&self, ready: &Ready) -> Vec<Utf8PathBuf> {
        if self.naming.stdout {
            return Vec::new();
        }
        let emit = self.target.emit(self.workspace.db());
        let files =
            BundleOutputs::new(&ready.bundle, &self.names, &ready.assets, emit.sourcemap.as_ref(), emit.legal_comments);
        let mut paths: Vec<Utf8PathBuf> =
            (0..files.count()).map(|i| packem_host::config::normalize(&self.outdir.join(files.path(i)))).collect();
        paths.extend(self.metafile.clone());
        paths
    }

    /// Writes what [`Builder::prepare`] made, when it has no error.
    pub fn write(&mut self, ready: Ready) -> Outcome {
        let Ready { bundle, assets, declarations, mut diagnostics } = ready;
        let emit = self.target.emit(self.workspace.db()).clone();
        let files = BundleOutputs::new(&bundle, &self.names, &assets, emit.sourcemap.as_ref(), emit.legal_comments);
        let graph = self.workspace.module_graph();
        if !self.inputs.as_ref().is_some_and(|(old, _)| Arc::ptr_eq(old, &graph)) {
            self.inputs =
                Some((graph.clone(), packem_output::InputPaths::new(graph.modules.iter().map(|m| m.path.as_path()))));
        }
        let inputs = &self.inputs.as_ref().expect("set above").1;
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Outcome { diagnostics, outputs: Vec::new(), write: None };
        }
        if self.naming.stdout {
            let mut stdout = std::io::stdout().lock();
            for index in 0..files.count() {
                for piece in files.file(index).slices() {
                    if let Err(err) = stdout.write_all(piece) {
                        diagnostics.push(Diagnostic::error(
                            DiagnosticCode::OutputError,
                            format!("Could not write to stdout: {err}"),
                        ));
                        return Outcome { diagnostics, outputs: Vec::new(), write: None };
                    }
                }
            }
            let _ = stdout.flush();
            return Outcome { diagnostics, outputs: Vec::new(), write: None };
        }
        let options =
            WriteOptions { outdir: &self.outdir, inputs, allow_overwrite: self.allow_overwrite, spare: self.spare };
        let delta = match packem_output::write_changed(&files, &options, &mut self.written) {
            Ok(delta) => delta,
            Err(errors) => {
                for error in errors {
                    diagnostics.push(Diagnostic::error(
                        DiagnosticCode::OutputError,
                        format!("{} [{}]", error.message, error.code),
                    ));
                }
                return Outcome { diagnostics, outputs: Vec::new(), write: None };
            }
        };
        // The summary table is printed after one-shot builds only; watch mode reports what it wrote.
        let outputs: Vec<(String, u64)> = if self.spare {
            Vec::new()
        } else {
            (0..files.count())
                .map(|i| (display_path(&self.outdir.join(files.path(i)), &self.cwd), files.len(i)))
                .collect()
        };
        if let Some(path) = &self.metafile {
            let json = metafile_json(&self.workspace, &graph, &bundle, &self.outdir, &files, &self.cwd);
            if std::fs::read_to_string(path).ok().as_deref() != Some(json.as_str())
                && let Err(err) = std::fs::write(path, json)
            {
                diagnostics.push(Diagnostic::error(
                    DiagnosticCode::OutputError,
                    format!("Could not write the metafile {path}: {err}"),
                ));
            }
        }
        if !diagnostics.iter().any(Diagnostic::is_error) {
            self.last = Some((bundle.clone(), outputs.clone()));
            self.declarations = declarations;
        }
        Outcome { diagnostics, outputs, write: Some(delta) }
    }

    /// Output paths relative to the working directory, for messages.
    pub fn display(&self, rel: &str) -> String {
        display_path(&self.outdir.join(rel), &self.cwd)
    }

    /// The working directory.
    pub fn cwd(&self) -> &Utf8Path {
        &self.cwd
    }
}

/// The text of `--banner:js=…`/`--footer:js=…` (the last one given), with a line break after.
fn js_text(flag: &str, values: &[String]) -> Result<Option<String>> {
    let Some(value) = values.last() else { return Ok(None) };
    match value.split_once('=') {
        Some(("js", text)) => Ok(Some(if text.ends_with('\n') { text.to_string() } else { format!("{text}\n") })),
        Some(("css", _)) => bail!("--{flag}:css is not supported: packem does not bundle CSS"),
        _ => bail!("invalid --{flag}:{value} (expected --{flag}:js=TEXT)"),
    }
}

fn metafile_json(
    workspace: &Workspace,
    graph: &ModuleGraph,
    bundle: &Bundle,
    outdir: &Utf8Path,
    files: &BundleOutputs,
    cwd: &Utf8Path,
) -> String {
    let db = workspace.db();
    let mut meta = Metafile::default();
    for module in &graph.modules {
        // The input's size: assets' raw bytes, code's text.
        let bytes = if module.source.settings(db).loader.is_some_and(packem_db::Loader::reads_bytes) {
            packem_db::source_bytes(db, module.file).as_ref().map_or(0, |bytes| bytes.len())
        } else {
            packem_db::source_text(db, module.file).as_str().len()
        } as u64;
        let imports = module
            .edges
            .iter()
            .filter_map(|e| {
                let (path, external) = match &e.target {
                    EdgeTarget::Module(id) => (display_path(&graph.module(*id).path, cwd), false),
                    EdgeTarget::External(p) => (p.clone(), true),
                    EdgeTarget::Asset(p) => (display_path(p, cwd), false),
                    EdgeTarget::Unresolved(_) => return None,
                };
                Some(MetaImport {
                    path,
                    kind: e.kind.as_str().to_string(),
                    external,
                    original: Some(e.specifier.clone()),
                    with: e.type_attribute.as_ref().map(|t| [("type".to_string(), t.clone())].into_iter().collect()),
                })
            })
            .collect();
        let format = match module.format {
            ModuleFormat::Esm => Some("esm".to_string()),
            ModuleFormat::CommonJs => Some("cjs".to_string()),
            _ => None,
        };
        meta.inputs.insert(display_path(&module.path, cwd), MetaInput { bytes, format, imports, with: None });
    }
    for (index, chunk) in bundle.chunks.iter().enumerate() {
        let name = files.path(index);
        let inputs = chunk
            .inputs
            .iter()
            .map(|(file, bytes)| (display_path(file.path(db), cwd), MetaOutputInput { bytes_in_output: *bytes }))
            .collect();
        meta.outputs.insert(
            display_path(&outdir.join(name), cwd),
            MetaOutput {
                // As written: with the comment naming its source map or legal comments file.
                bytes: files.len(index),
                entry_point: (chunk.kind != packem_host::ChunkKind::Shared).then(|| display_path(&chunk.entry, cwd)),
                exports: chunk.exports.clone(),
                imports: chunk
                    .chunk_imports
                    .iter()
                    .map(|(name, kind)| MetaImport {
                        path: display_path(&outdir.join(name), cwd),
                        kind: kind.to_string(),
                        external: false,
                        original: None,
                        with: None,
                    })
                    .chain(chunk.external_imports.iter().map(|(path, kind)| MetaImport {
                        path: path.clone(),
                        kind: kind.to_string(),
                        external: true,
                        original: None,
                        with: None,
                    }))
                    .collect(),
                inputs,
                css_bundle: None,
            },
        );
    }
    // Source maps and legal comments files, as esbuild lists them: no inputs of their own.
    for index in (0..packem_output::Outputs::count(files)).filter(|&i| files.is_companion(i)) {
        let name = packem_output::Outputs::path(files, index);
        meta.outputs.insert(
            display_path(&outdir.join(name), cwd),
            MetaOutput { bytes: files.len(index), ..MetaOutput::default() },
        );
    }
    for asset in &bundle.assets {
        let bytes = asset.bytes.len() as u64;
        meta.outputs.insert(
            display_path(&outdir.join(&asset.name), cwd),
            MetaOutput {
                bytes,
                inputs: [(display_path(&asset.source, cwd), MetaOutputInput { bytes_in_output: bytes })]
                    .into_iter()
                    .collect(),
                ..MetaOutput::default()
            },
        );
    }
    meta.to_json()
}
