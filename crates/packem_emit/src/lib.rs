//! Emission: the code of each module and the assembly of each entry's output file.
//!
//! Sits on `packem_link` (what each import binds to, final names) and below the host (which
//! writes files). Owns the [`Target`] input (output format and options), and the queries
//! [`rendered_module`] (one module's code), [`rendered_chunk`] (one entry's output) and
//! [`bundle`] (every output plus format-specific diagnostics).
//!
//! Cutoff: `rendered_module` is `Eq` on its code; [`rendered_run`] assembles a run of about 24
//! consecutive modules and `rendered_chunk` the chunk plan's glue and the runs, so a body edit
//! re-runs one `rendered_module`, one `rendered_run` and one `rendered_chunk` (about N/24 + 24
//! memo fetches rather than N). A chunk's [`Code`] is a list of pieces shared with the module
//! memos, so those re-runs copy no module's code.
//!
//! It does not decide names or bindings (`packem_link` does) and writes nothing.

mod chunk;
mod code;
mod declarations;
mod mangle_props;
mod minify;
mod naming;
mod parts;
mod render;
mod sourcemap;
mod spelling;

use std::sync::Arc;

use packem_db::Project;
use packem_link::{ModuleLink, module_link};
use packem_parse::Source;
use rustc_hash::FxHashMap;

pub use chunk::{
    Bundle, ChunkOutput, Chunks, ModuleRun, PartOutput, RenderedRun, bundle, rendered_chunk, rendered_run,
};
pub use code::{Code, CodeBuilder, Piece, chunk_marker, part_marker};
pub use declarations::{
    DeclarationSpecifier, Declarations, DeclaredModule, ModuleDeclaration, declares, module_declaration,
    project_declarations,
};
pub use mangle_props::{ManglePropsOptions, PropertyFacts, property_facts, property_mapping};
pub use naming::{NamesCell, OutputNames, output_names};

pub use render::{RenderedModule, encode_render, render_key, rendered_module};
pub use sourcemap::{MapParts, Mappings, ModuleMap, OutputMap};

/// Output module format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// ES modules (`import`/`export`); the default.
    #[default]
    Esm,
    /// CommonJS (`require`/`module.exports`).
    Cjs,
    /// An immediately-invoked function, optionally assigning the exports to a global.
    Iife,
}

impl Format {
    /// The flag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Esm => "esm",
            Format::Cjs => "cjs",
            Format::Iife => "iife",
        }
    }
}

/// How legal comments (`/*! … */`, `@license`, `@preserve`) are kept (esbuild's `--legal-comments`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LegalComments {
    /// Dropped.
    None,
    /// Kept where they are.
    Inline,
    /// Collected at the end of each output (esbuild's default for bundles).
    #[default]
    Eof,
    /// Collected in `<output>.LEGAL.txt`, which a comment at the end of the output names.
    Linked,
    /// Collected in `<output>.LEGAL.txt`, without a comment.
    External,
}

/// Emission options that do not change linking: what surrounds the code and which comments stay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EmitOptions {
    /// Text put before each output (`--banner:js=`).
    pub banner: Option<String>,
    /// Text put after each output (`--footer:js=`).
    pub footer: Option<String>,
    /// Legal comments.
    pub legal_comments: LegalComments,
    /// How a split build's files are named.
    pub chunk_naming: ChunkNaming,
    /// With code splitting: the size in bytes above which a chunk's modules are split into
    /// several files (`--max-chunk-size`).
    pub max_chunk_size: Option<u64>,
    /// Source maps (`--sourcemap`), when they are made.
    pub sourcemap: Option<SourceMapOptions>,
    /// Property mangling (`--mangle-props`), when on.
    pub mangle_props: Option<ManglePropsOptions>,
    /// Whether the host writes declaration files (`--declarations`; see [`project_declarations`]).
    pub declarations: bool,
}

/// How source maps are made (`--sourcemap`, `--sources-content`, `--source-root`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceMapOptions {
    /// Where the map goes.
    pub mode: SourceMapMode,
    /// Whether the map holds the sources' text (`sourcesContent`).
    pub sources_content: bool,
    /// The map's `sourceRoot`.
    pub source_root: Option<String>,
    /// The output directory, absolute: `sources` are relative to it (and adjusted for an output
    /// in a directory below it).
    pub base: camino::Utf8PathBuf,
}

/// Where a source map goes (esbuild's `--sourcemap` values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SourceMapMode {
    /// A `.map` file and a `//# sourceMappingURL=` comment naming it.
    #[default]
    Linked,
    /// The map in the comment, as a `data:` URL.
    Inline,
    /// A `.map` file, no comment.
    External,
    /// A `.map` file and the map inline.
    Both,
}

/// How the files of a split build are named (`--entry-names`, `--chunk-names`): with code
/// splitting, chunks import each other by path, so emission names them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChunkNaming {
    /// Per entry: its path under the output directory with `[dir]` and `[name]` filled in and
    /// the extension included; `[hash]` is filled in from the contents. Empty: `[name].js`.
    pub entries: Vec<String>,
    /// The path template of the other chunks (`[dir]`, `[name]`, `[hash]`), without extension.
    pub chunks: String,
    /// The extension of chunks.
    pub extension: String,
    /// The directory `[dir]` is relative to (empty: `[dir]` is empty).
    pub outbase: camino::Utf8PathBuf,
}

impl Default for ChunkNaming {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            chunks: "[name]-[hash]".to_string(),
            extension: ".js".to_string(),
            outbase: camino::Utf8PathBuf::new(),
        }
    }
}

/// What to build: a project and how to emit it.
#[salsa::input(debug)]
pub struct Target {
    /// The project (entries and resolution options).
    #[returns(copy)]
    pub project: Project,
    /// The output format.
    #[returns(copy)]
    pub format: Format,
    /// For `iife`: the global variable the entry's exports are assigned to.
    #[returns(ref)]
    pub global_name: Option<String>,
    /// Banner, footer, comments, names.
    #[returns(ref)]
    pub emit: EmitOptions,
    /// The host's copy of each module's link information (see [`LinkCell`]).
    #[returns(ref)]
    pub link_cells: Arc<FxHashMap<Source, LinkCell>>,
    /// The host's copy of a split build's output names (see [`NamesCell`]).
    pub names_cell: Option<NamesCell>,
    /// The host's copy of [`property_mapping`] (`--mangle-props`): renders read it, so the
    /// mapping re-running after an edit (which its durability drop can force) re-renders
    /// nothing unless the mapping itself changed. `None` until the host syncs it.
    #[returns(ref)]
    pub property_names: Option<Arc<Vec<(String, String)>>>,
}

/// One module's part of linking, copied into an input by the host after linking (the "link
/// firewall").
///
/// Linking reads every module, so once any module's contents are LOW durability (edited), so is
/// `link` and everything that reads it: after each edit salsa would walk the dependencies of all
/// N renders to verify them. A render reads its module's link information from this input
/// (MEDIUM durability) instead, so an unedited module's render verifies in O(1). The host
/// (`Workspace::build`) compares `link`'s output with the cells after linking and sets only the
/// cells that differ, before any render runs; renders of modules without a cell read
/// `module_link` directly.
#[salsa::input(debug)]
pub struct LinkCell {
    /// The module's link information, equal to `module_link(project, file)` once synced.
    #[returns(ref)]
    pub info: ModuleLink,
}

/// The cell of the module `source` in `target`, if the host made one (`Eq`, so a new cell for
/// another module does not re-run every render).
#[salsa::tracked]
pub fn link_cell(db: &dyn packem_resolve::Db, target: Target, source: Source) -> Option<LinkCell> {
    target.link_cells(db).get(&source).copied()
}

/// The module `source`'s link information: its cell's when the host made one, else
/// `module_link`'s.
pub(crate) fn link_info(db: &dyn packem_resolve::Db, target: Target, source: Source) -> &ModuleLink {
    match link_cell(db, target, source) {
        Some(cell) => cell.info(db),
        None => module_link(db, target.project(db), source),
    }
}

/// How generated code is spelled: indented, or compact (`--minify-whitespace`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Style {
    /// `--minify-whitespace`.
    pub(crate) compact: bool,
}

impl Style {
    /// The style of `target`'s output.
    pub(crate) fn of(db: &dyn packem_resolve::Db, target: Target) -> Self {
        Style { compact: target.project(db).link(db).minify.whitespace }
    }

    /// Generated `code` (glue, wrappers, helpers: never user code) at `levels` of indentation,
    /// or compact.
    pub(crate) fn glue(self, code: &str, levels: u32) -> String {
        if self.compact { spelling::compact(code) } else { indent(code, levels) }
    }
}

/// Generated `code` with every non-empty line indented by `levels` × two spaces.
///
/// Only for code packem generates (wrappers, glue, JSON): an indented line inside a template
/// literal would change the string, so user code is indented by the code generator instead.
pub(crate) fn indent(code: &str, levels: u32) -> String {
    if levels == 0 {
        return code.to_owned();
    }
    let prefix = "  ".repeat(levels as usize);
    let mut out = String::with_capacity(code.len() + code.len() / 8);
    for line in code.lines() {
        if !line.is_empty() {
            out.push_str(&prefix);
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
