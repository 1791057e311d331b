//! The token cache (placeholder).
