//! [`Source`]: a file together with the settings it is compiled with, the key of every per-module
//! query.

use std::sync::Arc;

use camino::Utf8PathBuf;
use packem_db::{CompileOptions, File, JsxMode, Loader};

/// How one file is compiled: everything besides its text that changes its AST, and so its
/// imports, exports and code. Resolved per file from the project's [`CompileOptions`] and the
/// nearest tsconfig.json (`packem_graph::module_source` does that).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CompileSettings {
    /// How the file's contents become a module; `None` when no loader is configured for its
    /// extension (importing it is an error).
    pub loader: Option<Loader>,
    /// JSX, after tsconfig and defaults (pragmas in the file still override these).
    pub jsx: JsxSettings,
    /// `--define` replacements (key, JavaScript value), later keys winning.
    pub define: Arc<[(String, String)]>,
    /// The syntax target (`es2017`, `chrome100,node18`); `None` is `esnext` (nothing lowered).
    pub target: Option<Arc<str>>,
    /// Remove `console.*(…)` calls.
    pub drop_console: bool,
    /// Remove `debugger` statements.
    pub drop_debugger: bool,
    /// Remove statements with these labels (sorted).
    pub drop_labels: Arc<[String]>,
    /// `--inject` bindings: a global name and the file (absolute) and export that replace it.
    pub inject: Arc<[InjectBinding]>,
    /// Files imported for their side effects before anything else (the `--inject` files, in
    /// entries only).
    pub prepend_imports: Arc<[Utf8PathBuf]>,
    /// TypeScript settings from tsconfig.json.
    pub typescript: TsSettings,
}

/// Resolved JSX settings of one file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JsxSettings {
    /// Classic, automatic or preserve.
    pub mode: JsxMode,
    /// Classic runtime: the element factory (`React.createElement`).
    pub factory: String,
    /// Classic runtime: the fragment (`React.Fragment`).
    pub fragment: String,
    /// Automatic runtime: where `jsx-runtime` is imported from (`react`).
    pub import_source: String,
    /// Automatic runtime: `jsx-dev-runtime` and `jsxDEV` calls.
    pub development: bool,
}

impl Default for JsxSettings {
    /// esbuild's defaults: the classic runtime with React's names.
    fn default() -> Self {
        Self {
            mode: JsxMode::Classic,
            factory: "React.createElement".into(),
            fragment: "React.Fragment".into(),
            import_source: "react".into(),
            development: false,
        }
    }
}

/// TypeScript compiler options that change emitted JavaScript.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TsSettings {
    /// `verbatimModuleSyntax` (or `preserveValueImports`): only `import type` is removed.
    pub verbatim_module_syntax: bool,
    /// `experimentalDecorators`: legacy decorators.
    pub experimental_decorators: bool,
    /// `emitDecoratorMetadata`.
    pub emit_decorator_metadata: bool,
}

/// One `--inject` replacement: references to the global `name` become the export `export` of
/// `path`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InjectBinding {
    /// The global name replaced (an identifier or a dotted chain such as `process.env`).
    pub name: String,
    /// The injected file, absolute.
    pub path: Utf8PathBuf,
    /// The export of that file (`default` included).
    pub export: String,
}

impl CompileSettings {
    /// The settings of a file that an import attribute loads with `loader` (not a code loader:
    /// nothing else applies).
    pub fn for_loader(path: &camino::Utf8Path, loader: Loader) -> Self {
        Self { loader: Some(loader), ..Self::new(path, &CompileOptions::default()) }
    }

    /// The settings of a file compiled with `options` and no tsconfig: the loader from its
    /// extension, the options' JSX or esbuild's defaults.
    pub fn new(path: &camino::Utf8Path, options: &CompileOptions) -> Self {
        let defaults = JsxSettings::default();
        let jsx = &options.jsx;
        Self {
            loader: options.loader_for_path(path),
            jsx: JsxSettings {
                mode: jsx.mode.unwrap_or(defaults.mode),
                factory: jsx.factory.clone().unwrap_or(defaults.factory),
                fragment: jsx.fragment.clone().unwrap_or(defaults.fragment),
                import_source: jsx.import_source.clone().unwrap_or(defaults.import_source),
                development: jsx.development.unwrap_or(defaults.development),
            },
            define: last_definitions(&options.define).into(),
            target: options.target.as_deref().map(Arc::from),
            drop_console: options.drop_console,
            drop_debugger: options.drop_debugger,
            drop_labels: {
                let mut labels = options.drop_labels.clone();
                labels.sort_unstable();
                labels.dedup();
                labels.into()
            },
            inject: Arc::default(),
            prepend_imports: Arc::default(),
            typescript: TsSettings::default(),
        }
    }
}

/// A file and the settings it is compiled with: the key of every per-module query
/// ([`crate::parsed_module`], [`crate::module_scan`], …). Two projects (or targets) whose
/// settings agree for a file share its parse.
///
/// Interned for good (`revisions = usize::MAX`): there are as many as modules times distinct
/// settings, and an immortal id adds no dependency edge to the queries that read it, so the
/// fact firewall's O(1) verification is kept.
#[salsa::interned(unsafe(no_lifetime), revisions = usize::MAX, debug)]
pub struct Source {
    /// The file.
    #[returns(copy)]
    pub file: File,
    /// How it is compiled.
    #[returns(ref)]
    pub settings: CompileSettings,
}

impl Source {
    /// `file` compiled with default options (its extension's loader, esbuild's JSX defaults), for
    /// callers without a project (tests, tools).
    pub fn plain(db: &dyn packem_db::Db, file: File) -> Source {
        let settings = CompileSettings::new(file.path(db), &CompileOptions::default());
        Source::new(db, file, settings)
    }
}

/// `defines` with only the last definition of each key, in the order of those definitions.
fn last_definitions(defines: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(defines.len());
    for (i, (key, value)) in defines.iter().enumerate() {
        if !defines[i + 1..].iter().any(|(k, _)| k == key) {
            out.push((key.clone(), value.clone()));
        }
    }
    out
}
