//! The build summary table, checked against esbuild 0.28.2's own output for the same files.

use std::time::Duration;

use packem_output::{format_size, sort_like_esbuild, summary, summary_with_width};

fn rows(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(p, b)| ((*p).to_owned(), *b)).collect()
}

#[test]
fn sizes_are_formatted_like_esbuild() {
    assert_eq!(format_size(0), "0b ");
    assert_eq!(format_size(415), "415b ");
    assert_eq!(format_size(1023), "1023b ");
    assert_eq!(format_size(1024), "1.0kb");
    assert_eq!(format_size(1280), "1.2kb"); // 1.25 rounds half to even, as Go's %.1f does
    assert_eq!(format_size(1500), "1.5kb");
    assert_eq!(format_size(12_595), "12.3kb");
    assert_eq!(format_size(1024 * 1024 - 1), "1024.0kb");
    assert_eq!(format_size(1_601_050), "1.5mb");
    assert_eq!(format_size(3 * 1024 * 1024 * 1024), "3.0gb");
}

#[test]
fn plain_table_matches_esbuild() {
    // esbuild --outdir=out3 --sourcemap --color=false, sizes as written.
    let mut files = rows(&[
        ("out3/a.js.map", 482),
        ("out3/mid.js", 6050),
        ("out3/big.js.map", 1_600_191),
        ("out3/a.js", 1500),
        ("out3/mid.js.map", 5191),
        ("out3/big.js", 1_601_050),
    ]);
    sort_like_esbuild(&mut files);
    let text = summary(&files, Duration::from_millis(12), false, 20);
    assert_eq!(
        text,
        "\n  out3/big.js      1.5mb ⚠️\n  out3/mid.js      5.9kb\n  out3/a.js        1.5kb\n  \
         out3/big.js.map  1.5mb\n  out3/mid.js.map  5.1kb\n  out3/a.js.map    482b \n\n⚡ Done in 12ms\n"
    );
    assert!(!text.contains('\x1b'));
}

#[test]
fn colored_table_matches_esbuild() {
    let files = rows(&[
        ("out3/big.js", 1_601_050),
        ("out3/mid.js", 6050),
        ("out3/a.js", 1500),
        ("out3/big.js.map", 1_600_191),
        ("out3/mid.js.map", 5191),
        ("out3/a.js.map", 482),
    ]);
    let text = summary(&files, Duration::from_millis(3), true, 20);
    let expected = "\n\
        \x20 \x1b[37mout3/\x1b[0m\x1b[1mbig.js\x1b[0m      \x1b[33m1.5mb ⚠️\x1b[0m\n\
        \x20 \x1b[37mout3/\x1b[0m\x1b[1mmid.js\x1b[0m      \x1b[36m5.9kb\x1b[0m\n\
        \x20 \x1b[37mout3/\x1b[0m\x1b[1ma.js\x1b[0m        \x1b[36m1.5kb\x1b[0m\n\
        \x20 \x1b[37mout3/\x1b[0m\x1b[1mbig.js.map\x1b[0m  \x1b[36m1.5mb\x1b[0m\n\
        \x20 \x1b[37mout3/\x1b[0m\x1b[1mmid.js.map\x1b[0m  \x1b[36m5.1kb\x1b[0m\n\
        \x20 \x1b[37mout3/\x1b[0m\x1b[1ma.js.map\x1b[0m    \x1b[36m482b \x1b[0m\n\
        \n⚡ \x1b[32mDone in 3ms\x1b[0m\n";
    assert_eq!(text, expected);
}

#[test]
fn long_paths_are_shortened_to_80_columns_like_esbuild() {
    let dir = "out2/very/long/directory/name/that/keeps/going/and/going/further/";
    let mut files: Vec<(String, u64)> = [
        ("mid.js.map", 5221),
        ("a.js", 1500),
        ("b.js", 1031),
        ("mid.js", 6050),
        ("big.js.map", 1_600_221),
        ("big.js", 1_601_050),
        ("b.js.map", 214),
        ("a.js.map", 572),
    ]
    .iter()
    .map(|(name, bytes)| (format!("{dir}{name}"), *bytes))
    .collect();
    sort_like_esbuild(&mut files);
    let text = summary(&files, Duration::from_millis(7), false, 20);
    let expected = "
  ...ry/long/directory/name/that/keeps/going/and/going/further/big.js  1.5mb ⚠️
  ...ry/long/directory/name/that/keeps/going/and/going/further/mid.js  5.9kb
  ...very/long/directory/name/that/keeps/going/and/going/further/a.js  1.5kb
  ...very/long/directory/name/that/keeps/going/and/going/further/b.js  1.0kb
  ...ong/directory/name/that/keeps/going/and/going/further/big.js.map  1.5mb
  ...ong/directory/name/that/keeps/going/and/going/further/mid.js.map  5.1kb
  .../long/directory/name/that/keeps/going/and/going/further/a.js.map  572b 
  .../long/directory/name/that/keeps/going/and/going/further/b.js.map  214b 

⚡ Done in 7ms
";
    assert_eq!(text, expected);
    // A wide terminal shows everything.
    let wide = summary_with_width(&files, Duration::from_millis(7), false, 20, 200);
    assert!(wide.contains(&format!("  {dir}big.js      1.5mb ⚠️\n")), "{wide}");
}

#[test]
fn truncates_after_max_lines() {
    let files: Vec<(String, u64)> = (0..7).map(|i| (format!("dist/f{i}.js"), 100 + i)).collect();
    let text = summary(&files, Duration::from_millis(1), false, 5);
    assert_eq!(
        text,
        "\n  dist/f0.js  100b \n  dist/f1.js  101b \n  dist/f2.js  102b \n  dist/f3.js  103b \n  \
         dist/f4.js  104b \n  ...and 2 more output files...\n\n⚡ Done in 1ms\n"
    );
    let text = summary(&files[..6], Duration::from_millis(1), false, 5);
    assert!(text.contains("  ...and 1 more output file...\n"), "{text}");
    let colored = summary(&files, Duration::from_millis(1), true, 5);
    assert!(colored.contains("  \x1b[37m...and 2 more output files...\x1b[0m\n"), "{colored}");
}

#[test]
fn files_without_a_directory_and_no_files() {
    let files = rows(&[("main.js", 2048), ("dist\\win.js", 10)]);
    assert_eq!(
        summary(&files, Duration::from_millis(5), false, 20),
        "\n  main.js      2.0kb\n  dist\\win.js   10b \n\n⚡ Done in 5ms\n"
    );
    assert_eq!(summary(&[], Duration::from_millis(5), false, 20), "\n⚡ Done in 5ms\n");
}
