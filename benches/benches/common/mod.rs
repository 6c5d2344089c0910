//! The parse-only floor shared by `parse.rs` (divan) and `latency.rs` (JSON for `cargo xtask
//! bench`): oxc parsing every module of a generated corpus's bundle once, in parallel on rayon's
//! global pool, from sources already in memory. packem parses each module the same way (one
//! arena per file, the same source types) before doing anything else, so no build of the corpus
//! can be faster than this.

use camino::Utf8PathBuf;
use packem_db::{Platform, ProjectOptions};
use packem_host::Workspace;

use oxc::allocator::Allocator;
use oxc::parser::Parser;
use oxc::semantic::SemanticBuilder;
use oxc::span::SourceType;
use rayon::prelude::*;

/// The modules of a corpus's bundle, read into memory.
pub struct Sources {
    pub files: Vec<(Utf8PathBuf, String)>,
}

impl Sources {
    /// The modules of `.fixtures/<corpus>` (a generated corpus; for a variant such as
    /// `three10-min`, the corpus it varies) that its bundle includes (the module graph from its
    /// entry: three10 has files no copy of `Three.js` imports), sorted.
    pub fn load(corpus: &str) -> Self {
        let root = packem_benches::generated_fixture(corpus);
        let entry = root.join(match packem_benches::fixture_name(corpus) {
            "three10" => "entry.js",
            "react-app" => "src/main.tsx",
            _ => "src/index.js",
        });
        let options = ProjectOptions { cwd: root, platform: Platform::Browser, ..Default::default() };
        let ws = Workspace::new(vec![entry], options);
        let mut paths: Vec<Utf8PathBuf> = ws.module_graph().modules.iter().map(|m| m.path.clone()).collect();
        paths.sort();
        let files = paths
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap();
                (path, text)
            })
            .collect();
        Self { files }
    }

    /// The total size of the sources in bytes.
    pub fn bytes(&self) -> usize {
        self.files.iter().map(|(_, text)| text.len()).sum()
    }

    /// Parses every file once in parallel (with `semantic`, also builds its scopes and symbols,
    /// checking syntax errors, as packem does); returns the number of top-level statements and
    /// panics on a parse error.
    pub fn parse_all(&self, semantic: bool) -> usize {
        self.files
            .par_iter()
            .map(|(path, text)| {
                let allocator = Allocator::default();
                let source_type = SourceType::from_path(path).unwrap_or_else(|_| SourceType::unambiguous());
                let ret = Parser::new(&allocator, text, source_type).parse();
                assert!(ret.diagnostics.is_empty() && !ret.panicked, "{path} does not parse");
                if semantic {
                    let semantic = SemanticBuilder::new().with_check_syntax_error(true).build(&ret.program);
                    assert!(semantic.diagnostics.is_empty(), "{path}: {:?}", semantic.diagnostics);
                }
                ret.program.body.len()
            })
            .sum()
    }
}
