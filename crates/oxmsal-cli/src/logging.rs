//! Logs to stderr, off unless `OXMSAL_LOG` asks (e.g. `OXMSAL_LOG=oxmsal=debug`).

pub fn init() {
    let Ok(filter) = std::env::var("OXMSAL_LOG") else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
