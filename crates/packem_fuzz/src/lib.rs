//! packem's fuzz targets, as plain functions of bytes.
//!
//! Each target takes whatever bytes the fuzzer made and drives one surface of packem that reads
//! user input; a panic or a hang is a bug ("bad input gets a diagnostic, never a panic"). The
//! targets are functions here, not only in `fuzz/`, so that the test suite replays every
//! target's corpus and regressions on the stable toolchain (`tests/replay.rs`); `fuzz/` wraps
//! them for cargo-fuzz (nightly, libFuzzer) and `cargo xtask fuzz` runs them.
//!
//! - [`one_file`]: one file of any loader through parse, scan, symbols, link and render, with
//!   option bits from the input, its diagnostics rendered with code frames, its output written.
//! - [`project`]: a generated project of a few modules (every import and export form, CommonJS
//!   and ESM, cycles, re-exports, missing files, odd paths, a package with `exports`) through
//!   resolve, graph, link, shake, split, render, minify and write.
//! - [`lsp`]: the language server over an in-memory connection (open, incremental edits at
//!   arbitrary UTF-16 positions, navigation requests, watched-file changes, raw JSON-RPC), and
//!   its stdio framing.
//! - [`config`]: `packem.json` read as the CLI reads it.
//!
//! [`differential`] runs a generated project with Node, then its bundles (every format, with and
//! without shaking, splitting and minification), and compares what they print (`tests/`).
//!
//! Everything a target writes goes under a scratch directory of its own, removed afterwards.
#![allow(clippy::disallowed_methods)] // the targets write their inputs to scratch directories

mod config;
mod differential;
mod lsp;
mod one_file;
mod pipeline;
mod project;
mod scratch;

pub use scratch::Scratch;

pub use config::config;
pub use differential::{Config, Verdict, differential};
pub use lsp::lsp;
pub use one_file::one_file;
pub use project::{Generated, project};

/// A fuzz target: a function of the fuzzer's bytes that panics or hangs only on a bug.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/` and `fuzz/corpus/` name them.
pub const TARGETS: &[(&str, Target)] =
    &[("one_file", one_file), ("project", project), ("lsp", lsp), ("config", config)];
