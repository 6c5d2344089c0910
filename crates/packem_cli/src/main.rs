//! `packem`: the command-line front end.
//!
//! The only crate that knows clap. It turns flags into [`ProjectOptions`], opens a
//! [`Workspace`], and prints what the queries return: the module graph (`packem graph`) or the
//! diagnostics (`packem check`).

mod args;
mod build;
mod cache;
mod declarations;
mod graph_output;
mod naming;
mod report;
mod targets;
mod watch;

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser as _;
use packem_host::{PackemDatabase, Workspace};

/// Linking and emission allocate many small strings and tables; mimalloc serves them several
/// times faster than the system allocator (as in rolldown, rspack and oxc's own tools). Built
/// with `no_thp`, and `main` turns transparent huge pages off for the process: each huge page is
/// zeroed whole on first touch, which on three.js×10 made the peak 470 MB instead of 340 MB and
/// cost up to a second of system time when the machine (or its host) had to find fresh memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::args::{Cli, Command, GraphFormat};

fn main() -> ExitCode {
    // Also where the system gives every large mapping huge pages (`enabled=always`).
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let raw = args::esbuild_style_args(std::env::args_os());
    let cli = Cli::parse_from(raw.clone());
    packem_host::init_tracing_from_env();
    // Deeply nested input recurses deeply in the parser; give the work a generous stack
    // (virtual memory, committed only when used).
    let result = std::thread::Builder::new()
        .name("packem-main".into())
        .stack_size(256 << 20)
        .spawn(move || run(cli, raw))
        .expect("spawning the main thread")
        .join();
    match result {
        Ok(Ok(code)) => code,
        Ok(Err(err)) => {
            let _ = writeln!(anstream::stderr(), "✘ [ERROR] {err:#}");
            ExitCode::from(1)
        }
        Err(_) => ExitCode::from(101),
    }
}

fn run(cli: Cli, raw: Vec<std::ffi::OsString>) -> Result<ExitCode> {
    let start = std::time::Instant::now();
    if let Command::Build(args) | Command::Watch(args) = &cli.command {
        let cwd = args::working_directory()?;
        if targets::applies(args, &cwd) {
            return targets::run(&raw, args, &cwd, start);
        }
        if !args.only.is_empty() {
            anyhow::bail!("--only picks targets of packem.json, which builds run without entries on the command line");
        }
    }
    match cli.command {
        Command::Graph(mut args) => {
            let (entries, options) = args.common.project()?;
            let compile = args.common.compile_options(&options.cwd, &entries)?;
            report::set_color(args.common.color);
            let mut workspace = Workspace::with_compile(PackemDatabase::default(), entries, options, compile);
            cache::open(&mut workspace, &args.common);
            let graph = workspace.module_graph();
            let diagnostics = workspace.diagnostics();
            let cwd = workspace.project().options(workspace.db()).cwd.clone();
            let text = match args.format {
                GraphFormat::Tree => graph_output::tree(&graph, &cwd),
                GraphFormat::Json => graph_output::json(&graph, &cwd),
                GraphFormat::Dot => graph_output::dot(&graph, &cwd),
            };
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            let counts = report::print_diagnostics(&workspace, &diagnostics, &args.common);
            cache::save(&mut workspace, args.common.log_level);
            std::mem::forget(workspace); // exiting: the OS frees it faster
            Ok(if counts.errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Cache(command) => cache::run(command),
        Command::Lsp => {
            packem_lsp::run_stdio()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Build(args) => build::run(args, start),
        Command::Watch(mut args) => {
            args.watch.get_or_insert(args::WatchMode::True);
            build::run(args, start)
        }
        Command::Check(mut args) => {
            // Before the configuration is read (see `packem_host`'s journal).
            let started_ns = packem_cache::now_ns();
            // Without entries, every target of packem.json, in one database; a diagnostic only
            // some targets have names them.
            let mut targets = args.common.targets()?.into_iter();
            let (name, entries, options, compile) = targets.next().expect("one target at least");
            report::set_color(args.common.color);
            let cwd = options.cwd.clone();
            let mut workspace = Workspace::with_compile(PackemDatabase::default(), entries, options, compile);
            cache::open(&mut workspace, &args.common);
            // A check whose inputs (and configuration) are as the last clean check with the same
            // command line left them reports nothing again.
            let journal = cache::journal_key(&cwd);
            let configs = [cwd.join("packem.json"), cwd.join("package.json")];
            if let Some(summary) = workspace.unchanged_since_journal(journal) {
                let modules = summary.first().map_or(0, |(_, n)| *n as usize);
                report::print_check_summary(
                    &report::Counts::default(),
                    modules,
                    start.elapsed(),
                    args.common.log_level,
                );
                std::mem::forget(workspace);
                return Ok(ExitCode::SUCCESS);
            }
            let mut projects = vec![(name, workspace.project())];
            for (name, entries, options, compile) in targets {
                let link = packem_db::LinkOptions::default();
                projects.push((name, workspace.add_project(entries, options, compile, link)));
            }
            let per_target = projects
                .iter()
                .map(|(name, project)| (name.clone(), workspace.check_diagnostics_of(*project)))
                .collect();
            let diagnostics = packem_host::merge_target_diagnostics(per_target);
            let mut modules = std::collections::HashSet::new();
            for (_, project) in &projects {
                modules.extend(workspace.module_graph_of(*project).modules.iter().map(|m| m.source));
            }
            let counts = report::print_diagnostics(&workspace, &diagnostics, &args.common);
            report::print_check_summary(&counts, modules.len(), start.elapsed(), args.common.log_level);
            if diagnostics.is_empty() {
                let summary = vec![("modules".to_string(), modules.len() as u64)];
                workspace.record_journal(journal, started_ns, &configs, &[], summary);
            }
            cache::save(&mut workspace, args.common.log_level);
            std::mem::forget(workspace); // exiting: the OS frees it faster
            Ok(if counts.errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
    }
}
