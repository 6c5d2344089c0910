//! Path validation: every rejected form, every accepted form.
#![allow(clippy::disallowed_methods)] // tests write their fixtures directly

use camino::{Utf8Path, Utf8PathBuf};
use packem_output::{OutputFile, WriteOptions, normalize_output_path, validate_paths};

fn outdir() -> &'static Utf8Path {
    Utf8Path::new("/nonexistent-packem-test/out")
}

fn check(paths: &[&str], inputs: &[Utf8PathBuf], allow_overwrite: bool) -> Result<(), Vec<String>> {
    let files: Vec<OutputFile> = paths.iter().map(|p| OutputFile::new(*p, &b"x"[..])).collect();
    let inputs = packem_output::InputPaths::new(inputs.iter().map(|p| p.as_path()));
    let options = WriteOptions { outdir: outdir(), inputs: &inputs, allow_overwrite, spare: false };
    validate_paths(&files, &options).map_err(|errors| errors.iter().map(|e| format!("{} {}", e.code, e.path)).collect())
}

fn rejected(path: &str) -> String {
    let errors = check(&[path], &[], false).expect_err(path);
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].split(' ').next().unwrap().to_owned()
}

#[test]
fn rejects_escaping_and_absolute_paths() {
    for path in [
        "../x.js",
        "a/../../x.js",
        "/etc/x",
        "C:\\x",
        "c:/x",
        "C:x",
        "a:b.js",
        "\\\\server\\share\\x",
        "\\x",
        "a\\..\\..\\x",
        "..",
        "./../x.js",
    ] {
        assert_eq!(rejected(path), "FILENAME_OUTSIDE_OUTPUT_DIRECTORY", "{path:?}");
    }
}

#[test]
fn rejects_malformed_paths() {
    for path in ["", "a\0b", "a/b/", "a\\", ".", "a/..", "./"] {
        assert_eq!(rejected(path), "INVALID_OUTPUT_PATH", "{path:?}");
    }
}

#[test]
fn accepts_relative_paths_and_normalizes_them() {
    assert_eq!(check(&["a/b/c.js", "./x.js", "a/../b.js", "a\\d.js"], &[], false), Ok(()));
    assert_eq!(normalize_output_path("a/b/c.js").unwrap(), "a/b/c.js");
    assert_eq!(normalize_output_path("./x.js").unwrap(), "x.js");
    assert_eq!(normalize_output_path("a/../b.js").unwrap(), "b.js");
    assert_eq!(normalize_output_path("a\\b\\.\\c.js").unwrap(), "a/b/c.js");
    assert_eq!(normalize_output_path("a//b.js").unwrap(), "a/b.js");
    assert_eq!(normalize_output_path("ab:c.js").unwrap(), "ab:c.js");
}

#[test]
fn rejects_duplicates_after_normalization() {
    let errors = check(&["a.js", "b.js", "./a.js"], &[], false).unwrap_err();
    assert_eq!(errors, vec!["DUPLICATE_OUTPUT_PATH ./a.js"]);
    let errors = check(&["x/a.js", "x\\a.js"], &[], false).unwrap_err();
    assert_eq!(errors, vec!["DUPLICATE_OUTPUT_PATH x\\a.js"]);
    // A file cannot also be a directory.
    let errors = check(&["a.js", "a.js/b.js"], &[], false).unwrap_err();
    assert_eq!(errors, vec!["DUPLICATE_OUTPUT_PATH a.js"]);
}

#[test]
fn reports_every_problem_at_once() {
    let errors = check(&["../a.js", "", "ok.js", "ok.js"], &[], false).unwrap_err();
    assert_eq!(
        errors,
        vec!["FILENAME_OUTSIDE_OUTPUT_DIRECTORY ../a.js", "INVALID_OUTPUT_PATH ", "DUPLICATE_OUTPUT_PATH ok.js"]
    );
}

#[test]
fn refuses_to_overwrite_inputs_unless_allowed() {
    let inputs = vec![
        Utf8PathBuf::from("/nonexistent-packem-test/out/src/main.js"),
        Utf8PathBuf::from("/nonexistent-packem-test/lib.js"),
    ];
    let errors = check(&["src/main.js"], &inputs, false).unwrap_err();
    assert_eq!(errors, vec!["OUTPUT_OVERWRITES_INPUT src/main.js"]);
    // Same file spelled differently.
    let errors = check(&["src/../src/./main.js"], &inputs, false).unwrap_err();
    assert_eq!(errors, vec!["OUTPUT_OVERWRITES_INPUT src/../src/./main.js"]);
    // Inside an input.
    let errors = check(&["src/main.js/x.js"], &inputs, false).unwrap_err();
    assert_eq!(errors, vec!["OUTPUT_OVERWRITES_INPUT src/main.js/x.js"]);
    // Next to an input is fine.
    assert_eq!(check(&["src/main.mjs", "lib.js"], &inputs, false), Ok(()));
    // --allow-overwrite.
    assert_eq!(check(&["src/main.js"], &inputs, true), Ok(()));
}

#[test]
fn refuses_to_overwrite_an_input_reached_through_a_symlinked_outdir() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Utf8Path::from_path(tmp.path()).unwrap();
    std::fs::create_dir(root.join("src")).unwrap();
    std::fs::write(root.join("src/main.js"), "x").unwrap();
    std::os::unix::fs::symlink(root.join("src"), root.join("out")).unwrap();
    let outdir = root.join("out");
    let inputs = packem_output::InputPaths::new([root.join("src/main.js").as_path()]);
    let files = vec![OutputFile::new("main.js", &b"y"[..])];
    let options = WriteOptions { outdir: &outdir, inputs: &inputs, allow_overwrite: false, spare: false };
    let errors = validate_paths(&files, &options).unwrap_err();
    assert_eq!(errors[0].code, "OUTPUT_OVERWRITES_INPUT");
}

#[test]
fn rejects_a_relative_outdir() {
    let files = vec![OutputFile::new("a.js", &b"x"[..])];
    let options = WriteOptions {
        outdir: Utf8Path::new("out"),
        inputs: &Default::default(),
        allow_overwrite: false,
        spare: false,
    };
    let errors = validate_paths(&files, &options).unwrap_err();
    assert_eq!(errors[0].code, "INVALID_OUTPUT_PATH");
}

#[test]
fn error_displays_message_and_code() {
    let err = normalize_output_path("../x.js").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Output path \"../x.js\" escapes the output directory through \"..\" [FILENAME_OUTSIDE_OUTPUT_DIRECTORY]"
    );
}
