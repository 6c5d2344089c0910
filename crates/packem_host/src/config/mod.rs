//! The workspace configuration every front end reads: `packem.json` at the root, falling back
//! to `package.json`'s `main`/`module`/`exports["."]`/`bin` for entries.
//!
//! `packem.json` ([`schema::TargetConfig`], `packem.schema.json` for editors) holds top-level
//! defaults and, optionally, `targets`, each with a `name`, layered on the top level and on the
//! target it `extends`:
//! ```json
//! {
//!   "$schema": "./node_modules/packem/packem.schema.json",
//!   "entries": ["src/index.ts"],
//!   "platform": "node",
//!   "targets": [
//!     { "name": "node-esm", "format": "esm", "outdir": "dist/esm" },
//!     { "name": "node-cjs", "extends": "node-esm", "format": "cjs", "outdir": "dist/cjs" },
//!     { "name": "browser", "extends": "node-esm", "platform": "browser", "outdir": "dist/browser",
//!       "alias": { "node:fs": "./src/shims/fs.ts" } }
//!   ]
//! }
//! ```
//! Every key means what the command-line flag of the same name means, so `packem check`,
//! `packem build` and the language server compile a project alike; an unknown key or a wrong
//! type is an error with the file, line and key ([`targets::read`]). `check`, `graph` and the
//! language server read the first target.
#![allow(clippy::disallowed_methods)] // the config reader owns reading packem.json and package.json (see clippy.toml)

pub mod schema;
pub mod targets;

pub use schema::TargetConfig;
pub use targets::{ConfigError, ConfigFile, ResolvedTarget, read};

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{CompileOptions, JsxMode, Platform, ProjectOptions};
use schema::{DropName, JsxName, PackagesName, PlatformName};
use serde_json::Value;

/// Entries and options read from a workspace root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceConfig {
    /// Absolute entry paths.
    pub entries: Vec<Utf8PathBuf>,
    /// Resolution options (`cwd` is the root).
    pub options: ProjectOptions,
    /// Compile options (JSX, define, loaders, target).
    pub compile: CompileOptions,
    /// The file the configuration came from.
    pub source: Utf8PathBuf,
}

/// Reads `root/packem.json`, else entries from `root/package.json`: the first target. `Err`
/// says why neither works.
pub fn load(root: &Utf8Path) -> Result<WorkspaceConfig, String> {
    let packem = root.join("packem.json");
    if packem.exists() {
        let file = read(&packem).map_err(|e| e.to_string())?;
        let targets = file.targets().map_err(|e| e.to_string())?;
        let names = buildable_names(&targets);
        let first = targets.into_iter().next().expect("a file has at least one target");
        let mut config = from_target(root, &first.config, packem)?;
        config.options.targets = names;
        return Ok(config);
    }
    from_manifest(root)
}

/// Every target of `root/packem.json` that has entries, with its name (each target's options
/// list every name, so `packem:target/NAME` imports resolve), else the one target of
/// `root/package.json` (named `default`).
pub fn load_targets(root: &Utf8Path) -> Result<Vec<(String, WorkspaceConfig)>, String> {
    let packem = root.join("packem.json");
    if !packem.exists() {
        return from_manifest(root).map(|config| vec![("default".to_string(), config)]);
    }
    let file = read(&packem).map_err(|e| e.to_string())?;
    let targets = file.targets().map_err(|e| e.to_string())?;
    let names = buildable_names(&targets);
    let mut out = Vec::new();
    for target in targets {
        if target.config.entries.as_ref().is_none_or(Vec::is_empty) {
            continue;
        }
        let mut config = from_target(root, &target.config, packem.clone())
            .map_err(|message| format!("target \"{}\": {message}", target.name))?;
        config.options.targets = names.clone();
        out.push((target.name, config));
    }
    if out.is_empty() {
        return Err(format!("{packem}: no target has \"entries\""));
    }
    Ok(out)
}

/// Whether the nearest package.json at or above `dir` says `"type": "module"` (how Node runs
/// `.js` files there).
pub fn package_type_is_module(dir: &Utf8Path) -> bool {
    for ancestor in dir.ancestors() {
        if let Ok(text) = std::fs::read_to_string(ancestor.join("package.json")) {
            return serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str().map(|t| t == "module")))
                .unwrap_or(false);
        }
    }
    false
}

/// The names of the targets that have entries: those a `packem:target/NAME` import can embed.
fn buildable_names(targets: &[ResolvedTarget]) -> Vec<String> {
    targets
        .iter()
        .filter(|t| t.config.entries.as_ref().is_some_and(|e| !e.is_empty()))
        .map(|t| t.name.clone())
        .collect()
}

/// Entries from `root/package.json`'s `module`, `main`, `exports` and `bin`.
fn from_manifest(root: &Utf8Path) -> Result<WorkspaceConfig, String> {
    let manifest = root.join("package.json");
    let text = std::fs::read_to_string(&manifest).map_err(|_| format!("no packem.json or package.json in {root}"))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("{manifest}: {e}"))?;
    let mut entries = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(s) = v.and_then(Value::as_str) {
            let path = normalize(&root.join(s));
            if path.is_file() && !entries.contains(&path) {
                entries.push(path);
            }
        }
    };
    push(json.get("module"));
    push(json.get("main"));
    match json.get("exports") {
        Some(Value::String(_)) => push(json.get("exports")),
        Some(Value::Object(map)) => {
            let dot = map.get(".").unwrap_or(&Value::Null);
            match dot {
                Value::String(_) => push(Some(dot)),
                Value::Object(conditions) => {
                    for key in ["import", "default", "require", "node"] {
                        push(conditions.get(key));
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
    match json.get("bin") {
        Some(Value::String(_)) => push(json.get("bin")),
        Some(Value::Object(bins)) => bins.values().for_each(|v| push(Some(v))),
        _ => {}
    }
    if entries.is_empty() {
        return Err(format!("{manifest} names no entry (main, module, exports or bin); add a packem.json"));
    }
    Ok(WorkspaceConfig {
        entries,
        options: ProjectOptions { cwd: root.to_owned(), ..Default::default() },
        compile: CompileOptions::default(),
        source: manifest,
    })
}

/// The entries, resolution and compile options of one target (`root`: its paths' base).
pub fn from_target(root: &Utf8Path, config: &TargetConfig, source: Utf8PathBuf) -> Result<WorkspaceConfig, String> {
    let path = |p: &String| normalize(&root.join(p));
    let entries: Vec<Utf8PathBuf> = config.entries.iter().flatten().map(path).collect();
    if entries.is_empty() {
        return Err(format!("{source}: \"entries\" must list at least one file"));
    }
    let options = ProjectOptions {
        cwd: root.to_owned(),
        platform: match config.platform {
            None | Some(PlatformName::Browser) => Platform::Browser,
            Some(PlatformName::Node) => Platform::Node,
            Some(PlatformName::Neutral) => Platform::Neutral,
        },
        conditions: config.conditions.clone().unwrap_or_default(),
        alias: config.alias.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect(),
        tsconfig: config.tsconfig.as_ref().map(path),
        external: config.external.clone().unwrap_or_default(),
        // Layering folds `packagesExternal` into `packages`.
        packages_external: config.packages == Some(PackagesName::External),
        main_fields: config.main_fields.clone().filter(|fields| !fields.is_empty()),
        polyfills: config.polyfills.iter().flatten().map(|(from, to)| (path(from), path(to))).collect(),
        targets: Vec::new(),
    };
    let compile = compile_options(root, config, &source, &entries)?;
    Ok(WorkspaceConfig { entries, options, compile, source })
}

/// The compile keys of a target, checked as the command line checks its flags.
fn compile_options(
    root: &Utf8Path,
    config: &TargetConfig,
    source: &Utf8Path,
    entries: &[Utf8PathBuf],
) -> Result<CompileOptions, String> {
    let mut compile = CompileOptions::default();
    compile.jsx.mode = config.jsx.map(|jsx| match jsx {
        JsxName::Automatic => JsxMode::Automatic,
        JsxName::Transform => JsxMode::Classic,
        JsxName::Preserve => JsxMode::Preserve,
    });
    compile.jsx.import_source = config.jsx_import_source.clone();
    compile.jsx.factory = config.jsx_factory.clone();
    compile.jsx.fragment = config.jsx_fragment.clone();
    compile.jsx.development = config.jsx_dev;
    for (key, value) in config.define.iter().flatten() {
        packem_db::check_define(key, value).map_err(|why| format!("{source}: define \"{key}\": {why}"))?;
        compile.define.push((key.clone(), value.clone()));
    }
    for (ext, name) in config.loader.iter().flatten() {
        compile
            .loaders
            .push(packem_db::parse_loader(ext, name).map_err(|why| format!("{source}: loader \"{ext}\": {why}"))?);
    }
    compile.target = config
        .target
        .as_ref()
        .map(|t| t.to_vec().iter().map(|t| t.trim().to_ascii_lowercase()).collect::<Vec<_>>().join(","));
    if let Some(target) = &compile.target {
        packem_parse::check_target(target).map_err(|why| format!("{source}: invalid target \"{target}\": {why}"))?;
    }
    for what in config.drop.iter().flatten() {
        match what {
            DropName::Console => compile.drop_console = true,
            DropName::Debugger => compile.drop_debugger = true,
        }
    }
    compile.drop_labels = config.drop_labels.clone().unwrap_or_default();
    compile.inject = config.inject.iter().flatten().map(|p| normalize(&root.join(p))).collect();
    compile.assets.outbase = common_dir(entries);
    Ok(compile)
}

/// The deepest directory containing every entry (esbuild's default outbase).
pub fn common_dir(entries: &[Utf8PathBuf]) -> Utf8PathBuf {
    let Some(first) = entries.first() else { return Utf8PathBuf::new() };
    let mut base = first.parent().map(Utf8Path::to_owned).unwrap_or_default();
    for entry in &entries[1..] {
        while !entry.starts_with(&base) {
            if !base.pop() {
                break;
            }
        }
    }
    base
}

/// `path` without `.`/`..` components, symlinks resolved when it exists (the resolver returns
/// real paths, so entries must be real paths too).
pub fn normalize(path: &Utf8Path) -> Utf8PathBuf {
    let mut out = Utf8PathBuf::new();
    for component in path.components() {
        match component {
            camino::Utf8Component::ParentDir => {
                out.pop();
            }
            camino::Utf8Component::CurDir => {}
            other => out.push(other.as_str()),
        }
    }
    out.canonicalize_utf8().unwrap_or(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(files: &[(&str, &str)]) -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        for (p, t) in files {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, t).unwrap();
        }
        let root = Utf8PathBuf::from_path_buf(dir.path().canonicalize().unwrap()).unwrap();
        (dir, root)
    }

    #[test]
    fn packem_json_is_read() {
        let (_d, root) = root(&[
            ("packem.json", r#"{"entries": ["src/a.js"], "platform": "node", "external": ["x"], "alias": {"a": "b"}}"#),
            ("src/a.js", ""),
        ]);
        let config = load(&root).unwrap();
        assert_eq!(config.entries, [root.join("src/a.js")]);
        assert_eq!(config.options.platform, Platform::Node);
        assert_eq!(config.options.external, ["x"]);
        assert_eq!(config.options.alias, [("a".to_string(), "b".to_string())]);
    }

    #[test]
    fn package_json_fields_are_the_fallback() {
        let (_d, root) = root(&[
            (
                "package.json",
                r#"{"main": "lib/index.cjs", "exports": {".": {"import": "./lib/index.mjs"}}, "bin": {"x": "bin/x.js"}}"#,
            ),
            ("lib/index.cjs", ""),
            ("lib/index.mjs", ""),
            ("bin/x.js", ""),
        ]);
        let config = load(&root).unwrap();
        assert_eq!(config.entries, [root.join("lib/index.cjs"), root.join("lib/index.mjs"), root.join("bin/x.js")]);
    }

    #[test]
    fn missing_or_bad_config_is_an_error_not_a_panic() {
        let (_d, root1) = root(&[]);
        assert!(load(&root1).is_err());
        let (_d2, root2) = root(&[("packem.json", "{ not json")]);
        assert!(load(&root2).unwrap_err().contains("packem.json"));
        let (_d3, root3) = root(&[("packem.json", r#"{"entries": []}"#)]);
        assert!(load(&root3).is_err());
    }
}
