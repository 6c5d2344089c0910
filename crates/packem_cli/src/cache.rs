//! The persistent cache from the command line: opening it before a run, saving it after, and
//! `packem cache info|clean`.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};
use packem_host::Workspace;

use crate::args::{CacheArgs, CacheCommand, CommonArgs, LogLevel};

/// The cache directory `common` asks for in a project whose working directory is `cwd`, or
/// `None` with `--no-cache`.
pub fn dir(common: &CommonArgs, cwd: &Utf8Path) -> Option<Utf8PathBuf> {
    (!common.no_cache).then(|| chosen_dir(common.cache_dir.as_deref(), cwd))
}

/// `--cache-dir` made absolute, else the default for `cwd`.
fn chosen_dir(flag: Option<&Utf8Path>, cwd: &Utf8Path) -> Utf8PathBuf {
    match flag {
        Some(dir) => crate::args::absolute(cwd, dir),
        None => packem_host::default_cache_dir(cwd),
    }
}

/// Opens the cache `common` asks for, printing a warning when it was unusable (the run then
/// starts cold).
pub fn open(workspace: &mut Workspace, common: &CommonArgs) {
    let cwd = workspace.project().options(workspace.db()).cwd.clone();
    let Some(dir) = dir(common, &cwd) else { return };
    if let Some(warning) = workspace.open_cache(&dir) {
        warn(common.log_level, &warning);
    }
}

/// The journal key of this process's command line run from `cwd` (see `packem_host`'s journal).
pub fn journal_key(cwd: &Utf8Path) -> u128 {
    packem_host::journal_key(&std::env::args_os().skip(1).collect::<Vec<_>>(), cwd)
}

/// Saves what this run computed to the cache (if one is open), printing a warning when it could
/// not be written.
pub fn save(workspace: &mut Workspace, level: LogLevel) {
    match workspace.save_cache() {
        Ok(report) => tracing::debug!(?report, "cache saved"),
        Err(warning) => warn(level, &warning),
    }
}

fn warn(level: LogLevel, text: &str) {
    if level <= LogLevel::Warning {
        let _ = writeln!(anstream::stderr(), "▲ [WARNING] The persistent cache: {text}\n");
    }
}

/// `packem cache info` and `packem cache clean`.
pub fn run(command: CacheCommand) -> Result<ExitCode> {
    let cwd = crate::args::working_directory()?;
    let dir_of = |args: &CacheArgs| chosen_dir(args.cache_dir.as_deref(), &cwd);
    let mut stdout = std::io::stdout().lock();
    match command {
        CacheCommand::Info(args) => {
            let path = dir_of(&args).join(packem_host::CACHE_FILE);
            match packem_cache::info(&path) {
                Ok(None) => writeln!(stdout, "{path}: no cache")?,
                Ok(Some(info)) => {
                    let age = (packem_cache::now_ns() - info.written_at_ns).max(0) as u64 / 1_000_000_000;
                    let this_build = if info.build_id == packem_host::build_id() {
                        ""
                    } else {
                        " (another build of packem: unused)"
                    };
                    writeln!(stdout, "{path}{this_build}")?;
                    writeln!(stdout, "  size:    {} bytes ({} live)", info.file_size, info.live_bytes)?;
                    writeln!(stdout, "  entries: {}", info.entries)?;
                    writeln!(stdout, "  written: {} ago (generation {})", human_age(age), info.generation)?;
                }
                Err(warning) => writeln!(stdout, "{path}: unusable ({warning}); the next build replaces it")?,
            }
        }
        CacheCommand::Clean(args) => {
            let dir = dir_of(&args);
            packem_cache::clean(&dir.join(packem_host::CACHE_FILE)).map_err(anyhow::Error::msg)?;
            writeln!(stdout, "removed the cache in {dir}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn human_age(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}
