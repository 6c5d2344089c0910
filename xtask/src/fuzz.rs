//! `cargo xtask fuzz [--time=S] [--parallel=N] [--minimize] [TARGET...]`: runs the fuzz targets
//! of `fuzz/` (cargo-fuzz on the nightly toolchain, libFuzzer), each for `S` seconds (default
//! 60), `N` at a time (default 1), on its corpus `fuzz/corpus/<target>`, which libFuzzer grows.
//! `--minimize` then shrinks each corpus to the inputs that keep its coverage (`cargo fuzz cmin`).
//! A crash or hang leaves its input in `fuzz/artifacts/<target>/`; once fixed, it belongs in
//! `fuzz/regressions/<target>/`, which the test suite replays (`crates/packem_fuzz/tests`).

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// The targets, as `fuzz/Cargo.toml` names them.
const TARGETS: &[&str] = &["one_file", "project", "lsp", "config"];

pub fn fuzz(root: &Path, args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut parallel = 1usize;
    let mut minimize = false;
    let mut targets: Vec<&str> = Vec::new();
    for arg in args {
        if let Some(value) = arg.strip_prefix("--time=") {
            seconds = value.parse()?;
        } else if let Some(value) = arg.strip_prefix("--parallel=") {
            parallel = value.parse::<usize>()?.max(1);
        } else if arg == "--minimize" {
            minimize = true;
        } else if let Some(target) = TARGETS.iter().find(|t| **t == arg) {
            targets.push(target);
        } else {
            bail!("unknown argument {arg:?} (targets: {})", TARGETS.join(", "));
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let cargo = crate::env_or("CARGO", "cargo");
    if !Command::new(&cargo).args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success()) {
        crate::run(Command::new(&cargo).args(["install", "cargo-fuzz", "--locked"]))?;
    }
    crate::run(Command::new("cargo").current_dir(root).args(["+nightly", "fuzz", "build"]).args(&targets))?;
    let mut failed = Vec::new();
    for batch in targets.chunks(parallel) {
        let children: Vec<_> = batch
            .iter()
            .map(|target| {
                let corpus = root.join("fuzz/corpus").join(target);
                Command::new("cargo")
                    .current_dir(root)
                    .args(["+nightly", "fuzz", "run", target])
                    .arg(&corpus)
                    .args([
                        "--",
                        &format!("-max_total_time={seconds}"),
                        "-timeout=60",
                        "-rss_limit_mb=8192",
                        "-close_fd_mask=3",
                        "-print_final_stats=1",
                    ])
                    // LeakSanitizer reports dependency edges that salsa allocated in the server's
                    // cancellable diagnostics runs as unfreed (1.7 KB in 62 allocations in the
                    // first session it saw, inside `ActiveQueryGuard::complete`): it would stop
                    // the language server's target at once. Crashes and hangs are still caught.
                    .args((*target == "lsp").then_some("-detect_leaks=0"))
                    .spawn()
                    .map(|child| (*target, child))
            })
            .collect::<Result<_, _>>()?;
        for (target, mut child) in children {
            if !child.wait()?.success() {
                failed.push(target);
            }
        }
    }
    if minimize {
        for target in &targets {
            crate::run(Command::new("cargo").current_dir(root).args(["+nightly", "fuzz", "cmin", target]))?;
        }
    }
    if !failed.is_empty() {
        bail!("fuzz targets found crashes: {} (inputs in fuzz/artifacts/)", failed.join(", "));
    }
    Ok(())
}
