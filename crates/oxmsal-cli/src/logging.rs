//! Logs to stderr. By default only the warnings about the cache's files (a
//! group-writable cache file, target `oxmsal::file_safety`): other warnings
//! (a failed attempt that a retry fixed…) would break the one-line-on-stderr
//! contract of a failure. `OXMSAL_LOG` replaces the default (e.g.
//! `OXMSAL_LOG=oxmsal=debug`; `OXMSAL_LOG=off` silences everything).

/// What is shown without `OXMSAL_LOG`.
const DEFAULT_FILTER: &str = "oxmsal::file_safety=warn";

pub fn init() {
    match std::env::var("OXMSAL_LOG") {
        Ok(filter) => {
            let filter = tracing_subscriber::EnvFilter::try_new(filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
        }
        Err(_) => {
            // A warning for a person, worded as the CLI's own lines are.
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(DEFAULT_FILTER))
                .with_writer(std::io::stderr)
                .without_time()
                .with_target(false)
                .try_init();
        }
    }
}
