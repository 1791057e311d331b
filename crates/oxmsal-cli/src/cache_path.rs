//! Where the CLI keeps its token cache by default.

use std::path::PathBuf;

/// `$XDG_CACHE_HOME/oxmsal/token_cache.json`, else `~/.cache/oxmsal/token_cache.json`.
pub fn default_cache_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("oxmsal").join("token_cache.json"))
}
