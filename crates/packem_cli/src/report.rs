//! Printing diagnostics and summaries to stderr, esbuild-style.

use std::io::Write as _;
use std::sync::Arc;

use camino::Utf8Path;
use packem_db::diagnostic::{RenderOptions, render};
use packem_db::{Diagnostic, Severity};
use packem_host::Workspace;

use crate::args::{ColorArg, CommonArgs, LogLevel};

/// How many diagnostics of each severity there were.
#[derive(Default)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
}

/// Chooses colors: the flag when given, else a terminal without `NO_COLOR` (anstream decides).
pub fn set_color(choice: Option<ColorArg>) {
    let choice = match choice {
        Some(ColorArg::True | ColorArg::Always) => anstream::ColorChoice::Always,
        Some(ColorArg::False | ColorArg::Never) => anstream::ColorChoice::Never,
        Some(ColorArg::Auto) | None => anstream::ColorChoice::Auto,
    };
    choice.write_global();
}

/// Prints the diagnostics the log level lets through, at most `--log-limit` of them (esbuild's
/// rule: then a line says how many were not shown), and counts all of them.
pub fn print_diagnostics(workspace: &Workspace, diagnostics: &[Diagnostic], common: &CommonArgs) -> Counts {
    print_diagnostics_limited(workspace, diagnostics, common.log_level, common.log_limit)
}

/// [`print_diagnostics`] with the level and limit given directly.
pub fn print_diagnostics_limited(
    workspace: &Workspace,
    diagnostics: &[Diagnostic],
    level: LogLevel,
    limit: usize,
) -> Counts {
    let db = workspace.db();
    let cwd = workspace.project().options(db).cwd.clone();
    let text_of = |path: &Utf8Path| -> Option<Arc<str>> {
        let file = packem_db::Db::files(db).get(path)?;
        Some(packem_db::source_text(db, file).arc().clone())
    };
    let mut counts = Counts::default();
    // Always render with colors; anstream strips them when the terminal or NO_COLOR says so.
    let options = RenderOptions { color: true, cwd: &cwd };
    let mut stderr = anstream::stderr().lock();
    let mut printed = 0;
    let mut hidden = 0;
    for diagnostic in diagnostics {
        let shown = match diagnostic.severity {
            Severity::Error => {
                counts.errors += 1;
                level <= LogLevel::Error
            }
            Severity::Warning => {
                counts.warnings += 1;
                level <= LogLevel::Warning
            }
        };
        if shown && limit != 0 && printed >= limit {
            hidden += 1;
        } else if shown {
            printed += 1;
            let _ = stderr.write_all(render(diagnostic, &text_of, &options).as_bytes());
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            stderr,
            "{printed} of {} messages shown (disable the message limit with --log-limit=0)\n",
            printed + hidden
        );
    }
    counts
}

/// esbuild's closing line: "2 errors and 1 warning", or a quiet success line for `check`.
pub fn print_check_summary(counts: &Counts, modules: usize, elapsed: std::time::Duration, level: LogLevel) {
    if level > LogLevel::Info {
        return;
    }
    let plural = |n: usize, word: &str| {
        if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
    };
    let mut stderr = anstream::stderr().lock();
    let problems = match (counts.errors, counts.warnings) {
        (0, 0) => "no problems".to_string(),
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{} and {}", plural(e, "error"), plural(w, "warning")),
    };
    let _ = writeln!(stderr, "{} checked: {problems} ({}ms)", plural(modules, "module"), elapsed.as_millis());
}

/// Whether stderr gets colors (after `--color` and `NO_COLOR`).
pub fn stderr_has_color() -> bool {
    !matches!(anstream::AutoStream::choice(&std::io::stderr()), anstream::ColorChoice::Never)
}
