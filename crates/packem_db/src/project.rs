//! The project input: what to build and how to resolve it.

use camino::Utf8PathBuf;

/// What the bundle runs on; decides resolution conditions, main fields and built-ins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// Browsers (esbuild's default): `browser` condition and field.
    #[default]
    Browser,
    /// Node.js: `node` condition, built-in modules are external.
    Node,
    /// Neither: no platform condition, no main fields.
    Neutral,
}

impl Platform {
    /// The flag spelling (`browser`, `node`, `neutral`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Browser => "browser",
            Platform::Node => "node",
            Platform::Neutral => "neutral",
        }
    }
}

/// Options that affect resolution and the module graph. Equal options mean equal results.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProjectOptions {
    /// Directory relative paths (entries, tsconfig, alias targets) are taken from.
    pub cwd: Utf8PathBuf,
    /// The target platform.
    pub platform: Platform,
    /// Extra export conditions (esbuild's `--conditions`).
    pub conditions: Vec<String>,
    /// Package aliases `from → to` (esbuild's `--alias:from=to`).
    pub alias: Vec<(String, String)>,
    /// An explicit tsconfig file; otherwise the nearest `tsconfig.json` is used.
    pub tsconfig: Option<Utf8PathBuf>,
    /// Modules to leave external (exact names, package subpaths, one `*` wildcard).
    pub external: Vec<String>,
    /// Whether every bare package import is external (`--packages=external`).
    pub packages_external: bool,
    /// Main fields overriding the platform's default order.
    pub main_fields: Option<Vec<String>>,
    /// File replacements `from → to` (absolute paths; `--polyfill:FROM=TO`, the config's
    /// `polyfills`): wherever an import resolves to `from`, it gets `to` instead.
    pub polyfills: Vec<(Utf8PathBuf, Utf8PathBuf)>,
    /// The targets whose output a `packem:target/NAME` import may embed (packem.json's target
    /// names; empty without one).
    pub targets: Vec<String>,
}

/// Linking options.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LinkOptions {
    /// Drop code nothing uses (`--tree-shaking`, on by default as in esbuild's bundles).
    pub tree_shaking: bool,
    /// Ignore `/* @__PURE__ */` and `/* #__NO_SIDE_EFFECTS__ */` and package.json `sideEffects`
    /// (`--ignore-annotations`).
    pub ignore_annotations: bool,
    /// Code splitting (`--splitting`, ESM output): entries and `import()` targets are split
    /// points, and code that several of them reach goes to shared chunks.
    pub splitting: bool,
    /// Minification (`--minify` and its three parts). A link option because short top-level
    /// names are chosen by linking; renders read it from here too.
    pub minify: Minify,
    /// `--keep-names`: renamed functions and classes keep their original `name` (renders add
    /// `__name(…)`; minified nested names of functions and classes are left alone).
    pub keep_names: bool,
}

impl Default for LinkOptions {
    fn default() -> Self {
        Self {
            tree_shaking: true,
            ignore_annotations: false,
            splitting: false,
            minify: Minify::default(),
            keep_names: false,
        }
    }
}

/// What `--minify` turns on, each part on its own as esbuild's flags do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Minify {
    /// `--minify-whitespace`: no indentation, spaces or comments beyond what the syntax needs.
    pub whitespace: bool,
    /// `--minify-syntax`: shorter equivalent syntax, constant folding and dead code removal
    /// inside each module (oxc's compressor).
    pub syntax: bool,
    /// `--minify-identifiers`: short top-level names chosen by linking (most used first) and
    /// short local names per module (oxc's mangler).
    pub identifiers: bool,
}

impl Minify {
    /// All three parts (`--minify`).
    pub const ALL: Minify = Minify { whitespace: true, syntax: true, identifiers: true };

    /// Whether any part is on.
    pub fn any(self) -> bool {
        self.whitespace || self.syntax || self.identifiers
    }
}

/// How imports resolve: one [`ProjectOptions`] value and its epoch. The host makes one scope per
/// distinct options value and hands it to every project (target) with those options, so
/// resolutions (keyed by scope, not by project) are shared between targets that agree.
#[salsa::input(debug)]
pub struct ResolveScope {
    /// Resolution options.
    #[returns(ref)]
    pub options: ProjectOptions,
    /// Bumped by the host when a `package.json`/`tsconfig.json` or a directory changes: oxc_resolver
    /// reports those reads only the first time it caches them, so every resolution depends on this.
    #[returns(copy)]
    pub epoch: u64,
}

/// The project being built: its entries and options. One per build target; targets share one
/// database, and the per-module queries are keyed by what decides their result (a
/// [`ResolveScope`] for resolution, a module's compile settings for parsing), never by the
/// project, so targets whose options agree share them.
#[salsa::input(debug)]
pub struct Project {
    /// Entry files, absolute.
    #[returns(ref)]
    pub entries: Vec<Utf8PathBuf>,
    /// Resolution options, shared with every project that has the same ones.
    #[returns(copy)]
    pub scope: ResolveScope,
    /// How files compile (loaders, JSX, define, target); read by each module's compile settings,
    /// never by resolution.
    #[returns(ref)]
    pub compile: crate::CompileOptions,
    /// How modules are linked (tree shaking); read only by linking.
    #[returns(ref)]
    pub link: LinkOptions,
}

impl Project {
    /// The project's resolution options (its scope's).
    pub fn options(self, db: &dyn salsa::Database) -> &ProjectOptions {
        self.scope(db).options(db)
    }
}
