//! Target (a): one file of any loader, with option bits from the input.

use packem_db::{CompileOptions, JsxMode, LinkOptions, Loader, Minify, Platform};
use packem_host::{EmitOptions, Format, LegalComments, ManglePropsOptions, SourceMapMode, SourceMapOptions};

use crate::pipeline::{Settings, build_and_write};
use crate::scratch::Scratch;

/// `data[0]` picks the loader, `data[1..3]` the options (format, shaking, each part of minify,
/// keep-names, source maps, platform, JSX mode, target, define and drop, legal comments, property
/// mangling); the rest is the file, built as the only entry.
pub fn one_file(data: &[u8]) {
    let (head, text) = data.split_at(data.len().min(3));
    let byte = |i: usize| head.get(i).copied().unwrap_or(0);
    let bits = u16::from(byte(1)) | (u16::from(byte(2)) << 8);
    let on = |bit: u16| bits & (1 << bit) != 0;
    let loader = Loader::NAMED[usize::from(byte(0)) % Loader::NAMED.len()].1;

    let scratch = Scratch::new();
    let root = scratch.root();
    scratch.write("entry.x", text);
    let mut compile = CompileOptions { loaders: vec![(".x".into(), loader)], ..CompileOptions::default() };
    compile.jsx.mode = match (bits >> 10) & 3 {
        0 => None,
        1 => Some(JsxMode::Classic),
        2 => Some(JsxMode::Automatic),
        _ => Some(JsxMode::Preserve),
    };
    if on(12) {
        compile.target = Some("es2015".into());
    }
    if on(13) {
        compile.define = vec![("process.env.NODE_ENV".into(), "\"production\"".into())];
        compile.drop_console = true;
        compile.drop_debugger = true;
    }
    let (format, global_name) = match bits & 3 {
        0 => (Format::Esm, None),
        1 => (Format::Cjs, None),
        2 => (Format::Iife, None),
        _ => (Format::Iife, Some("lib.name".to_string())),
    };
    let link = LinkOptions {
        tree_shaking: on(2),
        minify: Minify { whitespace: on(3), syntax: on(4), identifiers: on(5) },
        keep_names: on(6),
        ..LinkOptions::default()
    };
    let sourcemap = match (on(7), on(8)) {
        (false, false) => None,
        (true, false) => Some(SourceMapMode::Linked),
        (false, true) => Some(SourceMapMode::Inline),
        (true, true) => Some(SourceMapMode::Both),
    };
    let emit = EmitOptions {
        sourcemap: sourcemap.map(|mode| SourceMapOptions {
            mode,
            sources_content: true,
            source_root: None,
            base: root.join("out"),
        }),
        legal_comments: if on(14) { LegalComments::Linked } else { LegalComments::Eof },
        mangle_props: on(15).then(|| ManglePropsOptions { pattern: "_$".into(), reserve: None, quoted: false }),
        ..EmitOptions::default()
    };
    let platform = if on(9) { Platform::Node } else { Platform::Browser };
    let settings = Settings { platform, compile, link, format, global_name, emit, spare: false };
    build_and_write(root, vec![root.join("entry.x")], settings);
}
