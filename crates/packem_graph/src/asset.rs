//! Assets: the value of a module loaded with a non-code loader (`text`, `base64`, `dataurl`,
//! `binary`, `file`), and the files the `file` and `copy` loaders put in the output directory.

use packem_db::syntax::quote;
use std::sync::Arc;

use packem_db::{Diagnostic, DiagnosticCode, File, FileError, Loader, Platform, Project, source_bytes};
use packem_parse::Source;

/// The largest file a loader reads as bytes. A bundle embedding more is almost always a mistake
/// (a video imported by accident), and reading it whole would cost that much memory per copy.
pub const MAX_ASSET_BYTES: usize = 50 << 20;

/// A file the output directory receives: its name there and its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AssetFile {
    /// The path under the output directory, with forward slashes (`logo-AB12CD34.png`).
    pub name: String,
    /// The contents.
    pub bytes: Arc<[u8]>,
    /// The file it is a copy of.
    pub source: camino::Utf8PathBuf,
}

/// The bytes of `file` for loader `loader`, or the error to report.
fn bytes(db: &dyn packem_resolve::Db, file: File, loader: Loader) -> Result<Arc<[u8]>, Diagnostic> {
    let path = file.path(db);
    let bytes = source_bytes(db, file).clone().map_err(|error| {
        let reason = match error {
            FileError::NotFound => "not found".to_string(),
            FileError::IsADirectory => "it is a directory".to_string(),
            other => other.to_string(),
        };
        Diagnostic::error(DiagnosticCode::UnreadableFile, format!("Could not read file: {reason}"))
            .at(path.clone(), None)
    })?;
    if bytes.len() > MAX_ASSET_BYTES {
        return Err(Diagnostic::error(
            DiagnosticCode::FileTooLarge,
            format!(
                "Cannot load this file with the \"{}\" loader: it is {} bytes, more than the 50 MB limit for assets",
                loader.as_str(),
                bytes.len()
            ),
        )
        .at(path.clone(), None)
        .with_help("Serve large files separately instead of importing them, or mark the import external."));
    }
    Ok(bytes)
}

/// The output file of an asset loaded with the `file` or `copy` loader of `project`: named by
/// `--asset-names` (`[name]-[hash]` by default, the extension appended), with a content hash.
#[salsa::tracked(returns(ref))]
pub fn asset_file(db: &dyn packem_resolve::Db, project: Project, file: File) -> Result<AssetFile, Diagnostic> {
    let path = file.path(db);
    let _span = tracing::debug_span!("asset_file", path = %path).entered();
    let bytes = bytes(db, file, Loader::File)?;
    let options = &project.compile(db).assets;
    let hash = packem_db::short_hash(&xxhash_rust::xxh3::xxh3_64(&bytes).to_le_bytes());
    let stem = path.file_stem().unwrap_or("asset");
    let ext = path.extension().unwrap_or_default();
    let dir = path
        .parent()
        .and_then(|p| p.strip_prefix(&options.outbase).ok())
        .map(|p| p.as_str().replace('\\', "/"))
        .unwrap_or_default();
    let mut name = options.names.replace("[name]", stem).replace("[hash]", &hash).replace("[dir]", &dir);
    if name.contains("[ext]") {
        name = name.replace("[ext]", ext);
    } else if !ext.is_empty() {
        name = format!("{name}.{ext}");
    }
    // `[dir]` of a file directly in the outbase is empty: drop the leading slash it leaves.
    let name = name.trim_start_matches('/').replace("//", "/");
    Ok(AssetFile { name, bytes, source: path.clone() })
}

/// How the output refers to an asset file: `--public-path` joined with its name, or its path
/// relative to the outputs.
pub fn asset_url(db: &dyn packem_resolve::Db, project: Project, name: &str) -> String {
    let prefix = &project.compile(db).assets.prefix;
    if prefix.is_empty() || prefix.ends_with('/') { format!("{prefix}{name}") } else { format!("{prefix}/{name}") }
}

/// The JavaScript expression a value module (`text`, `base64`, `dataurl`, `binary`, `file`)
/// exports as `default`, or the error that keeps it from loading. `None` for other loaders.
#[salsa::tracked(returns(ref))]
pub fn asset_value(
    db: &dyn packem_resolve::Db,
    project: Project,
    source: Source,
) -> Option<Result<String, Diagnostic>> {
    let file = source.file(db);
    let loader = source.settings(db).loader?;
    let _span = tracing::debug_span!("asset_value", path = %file.path(db)).entered();
    let value = match loader {
        Loader::Text => bytes(db, file, loader).and_then(|bytes| match std::str::from_utf8(&bytes) {
            Ok(text) => Ok(quote(text.strip_prefix('\u{feff}').unwrap_or(text))),
            Err(err) => Err(Diagnostic::error(
                DiagnosticCode::InvalidUtf8,
                format!(
                    "Cannot load this file with the \"text\" loader: it is not valid UTF-8 (invalid byte at offset {})",
                    err.valid_up_to()
                ),
            )
            .at(file.path(db).clone(), None)
            .with_help(format!(
                "Binary files need a binary-safe loader: --loader:.{}=binary (a Uint8Array), base64 or dataurl.",
                file.path(db).extension().unwrap_or("ext")
            ))),
        }),
        Loader::Base64 => bytes(db, file, loader).map(|bytes| quote(&data_encoding::BASE64.encode(&bytes))),
        Loader::DataUrl => bytes(db, file, loader).map(|bytes| quote(&data_url(file.path(db), &bytes))),
        Loader::Binary => bytes(db, file, loader).map(|bytes| {
            let helper = if project.options(db).platform == Platform::Node { "__toBinaryNode" } else { "__toBinary" };
            format!("{helper}({})", quote(&data_encoding::BASE64.encode(&bytes)))
        }),
        Loader::File => match asset_file(db, project, file) {
            Ok(asset) => Ok(quote(&asset_url(db, project, &asset.name))),
            Err(d) => Err(d.clone()),
        },
        _ => return None,
    };
    Some(value)
}

/// `bytes` as the shorter of a base64 and a percent-escaped `data:` URL (esbuild's choice: text
/// is usually shorter escaped, binary data must be base64).
pub fn data_url(path: &camino::Utf8Path, bytes: &[u8]) -> String {
    let guess = mime_guess::from_path(path.as_std_path()).first_raw().unwrap_or("application/octet-stream");
    let text = std::str::from_utf8(bytes).ok();
    // esbuild's rule: a charset for text types, JSON and JavaScript only (not SVG).
    let textual = guess.starts_with("text/") || matches!(guess, "application/json" | "application/javascript");
    let mime = if textual { format!("{guess};charset=utf-8") } else { guess.to_string() };
    let base64 = format!("data:{mime};base64,{}", data_encoding::BASE64.encode(bytes));
    match text.map(|t| percent_data_url(&mime, t)) {
        Some(escaped) if escaped.len() < base64.len() => escaped,
        _ => base64,
    }
}

/// A `data:` URL of `text` with only what a URL parser would misread escaped: tabs and line
/// breaks (which URL parsers drop), `#` (a fragment), `%` before two hex digits (an escape) and
/// trailing spaces or control characters (trimmed by URL parsers).
fn percent_data_url(mime: &str, text: &str) -> String {
    let mut out = format!("data:{mime},");
    let trailing = text.trim_end_matches(|c: char| c <= ' ' && !matches!(c, '\t' | '\n' | '\r')).len();
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let percent_escape = c == '%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if matches!(c, '\t' | '\n' | '\r' | '#') || i >= trailing || percent_escape {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}
