//! Differential execution: a generated project run by Node as it is, and its bundles run by
//! Node, must print the same and succeed alike ("correctness is execution").

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use camino::Utf8Path;
use packem_db::{Minify, Platform};
use packem_host::{ChunkNaming, Format};

use crate::pipeline::build_into;
use crate::project::Generated;
use crate::scratch::Scratch;

/// One way to bundle.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub format: Format,
    pub tree_shaking: bool,
    /// Code splitting (ESM only).
    pub splitting: bool,
    pub minify: bool,
}

/// What a case showed.
#[derive(Debug)]
pub enum Verdict {
    /// Node does not run the sources (a missing file, a syntax Node rejects, …): nothing to
    /// compare.
    NotComparable,
    /// Every bundle printed what the sources print.
    Same,
    /// A bundle differs: what and how, with the files.
    Differs(String),
}

/// Node's answer for one run: whether it succeeded, and what it printed (read while it runs);
/// `None` when it runs for more than 10 seconds.
fn node(cwd: &Utf8Path, file: &Utf8Path) -> Option<(bool, String)> {
    use std::io::Read as _;
    let mut child = Command::new("node")
        .arg(file.as_str())
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node must be installed");
    let mut pipe = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = reader.join().ok()?;
    Some((status.success(), String::from_utf8_lossy(&stdout).into_owned()))
}

/// Runs the project `data` decodes to (restricted to what Node runs) with Node, then bundles it
/// with each of `configs` and runs every entry's bundle.
pub fn differential(data: &[u8], configs: &[Config]) -> Verdict {
    let mut generated = Generated::from_bytes(data);
    generated.for_node();
    let scratch = Scratch::new();
    let root = scratch.root();
    let files = generated.files();
    for (path, text) in &files {
        if !scratch.write(path, text.as_bytes()) {
            return Verdict::NotComparable;
        }
    }
    let entries: Vec<String> = generated.entries();
    let mut expected = Vec::new();
    for entry in &entries {
        match node(root, &root.join(entry)) {
            Some((true, stdout)) => expected.push(stdout),
            _ => return Verdict::NotComparable,
        }
    }
    let describe = |config: &Config, what: String| {
        let mut text = format!("{config:?}: {what}\n");
        for (path, contents) in &files {
            text.push_str(&format!("--- {path}\n{contents}\n"));
        }
        text
    };
    let mut compared = 0;
    for (k, config) in configs.iter().enumerate() {
        let mut settings = generated.settings(root);
        settings.platform = Platform::Node;
        settings.format = config.format;
        settings.global_name = None;
        settings.link.tree_shaking = config.tree_shaking;
        settings.link.splitting = config.splitting && config.format == Format::Esm;
        settings.link.minify = if config.minify { Minify::ALL } else { Minify::default() };
        settings.link.keep_names = false;
        settings.emit.sourcemap = None;
        settings.emit.max_chunk_size = None;
        // The CLI's default entry names: `[dir]/[name].js` under the entries' common directory.
        let entry_names = entries
            .iter()
            .map(|e| {
                let rel = e.strip_prefix("src/").unwrap_or(e);
                format!("{}.js", rel.rsplit_once('.').map_or(rel, |(stem, _)| stem))
            })
            .collect();
        settings.emit.chunk_naming =
            ChunkNaming { entries: entry_names, outbase: root.join("src"), ..ChunkNaming::default() };
        let outdir = root.join(format!("out{k}"));
        let built = build_into(root, entries.iter().map(|e| root.join(e)).collect(), settings, &outdir);
        let errors: Vec<&str> = built.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.as_str()).collect();
        // Top-level await has no CommonJS or IIFE form: refusing it is right (as esbuild does).
        let unsupported = |d: &packem_db::Diagnostic| d.code == packem_db::DiagnosticCode::UnsupportedFeature;
        if config.format != Format::Esm
            && built.diagnostics.iter().any(unsupported)
            && built.diagnostics.iter().filter(|d| d.is_error()).all(unsupported)
        {
            continue;
        }
        if !errors.is_empty() {
            return Verdict::Differs(describe(config, format!("packem reported errors where Node ran: {errors:?}")));
        }
        compared += 1;
        let kind = if config.format == Format::Esm { "module" } else { "commonjs" };
        let _ = std::fs::write(outdir.join("package.json"), format!("{{ \"type\": \"{kind}\" }}"));
        for (entry, want) in entries.iter().zip(&expected) {
            let Some((_, file)) = built.entry_files.iter().find(|(path, _)| *path == root.join(entry)) else {
                return Verdict::Differs(describe(config, format!("no output for the entry {entry}")));
            };
            match node(root, &outdir.join(file)) {
                Some((true, got)) if &got == want => {}
                got => {
                    let shown = got.map_or("a hang".to_string(), |(ok, out)| format!("success {ok}, printed {out:?}"));
                    return Verdict::Differs(describe(
                        config,
                        format!("{entry}: the sources print {want:?}; the bundle {file}: {shown}"),
                    ));
                }
            }
        }
    }
    if compared == 0 { Verdict::NotComparable } else { Verdict::Same }
}
