//! Reading `packem.json`: the typed schema, errors with the file, line, column and key (and a
//! "did you mean" for near misses), and targets layered on the top level and on the targets they
//! extend.

use std::fmt;

use camino::{Utf8Path, Utf8PathBuf};

use super::schema::TargetConfig;

/// A `packem.json`, parsed and checked against the schema.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    /// The file.
    pub path: Utf8PathBuf,
    text: String,
    /// The top level: the defaults every target starts from, and the targets.
    pub top: TargetConfig,
}

/// A target after layering: its name and every setting it ends up with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// `name`, or `default` for a file without `targets`.
    pub name: String,
    /// The settings (`name`, `extends` and `targets` cleared).
    pub config: TargetConfig,
}

/// A configuration error at a place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: Utf8PathBuf,
    /// 1-based line and column (0 when the error has no place, such as an unreadable file).
    pub line: usize,
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path, self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.path, self.line, self.column, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads and checks `path`.
pub fn read(path: &Utf8Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
        path: path.to_owned(),
        line: 0,
        column: 0,
        message: format!("could not read: {err}"),
    })?;
    parse(path, text)
}

/// Checks `text`, the contents of `path`.
pub fn parse(path: &Utf8Path, text: String) -> Result<ConfigFile, ConfigError> {
    let top: TargetConfig = match serde_json::from_str(&text) {
        Ok(top) => top,
        Err(err) => {
            // serde_json stops after the offending token: point at its key instead, when known.
            let offset = offset_of(&text, err.line(), err.column());
            let key = key_at(&text, offset.saturating_sub(1));
            let (line, column) = match &key {
                Some((_, start)) => line_column(&text, *start),
                None => (err.line(), err.column()),
            };
            let message = describe(&err.to_string(), key.as_ref().map(|(k, _)| k.as_str()));
            return Err(ConfigError { path: path.to_owned(), line, column, message });
        }
    };
    let file = ConfigFile { path: path.to_owned(), text, top };
    for key in ["name", "extends"] {
        if file.key_location(&[], key).is_some() {
            return Err(file.error(&[], Some(key), format!("\"{key}\" belongs in an entry of \"targets\"")));
        }
    }
    for (i, target) in file.top.targets.iter().flatten().enumerate() {
        if target.targets.is_some() {
            return Err(file.error(&[i], Some("targets"), "targets cannot have targets of their own".into()));
        }
    }
    Ok(file)
}

impl ConfigFile {
    /// The directory paths are relative to.
    pub fn dir(&self) -> &Utf8Path {
        self.path.parent().unwrap_or(Utf8Path::new("."))
    }

    /// Every target, layered: a target's keys over those of the target it `extends` (itself
    /// layered), over the top level. A file without `targets` is one target, `default`.
    pub fn targets(&self) -> Result<Vec<ResolvedTarget>, ConfigError> {
        let Some(targets) = &self.top.targets else {
            return Ok(vec![ResolvedTarget {
                name: "default".into(),
                config: clean(self.top.over(&Default::default())),
            }]);
        };
        if targets.is_empty() {
            return Err(self.error(&[], Some("targets"), "\"targets\" lists no target".into()));
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let Some(name) = target.name.as_deref().filter(|n| !n.is_empty()) else {
                return Err(self.error(&[i], None, format!("target {} has no \"name\"", i + 1)));
            };
            if names.contains(&name) {
                return Err(self.error(&[i], Some("name"), format!("two targets are named \"{name}\"")));
            }
            names.push(name);
        }
        let mut resolved = Vec::with_capacity(targets.len());
        for (i, target) in targets.iter().enumerate() {
            // Follow `extends` to the root, refusing cycles and unknown names.
            let mut chain = vec![i];
            let mut at = target;
            while let Some(parent) = &at.extends {
                let Some(j) = names.iter().position(|n| n == parent) else {
                    let hint = did_you_mean(parent, names.iter().copied()).unwrap_or_default();
                    let last = *chain.last().expect("non-empty");
                    return Err(self.error(
                        &[last],
                        Some("extends"),
                        format!("\"extends\": no target is named \"{parent}\"{hint}"),
                    ));
                };
                if let Some(start) = chain.iter().position(|&k| k == j) {
                    let cycle: Vec<&str> = chain[start..].iter().chain([&j]).map(|&k| names[k]).collect();
                    return Err(self.error(
                        &[*chain.last().expect("non-empty")],
                        Some("extends"),
                        format!("\"extends\" makes a cycle: {}", cycle.join(" → ")),
                    ));
                }
                chain.push(j);
                at = &targets[j];
            }
            let mut config = self.top.over(&Default::default());
            for &k in chain.iter().rev() {
                config = targets[k].over(&config);
            }
            resolved.push(ResolvedTarget { name: names[i].to_owned(), config: clean(config) });
        }
        Ok(resolved)
    }

    /// The targets named in `only` (all when empty), in the file's order; an unknown name is an
    /// error listing the known ones.
    pub fn select(&self, only: &[String]) -> Result<Vec<ResolvedTarget>, ConfigError> {
        let targets = self.targets()?;
        for name in only {
            if !targets.iter().any(|t| &t.name == name) {
                let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                let hint = did_you_mean(name, known.iter().copied()).unwrap_or_default();
                return Err(ConfigError {
                    path: self.path.clone(),
                    line: 0,
                    column: 0,
                    message: format!("--only: no target is named \"{name}\"{hint} (targets: {})", known.join(", ")),
                });
            }
        }
        Ok(targets.into_iter().filter(|t| only.is_empty() || only.contains(&t.name)).collect())
    }

    /// An error at target `target` (`[]`: the top level; `[i]`: `targets[i]`), at `key` in it
    /// when given.
    pub fn error(&self, target: &[usize], key: Option<&str>, message: String) -> ConfigError {
        let offset = match key {
            Some(key) => self.key_location(target, key),
            None => None,
        }
        .or_else(|| self.object_location(target))
        .unwrap_or(0);
        let (line, column) = line_column(&self.text, offset);
        ConfigError { path: self.path.clone(), line, column, message }
    }

    /// The line and column of target `name` (1, 1 when unknown).
    pub fn target_line(&self, name: &str) -> (usize, usize) {
        let index = self.top.targets.iter().flatten().position(|t| t.name.as_deref() == Some(name));
        let offset = index.and_then(|i| self.object_location(&[i]));
        line_column(&self.text, offset.unwrap_or(0))
    }

    fn object<'a>(
        &self,
        ast: &'a jsonc_parser::ast::Value<'a>,
        target: &[usize],
    ) -> Option<&'a jsonc_parser::ast::Object<'a>> {
        let jsonc_parser::ast::Value::Object(top) = ast else { return None };
        match target {
            [] => Some(top),
            [i] => {
                let targets = top.properties.iter().find(|p| p.name.as_str() == "targets")?;
                let jsonc_parser::ast::Value::Array(list) = &targets.value else { return None };
                match list.elements.get(*i)? {
                    jsonc_parser::ast::Value::Object(object) => Some(object),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn object_location(&self, target: &[usize]) -> Option<usize> {
        let ast = parse_ast(&self.text)?;
        self.object(&ast, target).map(|o| o.range.start)
    }

    fn key_location(&self, target: &[usize], key: &str) -> Option<usize> {
        let ast = parse_ast(&self.text)?;
        let object = self.object(&ast, target)?;
        object.properties.iter().find(|p| p.name.as_str() == key).map(|p| p.range.start)
    }
}

/// A layered target without the keys that only steer layering.
fn clean(mut config: TargetConfig) -> TargetConfig {
    config.name = None;
    config.extends = None;
    config.targets = None;
    config.schema = None;
    config
}

fn parse_ast(text: &str) -> Option<jsonc_parser::ast::Value<'_>> {
    jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default()).ok()?.value
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// The byte offset of serde_json's 1-based `line` and `column` (the column counts bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    (start + column.saturating_sub(1)).min(text.len())
}

/// The dotted path of the innermost key whose property holds byte `offset` (`targets[1].minify`),
/// and where that key starts.
fn key_at(text: &str, offset: usize) -> Option<(String, usize)> {
    use jsonc_parser::ast::Value;
    use jsonc_parser::common::Ranged as _;
    let ast = parse_ast(text)?;
    let mut path = String::new();
    let mut start = 0;
    let mut value = &ast;
    loop {
        match value {
            Value::Object(object) => {
                let prop = object.properties.iter().find(|p| p.range.start <= offset && offset <= p.range.end)?;
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(prop.name.as_str());
                start = prop.range.start;
                value = &prop.value;
            }
            Value::Array(array) => {
                let Some((i, element)) = array
                    .elements
                    .iter()
                    .enumerate()
                    .find(|(_, e)| e.range().start <= offset && offset <= e.range().end)
                else {
                    break;
                };
                path.push_str(&format!("[{i}]"));
                value = element;
            }
            _ => break,
        }
    }
    (!path.is_empty()).then_some((path, start))
}

/// serde's message, in the file's terms, with a "did you mean" for unknown keys and values.
fn describe(message: &str, key: Option<&str>) -> String {
    // serde_json appends " at line L column C": the error already carries the place.
    let message = message.rsplit_once(" at line ").map_or(message, |(m, _)| m);
    let quoted = |m: &str| -> Option<(String, Vec<String>)> {
        let name = m.split('`').nth(1)?.to_owned();
        let expected = m
            .split_once("expected one of ")
            .map_or(Vec::new(), |(_, list)| list.split(", ").map(|s| s.trim_matches('`').to_owned()).collect());
        Some((name, expected))
    };
    if message.starts_with("unknown field")
        && let Some((name, _)) = quoted(message)
    {
        let keys = TargetConfig::keys();
        let hint = did_you_mean(&name, keys.iter().map(String::as_str)).unwrap_or_default();
        let place = key.and_then(|k| k.rsplit_once('.')).map(|(parent, _)| format!(" in {parent}")).unwrap_or_default();
        return format!("unknown key \"{name}\"{place}{hint}");
    }
    if message.starts_with("unknown variant")
        && let Some((name, expected)) = quoted(message)
    {
        let hint = did_you_mean(&name, expected.iter().map(String::as_str)).unwrap_or_default();
        let key = key.map(|k| format!("\"{k}\": ")).unwrap_or_default();
        return format!("{key}unknown value \"{name}\"{hint} (expected {})", expected.join(", "));
    }
    match key {
        Some(key) => format!("\"{key}\": {message}"),
        None => message.to_owned(),
    }
}

/// ` (did you mean "X"?)` for the candidate closest to `name`, when one is close: at most a
/// third of its letters (at least one) edited, or sharing most of its letters in order.
fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let limit = (lower.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let other = c.to_ascii_lowercase();
            let edits = strsim::damerau_levenshtein(&lower, &other);
            let similar = strsim::jaro_winkler(&lower, &other);
            (edits <= limit || similar >= 0.9).then_some((edits, -similar, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(_, _, c)| format!(" (did you mean \"{c}\"?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Vec<ResolvedTarget>, String> {
        let file = parse(Utf8Path::new("/p/packem.json"), text.to_owned()).map_err(|e| e.to_string())?;
        file.targets().map_err(|e| e.to_string())
    }

    #[test]
    fn unknown_keys_name_the_key_the_line_and_a_near_miss() {
        let err = check("{\n  \"entries\": [\"a.js\"],\n  \"outdirr\": \"dist\"\n}").unwrap_err();
        assert_eq!(err, "/p/packem.json:3:3: unknown key \"outdirr\" (did you mean \"outdir\"?)");
        let err = check("{\"targets\": [{\"name\": \"a\",\n \"bogusKey\": 1}]}").unwrap_err();
        assert!(err.starts_with("/p/packem.json:2:"), "{err}");
        assert!(err.contains("unknown key \"bogusKey\" in targets[0]"), "{err}");
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn wrong_types_and_values_name_the_key() {
        let err = check("{\"entries\": [\"a.js\"],\n\"minify\": \"yes\"}").unwrap_err();
        assert!(err.starts_with("/p/packem.json:2:"), "{err}");
        assert!(err.contains("\"minify\": invalid type: string \"yes\", expected a boolean"), "{err}");
        let err = check("{\"targets\": [{\"name\": \"a\", \"format\": \"esn\"}]}").unwrap_err();
        assert!(err.contains("\"targets[0].format\": unknown value \"esn\" (did you mean \"esm\"?)"), "{err}");
    }

    #[test]
    fn targets_layer_top_level_then_extends_then_their_own_keys() {
        let targets = check(
            r#"{
              "entries": ["src/index.ts"], "platform": "node", "define": {"A": "1", "B": "2"},
              "targets": [
                {"name": "esm", "format": "esm", "outdir": "dist/esm", "define": {"B": "3"}},
                {"name": "cjs", "extends": "esm", "format": "cjs", "outdir": "dist/cjs"},
                {"name": "browser", "extends": "cjs", "platform": "browser", "format": "esm"}
              ]
            }"#,
        )
        .unwrap();
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["esm", "cjs", "browser"]);
        let browser = &targets[2].config;
        assert_eq!(browser.platform, Some(super::super::schema::PlatformName::Browser));
        assert_eq!(browser.format, Some(super::super::schema::FormatName::Esm));
        assert_eq!(browser.outdir.as_deref(), Some("dist/cjs"));
        assert_eq!(browser.entries.as_deref(), Some(&["src/index.ts".to_string()][..]));
        let define = browser.define.clone().unwrap();
        assert_eq!(define.get("A").map(String::as_str), Some("1"));
        assert_eq!(define.get("B").map(String::as_str), Some("3"));
        assert_eq!(targets[0].config.name, None);
    }

    #[test]
    fn a_target_choosing_outfile_or_packages_overrides_the_other_spelling_inherited() {
        use super::super::schema::PackagesName;
        let targets = check(
            r#"{
              "outdir": "dist", "packagesExternal": true,
              "polyfills": {"src/a.ts": "src/b.ts"},
              "targets": [
                {"name": "cli", "outfile": "bin/cli.js", "packages": "bundle", "polyfills": {"./src/a.ts": "src/c.ts"}},
                {"name": "lib"}
              ]
            }"#,
        )
        .unwrap();
        let (cli, lib) = (&targets[0].config, &targets[1].config);
        assert_eq!((cli.outdir.as_deref(), cli.outfile.as_deref()), (None, Some("bin/cli.js")));
        assert_eq!((lib.outdir.as_deref(), lib.outfile.as_deref()), (Some("dist"), None));
        assert_eq!(cli.packages, Some(PackagesName::Bundle));
        assert_eq!(lib.packages, Some(PackagesName::External));
        // `./src/a.ts` and `src/a.ts` are one key: the target's replacement wins.
        let polyfills = cli.polyfills.clone().unwrap();
        assert_eq!(polyfills.len(), 1);
        assert_eq!(polyfills.get("src/a.ts").map(String::as_str), Some("src/c.ts"));
    }

    #[test]
    fn extends_errors_name_the_target_and_the_cycle() {
        let err = check(r#"{"targets": [{"name": "a", "extends": "b"}, {"name": "b", "extends": "a"}]}"#).unwrap_err();
        assert!(err.contains("\"extends\" makes a cycle: a → b → a"), "{err}");
        let err =
            check("{\"targets\": [{\"name\": \"node\"},\n {\"name\": \"x\", \"extends\": \"nod\"}]}").unwrap_err();
        assert!(err.starts_with("/p/packem.json:2:"), "{err}");
        assert!(err.contains("no target is named \"nod\" (did you mean \"node\"?)"), "{err}");
        let err = check(r#"{"targets": [{"name": "a"}, {"name": "a"}]}"#).unwrap_err();
        assert!(err.contains("two targets are named \"a\""), "{err}");
        let err = check(r#"{"targets": [{"format": "esm"}]}"#).unwrap_err();
        assert!(err.contains("target 1 has no \"name\""), "{err}");
        let err = check(r#"{"name": "x", "entries": ["a.js"]}"#).unwrap_err();
        assert!(err.contains("\"name\" belongs in an entry of \"targets\""), "{err}");
    }

    #[test]
    fn only_picks_targets_and_refuses_unknown_names() {
        let file = parse(
            Utf8Path::new("/p/packem.json"),
            r#"{"targets": [{"name": "node-esm"}, {"name": "node-cjs"}, {"name": "browser"}]}"#.into(),
        )
        .unwrap();
        let picked = file.select(&["browser".into(), "node-esm".into()]).unwrap();
        assert_eq!(picked.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["node-esm", "browser"]);
        let err = file.select(&["node-csj".into()]).unwrap_err().to_string();
        assert!(err.contains("no target is named \"node-csj\" (did you mean \"node-cjs\"?)"), "{err}");
        assert!(err.contains("targets: node-esm, node-cjs, browser"), "{err}");
        assert_eq!(file.select(&[]).unwrap().len(), 3);
    }
}
