//! The workspace configuration both front ends read: `packem.json` at the root, falling back to
//! `package.json`'s `main`/`module`/`exports["."]`/`bin` for entries.
//!
//! `packem.json` schema (every field optional except `entries`):
//! ```json
//! {
//!   "entries": ["src/main.ts"],            // relative to the file's directory
//!   "platform": "browser" | "node" | "neutral",
//!   "external": ["react", "@scope/*"],
//!   "packagesExternal": false,
//!   "alias": { "old": "new" },
//!   "conditions": ["custom"],
//!   "mainFields": ["module", "main"],
//!   "tsconfig": "tsconfig.build.json",
//!   "jsx": "automatic" | "transform" | "preserve",
//!   "jsxImportSource": "preact", "jsxFactory": "h", "jsxFragment": "Fragment", "jsxDev": false,
//!   "define": { "process.env.NODE_ENV": "\"production\"" },
//!   "loader": { ".png": "file", ".txt": "text" },
//!   "target": "es2020",                     // or ["chrome100", "node18"]
//!   "drop": ["console", "debugger"],
//!   "inject": ["src/shim.js"]
//! }
//! ```
//!
//! The compile keys mean what the command-line flags of the same names mean, so `packem check`,
//! `packem build` and the language server compile a project alike.

use camino::{Utf8Path, Utf8PathBuf};
use packem_db::{CompileOptions, JsxMode, Platform, ProjectOptions};
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

/// Reads `root/packem.json`, else entries from `root/package.json`. `Err` says why neither works.
pub fn load(root: &Utf8Path) -> Result<WorkspaceConfig, String> {
    let packem = root.join("packem.json");
    if packem.exists() {
        let text = std::fs::read_to_string(&packem).map_err(|e| format!("{packem}: {e}"))?;
        let json: Value = serde_json::from_str(&text).map_err(|e| format!("{packem}: {e}"))?;
        return from_packem_json(root, &json, packem);
    }
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

fn from_packem_json(root: &Utf8Path, json: &Value, source: Utf8PathBuf) -> Result<WorkspaceConfig, String> {
    let strings = |key: &str| -> Vec<String> {
        json.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let entries: Vec<Utf8PathBuf> = strings("entries").iter().map(|e| normalize(&root.join(e))).collect();
    if entries.is_empty() {
        return Err(format!("{source}: \"entries\" must list at least one file"));
    }
    let platform = match json.get("platform").and_then(Value::as_str) {
        None | Some("browser") => Platform::Browser,
        Some("node") => Platform::Node,
        Some("neutral") => Platform::Neutral,
        Some(other) => return Err(format!("{source}: unknown platform \"{other}\"")),
    };
    let alias = json
        .get("alias")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    let main_fields = json.get("mainFields").map(|_| strings("mainFields"));
    let options = ProjectOptions {
        cwd: root.to_owned(),
        platform,
        conditions: strings("conditions"),
        alias,
        tsconfig: json.get("tsconfig").and_then(Value::as_str).map(|t| normalize(&root.join(t))),
        external: strings("external"),
        packages_external: json.get("packagesExternal").and_then(Value::as_bool).unwrap_or(false),
        main_fields,
    };
    let compile = compile_options(root, json, &source, &entries)?;
    Ok(WorkspaceConfig { entries, options, compile, source })
}

/// The compile keys of a `packem.json`, checked as the command line checks its flags.
fn compile_options(
    root: &Utf8Path,
    json: &Value,
    source: &Utf8Path,
    entries: &[Utf8PathBuf],
) -> Result<CompileOptions, String> {
    let string = |key: &str| -> Result<Option<String>, String> {
        match json.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{source}: \"{key}\" must be a string")),
        }
    };
    let mut compile = CompileOptions::default();
    compile.jsx.mode = match string("jsx")?.as_deref() {
        None => None,
        Some("automatic") => Some(JsxMode::Automatic),
        Some("transform") => Some(JsxMode::Classic),
        Some("preserve") => Some(JsxMode::Preserve),
        Some(other) => {
            return Err(format!("{source}: unknown \"jsx\" value \"{other}\" (automatic, transform or preserve)"));
        }
    };
    compile.jsx.import_source = string("jsxImportSource")?;
    compile.jsx.factory = string("jsxFactory")?;
    compile.jsx.fragment = string("jsxFragment")?;
    compile.jsx.development = json.get("jsxDev").and_then(Value::as_bool);
    if let Some(define) = json.get("define") {
        let Some(map) = define.as_object() else { return Err(format!("{source}: \"define\" must be an object")) };
        for (key, value) in map {
            let Some(value) = value.as_str() else {
                return Err(format!(
                    "{source}: define \"{key}\" must be a string of JavaScript (a JSON value or an identifier)"
                ));
            };
            packem_db::check_define(key, value).map_err(|why| format!("{source}: define \"{key}\": {why}"))?;
            compile.define.push((key.clone(), value.to_string()));
        }
    }
    if let Some(loader) = json.get("loader") {
        let Some(map) = loader.as_object() else { return Err(format!("{source}: \"loader\" must be an object")) };
        for (ext, name) in map {
            let name = name.as_str().unwrap_or_default();
            compile
                .loaders
                .push(packem_db::parse_loader(ext, name).map_err(|why| format!("{source}: loader \"{ext}\": {why}"))?);
        }
    }
    compile.target = match json.get("target") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.to_ascii_lowercase()),
        Some(Value::Array(list)) => {
            Some(list.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect::<Vec<_>>().join(","))
        }
        Some(_) => return Err(format!("{source}: \"target\" must be a string or a list of strings")),
    };
    if let Some(target) = &compile.target {
        packem_parse::check_target(target).map_err(|why| format!("{source}: invalid target \"{target}\": {why}"))?;
    }
    for what in json.get("drop").and_then(Value::as_array).into_iter().flatten() {
        match what.as_str() {
            Some("console") => compile.drop_console = true,
            Some("debugger") => compile.drop_debugger = true,
            _ => return Err(format!("{source}: \"drop\" takes \"console\" and \"debugger\"")),
        }
    }
    for inject in json.get("inject").and_then(Value::as_array).into_iter().flatten() {
        let Some(path) = inject.as_str() else { return Err(format!("{source}: \"inject\" must list paths")) };
        compile.inject.push(normalize(&root.join(path)));
    }
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
