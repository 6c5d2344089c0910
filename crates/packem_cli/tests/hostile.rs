//! Hostile input: output names that would escape the output directory, names the file system
//! refuses, special files where sources should be, a 200 MB input and 10,000-deep nesting of
//! every syntactic form. Each gets a build or a clear diagnostic; nothing panics (exit 101) or
//! hangs, and nothing is written outside the output directory.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{files_under, stderr};

/// Runs packem in `dir` with a time limit (a hang fails the test instead of stalling it); its
/// output is read while it runs, so a long one cannot fill a pipe and stall it.
fn packem_limited(dir: &Path, args: &[&str], limit: Duration) -> Output {
    use std::io::Read as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_packem"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("PACKEM_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("packem {args:?} hung (over {limit:?})");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

/// A build or a diagnostic: exit 0, or exit 1 with an error printed. Never a panic or a signal.
fn assert_clean_exit(out: &Output, context: &str) {
    match out.status.code() {
        Some(0) => {}
        Some(1) => assert!(stderr(out).contains("[ERROR]"), "exit 1 without an error ({context}): {}", stderr(out)),
        _ => panic!("packem ended with {:?} ({context}): {}", out.status, stderr(out)),
    }
}

/// A project in `parent/project`, so that a file escaping the output directory lands in
/// `parent`, where the test looks for it.
fn nested_project(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("project");
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    (parent, dir)
}

#[test]
fn output_names_that_would_escape_the_output_directory_are_refused() {
    let files = [
        ("src/main.js", "import logo from './logo.png';\nconsole.log(logo);\nimport('./lazy.js');\n"),
        ("src/lazy.js", "export const lazy = 1;\n"),
        ("src/logo.png", "PNG"),
    ];
    let cases: &[&[&str]] = &[
        &["--entry-names=../[name]"],
        &["--entry-names=../../../../../../../../tmp/packem-escape-[name]"],
        &["--entry-names=/tmp/packem-escape-abs-[name]"],
        &["--entry-names=[dir]/../../[name]"],
        &["--entry-names=a/../../[name]"],
        &["--chunk-names=../[name]-[hash]", "--splitting", "--format=esm"],
        &["--chunk-names=/tmp/packem-escape-chunk-[name]", "--splitting", "--format=esm"],
        &["--asset-names=../[name]-[hash]"],
        &["--asset-names=../../[name]"],
        &["--asset-names=/tmp/packem-escape-asset-[name]"],
    ];
    for extra in cases {
        let (parent, dir) = nested_project(&files);
        let mut args = vec!["build", "src/main.js", "--outdir=out", "--loader:.png=file"];
        args.extend_from_slice(extra);
        let out = packem_limited(&dir, &args, Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(1), "{extra:?} should be refused: {}", stderr(&out));
        assert!(stderr(&out).contains("[ERROR]"), "{extra:?}: {}", stderr(&out));
        // Nothing written anywhere: not outside, and (validation first) not inside either.
        let mut expected: Vec<String> = files.iter().map(|(p, _)| format!("project/{p}")).collect();
        expected.sort();
        assert_eq!(files_under(parent.path()), expected, "{extra:?} wrote files");
        let leaked: Vec<_> = std::fs::read_dir("/tmp")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("packem-escape"))
            .collect();
        assert!(leaked.is_empty(), "{extra:?} wrote {leaked:?}");
    }
}

#[test]
fn names_the_file_system_refuses_or_that_only_look_foreign_get_a_diagnostic_or_stay_inside() {
    let files = [("src/main.js", "console.log('main');\n")];
    let long = format!("--entry-names={}[name]", "x".repeat(300));
    let cases: Vec<Vec<&str>> = vec![
        // A 300-byte component: the file system refuses it (NAME_MAX is 255).
        vec![long.as_str()],
        // Windows drive letters and separators are plain names on Linux: they stay inside.
        vec!["--entry-names=C:/[name]"],
        vec!["--entry-names=C:\\[name]"],
        vec!["--entry-names=[name]\\..\\..\\x"],
        // Odd but valid names.
        vec!["--entry-names=ünï cödé/[name] (1)"],
        vec!["--entry-names=.hidden/[name]"],
    ];
    for extra in cases {
        let (parent, dir) = nested_project(&files);
        let mut args = vec!["build", "src/main.js", "--outdir=out"];
        args.extend_from_slice(&extra);
        let out = packem_limited(&dir, &args, Duration::from_secs(60));
        assert_clean_exit(&out, &format!("{extra:?}"));
        for file in files_under(parent.path()) {
            assert!(
                file.starts_with("project/src/") || file.starts_with("project/out/"),
                "{extra:?} wrote {file} outside the output directory"
            );
        }
        if extra[0] == long {
            assert_eq!(out.status.code(), Some(1), "a 300-byte name cannot be written: {}", stderr(&out));
        }
    }
}

#[test]
fn special_files_where_sources_should_be_are_diagnosed_without_hanging() {
    let (_parent, dir) = nested_project(&[
        ("src/main.js", "import './fifo.js';\nimport './dev.js';\nimport './dir.js';\nconsole.log(1);\n"),
        ("src/dir.js/index.js", "export {};\n"),
    ]);
    // A FIFO would block a reader forever; a device and a directory are no modules either.
    let fifo = dir.join("src/fifo.js");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::os::unix::fs::symlink("/dev/zero", dir.join("src/dev.js")).unwrap();
    let out = packem_limited(&dir, &["build", "src/main.js", "--outdir=out"], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("fifo.js"), "{}", stderr(&out));
    assert!(stderr(&out).contains("dev.js"), "{}", stderr(&out));
    // As entries too.
    for entry in ["src/fifo.js", "src/dev.js"] {
        let out = packem_limited(&dir, &["build", entry, "--outdir=out2"], Duration::from_secs(60));
        assert_eq!(out.status.code(), Some(1), "{entry}: {}", stderr(&out));
    }
}

#[test]
fn a_200_mb_input_builds() {
    let (_parent, dir) = nested_project(&[("main.js", "import { s } from './big.js';\nconsole.log(s.length);\n")]);
    let size = 200 << 20;
    let mut big = String::with_capacity(size + 64);
    big.push_str("export const s = \"");
    big.extend(std::iter::repeat_n('x', size));
    big.push_str("\";\n");
    std::fs::write(dir.join("big.js"), big).unwrap();
    let out = packem_limited(&dir, &["build", "main.js", "--outdir=out", "--platform=node"], Duration::from_secs(300));
    assert!(out.status.success(), "{}", stderr(&out));
    let run = Command::new("node").arg(dir.join("out/main.js")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), format!("{size}\n"));
}

#[test]
fn nesting_10_000_deep_in_every_form_is_built_or_diagnosed() {
    let n = 10_000;
    let r = |s: &str| s.repeat(n);
    let cases: Vec<(&str, String)> = vec![
        ("blocks.js", format!("{}{}", r("{"), r("}"))),
        ("arrays.js", format!("export const x = {}1{};", r("["), r("]"))),
        ("objects.js", format!("export const x = {}1{};", r("{a:"), r("}"))),
        ("arrows.js", format!("export const f = {}1;", r("() => "))),
        ("ifs.js", format!("{}console.log(1);", r("if (1) "))),
        ("calls.js", format!("export const x = f{};", r("()"))),
        ("members.js", format!("export const x = globalThis{};", r("?.a"))),
        ("unary.js", format!("export const x = {}1;", r("!"))),
        ("ternary.js", format!("export const x = {}0;", r("1 ? 0 : "))),
        ("templates.js", format!("export const x = {}1{};", r("`${"), r("}`"))),
        ("functions.js", format!("{}{}", r("function f() {"), r("}"))),
        ("classes.js", format!("export const x = {}0{};", r("class { static x = "), r("}"))),
        ("jsx.jsx", format!("export const x = {}{};", r("<a>"), r("</a>"))),
        ("types.ts", format!("export let x: {}number{} = [];", r("Array<"), r(">"))),
        ("json.json", format!("{}1{}", r("["), r("]"))),
        ("regexp.js", format!("export const x = /{}a{}/;", r("("), r(")"))),
    ];
    for (name, text) in cases {
        let (_parent, dir) = nested_project(&[(name, &text)]);
        for command in ["check", "build"] {
            let mut args = vec![command, name];
            if command == "build" {
                args.extend(["--outdir=out", "--minify", "--sourcemap"]);
            }
            let out = packem_limited(&dir, &args, Duration::from_secs(120));
            assert_clean_exit(&out, &format!("{command} {name}"));
        }
    }
}

/// An unreadable directory and an unreadable file inside the project are diagnosed (root reads
/// everything, so as root packem runs as `nobody` through `setpriv`, from a copy of the binary
/// that user may execute).
#[test]
#[cfg(target_os = "linux")]
fn unreadable_directories_and_files_are_diagnosed() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().unwrap();
    let set = |path: &Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    set(parent.path(), 0o755);
    let dir = parent.path().join("project");
    for (path, text) in [
        ("src/main.js", "import './secret/x.js';\nimport './locked.js';\nimport './ok.js';\nconsole.log(1);\n"),
        ("src/secret/x.js", "export {};\n"),
        ("src/locked.js", "export {};\n"),
        ("src/ok.js", "export {};\n"),
    ] {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    set(&dir, 0o777);
    set(&dir.join("src"), 0o755);
    set(&dir.join("src/secret"), 0o000);
    set(&dir.join("src/locked.js"), 0o000);
    let binary = parent.path().join("packem");
    std::fs::copy(env!("CARGO_BIN_EXE_packem"), &binary).unwrap();
    set(&binary, 0o755);
    let root = effective_uid() == 0;
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&binary);
        c
    } else {
        Command::new(&binary)
    };
    let out = command
        .current_dir(&dir)
        .args(["build", "src/main.js", "--outdir=out", "--no-cache"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    set(&dir.join("src/secret"), 0o755);
    set(&dir.join("src/locked.js"), 0o644);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("./secret/x.js"), "{err}");
    assert!(err.contains("locked.js"), "{err}");
    assert!(!err.contains("ok.js"), "{err}");
}

/// The effective user id, from `/proc` (no libc binding needed in a test).
fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// A symlinked output directory is followed (esbuild's behavior), and one that leads into the
/// sources is caught before an input is overwritten.
#[test]
fn symlinked_output_directories_are_followed_but_never_over_inputs() {
    let (_parent, dir) = nested_project(&[("src/main.js", "console.log(1);\n")]);
    std::os::unix::fs::symlink("src", dir.join("out")).unwrap();
    let out = packem_limited(&dir, &["build", "src/main.js", "--outdir=out"], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("OUTPUT_OVERWRITES_INPUT"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.join("src/main.js")).unwrap(), "console.log(1);\n");
    std::fs::remove_file(dir.join("out")).unwrap();
    std::fs::create_dir(dir.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink("elsewhere", dir.join("out")).unwrap();
    let out = packem_limited(&dir, &["build", "src/main.js", "--outdir=out"], Duration::from_secs(60));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("elsewhere/main.js").is_file());
}
