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
    // Before anything is read: inputs modified after this (minus the timestamp granularity)
    // keep this build from being journaled.
    let started_ns = packem_cache::now_ns();
    let mut builder = Builder::new(&mut args)?;
    if args.watch.is_some() {
        return crate::watch::run(builder, &args);
    }
    // A build from the command line's entries to files may be a no-op: nothing it read changed
    // and its outputs are still on disk (see `packem_host`'s journal).
    let journal = (!args.common.entries.is_empty() && !builder.to_stdout()).then(|| {
        let cwd = builder.workspace.project().options(builder.workspace.db()).cwd.clone();
        crate::cache::journal_key(&cwd)
    });
    if let Some(summary) = journal.and_then(|key| builder.workspace.unchanged_since_journal(key)) {
        if args.common.log_level <= LogLevel::Info {
            let text = packem_output::summary(&summary, start.elapsed(), report::stderr_has_color(), 20);
            let _ = anstream::stderr().lock().write_all(text.as_bytes());
        }
        std::mem::forget(builder);
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = builder.build().pop().expect("one target");
    let counts = report::print_diagnostics(&builder.workspace, &outcome.diagnostics, &args.common);
    if let Some(key) = journal
        && outcome.diagnostics.is_empty()
        && outcome.write.is_some()
    {
        let written = builder.written_files();
        builder.workspace.record_journal(key, started_ns, &[], &written, outcome.outputs.clone());
    }
    crate::cache::save(&mut builder.workspace, args.common.log_level);
    if counts.errors == 0 && args.common.log_level <= LogLevel::Info && !builder.to_stdout() {
        let text = packem_output::summary(&outcome.outputs, start.elapsed(), report::stderr_has_color(), 20);
        let _ = anstream::stderr().lock().write_all(text.as_bytes());
    }
    // The process is about to exit: freeing every memo one by one took ~5% of a cold build.
    std::mem::forget(outcome);
    std::mem::forget(builder);
    Ok(if counts.errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// One target's build result.
pub struct Outcome {
    /// Every diagnostic (graph, link, emit, writing).
    pub diagnostics: Vec<Diagnostic>,
    /// All outputs with their sizes (display paths), when they were written.
    pub outputs: Vec<(String, u64)>,
    /// What the write did (`None` when nothing was written because of errors, or for a target
    /// built only to be embedded). Paths are relative to the target's output directory.
    pub write: Option<packem_output::WriteDelta>,
}

/// A build made but not written yet.
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

impl Prepared {
    fn diagnostics_mut(&mut self) -> &mut Vec<Diagnostic> {
        match self {
            Prepared::Done(outcome) => &mut outcome.diagnostics,
            Prepared::Ready(ready) => &mut ready.diagnostics,
        }
    }

    fn has_errors(&self) -> bool {
        match self {
            Prepared::Done(outcome) => outcome.diagnostics.iter().any(Diagnostic::is_error),
            Prepared::Ready(ready) => ready.diagnostics.iter().any(Diagnostic::is_error),
        }
    }
}

/// Build targets in one database, each bound to its output locations; builds again as often as
/// asked, writing only what changed since the previous build.
///
/// Targets that embed another target's output (`packem:target/NAME` imports) are built after
/// it: [`Builder::build`] orders the targets by those imports (a cycle is an error), builds each
/// level's targets side by side ([`Workspace::build_all`]), and hands each embedded target's
/// output to the workspace ([`Workspace::set_artifact`]) before the next level, so a rebuild
/// re-renders exactly the modules that embed an output whose bytes changed.
pub struct Builder {
    pub workspace: Workspace,
    outs: Vec<TargetOut>,
}

/// One target of a [`Builder`] and what it wrote.
struct TargetOut {
    /// The packem.json target's name (`None` for a build from the command line).
    name: Option<String>,
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
    /// Whether its outputs are written (a target `--only` left out is built only to be embedded).
    write: bool,
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
    /// The output last handed to the workspace for `packem:target/NAME` imports, and the bundle
    /// it came from.
    embedded: Option<Arc<Bundle>>,
    /// Its graph's `packem:target/NAME` imports ([`Builder::embedded_by`]), and that graph.
    embeds: Option<(Arc<packem_host::ModuleGraph>, EmbeddedBy)>,
}

/// A target's `packem:target/NAME` imports: the name, the importing module and the record.
type EmbeddedBy = Arc<[(String, Utf8PathBuf, packem_parse::Source, u32)]>;

/// The order targets build in ([`Builder::levels`]).
struct Order {
    /// Each level's targets embed outputs of earlier levels only.
    levels: Vec<Vec<usize>>,
    /// The targets each target embeds.
    needs: Vec<Vec<usize>>,
}

/// A `packem:target/NAME` import: the embedded target, and the importing module with the
/// import's record (for the location of a cycle error).
type Embedding = (usize, Utf8PathBuf, packem_parse::Source, u32);

/// Output display paths with their sizes in bytes.
type OutputSizes = Vec<(String, u64)>;

/// What one target's flags say, checked.
struct Settings {
    entries: Vec<Utf8PathBuf>,
    options: packem_db::ProjectOptions,
    compile: packem_db::CompileOptions,
    link: packem_db::LinkOptions,
    format: Format,
    emit: EmitOptions,
    naming: Naming,
}

impl Settings {
    fn new(args: &mut BuildArgs) -> Result<Self> {
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
        let link = packem_db::LinkOptions {
            splitting: args.splitting,
            minify: packem_db::Minify {
                whitespace: args.minify || args.minify_whitespace,
                syntax: args.minify || args.minify_syntax,
                identifiers: args.minify || args.minify_identifiers,
            },
            keep_names: args.keep_names,
            ..args.common.link_options()
        };
        Ok(Self { entries, options, compile, link, format, emit, naming })
    }
}

impl Builder {
    /// A builder for the one target `args` describe.
    pub fn new(args: &mut BuildArgs) -> Result<Self> {
        Self::with_target(args, None, true, &[])
    }

    /// A builder whose first target is `args`'s, named `name` (a packem.json target whose
    /// targets are `names`), built and written only when `selected` (or when a selected target
    /// embeds it: then it is built, not written).
    pub fn with_target(args: &mut BuildArgs, name: Option<String>, selected: bool, names: &[String]) -> Result<Self> {
        let mut settings = Settings::new(args)?;
        settings.options.targets = names.to_vec();
        let mut workspace = Workspace::with_compile(
            PackemDatabase::default(),
            settings.entries.clone(),
            settings.options.clone(),
            settings.compile.clone(),
        );
        workspace.set_link_options(settings.link.clone());
        workspace.set_incremental(args.watch.is_some());
        crate::cache::open(&mut workspace, &args.common);
        let project = workspace.project();
        let mut builder = Self { workspace, outs: Vec::new() };
        builder.push(project, settings, args, name, selected);
        Ok(builder)
    }

    /// Adds a target (another project in the same database).
    pub fn add_target(
        &mut self,
        args: &mut BuildArgs,
        name: Option<String>,
        selected: bool,
        names: &[String],
    ) -> Result<()> {
        let mut settings = Settings::new(args)?;
        settings.options.targets = names.to_vec();
        let project = self.workspace.add_project(
            settings.entries.clone(),
            settings.options.clone(),
            settings.compile.clone(),
            settings.link.clone(),
        );
        self.push(project, settings, args, name, selected);
        Ok(())
    }

    fn push(
        &mut self,
        project: packem_db::Project,
        settings: Settings,
        args: &BuildArgs,
        name: Option<String>,
        write: bool,
    ) {
        let target = self.workspace.target_of(project, settings.format, args.global_name.clone(), settings.emit);
        let cwd = settings.options.cwd.clone();
        let outdir = settings.naming.outdir.clone();
        self.outs.push(TargetOut {
            name,
            target,
            outdir,
            naming: settings.naming,
            names: Vec::new(),
            metafile: args.metafile.as_ref().map(|m| crate::args::absolute(&cwd, m)),
            cwd,
            allow_overwrite: args.allow_overwrite,
            spare: args.watch.is_some(),
            write,
            written: if args.watch.is_some() {
                packem_output::WrittenSet::notified()
            } else {
                packem_output::WrittenSet::default()
            },
            last: None,
            declarations: None,
            inputs: None,
            embedded: None,
            embeds: None,
        });
    }

    /// The targets' names (`None` for a command-line build), in the order they were added.
    pub fn target_names(&self) -> impl Iterator<Item = Option<&str>> {
        self.outs.iter().map(|out| out.name.as_deref())
    }

    /// Whether the target at `index` was selected (built and written; others are built only
    /// when a selected target embeds them, and never written).
    pub fn selected(&self, index: usize) -> bool {
        self.outs[index].write
    }

    /// Whether the (first) target's output goes to stdout.
    pub fn to_stdout(&self) -> bool {
        self.outs.iter().any(|out| out.naming.stdout)
    }

    /// The absolute paths of every output the last build left on disk (the metafiles included).
    pub fn written_files(&self) -> Vec<Utf8PathBuf> {
        let mut files = Vec::new();
        for out in self.outs.iter().filter(|out| out.write) {
            files.extend(out.written.paths().map(|path| packem_host::config::normalize(&out.outdir.join(path))));
            files.extend(out.metafile.clone());
        }
        files
    }

    /// Whether the target at `index` writes to stdout.
    pub fn target_to_stdout(&self, index: usize) -> bool {
        self.outs[index].naming.stdout
    }

    /// Deletes the spare files watch mode keeps next to the outputs.
    pub fn remove_spares(&self) {
        for out in &self.outs {
            packem_output::remove_spares(&out.outdir, &out.written);
        }
    }

    /// The directories the outputs of the last write are in (existing ones).
    pub fn output_directories(&self) -> Vec<Utf8PathBuf> {
        let mut all = std::collections::BTreeSet::new();
        for out in &self.outs {
            let dirs: std::collections::BTreeSet<&str> =
                out.written.paths().map(|p| p.rsplit_once('/').map_or("", |(dir, _)| dir)).collect();
            all.extend(
                dirs.into_iter()
                    .map(|d| if d.is_empty() { out.outdir.clone() } else { out.outdir.join(d) })
                    .filter(|d| d.is_dir()),
            );
        }
        all.into_iter().collect()
    }

    /// Reports that an output file may have been changed by someone else (a watcher event for
    /// one of our paths): the next build compares it with the disk again.
    pub fn output_touched(&mut self, path: &Utf8Path) {
        for out in &mut self.outs {
            if let Ok(rel) = path.strip_prefix(&out.outdir) {
                out.written.touched(rel.as_str());
            }
        }
    }

    /// Whether `path` is a file this builder writes (an output, an asset, a temporary or spare
    /// file next to one, the metafile): the watcher ignores those, and only those, so outputs
    /// next to the sources (`--outfile=out.js` in the project) do not hide source edits.
    pub fn is_own_output(&self, path: &Utf8Path) -> bool {
        self.outs.iter().any(|out| out.is_own_output(path))
    }

    /// Builds every target and, when no target has an error, writes the outputs that changed
    /// and deletes the ones the previous build wrote and this one does not. One outcome per
    /// target, in the order they were added.
    pub fn build(&mut self) -> Vec<Outcome> {
        let mut prepared = self.prepare();
        self.check_collisions(&mut prepared);
        let failed = prepared.iter().any(Prepared::has_errors);
        prepared
            .into_iter()
            .enumerate()
            .map(|(index, prepared)| match prepared {
                Prepared::Done(outcome) => outcome,
                // Outputs of several targets are one build: none is written while any has errors.
                Prepared::Ready(ready) if failed && !ready.diagnostics.iter().any(Diagnostic::is_error) => {
                    Outcome { diagnostics: ready.diagnostics, outputs: Vec::new(), write: None }
                }
                Prepared::Ready(ready) => self.write(index, ready),
            })
            .collect()
    }

    /// Builds every target in the order their `packem:target/NAME` imports need, writing nothing.
    fn prepare(&mut self) -> Vec<Prepared> {
        let Order { levels, needs } = match self.levels() {
            Ok(order) => order,
            Err(diagnostic) => {
                let mut all: Vec<Prepared> = (0..self.outs.len())
                    .map(|_| Prepared::Done(Outcome { diagnostics: Vec::new(), outputs: Vec::new(), write: None }))
                    .collect();
                all[self.first_selected()].diagnostics_mut().push(diagnostic);
                return all;
            }
        };
        let mut prepared: Vec<Option<Prepared>> = (0..self.outs.len()).map(|_| None).collect();
        let nothing = || Prepared::Done(Outcome { diagnostics: Vec::new(), outputs: Vec::new(), write: None });
        let embedded: std::collections::BTreeSet<usize> = needs.iter().flatten().copied().collect();
        for level in levels {
            let targets: Vec<packem_host::Target> = level.iter().map(|&index| self.outs[index].target).collect();
            let bundles = self.workspace.build_all(&targets);
            for (&index, bundle) in level.iter().zip(bundles) {
                let mut result = self.finish(index, bundle.clone());
                for &needed in &needs[index] {
                    if prepared[needed].as_ref().is_some_and(Prepared::has_errors) {
                        let name = self.outs[needed].name.clone().unwrap_or_default();
                        result.diagnostics_mut().push(Diagnostic::error(
                            DiagnosticCode::InvalidConfig,
                            format!("This target embeds target \"{name}\" (packem:target/{name}), which has errors"),
                        ));
                    }
                }
                if embedded.contains(&index)
                    && !result.has_errors()
                    && let Err(diagnostic) = self.embed(index, &bundle)
                {
                    result.diagnostics_mut().push(diagnostic);
                }
                prepared[index] = Some(result);
            }
        }
        // Targets not selected and not embedded were not built.
        prepared.into_iter().map(|p| p.unwrap_or_else(nothing)).collect()
    }

    /// The targets in levels: each level's targets embed only outputs of earlier levels (by
    /// their graphs' `packem:target/NAME` modules), with what each target embeds. A cycle is an
    /// error at the import that closes it.
    fn levels(&mut self) -> Result<Order, Diagnostic> {
        let count = self.outs.len();
        let mut needs: Vec<Vec<usize>> = vec![Vec::new(); count];
        let mut imports: Vec<Vec<Embedding>> = vec![Vec::new(); count];
        // The selected targets and, transitively, the targets they embed; the rest are not built.
        let mut wanted: Vec<bool> = self.outs.iter().map(|out| out.write).collect();
        let mut work: Vec<usize> = (0..count).filter(|&i| wanted[i]).collect();
        let named = self.outs.iter().any(|out| out.name.is_some());
        while let Some(index) = work.pop() {
            if !named {
                continue;
            }
            for (name, file, source, record) in self.embedded_by(index).iter() {
                let Some(needed) = self.outs.iter().position(|o| o.name.as_deref() == Some(name.as_str())) else {
                    continue;
                };
                if !needs[index].contains(&needed) {
                    needs[index].push(needed);
                    imports[index].push((needed, file.clone(), *source, *record));
                }
                if !wanted[needed] {
                    wanted[needed] = true;
                    work.push(needed);
                }
            }
        }
        // Kahn's algorithm, keeping the order targets were added in within a level; targets
        // nobody wants count as done and are in no level.
        let mut done: Vec<bool> = wanted.iter().map(|w| !w).collect();
        let mut levels = Vec::new();
        while done.iter().any(|d| !d) {
            let level: Vec<usize> =
                (0..count).filter(|&i| !done[i] && needs[i].iter().all(|&needed| done[needed])).collect();
            if level.is_empty() {
                return Err(self.cycle_error(&done, &imports));
            }
            for &index in &level {
                done[index] = true;
            }
            levels.push(level);
        }
        Ok(Order { levels, needs })
    }

    /// Target `index`'s `packem:target/NAME` imports: the name, the importing module and the
    /// record. Recomputed only when its graph changed (a watch rebuild after a body edit walks no
    /// edge).
    fn embedded_by(&mut self, index: usize) -> EmbeddedBy {
        let graph = self.workspace.module_graph_of(self.outs[index].target.project(self.workspace.db()));
        if let Some((old, imports)) = &self.outs[index].embeds
            && Arc::ptr_eq(old, &graph)
        {
            return imports.clone();
        }
        let mut imports = Vec::new();
        for module in &graph.modules {
            for edge in &module.edges {
                let packem_host::EdgeTarget::Module(id) = &edge.target else { continue };
                let path = &graph.module(*id).path;
                if packem_db::files::is_artifact_path(path) {
                    let name = path.as_str()[packem_db::files::ARTIFACT_PREFIX.len()..].to_string();
                    imports.push((name, module.path.clone(), module.source, edge.record));
                }
            }
        }
        let imports: Arc<[_]> = imports.into();
        self.outs[index].embeds = Some((graph, imports.clone()));
        imports
    }

    /// The error for a cycle among the targets not `done`: the cycle's names, at the import of
    /// the cycle's first target that embeds the next.
    fn cycle_error(&self, done: &[bool], imports: &[Vec<Embedding>]) -> Diagnostic {
        let name = |index: usize| self.outs[index].name.clone().unwrap_or_default();
        // Walk from a remaining target along remaining imports until a target repeats.
        let start = (0..done.len()).find(|&i| !done[i]).expect("a remaining target");
        let mut path = vec![start];
        loop {
            let last = *path.last().expect("not empty");
            let next = imports[last].iter().map(|(needed, ..)| *needed).find(|&n| !done[n]).expect("in a cycle");
            if let Some(position) = path.iter().position(|&i| i == next) {
                path.drain(..position);
                path.push(next);
                break;
            }
            path.push(next);
        }
        let names: Vec<String> = path.iter().map(|&i| format!("\"{}\"", name(i))).collect();
        let (_, file, source, record) =
            imports[path[0]].iter().find(|(needed, ..)| *needed == path[1]).expect("the cycle's first import");
        let db = self.workspace.db();
        let span = packem_parse::module_scan(db, *source).records.get(*record as usize).map(|r| r.span);
        Diagnostic::error(
            DiagnosticCode::CircularDependency,
            format!("Targets embed each other in a cycle: {}", names.join(" → ")),
        )
        .with_help("A target can embed another's output (packem:target/NAME) only if that one does not embed it back.")
        .at(file.clone(), span)
    }

    /// The first target the user selected (errors about the build as a whole are reported there).
    fn first_selected(&self) -> usize {
        self.outs.iter().position(|out| out.write).unwrap_or(0)
    }

    /// Hands target `index`'s output to the workspace for the `packem:target/NAME` imports of
    /// other targets: the one file it writes, as written.
    fn embed(&mut self, index: usize, bundle: &Arc<Bundle>) -> Result<(), Diagnostic> {
        let out = &self.outs[index];
        if out.embedded.as_ref().is_some_and(|old| Arc::ptr_eq(old, bundle)) {
            return Ok(());
        }
        let name = out.name.clone().unwrap_or_default();
        let emit = out.target.emit(self.workspace.db());
        let files = BundleOutputs::new(bundle, &out.names, &[], emit.sourcemap.as_ref(), emit.legal_comments);
        let code: Vec<usize> = (0..files.count()).filter(|&i| !files.is_companion(i)).collect();
        if code.len() != 1 || !bundle.assets.is_empty() {
            return Err(Diagnostic::error(
                DiagnosticCode::InvalidConfig,
                format!(
                    "Target \"{name}\" is embedded (packem:target/{name}) but writes {} files: an embedded target must write one file (one entry, no splitting, no assets)",
                    code.len() + bundle.assets.len()
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(files.len(code[0]) as usize);
        for slice in files.file(code[0]).slices() {
            bytes.extend_from_slice(slice);
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            Diagnostic::error(DiagnosticCode::OutputError, format!("Target \"{name}\"'s output is not UTF-8"))
        })?;
        self.workspace.set_artifact(&name, Arc::from(text));
        self.outs[index].embedded = Some(bundle.clone());
        Ok(())
    }

    /// Outputs of two targets that land on the same path: an error, and nothing is written.
    fn check_collisions(&self, prepared: &mut [Prepared]) {
        let mut owner: std::collections::HashMap<Utf8PathBuf, usize> = std::collections::HashMap::new();
        let mut errors = Vec::new();
        for (index, (out, prepared)) in self.outs.iter().zip(prepared.iter()).enumerate() {
            // A target with errors writes nothing, so it cannot collide.
            let Prepared::Ready(ready) = prepared else { continue };
            if !out.write || ready.diagnostics.iter().any(Diagnostic::is_error) {
                continue;
            }
            for path in out.output_paths(self.workspace.db(), ready) {
                if let Some(other) = owner.insert(path.clone(), index)
                    && other != index
                {
                    let name = |i: usize| self.outs[i].name.clone().unwrap_or_default();
                    errors.push(
                        Diagnostic::error(
                            DiagnosticCode::OutputError,
                            format!(
                                "targets \"{}\" and \"{}\" both write {}",
                                name(other),
                                name(index),
                                display_path(&path, &out.cwd)
                            ),
                        )
                        .with_help("Give them different outdir or outfile."),
                    );
                    break;
                }
            }
        }
        if !errors.is_empty() {
            prepared[self.first_selected()].diagnostics_mut().extend(errors);
        }
    }

    /// Names target `index`'s outputs and collects its assets and diagnostics.
    fn finish(&mut self, index: usize, bundle: Arc<Bundle>) -> Prepared {
        // Declarations can change while the bundle does not (an edit of types only).
        let declarations = crate::declarations::current(&self.workspace, self.outs[index].target);
        let out = &mut self.outs[index];
        // The same memo as last time (salsa backdated it): the outputs on disk are current.
        if let Some((previous, outputs)) = &out.last
            && Arc::ptr_eq(previous, &bundle)
            && declarations == out.declarations
        {
            let write = packem_output::WriteDelta { unchanged: out.written.len(), ..Default::default() };
            return Prepared::Done(Outcome { diagnostics: Vec::new(), outputs: outputs.clone(), write: Some(write) });
        }
        let mut diagnostics = self.workspace.build_diagnostics(out.target);
        // A split build's chunks come named; otherwise the entries' names follow the templates.
        out.names = match out.naming.chunks {
            Some(_) => Vec::new(),
            None => out.naming.names(|i| bundle.chunks[i].code.hash128()),
        };
        let mut assets = Vec::new();
        if !bundle.assets.is_empty() {
            let db = self.workspace.db();
            if out.naming.stdout {
                diagnostics.push(Diagnostic::error(
                    DiagnosticCode::OutputError,
                    "The bundle has assets (the file or copy loader), which cannot be written to stdout: use --outdir",
                ));
            } else if out.target.project(db).compile(db).assets.prefix.is_empty() {
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
            let (files, errors) =
                crate::declarations::declaration_files(&self.workspace, out.target, &bundle, &out.names, &out.naming);
            assets.extend(files);
            diagnostics.extend(errors);
        }
        Prepared::Ready(Ready { bundle, assets, declarations, diagnostics })
    }

    /// Writes what [`Builder::prepare`] made for target `index`, when it has no error.
    fn write(&mut self, index: usize, ready: Ready) -> Outcome {
        let out = &mut self.outs[index];
        let Ready { bundle, assets, declarations, mut diagnostics } = ready;
        if !out.write || diagnostics.iter().any(Diagnostic::is_error) {
            return Outcome { diagnostics, outputs: Vec::new(), write: None };
        }
        let db = self.workspace.db();
        let emit = out.target.emit(db).clone();
        let files = BundleOutputs::new(&bundle, &out.names, &assets, emit.sourcemap.as_ref(), emit.legal_comments);
        let graph = self.workspace.module_graph_of(out.target.project(db));
        if !out.inputs.as_ref().is_some_and(|(old, _)| Arc::ptr_eq(old, &graph)) {
            out.inputs =
                Some((graph.clone(), packem_output::InputPaths::new(graph.modules.iter().map(|m| m.path.as_path()))));
        }
        let inputs = &out.inputs.as_ref().expect("set above").1;
        if out.naming.stdout {
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
            WriteOptions { outdir: &out.outdir, inputs, allow_overwrite: out.allow_overwrite, spare: out.spare };
        let delta = match packem_output::write_changed(&files, &options, &mut out.written) {
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
        let outputs: Vec<(String, u64)> = if out.spare {
            Vec::new()
        } else {
            (0..files.count())
                .map(|i| (display_path(&out.outdir.join(files.path(i)), &out.cwd), files.len(i)))
                .collect()
        };
        if let Some(path) = &out.metafile {
            let json = metafile_json(&self.workspace, &graph, &bundle, &out.outdir, &files, &out.cwd);
            if let Err(err) = packem_output::write_file(path, json.as_bytes()) {
                diagnostics.push(Diagnostic::error(
                    DiagnosticCode::OutputError,
                    format!("Could not write the metafile {path}: {err}"),
                ));
            }
        }
        if !diagnostics.iter().any(Diagnostic::is_error) {
            out.last = Some((bundle.clone(), outputs.clone()));
            out.declarations = declarations;
        }
        Outcome { diagnostics, outputs, write: Some(delta) }
    }

    /// Target `index`'s output path `rel` relative to the working directory, for messages.
    pub fn display(&self, index: usize, rel: &str) -> String {
        let out = &self.outs[index];
        display_path(&out.outdir.join(rel), &out.cwd)
    }

    /// The working directory.
    pub fn cwd(&self) -> &Utf8Path {
        &self.outs[0].cwd
    }
}

impl TargetOut {
    fn is_own_output(&self, path: &Utf8Path) -> bool {
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

    /// The absolute paths `ready` writes (none to stdout), the metafile's included.
    fn output_paths(&self, db: &PackemDatabase, ready: &Ready) -> Vec<Utf8PathBuf> {
        if self.naming.stdout {
            return Vec::new();
        }
        let emit = self.target.emit(db);
        let files =
            BundleOutputs::new(&ready.bundle, &self.names, &ready.assets, emit.sourcemap.as_ref(), emit.legal_comments);
        let mut paths: Vec<Utf8PathBuf> =
            (0..files.count()).map(|i| packem_host::config::normalize(&self.outdir.join(files.path(i)))).collect();
        paths.extend(self.metafile.clone());
        paths
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
