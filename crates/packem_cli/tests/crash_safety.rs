//! Crash safety of the outputs: a build killed with SIGKILL at any moment leaves each output
//! entirely old or entirely new (never partial, never missing), and the next build succeeds and
//! leaves no temporary file behind.
//!
//! The project writes four multi-megabyte files (two bundles and their source maps). Two
//! versions of it differ in every line, so any mix of old and new bytes in one file would show.
//! Kills land at moments spread over a whole build and, half of the time, the moment a temporary
//! output file appears (inside a write); in watch mode, at moments after an edit, while the
//! rebuild swaps outputs with their spare files. Randomness is seeded (`PACKEM_CRASH_SEED`),
//! printed on failure.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Rng;

const ENTRIES: [&str; 2] = ["src/main.js", "src/other.js"];

fn seed() -> u64 {
    std::env::var("PACKEM_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261208)
}

/// Writes version `v` of the sources. Only `src/big.js`, a 40,000-line table (about 3.5 MB) both
/// entries import, carries the version, and it is replaced in one rename: every build, whenever
/// it reads, sees one whole version.
fn write_sources(dir: &Path, v: u32) {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for (name, text) in [
        ("main.js", "import { table, version } from './big.js';\nconsole.log('main', version, table.length);\n"),
        ("other.js", "import { table, version } from './big.js';\nconsole.log('other', version, table[1]);\n"),
    ] {
        if !src.join(name).exists() {
            std::fs::write(src.join(name), text).unwrap();
        }
    }
    let mut big = String::with_capacity(4 << 20);
    big.push_str(&format!("export const version = {v};\nexport const table = [\n"));
    for i in 0..40_000 {
        big.push_str(&format!("  \"row {i} of version {v}: lorem ipsum dolor sit amet, consectetur\",\n"));
    }
    big.push_str("];\n");
    std::fs::write(src.join(".big.js.tmp"), big).unwrap();
    std::fs::rename(src.join(".big.js.tmp"), src.join("big.js")).unwrap();
}

fn build_args(outdir: &Path) -> Vec<String> {
    let mut args = vec!["build".to_string()];
    args.extend(ENTRIES.iter().map(|e| e.to_string()));
    args.extend([format!("--outdir={}", outdir.display()), "--sourcemap".into(), "--no-cache".into()]);
    args.push("--log-level=warning".into());
    args
}

fn packem(dir: &Path, args: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_packem"));
    command.current_dir(dir).args(args).env("NO_COLOR", "1").env_remove("PACKEM_LOG");
    command
}

/// The outputs of a complete build of version `v` (path relative to the output directory →
/// bytes).
fn outputs_of(dir: &Path, v: u32) -> BTreeMap<String, Vec<u8>> {
    write_sources(dir, v);
    let out = dir.join(format!("expected-{v}"));
    let status = packem(dir, &build_args(&out)).status().unwrap();
    assert!(status.success());
    read_outputs(&out)
}

/// Every file in `outdir` (not below it) that is not hidden, by name.
fn read_outputs(outdir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(outdir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.starts_with('.'))
        .map(|(name, path)| (name, std::fs::read(path).unwrap()))
        .collect()
}

/// The hidden temporary files in `outdir` (a write in progress, or left by a killed one).
fn temp_files(outdir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(outdir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') && name.ends_with(".tmp"))
        .collect()
}

/// Asserts that every output is there and is, whole, one of the two versions' bytes.
fn assert_old_or_new(outdir: &Path, versions: &[BTreeMap<String, Vec<u8>>; 2], context: &str) {
    let found = read_outputs(outdir);
    let names: Vec<&String> = versions[0].keys().collect();
    assert_eq!(found.keys().collect::<Vec<_>>(), names, "outputs missing or extra ({context})");
    for (name, bytes) in &found {
        assert!(
            bytes == &versions[0][name] || bytes == &versions[1][name],
            "{name} is neither the old nor the new output ({} bytes; {context})",
            bytes.len()
        );
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[test]
fn a_build_killed_at_any_moment_leaves_each_output_old_or_new() {
    let seed = seed();
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let versions = [outputs_of(&dir, 0), outputs_of(&dir, 1)];
    assert!(versions[0]["main.js.map"].len() > 2 << 20, "the outputs should take a while to write");
    let outdir = dir.join("out");
    // A complete build of version 0, timed.
    write_sources(&dir, 0);
    let started = Instant::now();
    assert!(packem(&dir, &build_args(&outdir)).status().unwrap().success());
    let full = started.elapsed();

    let mut left_behind = 0;
    let mut version = 0;
    for round in 0..24 {
        version = 1 - version;
        write_sources(&dir, version);
        let mut child = packem(&dir, &build_args(&outdir)).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let how = if round % 2 == 0 {
            // Anywhere in the build.
            let delay = Duration::from_micros(rng.below(full.as_micros() as usize * 11 / 10) as u64);
            std::thread::sleep(delay);
            format!("after {delay:?}")
        } else {
            // Inside a write: as soon as a temporary output appears.
            let deadline = Instant::now() + full * 4 + Duration::from_secs(5);
            while temp_files(&outdir).is_empty() && child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                std::hint::spin_loop();
            }
            "inside a write".to_string()
        };
        kill(&mut child);
        let context = format!("round {round}, killed {how}, seed {seed}");
        assert_old_or_new(&outdir, &versions, &context);
        if !temp_files(&outdir).is_empty() {
            left_behind += 1;
        }
    }
    assert!(left_behind > 0, "no kill landed inside a write (seed {seed}): the test proves nothing");

    // The next build succeeds, writes the current version and sweeps the killed builds' files.
    let status = packem(&dir, &build_args(&outdir)).status().unwrap();
    assert!(status.success());
    assert_eq!(read_outputs(&outdir), versions[version as usize]);
    assert_eq!(temp_files(&outdir), Vec::<String>::new(), "temporary files left behind");
}

#[test]
fn a_watch_rebuild_killed_at_any_moment_leaves_each_output_old_or_new() {
    let seed = seed() ^ 0x5eed;
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let versions = [outputs_of(&dir, 0), outputs_of(&dir, 1)];
    let outdir: PathBuf = dir.join("out");
    let mut version = 0;
    write_sources(&dir, version);
    let mut rebuild = Duration::from_millis(500);
    for round in 0..10 {
        // Outputs of the killed session may already be the current version: start from none,
        // so that the wait below sees this session's first build finish.
        let _ = std::fs::remove_dir_all(&outdir);
        let mut args = build_args(&outdir);
        args.push("--watch".into());
        let mut child =
            packem(&dir, &args).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        // The first build of the session brings every output to the current version.
        let deadline = Instant::now() + Duration::from_secs(60);
        while read_outputs_if_any(&outdir) != versions[version as usize] {
            assert!(Instant::now() < deadline, "the watcher never wrote version {version} (seed {seed})");
            std::thread::sleep(Duration::from_millis(20));
        }
        // An edit, then a kill somewhere in the rebuild it starts.
        version = 1 - version;
        let edited = Instant::now();
        write_sources(&dir, version);
        if round == 0 {
            // Measure one rebuild to spread the kills over.
            let deadline = Instant::now() + Duration::from_secs(60);
            while read_outputs_if_any(&outdir) != versions[version as usize] {
                assert!(Instant::now() < deadline, "the watcher never rebuilt (seed {seed})");
                std::thread::sleep(Duration::from_millis(5));
            }
            rebuild = edited.elapsed();
            kill(&mut child);
            continue;
        }
        let delay = Duration::from_micros(rng.below(rebuild.as_micros() as usize * 12 / 10) as u64);
        std::thread::sleep(delay);
        kill(&mut child);
        assert_old_or_new(
            &outdir,
            &versions,
            &format!("watch round {round}, killed {delay:?} after an edit, seed {seed}"),
        );
    }
    let status = packem(&dir, &build_args(&outdir)).status().unwrap();
    assert!(status.success());
    assert_eq!(read_outputs(&outdir), versions[version as usize]);
    assert_eq!(temp_files(&outdir), Vec::<String>::new(), "temporary files left behind");
}

fn read_outputs_if_any(outdir: &Path) -> BTreeMap<String, Vec<u8>> {
    if outdir.exists() { read_outputs(outdir) } else { BTreeMap::new() }
}
