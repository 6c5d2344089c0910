//! `cargo xtask`: the one entry point for everything beyond `cargo build` and `cargo test`.
//!
//! - `cargo xtask fixtures`: installs the pinned npm corpora (three, react, react-dom) and
//!   esbuild (for comparisons) into `.fixtures/npm` (git-ignored).
//! - `cargo xtask test`: `fixtures`, `cargo fmt --check`, clippy with warnings denied, then the
//!   whole test suite. This is what CI runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// npm packages the test suite uses, pinned so every machine tests the same code.
const NPM_PACKAGES: &[(&str, &str)] =
    &[("three", "0.187.0"), ("react", "19.3.1"), ("react-dom", "19.3.1"), ("esbuild", "0.28.2")];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("fixtures") => fixtures(&root),
        Some("test") => {
            fixtures(&root)?;
            let cargo = env_or("CARGO", "cargo");
            run(Command::new(&cargo).current_dir(&root).args(["fmt", "--all", "--", "--check"]))?;
            run(Command::new(&cargo).current_dir(&root).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))?;
            run(Command::new(&cargo).current_dir(&root).args(["test", "--workspace", "--all-targets"]).args(&args[1..]))
        }
        _ => {
            eprintln!("usage: cargo xtask <fixtures|test> [cargo test args]");
            bail!("unknown or missing task")
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// Installs [`NPM_PACKAGES`] into `.fixtures/npm` unless the lock of what is there matches.
fn fixtures(root: &Path) -> Result<()> {
    let dir = root.join(".fixtures/npm");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let deps: serde_json::Map<String, serde_json::Value> =
        NPM_PACKAGES.iter().map(|(name, version)| (name.to_string(), serde_json::Value::from(*version))).collect();
    let manifest = serde_json::json!({
        "name": "packem-fixtures",
        "private": true,
        "description": "Installed by `cargo xtask fixtures`; never committed.",
        "dependencies": deps,
    });
    let manifest = serde_json::to_string_pretty(&manifest)? + "\n";
    let stamp = dir.join("node_modules/.packem-stamp");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(manifest.as_str()) {
        eprintln!("fixtures: up to date in {}", dir.display());
        return Ok(());
    }
    std::fs::write(dir.join("package.json"), &manifest)?;
    eprintln!("fixtures: installing {} npm packages into {}", NPM_PACKAGES.len(), dir.display());
    run(Command::new("npm").current_dir(&dir).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--no-package-lock",
        "--loglevel=error",
    ]))?;
    std::fs::write(&stamp, manifest)?;
    Ok(())
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}
