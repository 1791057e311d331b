//! The variables the credential chain reads: an injectable map, so tests
//! never touch the process's environment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::managed_identity::ManagedIdentityEnvironment;

/// The variables read by the chain's own steps (managed identity reads its own
/// set through [`ManagedIdentityEnvironment`]).
const VARIABLES: [&str; 9] = [
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_USERNAME",
];

/// The environment a [`CredentialChain`](super::CredentialChain) picks its
/// credential from: the `AZURE_*` variables, the managed-identity environment
/// and the home directory (where the shared cache is looked for).
/// [`from_process`](Self::from_process) reads the real ones; tests build one by hand.
///
/// Values can be secrets (`AZURE_CLIENT_SECRET`): `Debug` shows names only.
///
/// ```
/// use oxmsal::chain::ChainEnvironment;
/// let env = ChainEnvironment::empty()
///     .var("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111")
///     .var("AZURE_CLIENT_SECRET", "s3cret");
/// assert_eq!(env.get("AZURE_CLIENT_ID"), Some("11111111-1111-1111-1111-111111111111"));
/// assert!(!format!("{env:?}").contains("s3cret"));
/// ```
#[derive(Clone, Default)]
pub struct ChainEnvironment {
    vars: BTreeMap<String, String>,
    managed_identity: ManagedIdentityEnvironment,
    home: Option<PathBuf>,
}

impl fmt::Debug for ChainEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainEnvironment")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("managed_identity", &self.managed_identity)
            .field("home", &self.home)
            .finish()
    }
}

impl ChainEnvironment {
    /// No variables, no home directory, an empty managed-identity environment
    /// (whose source is IMDS).
    ///
    /// ```
    /// assert_eq!(oxmsal::chain::ChainEnvironment::empty().get("AZURE_CLIENT_ID"), None);
    /// ```
    pub fn empty() -> Self {
        Self::default()
    }

    /// The process's variables, its home directory (`HOME`, or `USERPROFILE`
    /// on Windows) and [`ManagedIdentityEnvironment::from_process`].
    ///
    /// ```no_run
    /// let env = oxmsal::chain::ChainEnvironment::from_process();
    /// # let _ = env;
    /// ```
    pub fn from_process() -> Self {
        let mut env = ChainEnvironment {
            vars: BTreeMap::new(),
            managed_identity: ManagedIdentityEnvironment::from_process(),
            home: std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" })
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
        };
        for name in VARIABLES {
            if let Ok(value) = std::env::var(name) {
                env.vars.insert(name.to_owned(), value);
            }
        }
        env
    }

    /// Sets one variable (an empty value counts as unset, as in Azure Identity).
    ///
    /// ```
    /// let env = oxmsal::chain::ChainEnvironment::empty().var("AZURE_TENANT_ID", "");
    /// assert_eq!(env.get("AZURE_TENANT_ID"), None);
    /// ```
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// The environment the managed-identity step detects its source from.
    ///
    /// ```
    /// use oxmsal::managed_identity::ManagedIdentityEnvironment;
    /// let env = oxmsal::chain::ChainEnvironment::empty()
    ///     .managed_identity(ManagedIdentityEnvironment::empty().var("MSI_ENDPOINT", "http://127.0.0.1:1/t"));
    /// # let _ = env;
    /// ```
    pub fn managed_identity(mut self, environment: ManagedIdentityEnvironment) -> Self {
        self.managed_identity = environment;
        self
    }

    /// The home directory, under which the shared cache is looked for.
    ///
    /// ```
    /// let env = oxmsal::chain::ChainEnvironment::empty().home("/home/alice");
    /// # let _ = env;
    /// ```
    pub fn home(mut self, dir: impl Into<PathBuf>) -> Self {
        self.home = Some(dir.into());
        self
    }

    /// A variable's value; `None` when unset or empty (surrounding whitespace
    /// is not part of a value).
    ///
    /// ```
    /// let env = oxmsal::chain::ChainEnvironment::empty().var("AZURE_USERNAME", " alice@contoso.com ");
    /// assert_eq!(env.get("AZURE_USERNAME"), Some("alice@contoso.com"));
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn managed_identity_environment(&self) -> &ManagedIdentityEnvironment {
        &self.managed_identity
    }

    pub(crate) fn home_dir(&self) -> Option<&std::path::Path> {
        self.home.as_deref()
    }
}
