//! Atomic, incremental writes against a real temporary directory.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use std::time::{Duration, SystemTime};

use camino::{Utf8Path, Utf8PathBuf};
use packem_output::{OutputFile, WriteOptions, WriteReport, WrittenSet, write_outputs};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: Utf8PathBuf,
    outdir: Utf8PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(tmp.path()).unwrap().to_path_buf();
    let outdir = root.join("out");
    Fixture { _tmp: tmp, root, outdir }
}

fn file(path: &str, contents: &str) -> OutputFile {
    OutputFile::new(path, contents.as_bytes())
}

fn write(fx: &Fixture, files: &[OutputFile], previous: Option<&WrittenSet>) -> Result<WriteReport, Vec<String>> {
    let options =
        WriteOptions { outdir: &fx.outdir, inputs: &Default::default(), allow_overwrite: false, spare: false };
    write_outputs(files, &options, previous)
        .map_err(|errors| errors.iter().map(|e| format!("{} {}", e.code, e.path)).collect())
}

/// Every file under `dir`, relative, sorted (directories end with `/`).
fn tree(dir: &Utf8Path) -> Vec<String> {
    fn walk(base: &Utf8Path, dir: &Utf8Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = Utf8PathBuf::from_path_buf(entry.path()).unwrap();
            let rel = path.strip_prefix(base).unwrap().as_str().to_owned();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

fn set_old_mtime(path: &Utf8Path) -> SystemTime {
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(path).unwrap().set_modified(old).unwrap();
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn mtime(path: &Utf8Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn writes_files_with_their_bytes_and_leaves_no_temp_files() {
    let fx = fixture();
    let files = vec![
        file("main.js", "console.log(1)\n"),
        file("chunks/chunk-A.js", "export {}\n"),
        file("deep/er/x.css", "a{}"),
        OutputFile::new("bin.dat", &[0u8, 255, 10, 13][..]),
    ];
    let report = write(&fx, &files, None).unwrap();
    assert_eq!(report.written, ["main.js", "chunks/chunk-A.js", "deep/er/x.css", "bin.dat"]);
    assert!(report.unchanged.is_empty() && report.deleted.is_empty());
    assert_eq!(report.set.len(), 4);
    assert_eq!(std::fs::read(fx.outdir.join("main.js")).unwrap(), b"console.log(1)\n");
    assert_eq!(std::fs::read(fx.outdir.join("chunks/chunk-A.js")).unwrap(), b"export {}\n");
    assert_eq!(std::fs::read(fx.outdir.join("bin.dat")).unwrap(), [0u8, 255, 10, 13]);
    assert_eq!(
        tree(&fx.outdir),
        ["bin.dat", "chunks/", "chunks/chunk-A.js", "deep/", "deep/er/", "deep/er/x.css", "main.js"]
    );
}

#[test]
fn replaces_changed_files_and_keeps_their_permissions() {
    use std::os::unix::fs::PermissionsExt as _;
    let fx = fixture();
    write(&fx, &[file("cli.js", "#!/usr/bin/env node\n1")], None).unwrap();
    let path = fx.outdir.join("cli.js");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = write(&fx, &[file("cli.js", "#!/usr/bin/env node\n2")], None).unwrap();
    assert_eq!(report.written, ["cli.js"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "#!/usr/bin/env node\n2");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
    assert_eq!(tree(&fx.outdir), ["cli.js"]);
}

#[test]
fn unchanged_files_are_not_rewritten() {
    let fx = fixture();
    let files = vec![file("a.js", "same"), file("b.js", "old")];
    let first = write(&fx, &files, None).unwrap();
    let a = fx.outdir.join("a.js");
    let b = fx.outdir.join("b.js");
    let old_a = set_old_mtime(&a);
    let old_b = set_old_mtime(&b);

    // Without a previous set: compared against the bytes on disk.
    let files = vec![file("a.js", "same"), file("b.js", "new")];
    let report = write(&fx, &files, None).unwrap();
    assert_eq!(report.unchanged, ["a.js"]);
    assert_eq!(report.written, ["b.js"]);
    assert_eq!(mtime(&a), old_a);
    assert_ne!(mtime(&b), old_b);

    // With a previous set whose mtime no longer matches (we changed it): falls back to bytes.
    let report = write(&fx, &files, Some(&first.set)).unwrap();
    assert_eq!(report.unchanged, ["a.js", "b.js"]);
    assert_eq!(mtime(&a), old_a);

    // With the current set: trusted without reading.
    let again = write(&fx, &files, Some(&report.set)).unwrap();
    assert_eq!(again.unchanged, ["a.js", "b.js"]);
    assert_eq!(mtime(&a), old_a);
    assert_eq!(tree(&fx.outdir), ["a.js", "b.js"]);
}

#[test]
fn a_file_edited_behind_our_back_is_rewritten_even_with_a_previous_set() {
    let fx = fixture();
    let files = vec![file("a.js", "ours")];
    let first = write(&fx, &files, None).unwrap();
    // Same length; a new mtime (set explicitly so coarse timestamps cannot hide the edit).
    std::fs::write(fx.outdir.join("a.js"), "edit").unwrap();
    set_old_mtime(&fx.outdir.join("a.js"));
    let report = write(&fx, &files, Some(&first.set)).unwrap();
    assert_eq!(report.written, ["a.js"]);
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "ours");
    // Deleted behind our back: written again.
    std::fs::remove_file(fx.outdir.join("a.js")).unwrap();
    let report = write(&fx, &files, Some(&report.set)).unwrap();
    assert_eq!(report.written, ["a.js"]);
}

#[test]
fn stale_outputs_are_deleted_and_unrelated_files_kept() {
    let fx = fixture();
    std::fs::create_dir_all(fx.outdir.join("assets")).unwrap();
    std::fs::write(fx.outdir.join("index.html"), "<html>").unwrap();
    std::fs::write(fx.outdir.join("assets/logo.png"), "png").unwrap();

    let first =
        write(&fx, &[file("main.js", "1"), file("chunks/chunk-OLD.js", "old"), file("gone.js", "g")], None).unwrap();
    let report = write(&fx, &[file("main.js", "2"), file("chunks/chunk-NEW.js", "new")], Some(&first.set)).unwrap();
    assert_eq!(report.deleted, ["chunks/chunk-OLD.js", "gone.js"]);
    assert_eq!(report.written, ["main.js", "chunks/chunk-NEW.js"]);
    assert_eq!(
        tree(&fx.outdir),
        ["assets/", "assets/logo.png", "chunks/", "chunks/chunk-NEW.js", "index.html", "main.js"]
    );
    assert!(!report.set.contains("gone.js") && report.set.contains("chunks/chunk-NEW.js"));

    // A stale file already removed by someone else is not reported.
    std::fs::remove_file(fx.outdir.join("chunks/chunk-NEW.js")).unwrap();
    let report = write(&fx, &[file("main.js", "2")], Some(&report.set)).unwrap();
    assert!(report.deleted.is_empty());
    assert_eq!(report.unchanged, ["main.js"]);
}

#[test]
fn a_stale_file_in_the_way_of_a_new_directory_goes_first() {
    let fx = fixture();
    let first = write(&fx, &[file("a", "file")], None).unwrap();
    let report = write(&fx, &[file("a/b.js", "nested")], Some(&first.set)).unwrap();
    assert_eq!(report.deleted, ["a"]);
    assert_eq!(tree(&fx.outdir), ["a/", "a/b.js"]);
}

#[test]
fn nothing_is_written_when_validation_fails() {
    let fx = fixture();
    let files = vec![file("ok.js", "fine"), file("../escape.js", "bad"), file("x/y.js", "fine")];
    let errors = write(&fx, &files, None).unwrap_err();
    assert_eq!(errors, ["FILENAME_OUTSIDE_OUTPUT_DIRECTORY ../escape.js"]);
    assert!(!fx.outdir.exists(), "the output directory was not even created");
    assert!(!fx.root.join("escape.js").exists());

    // Also when the outdir exists, and stale files from `previous` stay.
    let first = write(&fx, &[file("old.js", "old")], None).unwrap();
    let errors = write(&fx, &[file("new.js", "n"), file("new.js", "m")], Some(&first.set));
    assert_eq!(errors.unwrap_err(), ["DUPLICATE_OUTPUT_PATH new.js"]);
    assert_eq!(tree(&fx.outdir), ["old.js"]);
}

#[test]
fn refuses_to_overwrite_an_input() {
    let fx = fixture();
    std::fs::create_dir_all(&fx.outdir).unwrap();
    let input = fx.outdir.join("main.js");
    std::fs::write(&input, "source").unwrap();
    let inputs = packem_output::InputPaths::new([input.as_path()]);
    let files = [file("main.js", "bundled")];
    let options = WriteOptions { outdir: &fx.outdir, inputs: &inputs, allow_overwrite: false, spare: false };
    let errors = write_outputs(&files[..], &options, None).unwrap_err();
    assert_eq!(errors[0].code, "OUTPUT_OVERWRITES_INPUT");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "source");

    let options = WriteOptions { allow_overwrite: true, ..options };
    write_outputs(&files[..], &options, None).unwrap();
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "bundled");
}

#[test]
fn a_symlinked_directory_leading_outside_the_outdir_is_refused() {
    let fx = fixture();
    let elsewhere = fx.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(&fx.outdir).unwrap();
    std::os::unix::fs::symlink(&elsewhere, fx.outdir.join("link")).unwrap();

    for path in ["link/x.js", "link/sub/x.js", "./link/x.js"] {
        let errors = write(&fx, &[file("ok.js", "ok"), file(path, "pwned")], None).unwrap_err();
        assert_eq!(errors, [format!("FILENAME_OUTSIDE_OUTPUT_DIRECTORY {path}")]);
    }
    assert!(tree(&elsewhere).is_empty(), "{:?}", tree(&elsewhere));
    assert_eq!(tree(&fx.outdir), ["link"], "nothing written, not even ok.js");
}

#[test]
fn a_symlink_inside_the_outdir_pointing_inside_it_is_fine() {
    let fx = fixture();
    std::fs::create_dir_all(fx.outdir.join("real")).unwrap();
    std::os::unix::fs::symlink(fx.outdir.join("real"), fx.outdir.join("alias")).unwrap();
    write(&fx, &[file("alias/x.js", "x")], None).unwrap();
    assert_eq!(std::fs::read_to_string(fx.outdir.join("real/x.js")).unwrap(), "x");
}

#[test]
fn a_symlinked_outdir_is_followed() {
    let fx = fixture();
    let real = fx.root.join("real-out");
    std::fs::create_dir_all(&real).unwrap();
    std::os::unix::fs::symlink(&real, &fx.outdir).unwrap();
    write(&fx, &[file("sub/x.js", "x")], None).unwrap();
    assert_eq!(std::fs::read_to_string(real.join("sub/x.js")).unwrap(), "x");
}

#[test]
fn stale_deletion_never_follows_a_symlink_swapped_in_later() {
    let fx = fixture();
    let first = write(&fx, &[file("dir/old.js", "old")], None).unwrap();
    // Between builds, `dir` becomes a symlink to a directory outside holding a precious file.
    let elsewhere = fx.root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("old.js"), "precious").unwrap();
    std::fs::remove_dir_all(fx.outdir.join("dir")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, fx.outdir.join("dir")).unwrap();

    let errors = write(&fx, &[file("main.js", "m")], Some(&first.set)).unwrap_err();
    assert_eq!(errors, ["FILENAME_OUTSIDE_OUTPUT_DIRECTORY dir/old.js"]);
    assert_eq!(std::fs::read_to_string(elsewhere.join("old.js")).unwrap(), "precious");
}

#[test]
fn a_symlink_at_the_target_is_replaced_not_followed() {
    let fx = fixture();
    let elsewhere = fx.root.join("secret.txt");
    std::fs::write(&elsewhere, "secret").unwrap();
    std::fs::create_dir_all(&fx.outdir).unwrap();
    std::os::unix::fs::symlink(&elsewhere, fx.outdir.join("x.js")).unwrap();
    let report = write(&fx, &[file("x.js", "bundle")], None).unwrap();
    assert_eq!(report.written, ["x.js"]);
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "secret");
    let meta = std::fs::symlink_metadata(fx.outdir.join("x.js")).unwrap();
    assert!(meta.is_file());
}

#[test]
fn write_failures_are_reported_with_write_failed() {
    let fx = fixture();
    std::fs::create_dir_all(fx.outdir.join("taken")).unwrap();
    // A directory sits where the file should go: the rename fails, no temp file remains.
    std::fs::write(fx.outdir.join("taken/keep.txt"), "k").unwrap();
    let errors = write(&fx, &[file("taken", "x"), file("fine.js", "y")], None).unwrap_err();
    assert_eq!(errors, ["WRITE_FAILED taken"]);
    assert_eq!(tree(&fx.outdir), ["fine.js", "taken/", "taken/keep.txt"]);
}

fn write_with_spare(fx: &Fixture, files: &[OutputFile], previous: Option<&WrittenSet>) -> WriteReport {
    let options = WriteOptions { outdir: &fx.outdir, inputs: &Default::default(), allow_overwrite: false, spare: true };
    write_outputs(files, &options, previous).unwrap()
}

#[test]
fn pieces_are_written_in_order_and_compared_by_the_callers_hash() {
    let fx = fixture();
    let pieces = |parts: &[&str]| parts.iter().map(|p| std::sync::Arc::<[u8]>::from(p.as_bytes())).collect();
    let first = OutputFile::from_pieces("a.js", pieces(&["one ", "", "two\n"]), 1);
    assert_eq!(first.len(), 8);
    let report = write(&fx, &[first], None).unwrap();
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "one two\n");
    // Same length, other bytes, other hash: written without reading the file back.
    let second = OutputFile::from_pieces("a.js", pieces(&["one ", "six\n"]), 2);
    let report = write(&fx, std::slice::from_ref(&second), Some(&report.set)).unwrap();
    assert_eq!(report.written, ["a.js"]);
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "one six\n");
    // The same hash again: nothing to do.
    let report = write(&fx, &[second], Some(&report.set)).unwrap();
    assert_eq!(report.unchanged, ["a.js"]);
}

#[cfg(target_os = "linux")]
#[test]
fn watch_writes_swap_with_a_spare_file_that_is_removed_at_the_end() {
    let fx = fixture();
    let first = write_with_spare(&fx, &[file("a.js", "first version, longer\n")], None);
    // The first write has no file to swap with: a plain atomic write, no spare.
    assert_eq!(tree(&fx.outdir), ["a.js"]);
    let second = write_with_spare(&fx, &[file("a.js", "second\n")], Some(&first.set));
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "second\n");
    // The spare now holds the previous bytes.
    assert_eq!(tree(&fx.outdir), [".a.js.packem-spare", "a.js"]);
    assert_eq!(std::fs::read_to_string(fx.outdir.join(".a.js.packem-spare")).unwrap(), "first version, longer\n");
    // Overwriting the spare's longer contents leaves no stale tail.
    let third = write_with_spare(&fx, &[file("a.js", "third\n")], Some(&second.set));
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "third\n");
    packem_output::remove_spares(&fx.outdir, &third.set);
    assert_eq!(tree(&fx.outdir), ["a.js"]);
}

/// Files of several megabytes, of pieces of every size (staged or written from where they are,
/// across batches), arrive whole and in order, with and without a spare.
#[test]
fn large_files_of_small_and_large_pieces_are_written_exactly() {
    let fx = fixture();
    let mut seed = 7u64;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut pieces: Vec<std::sync::Arc<[u8]>> = Vec::new();
    let mut total = 0;
    while total < 6 << 20 {
        let len = match next(4) {
            0 => next(16) as usize,
            1 => next(10_000) as usize,
            2 => next(100_000) as usize,
            _ => (1 << 20) + next(5000) as usize,
        };
        let byte = b'a' + (pieces.len() % 26) as u8;
        pieces.push(vec![byte; len].into());
        total += len;
    }
    let expected: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
    let plain = write(&fx, &[OutputFile::from_pieces("big.js", pieces.clone(), 1)], None).unwrap();
    assert_eq!(std::fs::read(fx.outdir.join("big.js")).unwrap(), expected);
    // Through a spare (the first swap writes everything, the next only what changed).
    pieces.rotate_left(3);
    let expected: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
    let spare = write_with_spare(&fx, &[OutputFile::from_pieces("big.js", pieces.clone(), 2)], Some(&plain.set));
    assert_eq!(std::fs::read(fx.outdir.join("big.js")).unwrap(), expected);
    pieces.truncate(pieces.len() - 1);
    let expected: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
    write_with_spare(&fx, &[OutputFile::from_pieces("big.js", pieces, 3)], Some(&spare.set));
    assert_eq!(std::fs::read(fx.outdir.join("big.js")).unwrap(), expected);
}

/// Outputs are written side by side: a bundle and its map whose names share the first 100 bytes
/// (what a spare's name keeps) must still get a spare each.
#[cfg(target_os = "linux")]
#[test]
fn long_names_sharing_a_prefix_get_a_spare_each() {
    let fx = fixture();
    let long = "x".repeat(120);
    let (js, map) = (format!("{long}.js"), format!("{long}.js.map"));
    let mut previous: Option<WrittenSet> = None;
    for round in 0..4 {
        let files = [file(&js, &format!("code {round}\n")), file(&map, &format!("{{\"map\":{round}}}\n"))];
        let report = write_with_spare(&fx, &files, previous.as_ref());
        assert_eq!(std::fs::read_to_string(fx.outdir.join(&js)).unwrap(), format!("code {round}\n"));
        assert_eq!(std::fs::read_to_string(fx.outdir.join(&map)).unwrap(), format!("{{\"map\":{round}}}\n"));
        previous = Some(report.set);
    }
    let spares = tree(&fx.outdir).into_iter().filter(|p| p.ends_with(".packem-spare")).count();
    assert_eq!(spares, 2);
    packem_output::remove_spares(&fx.outdir, previous.as_ref().unwrap());
    assert_eq!(tree(&fx.outdir).len(), 2);
}

#[cfg(unix)]
#[test]
fn a_symlink_or_hard_link_in_place_of_the_spare_is_never_written_through() {
    let fx = fixture();
    let outside = fx.root.join("outside.txt");
    std::fs::write(&outside, "keep me\n").unwrap();
    let first = write_with_spare(&fx, &[file("a.js", "one\n")], None);
    std::os::unix::fs::symlink(&outside, fx.outdir.join(".a.js.packem-spare")).unwrap();
    let second = write_with_spare(&fx, &[file("a.js", "two\n")], Some(&first.set));
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "two\n");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me\n");
    std::fs::remove_file(fx.outdir.join(".a.js.packem-spare")).unwrap();
    std::fs::hard_link(&outside, fx.outdir.join(".a.js.packem-spare")).unwrap();
    write_with_spare(&fx, &[file("a.js", "three\n")], Some(&second.set));
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "three\n");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me\n");
}

/// Pieces shared between versions the way a bundler shares unchanged module code.
#[cfg(target_os = "linux")]
fn output(pieces: &[std::sync::Arc<[u8]>]) -> OutputFile {
    let mut hash = 0u128;
    for piece in pieces {
        for &byte in piece.iter() {
            hash = hash.wrapping_mul(0x100_0000_01b3).wrapping_add(u128::from(byte) + 1);
        }
        hash = hash.wrapping_mul(31).wrapping_add(piece.len() as u128);
    }
    OutputFile::from_pieces("a.js", pieces.to_vec(), hash)
}

#[cfg(target_os = "linux")]
#[test]
fn spare_writes_skip_the_pieces_the_spare_already_holds() {
    use std::sync::Arc;
    let fx = fixture();
    let piece = |text: &str| Arc::<[u8]>::from(text.as_bytes());
    let (a, b, c) = (piece("aaaa\n"), piece("bbbb\n"), piece("cccc\n"));
    let v1 = write_with_spare(&fx, &[output(&[a.clone(), b.clone(), c.clone()])], None);
    let v2 = write_with_spare(&fx, &[output(&[a.clone(), piece("BBBB\n"), c.clone()])], Some(&v1.set));
    // The spare holds v1. Change its first and last piece behind our back but keep its size
    // and mtime: a write that skips the pieces v1 and v3 share leaves them as they are, which
    // shows that only the middle piece was written.
    let spare = fx.outdir.join(".a.js.packem-spare");
    let mtime = mtime(&spare);
    std::fs::write(&spare, "xxxx\nbbbb\nzzzz\n").unwrap();
    std::fs::File::options().write(true).open(&spare).unwrap().set_modified(mtime).unwrap();
    let v3 = write_with_spare(&fx, &[output(&[a.clone(), piece("3333\n"), c.clone()])], Some(&v2.set));
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "xxxx\n3333\nzzzz\n");
    // A spare touched in a way that shows (its mtime moved) is written in full.
    std::fs::write(&spare, "xxxx\nBBBB\nzzzz\n").unwrap();
    let v4 = write_with_spare(&fx, &[output(&[a.clone(), piece("4444\n"), c.clone()])], Some(&v3.set));
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "aaaa\n4444\ncccc\n");
    assert!(v4.written.contains(&"a.js".to_string()));
}

#[cfg(target_os = "linux")]
#[test]
fn spare_writes_of_random_edit_sequences_produce_the_exact_bytes() {
    use std::sync::Arc;
    let fx = fixture();
    // A small deterministic generator (xorshift), so a failure reproduces.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let pool: Vec<Arc<[u8]>> =
        (0..12).map(|i| Arc::from(format!("piece {i} {}\n", "#".repeat(i * 3)).as_bytes())).collect();
    let mut pieces: Vec<Arc<[u8]>> = (0..40).map(|i| pool[i % pool.len()].clone()).collect();
    let mut history: Vec<Vec<Arc<[u8]>>> = Vec::new();
    let mut previous: Option<WrittenSet> = None;
    for step in 0..300 {
        let len = pieces.len();
        match next(7) {
            // Replace a piece by one of the same length (a fresh allocation with other bytes).
            0 | 1 => {
                let i = next(len);
                let mut bytes = pieces[i].to_vec();
                let at = next(bytes.len());
                bytes[at] = b'a' + next(26) as u8;
                pieces[i] = Arc::from(bytes);
            }
            // Replace a piece by a shared one (usually of another length).
            2 => {
                let i = next(len);
                pieces[i] = pool[next(pool.len())].clone();
            }
            3 => pieces.insert(next(len + 1), pool[next(pool.len())].clone()),
            4 if len > 1 => {
                pieces.remove(next(len));
            }
            // Go back to an earlier version (an undo), sharing its allocations.
            5 if !history.is_empty() => pieces = history[next(history.len())].clone(),
            // The same bytes in fresh allocations.
            _ => pieces = pieces.iter().map(|p| Arc::from(p.to_vec())).collect(),
        }
        history.push(pieces.clone());
        let report = write_with_spare(&fx, &[output(&pieces)], previous.as_ref());
        let expected: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
        assert_eq!(std::fs::read(fx.outdir.join("a.js")).unwrap(), expected, "step {step}");
        previous = Some(report.set);
    }
}

fn write_notified(
    fx: &Fixture,
    files: &[OutputFile],
    set: &mut WrittenSet,
) -> Result<packem_output::WriteDelta, Vec<String>> {
    let options = WriteOptions { outdir: &fx.outdir, inputs: &Default::default(), allow_overwrite: false, spare: true };
    packem_output::write_changed(files, &options, set)
        .map_err(|errors| errors.iter().map(|e| format!("{} {}", e.code, e.path)).collect())
}

#[test]
fn a_notified_set_trusts_unchanged_outputs_until_they_are_reported_touched() {
    let fx = fixture();
    let mut set = WrittenSet::notified();
    let files = vec![file("a.js", "one"), file("chunks/b.js", "two")];
    let delta = write_notified(&fx, &files, &mut set).unwrap();
    assert_eq!(delta.written, ["a.js", "chunks/b.js"]);

    // Edited behind our back and not reported: trusted (no system call looks at it).
    std::fs::write(fx.outdir.join("a.js"), "edit").unwrap();
    let files = vec![file("a.js", "one"), file("chunks/b.js", "three")];
    let delta = write_notified(&fx, &files, &mut set).unwrap();
    assert_eq!((delta.written.as_slice(), delta.unchanged), (&["chunks/b.js".to_string()][..], 1));
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "edit");

    // Reported: compared with the disk and restored.
    set.touched("a.js");
    let delta = write_notified(&fx, &files, &mut set).unwrap();
    assert_eq!(delta.written, ["a.js"]);
    assert_eq!(std::fs::read_to_string(fx.outdir.join("a.js")).unwrap(), "one");
    assert_eq!(std::fs::read_to_string(fx.outdir.join("chunks/b.js")).unwrap(), "three");

    // A new list is validated and written as a whole: the stale file goes.
    let files = vec![file("a.js", "one")];
    let delta = write_notified(&fx, &files, &mut set).unwrap();
    assert_eq!((delta.deleted.as_slice(), delta.unchanged), (&["chunks/b.js".to_string()][..], 1));
    assert!(!set.contains("chunks/b.js") && set.contains("a.js"));
}

#[cfg(unix)]
#[test]
fn a_notified_set_still_checks_where_a_changed_output_goes() {
    let fx = fixture();
    let outside = fx.root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let mut set = WrittenSet::notified();
    write_notified(&fx, &[file("a.js", "1"), file("chunks/b.js", "1")], &mut set).unwrap();
    // The chunk directory swapped for a symlink leading outside, then the chunk changes.
    std::fs::remove_dir_all(fx.outdir.join("chunks")).unwrap();
    std::os::unix::fs::symlink(&outside, fx.outdir.join("chunks")).unwrap();
    let errors = write_notified(&fx, &[file("a.js", "1"), file("chunks/b.js", "2")], &mut set).unwrap_err();
    assert_eq!(errors, ["FILENAME_OUTSIDE_OUTPUT_DIRECTORY chunks/b.js"]);
    assert!(tree(&outside).is_empty());
}

/// What a build killed while writing leaves: its temporary files. The next write into that
/// directory deletes those of processes that no longer run and keeps those of running ones
/// (another build writing there now) and files merely named alike.
#[test]
#[cfg(target_os = "linux")]
fn temporary_files_of_killed_builds_are_swept_and_those_of_running_ones_kept() {
    let fx = fixture();
    std::fs::create_dir_all(fx.outdir.join("sub")).unwrap();
    let mut exited = std::process::Command::new("true").spawn().unwrap();
    let dead = exited.id();
    exited.wait().unwrap();
    let dead_temp = format!(".main.js.packem-{dead}-0.tmp");
    let dead_nested = format!("sub/.chunk.js.map.packem-{dead}-17.tmp");
    let live_temp = format!(".main.js.packem-{}-3.tmp", std::process::id());
    let init_temp = ".main.js.packem-1-0.tmp".to_string();
    let unrelated = ".notes.packem-x-1.tmp".to_string();
    for name in [&dead_temp, &dead_nested, &live_temp, &init_temp, &unrelated] {
        std::fs::write(fx.outdir.join(name), "partial").unwrap();
    }
    write(&fx, &[file("main.js", "a"), file("sub/chunk.js.map", "{}")], None).unwrap();
    let mut expected =
        vec![init_temp, live_temp, unrelated, "main.js".into(), "sub/".into(), "sub/chunk.js.map".into()];
    expected.sort();
    assert_eq!(tree(&fx.outdir), expected);
}
