//! Differential execution at scale: generated projects (the whole-pipeline fuzz target's
//! generator, restricted to what Node runs as it is) run by Node, then bundled in every format,
//! with and without tree shaking, code splitting and minification, each bundle run by Node:
//! they must print the same. `PACKEM_DIFF_CASES` sets the number of cases (default 60) and
//! `PACKEM_DIFF_SEED` the first seed; a failure prints its seed and files.

use packem_fuzz::{Config, Verdict, differential};
use packem_host::Format;

/// splitmix64, for the cases' bytes.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

/// Every combination, three of them per case (chosen by the seed), so a run covers them all.
fn configs(seed: u64) -> Vec<Config> {
    let mut all = Vec::new();
    for format in [Format::Esm, Format::Cjs, Format::Iife] {
        for tree_shaking in [true, false] {
            for minify in [false, true] {
                for splitting in [false, true] {
                    if splitting && format != Format::Esm {
                        continue;
                    }
                    all.push(Config { format, tree_shaking, splitting, minify });
                }
            }
        }
    }
    (0..3).map(|k| all[(seed as usize * 3 + k) % all.len()]).collect()
}

#[test]
fn bundles_of_generated_projects_print_what_node_prints_for_the_sources() {
    let cases: u64 = std::env::var("PACKEM_DIFF_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let first: u64 = std::env::var("PACKEM_DIFF_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let (mut same, mut skipped, mut failures) = (0, 0, Vec::new());
    for seed in first..first + cases {
        match differential(&bytes(seed, 768), &configs(seed)) {
            Verdict::Same => same += 1,
            Verdict::NotComparable => skipped += 1,
            Verdict::Differs(report) => failures.push(format!("seed {seed}: {report}")),
        }
    }
    eprintln!("{same} cases ran the same, {skipped} were not runnable by Node, {} differed", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(same * 4 >= cases, "only {same} of {cases} cases were comparable: the generator needs work");
}
