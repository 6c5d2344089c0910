//! The `packem.json` schema: one struct for the top level (defaults for every target) and for
//! each entry of `targets`. Every key means what the command-line flag of the same name means
//! (`minifySyntax` is `--minify-syntax`); `packem.schema.json` is generated from these types
//! (`tests/config_schema.rs` keeps it current).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A target's settings (or, at the top level, the defaults every target starts from).
///
/// Paths are relative to the directory of `packem.json`.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "packem.json", rename = "TargetConfig")]
pub struct TargetConfig {
    /// The JSON Schema this file follows (for editors; not read).
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// The target's name, for `--only NAME` and `extends` (targets only).
    pub name: Option<String>,
    /// The name of a target whose settings this one starts from: its own keys override them
    /// (maps such as `alias` and `define` merge key by key).
    pub extends: Option<String>,
    /// The targets `packem build` builds, each starting from the top-level keys (top level only).
    pub targets: Option<Vec<TargetConfig>>,

    /// Entry points.
    pub entries: Option<Vec<String>>,
    /// `--platform`.
    pub platform: Option<PlatformName>,
    /// `--format` (default: what runs as written on the platform).
    pub format: Option<FormatName>,
    /// `--outdir`.
    pub outdir: Option<String>,
    /// `--outfile` (one entry).
    pub outfile: Option<String>,
    /// `--external`: modules left out of the bundle (`*` wildcards).
    pub external: Option<Vec<String>>,
    /// `--packages`: `external` leaves every bare package import as an import.
    pub packages: Option<PackagesName>,
    /// Same as `"packages": "external"` (an older spelling).
    pub packages_external: Option<bool>,
    /// `--alias`: specifier → replacement.
    pub alias: Option<BTreeMap<String, String>>,
    /// `--polyfill`: project file → the file that replaces it wherever it is imported.
    pub polyfills: Option<BTreeMap<String, String>>,
    /// `--conditions`: extra package.json export conditions.
    pub conditions: Option<Vec<String>>,
    /// `--main-fields`: package.json fields tried for a package's entry.
    pub main_fields: Option<Vec<String>>,
    /// `--tsconfig`.
    pub tsconfig: Option<String>,
    /// `--jsx`.
    pub jsx: Option<JsxName>,
    /// `--jsx-import-source`.
    pub jsx_import_source: Option<String>,
    /// `--jsx-factory`.
    pub jsx_factory: Option<String>,
    /// `--jsx-fragment`.
    pub jsx_fragment: Option<String>,
    /// `--jsx-dev`.
    pub jsx_dev: Option<bool>,
    /// `--define`: global name or member chain → JavaScript (a JSON value or an identifier).
    pub define: Option<BTreeMap<String, String>>,
    /// `--loader`: extension (`.png`) → loader name.
    pub loader: Option<BTreeMap<String, String>>,
    /// `--target`: `es2020`, or engines such as `["chrome100", "node18"]`.
    pub target: Option<OneOrMany>,
    /// `--drop`.
    pub drop: Option<Vec<DropName>>,
    /// `--drop-labels`.
    pub drop_labels: Option<Vec<String>>,
    /// `--inject`: files imported into every entry.
    pub inject: Option<Vec<String>>,
    /// `--asset-names`.
    pub asset_names: Option<String>,
    /// `--public-path`.
    pub public_path: Option<String>,
    /// `--tree-shaking`.
    pub tree_shaking: Option<bool>,
    /// `--ignore-annotations`.
    pub ignore_annotations: Option<bool>,
    /// `--banner:js`.
    pub banner: Option<String>,
    /// `--footer:js`.
    pub footer: Option<String>,
    /// `--out-extension`: `.js` → the extension outputs get.
    pub out_extension: Option<BTreeMap<String, String>>,
    /// `--outbase`.
    pub outbase: Option<String>,
    /// `--entry-names`.
    pub entry_names: Option<String>,
    /// `--splitting`.
    pub splitting: Option<bool>,
    /// `--chunk-names`.
    pub chunk_names: Option<String>,
    /// `--max-chunk-size` (bytes).
    pub max_chunk_size: Option<u64>,
    /// `--legal-comments`.
    pub legal_comments: Option<LegalCommentsName>,
    /// `--charset`.
    pub charset: Option<CharsetName>,
    /// `--keep-names`.
    pub keep_names: Option<bool>,
    /// `--minify`.
    pub minify: Option<bool>,
    /// `--minify-whitespace`.
    pub minify_whitespace: Option<bool>,
    /// `--minify-syntax`.
    pub minify_syntax: Option<bool>,
    /// `--minify-identifiers`.
    pub minify_identifiers: Option<bool>,
    /// `--sourcemap`: `true` (linked) or how.
    pub sourcemap: Option<SourceMapSetting>,
    /// `--sources-content`.
    pub sources_content: Option<bool>,
    /// `--source-root`.
    pub source_root: Option<String>,
    /// `--mangle-props`.
    pub mangle_props: Option<String>,
    /// `--reserve-props`.
    pub reserve_props: Option<String>,
    /// `--mangle-quoted`.
    pub mangle_quoted: Option<bool>,
    /// `--declarations`: TypeScript declaration files next to the outputs.
    pub declarations: Option<bool>,
    /// `--global-name`.
    pub global_name: Option<String>,
    /// `--metafile`.
    pub metafile: Option<String>,
    /// `--allow-overwrite`.
    pub allow_overwrite: Option<bool>,
}

/// How a value of one of the enums below is spelled in the file, which is how its flag spells it
/// (`"esm"` for `--format=esm`).
pub fn spelling<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// `map` with its keys (paths relative to `packem.json`) spelled one way: `./src/a.ts` and
/// `src/a.ts` name the same file.
fn normalized_keys(map: &Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
    map.as_ref().map(|map| {
        map.iter()
            .map(|(key, value)| {
                let mut parts: Vec<&str> = Vec::new();
                for part in key.split('/') {
                    match part {
                        "." => {}
                        "" if !parts.is_empty() => {}
                        ".." if parts.last().is_some_and(|p| *p != ".." && !p.is_empty()) => {
                            parts.pop();
                        }
                        _ => parts.push(part),
                    }
                }
                (parts.join("/"), value.clone())
            })
            .collect()
    })
}

/// `--platform`'s values.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PlatformName {
    Browser,
    Node,
    Neutral,
}

/// `--format`'s values.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    Esm,
    Cjs,
    Iife,
}

/// `--packages`' values.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PackagesName {
    External,
    Bundle,
}

/// `--jsx`'s values.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JsxName {
    Automatic,
    Transform,
    Preserve,
}

/// `--drop`'s values.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DropName {
    Console,
    Debugger,
}

/// `--legal-comments`' values.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LegalCommentsName {
    None,
    Inline,
    Eof,
    Linked,
    External,
}

/// `--charset`'s values.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CharsetName {
    Utf8,
}

/// `--sourcemap`: `true` is `linked`, `false` none.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum SourceMapSetting {
    Enabled(bool),
    Mode(SourceMapName),
}

/// `--sourcemap`'s values.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceMapName {
    Linked,
    Inline,
    External,
    Both,
}

/// A string or a list of strings.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

impl TargetConfig {
    /// The keys this struct reads, as spelled in the file (for "did you mean").
    pub fn keys() -> Vec<String> {
        let schema = schemars::schema_for!(TargetConfig);
        schema.get("properties").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()).unwrap_or_default()
    }

    /// `self` over `base`: keys `self` sets win; maps merge key by key. `name`, `extends` and
    /// `targets` are not inherited.
    pub fn over(&self, base: &TargetConfig) -> TargetConfig {
        fn map(
            a: &Option<BTreeMap<String, String>>,
            b: &Option<BTreeMap<String, String>>,
        ) -> Option<BTreeMap<String, String>> {
            match (a, b) {
                (Some(a), Some(b)) => {
                    let mut merged = b.clone();
                    merged.extend(a.iter().map(|(k, v)| (k.clone(), v.clone())));
                    Some(merged)
                }
                (a, b) => a.clone().or_else(|| b.clone()),
            }
        }
        // `packagesExternal` is an older spelling of `packages`, normalized here so that either
        // spelling in a target overrides either one inherited.
        let packages = |c: &TargetConfig| {
            c.packages.or(c.packages_external.map(|on| if on { PackagesName::External } else { PackagesName::Bundle }))
        };
        // `outdir` and `outfile` are one choice: setting either drops the other inherited one.
        let (outdir, outfile) = if self.outdir.is_some() || self.outfile.is_some() {
            (self.outdir.clone(), self.outfile.clone())
        } else {
            (base.outdir.clone(), base.outfile.clone())
        };
        macro_rules! pick {
            ($($field:ident),* $(,)?) => {
                TargetConfig {
                    schema: None,
                    name: self.name.clone(),
                    extends: self.extends.clone(),
                    targets: None,
                    alias: map(&self.alias, &base.alias),
                    define: map(&self.define, &base.define),
                    loader: map(&self.loader, &base.loader),
                    out_extension: map(&self.out_extension, &base.out_extension),
                    polyfills: map(&normalized_keys(&self.polyfills), &normalized_keys(&base.polyfills)),
                    packages: packages(self).or_else(|| packages(base)),
                    packages_external: None,
                    outdir,
                    outfile,
                    $($field: self.$field.clone().or_else(|| base.$field.clone()),)*
                }
            };
        }
        pick!(
            entries,
            platform,
            format,
            external,
            conditions,
            main_fields,
            tsconfig,
            jsx,
            jsx_import_source,
            jsx_factory,
            jsx_fragment,
            jsx_dev,
            target,
            drop,
            drop_labels,
            inject,
            asset_names,
            public_path,
            tree_shaking,
            ignore_annotations,
            banner,
            footer,
            outbase,
            entry_names,
            splitting,
            chunk_names,
            max_chunk_size,
            legal_comments,
            charset,
            keep_names,
            minify,
            minify_whitespace,
            minify_syntax,
            minify_identifiers,
            sourcemap,
            sources_content,
            source_root,
            mangle_props,
            reserve_props,
            mangle_quoted,
            declarations,
            global_name,
            metafile,
            allow_overwrite,
        )
    }
}
