//! The owned oxc AST ([`ParsedModule`]) and how it is built.

use std::sync::Arc;

use camino::Utf8Path;
use oxc::allocator::Allocator;
use oxc::ast::ast::{Expression, Program};
use oxc::parser::Parser;
use oxc::semantic::Scoping;
use oxc::span::SourceType;
use packem_db::{Diagnostic, Loader};

use crate::compile::parse_error;
use crate::nesting;
use crate::source::CompileSettings;

/// What the arena owns: the text the AST points into and the arena itself.
struct AstOwner {
    source: Arc<str>,
    allocator: Allocator,
}

/// What is built from the owner: the program (allocated in the arena) and, for JSON files, the value.
struct AstParts<'a> {
    program: &'a Program<'a>,
    json: Option<Expression<'a>>,
}

self_cell::self_cell!(
    struct AstCell {
        owner: AstOwner,
        #[covariant]
        dependent: AstParts,
    }
);

/// The parsed AST plus everything computed with it before it was sealed.
struct ParsedInner {
    cell: AstCell,
    scoping: Scoping,
    source_type: SourceType,
    errors: Vec<Diagnostic>,
    nesting: nesting::Nesting,
    json_keys: Vec<crate::json::Key>,
}

// SAFETY: `Program` and the `Allocator` are neither `Send` nor `Sync` because arena-backed vectors
// could allocate into a shared arena from two threads, and because semantic analysis fills the AST's
// `Cell` ids through `&`. The invariant that makes sharing sound here:
// - the AST is built completely (parse, then semantic analysis, which writes the id cells) inside
//   `ParsedInner::build`, before the value is published to anyone;
// - after that nothing mutates it: the public API hands out `&Program`, `&Expression` and `&Scoping`
//   only, never `&Allocator` nor `&mut` anything, and this crate never re-runs semantic analysis on a
//   published program. Callers that need to mutate an AST (rendering) must copy it into a fresh arena
//   or re-parse the source.
// Moving the whole value to another thread (`Send`) moves the arena together with every pointer into it.
unsafe impl Send for ParsedInner {}
// SAFETY: see the `Send` impl above; shared access is read-only by construction.
unsafe impl Sync for ParsedInner {}

/// An owned oxc AST: the source text and the arena, the [`Program`] allocated in it, the semantic
/// [`Scoping`] (symbols, scopes, references), and the parse errors.
///
/// `Clone` is an `Arc` clone; equality is pointer identity (the parse query is `no_eq`, so equality
/// is never used for cutoff; see [`crate::module_summary`] for that).
///
/// A file whose nesting is too deep to parse safely (see [`crate::MAX_NESTING_DEPTH`]) gets an empty
/// program and a "nesting too deep" error, so that no consumer ever walks a pathological tree.
#[derive(Clone)]
pub struct ParsedModule(Arc<ParsedInner>);

impl PartialEq for ParsedModule {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ParsedModule {}

impl std::fmt::Debug for ParsedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedModule")
            .field("source_type", &self.0.source_type)
            .field("len", &self.source().len())
            .field("errors", &self.0.errors.len())
            .finish_non_exhaustive()
    }
}

impl ParsedModule {
    /// The program. For JSON files this is an empty program; see [`ParsedModule::json_value`].
    pub fn program(&self) -> &Program<'_> {
        self.0.cell.borrow_dependent().program
    }

    /// The JSON value of a `.json` file, parsed as a JavaScript expression (spans point into
    /// [`ParsedModule::source`]). `None` for code files and for JSON with syntax errors.
    pub fn json_value(&self) -> Option<&Expression<'_>> {
        self.0.cell.borrow_dependent().json.as_ref()
    }

    /// Symbols, scopes and references of [`ParsedModule::program`], with the ids stored in the AST.
    pub fn scoping(&self) -> &Scoping {
        &self.0.scoping
    }

    /// How the file was parsed. For `.js`/`.ts` files the module kind is the one the parser settled on
    /// (module when the file has `import`/`export`, script otherwise).
    pub fn source_type(&self) -> SourceType {
        self.0.source_type
    }

    /// The text every span points into (the same text as `source_text(db, file).as_str()`).
    pub fn source(&self) -> &str {
        &self.0.cell.borrow_owner().source
    }

    /// Parse and semantic errors, with spans, in the order found. The file field is unset; the
    /// query layer fills it in.
    pub fn errors(&self) -> &[Diagnostic] {
        &self.0.errors
    }

    /// The estimated nesting depth of the source (brackets plus operator chains). Walkers that
    /// recurse over the AST can size their stack with [`ParsedModule::with_stack`].
    pub fn nesting_depth(&self) -> u32 {
        self.0.nesting.deepest
    }

    /// Runs `f` on a stack large enough to walk this module's AST recursively (oxc's visitors,
    /// codegen). Grows the stack only when the current one is too small.
    pub fn with_stack<R>(&self, f: impl FnOnce() -> R) -> R {
        nesting::with_stack_for(self.0.nesting, f)
    }

    /// The keys of a JSON file's top-level object with their spans (empty otherwise).
    pub(crate) fn json_keys(&self) -> &[crate::json::Key] {
        &self.0.json_keys
    }

    /// Compiles `source` as the file at `path` with `settings` (see `crate::compile`). Never
    /// panics on any input.
    ///
    /// A panic inside oxc (a bug, not a syntax error) is caught and reported as a `ParseError` on an
    /// empty program, so one bad file cannot take the build down.
    pub fn parse(path: &Utf8Path, source: Arc<str>, settings: &CompileSettings) -> ParsedModule {
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ParsedInner::build(path, source.clone(), settings, None)
        }));
        let inner = attempt.unwrap_or_else(|payload| {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%path, %reason, "the parser panicked");
            ParsedInner::build(path, source, settings, Some(format!("Internal parser error: {reason}")))
        });
        ParsedModule(Arc::new(inner))
    }
}

impl ParsedInner {
    /// Compiles `source` with `settings`, or, when `give_up` holds a message, builds an empty
    /// program with that error. Files whose loader is not a code loader get an empty program
    /// (JSON keeps its value as an expression).
    fn build(path: &Utf8Path, source: Arc<str>, settings: &CompileSettings, give_up: Option<String>) -> ParsedInner {
        let loader = settings.loader;
        let json = loader == Some(Loader::Json);
        let code = loader.is_some_and(Loader::is_code);
        let nesting = nesting::estimate(source.as_bytes());
        let mut errors = Vec::new();
        let too_deep = match give_up {
            Some(message) => {
                errors.push(parse_error(message.clone(), (0, 0)));
                Some(message)
            }
            None if json || code => {
                let too_deep = nesting.too_deep();
                if let Some(message) = &too_deep {
                    errors.push(parse_error(message.clone(), nesting.deepest_at));
                }
                too_deep
            }
            None => None,
        };
        let mut json_keys = Vec::new();
        let mut json_ok = false;
        if json && too_deep.is_none() {
            match crate::json::validate(&source) {
                Ok(keys) => {
                    json_keys = keys;
                    json_ok = true;
                }
                Err(d) => errors.push(d),
            }
        }

        let mut scoping = None;
        let mut final_source_type = SourceType::mjs();
        let cell = nesting::with_stack_for(nesting, || {
            AstCell::new(AstOwner { source, allocator: Allocator::default() }, |owner| {
                let allocator = &owner.allocator;
                // Code is compiled in full unless it is too deep; anything else is an empty program.
                let text: &str = if !code || too_deep.is_some() { &owner.source[..0] } else { &owner.source };
                let compiled = crate::compile::compile(allocator, path, text, settings, true);
                errors.extend(compiled.errors);
                final_source_type = compiled.source_type;
                let program: &Program<'_> = allocator.alloc(compiled.program);
                scoping = Some(compiled.scoping);
                let json = if json_ok {
                    Parser::new(allocator, &owner.source, SourceType::mjs()).parse_expression().ok()
                } else {
                    None
                };
                AstParts { program, json }
            })
        });
        errors.sort_by_key(|d| d.range.map(|r| r.0));
        ParsedInner {
            cell,
            scoping: scoping.expect("built with the cell"),
            source_type: final_source_type,
            errors,
            nesting,
            json_keys,
        }
    }
}
