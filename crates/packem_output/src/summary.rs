//! esbuild's build summary table.

use std::fmt::Write as _;
use std::time::Duration;

/// The width esbuild lays the table out in when stderr is not a terminal.
pub const DEFAULT_TERMINAL_WIDTH: usize = 80;

/// Files at least this big (1 MiB) get a yellow size and a ⚠️, source maps excepted.
pub const SIZE_WARNING_THRESHOLD: u64 = 1024 * 1024;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
// esbuild's "dim" is light grey, not SGR 2.
const DIM: &str = "\x1b[37m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const YELLOW: &str = "\x1b[33m";

/// A size as esbuild prints it: `415b ` (bytes, with a trailing space so the unit column lines
/// up with two-letter units), `1.2kb`, `3.4mb`, `1.0gb` (one decimal, powers of 1024).
pub fn format_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = KB * 1024;
    const GB: u64 = MB * 1024;
    if bytes < KB {
        format!("{bytes}b ")
    } else if bytes < MB {
        format!("{:.1}kb", bytes as f64 / KB as f64)
    } else if bytes < GB {
        format!("{:.1}mb", bytes as f64 / MB as f64)
    } else {
        format!("{:.1}gb", bytes as f64 / GB as f64)
    }
}

/// Sorts summary rows the way esbuild does before printing: source maps (`.map`) last, then by
/// size descending, then by directory, then by file name.
pub fn sort_like_esbuild(files: &mut [(String, u64)]) {
    files.sort_by(|(a_path, a_bytes), (b_path, b_bytes)| {
        let (a_dir, a_base) = split_display(a_path);
        let (b_dir, b_base) = split_display(b_path);
        a_base
            .ends_with(".map")
            .cmp(&b_base.ends_with(".map"))
            .then(b_bytes.cmp(a_bytes))
            .then(a_dir.cmp(b_dir))
            .then(a_base.cmp(b_base))
    });
}

/// esbuild's build summary: a leading blank line, one line per output file
/// (`  out/main.js  12.3kb`, the directory part dim, the file name bold, the size right-aligned
/// in cyan, or yellow with ` ⚠️` from 1 MiB on), at most `max_lines` of them followed by
/// `  ...and N more output files...`, then a blank line and `⚡ Done in 12ms`. Ends with a newline.
///
/// Files are printed in the order given (see [`sort_like_esbuild`]). Laid out for an 80-column
/// terminal like esbuild when not on a TTY; see [`summary_with_width`]. With `color` false the
/// text contains no escape sequences.
pub fn summary(files: &[(String, u64)], elapsed: Duration, color: bool, max_lines: usize) -> String {
    summary_with_width(files, elapsed, color, max_lines, DEFAULT_TERMINAL_WIDTH)
}

/// [`summary`] for a terminal `width` columns wide: paths that do not fit are shortened with
/// `...` (the directory from the front first, then the file name from the back), as esbuild does.
pub fn summary_with_width(
    files: &[(String, u64)],
    elapsed: Duration,
    color: bool,
    max_lines: usize,
    width: usize,
) -> String {
    let style = |code: &'static str| if color { code } else { "" };
    let mut out = String::new();
    if !files.is_empty() {
        let shown = &files[..files.len().min(max_lines)];
        let rows: Vec<Row> = shown
            .iter()
            .map(|(path, bytes)| {
                let (dir, base) = split_display(path);
                Row {
                    dir: dir.chars().collect(),
                    base: base.chars().collect(),
                    size: format_size(*bytes),
                    warn: *bytes >= SIZE_WARNING_THRESHOLD && !base.ends_with(".map"),
                }
            })
            .collect();

        const SPACING: usize = 2;
        const MARGIN: &str = "  ";
        let max_path = rows.iter().map(|r| r.dir.len() + r.base.len()).max().unwrap_or(0);
        let max_size = rows.iter().map(|r| r.size.len() + SPACING).max().unwrap_or(0);
        let has_warning = rows.iter().any(|r| r.warn);
        let mut layout = width.max(1) as isize - 2 * MARGIN.len() as isize;
        if has_warning {
            layout -= 2; // room for the warning icon
        }
        layout = layout.min((max_path + max_size) as isize);
        out.push('\n');

        for row in &rows {
            let path_width = layout - max_size as isize;
            let mut dir: Vec<char> = row.dir.clone();
            let mut base: Vec<char> = row.base.clone();
            if (dir.len() + base.len()) as isize > path_width {
                // Trim the directory from the front, keeping its trailing slash.
                if !dir.is_empty() {
                    let keep = (path_width - base.len() as isize - 3).max(1) as usize;
                    let keep = keep.min(dir.len());
                    let mut trimmed: Vec<char> = "...".chars().collect();
                    trimmed.extend_from_slice(&dir[dir.len() - keep..]);
                    dir = trimmed;
                }
                // Then the file name from the back.
                if (dir.len() + base.len()) as isize > path_width {
                    let keep = (path_width - dir.len() as isize - 3).max(0) as usize;
                    base.truncate(keep.min(base.len()));
                    base.extend("...".chars());
                }
            }
            let spacer = (layout - row.size.len() as isize - dir.len() as isize - base.len() as isize).max(0) as usize;
            let (size_color, warning) = if row.warn { (style(YELLOW), " ⚠️") } else { (style(CYAN), "") };
            let _ = writeln!(
                out,
                "{MARGIN}{}{}{}{}{}{}{}{}{}{}{}",
                style(DIM),
                dir.iter().collect::<String>(),
                style(RESET),
                style(BOLD),
                base.iter().collect::<String>(),
                style(RESET),
                " ".repeat(spacer),
                size_color,
                row.size,
                warning,
                style(RESET),
            );
        }

        if files.len() > shown.len() {
            let more = files.len() - shown.len();
            let plural = if more == 1 { "" } else { "s" };
            let _ = writeln!(out, "{MARGIN}{}...and {more} more output file{plural}...{}", style(DIM), style(RESET));
        }
    }
    out.push('\n');
    let _ = writeln!(out, "⚡ {}Done in {}ms{}", style(GREEN), elapsed.as_millis(), style(RESET));
    out
}

struct Row {
    dir: Vec<char>,
    base: Vec<char>,
    size: String,
    warn: bool,
}

/// Splits a display path into its directory part (with trailing separator) and file name.
fn split_display(path: &str) -> (&str, &str) {
    match path.rfind(['/', '\\']) {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    }
}
