//! `cargo xtask tidy` (and the `tidy` test, so `cargo xtask test` runs it): checks of the
//! repository's shape that no compiler makes.
//! - Every crate under `crates/` has its section in ARCHITECTURE.md's code map.
//! - Every dependency a manifest lists is used by the crate's code (its `src`, `tests`, `benches`).
//! - No test skips itself: no `eprintln!("skipped…")`, and no `return` right after reading an
//!   environment variable in a test file (a test that can pass without checking anything).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

pub fn tidy(root: &Path) -> Result<()> {
    let problems = check(root)?;
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    bail!("tidy found {} problem(s):\n{}", problems.len(), problems.join("\n"))
}

/// Every problem found, one line each.
pub fn check(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md"))?;
    let mut crates: Vec<PathBuf> =
        std::fs::read_dir(root.join("crates"))?.map(|entry| entry.map(|e| e.path())).collect::<std::io::Result<_>>()?;
    crates.sort();
    for dir in &crates {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if !architecture.contains(&format!("### `crates/{name}`")) {
            problems.push(format!("ARCHITECTURE.md: the code map has no section for crates/{name}"));
        }
    }
    let mut packages = crates.clone();
    packages.extend(["tests", "benches", "xtask"].map(|p| root.join(p)));
    for dir in &packages {
        problems.extend(unused_dependencies(root, dir)?);
    }
    for dir in &packages {
        for file in rust_files(dir)? {
            let is_test_file =
                file.components().any(|c| matches!(c.as_os_str().to_str(), Some("tests"))) || dir.ends_with("tests");
            if is_test_file {
                problems.extend(self_skips(root, &file)?);
            }
        }
    }
    Ok(problems)
}

/// The dependencies of `dir/Cargo.toml` that no Rust file of the package names.
fn unused_dependencies(root: &Path, dir: &Path) -> Result<Vec<String>> {
    let manifest_path = dir.join("Cargo.toml");
    let manifest: toml::Table = std::fs::read_to_string(&manifest_path)?
        .parse()
        .with_context(|| format!("parsing {}", manifest_path.display()))?;
    let sources: Vec<String> = rust_files(dir)?.iter().map(std::fs::read_to_string).collect::<std::io::Result<_>>()?;
    let mut out = Vec::new();
    for section in ["dependencies", "dev-dependencies"] {
        let Some(deps) = manifest.get(section).and_then(toml::Value::as_table) else { continue };
        for name in deps.keys() {
            let ident = name.replace('-', "_");
            let used = sources.iter().any(|text| {
                text.contains(&format!("{ident}::"))
                    || text.contains(&format!("use {ident}"))
                    || text.contains(&format!("{ident}!"))
                    || text.contains(&format!("extern crate {ident}"))
            });
            if !used {
                let shown = manifest_path.strip_prefix(root).unwrap_or(&manifest_path).display().to_string();
                out.push(format!("{shown}: [{section}] {name} is never used"));
            }
        }
    }
    Ok(out)
}

/// Places where a test in `file` skips itself.
fn self_skips(root: &Path, file: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file)?;
    let lines: Vec<&str> = text.lines().collect();
    let shown = file.strip_prefix(root).unwrap_or(file).display().to_string();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed.contains("eprintln!(\"skipped") || trimmed.contains("skipping\")") {
            out.push(format!("{shown}:{}: a test skips itself: {trimmed}", i + 1));
        }
        if trimmed.contains("env::var(") {
            let next = lines.iter().skip(i + 1).take(3).map(|l| l.trim());
            if next.clone().any(|l| l == "return;" || l.starts_with("return ")) {
                out.push(format!("{shown}:{}: a test returns early on an environment variable", i + 1));
            }
        }
    }
    Ok(out)
}

/// Every `.rs` file under `dir` (not under `target` or `node_modules`), sorted.
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if path.is_dir() {
                if !matches!(name, "target" | "node_modules" | "fixtures") && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tidy() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let problems = super::check(root).unwrap();
        assert!(problems.is_empty(), "cargo xtask tidy:\n{}", problems.join("\n"));
    }
}
