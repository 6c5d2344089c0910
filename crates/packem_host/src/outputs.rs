//! A bundle's files as `packem_output`'s writer reads them.

use std::borrow::Cow;

use packem_emit::Bundle;
use packem_output::OutputFile;

/// The files of one build: its chunks, then its assets. The chunks' pieces are handed over
/// only for the files the writer looks at, so an unchanged chunk costs no allocation.
pub struct BundleOutputs<'a> {
    /// The bundle.
    pub bundle: &'a Bundle,
    /// The chunks' names when the caller names them (empty: each chunk's `file_name`, which a
    /// split build's chunks have).
    pub names: &'a [String],
    /// The assets, as files.
    pub assets: &'a [OutputFile],
}

impl BundleOutputs<'_> {
    /// File `index`'s size in bytes.
    pub fn len(&self, index: usize) -> u64 {
        match self.bundle.chunks.get(index) {
            Some(chunk) => chunk.code.len() as u64,
            None => self.assets[index - self.bundle.chunks.len()].len(),
        }
    }
}

impl packem_output::Outputs for BundleOutputs<'_> {
    fn count(&self) -> usize {
        self.bundle.chunks.len() + self.assets.len()
    }

    fn path(&self, index: usize) -> &str {
        match self.bundle.chunks.get(index) {
            Some(chunk) => match self.names.get(index) {
                Some(name) => name,
                None => chunk.file_name.as_deref().unwrap_or_default(),
            },
            None => &self.assets[index - self.bundle.chunks.len()].path,
        }
    }

    fn hash(&self, index: usize) -> u128 {
        match self.bundle.chunks.get(index) {
            Some(chunk) => OutputFile::pieces_hash(chunk.code.hash128()),
            None => self.assets[index - self.bundle.chunks.len()].hash(),
        }
    }

    fn file(&self, index: usize) -> Cow<'_, OutputFile> {
        match self.bundle.chunks.get(index) {
            Some(chunk) => {
                Cow::Owned(OutputFile::from_pieces(self.path(index), chunk.code.byte_pieces(), chunk.code.hash128()))
            }
            None => Cow::Borrowed(&self.assets[index - self.bundle.chunks.len()]),
        }
    }

    fn paths_key(&self) -> Option<u128> {
        // Chunks named by emission, followed by the assets' names.
        let key = self.bundle.names_key.filter(|_| self.names.is_empty())?;
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&key.to_le_bytes());
        for asset in self.assets {
            hasher.update(asset.path.as_bytes());
            hasher.update(&[0]);
        }
        Some(hasher.digest128())
    }
}
