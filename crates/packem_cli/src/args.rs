//! Command-line arguments, spelled like esbuild's (`--platform=node`, `--external:fs`,
//! `--alias:a=b`, `--log-level=warning`).

use std::ffi::OsString;

use anyhow::{Context as _, Result, bail};
use camino::{Utf8Path, Utf8PathBuf};
use clap::{Args, Parser, Subcommand, ValueEnum};
use packem_db::{CompileOptions, JsxMode, JsxOptions, Platform, ProjectOptions};

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
    /// Bundle the entries into runnable output files (without entries: every target of
    /// `packem.json`, or those `--only` names).
    // A flag given twice takes its last value: a target's settings come first as flags, the
    // command line's own after them.
    #[command(args_override_self = true)]
    Build(BuildArgs),
    /// `build --watch`.
    #[command(args_override_self = true)]
    Watch(BuildArgs),
    /// Run the language server on stdin/stdout (entries from `packem.json` at the workspace root).
    Lsp,
    /// Inspect or remove the persistent cache.
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// `packem cache …`.
#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Print where the cache is, its size, entries and age.
    Info(CacheArgs),
    /// Remove the cache.
    Clean(CacheArgs),
}

/// Where the cache is (`packem cache info|clean`).
#[derive(Args, Debug)]
pub struct CacheArgs {
    /// The cache directory (default: node_modules/.cache/packem in the nearest directory up that
    /// has a package.json, else under the temporary directory).
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<Utf8PathBuf>,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Output directory (one file per entry).
    #[arg(long, value_name = "DIR", conflicts_with = "outfile")]
    pub outdir: Option<Utf8PathBuf>,
    /// Output file (a single entry).
    #[arg(long, value_name = "FILE")]
    pub outfile: Option<Utf8PathBuf>,
    /// Output format. Default: what runs as written on the platform: `iife` for browser, `esm`
    /// for neutral; for node, `esm` when the output is `.mjs` or its package.json says
    /// `"type": "module"`, else `cjs` (`.cjs` outputs are always `cjs`).
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Text to put before each output (`--banner:js=...`).
    #[arg(long, value_name = "js=TEXT")]
    pub banner: Vec<String>,
    /// Text to put after each output (`--footer:js=...`).
    #[arg(long, value_name = "js=TEXT")]
    pub footer: Vec<String>,
    /// The extension of outputs (`--out-extension:.js=.mjs`).
    #[arg(long = "out-extension", value_name = ".js=.EXT")]
    pub out_extension: Vec<String>,
    /// The directory entry paths are taken relative to under `--outdir` (default: their common directory).
    #[arg(long, value_name = "DIR")]
    pub outbase: Option<Utf8PathBuf>,
    /// How entry outputs are named under `--outdir` (`[dir]`, `[name]`, `[hash]`; default `[dir]/[name]`).
    #[arg(long = "entry-names", value_name = "TEMPLATE")]
    pub entry_names: Option<String>,
    /// Code splitting (ESM output, with `--outdir`): entries and `import()` targets become
    /// chunks, and code several of them reach is loaded once from shared chunks.
    #[arg(long)]
    pub splitting: bool,
    /// How chunks other than the entries' are named (`[dir]`, `[name]`, `[hash]`; default
    /// `[name]-[hash]`; shared chunks are named `chunk`).
    #[arg(long = "chunk-names", value_name = "TEMPLATE")]
    pub chunk_names: Option<String>,
    /// With `--splitting`: split a chunk's modules into files of at most this many bytes
    /// (where modules allow), so that an edit rewrites one of them.
    #[arg(long = "max-chunk-size", value_name = "BYTES")]
    pub max_chunk_size: Option<u64>,
    /// Legal comments (`/*! … */`, `@license`, `@preserve`): `none`, `inline`, `eof` (the
    /// default), or in `<output>.LEGAL.txt` named by a comment (`linked`) or not (`external`).
    #[arg(long = "legal-comments", value_enum, value_name = "WHERE")]
    pub legal_comments: Option<LegalCommentsArg>,
    /// Output charset. packem always writes UTF-8 (`utf8`); ASCII escaping is not supported.
    #[arg(long, value_enum, value_name = "utf8")]
    pub charset: Option<CharsetArg>,
    /// Keep the `name` of functions and classes that renaming would change.
    #[arg(long = "keep-names")]
    pub keep_names: bool,
    /// Minify: `--minify-whitespace`, `--minify-syntax` and `--minify-identifiers` together.
    #[arg(long)]
    pub minify: bool,
    /// Leave out whitespace and comments the syntax does not need.
    #[arg(long = "minify-whitespace")]
    pub minify_whitespace: bool,
    /// Rewrite code into shorter equivalent syntax (constant folding, dead branches).
    #[arg(long = "minify-syntax")]
    pub minify_syntax: bool,
    /// Give top-level and local variables short names.
    #[arg(long = "minify-identifiers")]
    pub minify_identifiers: bool,
    /// Source maps: a `.map` file named by a comment (`--sourcemap`, `linked`), in the comment
    /// (`inline`), a file without comment (`external`), or both a file and inline (`both`).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "linked", value_name = "HOW")]
    pub sourcemap: Option<SourceMapArg>,
    /// Whether source maps hold the sources' text (`sourcesContent`; default true).
    #[arg(long = "sources-content", value_name = "BOOL", action = clap::ArgAction::Set)]
    pub sources_content: Option<bool>,
    /// The source map's `sourceRoot`.
    #[arg(long = "source-root", value_name = "URL")]
    pub source_root: Option<String>,
    /// Rename properties whose names match this regular expression (Rust `regex` syntax, e.g.
    /// `_$`) to short names, consistently across the bundle.
    #[arg(long = "mangle-props", value_name = "REGEX")]
    pub mangle_props: Option<String>,
    /// With `--mangle-props`: keep the matching properties that also match this.
    #[arg(long = "reserve-props", value_name = "REGEX")]
    pub reserve_props: Option<String>,
    /// With `--mangle-props`: rename quoted property names (`o["_x"]`, `{ "_x": 1 }`) too.
    #[arg(long = "mangle-quoted")]
    pub mangle_quoted: bool,
    /// Write TypeScript declaration files (`.d.ts`) next to the outputs: one per entry (named
    /// after its output) and one per project module, from type annotations (isolated declarations).
    #[arg(long)]
    pub declarations: bool,
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
    /// Build only these targets of `packem.json` (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAME,NAME")]
    pub only: Vec<String>,
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
pub enum SourceMapArg {
    Linked,
    Inline,
    External,
    Both,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegalCommentsArg {
    None,
    Inline,
    Eof,
    Linked,
    External,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharsetArg {
    Utf8,
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
    /// Replace a project file with another wherever it is imported
    /// (`--polyfill:src/deno-fs.ts=src/browser-fs.ts`; repeatable).
    #[arg(long, value_name = "FROM=TO")]
    pub polyfill: Vec<String>,
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
    /// How many errors and warnings to print (0: all).
    #[arg(long = "log-limit", value_name = "N", default_value_t = 6)]
    pub log_limit: usize,
    /// The persistent cache's directory (default: node_modules/.cache/packem in the nearest
    /// directory up that has a package.json, else under the temporary directory). Results of
    /// earlier runs are kept there, keyed by content and options.
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<Utf8PathBuf>,
    /// Neither read nor write the persistent cache.
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    #[command(flatten)]
    pub compile: CompileArgs,
    /// The config file's compile options, when entries came from it (set by `project`).
    #[arg(skip)]
    pub config_compile: Option<CompileOptions>,
}

/// Flags that change how files compile (shared by `build`, `check` and `graph`).
#[derive(Args, Debug, Default)]
pub struct CompileArgs {
    /// JSX: `automatic` (`react/jsx-runtime`), `transform` (`React.createElement`, the default)
    /// or `preserve`. Default: tsconfig.json's `jsx`, else `transform`.
    #[arg(long, value_enum, value_name = "MODE")]
    pub jsx: Option<JsxArg>,
    /// Where the automatic runtime is imported from (default `react`, or tsconfig's `jsxImportSource`).
    #[arg(long = "jsx-import-source", value_name = "MODULE")]
    pub jsx_import_source: Option<String>,
    /// The classic runtime's element factory (default `React.createElement`).
    #[arg(long = "jsx-factory", value_name = "EXPR")]
    pub jsx_factory: Option<String>,
    /// The classic runtime's fragment (default `React.Fragment`).
    #[arg(long = "jsx-fragment", value_name = "EXPR")]
    pub jsx_fragment: Option<String>,
    /// Use the automatic runtime's development variant (`react/jsx-dev-runtime`).
    #[arg(long = "jsx-dev")]
    pub jsx_dev: bool,
    /// Replace a global name or member chain with a constant (`--define:process.env.NODE_ENV='"production"'`;
    /// values are JSON or identifiers; repeatable).
    #[arg(long, value_name = "K=V")]
    pub define: Vec<String>,
    /// The loader for an extension (`--loader:.png=file`; js jsx ts tsx json text base64 dataurl binary file copy empty).
    #[arg(long, value_name = ".EXT=NAME")]
    pub loader: Vec<String>,
    /// The syntax target: `es2017` … `esnext`, engines such as `chrome100,node18` (comma-separated).
    /// Default: tsconfig.json's `target`, else `esnext`.
    #[arg(long, value_name = "TARGETS", value_delimiter = ',')]
    pub target: Vec<String>,
    /// Remove `console.*` calls or `debugger` statements (`--drop:console`; repeatable).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub drop: Vec<DropArg>,
    /// Remove the statements with these labels (`--drop-labels=DEV,TEST`).
    #[arg(long = "drop-labels", value_name = "LABELS", value_delimiter = ',')]
    pub drop_labels: Vec<String>,
    /// Import this file into every entry; its exports replace the global names they match (repeatable).
    #[arg(long, value_name = "FILE")]
    pub inject: Vec<Utf8PathBuf>,
    /// How `file`/`copy` assets are named in the output directory (`[name]`, `[hash]`, `[dir]`, `[ext]`).
    #[arg(long = "asset-names", value_name = "TEMPLATE")]
    pub asset_names: Option<String>,
    /// Prefix for the paths of `file`/`copy` assets in the code (a URL such as `https://cdn.example.com/`).
    #[arg(long = "public-path", value_name = "URL")]
    pub public_path: Option<String>,
    /// Drop code nothing uses (on by default; `false` keeps every statement of every module).
    #[arg(long = "tree-shaking", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tree_shaking: Option<bool>,
    /// Ignore `/* @__PURE__ */`, `/* #__NO_SIDE_EFFECTS__ */` and package.json `sideEffects`
    /// when tree shaking.
    #[arg(long = "ignore-annotations")]
    pub ignore_annotations: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsxArg {
    /// `jsx()` calls from `<import source>/jsx-runtime`.
    Automatic,
    /// `React.createElement` calls (the classic runtime).
    Transform,
    /// Leave JSX as written.
    Preserve,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropArg {
    Console,
    Debugger,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorArg {
    True,
    False,
    Always,
    Never,
    Auto,
}

/// One target's name, entries, resolution options and compile options ([`CommonArgs::targets`]).
pub type TargetOptions = (String, Vec<Utf8PathBuf>, ProjectOptions, CompileOptions);

impl CommonArgs {
    /// The link options of these flags (tree shaking).
    pub fn link_options(&self) -> packem_db::LinkOptions {
        packem_db::LinkOptions {
            tree_shaking: self.compile.tree_shaking.unwrap_or(true),
            ignore_annotations: self.compile.ignore_annotations,
            ..packem_db::LinkOptions::default()
        }
    }

    /// The compile options of these flags (`base` from the config file), validated: an unknown
    /// loader, a malformed define or an invalid target is an error here, before anything runs.
    pub fn compile_options(&self, cwd: &Utf8Path, entries: &[Utf8PathBuf]) -> Result<CompileOptions> {
        let c = &self.compile;
        let mut options = self.config_compile.clone().unwrap_or_default();
        let base = options.jsx.clone();
        options.jsx = JsxOptions {
            mode: c
                .jsx
                .map(|m| match m {
                    JsxArg::Automatic => JsxMode::Automatic,
                    JsxArg::Transform => JsxMode::Classic,
                    JsxArg::Preserve => JsxMode::Preserve,
                })
                .or(base.mode),
            factory: c.jsx_factory.clone().or(base.factory),
            fragment: c.jsx_fragment.clone().or(base.fragment),
            import_source: c.jsx_import_source.clone().or(base.import_source),
            development: c.jsx_dev.then_some(true).or(base.development),
        };
        for define in &c.define {
            options.define.push(parse_define(define)?);
        }
        for loader in &c.loader {
            let Some((ext, name)) = loader.split_once('=') else {
                bail!("invalid --loader:{loader} (expected --loader:.ext=NAME)");
            };
            let parsed = packem_db::parse_loader(ext, name)
                .map_err(|why| anyhow::anyhow!("invalid --loader:{loader}: {why}"))?;
            options.loaders.push(parsed);
        }
        if !c.target.is_empty() {
            let target = c.target.iter().map(|t| t.trim().to_ascii_lowercase()).collect::<Vec<_>>().join(",");
            if let Err(message) = packem_parse::check_target(&target) {
                bail!(
                    "invalid --target={target}: {message} (expected es2017…esnext, or engines such as chrome100,node18)"
                );
            }
            options.target = Some(target);
        }
        options.drop_console |= c.drop.contains(&DropArg::Console);
        options.drop_debugger |= c.drop.contains(&DropArg::Debugger);
        options.drop_labels.extend(c.drop_labels.iter().filter(|l| !l.is_empty()).cloned());
        options.inject.extend(c.inject.iter().map(|i| absolute(cwd, i)));
        for inject in &options.inject {
            if !inject.is_file() {
                bail!("could not read --inject:{inject}: no such file");
            }
        }
        if let Some(names) = &c.asset_names {
            if names.is_empty() || names.contains("..") || names.starts_with(['/', '\\']) {
                bail!(
                    "invalid --asset-names={names}: the template must be a relative path inside the output directory"
                );
            }
            options.assets.names = names.clone();
        }
        if let Some(public) = &c.public_path {
            options.assets.prefix = public.clone();
        }
        options.assets.outbase = packem_host::config::common_dir(entries);
        Ok(options)
    }

    /// Absolute entries and the resolution options (and, when they come from the config file,
    /// its compile options, which [`CommonArgs::compile_options`] then starts from).
    pub fn project(&mut self) -> Result<(Vec<Utf8PathBuf>, ProjectOptions)> {
        let cwd = working_directory()?;
        // Without entries, the workspace config provides entries and defaults for every option.
        let config = if self.entries.is_empty() {
            Some(packem_host::config::load(&cwd).map_err(|e| anyhow::anyhow!("no entry points given and {e}"))?)
        } else {
            None
        };
        self.project_from(cwd, config)
    }

    /// Without entries on the command line: every target of the workspace config that has
    /// entries (`packem.json`'s, else `package.json`'s one), each with the command line's
    /// options over its own, as `(name, entries, options, compile options)`. With entries: the
    /// one project they make, named `default`.
    pub fn targets(&mut self) -> Result<Vec<TargetOptions>> {
        let cwd = working_directory()?;
        let configs: Vec<(String, Option<packem_host::config::WorkspaceConfig>)> = if self.entries.is_empty() {
            packem_host::config::load_targets(&cwd)
                .map_err(|e| anyhow::anyhow!("no entry points given and {e}"))?
                .into_iter()
                .map(|(name, config)| (name, Some(config)))
                .collect()
        } else {
            vec![("default".to_string(), None)]
        };
        let mut out = Vec::with_capacity(configs.len());
        for (name, config) in configs {
            let (entries, options) = self.project_from(cwd.clone(), config)?;
            let compile = self.compile_options(&options.cwd, &entries)?;
            out.push((name, entries, options, compile));
        }
        Ok(out)
    }

    /// [`CommonArgs::project`] on a config already read (`None`: the command line's entries).
    fn project_from(
        &mut self,
        cwd: Utf8PathBuf,
        config: Option<packem_host::config::WorkspaceConfig>,
    ) -> Result<(Vec<Utf8PathBuf>, ProjectOptions)> {
        let entries = match &config {
            Some(config) => config.entries.clone(),
            None => self.entries.iter().map(|e| absolute(&cwd, e)).collect(),
        };
        self.config_compile = config.as_ref().map(|c| c.compile.clone());
        let base = config.map(|c| c.options).unwrap_or_default();
        let mut alias = Vec::new();
        for a in &self.alias {
            let Some((from, to)) = a.split_once('=') else { bail!("invalid --alias:{a} (expected --alias:from=to)") };
            if from.is_empty() || to.is_empty() {
                bail!("invalid --alias:{a} (expected --alias:from=to)");
            }
            alias.push((from.to_string(), to.to_string()));
        }
        let mut polyfills = base.polyfills;
        for p in &self.polyfill {
            let Some((from, to)) = p.split_once('=').filter(|(f, t)| !f.is_empty() && !t.is_empty()) else {
                bail!("invalid --polyfill:{p} (expected --polyfill:FROM=TO)")
            };
            let (from, to) = (absolute(&cwd, Utf8Path::new(from)), absolute(&cwd, Utf8Path::new(to)));
            for file in [&from, &to] {
                if !file.is_file() {
                    bail!("invalid --polyfill:{p}: {file} is not a file");
                }
            }
            polyfills.retain(|(f, _)| f != &from);
            polyfills.push((from, to));
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
            polyfills,
            targets: base.targets,
            cwd,
        };
        Ok((entries, options))
    }
}

/// The working directory, symlinks resolved.
pub fn working_directory() -> Result<Utf8PathBuf> {
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let cwd = Utf8PathBuf::from_path_buf(cwd)
        .map_err(|p| anyhow::anyhow!("the working directory {} is not UTF-8", p.display()))?;
    Ok(cwd.canonicalize_utf8().unwrap_or(cwd))
}

/// `path` made absolute against `cwd`, with `.` and `..` removed, and symlinks resolved when it
/// exists (the resolver returns real paths, so entries must be real paths too).
pub fn absolute(cwd: &Utf8Path, path: &Utf8Path) -> Utf8PathBuf {
    packem_host::config::normalize(&if path.is_absolute() { path.to_owned() } else { cwd.join(path) })
}

/// `--define:K=V`'s `K=V`, checked as esbuild checks it.
fn parse_define(define: &str) -> Result<(String, String)> {
    let Some((key, value)) = define.split_once('=') else {
        bail!("invalid --define:{define} (expected --define:NAME=VALUE)");
    };
    packem_db::check_define(key, value).map_err(|why| anyhow::anyhow!("invalid --define:{define}: {why}"))?;
    Ok((key.to_string(), value.to_string()))
}

/// Rewrites esbuild's `--flag:value` spellings (`--external:fs`, `--define:K=V`,
/// `--loader:.png=file`, `--banner:js=…`) into `--flag=value` for clap: the first `:` becomes
/// `=` when it comes before any `=`.
pub fn esbuild_style_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|arg| match arg.to_str() {
            Some(s) if s.starts_with("--") => match (s.find(':'), s.find('=')) {
                (Some(colon), equals) if equals.is_none_or(|e| colon < e) => {
                    OsString::from(format!("{}={}", &s[..colon], &s[colon + 1..]))
                }
                _ => arg,
            },
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
