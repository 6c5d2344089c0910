//! Writing bundles to disk safely, and describing what was written.
//!
//! This crate owns the last step of a build: turning a list of finished output files (a path
//! relative to the output directory and its bytes) into files on disk, plus the two reports
//! about them that users see:
//!
//! - [`write_outputs`] validates every path first ([`validate_paths`]: no absolute paths, no
//!   `..` escaping the output directory, no NUL bytes, no duplicates, no overwriting an input
//!   unless `--allow-overwrite`, no symlinked directory leading outside the output directory;
//!   see Rollup's CVE-2026-27606), and only then writes each changed file atomically (temporary
//!   file in the same directory, then rename). Files whose bytes are already on disk are not
//!   touched, so their mtime survives and file watchers downstream stay quiet. Files written by
//!   the previous build ([`WrittenSet`]) that this build no longer produces are deleted; nothing
//!   else in the output directory ever is.
//! - [`summary`] renders esbuild's build summary table (`  out/main.js  12.3kb`, `⚡ Done in 12ms`).
//! - [`Metafile`] is esbuild's metafile (`--metafile`), serialized deterministically.
//!
//! It does not produce bundles (linking, code generation and chunk naming live elsewhere), does
//! not decide where the output directory is, and does not use salsa: writing is a side effect
//! performed once per build by the CLI, outside the query system.
#![allow(clippy::disallowed_methods)] // this crate owns writing outputs (see clippy.toml)

mod error;
mod metafile;
mod paths;
mod summary;
mod write;

pub use error::{OutputError, OutputErrorCode};
pub use metafile::{MetaImport, MetaInput, MetaOutput, MetaOutputInput, Metafile};
pub use paths::{InputPaths, normalize_output_path, validate_paths};
pub use summary::{
    DEFAULT_TERMINAL_WIDTH, SIZE_WARNING_THRESHOLD, format_size, sort_like_esbuild, summary, summary_with_width,
};
pub use write::{
    Contents, OutputFile, Outputs, WriteDelta, WriteOptions, WriteReport, WrittenSet, remove_spares, write_changed,
    write_file, write_outputs,
};
