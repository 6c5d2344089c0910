//! The base of packem's salsa database: file inputs, the project input, diagnostics and the
//! query-event log.
//!
//! Every other compiler crate builds on the [`Db`] trait defined here. This crate owns the
//! inputs: a [`File`] per path (created lazily by [`Files`], a missing path included) and the
//! [`Project`] with its entries and options. It owns one query, [`source_text`], which turns a
//! file's revision into text and is the first early-cutoff point: touching a file without
//! changing its bytes stops here.
//!
//! It does not know about JavaScript, resolution or the module graph.

pub mod compile;
pub mod context;
pub mod diagnostic;
pub mod events;
pub mod files;
pub mod project;
pub mod stored;
pub mod syntax;

pub use compile::{
    AssetOptions, CompileOptions, JsxMode, JsxOptions, Loader, check_define, is_identifier_chain, parse_loader,
    short_hash,
};
pub use diagnostic::{Diagnostic, DiagnosticCode, Label, Severity};
pub use events::EventLog;
pub use files::{File, FileError, FileStatus, Files, SourceText, source_bytes, source_text};
pub use project::{LinkOptions, Minify, Platform, Project, ProjectOptions, ResolveScope};

/// The database interface of the foundation layer.
///
/// The one concrete database lives in `packem_host`; tests build their own.
#[salsa::db]
pub trait Db: salsa::Database {
    /// The registry mapping paths to [`File`] inputs.
    fn files(&self) -> &Files;
}
