//! Entra ID instance discovery: validating an authority host and learning its
//! aliases (login.windows.net ≡ login.microsoftonline.com …), so cached tokens are
//! found under any alias.

use url::Url;

/// Whether and where Entra ID instance discovery runs.
///
/// ```
/// use oxmsal::authority::InstanceDiscovery;
/// assert_eq!(InstanceDiscovery::default(), InstanceDiscovery::Enabled);
/// let local = InstanceDiscovery::Endpoint(url::Url::parse("https://localhost:8443").unwrap());
/// # let _ = local;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InstanceDiscovery {
    /// Microsoft hosts are asked about themselves; any other host is validated
    /// by `login.microsoftonline.com`.
    #[default]
    Enabled,
    /// No instance discovery: the authority is trusted as given, no aliases.
    /// Use for private clouds, ADFS-like servers and local emulators.
    Disabled,
    /// Ask this server (`{base}/common/discovery/instance`), e.g. an emulator.
    Endpoint(Url),
}
