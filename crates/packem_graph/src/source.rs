//! `module_source`: the [`Source`] (file plus compile settings) a project compiles a file as.

use std::sync::Arc;

use packem_db::{CompileOptions, File, JsxMode, Loader, Platform, Project, is_identifier_chain};
use packem_parse::{CompileSettings, InjectBinding, JsxSettings, Source, module_summary};
use packem_resolve::tsconfig_compile;

/// The [`Source`] of `file` in `project` as the project-wide queries and renders see it: the
/// host's [`SourceCell`] copy when it made one, else [`derived_source`].
///
/// The firewall again (see `packem_parse`'s "fact firewall"): [`derived_source`] reads the
/// file's text (a define applies only to files that mention it), so once the file is edited it
/// is LOW durability, and the graph, which reads every module's source, would be too. The host
/// copies each module's source into a MEDIUM cell and re-derives it after every change, setting
/// the cell only when it differs: a body edit that mentions no new defined name sets nothing.
#[salsa::tracked(returns(copy))]
pub fn module_source(db: &dyn packem_resolve::Db, project: Project, file: File) -> Source {
    match SourceCells::try_get(db).and_then(|cells| cells.cells(db).get(&(project, file)).copied()) {
        Some(cell) => cell.source(db),
        None => derived_source(db, project, file),
    }
}

/// The host's copy of one file's [`derived_source`] (MEDIUM durability, set only when it differs).
#[salsa::input(debug)]
pub struct SourceCell {
    /// Equal to `derived_source(project, file)` once synced.
    #[returns(copy)]
    pub source: Source,
}

/// Every [`SourceCell`] the host made, by project and file.
#[salsa::input(singleton, debug)]
pub struct SourceCells {
    /// The cells.
    #[returns(ref)]
    pub cells: Arc<rustc_hash::FxHashMap<(Project, File), SourceCell>>,
}

/// How `project` compiles `file`: the project's compile options, then the nearest tsconfig.json
/// where an option was not given (JSX, target, TypeScript emit), then esbuild's defaults; for
/// the browser platform `process.env.NODE_ENV` is defined as `"development"` unless the user
/// defined it (esbuild's default without `--minify`). Entries get the
/// `--inject` files as leading imports; every other file gets their exports as replacements of
/// matching globals.
///
/// Only what can change the file goes into its settings, so that changing an option recompiles
/// exactly the files it affects: JSX settings only for files whose loader parses JSX, defines
/// and `--inject` names only for files whose text mentions the name (a superset of the files
/// that reference it: a mention in a comment costs a recompile, never a wrong result).
/// The `Source` is interned, so equal settings give the same key.
#[salsa::tracked(returns(copy))]
pub fn derived_source(db: &dyn packem_resolve::Db, project: Project, file: File) -> Source {
    let options = project.compile(db);
    let path = file.path(db);
    // Another target's output (`packem:target/NAME`) is text unless an attribute says otherwise.
    let loader = if packem_db::files::is_artifact_path(path) {
        Some(Loader::Text)
    } else if packem_db::context::is_context_path(path) {
        // A context module is generated JavaScript.
        Some(Loader::Js)
    } else {
        options.loader_for_path(path)
    };
    if !loader.is_some_and(Loader::is_code) {
        // JSON, assets and files without a loader: no option but the loader changes them.
        let defaults = CompileSettings::new(path, &CompileOptions::default());
        return Source::new(db, file, CompileSettings { loader, ..defaults });
    }
    let mut settings = CompileSettings::new(path, options);
    // The loader decided above (a context module's path has no extension to go by).
    settings.loader = loader;
    if let Some(ts) = tsconfig_compile(db, project.scope(db), file) {
        let jsx = &options.jsx;
        if jsx.mode.is_none()
            && let Some(mode) = ts.jsx.as_deref()
        {
            match mode {
                "react" => settings.jsx.mode = JsxMode::Classic,
                "react-jsx" => settings.jsx.mode = JsxMode::Automatic,
                "react-jsxdev" => {
                    settings.jsx.mode = JsxMode::Automatic;
                    if jsx.development.is_none() {
                        settings.jsx.development = true;
                    }
                }
                "preserve" | "react-native" => settings.jsx.mode = JsxMode::Preserve,
                _ => {}
            }
        }
        if jsx.factory.is_none()
            && let Some(factory) = &ts.jsx_factory
        {
            settings.jsx.factory = factory.clone();
        }
        if jsx.fragment.is_none()
            && let Some(fragment) = &ts.jsx_fragment_factory
        {
            settings.jsx.fragment = fragment.clone();
        }
        if jsx.import_source.is_none()
            && let Some(source) = &ts.jsx_import_source
        {
            settings.jsx.import_source = source.clone();
        }
        // A target oxc cannot lower to (`es3`) is ignored, with one warning per tsconfig.json
        // (`graph_diagnostics`).
        if options.target.is_none()
            && let Some(target) = &ts.target
            && target != "esnext"
            && packem_parse::check_target(target).is_ok()
        {
            settings.target = Some(Arc::from(target.as_str()));
        }
        settings.typescript.verbatim_module_syntax = ts.verbatim_module_syntax;
        settings.typescript.experimental_decorators = ts.experimental_decorators;
        settings.typescript.emit_decorator_metadata = ts.emit_decorator_metadata;
    }
    if !matches!(loader, Some(Loader::Jsx | Loader::Tsx)) {
        settings.jsx = JsxSettings::default();
    }
    if project.options(db).platform == Platform::Browser
        && !options.define.iter().any(|(key, _)| key == "process.env.NODE_ENV")
    {
        // esbuild's default without minification (with it, "production"; packem cannot minify yet).
        let mut define = settings.define.to_vec();
        define.push(("process.env.NODE_ENV".to_string(), "\"development\"".to_string()));
        settings.define = define.into();
    }
    // The text is read only when an option depends on it, so that without defines or injects
    // an edit leaves this query's inputs alone.
    if settings.define.is_empty() && options.inject.is_empty() {
        return Source::new(db, file, settings);
    }
    let roots: Vec<&str> = settings.define.iter().map(|(key, _)| mention_root(key)).collect();
    let found = packem_db::files::text_mentions(db, file, &roots);
    let mentioned: Vec<(String, String)> =
        settings.define.iter().zip(found).filter(|(_, found)| *found).map(|(define, _)| define.clone()).collect();
    settings.define = mentioned.into();
    if !options.inject.is_empty() && !options.inject.iter().any(|i| i == path) {
        if project.entries(db).iter().any(|e| e == path) {
            settings.prepend_imports = options.inject.iter().cloned().collect();
        }
        let mut candidates = Vec::new();
        for injected in &options.inject {
            let injected_file = db.files().file(db, injected);
            let summary = module_summary(db, module_source(db, project, injected_file));
            for export in &summary.exports {
                if export != "default" && is_identifier_chain(export) {
                    candidates.push(InjectBinding {
                        name: export.clone(),
                        path: injected.clone(),
                        export: export.clone(),
                    });
                }
            }
        }
        let roots: Vec<&str> = candidates.iter().map(|binding| mention_root(&binding.name)).collect();
        let found = packem_db::files::text_mentions(db, file, &roots);
        let inject: Vec<InjectBinding> =
            candidates.into_iter().zip(found).filter(|(_, found)| *found).map(|(binding, _)| binding).collect();
        settings.inject = inject.into();
    }
    Source::new(db, file, settings)
}

/// What a text must contain to possibly reference `key`: its root (`process` for
/// `process.env.NODE_ENV`, `import.meta` for `import.meta.env.X`).
fn mention_root(key: &str) -> &str {
    if key.starts_with("import.meta") { "import.meta" } else { key.split('.').next().unwrap_or(key) }
}
