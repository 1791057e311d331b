//! Redacted, zeroized holders for secrets and tokens.
//!
//! Everything that would let someone act as the user or the app — client secrets,
//! passwords, assertions, access and refresh tokens — lives in [`Secret`]. Its
//! `Debug` and `Display` print a fixed placeholder, so a secret cannot reach a log
//! line or an error message by accident, and its memory is wiped on drop.

use std::fmt;

use zeroize::Zeroizing;

/// A secret string: redacted when printed, zeroized when dropped.
///
/// ```
/// use oxmsal::Secret;
/// let s = Secret::new("p@ssw0rd");
/// assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
/// assert_eq!(s.expose_secret(), "p@ssw0rd");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    ///
    /// ```
    /// let s = oxmsal::Secret::new(String::from("value"));
    /// assert!(!s.is_empty());
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret value itself. Call this only where the value must go on the wire.
    ///
    /// ```
    /// assert_eq!(oxmsal::Secret::new("v").expose_secret(), "v");
    /// ```
    pub fn expose_secret(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the secret is the empty string.
    ///
    /// ```
    /// assert!(oxmsal::Secret::new("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
    }
}
