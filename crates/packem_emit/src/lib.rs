//! Emission: the code of each module and the assembly of each entry's output file.
//!
//! Sits on `packem_link` (what each import binds to, final names) and below the host (which
//! writes files). Owns the [`Target`] input (output format and options), and the queries
//! [`rendered_module`] (one module's code), [`rendered_chunk`] (one entry's output) and
//! [`bundle`] (every output plus format-specific diagnostics).
//!
//! Cutoff: `rendered_module` is `Eq` on its code; `rendered_chunk` reads the chunk plan and the
//! rendered modules, so a body edit re-runs one `rendered_module` and one `rendered_chunk`.
//!
//! It does not decide names or bindings (`packem_link` does) and writes nothing.

mod chunk;
mod render;

use packem_db::Project;

pub use chunk::{Bundle, ChunkOutput, bundle, rendered_chunk};
pub use render::rendered_module;

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
}

/// `code` with every non-empty line indented by two spaces (the body of a wrapper function).
pub(crate) fn indent(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + code.len() / 8);
    for line in code.lines() {
        if !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
