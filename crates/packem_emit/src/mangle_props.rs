//! Property mangling (`--mangle-props=REGEX`): one name per property across the build.
//!
//! oxc's `PropertyMangler` works in three steps (collect, assign, rewrite) so that a bundler can
//! share one mapping between programs. Here each step is a query:
//! 1. [`property_facts`] (per module, from its compiled AST): the properties oxc would mangle,
//!    how often each occurs, and every other spelling that stays a property name. `Eq`, so a
//!    body edit that keeps them stops here.
//! 2. [`property_mapping`] (per target): short names assigned by descending frequency (then by
//!    name), avoiding every spelling that stays, those of the runtime helpers, and reserved names.
//! 3. The host copies the mapping into the target (`Target::property_names`, the way it copies
//!    link information into cells), and each render rewrites its module with that mapping pinned
//!    in oxc's mangle cache, so every module agrees. A property only the render's own code
//!    spells (glue, never in the AST the facts saw) is kept as it is.
//!
//! The regular expressions are compiled once per target ([`mangle_options`]), not per module.

use std::sync::Arc;

use oxc::ast::ast::{IdentifierName, Program, StringLiteral};
use oxc::ast_visit::{Visit, walk};
use oxc::minifier::{ManglePropertiesOptions, PropertyMangler};
use packem_parse::{Source, parsed_module};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::Target;

/// `--mangle-props`, `--reserve-props` and `--mangle-quoted`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ManglePropsOptions {
    /// Properties whose names match this (Rust `regex` syntax) are renamed.
    pub pattern: String,
    /// Matching names that also match this are kept.
    pub reserve: Option<String>,
    /// Quoted property names (`o["_x"]`, `{ "_x": 1 }`) are renamed too.
    pub quoted: bool,
}

impl ManglePropsOptions {
    /// oxc's options for these, or the message of the regex that does not compile.
    pub fn oxc(&self) -> Result<ManglePropertiesOptions, String> {
        let mut options = ManglePropertiesOptions::from_pattern(&self.pattern)
            .map_err(|e| format!("invalid --mangle-props={}: {e}", self.pattern))?;
        if let Some(reserve) = &self.reserve {
            options.exclude =
                Some(regex::Regex::new(reserve).map_err(|e| format!("invalid --reserve-props={reserve}: {e}"))?);
        }
        options.mangle_quoted = self.quoted;
        Ok(options)
    }
}

/// What one module contributes to the build's property mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PropertyFacts {
    /// The properties oxc would rename here, with their number of occurrences, by name.
    pub candidates: Vec<(String, u32)>,
    /// Every other name spelled as a property or a string here (sorted): mangled names must not
    /// take one of them.
    pub spellings: Vec<String>,
}

/// oxc's options for `target`'s `--mangle-props` (`None` without it, or when a pattern does not
/// compile, which the front end reports). `no_eq`: compiled regexes do not compare; this re-runs
/// only when the emit options change, which re-renders everything anyway.
#[salsa::tracked(returns(ref), no_eq)]
pub(crate) fn mangle_options(db: &dyn packem_resolve::Db, target: Target) -> Option<Arc<ManglePropertiesOptions>> {
    target.emit(db).mangle_props.as_ref().and_then(|o| o.oxc().ok()).map(Arc::new)
}

/// The property facts of `source` for `target` (empty without `--mangle-props`).
#[salsa::tracked(returns(ref))]
pub fn property_facts(db: &dyn packem_resolve::Db, target: Target, source: Source) -> Arc<PropertyFacts> {
    let Some(options) = mangle_options(db, target) else {
        return Arc::default();
    };
    let _span = tracing::debug_span!("property_facts", path = %source.file(db).path(db)).entered();
    let parsed = parsed_module(db, source);
    let facts = parsed.with_stack(|| {
        let program = parsed.program();
        let mut mangler = PropertyMangler::new((**options).clone());
        mangler.collect(program);
        let candidates: FxHashSet<&str> = mangler.assign().keys().map(|k| k.as_str()).collect();
        let mut counter = Spellings::default();
        counter.visit_program(program);
        // Candidates seen only in forms the counter skips count once.
        let mut facts = PropertyFacts {
            candidates: candidates
                .iter()
                .map(|name| (name.to_string(), counter.counts.get(name).copied().unwrap_or(1)))
                .collect(),
            spellings: counter
                .counts
                .keys()
                .filter(|name| !candidates.contains(*name))
                .map(|n| n.to_string())
                .collect(),
        };
        facts.candidates.sort_unstable();
        facts.spellings.sort_unstable();
        facts
    });
    Arc::new(facts)
}

/// The build's property renames, sorted by original name (empty without `--mangle-props`).
#[salsa::tracked(returns(ref))]
pub fn property_mapping(db: &dyn packem_resolve::Db, target: Target) -> Arc<Vec<(String, String)>> {
    if target.emit(db).mangle_props.is_none() {
        return Arc::default();
    }
    let _span = tracing::debug_span!("property_mapping").entered();
    let graph = packem_graph::module_graph(db, target.project(db));
    let mut counts: FxHashMap<&str, u32> = FxHashMap::default();
    let mut taken: FxHashSet<&str> = FxHashSet::default();
    let all: Vec<&Arc<PropertyFacts>> = graph.modules.iter().map(|m| property_facts(db, target, m.source)).collect();
    for facts in &all {
        for (name, count) in &facts.candidates {
            *counts.entry(name).or_default() += count;
        }
        taken.extend(facts.spellings.iter().map(String::as_str));
    }
    // The runtime helpers' and the glue's own property names stay as they are.
    let helpers = packem_link::Helpers::ALL.code();
    let glue_words: Vec<&str> = helpers
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .chain(GLUE_PROPERTIES.iter().copied())
        .collect();
    taken.extend(glue_words.iter().copied());
    taken.extend(counts.keys().copied());
    let mut names: Vec<(&str, u32)> = counts.into_iter().collect();
    names.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut mapping = Vec::with_capacity(names.len());
    let mut counter = 0u32;
    for (name, _) in names {
        let short = loop {
            let candidate = oxc::mangler::base54(counter);
            counter += 1;
            let candidate = candidate.as_str();
            if !taken.contains(candidate) && oxc::minifier::is_valid_property_mangle_cache_target(candidate) {
                break candidate.to_string();
            }
        };
        mapping.push((name.to_string(), short));
    }
    mapping.sort_unstable();
    Arc::new(mapping)
}

/// Property names the linker's glue spells as text (namespace objects, interop).
const GLUE_PROPERTIES: &[&str] =
    &["default", "__esModule", "exports", "get", "set", "value", "enumerable", "configurable", "writable"];

/// Renames the properties of a rendered module's `program` by `mapping` (the build's).
pub(crate) fn rewrite<'a>(
    allocator: &'a oxc::allocator::Allocator,
    program: &mut Program<'a>,
    options: &ManglePropertiesOptions,
    mapping: &[(String, String)],
) {
    let mut pinned = options.clone();
    for (from, to) in mapping {
        // Assigned names are identifier names that are not hard-reserved: always accepted.
        let _ = pinned.cache.insert(from.as_str().into(), Some(to.as_str().into()));
    }
    let mut mangler = PropertyMangler::new(pinned.clone());
    mangler.collect(program);
    let known = |name: &str| mapping.binary_search_by(|(from, _)| from.as_str().cmp(name)).is_ok();
    let unknown: Vec<String> = mangler.assign().keys().filter(|k| !known(k)).map(|k| k.to_string()).collect();
    if !unknown.is_empty() {
        for name in unknown {
            let _ = pinned.cache.insert(name.into(), None);
        }
        mangler = PropertyMangler::new(pinned);
        mangler.collect(program);
        mangler.assign();
    }
    mangler.rewrite(program, allocator);
}

/// Counts the names a program spells as properties (identifier names) and as strings.
#[derive(Default)]
struct Spellings<'a> {
    counts: FxHashMap<&'a str, u32>,
}

impl<'a> Visit<'a> for Spellings<'a> {
    fn visit_identifier_name(&mut self, it: &IdentifierName<'a>) {
        *self.counts.entry(it.name.as_str()).or_default() += 1;
    }

    fn visit_string_literal(&mut self, it: &StringLiteral<'a>) {
        let value = it.value.as_str();
        if value.len() <= 64 && oxc::syntax::identifier::is_identifier_name(value) {
            *self.counts.entry(value).or_default() += 1;
        }
        walk::walk_string_literal(self, it);
    }
}
