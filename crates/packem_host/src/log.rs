//! Tracing output for the processes that run a workspace (the CLI, the benchmark drivers).

/// Prints `tracing` events and span close times (each stage's and step's duration) to stderr
/// when `PACKEM_LOG` (or `RUST_LOG`) holds a filter such as `packem_link=debug`; otherwise
/// installs nothing. A second call, or one after another subscriber was set, does nothing.
pub fn init_tracing_from_env() {
    let filter = std::env::var("PACKEM_LOG").or_else(|_| std::env::var("RUST_LOG")).ok();
    if let Some(filter) = filter {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .try_init();
    }
}
