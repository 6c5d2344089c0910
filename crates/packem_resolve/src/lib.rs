//! Module resolution for packem: turns an import specifier written in a file into the file to
//! bundle, an external module, an ignored module or a failure.
//!
//! This crate owns the [`resolve`] query and the [`Resolvers`] that hold the `oxc_resolver`
//! instances (outside salsa, one import and one require resolver per distinct
//! [`ProjectOptions`], sharing one cache). It owns the mapping from packem's options to
//! `oxc_resolver` options (conditions, main fields, extensions, aliases, tsconfig), the
//! esbuild-style external rules and the esbuild-style failure messages.
//!
//! **Dependencies and cutoff.** `oxc_resolver` keeps its own cache, so a salsa-aware file system
//! would record reads only on the first call. Instead, [`resolve`] records, after each call, a
//! dependency on the *existence* ([`packem_db::File::status`]) of every path the resolver
//! reported as found or missing, plus the project's options and `resolution_epoch` (which covers
//! `package.json`/`tsconfig.json` edits). It never reads file contents, so editing a source file
//! never re-runs resolution. [`Resolution`] is `Eq`, so a re-run that finds the same answer
//! backdates and the module graph above it is untouched. The host must call
//! [`Resolvers::clear_caches`] whenever a file is created, deleted or renamed, or a config
//! changes.
//!
//! It does not read or parse sources and does not know about the module graph.

mod builtins;
mod options;

use std::path::Path;
use std::sync::{Arc, Mutex};

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{DiagnosticCode, Platform, ProjectOptions};
use rustc_hash::FxHashMap;

pub use builtins::{NODE_BUILTINS, is_builtin};

/// The database interface of the resolution layer.
#[salsa::db]
pub trait Db: packem_db::Db {
    /// The resolver instances (kept outside salsa).
    fn resolvers(&self) -> &Resolvers;
}

/// One resolver per kind for one set of options; all share one cache.
struct Pair {
    import: oxc_resolver::Resolver,
    require: oxc_resolver::Resolver,
    /// The same without `exports` fields, for packages whose `exports` is `null` (see
    /// [`exports_is_null`]).
    import_legacy: oxc_resolver::Resolver,
    require_legacy: oxc_resolver::Resolver,
}

/// Holds `oxc_resolver` instances outside salsa: one import and one require resolver per distinct
/// [`ProjectOptions`], the two sharing one cache.
///
/// Cheap to clone (clones share the resolvers), `Send + Sync`.
#[derive(Clone, Default)]
pub struct Resolvers {
    by_options: Arc<Mutex<FxHashMap<ProjectOptions, Arc<Pair>>>>,
}

impl Resolvers {
    /// Clears every resolver cache.
    ///
    /// The host calls this while holding `&mut db` (so no resolution is in flight) whenever a file
    /// is created, deleted or renamed, or a `package.json`/`tsconfig.json` changes.
    pub fn clear_caches(&self) {
        let map = self.by_options.lock().unwrap_or_else(|e| e.into_inner());
        for pair in map.values() {
            // `require` shares `import`'s cache; clearing it too is harmless.
            pair.import.clear_cache();
            pair.require.clear_cache();
        }
    }

    /// Number of distinct option sets that have resolvers (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.by_options.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no resolver has been built yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn pair(&self, options: &ProjectOptions) -> Arc<Pair> {
        let mut map = self.by_options.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pair) = map.get(options) {
            return pair.clone();
        }
        let import = oxc_resolver::Resolver::new(options::resolve_options(options, ResolveKind::Import));
        let require = import.clone_with_options(options::resolve_options(options, ResolveKind::Require));
        let legacy = |kind| {
            let mut options = options::resolve_options(options, kind);
            options.exports_fields = Vec::new();
            import.clone_with_options(options)
        };
        let (import_legacy, require_legacy) = (legacy(ResolveKind::Import), legacy(ResolveKind::Require));
        let pair = Arc::new(Pair { import, require, import_legacy, require_legacy });
        map.insert(options.clone(), pair.clone());
        pair
    }
}

/// How a specifier is imported; decides the `import`/`require` export condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResolveKind {
    /// ESM `import`, `export ... from` and `import()`.
    Import,
    /// `require()` and `require.resolve()`.
    Require,
}

/// One specifier to resolve, from one directory, under one scope's options (shared by every
/// project with those options, so targets that agree share resolutions).
#[salsa::interned(debug)]
pub struct ResolveRequest<'db> {
    /// The options that apply.
    #[returns(copy)]
    pub scope: packem_db::ResolveScope,
    /// Absolute directory of the importing file.
    #[returns(ref)]
    pub dir: Utf8PathBuf,
    /// The specifier as written in the source.
    #[returns(ref)]
    pub specifier: String,
    /// `import` or `require`.
    #[returns(copy)]
    pub kind: ResolveKind,
}

/// What a specifier resolves to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// A file to bundle (absolute, canonical path as `oxc_resolver` returns it).
    File {
        /// The file.
        path: Utf8PathBuf,
        /// How it was found (best effort).
        via: ResolvedVia,
    },
    /// Left out of the bundle; `path` is what the output should import (e.g. `node:fs`, `react`).
    External {
        /// The import path to keep in the output.
        path: String,
        /// Why it is external.
        reason: ExternalReason,
    },
    /// Mapped to `false` by a package.json `browser` field: bundle an empty module.
    Ignored {
        /// The path that was mapped to `false`.
        path: Utf8PathBuf,
    },
    /// Could not resolve.
    Failed(ResolveFailure),
}

impl Resolution {
    /// The resolved file, if this is [`Resolution::File`].
    pub fn file(&self) -> Option<&Utf8Path> {
        match self {
            Resolution::File { path, .. } => Some(path),
            _ => None,
        }
    }
}

/// Why a module is external.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExternalReason {
    /// A Node.js built-in module on platform node.
    Builtin,
    /// Matched an `--external` pattern.
    Option,
    /// A bare package specifier under `--packages=external`.
    Packages,
}

/// How a file was found. Best effort; used for hover information.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResolvedVia {
    /// A `./` or `../` specifier.
    Relative,
    /// An absolute path specifier.
    Absolute,
    /// A package in `node_modules` (main fields, exports, browser field).
    Package,
    /// An `--alias` entry.
    Alias,
    /// tsconfig `paths` or `baseUrl`.
    TsconfigPaths,
    /// A package.json `imports` entry (`#internal`).
    ImportsField,
    /// `packem:target/NAME`: another target's output.
    Target,
}

/// Why a specifier could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResolveFailure {
    /// [`DiagnosticCode::UnresolvedImport`] or [`DiagnosticCode::InvalidConfig`].
    pub code: DiagnosticCode,
    /// The headline, e.g. `Could not resolve "./missing"`.
    pub message: String,
    /// What to do about it, or further detail from the resolver.
    pub help: Option<String>,
}

impl ResolveFailure {
    fn unresolved(specifier: &str, help: Option<String>) -> Self {
        Self { code: DiagnosticCode::UnresolvedImport, message: format!("Could not resolve \"{specifier}\""), help }
    }
}

/// Resolves `request`. Memoized; depends only on the existence of the paths the resolver probed,
/// the scope's options and its resolution epoch.
#[salsa::tracked(returns(ref))]
pub fn resolve<'db>(db: &'db dyn Db, request: ResolveRequest<'db>) -> Resolution {
    let scope = request.scope(db);
    let options = scope.options(db);
    let _ = scope.epoch(db);
    let dir = request.dir(db);
    let specifier = request.specifier(db);
    let kind = request.kind(db);
    let _span = tracing::debug_span!("resolve", dir = %dir, specifier = %specifier, kind = ?kind).entered();
    let result = resolve_uncached(db, options, dir, specifier, kind);
    tracing::debug!(result = ?result);
    result
}

/// `packem:target/NAME`: the virtual file holding target `NAME`'s output, when the config has
/// such a target.
fn resolve_target(options: &ProjectOptions, specifier: &str, name: &str) -> Resolution {
    if options.targets.iter().any(|target| target == name) {
        return Resolution::File { path: packem_db::files::artifact_path(name), via: ResolvedVia::Target };
    }
    let help = if options.targets.is_empty() {
        "packem:target/NAME imports another target's output; targets come from packem.json's \"targets\".".to_string()
    } else {
        let closest = options.targets.iter().min_by_key(|target| strsim::levenshtein(target, name));
        let known = options.targets.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
        match closest.filter(|target| strsim::levenshtein(target, name) <= name.len().max(3) / 3 + 1) {
            Some(target) => format!("Did you mean \"packem:target/{target}\"? The targets are {known}."),
            None => format!("There is no target \"{name}\" in packem.json (targets: {known})."),
        }
    };
    Resolution::Failed(ResolveFailure::unresolved(specifier, Some(help)))
}

fn resolve_uncached(
    db: &dyn Db,
    options: &ProjectOptions,
    dir: &Utf8Path,
    specifier: &str,
    kind: ResolveKind,
) -> Resolution {
    if specifier.is_empty() {
        return Resolution::Failed(ResolveFailure::unresolved(specifier, Some("The import path is empty.".into())));
    }
    if specifier.contains('\0') {
        return Resolution::Failed(ResolveFailure::unresolved(
            &specifier.replace('\0', "\\0"),
            Some("The import path contains a NUL character.".into()),
        ));
    }
    if let Some(name) = specifier.strip_prefix(packem_db::files::ARTIFACT_PREFIX) {
        return resolve_target(options, specifier, name);
    }
    if !dir.is_absolute() {
        return Resolution::Failed(ResolveFailure::unresolved(
            specifier,
            Some(format!("The importing directory \"{dir}\" is not an absolute path.")),
        ));
    }
    let dir = normalize(dir);

    // Externals are checked before resolving, like esbuild.
    if options.external.iter().any(|pattern| matches_external(pattern, specifier)) {
        return Resolution::External { path: specifier.to_string(), reason: ExternalReason::Option };
    }
    if options.packages_external
        && is_bare(specifier)
        && !options.alias.iter().any(|(key, _)| alias_key_matches(key, specifier))
    {
        if options.platform == Platform::Node && is_builtin(specifier) {
            return Resolution::External { path: specifier.to_string(), reason: ExternalReason::Builtin };
        }
        return Resolution::External { path: specifier.to_string(), reason: ExternalReason::Packages };
    }

    let pair = db.resolvers().pair(options);
    let resolver = match kind {
        ResolveKind::Import => &pair.import,
        ResolveKind::Require => &pair.require,
    };

    // `oxc_resolver` panicking would be a bug there; it must not take the query down with it. No
    // salsa call happens inside, so no cancellation unwind can be caught here.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Auto discovery decides ownership by `include`/`files` and ignores extensionless paths,
        // so ask on behalf of a TypeScript file in the importer's directory: like esbuild, the
        // nearest tsconfig applies to every file below it.
        let tsconfig = resolver.find_tsconfig(dir.join("__packem_importer__.ts").as_std_path())?;
        let mut ctx = oxc_resolver::ResolveContext::default();
        let result = resolver.resolve_with_context(dir.as_std_path(), specifier, tsconfig.as_deref(), &mut ctx);
        Ok::<_, TsconfigError>((tsconfig, result, ctx))
    }));
    let (tsconfig, result, ctx) = match outcome {
        Ok(Ok(parts)) => parts,
        Ok(Err(TsconfigError(err))) => {
            return Resolution::Failed(ResolveFailure {
                code: DiagnosticCode::InvalidConfig,
                message: format!(
                    "Cannot load the tsconfig for \"{}\"",
                    packem_db::diagnostic::display_path(&dir, &options.cwd)
                ),
                help: Some(err.to_string()),
            });
        }
        Err(_) => {
            return Resolution::Failed(ResolveFailure::unresolved(
                specifier,
                Some("The resolver failed unexpectedly (internal error).".into()),
            ));
        }
    };

    record_dependencies(db, &ctx);

    // Node treats `"exports": null` as no `exports` field (`LOAD_PACKAGE_EXPORTS` step 4);
    // oxc_resolver as a package that exports nothing. Ask again without `exports` then.
    let result = match result {
        Err(oxc_resolver::ResolveError::NotFound(_) | oxc_resolver::ResolveError::PackagePathNotExported { .. })
            if is_bare(specifier) && !is_builtin(specifier) && exports_is_null(db, specifier, &dir) =>
        {
            let legacy = match kind {
                ResolveKind::Import => &pair.import_legacy,
                ResolveKind::Require => &pair.require_legacy,
            };
            let retry = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut ctx = oxc_resolver::ResolveContext::default();
                let result = legacy.resolve_with_context(dir.as_std_path(), specifier, tsconfig.as_deref(), &mut ctx);
                (result, ctx)
            }));
            match retry {
                Ok((result, ctx)) => {
                    record_dependencies(db, &ctx);
                    result
                }
                Err(_) => {
                    return Resolution::Failed(ResolveFailure::unresolved(
                        specifier,
                        Some("The resolver failed unexpectedly (internal error).".into()),
                    ));
                }
            }
        }
        result => result,
    };

    match result {
        Ok(resolution) => file_resolution(options, specifier, tsconfig.as_deref(), resolution.path()),
        Err(err) => error_resolution(options, specifier, err),
    }
}

/// What the governing tsconfig.json says about compiling a file (JSX, syntax target,
/// TypeScript emit options), with `extends` already merged by oxc_resolver.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TsconfigCompile {
    /// The tsconfig.json file (the one governing the file; `extends` merged into it).
    pub path: Utf8PathBuf,
    /// `compilerOptions.jsx` (`react`, `react-jsx`, `react-jsxdev`, `preserve`, `react-native`).
    pub jsx: Option<String>,
    /// `compilerOptions.jsxFactory`.
    pub jsx_factory: Option<String>,
    /// `compilerOptions.jsxFragmentFactory`.
    pub jsx_fragment_factory: Option<String>,
    /// `compilerOptions.jsxImportSource`.
    pub jsx_import_source: Option<String>,
    /// `compilerOptions.target`, lowercase (`es2017`, `esnext`).
    pub target: Option<String>,
    /// `verbatimModuleSyntax` or `preserveValueImports`.
    pub verbatim_module_syntax: bool,
    /// `experimentalDecorators`.
    pub experimental_decorators: bool,
    /// `emitDecoratorMetadata`.
    pub emit_decorator_metadata: bool,
}

/// The compile settings of the tsconfig.json that governs `file` (the nearest one above it, or
/// `--tsconfig`), `None` when there is none or it cannot be loaded (resolution reports that).
///
/// Like [`resolve`], depends on the scope's options and resolution epoch, which the host bumps
/// when any tsconfig.json changes or appears.
#[salsa::tracked(returns(ref))]
pub fn tsconfig_compile(db: &dyn Db, scope: packem_db::ResolveScope, file: packem_db::File) -> Option<TsconfigCompile> {
    let options = scope.options(db);
    let _ = scope.epoch(db);
    let path = file.path(db);
    let _span = tracing::debug_span!("tsconfig_compile", path = %path).entered();
    let dir = normalize(path.parent()?);
    let pair = db.resolvers().pair(options);
    let tsconfig = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // As for resolution: ask on behalf of a TypeScript file in the directory, so the nearest
        // tsconfig applies to every file below it (esbuild's rule).
        pair.import.find_tsconfig(dir.join("__packem_importer__.ts").as_std_path())
    }))
    .ok()?
    .ok()??;
    // Editing any file of the `extends` chain must re-run this (and the resolutions that read
    // `paths`): depend on each one's contents, and let the host know it for a config file (see
    // `Workspace::apply_changes`). Chains through packages (`@tsconfig/node18`) live in
    // `node_modules`, whose changes bump the resolution epoch anyway.
    for path in tsconfig_chain(&pair.import, &tsconfig) {
        if let Some(path) = Utf8Path::from_path(&path) {
            let file = db.files().file(db, &normalize(path));
            let _ = (file.status(db), file.revision(db));
        }
    }
    let o = &tsconfig.compiler_options;
    Some(TsconfigCompile {
        path: Utf8PathBuf::from_path_buf(tsconfig.path.clone()).unwrap_or_default(),
        jsx: o.jsx.as_ref().map(|s| s.to_ascii_lowercase()),
        jsx_factory: o.jsx_factory.clone(),
        jsx_fragment_factory: o.jsx_fragment_factory.clone(),
        jsx_import_source: o.jsx_import_source.clone(),
        target: o.target.as_ref().map(|s| s.to_ascii_lowercase()),
        verbatim_module_syntax: o.verbatim_module_syntax == Some(true) || o.preserve_value_imports == Some(true),
        experimental_decorators: o.experimental_decorators == Some(true),
        emit_decorator_metadata: o.emit_decorator_metadata == Some(true),
    })
}

/// The files of a tsconfig's `extends` chain, itself first: relative `extends` entries, followed
/// as oxc_resolver follows them (at most 32, so a cycle cannot loop).
fn tsconfig_chain(resolver: &oxc_resolver::Resolver, tsconfig: &oxc_resolver::TsConfig) -> Vec<std::path::PathBuf> {
    let mut chain = vec![tsconfig.path.clone()];
    let mut next = 0;
    while next < chain.len() && chain.len() < 32 {
        let path = chain[next].clone();
        next += 1;
        let Ok(config) =
            (if next == 1 { Ok(std::sync::Arc::new(tsconfig.clone())) } else { resolver.resolve_tsconfig(&path) })
        else {
            continue;
        };
        let extends = match &config.extends {
            Some(oxc_resolver::ExtendsField::Single(one)) => vec![one.clone()],
            Some(oxc_resolver::ExtendsField::Multiple(many)) => many.clone(),
            None => Vec::new(),
        };
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        for specifier in extends.iter().filter(|s| s.starts_with('.')) {
            let mut target = dir.join(specifier);
            if target.extension().is_none() {
                target.set_extension("json");
            }
            if !chain.contains(&target) {
                chain.push(target);
            }
        }
    }
    chain
}

/// Wraps a tsconfig load error so `?` can tell it from a resolution error.
struct TsconfigError(oxc_resolver::ResolveError);

impl From<oxc_resolver::ResolveError> for TsconfigError {
    fn from(err: oxc_resolver::ResolveError) -> Self {
        Self(err)
    }
}

/// Whether the `package.json` of the package `specifier` names, the nearest one Node's lookup
/// from `dir` finds (`node_modules/<name>/package.json` in `dir` or an ancestor), has
/// `"exports": null` at its top level. Read through the database, so its edits count.
fn exports_is_null(db: &dyn Db, specifier: &str, dir: &Utf8Path) -> bool {
    let mut segments = specifier.split('/');
    let name = match (segments.next(), segments.next()) {
        (Some(scope), Some(name)) if scope.starts_with('@') => format!("{scope}/{name}"),
        (Some(name), _) => name.to_string(),
        _ => return false,
    };
    if name.contains("..") || name.contains('\\') {
        return false;
    }
    // Node's NODE_MODULES_PATHS: no `node_modules/node_modules`.
    for ancestor in dir.ancestors().filter(|a| a.file_name() != Some("node_modules")) {
        let manifest = ancestor.join("node_modules").join(&name).join("package.json");
        let file = db.files().file(db, &manifest);
        if file.status(db) != packem_db::FileStatus::Exists {
            continue;
        }
        let text = packem_db::source_text(db, file);
        return serde_json::from_str::<serde_json::Value>(text.as_str())
            .is_ok_and(|json| json.get("exports").is_some_and(serde_json::Value::is_null));
    }
    false
}

/// Records a dependency on the existence of every path the resolver looked at.
fn record_dependencies(db: &dyn Db, ctx: &oxc_resolver::ResolveContext) {
    let mut paths: Vec<Utf8PathBuf> = ctx
        .file_dependencies
        .iter()
        .chain(&ctx.missing_dependencies)
        .filter_map(|p| Utf8Path::from_path(p))
        .filter(|p| p.is_absolute())
        .map(normalize)
        .collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let _ = db.files().file(db, &path).status(db);
    }
}

fn file_resolution(
    options: &ProjectOptions,
    specifier: &str,
    tsconfig: Option<&oxc_resolver::TsConfig>,
    path: &Path,
) -> Resolution {
    let Some(path) = Utf8Path::from_path(path) else {
        return Resolution::Failed(ResolveFailure::unresolved(
            specifier,
            Some(format!("The resolved path {} is not valid UTF-8.", path.display())),
        ));
    };
    let via = resolved_via(options, specifier, tsconfig, path);
    // A polyfill replaces the file wherever it is imported from.
    let path = options.polyfills.iter().find(|(from, _)| from == path).map_or(path, |(_, to)| to.as_path());
    Resolution::File { path: path.to_owned(), via }
}

fn resolved_via(
    options: &ProjectOptions,
    specifier: &str,
    tsconfig: Option<&oxc_resolver::TsConfig>,
    path: &Utf8Path,
) -> ResolvedVia {
    if specifier.starts_with('.') {
        return ResolvedVia::Relative;
    }
    if specifier.starts_with('/') || Utf8Path::new(specifier).is_absolute() {
        return ResolvedVia::Absolute;
    }
    if specifier.starts_with('#') {
        return ResolvedVia::ImportsField;
    }
    if let Some(tsconfig) = tsconfig {
        let compiler_options = &tsconfig.compiler_options;
        let by_paths = compiler_options
            .paths
            .as_ref()
            .is_some_and(|paths| paths.keys().any(|key| paths_key_matches(key, specifier)));
        let in_node_modules = path.components().any(|c| c.as_str() == "node_modules");
        if by_paths || (compiler_options.base_url.is_some() && !in_node_modules) {
            return ResolvedVia::TsconfigPaths;
        }
    }
    if options.alias.iter().any(|(key, _)| alias_key_matches(key, specifier)) {
        return ResolvedVia::Alias;
    }
    ResolvedVia::Package
}

fn error_resolution(options: &ProjectOptions, specifier: &str, err: oxc_resolver::ResolveError) -> Resolution {
    use oxc_resolver::ResolveError as E;
    match err {
        E::Builtin { resolved, is_runtime_module } => {
            let path = if is_runtime_module {
                resolved
            } else {
                resolved.strip_prefix("node:").map(str::to_string).unwrap_or(resolved)
            };
            Resolution::External { path, reason: ExternalReason::Builtin }
        }
        E::Ignored(path) => match Utf8PathBuf::from_path_buf(path) {
            Ok(path) => Resolution::Ignored { path },
            Err(path) => Resolution::Failed(ResolveFailure::unresolved(
                specifier,
                Some(format!("The ignored path {} is not valid UTF-8.", path.display())),
            )),
        },
        E::NotFound(_) | E::MatchedAliasNotFound(..) | E::ExtensionAlias(..) => {
            Resolution::Failed(ResolveFailure::unresolved(specifier, Some(not_found_help(options, specifier))))
        }
        E::TsconfigNotFound(_)
        | E::TsconfigSelfReference(_)
        | E::TsconfigCircularExtend(_)
        | E::TsconfigLoadFailed { .. }
        | E::Json(_)
        | E::InvalidPackageConfig(_)
        | E::InvalidPackageConfigDefault(_)
        | E::InvalidPackageConfigDirectory(_) => Resolution::Failed(ResolveFailure {
            code: DiagnosticCode::InvalidConfig,
            message: format!("Could not resolve \"{specifier}\""),
            help: Some(config_error_message(&err)),
        }),
        other => Resolution::Failed(ResolveFailure::unresolved(specifier, Some(other.to_string()))),
    }
}

fn config_error_message(err: &oxc_resolver::ResolveError) -> String {
    match err {
        oxc_resolver::ResolveError::Json(json) => {
            format!("Invalid JSON in {}:{}:{}: {}", json.path.display(), json.line, json.column, json.message)
        }
        other => other.to_string(),
    }
}

fn not_found_help(options: &ProjectOptions, specifier: &str) -> String {
    if options.platform != Platform::Node && is_builtin(specifier) {
        let name = specifier.strip_prefix("node:").unwrap_or(specifier);
        return format!(
            "The package \"{name}\" wasn't found on the file system but is built into node. Are you trying to bundle for node? You can use \"--platform=node\" to do that, which will remove this error."
        );
    }
    format!(
        "You can mark the path \"{specifier}\" as external to exclude it from the bundle, which will remove this error."
    )
}

/// Whether `specifier` names a package (not a relative, absolute or `#` import).
pub fn is_bare(specifier: &str) -> bool {
    !(specifier.is_empty()
        || specifier.starts_with('.')
        || specifier.starts_with('/')
        || specifier.starts_with('\\')
        || specifier.starts_with('#')
        || Utf8Path::new(specifier).is_absolute()
        || is_windows_absolute(specifier))
}

fn is_windows_absolute(specifier: &str) -> bool {
    let bytes = specifier.as_bytes();
    bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && matches!(bytes[2], b'/' | b'\\')
}

/// Whether `specifier` matches an `--external` pattern: an exact name also matches its subpaths
/// (`foo` matches `foo/x`), and one `*` matches any run of characters.
pub fn matches_external(pattern: &str, specifier: &str) -> bool {
    if pattern.is_empty() {
        return false;
    }
    if let Some((prefix, suffix)) = pattern.split_once('*') {
        return specifier.len() >= prefix.len() + suffix.len()
            && specifier.starts_with(prefix)
            && specifier.ends_with(suffix);
    }
    specifier == pattern || specifier.strip_prefix(pattern).is_some_and(|rest| rest.starts_with('/'))
}

fn alias_key_matches(key: &str, specifier: &str) -> bool {
    !key.is_empty() && (specifier == key || specifier.strip_prefix(key).is_some_and(|rest| rest.starts_with('/')))
}

fn paths_key_matches(key: &str, specifier: &str) -> bool {
    match key.split_once('*') {
        Some((prefix, suffix)) => {
            specifier.len() >= prefix.len() + suffix.len()
                && specifier.starts_with(prefix)
                && specifier.ends_with(suffix)
        }
        None => key == specifier,
    }
}

pub use packem_db::files::normalize;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_patterns() {
        assert!(matches_external("react", "react"));
        assert!(matches_external("react", "react/jsx-runtime"));
        assert!(!matches_external("react", "react-dom"));
        assert!(matches_external("@scope/*", "@scope/a/b"));
        assert!(matches_external("*.png", "./logo.png"));
        assert!(!matches_external("a*a", "a"));
        assert!(!matches_external("", "x"));
    }

    #[test]
    fn bare_specifiers() {
        assert!(is_bare("react"));
        assert!(is_bare("@scope/pkg"));
        assert!(is_bare("node:fs"));
        assert!(!is_bare("./a"));
        assert!(!is_bare("../a"));
        assert!(!is_bare("/a"));
        assert!(!is_bare("#a"));
        assert!(!is_bare(""));
        assert!(!is_bare("C:\\x"));
    }

    #[test]
    fn resolvers_are_cheap_shared_handles() {
        fn assert_traits<T: Send + Sync + Clone + Default + 'static>() {}
        assert_traits::<Resolvers>();
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize(Utf8Path::new("/a/./b/../c")), Utf8PathBuf::from("/a/c"));
        assert_eq!(normalize(Utf8Path::new("/../a")), Utf8PathBuf::from("/a"));
    }
}
