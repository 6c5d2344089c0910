//! esbuild's metafile (<https://esbuild.github.io/api/#metafile>).
//!
//! Field names and optionality follow the `Metafile` interface in esbuild's
//! `lib/shared/types.ts`, so tools built for esbuild's metafile (bundle analyzers, size
//! checks) read ours. One deliberate difference in form, not shape: every object's keys are
//! sorted (struct fields are declared alphabetically, maps are `BTreeMap`s), whereas esbuild
//! emits them in build order; identical builds must produce identical bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole metafile: every input read and every output written, keyed by path (relative to
/// the working directory, forward slashes, as esbuild prints them).
#[derive(Serialize, Deserialize, Default, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct Metafile {
    /// Input files by path.
    pub inputs: BTreeMap<String, MetaInput>,
    /// Output files by path.
    pub outputs: BTreeMap<String, MetaOutput>,
}

/// One input file.
#[derive(Serialize, Deserialize, Default, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct MetaInput {
    /// Size of the file in bytes.
    pub bytes: u64,
    /// `"esm"` or `"cjs"` when the module format is known; omitted otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Every import record of the file, in source order.
    pub imports: Vec<MetaImport>,
    /// Import attributes the file was loaded with (`with { type: "json" }`); omitted when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<BTreeMap<String, String>>,
}

/// One import, from an input (`original` and `with` possible) or an output (never those).
#[derive(Serialize, Deserialize, Default, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct MetaImport {
    /// `true` when the import is left to the runtime; omitted when `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub external: bool,
    /// `entry-point`, `import-statement`, `require-call`, `dynamic-import`, `require-resolve`,
    /// `import-rule`, `composes-from`, `url-token`, or (outputs only) `file-loader`.
    pub kind: String,
    /// The specifier as written in the source, when it differs from `path`; omitted otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
    /// The resolved path (an input path, an output path, or the external specifier).
    pub path: String,
    /// Import attributes on this import; omitted when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<BTreeMap<String, String>>,
}

/// One output file.
#[derive(Serialize, Deserialize, Default, Clone, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct MetaOutput {
    /// Size of the file in bytes.
    pub bytes: u64,
    /// The CSS file generated alongside a JS entry that imports CSS; omitted when none.
    #[serde(default, rename = "cssBundle", skip_serializing_if = "Option::is_none")]
    pub css_bundle: Option<String>,
    /// The input path of the entry point this output is for; omitted for shared chunks.
    #[serde(default, rename = "entryPoint", skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    /// Names exported by the output (always present, possibly empty).
    pub exports: Vec<String>,
    /// Other outputs and externals this output imports (always present, possibly empty).
    pub imports: Vec<MetaImport>,
    /// The inputs that contributed code, with how many bytes each contributed.
    pub inputs: BTreeMap<String, MetaOutputInput>,
}

/// How much of one input ended up in one output.
#[derive(Serialize, Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(deny_unknown_fields)]
pub struct MetaOutputInput {
    /// Bytes of the output attributed to this input.
    #[serde(rename = "bytesInOutput")]
    pub bytes_in_output: u64,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Metafile {
    /// The JSON text: keys sorted at every level, 2-space indentation, no trailing newline
    /// (like esbuild's).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a metafile always serializes")
    }

    /// Parses a metafile (ours or esbuild's).
    pub fn from_json(text: &str) -> Result<Metafile, serde_json::Error> {
        serde_json::from_str(text)
    }
}
