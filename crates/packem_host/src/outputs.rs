//! A bundle's files as `packem_output`'s writer reads them.

use std::borrow::Cow;
use std::sync::Arc;

use packem_emit::{Bundle, ChunkOutput, Code, LegalComments, SourceMapMode, SourceMapOptions};
use packem_output::OutputFile;

/// The files of one build: its chunks, then their companions (each chunk's `.map` when source
/// maps go to files, its `.LEGAL.txt` with `--legal-comments=linked|external`), then its
/// assets. The chunks' pieces are handed over only for the files the writer
/// looks at, so an unchanged chunk costs no allocation.
pub struct BundleOutputs<'a> {
    /// The bundle.
    pub bundle: &'a Bundle,
    /// The chunks' names when the caller names them (empty: each chunk's `file_name`, which a
    /// split build's chunks have).
    pub names: &'a [String],
    /// The assets, as files.
    pub assets: &'a [OutputFile],
    /// How source maps are written, when they are made.
    pub sourcemap: Option<&'a SourceMapOptions>,
    /// How legal comments are written.
    pub legal_comments: LegalComments,
    /// The companion files: (chunk, what, path).
    companions: Vec<(usize, Companion, String)>,
}

/// A file written next to a chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Companion {
    /// Its source map.
    Map,
    /// Its legal comments.
    Legal,
}

impl<'a> BundleOutputs<'a> {
    /// The files of `bundle`, its chunks named by `names` (see the field).
    pub fn new(
        bundle: &'a Bundle,
        names: &'a [String],
        assets: &'a [OutputFile],
        sourcemap: Option<&'a SourceMapOptions>,
        legal_comments: LegalComments,
    ) -> Self {
        let mut outputs = BundleOutputs { bundle, names, assets, sourcemap, legal_comments, companions: Vec::new() };
        let maps = sourcemap.is_some_and(|s| s.mode != SourceMapMode::Inline);
        let mut companions = Vec::new();
        for (i, chunk) in bundle.chunks.iter().enumerate() {
            if maps && chunk.map.is_some() {
                companions.push((i, Companion::Map, format!("{}.map", outputs.chunk_path(i))));
            }
            if chunk.legal.is_some() {
                companions.push((i, Companion::Legal, format!("{}.LEGAL.txt", outputs.chunk_path(i))));
            }
        }
        outputs.companions = companions;
        outputs
    }

    /// Whether file `index` is a chunk's companion (its `.map` or `.LEGAL.txt` file).
    pub fn is_companion(&self, index: usize) -> bool {
        matches!(self.kind(index), File::Map(_) | File::Legal(_))
    }

    /// File `index`'s size in bytes.
    pub fn len(&self, index: usize) -> u64 {
        match self.kind(index) {
            File::Chunk(chunk) => {
                let code = &self.bundle.chunks[chunk].code;
                code.len() as u64 + self.comment(chunk).map_or(0, |c| c.len() as u64)
            }
            File::Map(chunk) => self.map_json(chunk).map_or(0, |j| j.len() as u64),
            File::Legal(chunk) => self.chunk(chunk).legal.as_ref().map_or(0, |l| l.len() as u64),
            File::Asset(asset) => self.assets[asset].len(),
        }
    }

    fn kind(&self, index: usize) -> File {
        let chunks = self.bundle.chunks.len();
        if index < chunks {
            File::Chunk(index)
        } else if let Some((chunk, companion, _)) = self.companions.get(index - chunks) {
            match companion {
                Companion::Map => File::Map(*chunk),
                Companion::Legal => File::Legal(*chunk),
            }
        } else {
            File::Asset(index - chunks - self.companions.len())
        }
    }

    fn chunk_path(&self, chunk: usize) -> &str {
        match self.names.get(chunk) {
            Some(name) => name,
            None => self.bundle.chunks[chunk].file_name.as_deref().unwrap_or_default(),
        }
    }

    /// The last component of chunk `chunk`'s path (what its comments name).
    fn chunk_file_name(&self, chunk: usize) -> &str {
        let path = self.chunk_path(chunk);
        path.rsplit_once('/').map_or(path, |(_, file)| file)
    }

    fn chunk(&self, chunk: usize) -> &ChunkOutput {
        &self.bundle.chunks[chunk]
    }

    /// The source map of chunk `chunk` as JSON.
    fn map_json(&self, chunk: usize) -> Option<Code> {
        let (options, map) = (self.sourcemap?, self.chunk(chunk).map.as_ref()?);
        let path = self.chunk_path(chunk);
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
        // Sources are relative to the output directory; an output below it goes up first.
        let prefix = if dir.is_empty() { String::new() } else { "../".repeat(dir.split('/').count()) };
        Some(map.json(file, options.source_root.as_deref(), &prefix))
    }

    /// What chunk `chunk` ends with beyond its code: the comment naming its legal comments'
    /// file, and the `//# sourceMappingURL=` comment, each on a line of its own.
    fn comment(&self, chunk: usize) -> Option<Arc<str>> {
        let legal = self.legal_comment(chunk);
        let map = self.map_comment(chunk, legal.is_some());
        match (legal, map) {
            (None, None) => None,
            (Some(a), None) | (None, Some(a)) => Some(a.into()),
            (Some(a), Some(b)) => Some(format!("{a}{b}").into()),
        }
    }

    /// `/*! For license information please see <output>.LEGAL.txt */` (`--legal-comments=linked`).
    fn legal_comment(&self, chunk: usize) -> Option<String> {
        self.chunk(chunk).legal.as_ref().filter(|_| self.legal_comments == LegalComments::Linked)?;
        let newline = if self.chunk(chunk).code.ends_with_newline() { "" } else { "\n" };
        let file = self.chunk_file_name(chunk);
        Some(format!("{newline}/*! For license information please see {file}.LEGAL.txt */\n"))
    }

    /// The `//# sourceMappingURL=` comment, if any (`after_legal`: after the legal comment, so
    /// on a new line anyway).
    fn map_comment(&self, chunk: usize, after_legal: bool) -> Option<String> {
        let options = self.sourcemap?;
        self.chunk(chunk).map.as_ref()?;
        let newline = if after_legal || self.chunk(chunk).code.ends_with_newline() { "" } else { "\n" };
        match options.mode {
            SourceMapMode::External => None,
            SourceMapMode::Linked => {
                let file = self.chunk_file_name(chunk);
                Some(format!("{newline}//# sourceMappingURL={file}.map\n"))
            }
            SourceMapMode::Inline | SourceMapMode::Both => {
                let json = self.map_json(chunk)?.to_string();
                let encoded = data_encoding::BASE64.encode(json.as_bytes());
                Some(format!("{newline}//# sourceMappingURL=data:application/json;base64,{encoded}\n"))
            }
        }
    }

    /// The hash of chunk `chunk`'s file: its code's, and its comments'.
    fn chunk_hash(&self, chunk: usize) -> u128 {
        let code = self.chunk(chunk).code.hash128();
        let maps = self.sourcemap.filter(|_| self.chunk(chunk).map.is_some());
        let legal = self.chunk(chunk).legal.is_some() && self.legal_comments == LegalComments::Linked;
        if maps.is_none() && !legal {
            return code;
        }
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&code.to_le_bytes());
        // The comments name the output's own file.
        hasher.update(self.chunk_path(chunk).as_bytes());
        hasher.update(&[u8::from(legal)]);
        if let Some(options) = maps {
            hasher.update(&[options.mode as u8]);
            if matches!(options.mode, SourceMapMode::Inline | SourceMapMode::Both) {
                hasher.update(&self.map_hash(chunk).to_le_bytes());
            }
        }
        hasher.digest128()
    }

    /// The hash of chunk `chunk`'s map file.
    fn map_hash(&self, chunk: usize) -> u128 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        if let Some(map) = &self.chunk(chunk).map {
            for part in [&map.mappings, &map.sources, &map.contents, &map.names] {
                hasher.update(&part.hash128().to_le_bytes());
            }
        }
        hasher.update(self.chunk_path(chunk).as_bytes());
        if let Some(root) = self.sourcemap.and_then(|s| s.source_root.as_deref()) {
            hasher.update(root.as_bytes());
        }
        hasher.digest128()
    }
}

impl BundleOutputs<'_> {
    /// Chunk `chunk`'s `.LEGAL.txt`.
    fn legal_file(&self, chunk: usize) -> OutputFile {
        let path = format!("{}.LEGAL.txt", self.chunk_path(chunk));
        let text = self.chunk(chunk).legal.clone().unwrap_or_default();
        OutputFile::new(path, Arc::<[u8]>::from(text.as_bytes()))
    }
}

/// A chunk's code (or a map's JSON) and the comment after it, as the writer reads them: the
/// code's pieces where its memos hold them.
struct CodeContents {
    code: Code,
    comment: Option<Arc<str>>,
}

impl packem_output::Contents for CodeContents {
    fn for_each_slice<'a>(&'a self, f: &mut dyn FnMut(&'a [u8])) {
        for piece in self.code.pieces() {
            f(piece.as_str().as_bytes());
        }
        if let Some(comment) = &self.comment {
            f(comment.as_bytes());
        }
    }
}

enum File {
    Chunk(usize),
    Map(usize),
    Legal(usize),
    Asset(usize),
}

impl packem_output::Outputs for BundleOutputs<'_> {
    fn count(&self) -> usize {
        self.bundle.chunks.len() + self.companions.len() + self.assets.len()
    }

    fn path(&self, index: usize) -> &str {
        match self.kind(index) {
            File::Chunk(chunk) => self.chunk_path(chunk),
            File::Map(_) | File::Legal(_) => &self.companions[index - self.bundle.chunks.len()].2,
            File::Asset(asset) => &self.assets[asset].path,
        }
    }

    fn hash(&self, index: usize) -> u128 {
        match self.kind(index) {
            File::Chunk(chunk) => OutputFile::pieces_hash(self.chunk_hash(chunk)),
            File::Map(chunk) => OutputFile::pieces_hash(self.map_hash(chunk)),
            File::Legal(chunk) => self.legal_file(chunk).hash(),
            File::Asset(asset) => self.assets[asset].hash(),
        }
    }

    fn file(&self, index: usize) -> Cow<'_, OutputFile> {
        match self.kind(index) {
            File::Chunk(chunk) => {
                let code = self.chunk(chunk).code.clone();
                let comment = self.comment(chunk);
                let len = code.len() as u64 + comment.as_ref().map_or(0, |c| c.len() as u64);
                let contents = Arc::new(CodeContents { code, comment });
                Cow::Owned(OutputFile::from_contents(self.path(index), contents, len, self.chunk_hash(chunk)))
            }
            File::Map(chunk) => {
                let code = self.map_json(chunk).unwrap_or_default();
                let len = code.len() as u64;
                let contents = Arc::new(CodeContents { code, comment: None });
                Cow::Owned(OutputFile::from_contents(self.path(index), contents, len, self.map_hash(chunk)))
            }
            File::Legal(chunk) => Cow::Owned(self.legal_file(chunk)),
            File::Asset(asset) => Cow::Borrowed(&self.assets[asset]),
        }
    }

    fn paths_key(&self) -> Option<u128> {
        // Chunks named by emission, their maps, then the assets' names.
        let key = self.bundle.names_key.filter(|_| self.names.is_empty())?;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&key.to_le_bytes());
        for (_, _, path) in &self.companions {
            hasher.update(path.as_bytes());
            hasher.update(&[0]);
        }
        for asset in self.assets {
            hasher.update(asset.path.as_bytes());
            hasher.update(&[0]);
        }
        Some(hasher.digest128())
    }
}
