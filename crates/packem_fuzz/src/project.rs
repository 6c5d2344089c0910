//! Target (b): a generated project through the whole pipeline.
//!
//! [`Generated`] is decoded from the fuzzer's bytes with `arbitrary`: a few modules of every
//! kind packem reads (ESM, CommonJS, TypeScript, JSX, JSON), each a list of statements in every
//! import and export form, pointing at each other (cycles included), at files that do not
//! exist, at a package with an `exports` map and at Node builtins, under odd paths; and the
//! options (format, shaking, splitting, each part of minify, source maps, platform, names).

use arbitrary::{Arbitrary, Unstructured};
use camino::Utf8PathBuf;
use packem_db::{CompileOptions, LinkOptions, Minify, Platform};
use packem_host::{ChunkNaming, EmitOptions, Format, SourceMapMode, SourceMapOptions};

use crate::pipeline::{Built, Settings, build_and_write};
use crate::scratch::Scratch;

/// At most this many modules and statements per module are generated.
const MAX_MODULES: usize = 6;
const MAX_ITEMS: usize = 8;

/// Names statements import, export and declare.
const NAMES: &[&str] = &["a", "b", "c", "default", "then", "x"];

/// A generated project: modules, a package and the options to build it with.
#[derive(Arbitrary, Debug)]
pub struct Generated {
    modules: Vec<Module>,
    package: Package,
    options: Options,
}

#[derive(Arbitrary, Debug)]
struct Module {
    ext: Ext,
    place: Place,
    items: Vec<Item>,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Ext {
    Js,
    Mjs,
    Cjs,
    Ts,
    Jsx,
    Json,
}

/// Where a module lives: odd paths on purpose.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Place {
    Plain,
    Spaced,
    Unicode,
    Nested,
    /// `dir/index.ext`, imported by its directory.
    Index,
    Dotted,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Spec {
    Module(u8),
    /// The module without its extension.
    Bare(u8),
    Missing,
    Package,
    PackageSub,
    PackageMissing,
    Builtin,
}

#[derive(Arbitrary, Debug)]
enum Item {
    ImportDefault(Spec),
    ImportNamed(Spec, u8, bool),
    ImportNamespace(Spec),
    ImportSideEffect(Spec),
    ExportStar(Spec),
    ExportStarAs(Spec, u8),
    ExportFrom(Spec, u8, u8),
    ExportConst(u8, Value),
    ExportFunction(u8),
    ExportClass(u8),
    ExportDefault(Value),
    ExportDefaultFunction,
    ExportLocalAs(u8),
    Require(Spec),
    ModuleExports(Value),
    ExportsProperty(u8, Value),
    DynamicImport(Spec),
    Log(u8),
    TopLevelAwait,
    TypeOnly(Spec),
    Jsx,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Value {
    Number(u8),
    Text(u8),
    Earlier(u8),
    Object(u8),
    Call(u8),
    Pure,
}

#[derive(Arbitrary, Debug)]
struct Package {
    exports: Exports,
    module_type: bool,
    main: bool,
    side_effects: Option<bool>,
}

#[derive(Arbitrary, Debug)]
enum Exports {
    None,
    String,
    Conditions,
    Subpaths,
    Null,
    Invalid,
}

#[derive(Arbitrary, Debug)]
struct Options {
    format: u8,
    splitting: bool,
    tree_shaking: bool,
    minify: (bool, bool, bool),
    keep_names: bool,
    sourcemap: Option<bool>,
    node: bool,
    second_entry: bool,
    names: u8,
    max_chunk_size: Option<u16>,
    spare: bool,
}

impl Generated {
    /// Decodes a project from fuzzer bytes (missing bytes read as zeros, so every input is one).
    pub fn from_bytes(data: &[u8]) -> Self {
        let mut u = Unstructured::new(data);
        let mut generated = Generated::arbitrary(&mut u).unwrap_or_else(|_| Generated {
            modules: Vec::new(),
            package: Package { exports: Exports::None, module_type: false, main: false, side_effects: None },
            options: Options {
                format: 0,
                splitting: false,
                tree_shaking: true,
                minify: (false, false, false),
                keep_names: false,
                sourcemap: None,
                node: false,
                second_entry: false,
                names: 0,
                max_chunk_size: None,
                spare: false,
            },
        });
        generated.modules.truncate(MAX_MODULES);
        if generated.modules.is_empty() {
            generated.modules.push(Module { ext: Ext::Js, place: Place::Plain, items: Vec::new() });
        }
        for module in &mut generated.modules {
            module.items.truncate(MAX_ITEMS);
        }
        generated
    }

    /// Keeps only what Node runs as it is, for the differential test: code modules become ESM
    /// (`.mjs`) or stay CommonJS (`.cjs`), JSON stays, and statements Node cannot run (JSX,
    /// TypeScript, raw text) are dropped.
    pub fn for_node(&mut self) {
        for module in &mut self.modules {
            module.ext = match module.ext {
                Ext::Cjs => Ext::Cjs,
                Ext::Json => Ext::Json,
                Ext::Js | Ext::Mjs | Ext::Ts | Ext::Jsx => Ext::Mjs,
            };
            module.items.retain(|item| !matches!(item, Item::Jsx | Item::TypeOnly(_) | Item::Raw(_)));
        }
    }

    /// The project's files: (path relative to the root, contents).
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = (0..self.modules.len()).map(|i| (self.path(i), self.text(i))).collect();
        files.extend(self.package_files());
        files
    }

    /// The entries, relative to the root.
    pub fn entries(&self) -> Vec<String> {
        let mut entries = vec![self.path(0)];
        if self.options.second_entry && self.modules.len() > 1 {
            entries.push(self.path(1));
        }
        entries
    }

    fn path(&self, i: usize) -> String {
        let ext = match self.modules[i].ext {
            Ext::Js => "js",
            Ext::Mjs => "mjs",
            Ext::Cjs => "cjs",
            Ext::Ts => "ts",
            Ext::Jsx => "jsx",
            Ext::Json => "json",
        };
        match self.modules[i].place {
            Place::Plain => format!("src/m{i}.{ext}"),
            Place::Spaced => format!("src/with space {i}.{ext}"),
            Place::Unicode => format!("src/ünï{i}.{ext}"),
            Place::Nested => format!("src/deep/er/m{i}.{ext}"),
            Place::Index => format!("src/dir{i}/index.{ext}"),
            Place::Dotted => format!("src/.m{i}.v2.{ext}"),
        }
    }

    /// The specifier `from` uses for `spec`.
    fn specifier(&self, from: usize, spec: Spec) -> String {
        let n = self.modules.len();
        match spec {
            Spec::Module(j) => relative(&self.path(from), &self.path(usize::from(j) % n)),
            Spec::Bare(j) => {
                let j = usize::from(j) % n;
                let full = relative(&self.path(from), &self.path(j));
                match self.modules[j].place {
                    Place::Index => full.rsplit_once('/').map(|(dir, _)| dir.to_string()).unwrap_or(full),
                    _ => full.rsplit_once('.').map(|(stem, _)| stem.to_string()).unwrap_or(full),
                }
            }
            Spec::Missing => "./missing.js".into(),
            Spec::Package => "pkg".into(),
            Spec::PackageSub => "pkg/sub".into(),
            Spec::PackageMissing => "pkg/nope".into(),
            Spec::Builtin => "node:path".into(),
        }
    }

    fn text(&self, i: usize) -> String {
        let module = &self.modules[i];
        let name = |n: u8| NAMES[usize::from(n) % NAMES.len()];
        let value = |v: &Value, k: usize| -> String {
            match v {
                Value::Number(n) => n.to_string(),
                Value::Text(n) => format!("{:?}", name(*n)),
                Value::Earlier(n) if k > 0 => format!("l{}", usize::from(*n) % k),
                Value::Earlier(n) => n.to_string(),
                Value::Object(n) => format!("{{ {}: {k} }}", name(*n)),
                Value::Call(n) => format!("(() => {})()", n),
                Value::Pure => "/* @__PURE__ */ Object.freeze({})".into(),
            }
        };
        if module.ext == Ext::Json {
            let mut json = String::from("{");
            for (k, item) in module.items.iter().enumerate() {
                if k > 0 {
                    json.push(',');
                }
                match item {
                    Item::Raw(text) => json.push_str(text),
                    Item::ExportConst(n, _) | Item::ExportsProperty(n, _) => {
                        json.push_str(&format!("{:?}: {k}", name(*n)))
                    }
                    _ => json.push_str(&format!("\"k{k}\": [{k}]")),
                }
            }
            json.push('}');
            return json;
        }
        let mut out = String::new();
        for (k, item) in module.items.iter().enumerate() {
            let spec = |s: Spec| format!("{:?}", self.specifier(i, s));
            let line = match item {
                Item::ImportDefault(s) => format!("import l{k} from {};", spec(*s)),
                Item::ImportNamed(s, n, true) => format!("import {{ {} as l{k} }} from {};", name(*n), spec(*s)),
                Item::ImportNamed(s, n, false) => {
                    format!("import {{ {} as l{k} }} from {}; export {{ l{k} as {} }};", name(*n), spec(*s), name(*n))
                }
                Item::ImportNamespace(s) => format!("import * as l{k} from {};", spec(*s)),
                Item::ImportSideEffect(s) => format!("import {};", spec(*s)),
                Item::ExportStar(s) => format!("export * from {};", spec(*s)),
                Item::ExportStarAs(s, n) => format!("export * as {} from {};", name(*n), spec(*s)),
                Item::ExportFrom(s, n, m) => format!("export {{ {} as {} }} from {};", name(*n), name(*m), spec(*s)),
                Item::ExportConst(n, v) if name(*n) == "default" => format!("export default {};", value(v, k)),
                Item::ExportConst(n, v) => {
                    format!("export const {} = {}; const l{k} = {};", name(*n), value(v, k), name(*n))
                }
                Item::ExportFunction(n) => format!(
                    "export function f{k}() {{ return {k}; }} export {{ f{k} as {} }}; const l{k} = f{k};",
                    name(*n)
                ),
                Item::ExportClass(n) => format!(
                    "export class C{k} {{ static v = {k}; }} export {{ C{k} as {} }}; const l{k} = C{k};",
                    name(*n)
                ),
                Item::ExportDefault(v) => format!("export default {}; const l{k} = 0;", value(v, k)),
                Item::ExportDefaultFunction => format!("export default function l{k}() {{ return {k}; }}"),
                Item::ExportLocalAs(n) if k > 0 => format!("export {{ l{} as {} }}; const l{k} = 0;", k - 1, name(*n)),
                Item::ExportLocalAs(_) => format!("const l{k} = 0;"),
                Item::Require(s) => format!("const l{k} = require({});", spec(*s)),
                Item::ModuleExports(v) => format!("module.exports = {}; const l{k} = 0;", value(v, k)),
                Item::ExportsProperty(n, v) => format!("exports.{} = {}; const l{k} = 0;", name(*n), value(v, k)),
                Item::DynamicImport(s) => format!("const l{k} = import({}).then((m) => Object.keys(m));", spec(*s)),
                Item::Log(n) if k > 0 => format!("console.log(typeof l{}); const l{k} = {};", usize::from(*n) % k, n),
                Item::Log(n) => format!("console.log({n}); const l{k} = 0;"),
                Item::TopLevelAwait => format!("const l{k} = await Promise.resolve({k});"),
                Item::TypeOnly(s) => {
                    format!("import type {{ T as L{k} }} from {}; type U{k} = L{k}; const l{k} = 0;", spec(*s))
                }
                Item::Jsx => format!("const l{k} = <div title=\"{k}\">{{{k}}}</div>;"),
                Item::Raw(text) => text.clone(),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    fn package_files(&self) -> Vec<(String, String)> {
        let p = &self.package;
        let mut manifest = String::from("{ \"name\": \"pkg\"");
        if p.module_type {
            manifest.push_str(", \"type\": \"module\"");
        }
        if p.main {
            manifest.push_str(", \"main\": \"./main.cjs\"");
        }
        if let Some(side_effects) = p.side_effects {
            manifest.push_str(&format!(", \"sideEffects\": {side_effects}"));
        }
        let exports = match p.exports {
            Exports::None => None,
            Exports::String => Some("\"./index.js\""),
            Exports::Conditions => {
                Some(r#"{ "import": "./index.js", "require": "./main.cjs", "default": "./index.js" }"#)
            }
            Exports::Subpaths => {
                Some(r#"{ ".": "./index.js", "./sub": { "node": "./sub.js", "default": "./sub.js" }, "./*": null }"#)
            }
            Exports::Null => Some("null"),
            Exports::Invalid => Some(r#"{ ".": "../escape.js", "./sub": 7 }"#),
        };
        if let Some(exports) = exports {
            manifest.push_str(&format!(", \"exports\": {exports}"));
        }
        manifest.push_str(" }");
        let index = if p.module_type {
            "export const a = 1; export default 'pkg';\n"
        } else {
            "exports.a = 1; exports.default = 'pkg';\n"
        };
        vec![
            ("node_modules/pkg/package.json".into(), manifest),
            ("node_modules/pkg/index.js".into(), index.into()),
            ("node_modules/pkg/sub.js".into(), index.into()),
            ("node_modules/pkg/main.cjs".into(), "module.exports = { a: 2, b: 3 };\n".into()),
        ]
    }

    pub(crate) fn settings(&self, root: &camino::Utf8Path) -> Settings {
        let o = &self.options;
        let format = match o.format % 3 {
            0 => Format::Esm,
            1 => Format::Cjs,
            _ => Format::Iife,
        };
        let link = LinkOptions {
            tree_shaking: o.tree_shaking,
            splitting: o.splitting,
            minify: Minify { whitespace: o.minify.0, syntax: o.minify.1, identifiers: o.minify.2 },
            keep_names: o.keep_names,
            ..LinkOptions::default()
        };
        // Templates, hostile ones included: names escaping the output directory must be refused.
        const TEMPLATES: &[&str] =
            &["[name]-[hash]", "chunks/[name]", "[dir]/[name]-[hash]", "../[name]", "/abs/[name]", "[hash]/../../x"];
        let chunk_naming = ChunkNaming {
            chunks: TEMPLATES[usize::from(o.names) % TEMPLATES.len()].into(),
            outbase: root.join("src"),
            ..ChunkNaming::default()
        };
        let emit = EmitOptions {
            sourcemap: o.sourcemap.map(|inline| SourceMapOptions {
                mode: if inline { SourceMapMode::Inline } else { SourceMapMode::Linked },
                sources_content: true,
                source_root: None,
                base: root.join("out"),
            }),
            chunk_naming,
            max_chunk_size: o.max_chunk_size.map(u64::from),
            ..EmitOptions::default()
        };
        Settings {
            platform: if o.node { Platform::Node } else { Platform::Browser },
            compile: CompileOptions::default(),
            link,
            format,
            global_name: None,
            emit,
            spare: o.spare,
        }
    }

    /// Writes the project into `scratch` and builds it; `None` when a file could not be
    /// written there.
    pub fn build_in(&self, scratch: &Scratch) -> Option<Built> {
        for (path, text) in self.files() {
            if !scratch.write(&path, text.as_bytes()) {
                return None;
            }
        }
        let root = scratch.root();
        let entries: Vec<Utf8PathBuf> = self.entries().iter().map(|e| root.join(e)).collect();
        Some(build_and_write(root, entries, self.settings(root)))
    }
}

/// The specifier of `to` from `from` (both relative to the root): `./x` or `../x`.
fn relative(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = from.split('/').collect::<Vec<_>>()[..from.split('/').count() - 1].to_vec();
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from_dir.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
    let mut spec = String::new();
    for _ in common..from_dir.len() {
        spec.push_str("../");
    }
    if spec.is_empty() {
        spec.push_str("./");
    }
    spec.push_str(&to_parts[common..].join("/"));
    spec
}

/// The fuzz target: decode a project, write it, build it, write its outputs.
pub fn project(data: &[u8]) {
    let generated = Generated::from_bytes(data);
    let scratch = Scratch::new();
    let _ = generated.build_in(&scratch);
}
