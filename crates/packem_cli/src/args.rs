//! Command-line arguments, spelled like esbuild's (`--platform=node`, `--external:fs`,
//! `--alias:a=b`, `--log-level=warning`).

use std::ffi::OsString;

use anyhow::{Context as _, Result, bail};
use camino::{Utf8Path, Utf8PathBuf};
use clap::{Args, Parser, Subcommand, ValueEnum};
use packem_db::{Platform, ProjectOptions};

/// packem: an incremental JavaScript/TypeScript bundler.
#[derive(Parser, Debug)]
#[command(name = "packem", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the module graph reachable from the entries.
    Graph(GraphArgs),
    /// Report every diagnostic (exit 1 when there are errors).
    Check(CheckArgs),
    /// Bundle the entries into runnable output files.
    Build(BuildArgs),
    /// `build --watch`.
    Watch(BuildArgs),
    /// Run the language server on stdin/stdout (entries from `packem.json` at the workspace root).
    Lsp,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Output directory (one file per entry).
    #[arg(long, value_name = "DIR", conflicts_with = "outfile")]
    pub outdir: Option<Utf8PathBuf>,
    /// Output file (a single entry).
    #[arg(long, value_name = "FILE")]
    pub outfile: Option<Utf8PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Esm)]
    pub format: OutputFormat,
    /// For `--format=iife`: the global variable to assign the entry's exports to.
    #[arg(long = "global-name", value_name = "NAME")]
    pub global_name: Option<String>,
    /// Write esbuild's metafile (inputs, outputs, imports, sizes) to this file.
    #[arg(long, value_name = "FILE")]
    pub metafile: Option<Utf8PathBuf>,
    /// Allow output files to overwrite input files.
    #[arg(long = "allow-overwrite")]
    pub allow_overwrite: bool,
    /// Accepted for esbuild compatibility: packem always bundles.
    #[arg(long, hide = true)]
    pub bundle: bool,
    /// Rebuild when files change; exits when stdin closes unless `--watch=forever`.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "true", value_name = "forever")]
    pub watch: Option<WatchMode>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchMode {
    /// Watch until stdin closes (esbuild's default).
    True,
    /// Watch until killed.
    Forever,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Esm,
    Cjs,
    Iife,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Tree)]
    pub format: GraphFormat,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// An indented tree on stdout.
    Tree,
    /// JSON: modules with their imports, entries and cycles.
    Json,
    /// Graphviz DOT.
    Dot,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Verbose,
    Debug,
    Info,
    Warning,
    Error,
    Silent,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformArg {
    Browser,
    Node,
    Neutral,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackagesArg {
    /// Every bare package import stays an import.
    External,
    /// Bundle packages (the default).
    Bundle,
}

/// Flags shared by every subcommand that builds a graph.
#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Entry points (default: `entries` of `packem.json` in the working directory, else
    /// `package.json`'s `main`/`module`/`exports`/`bin`).
    #[arg(value_name = "ENTRY")]
    pub entries: Vec<Utf8PathBuf>,
    /// Target platform.
    /// (default `browser`, or the config's)
    #[arg(long, value_enum)]
    pub platform: Option<PlatformArg>,
    /// Leave a module out of the bundle (`--external:fs`; `*` wildcards; repeatable).
    #[arg(long, value_name = "MODULE")]
    pub external: Vec<String>,
    /// Make every package import external.
    #[arg(long, value_enum)]
    pub packages: Option<PackagesArg>,
    /// Replace a package with another (`--alias:old=new`; repeatable).
    #[arg(long, value_name = "FROM=TO")]
    pub alias: Vec<String>,
    /// Use this tsconfig.json instead of the nearest one.
    #[arg(long, value_name = "FILE")]
    pub tsconfig: Option<Utf8PathBuf>,
    /// Extra package.json export conditions (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub conditions: Vec<String>,
    /// package.json fields to try for a package's entry (comma-separated).
    #[arg(long = "main-fields", value_delimiter = ',', value_name = "A,B")]
    pub main_fields: Option<Vec<String>>,
    /// What to print.
    #[arg(long = "log-level", value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,
    /// Colors in terminal output (`true`/`false`; default: when stderr is a terminal and NO_COLOR is unset).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub color: Option<ColorArg>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorArg {
    True,
    False,
    Always,
    Never,
    Auto,
}

impl CommonArgs {
    /// Absolute entries and the resolution options.
    pub fn project(&self) -> Result<(Vec<Utf8PathBuf>, ProjectOptions)> {
        let cwd = std::env::current_dir().context("reading the working directory")?;
        let cwd = Utf8PathBuf::from_path_buf(cwd)
            .map_err(|p| anyhow::anyhow!("the working directory {} is not UTF-8", p.display()))?;
        let cwd = cwd.canonicalize_utf8().unwrap_or(cwd);
        // Without entries, the workspace config provides entries and defaults for every option.
        let config = if self.entries.is_empty() {
            Some(packem_host::config::load(&cwd).map_err(|e| anyhow::anyhow!("no entry points given and {e}"))?)
        } else {
            None
        };
        let entries = match &config {
            Some(config) => config.entries.clone(),
            None => self.entries.iter().map(|e| absolute(&cwd, e)).collect(),
        };
        let base = config.map(|c| c.options).unwrap_or_default();
        let mut alias = Vec::new();
        for a in &self.alias {
            let Some((from, to)) = a.split_once('=') else { bail!("invalid --alias:{a} (expected --alias:from=to)") };
            if from.is_empty() || to.is_empty() {
                bail!("invalid --alias:{a} (expected --alias:from=to)");
            }
            alias.push((from.to_string(), to.to_string()));
        }
        let mut conditions = base.conditions;
        conditions.extend(self.conditions.iter().filter(|c| !c.is_empty()).cloned());
        let mut external = base.external;
        external.extend(self.external.iter().cloned());
        let mut all_alias = base.alias;
        all_alias.extend(alias);
        let options = ProjectOptions {
            platform: match self.platform {
                Some(PlatformArg::Browser) => Platform::Browser,
                Some(PlatformArg::Node) => Platform::Node,
                Some(PlatformArg::Neutral) => Platform::Neutral,
                None => base.platform,
            },
            conditions,
            alias: all_alias,
            tsconfig: self.tsconfig.as_ref().map(|t| absolute(&cwd, t)).or(base.tsconfig),
            external,
            packages_external: self.packages.map_or(base.packages_external, |p| p == PackagesArg::External),
            main_fields: self.main_fields.clone().or(base.main_fields),
            cwd,
        };
        Ok((entries, options))
    }
}

/// `path` made absolute against `cwd`, with `.` and `..` removed, and symlinks resolved when it
/// exists (the resolver returns real paths, so entries must be real paths too).
pub fn absolute(cwd: &Utf8Path, path: &Utf8Path) -> Utf8PathBuf {
    packem_host::config::normalize(&if path.is_absolute() { path.to_owned() } else { cwd.join(path) })
}

/// Rewrites esbuild's `--flag:value` spellings into `--flag=value` for clap.
pub fn esbuild_style_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|arg| match arg.to_str() {
            Some(s)
                if s.starts_with("--") && !s.contains('=')
                    || s.starts_with("--external:")
                    || s.starts_with("--alias:") =>
            {
                match s.split_once(':') {
                    Some((flag, value)) if !flag.contains('=') => OsString::from(format!("{flag}={value}")),
                    _ => arg,
                }
            }
            _ => arg,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        esbuild_style_args(args.iter().map(OsString::from)).into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn esbuild_colon_flags_become_equals() {
        assert_eq!(
            rewrite(&["packem", "check", "--external:fs", "--alias:a=b", "--platform=node", "src/a:b.js"]),
            ["packem", "check", "--external=fs", "--alias=a=b", "--platform=node", "src/a:b.js"]
        );
    }

    #[test]
    fn absolute_normalizes_dots() {
        assert_eq!(
            absolute(Utf8Path::new("/nonexistent/x"), Utf8Path::new("../y/./z.js")),
            Utf8PathBuf::from("/nonexistent/y/z.js")
        );
    }
}
