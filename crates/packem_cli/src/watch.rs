//! `packem build --watch`: rebuild on every change, writing only outputs whose bytes changed.
//!
//! The loop follows ty's: file-system events are debounced (a quiet period, with a forced flush
//! under constant churn), turned into input changes on the one database, and a rebuild runs on
//! the main thread. Events that arrive during a rebuild wait in the channel and start the next
//! one, so no change is lost. The watch set is recomputed after every build from the database:
//! the directory of every file read and the nearest existing ancestor of every path resolution
//! looked for and did not find, so creating a missing import target rebuilds.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Result;
use camino::Utf8PathBuf;
use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::args::{BuildArgs, LogLevel, WatchMode};
use crate::build::{Builder, Outcome};
use crate::report;

/// Events closer together than this are one batch.
const QUIET: Duration = Duration::from_millis(10);
/// A batch is processed at the latest this long after its first event, even under constant churn.
const FLUSH_AFTER: Duration = Duration::from_millis(200);

enum Message {
    Fs(notify::Result<notify::Event>),
    /// Stdin closed (without `--watch=forever`) or Ctrl-C: end the session.
    Stop,
}

pub fn run(mut builder: Builder, args: &BuildArgs) -> Result<ExitCode> {
    let result = watch(&mut builder, args);
    builder.remove_spares();
    // What the session built last serves the next process.
    crate::cache::save(&mut builder.workspace, args.common.log_level);
    result
}

fn watch(builder: &mut Builder, args: &BuildArgs) -> Result<ExitCode> {
    let level = args.common.log_level;
    builder.workspace.db().events().enable();
    // Stamps of what the builds read, to find edits made before the watches were in place.
    packem_db::Db::files(builder.workspace.db()).record_reads(true);
    let (tx, rx) = std::sync::mpsc::channel::<Message>();
    let fs_tx = tx.clone();
    let late_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads (opening, reading, closing a file read) change nothing, and must not keep a
        // batch open: a process reading the outputs every few milliseconds (a dev server, a
        // test) held every rebuild back until the forced flush, 200 ms after the edit.
        if event.as_ref().is_ok_and(|e| matches!(e.kind, EventKind::Access(kind) if !closed_after_writing(kind))) {
            return;
        }
        let _ = fs_tx.send(Message::Fs(event));
    })?;
    // Ctrl-C ends the session like stdin closing does, so the spare output files are removed.
    let stop_tx = tx.clone();
    let _ = ctrlc::set_handler(move || {
        let _ = stop_tx.send(Message::Stop);
    });
    if args.watch != Some(WatchMode::Forever) {
        // esbuild's rule: a watch started by another process ends when that process goes away.
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin();
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
            let _ = tx.send(Message::Stop);
        });
    }

    let start = Instant::now();
    let outcomes = builder.build();
    let elapsed = start.elapsed();
    let diagnostics: Vec<packem_db::Diagnostic> = outcomes.iter().flat_map(|o| o.diagnostics.iter().cloned()).collect();
    let counts = report::print_diagnostics_limited(&builder.workspace, &diagnostics, level, args.common.log_limit);
    // What the first build computed serves the next process; later edits live in this one.
    crate::cache::save(&mut builder.workspace, level);
    let mut watched = BTreeSet::new();
    update_watches(&mut watcher, &mut watched, builder, false);
    report_late_changes(builder, &late_tx);
    // The watch set changes only when the files the build knows or the graph change.
    let mut basis_seen = watch_basis(builder);
    // Said once the watches are in place: an edit made after this line is seen.
    if level <= LogLevel::Info {
        let text = match counts.errors {
            0 => format!("[watch] build finished in {}ms, watching for changes...\n", elapsed.as_millis()),
            n => format!(
                "[watch] build failed with {n} error{}, watching for changes...\n",
                if n == 1 { "" } else { "s" }
            ),
        };
        let _ = anstream::stderr().lock().write_all(text.as_bytes());
    }

    while let Some(batch) = next_batch(&rx) {
        let mut paths = BTreeSet::new();
        let mut rescan = false;
        for message in batch {
            match message {
                Message::Stop => return Ok(ExitCode::SUCCESS),
                Message::Fs(Ok(event)) => {
                    rescan |= event.need_rescan();
                    // A write through a mapping shows only as closing the file after writing.
                    if matches!(event.kind, EventKind::Access(kind) if !closed_after_writing(kind)) {
                        continue;
                    }
                    for path in event.paths {
                        let Ok(path) = Utf8PathBuf::from_path_buf(path) else { continue };
                        if builder.is_own_output(&path) {
                            // Ours, or someone else's edit of an output: look at it next time.
                            builder.output_touched(&path);
                        } else {
                            paths.insert(path);
                        }
                    }
                }
                Message::Fs(Err(error)) => {
                    tracing::warn!(%error, "file watcher error; rescanning");
                    rescan = true;
                }
            }
        }
        if paths.is_empty() && !rescan {
            continue;
        }
        let started = Instant::now();
        tracing::debug!(?paths, rescan, "watch batch");
        let _ = builder.workspace.db().events().take();
        let summary = if rescan { builder.workspace.rescan() } else { builder.workspace.apply_changes(paths) };
        if summary.changed.is_empty() && !summary.resolution_invalidated {
            continue;
        }
        let outcomes = builder.build();
        let executed = builder.workspace.db().events().take().len();
        let diagnostics: Vec<packem_db::Diagnostic> =
            outcomes.iter().flat_map(|o| o.diagnostics.iter().cloned()).collect();
        let counts = report::print_diagnostics_limited(&builder.workspace, &diagnostics, level, args.common.log_limit);
        if level <= LogLevel::Info {
            let line = rebuild_line(builder, &summary.changed, executed, started.elapsed(), counts.errors, &outcomes);
            let _ = anstream::stderr().lock().write_all(line.as_bytes());
        }
        let basis = watch_basis(builder);
        if basis != basis_seen || summary.resolution_invalidated {
            // A directory created, deleted or moved invalidates resolution: watch everything
            // afresh, since a watch follows the directory it was put on, not its path.
            update_watches(&mut watcher, &mut watched, builder, summary.resolution_invalidated);
            report_late_changes(builder, &late_tx);
            basis_seen = basis;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What the watch set is computed from: the number of known paths (resolution adds one for
/// every path it probes) and the module graph's identity.
fn watch_basis(builder: &Builder) -> (usize, usize) {
    let files = packem_db::Db::files(builder.workspace.db()).len();
    (files, std::sync::Arc::as_ptr(&builder.workspace.module_graph()) as usize)
}

/// The next batch: blocks for one message, then takes more until `QUIET` passes without one or
/// `FLUSH_AFTER` has passed since the first. `None` when every sender is gone.
fn next_batch(rx: &Receiver<Message>) -> Option<Vec<Message>> {
    let first = rx.recv().ok()?;
    let started = Instant::now();
    let mut batch = vec![first];
    loop {
        let left = FLUSH_AFTER.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        match rx.recv_timeout(QUIET.min(left)) {
            Ok(message) => batch.push(message),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    Some(batch)
}

/// Whether an access event is a file closed after writing (inotify's `IN_CLOSE_WRITE`).
fn closed_after_writing(kind: notify::event::AccessKind) -> bool {
    matches!(kind, notify::event::AccessKind::Close(notify::event::AccessMode::Write))
}

/// Queues, as if the watcher had reported them, the paths that changed after the build read them
/// and before their directories were watched (a save during the build).
fn report_late_changes(builder: &Builder, tx: &std::sync::mpsc::Sender<Message>) {
    let late = builder.workspace.changed_since_read();
    if !late.is_empty() {
        tracing::debug!(?late, "changed before the watches were in place");
        let mut event = notify::Event::new(EventKind::Any);
        event.paths = late.into_iter().map(Utf8PathBuf::into_std_path_buf).collect();
        let _ = tx.send(Message::Fs(Ok(event)));
    }
}

/// Watches the directories the build depends on (non-recursively) and unwatches the rest; with
/// `reset`, every directory is unwatched and watched again first.
///
/// inotify watches a directory, not a path: after `src/a` is renamed to `src/b` and another
/// directory to `src/a`, the watch put on `src/a` reports events of what is now `src/b`, and the
/// new `src/a` is not watched although its path is in the set. A reset after directories moved
/// puts every watch back on what each path names now (`report_late_changes` then covers edits
/// made while they were off).
fn update_watches(
    watcher: &mut notify::RecommendedWatcher,
    watched: &mut BTreeSet<Utf8PathBuf>,
    builder: &Builder,
    reset: bool,
) {
    if reset {
        for dir in std::mem::take(watched) {
            let _ = watcher.unwatch(dir.as_std_path());
        }
    }
    // Every directory an input lives in, the output directory included when sources sit there
    // (events for the outputs themselves only mark them for a look at the next write:
    // `Builder::is_own_output`, `Builder::output_touched`).
    // The outputs' directories too: the writer trusts what it wrote unless told otherwise.
    let mut wanted: BTreeSet<Utf8PathBuf> = builder.workspace.watch_directories().into_iter().collect();
    wanted.extend(builder.output_directories());
    for dir in watched.difference(&wanted) {
        let _ = watcher.unwatch(dir.as_std_path());
    }
    for dir in wanted.difference(watched) {
        if let Err(error) = watcher.watch(dir.as_std_path(), RecursiveMode::NonRecursive) {
            tracing::warn!(%dir, %error, "cannot watch directory");
        }
    }
    *watched = wanted;
}

/// One line per rebuild: what changed, how many queries re-ran, the time, the outputs touched.
fn rebuild_line(
    builder: &Builder,
    changed: &[Utf8PathBuf],
    executed: usize,
    elapsed: Duration,
    errors: usize,
    outcomes: &[Outcome],
) -> String {
    let shown: Vec<String> =
        changed.iter().take(3).map(|p| packem_db::diagnostic::display_path(p, builder.cwd())).collect();
    let more = if changed.len() > 3 { format!(" (+{} more)", changed.len() - 3) } else { String::new() };
    let what = if shown.is_empty() { "rescan".to_string() } else { format!("{}{more}", shown.join(", ")) };
    let mut touched: Vec<String> = Vec::new();
    let mut wrote_any = false;
    for (index, outcome) in outcomes.iter().enumerate() {
        if let Some(write) = &outcome.write {
            wrote_any = true;
            touched.extend(write.written.iter().map(|p| builder.display(index, p)));
            touched.extend(write.deleted.iter().map(|p| format!("deleted {}", builder.display(index, p))));
        }
    }
    let result = match () {
        _ if errors > 0 => format!("{errors} error{}, kept the last good output", if errors == 1 { "" } else { "s" }),
        _ if !wrote_any => "nothing written".to_string(),
        _ if touched.is_empty() => "output unchanged".to_string(),
        _ => format!("wrote {}", touched.join(", ")),
    };
    // Sub-millisecond rebuilds are common: tenths below 10 ms.
    let ms = elapsed.as_secs_f64() * 1000.0;
    let time = if ms < 10.0 { format!("{ms:.1}ms") } else { format!("{ms:.0}ms") };
    format!("[watch] {what} · {executed} queries re-ran · {time} · {result}\n")
}
