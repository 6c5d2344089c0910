//! `packem build`: bundle, then write the outputs (nothing when there are errors).

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use camino::{Utf8Path, Utf8PathBuf};
use packem_db::diagnostic::display_path;
use packem_db::{Diagnostic, DiagnosticCode};
use packem_host::{Bundle, EdgeTarget, Format, ModuleGraph, Workspace};
use packem_output::{MetaImport, MetaInput, MetaOutput, MetaOutputInput, Metafile, OutputFile, WriteOptions};
use packem_parse::ModuleFormat;

use crate::args::{BuildArgs, LogLevel, OutputFormat};
use crate::report;

pub fn run(args: BuildArgs, start: Instant) -> Result<ExitCode> {
    report::set_color(args.common.color);
    let mut builder = Builder::new(&args)?;
    if args.watch.is_some() {
        return crate::watch::run(builder, &args);
    }
    let outcome = builder.build();
    let counts = report::print_diagnostics(&builder.workspace, &outcome.diagnostics, args.common.log_level);
    if counts.errors == 0 && args.common.log_level <= LogLevel::Info {
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
    pub write: Option<packem_output::WriteReport>,
}

/// A build target bound to its output locations; builds again as often as asked, writing only
/// what changed since the previous build.
pub struct Builder {
    pub workspace: Workspace,
    target: packem_host::Target,
    outdir: Utf8PathBuf,
    names: Vec<String>,
    cwd: Utf8PathBuf,
    metafile: Option<Utf8PathBuf>,
    allow_overwrite: bool,
    /// Keep spare output files to swap with (watch mode; see `WriteOptions::spare`).
    spare: bool,
    previous: Option<packem_output::WrittenSet>,
    /// The last bundle written without errors, and its outputs' sizes.
    last: Option<(Arc<Bundle>, OutputSizes)>,
    /// The input paths outputs may not overwrite, and the graph they come from (recomputed only
    /// when the graph changes).
    inputs: Option<(Arc<packem_host::ModuleGraph>, Vec<Utf8PathBuf>)>,
}

/// Output display paths with their sizes in bytes.
type OutputSizes = Vec<(String, u64)>;

impl Builder {
    pub fn new(args: &BuildArgs) -> Result<Self> {
        let (entries, options) = args.common.project()?;
        let cwd = options.cwd.clone();
        if entries.len() > 1 && args.outfile.is_some() {
            bail!("--outfile cannot be used with multiple entry points (use --outdir)");
        }
        let format = match args.format {
            OutputFormat::Esm => Format::Esm,
            OutputFormat::Cjs => Format::Cjs,
            OutputFormat::Iife => Format::Iife,
        };
        // Where each output goes: the outfile, or the entry's path under the outdir relative to
        // the entries' lowest common directory (esbuild's outbase), with a `.js` extension.
        let (outdir, names) = output_names(args, &entries, &cwd)?;
        let mut workspace = Workspace::new(entries, options);
        workspace.set_incremental(args.watch.is_some());
        let target = workspace.target(format, args.global_name.clone());
        Ok(Self {
            workspace,
            target,
            outdir,
            names,
            metafile: args.metafile.as_ref().map(|m| crate::args::absolute(&cwd, m)),
            cwd,
            allow_overwrite: args.allow_overwrite,
            spare: args.watch.is_some(),
            previous: None,
            last: None,
            inputs: None,
        })
    }

    /// Deletes the spare files watch mode keeps next to the outputs.
    pub fn remove_spares(&self) {
        if let Some(written) = &self.previous {
            packem_output::remove_spares(&self.outdir, written);
        }
    }

    /// The output directory (the watcher ignores changes there).
    pub fn outdir(&self) -> &Utf8Path {
        &self.outdir
    }

    /// Builds and, when there is no error, writes the outputs that changed and deletes the ones
    /// the previous build wrote and this one does not.
    pub fn build(&mut self) -> Outcome {
        let bundle = self.workspace.build(self.target);
        // The same memo as last time (salsa backdated it): the outputs on disk are current.
        if let Some((previous, outputs)) = &self.last
            && Arc::ptr_eq(previous, &bundle)
        {
            let write =
                packem_output::WriteReport { set: self.previous.clone().unwrap_or_default(), ..Default::default() };
            return Outcome { diagnostics: Vec::new(), outputs: outputs.clone(), write: Some(write) };
        }
        let mut diagnostics = self.workspace.build_diagnostics(self.target);
        let files: Vec<OutputFile> = bundle
            .chunks
            .iter()
            .zip(&self.names)
            .map(|(chunk, name)| OutputFile::from_pieces(name.clone(), chunk.code.byte_pieces(), chunk.code.hash128()))
            .collect();
        let graph = self.workspace.module_graph();
        if !self.inputs.as_ref().is_some_and(|(old, _)| Arc::ptr_eq(old, &graph)) {
            self.inputs = Some((graph.clone(), graph.modules.iter().map(|m| m.path.clone()).collect()));
        }
        let inputs = &self.inputs.as_ref().expect("set above").1;
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Outcome { diagnostics, outputs: Vec::new(), write: None };
        }
        let options =
            WriteOptions { outdir: &self.outdir, inputs, allow_overwrite: self.allow_overwrite, spare: self.spare };
        let report = match packem_output::write_outputs(&files, &options, self.previous.as_ref()) {
            Ok(report) => report,
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
        self.previous = Some(report.set.clone());
        let outputs: Vec<(String, u64)> =
            files.iter().map(|f| (display_path(&self.outdir.join(&f.path), &self.cwd), f.len())).collect();
        if let Some(path) = &self.metafile {
            let json = metafile_json(&self.workspace, &graph, &bundle, &self.outdir, &self.names, &self.cwd);
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
            self.last = Some((bundle, outputs.clone()));
        }
        Outcome { diagnostics, outputs, write: Some(report) }
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

fn output_names(args: &BuildArgs, entries: &[Utf8PathBuf], cwd: &Utf8Path) -> Result<(Utf8PathBuf, Vec<String>)> {
    if let Some(outfile) = &args.outfile {
        let outfile = crate::args::absolute(cwd, outfile);
        let dir = outfile.parent().map(Utf8Path::to_owned).unwrap_or_else(|| cwd.to_owned());
        let name = outfile.file_name().unwrap_or("out.js").to_string();
        return Ok((dir, vec![name]));
    }
    let Some(outdir) = &args.outdir else { bail!("specify an output: --outfile=FILE or --outdir=DIR") };
    let outdir = crate::args::absolute(cwd, outdir);
    let base = common_dir(entries);
    let names = entries
        .iter()
        .map(|entry| {
            let rel = entry.strip_prefix(&base).unwrap_or(entry.as_path());
            rel.with_extension("js").as_str().replace('\\', "/")
        })
        .collect();
    Ok((outdir, names))
}

/// The deepest directory containing every entry.
fn common_dir(entries: &[Utf8PathBuf]) -> Utf8PathBuf {
    let mut base = entries[0].parent().map(Utf8Path::to_owned).unwrap_or_default();
    for entry in &entries[1..] {
        while !entry.starts_with(&base) {
            if !base.pop() {
                break;
            }
        }
    }
    base
}

fn metafile_json(
    workspace: &Workspace,
    graph: &ModuleGraph,
    bundle: &Bundle,
    outdir: &Utf8Path,
    names: &[String],
    cwd: &Utf8Path,
) -> String {
    let db = workspace.db();
    let mut meta = Metafile::default();
    for module in &graph.modules {
        let bytes = packem_db::source_text(db, module.file).as_str().len() as u64;
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
                    with: None,
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
    for (chunk, name) in bundle.chunks.iter().zip(names) {
        let inputs = chunk
            .inputs
            .iter()
            .map(|(file, bytes)| (display_path(file.path(db), cwd), MetaOutputInput { bytes_in_output: *bytes }))
            .collect();
        meta.outputs.insert(
            display_path(&outdir.join(name), cwd),
            MetaOutput {
                bytes: chunk.code.len() as u64,
                entry_point: Some(display_path(&chunk.entry, cwd)),
                exports: chunk.exports.clone(),
                imports: chunk
                    .external_imports
                    .iter()
                    .map(|(path, kind)| MetaImport {
                        path: path.clone(),
                        kind: kind.to_string(),
                        external: true,
                        original: None,
                        with: None,
                    })
                    .collect(),
                inputs,
                css_bundle: None,
            },
        );
    }
    meta.to_json()
}
