//! Linking: binds every import to the export it refers to, across modules.
//!
//! Sits between `packem_graph` (which modules import which) and `packem_emit` (code). Owns the
//! queries [`module_symbols`] (one module's bindings, span-free), [`link`] (the whole project)
//! and [`module_link`] (one module's part of the link, the per-module cutoff point), plus the
//! runtime helpers.
//!
//! Cutoff: `link` reads only `module_graph`, `module_summary` and `module_symbols` (the latter
//! two through the host's fact cells, see `packem_parse`), all `Eq` and
//! free of spans and oxc ids, so a body edit that declares no new name re-runs nothing here; and
//! when `link` does re-run, `module_link` compares equal for every module whose names and rewrites
//! did not change, so their rendered code is reused.
//!
//! Its output is data ([`output`]): it prints no code (`packem_emit` does) and never reads files.
//! `linker.rs` is the driver; each step has a file of its own.

mod binding;
mod chunk_plan;
mod chunking;
mod cross_chunk;
mod linker;
pub mod module_type;
mod naming;
pub mod output;
pub mod package_json;
mod projection;
pub mod runtime;
mod shaking;
mod side_effects;
pub mod statements;
mod symbols;
mod wrapping;

pub use linker::{link, module_link, trace_export};
pub use output::{
    Binding, ChunkImport, ChunkKind, ChunkPlan, CjsRef, ExternalBinding, Glue, LazyModule, LinkOutput, ModuleLink,
    NameUse, NamespaceObject, OrderItem, RecordRewrite, SourceKey, ValueRef, Wrap,
};
pub use runtime::Helpers;
pub use side_effects::side_effect_free;
pub use statements::StatementFacts;
pub use symbols::{
    ImportBinding, Imported, ModuleSymbols, ReExport, SymbolsCell, SymbolsCells, encode_symbols, export_name,
    module_symbols, parsed_symbols, stored_symbols, value_module_locals,
};
