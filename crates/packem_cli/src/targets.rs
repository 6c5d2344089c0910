//! `packem build` without entries: the targets of `packem.json` (every one, or those `--only`
//! names). Each target's settings become flags, followed by the command line's own flags, which
//! therefore win (a flag given twice takes its last value; list flags such as `--external`
//! add up). All targets are built before any is written, so outputs of two targets that would
//! land on the same path are an error and nothing is written.

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use camino::Utf8Path;
use clap::Parser as _;
use packem_host::config::schema::{SourceMapSetting, spelling};
use packem_host::config::{ConfigFile, ResolvedTarget, TargetConfig};

use crate::args::{BuildArgs, Cli, Command, LogLevel};
use crate::build::Builder;
use crate::report;

/// Whether `args` (no entries given) should build the targets of `cwd/packem.json`.
pub fn applies(args: &BuildArgs, cwd: &Utf8Path) -> bool {
    args.common.entries.is_empty() && cwd.join("packem.json").is_file()
}

/// Builds the selected targets in one database. `raw` is the command line (esbuild's
/// `--flag:value` spellings already rewritten), whose flags after the subcommand are applied to
/// every target.
pub fn run(raw: &[OsString], args: &BuildArgs, cwd: &Utf8Path, start: Instant) -> Result<ExitCode> {
    report::set_color(args.common.color);
    // Before the configuration is read (see `packem_host`'s journal).
    let started_ns = packem_cache::now_ns();
    let file = packem_host::config::read(&cwd.join("packem.json"))?;
    let selected: Vec<String> = file.select(&args.only)?.into_iter().map(|t| t.name).collect();
    let all = file.targets()?;
    // The targets a `packem:target/NAME` import can embed: those that can be built.
    let names: Vec<String> = all
        .iter()
        .filter(|t| t.config.entries.as_ref().is_some_and(|e| !e.is_empty()))
        .map(|t| t.name.clone())
        .collect();
    if let Some(target) = all.iter().find(|t| t.name.contains('/')) {
        bail!(
            "{}: a target name cannot contain \"/\" (it is imported as packem:target/NAME)",
            target_context(&file, target)
        );
    }
    let subcommand = raw.get(1).cloned().unwrap_or_else(|| "build".into());
    let watch = args.watch.is_some() || subcommand == "watch";
    let flags = user_flags(raw.get(2..).unwrap_or_default());
    let given = given_flags(&flags);
    // Every target is a project of the one database; those not selected are built only when a
    // selected target embeds their output (`packem:target/NAME`), and never written.
    let mut builder: Option<Builder> = None;
    let mut builds = Vec::with_capacity(all.len());
    for target in &all {
        let context = || target_context(&file, target);
        let chosen = selected.contains(&target.name);
        if target.config.entries.as_ref().is_none_or(Vec::is_empty) {
            if chosen {
                bail!("{}: no \"entries\" (in the target, what it extends, or the top level)", context());
            }
            // Cannot be built, so cannot be embedded either: it is not in `names`, and a
            // `packem:target/` import of it fails to resolve.
            continue;
        }
        let mut argv: Vec<OsString> = vec!["packem".into(), subcommand.clone()];
        let own = flags_of(&target.config, file.dir()).into_iter().filter(|flag| !overridden(flag, &given));
        argv.extend(own.map(OsString::from));
        argv.extend(flags.iter().cloned());
        let cli = Cli::try_parse_from(argv).map_err(|err| anyhow::anyhow!("{}: {err}", context()))?;
        let (Command::Build(mut build) | Command::Watch(mut build)) = cli.command else {
            unreachable!("the subcommand is build or watch")
        };
        if watch {
            build.watch.get_or_insert(crate::args::WatchMode::True);
        }
        let name = Some(target.name.clone());
        match &mut builder {
            None => builder = Some(Builder::with_target(&mut build, name, chosen, &names).with_context(context)?),
            Some(builder) => builder.add_target(&mut build, name, chosen, &names).with_context(context)?,
        }
        builds.push(build);
    }
    let mut builder = builder.expect("a config has at least one target");
    if watch {
        let first = builds.into_iter().next().expect("one target at least");
        return crate::watch::run(builder, &first);
    }
    let several = selected.len() > 1;
    // Like a build of entries on the command line, a build of the targets may be a no-op: nothing
    // it read (packem.json and package.json included) changed and its outputs are on disk.
    let journal = (!builder.to_stdout()).then(|| crate::cache::journal_key(cwd));
    let configs = [cwd.join("packem.json"), cwd.join("package.json")];
    let level = builds.first().map_or(LogLevel::Info, |build| build.common.log_level);
    if let Some(summary) = journal.and_then(|key| builder.workspace.unchanged_since_journal(key)) {
        if level <= LogLevel::Info {
            for (name, outputs) in sections(&summary) {
                if several {
                    let _ = writeln!(anstream::stderr(), "target {name}:");
                }
                let text = packem_output::summary(&outputs, start.elapsed(), report::stderr_has_color(), 20);
                let _ = anstream::stderr().lock().write_all(text.as_bytes());
            }
        }
        std::mem::forget(builder);
        return Ok(ExitCode::SUCCESS);
    }
    let outcomes = builder.build();
    let mut errors = 0;
    // What a no-op build of the same command line prints again: each chosen target's outputs.
    let mut summary: Vec<(String, u64)> = Vec::new();
    let mut journaled = outcomes.iter().all(|outcome| outcome.diagnostics.is_empty());
    for (index, (outcome, build)) in outcomes.iter().zip(&builds).enumerate() {
        // Targets built only to be embedded report their errors; their outputs are not listed.
        let chosen = builder.selected(index);
        if !chosen && outcome.diagnostics.is_empty() {
            continue;
        }
        let name = builder.target_names().nth(index).flatten().unwrap_or_default().to_string();
        if chosen {
            journaled &= outcome.write.is_some();
            summary.push((format!("{SECTION}{name}"), 0));
            summary.extend(outcome.outputs.iter().cloned());
        }
        if several && build.common.log_level <= LogLevel::Info {
            let _ = writeln!(anstream::stderr(), "target {name}:");
        }
        let counts = report::print_diagnostics(&builder.workspace, &outcome.diagnostics, &build.common);
        errors += counts.errors;
        if chosen
            && counts.errors == 0
            && build.common.log_level <= LogLevel::Info
            && !builder.target_to_stdout(index)
            && outcome.write.is_some()
        {
            let text = packem_output::summary(&outcome.outputs, start.elapsed(), report::stderr_has_color(), 20);
            let _ = anstream::stderr().lock().write_all(text.as_bytes());
        }
    }
    if let Some(key) = journal
        && journaled
        && errors == 0
    {
        let written = builder.written_files();
        builder.workspace.record_journal(key, started_ns, &configs, &written, summary);
    }
    crate::cache::save(&mut builder.workspace, level);
    std::mem::forget(outcomes);
    // The process is about to exit: freeing every memo one by one is slower than the OS.
    std::mem::forget(builder);
    Ok(if errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// In a journaled summary, what starts the entry that names the target of the outputs after it.
const SECTION: &str = "\0target ";

/// A journaled summary split back into each target's name and outputs.
fn sections(summary: &[(String, u64)]) -> Vec<(String, Vec<(String, u64)>)> {
    let mut out: Vec<(String, Vec<(String, u64)>)> = Vec::new();
    for (path, size) in summary {
        match path.strip_prefix(SECTION) {
            Some(name) => out.push((name.to_string(), Vec::new())),
            None => {
                if let Some((_, outputs)) = out.last_mut() {
                    outputs.push((path.clone(), *size));
                }
            }
        }
    }
    out
}

/// `packem.json:LINE: target "NAME"`, for errors in a target's settings.
fn target_context(file: &ConfigFile, target: &ResolvedTarget) -> String {
    let (line, column) = file.target_line(&target.name);
    format!("{}:{line}:{column}: target \"{}\"", file.path, target.name)
}

/// What the command line sets, as `(flag, key)` pairs: the key of a keyed flag (`--alias=K=V`,
/// `--loader=.K=V`), else empty.
fn given_flags(flags: &[OsString]) -> Vec<(String, String)> {
    let mut given = Vec::new();
    let mut args = flags.iter().filter_map(|f| f.to_str());
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else { continue };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None if KEYED.contains(&flag) => (flag, args.clone().next().map(str::to_owned)),
            None => (flag, None),
        };
        let key = value.filter(|_| KEYED.contains(&name)).and_then(|v| v.split_once('=').map(|(k, _)| k.to_owned()));
        given.push((name.to_owned(), key.unwrap_or_default()));
    }
    given
}

/// Flags whose values are `KEY=VALUE`, where the command line's value for a key replaces the
/// target's.
const KEYED: &[&str] = &["alias", "loader", "define", "out-extension"];

/// Whether the command line replaces `flag` (one of [`flags_of`]'s): the same single-valued or
/// list flag (`--target`, `--main-fields`, `--conditions` … take the command line's list, not
/// both), the same key of a keyed flag, and `--outdir`/`--outfile` either of the two.
fn overridden(flag: &str, given: &[(String, String)]) -> bool {
    let Some(flag) = flag.strip_prefix("--") else { return false };
    let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
    given.iter().any(|(given, key)| {
        if KEYED.contains(&name) {
            given == name && value.split_once('=').is_some_and(|(k, _)| k == key)
        } else if matches!(name, "outdir" | "outfile") {
            matches!(given.as_str(), "outdir" | "outfile")
        } else {
            // Lists that add up: each adds to the target's.
            given == name && !matches!(name, "external" | "inject" | "drop" | "polyfill")
        }
    })
}

/// The command line's flags after the subcommand, without `--only` (which picked the targets).
fn user_flags(args: &[OsString]) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        match arg.to_str() {
            Some("--only") => skip_value = true,
            Some(s) if s.starts_with("--only=") => {}
            _ => out.push(arg.clone()),
        }
    }
    out
}

/// A target's settings as command-line flags (paths made absolute against `dir`).
pub fn flags_of(config: &TargetConfig, dir: &Utf8Path) -> Vec<String> {
    let path = |p: &str| packem_host::config::normalize(&dir.join(p)).into_string();
    // Entries first: a flag with an optional value must not take one for its value.
    let mut out: Vec<String> = config.entries.iter().flatten().map(|e| path(e)).collect();
    let mut flag = |name: &str, value: Option<String>| match value {
        Some(value) => out.push(format!("--{name}={value}")),
        None => out.push(format!("--{name}")),
    };
    let on = |value: Option<bool>| value == Some(true);
    for (name, value) in [
        ("platform", config.platform.map(|v| spelling(&v))),
        ("format", config.format.map(|v| spelling(&v))),
        ("packages", config.packages.map(|v| spelling(&v))),
        ("jsx", config.jsx.map(|v| spelling(&v))),
        ("legal-comments", config.legal_comments.map(|v| spelling(&v))),
        ("charset", config.charset.map(|v| spelling(&v))),
    ] {
        if let Some(value) = value {
            flag(name, Some(value));
        }
    }
    if let Some(outdir) = &config.outdir {
        flag("outdir", Some(path(outdir)));
    }
    if let Some(outfile) = &config.outfile {
        flag("outfile", Some(path(outfile)));
    }
    for external in config.external.iter().flatten() {
        flag("external", Some(external.clone()));
    }
    for (from, to) in config.alias.iter().flatten() {
        flag("alias", Some(format!("{from}={to}")));
    }
    for (from, to) in config.polyfills.iter().flatten() {
        flag("polyfill", Some(format!("{}={}", path(from), path(to))));
    }
    if let Some(conditions) = config.conditions.as_ref().filter(|c| !c.is_empty()) {
        flag("conditions", Some(conditions.join(",")));
    }
    if let Some(fields) = config.main_fields.as_ref().filter(|f| !f.is_empty()) {
        flag("main-fields", Some(fields.join(",")));
    }
    if let Some(tsconfig) = &config.tsconfig {
        flag("tsconfig", Some(path(tsconfig)));
    }
    for (name, value) in [
        ("jsx-import-source", &config.jsx_import_source),
        ("jsx-factory", &config.jsx_factory),
        ("jsx-fragment", &config.jsx_fragment),
        ("asset-names", &config.asset_names),
        ("public-path", &config.public_path),
        ("entry-names", &config.entry_names),
        ("chunk-names", &config.chunk_names),
        ("source-root", &config.source_root),
        ("mangle-props", &config.mangle_props),
        ("reserve-props", &config.reserve_props),
        ("global-name", &config.global_name),
    ] {
        if let Some(value) = value {
            flag(name, Some(value.clone()));
        }
    }
    for (key, value) in config.define.iter().flatten() {
        flag("define", Some(format!("{key}={value}")));
    }
    for (ext, loader) in config.loader.iter().flatten() {
        flag("loader", Some(format!("{ext}={loader}")));
    }
    if let Some(target) = &config.target {
        flag("target", Some(target.to_vec().join(",")));
    }
    for what in config.drop.iter().flatten() {
        flag("drop", Some(spelling(what)));
    }
    if let Some(labels) = config.drop_labels.as_ref().filter(|l| !l.is_empty()) {
        flag("drop-labels", Some(labels.join(",")));
    }
    for inject in config.inject.iter().flatten() {
        flag("inject", Some(path(inject)));
    }
    if let Some(shaking) = config.tree_shaking {
        flag("tree-shaking", Some(shaking.to_string()));
    }
    if let Some(banner) = &config.banner {
        flag("banner", Some(format!("js={banner}")));
    }
    if let Some(footer) = &config.footer {
        flag("footer", Some(format!("js={footer}")));
    }
    for (from, to) in config.out_extension.iter().flatten() {
        flag("out-extension", Some(format!("{from}={to}")));
    }
    if let Some(outbase) = &config.outbase {
        flag("outbase", Some(path(outbase)));
    }
    if let Some(max) = config.max_chunk_size {
        flag("max-chunk-size", Some(max.to_string()));
    }
    match config.sourcemap {
        Some(SourceMapSetting::Enabled(true)) => flag("sourcemap", Some("linked".into())),
        Some(SourceMapSetting::Mode(mode)) => flag("sourcemap", Some(spelling(&mode))),
        Some(SourceMapSetting::Enabled(false)) | None => {}
    }
    if let Some(content) = config.sources_content {
        flag("sources-content", Some(content.to_string()));
    }
    if let Some(metafile) = &config.metafile {
        flag("metafile", Some(path(metafile)));
    }
    for (name, value) in [
        ("jsx-dev", config.jsx_dev),
        ("ignore-annotations", config.ignore_annotations),
        ("splitting", config.splitting),
        ("keep-names", config.keep_names),
        ("minify", config.minify),
        ("minify-whitespace", config.minify_whitespace),
        ("minify-syntax", config.minify_syntax),
        ("minify-identifiers", config.minify_identifiers),
        ("mangle-quoted", config.mangle_quoted),
        ("declarations", config.declarations),
        ("allow-overwrite", config.allow_overwrite),
    ] {
        if on(value) {
            flag(name, None);
        }
    }
    out
}
