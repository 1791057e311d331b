//! What a cache document is made of, for every reader and the writer: its
//! sections' names, and why a load failed.

use crate::error::Error;

/// Why a streaming load failed.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// Reading (or seeking) failed, or the text is not UTF-8.
    Io(std::io::Error),
    /// The document is not a token cache.
    Document(Error),
}

impl LoadError {
    /// As one error, for callers with nothing more to say about the source.
    pub(crate) fn into_error(self) -> Error {
        match self {
            LoadError::Io(e) => Error::cache("cannot read the token cache", Some(Box::new(e))),
            LoadError::Document(e) => e,
        }
    }
}

/// The section names, in the order oxmsal writes them.
pub(crate) const ACCESS_TOKEN: &str = "AccessToken";
pub(crate) const REFRESH_TOKEN: &str = "RefreshToken";
pub(crate) const ID_TOKEN: &str = "IdToken";
pub(crate) const ACCOUNT: &str = "Account";
pub(crate) const APP_METADATA: &str = "AppMetadata";
/// All of them, in that order: a known section's index.
pub(crate) const SECTIONS: [&str; 5] =
    [ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN, ACCOUNT, APP_METADATA];

/// The index in [`SECTIONS`] of the section named `name`, if it is one.
pub(crate) fn section_index(name: &str) -> Option<usize> {
    SECTIONS.iter().position(|section| *section == name)
}
