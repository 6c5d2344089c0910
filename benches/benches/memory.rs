//! Memory of a long watch session: the resident set size over 1,000 body edits of a leaf module
//! of `synth-1000` in one warm workspace (each edit applied, rebuilt and written like
//! `rebuild.rs`). Prints VmRSS after the warm build and after every 100 edits, then the growth.
//!
//! Not a timing benchmark, so no divan: a plain `main`. The full 1,000 edits run under
//! `cargo bench` (which passes `--bench`) or with `PACKEM_BENCH_FULL` set; otherwise (the test
//! mode of `cargo test --all-targets`) only 20, with a report every 5.
//!
//! Doubles as a steady-state driver for profiling (`perf record -g` on the binary with
//! `PACKEM_BENCH_FULL=1`): `PACKEM_BENCH_CORPUS` picks another corpus (`three10`,
//! `synth-10000`), `PACKEM_BENCH_EDIT` another edit (`import`, `noop`; default `body`) and
//! `PACKEM_BENCH_EDITS` the number of edits, `PACKEM_BENCH_MAX_CHUNK_SIZE` code splitting into
//! parts of at most that many bytes, and `PACKEM_LOG` a tracing filter that prints each stage's
//! and link step's time, as the CLI does.

use packem_benches::{Corpus, cpu_time, rss_kib};

fn main() {
    packem_host::init_tracing_from_env();
    let full = std::env::args().any(|arg| arg == "--bench") || std::env::var_os("PACKEM_BENCH_FULL").is_some();
    let (mut edits, every) = if full { (1000, 100) } else { (20, 5) };
    if let Some(n) = std::env::var("PACKEM_BENCH_EDITS").ok().and_then(|n| n.parse().ok()) {
        edits = n;
    }
    let name = std::env::var("PACKEM_BENCH_CORPUS").unwrap_or_else(|_| "synth-1000".to_owned());
    let kind = std::env::var("PACKEM_BENCH_EDIT").unwrap_or_else(|_| "body".to_owned());
    let copy = Corpus::new(&name);
    // `PACKEM_BENCH_MAX_CHUNK_SIZE=BYTES`: code splitting into parts of at most that size.
    let mut session = match std::env::var("PACKEM_BENCH_MAX_CHUNK_SIZE").ok().and_then(|n| n.parse().ok()) {
        Some(max) => copy.split_session(max),
        None => copy.session(),
    };
    let warm = rss_kib();
    println!("{name}: RSS after the warm build: {} MiB", mib(warm));
    let start = std::time::Instant::now();
    let cpu_start = cpu_time();
    for n in 1..=edits {
        match kind.as_str() {
            "import" => session.edit(&copy.importer, &copy.import_edit(n % 2 == 1)),
            "noop" => session.edit(&copy.leaf, copy.leaf_text()),
            _ if std::env::var_os("PACKEM_BENCH_PHASES").is_some() => {
                session.traced_edit(&copy.leaf, &copy.body_edit(n))
            }
            _ => session.edit(&copy.leaf, &copy.body_edit(n)),
        };
        if n % every == 0 {
            println!("{name}: RSS after {n} {kind} edits: {} MiB", mib(rss_kib()));
        }
    }
    let elapsed = start.elapsed();
    let cpu = cpu_time() - cpu_start;
    let last = rss_kib();
    println!("{name}: {edits} {kind} edits in {elapsed:.2?} ({:.2?} each)", elapsed / edits.max(1) as u32);
    println!("{name}: CPU time {cpu:.2?} ({:.2?} per edit)", cpu / edits.max(1) as u32);
    println!(
        "{name}: RSS growth over {edits} {kind} edits: {:+.1} MiB ({:+.1} KiB per edit)",
        (last as f64 - warm as f64) / 1024.0,
        (last as f64 - warm as f64) / edits as f64
    );
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}
