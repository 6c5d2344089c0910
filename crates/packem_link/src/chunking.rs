//! Step 5 with code splitting, chunking: which output file each module goes to (esbuild's entry
//! bits, rolldown's `generate_chunks`).
//!
//! The entry points are the entries and every scope-hoisted module an `import()` loads. A
//! module's *bits* are the entry points that reach it through anything but `import()`; modules
//! with the same bits share a chunk, so code several entry points need is loaded once. An entry
//! point's own chunk is the one whose bits are that entry point alone (modules only it reaches);
//! when its module is reached by others too, the chunk is a facade that imports and initializes
//! it. Every module of a shared chunk is lazy (`__esm`, decided in step 1): importing a chunk
//! runs nothing, and each entry point's chunk calls `init_x()` where Node would evaluate `x`.

use std::collections::{BTreeMap, BTreeSet};

use packem_graph::{EdgeTarget, ModuleId};
use packem_parse::ImportKind;

use crate::linker::Linker;
use crate::output::{ChunkKind, ChunkPlan, Wrap};

impl Linker<'_> {
    /// The chunks of a split build: one per entry (in entry order), one per other live entry
    /// point (graph order), then the shared chunks (ordered by their first module). Records
    /// in [`Linker::entry_chunks`] the chunk each entry point's `import()` loads.
    pub(crate) fn split_chunks(&mut self) -> Vec<ChunkPlan> {
        let graph = self.graph;
        let n = graph.modules.len();
        let points: Vec<ModuleId> = self
            .split_points
            .clone()
            .into_iter()
            .enumerate()
            .filter(|&(i, m)| i < graph.entries.len() || self.is_live(m))
            .map(|(_, m)| m)
            .collect();
        let words = points.len().div_ceil(64);
        let mut bits = vec![vec![0u64; words]; n];
        for (bit, &point) in points.iter().enumerate() {
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            let mut stack = vec![point];
            bits[point.index()][word] |= mask;
            while let Some(module) = stack.pop() {
                for edge in &graph.module(module).edges {
                    // `import()` of an entry point loads its chunk; of another module (CommonJS),
                    // the module is in the importer's chunk, as for `require()`.
                    if let EdgeTarget::Module(target) = edge.target
                        && !matches!(edge.kind, ImportKind::RequireResolve | ImportKind::NewUrl)
                        && !(edge.kind == ImportKind::DynamicImport && self.is_split_point.contains(&target))
                        && self.wrap[target.index()] != Wrap::External
                        && self.is_live(target)
                        && bits[target.index()][word] & mask == 0
                    {
                        bits[target.index()][word] |= mask;
                        stack.push(target);
                    }
                }
            }
        }
        let mut groups: BTreeMap<&[u64], BTreeSet<ModuleId>> = BTreeMap::new();
        for (i, module_bits) in bits.iter().enumerate() {
            let module = ModuleId(i as u32);
            if self.wrap[i] == Wrap::External || !self.is_live(module) || module_bits.iter().all(|w| *w == 0) {
                continue;
            }
            groups.entry(module_bits.as_slice()).or_default().insert(module);
        }
        let mut chunks = Vec::new();
        let mut own_groups = BTreeSet::new();
        for (bit, &point) in points.iter().enumerate() {
            let mut key = vec![0u64; words];
            key[bit / 64] |= 1u64 << (bit % 64);
            let members = groups.get(key.as_slice()).cloned().unwrap_or_default();
            own_groups.insert(key);
            let kind = if bit < graph.entries.len() { ChunkKind::Entry } else { ChunkKind::DynamicEntry };
            self.entry_chunks.entry(point).or_insert(chunks.len() as u32);
            chunks.push(self.plan_chunk(point, kind, Some(&members)));
        }
        let mut shared: Vec<&BTreeSet<ModuleId>> =
            groups.iter().filter(|(key, _)| !own_groups.contains(**key)).map(|(_, members)| members).collect();
        shared.sort_by_key(|members| members.first().copied());
        for members in shared {
            let first = *members.first().expect("groups are never empty");
            chunks.push(self.plan_chunk(first, ChunkKind::Shared, Some(members)));
        }
        chunks
    }
}
