//! Memory of a long watch session: the resident set size over 1,000 body edits of a leaf module
//! of `synth-1000` in one warm workspace (each edit applied, rebuilt and written like
//! `rebuild.rs`). Prints VmRSS after the warm build and after every 100 edits, then the growth.
//!
//! Not a timing benchmark, so no divan: a plain `main`. The full 1,000 edits run under
//! `cargo bench` (which passes `--bench`) or with `PACKEM_BENCH_FULL` set; otherwise (the test
//! mode of `cargo test --all-targets`) only 20, with a report every 5.

use packem_benches::{Corpus, rss_kib};

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench") || std::env::var_os("PACKEM_BENCH_FULL").is_some();
    let (edits, every) = if full { (1000, 100) } else { (20, 5) };
    let copy = Corpus::new("synth-1000");
    let mut session = copy.session();
    let warm = rss_kib();
    println!("synth-1000: RSS after the warm build: {} MiB", mib(warm));
    for n in 1..=edits {
        session.edit(&copy.leaf, &copy.body_edit(n));
        if n % every == 0 {
            println!("synth-1000: RSS after {n} body edits: {} MiB", mib(rss_kib()));
        }
    }
    let last = rss_kib();
    println!(
        "synth-1000: RSS growth over {edits} body edits: {:+.1} MiB ({:+.1} KiB per edit)",
        (last as f64 - warm as f64) / 1024.0,
        (last as f64 - warm as f64) / edits as f64
    );
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}
