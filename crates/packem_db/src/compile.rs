//! The project's compile options: how each file is turned into JavaScript before the module graph
//! is built (loaders, JSX, define, syntax target). Kept apart from [`crate::ProjectOptions`] so that
//! changing a define never re-runs resolution.

use camino::Utf8PathBuf;

/// How the contents of a file become a module (esbuild's loaders).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Loader {
    /// JavaScript without JSX.
    Js,
    /// JavaScript with JSX.
    Jsx,
    /// TypeScript without JSX.
    Ts,
    /// TypeScript with JSX.
    Tsx,
    /// JSON: the value is the default export, each top-level key a named export.
    Json,
    /// The file's UTF-8 text as a string.
    Text,
    /// The file's bytes as a base64 string.
    Base64,
    /// The file as a `data:` URL string.
    DataUrl,
    /// The file's bytes as a `Uint8Array`.
    Binary,
    /// The file is copied into the output directory; the import yields its path.
    File,
    /// The file is copied into the output directory and the import stays an import of the copy.
    Copy,
    /// An empty module.
    Empty,
    /// CSS, which packem does not bundle: importing it is an error that says so.
    Css,
}

impl Loader {
    /// Every loader a user may name, with its flag spelling.
    pub const NAMED: &[(&'static str, Loader)] = &[
        ("js", Loader::Js),
        ("jsx", Loader::Jsx),
        ("ts", Loader::Ts),
        ("tsx", Loader::Tsx),
        ("json", Loader::Json),
        ("text", Loader::Text),
        ("base64", Loader::Base64),
        ("dataurl", Loader::DataUrl),
        ("binary", Loader::Binary),
        ("file", Loader::File),
        ("copy", Loader::Copy),
        ("empty", Loader::Empty),
    ];

    /// The loader named `name` (`js`, `text`, `dataurl`, …).
    pub fn from_name(name: &str) -> Option<Loader> {
        Self::NAMED.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
    }

    /// The flag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Loader::Css => "css",
            other => Self::NAMED.iter().find(|(_, l)| *l == other).map(|(n, _)| *n).unwrap_or("js"),
        }
    }

    /// Whether the file is parsed as JavaScript or TypeScript.
    pub fn is_code(self) -> bool {
        matches!(self, Loader::Js | Loader::Jsx | Loader::Ts | Loader::Tsx)
    }

    /// Whether the module's value comes from the file's raw bytes (no parse).
    pub fn reads_bytes(self) -> bool {
        matches!(self, Loader::Text | Loader::Base64 | Loader::DataUrl | Loader::Binary | Loader::File | Loader::Copy)
    }

    /// esbuild's default loader for a file extension (lowercase, without the dot); `None` when
    /// the extension has none (an error to import without `--loader`).
    pub fn default_for_extension(ext: &str) -> Option<Loader> {
        Some(match ext {
            "js" | "mjs" | "cjs" => Loader::Js,
            "jsx" => Loader::Jsx,
            "ts" | "mts" | "cts" => Loader::Ts,
            "tsx" => Loader::Tsx,
            "json" => Loader::Json,
            "txt" => Loader::Text,
            "css" => Loader::Css,
            _ => return None,
        })
    }
}

/// How JSX is compiled (esbuild's `--jsx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JsxMode {
    /// `React.createElement` calls (esbuild's `transform`, React's classic runtime).
    Classic,
    /// `jsx()` calls imported from `<importSource>/jsx-runtime` (React 17+).
    Automatic,
    /// JSX is left as written.
    Preserve,
}

/// JSX options as given on the command line or in config; `None` falls back to the nearest
/// tsconfig.json, then to esbuild's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct JsxOptions {
    /// `--jsx`.
    pub mode: Option<JsxMode>,
    /// `--jsx-factory` (classic): `React.createElement` by default.
    pub factory: Option<String>,
    /// `--jsx-fragment` (classic): `React.Fragment` by default.
    pub fragment: Option<String>,
    /// `--jsx-import-source` (automatic): `react` by default.
    pub import_source: Option<String>,
    /// `--jsx-dev`: the automatic runtime's development variant (`jsx-dev-runtime`).
    pub development: Option<bool>,
}

/// Everything that changes how a file compiles, besides its text. Equal options mean equal
/// modules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CompileOptions {
    /// JSX settings.
    pub jsx: JsxOptions,
    /// `--define:K=V`, in the order given (a later definition of the same key wins).
    pub define: Vec<(String, String)>,
    /// `--loader:.ext=NAME` overrides of the default loaders (extensions with the dot, lowercase).
    pub loaders: Vec<(String, Loader)>,
    /// `--target`: a comma-separated list such as `es2017` or `chrome100,node18` (lowercase).
    /// `None` takes the nearest tsconfig's `target`, else `esnext`.
    pub target: Option<String>,
    /// `--drop:console`.
    pub drop_console: bool,
    /// `--drop:debugger`.
    pub drop_debugger: bool,
    /// `--drop-labels=a,b`: statements with these labels are removed.
    pub drop_labels: Vec<String>,
    /// `--inject:FILE`, absolute: imported into every entry, and their exports replace matching
    /// global names everywhere.
    pub inject: Vec<Utf8PathBuf>,
    /// Where `file` and `copy` assets go and how imports refer to them.
    pub assets: AssetOptions,
}

/// How assets (the `file` and `copy` loaders) are named in the output directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AssetOptions {
    /// `--asset-names`: a template of `[name]`, `[hash]`, `[dir]` and `[ext]`; the extension is
    /// appended when the template has no `[ext]` (esbuild's rule). Default `[name]-[hash]`.
    pub names: String,
    /// What an import of an asset is prefixed with: `--public-path` (joined with a `/`), else the
    /// relative path from the outputs' directory to the output directory (`./`).
    pub prefix: String,
    /// The directory `[dir]` is relative to (esbuild's outbase; the entries' common directory).
    pub outbase: Utf8PathBuf,
}

impl Default for AssetOptions {
    fn default() -> Self {
        Self { names: "[name]-[hash]".into(), prefix: "./".into(), outbase: Utf8PathBuf::new() }
    }
}

/// The `[hash]` of an output name: 8 base32 characters of `hash` (a content hash's bytes), as
/// esbuild's hashes look.
pub fn short_hash(hash: &[u8]) -> String {
    let mut text = data_encoding::BASE32_NOPAD.encode(hash);
    text.truncate(8);
    text
}

impl CompileOptions {
    /// The loader of `path`: by its extension, or the one for compound extensions such as
    /// `.module.css` when the user gave one. Files without a known extension are JavaScript when
    /// they have no extension at all (`bin/cli`), else have no loader.
    pub fn loader_for_path(&self, path: &camino::Utf8Path) -> Option<Loader> {
        let Some(name) = path.file_name() else { return Some(Loader::Js) };
        let lower = name.to_ascii_lowercase();
        // The longest user extension that matches (`.module.css` before `.css`).
        let user = self
            .loaders
            .iter()
            .rev()
            .filter(|(ext, _)| lower.ends_with(ext.as_str()) && lower.len() > ext.len())
            .max_by_key(|(ext, _)| ext.len())
            .map(|(_, l)| *l);
        if user.is_some() {
            return user;
        }
        match path.extension() {
            Some(ext) => Loader::default_for_extension(&ext.to_ascii_lowercase()),
            None => Some(Loader::Js),
        }
    }
}

/// Checks a `--define` pair as esbuild does: the key an identifier or a dotted member chain
/// (`import.meta.env.X` included), the value JSON or an identifier (chain). `Err` says why not.
pub fn check_define(key: &str, value: &str) -> Result<(), String> {
    if !is_identifier_chain(key) {
        return Err(format!("\"{key}\" is not an identifier or a dotted member chain"));
    }
    if !is_identifier_chain(value) && serde_json::from_str::<serde_json::Value>(value).is_err() {
        return Err(format!("the value must be JSON or an identifier (for a string, quote it: {key}='\"{value}\"')"));
    }
    Ok(())
}

/// Whether `name` is an identifier or a dotted chain of them (`process.env.NODE_ENV`): what a
/// define key and an `--inject` export that replaces a global may be.
pub fn is_identifier_chain(name: &str) -> bool {
    name.split('.').all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    })
}

/// Parses `.ext=NAME` (a `--loader` value): the extension (lowercase, with its dot) and the
/// loader. `Err` names the valid loaders.
pub fn parse_loader(ext: &str, name: &str) -> Result<(String, Loader), String> {
    let ext = ext.to_ascii_lowercase();
    let ext = if ext.starts_with('.') { ext } else { format!(".{ext}") };
    if ext.len() < 2 {
        return Err("the extension is empty".to_string());
    }
    let Some(loader) = Loader::from_name(name) else {
        let names: Vec<&str> = Loader::NAMED.iter().map(|(n, _)| *n).collect();
        return Err(format!("unknown loader \"{name}\" (valid loaders: {})", names.join(", ")));
    };
    Ok((ext, loader))
}
