//! Logs to stderr: warnings by default (a group-writable cache file, a Redis
//! outage served from memory, a lock file taken over), more when `OXMSAL_LOG`
//! asks (e.g. `OXMSAL_LOG=oxmsal=debug`; `OXMSAL_LOG=off` silences them).

pub fn init() {
    let filter = match std::env::var("OXMSAL_LOG") {
        Ok(filter) => tracing_subscriber::EnvFilter::try_new(filter)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        Err(_) => tracing_subscriber::EnvFilter::new("warn"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
