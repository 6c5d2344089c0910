//! Parsing and scanning of one module: the oxc AST as a salsa value, and the import/export facts
//! the module graph is built from.
//!
//! Queries, each keyed by a [`packem_db::File`]:
//!
//! - [`parsed_module`]: the owned oxc AST ([`ParsedModule`]: program, semantic scoping, parse errors).
//!   `no_eq` and LRU-bounded: an AST changes with every edit, so comparing it would be wasted work.
//! - [`module_scan`]: imports, exports, format and top-level `await`, **with** spans (for diagnostics and
//!   rewriting). It re-runs on every edit and usually differs, because spans move.
//! - [`parsed_summary`]: the same facts **without** spans. **This is the early-cutoff point**: an edit
//!   inside a function body, or one that only moves code, yields an equal summary, salsa backdates it,
//!   and the module graph, resolution and linking downstream are not re-run.
//! - [`parsed_diagnostics`]: read errors and syntax errors of the file, with spans.
//! - [`module_summary`] and [`file_diagnostics`]: what the project-wide queries read. They return
//!   the file's [`ParseCell`] when the host made one (the "fact firewall", below), else the two
//!   queries above.
//!
//! The fact firewall: the module graph reads every module's summary, so once any module's text
//! has been edited (LOW durability) the graph, its diagnostics and the link would all be LOW, and
//! salsa would walk their ~10 edges per module after every keystroke just to find nothing changed.
//! The host (`packem_host::Workspace`) instead copies each module's summary and diagnostics into
//! a [`ParseCell`] input (MEDIUM durability) after the graph is built, and after every change
//! re-derives the touched files' facts and sets a cell only when they differ. A body edit then
//! leaves every MEDIUM input alone and the project-wide queries verify in O(1).
//!
//! **Architecture invariant:** no query here fails or panics on user input. Unreadable files, binary
//! files, syntax errors and pathologically deep nesting all become [`packem_db::Diagnostic`] values.
//! Recursive work (oxc's parser, semantic builder and our AST walk) runs on a stack sized from a cheap
//! pre-scan of the text, and files nested deeper than [`MAX_NESTING_DEPTH`] are refused with a
//! "nesting too deep" error (see the `nesting` module).
//!
//! It does not resolve specifiers and knows nothing about other modules.

mod compile;
mod json;
mod nesting;
mod parsed;
mod scan;
mod source;

use std::sync::Arc;

use packem_db::stored::{KeyHasher, StoredKind};
use packem_db::{Db, Diagnostic, DiagnosticCode, FileError, Loader, source_text};

pub use compile::{
    Compiled, INJECTED_SPAN_BASE, check_target, compile, is_injected_span, nested_module_declaration, oxc_diagnostic,
    source_type_for,
};
pub use nesting::{MAX_NESTING_DEPTH, with_stack_for_text};
pub use parsed::ParsedModule;
pub use scan::{
    CONTEXT_PREFIX, ExportName, ImportKind, ImportRecord, ImportRecordSummary, ModuleFormat, ModuleScan, ModuleSummary,
};
pub use source::{CompileSettings, InjectBinding, JsxSettings, Source, TsSettings};

/// The LRU capacity [`parsed_module`] is declared with.
pub const PARSED_MODULE_LRU: usize = 256;

/// Sets how many ASTs [`parsed_module`] keeps (0: all). One-shot builds keep them all, since
/// rendering reads every AST again after linking; long-lived sessions keep [`PARSED_MODULE_LRU`].
pub fn set_parsed_module_lru(db: &mut dyn Db, capacity: usize) {
    parsed_module::set_lru_capacity(db, capacity);
}

/// The compiled AST of `source` (an empty program when the text could not be read, or when the
/// loader is not a code loader).
///
/// `no_eq`: every edit changes the AST (spans at least), so equality would never cut off; consumers
/// that want cutoff read [`module_summary`] instead. LRU-bounded at 256 ASTs: an AST's arena takes
/// several times its source size, and evicted ASTs are simply re-parsed on demand. The capacity is a
/// guess, not a measurement; one-shot builds turn eviction off ([`set_parsed_module_lru`]).
#[salsa::tracked(returns(ref), no_eq, lru = 256)] // = PARSED_MODULE_LRU (the macro takes a literal)
pub fn parsed_module(db: &dyn Db, source: Source) -> ParsedModule {
    let file = source.file(db);
    let path = file.path(db);
    let _span = tracing::debug_span!("parsed_module", path = %path).entered();
    let text = source_text(db, file);
    ParsedModule::parse(path, text.arc().clone(), source.settings(db))
}

/// Imports, exports, format and top-level `await` of `source`, with spans.
#[salsa::tracked(returns(ref))]
pub fn module_scan(db: &dyn Db, source: Source) -> Arc<ModuleScan> {
    let file = source.file(db);
    let path = file.path(db);
    let _span = tracing::debug_span!("module_scan", path = %path).entered();
    let loader = source.settings(db).loader;
    match loader {
        Some(Loader::Json) => {
            let parsed = parsed_module(db, source);
            let exports =
                parsed.json_keys().iter().map(|(name, span)| ExportName { name: name.clone(), span: *span }).collect();
            return Arc::new(ModuleScan {
                format: ModuleFormat::Json,
                records: Vec::new(),
                exports,
                has_top_level_await: false,
                unbundled: Vec::new(),
            });
        }
        Some(loader) if loader.is_code() => {}
        // Assets export their value as `default`; an empty module and a file without a loader
        // export nothing (the latter is an error at its importers).
        Some(Loader::Empty | Loader::Css) | None => {
            return Arc::new(ModuleScan {
                format: ModuleFormat::Asset,
                records: Vec::new(),
                exports: Vec::new(),
                has_top_level_await: false,
                unbundled: Vec::new(),
            });
        }
        Some(_) => {
            return Arc::new(ModuleScan {
                format: ModuleFormat::Asset,
                records: Vec::new(),
                exports: vec![ExportName { name: "default".into(), span: (0, 0) }],
                has_top_level_await: false,
                unbundled: Vec::new(),
            });
        }
    }
    let parsed = parsed_module(db, source);
    let ext = match path.extension().map(str::to_ascii_lowercase).as_deref() {
        Some("mjs" | "mts") => scan::ExtensionFormat::Esm,
        Some("cjs" | "cts") => scan::ExtensionFormat::CommonJs,
        _ => scan::ExtensionFormat::Either,
    };
    Arc::new(scan::scan_program(parsed.program(), parsed.scoping(), parsed.source(), ext))
}

/// The span-free projection of [`module_scan`]: the early-cutoff point for the module graph.
#[salsa::tracked(returns(ref))]
pub fn parsed_summary(db: &dyn Db, source: Source) -> Arc<ModuleSummary> {
    let _span = tracing::debug_span!("parsed_summary", path = %source.file(db).path(db)).entered();
    Arc::new(module_scan(db, source).summary())
}

/// `source`'s summary as the project-wide queries see it: its [`ParseCell`]'s copy when the host
/// made one, else [`parsed_summary`]. Re-runs (cheaply) when cells are created, and compares equal.
#[salsa::tracked(returns(ref))]
pub fn module_summary(db: &dyn Db, source: Source) -> Arc<ModuleSummary> {
    match parse_cell(db, source) {
        Some(cell) => cell.summary(db).clone(),
        None => match stored_parse_facts(db, source) {
            Some((summary, _)) => summary.clone(),
            None => parsed_summary(db, source).clone(),
        },
    }
}

/// `source`'s read and parse errors as the project-wide queries see them: its [`ParseCell`]'s copy
/// when the host made one, else [`parsed_diagnostics`].
#[salsa::tracked(returns(ref))]
pub fn file_diagnostics(db: &dyn Db, source: Source) -> Arc<[Diagnostic]> {
    match parse_cell(db, source) {
        Some(cell) => cell.diagnostics(db).clone(),
        None => match stored_parse_facts(db, source) {
            Some((_, diagnostics)) => diagnostics.clone(),
            None => parsed_diagnostics(db, source).clone(),
        },
    }
}

/// The key of `source`'s facts in the persistent cache (under each [`StoredKind`] of facts): a hash of everything
/// [`parsed_summary`], [`parsed_diagnostics`] and `packem_link::parsed_symbols` read (the path,
/// the text and the compile settings). `None` when the text cannot be read, or the loader is not
/// a code or JSON loader (an asset's facts cost nothing to compute).
#[salsa::tracked]
pub fn fact_key(db: &dyn Db, source: Source) -> Option<u128> {
    let file = source.file(db);
    let settings = source.settings(db);
    if !settings.loader.is_some_and(|l| l.is_code() || l == Loader::Json) {
        return None;
    }
    // The text by its hash, which a second process takes from the cache without reading it.
    let text = (*packem_db::files::content_hash(db, file))?;
    let mut key = KeyHasher::new("facts");
    // The path as bytes: `Path`'s `Hash` joins components without separators.
    key.bytes(file.path(db).as_str().as_bytes()).value(&text).value(settings);
    Some(key.finish())
}

/// `source`'s summary and diagnostics as an earlier process stored them, when the host opened a
/// persistent cache that has them (see [`packem_db::stored`]): equal to [`parsed_summary`] and
/// [`parsed_diagnostics`], since the key covers everything those read.
#[salsa::tracked(returns(ref))]
pub fn stored_parse_facts(db: &dyn Db, source: Source) -> Option<(Arc<ModuleSummary>, Arc<[Diagnostic]>)> {
    packem_db::stored::StoredResults::try_get(db)?;
    let key = (*fact_key(db, source))?;
    let bytes = packem_db::stored::stored(db, StoredKind::ParseFacts, key)?;
    match postcard::from_bytes::<(ModuleSummary, Vec<Diagnostic>)>(&bytes) {
        Ok((summary, diagnostics)) => Some((Arc::new(summary), diagnostics.into())),
        Err(error) => {
            tracing::debug!(%error, path = %source.file(db).path(db), "a stored summary does not decode");
            None
        }
    }
}

/// `source`'s summary and diagnostics encoded for the persistent cache (what
/// [`stored_parse_facts`] decodes).
pub fn encode_parse_facts(summary: &ModuleSummary, diagnostics: &[Diagnostic]) -> Vec<u8> {
    postcard::to_allocvec(&(summary, diagnostics)).unwrap_or_default()
}

/// The host's copy of one source's [`parsed_summary`] and [`parsed_diagnostics`] (see the crate
/// docs, "fact firewall"). Set with MEDIUM durability, and only when the facts differ.
#[salsa::input(debug)]
pub struct ParseCell {
    /// Equal to `parsed_summary(source)` once synced.
    #[returns(ref)]
    pub summary: Arc<ModuleSummary>,
    /// Equal to `parsed_diagnostics(source)` once synced.
    #[returns(ref)]
    pub diagnostics: Arc<[Diagnostic]>,
}

/// Every [`ParseCell`] the host made, by source. Absent (and every read direct) until the host
/// creates it.
#[salsa::input(singleton, debug)]
pub struct ParseCells {
    /// The cells.
    #[returns(ref)]
    pub cells: Arc<rustc_hash::FxHashMap<Source, ParseCell>>,
}

fn parse_cell(db: &dyn Db, source: Source) -> Option<ParseCell> {
    ParseCells::try_get(db).and_then(|cells| cells.cells(db).get(&source).copied())
}

/// Read errors (not found, directory, not UTF-8, too large, I/O) or else parse errors of `source`.
/// Assets read as bytes report their read errors where they are rendered; a file without a loader
/// is reported at its importers.
#[salsa::tracked(returns(ref))]
pub fn parsed_diagnostics(db: &dyn Db, source: Source) -> Arc<[Diagnostic]> {
    let file = source.file(db);
    let path = file.path(db);
    let _span = tracing::debug_span!("parsed_diagnostics", path = %path).entered();
    let loader = source.settings(db).loader;
    if !loader.is_some_and(|l| l.is_code() || l == Loader::Json) {
        return Arc::from([]);
    }
    if let Some(error) = source_text(db, file).error() {
        let diagnostic = match error {
            FileError::NotFound => Diagnostic::error(DiagnosticCode::UnreadableFile, "Could not read file: not found"),
            FileError::IsADirectory => {
                Diagnostic::error(DiagnosticCode::UnreadableFile, "Could not read file: it is a directory")
            }
            FileError::NotUtf8 { valid_up_to } => Diagnostic::error(
                DiagnosticCode::InvalidUtf8,
                format!("Could not read file: it is not valid UTF-8 (invalid byte at offset {valid_up_to})"),
            )
            .with_help("Binary files cannot be imported as code; use a loader for assets instead."),
            FileError::TooLarge { len } => Diagnostic::error(
                DiagnosticCode::FileTooLarge,
                format!("Could not read file: it is too large ({len} bytes; the limit is 4 GiB)"),
            ),
            FileError::Io(message) => {
                Diagnostic::error(DiagnosticCode::UnreadableFile, format!("Could not read file: {message}"))
            }
        };
        return Arc::from([diagnostic.at(path.clone(), None)]);
    }
    let mut all: Vec<Diagnostic> = parsed_module(db, source)
        .errors()
        .iter()
        .map(|d| {
            let mut d = d.clone();
            d.file = Some(path.clone());
            for note in &mut d.notes {
                if note.range.is_some() && note.file.is_none() {
                    note.file = Some(path.clone());
                }
            }
            d
        })
        .collect();
    // Run-time loads the bundle cannot serve, in the project's own code (packages do this on
    // purpose, for optional dependencies). Part of the file's facts, so the fact cells carry them.
    if all.is_empty() && !path.components().any(|c| c.as_str() == "node_modules") {
        for span in &module_scan(db, source).unbundled {
            all.push(
                Diagnostic::warning(
                    DiagnosticCode::UnbundledImport,
                    "This import() or require() is left for run time: its argument is not a string, nor a template or concatenation that starts with a relative directory",
                )
                .with_help("Write the path as `./dir/${name}.ext` (or \"./dir/\" + name + \".ext\") so that the files it can load are bundled, or mark what it loads external.")
                .at(path.clone(), Some(*span)),
            );
        }
    }
    all.into()
}
