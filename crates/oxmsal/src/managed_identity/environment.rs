//! Where the managed-identity endpoint is: read from the host's environment
//! (an injectable map, so tests never touch the real one).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The environment variables managed identity reads.
const VARIABLES: [&str; 8] = [
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "DEFAULT_IDENTITY_CLIENT_ID",
];

/// Where the Azure Arc agent (himds) is installed, when the platform has one.
fn default_himds_path() -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        Some(PathBuf::from("/opt/azcmagent/bin/himds"))
    } else if cfg!(windows) {
        std::env::var_os("ProgramFiles").map(|p| {
            Path::new(&p)
                .join("AzureConnectedMachineAgent")
                .join("himds.exe")
        })
    } else {
        None
    }
}

/// Where the Azure Arc agent writes its challenge key files.
fn default_arc_key_directory() -> Option<PathBuf> {
    if cfg!(target_os = "linux") {
        Some(PathBuf::from("/var/opt/azcmagent/tokens"))
    } else if cfg!(windows) {
        std::env::var_os("ProgramData").map(|p| {
            Path::new(&p)
                .join("AzureConnectedMachineAgent")
                .join("Tokens")
        })
    } else {
        None
    }
}

/// The environment a [`ManagedIdentityClient`](super::ManagedIdentityClient)
/// detects its source from: variables, the Azure Arc agent's path and its
/// key-file directory. [`from_process`](Self::from_process) reads the real ones
/// (the default); tests build one by hand.
///
/// Values are secrets (`IDENTITY_HEADER`, `MSI_SECRET`): `Debug` shows names only.
///
/// ```
/// use oxmsal::managed_identity::{ManagedIdentityEnvironment, ManagedIdentitySource};
/// let env = ManagedIdentityEnvironment::empty()
///     .var("IDENTITY_ENDPOINT", "http://127.0.0.1:41741/msi/token")
///     .var("IDENTITY_HEADER", "secret");
/// assert_eq!(env.source(), ManagedIdentitySource::AppService);
/// ```
#[derive(Clone, Default)]
pub struct ManagedIdentityEnvironment {
    vars: BTreeMap<String, String>,
    himds_path: Option<PathBuf>,
    arc_key_directory: Option<PathBuf>,
}

impl fmt::Debug for ManagedIdentityEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentityEnvironment")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("himds_path", &self.himds_path)
            .field("arc_key_directory", &self.arc_key_directory)
            .finish()
    }
}

impl ManagedIdentityEnvironment {
    /// No variables, no Arc agent: detection finds IMDS.
    ///
    /// ```
    /// use oxmsal::managed_identity::{ManagedIdentityEnvironment, ManagedIdentitySource};
    /// assert_eq!(ManagedIdentityEnvironment::empty().source(), ManagedIdentitySource::Imds);
    /// ```
    pub fn empty() -> Self {
        Self::default()
    }

    /// The process's variables and the platform's Azure Arc paths.
    ///
    /// ```no_run
    /// let env = oxmsal::managed_identity::ManagedIdentityEnvironment::from_process();
    /// # let _ = env.source();
    /// ```
    pub fn from_process() -> Self {
        let mut env = ManagedIdentityEnvironment {
            vars: BTreeMap::new(),
            himds_path: default_himds_path(),
            arc_key_directory: default_arc_key_directory(),
        };
        for name in VARIABLES {
            if let Ok(value) = std::env::var(name) {
                env.vars.insert(name.to_owned(), value);
            }
        }
        env
    }

    /// Sets one variable (an empty value counts as unset, as in MSAL).
    ///
    /// ```
    /// let env = oxmsal::managed_identity::ManagedIdentityEnvironment::empty().var("MSI_ENDPOINT", "http://localhost:50342/oauth2/token");
    /// assert_eq!(env.get("MSI_ENDPOINT"), Some("http://localhost:50342/oauth2/token"));
    /// ```
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// Where the Azure Arc agent's binary is looked for (its presence means Arc).
    ///
    /// ```
    /// let env = oxmsal::managed_identity::ManagedIdentityEnvironment::empty().himds_path("/nonexistent/himds");
    /// assert_eq!(env.source(), oxmsal::managed_identity::ManagedIdentitySource::Imds);
    /// ```
    pub fn himds_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.himds_path = Some(path.into());
        self
    }

    /// The directory Azure Arc's challenge key files are read from (Linux:
    /// `/var/opt/azcmagent/tokens`).
    ///
    /// ```
    /// let env = oxmsal::managed_identity::ManagedIdentityEnvironment::empty().arc_key_directory("/tmp/keys");
    /// assert_eq!(env.arc_key_dir(), Some(std::path::Path::new("/tmp/keys")));
    /// ```
    pub fn arc_key_directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.arc_key_directory = Some(dir.into());
        self
    }

    /// A variable's value; `None` when unset or empty.
    ///
    /// ```
    /// let env = oxmsal::managed_identity::ManagedIdentityEnvironment::empty().var("MSI_SECRET", "");
    /// assert_eq!(env.get("MSI_SECRET"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The Arc key-file directory, if the platform has one.
    ///
    /// ```
    /// assert_eq!(oxmsal::managed_identity::ManagedIdentityEnvironment::empty().arc_key_dir(), None);
    /// ```
    pub fn arc_key_dir(&self) -> Option<&Path> {
        self.arc_key_directory.as_deref()
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the Azure Arc agent is installed here.
    fn himds_present(&self) -> bool {
        self.himds_path.as_deref().is_some_and(Path::exists)
    }

    /// The source, in MSAL for Python's order (Cloud Shell as MSAL.NET finds it).
    ///
    /// ```
    /// use oxmsal::managed_identity::{ManagedIdentityEnvironment, ManagedIdentitySource};
    /// let env = ManagedIdentityEnvironment::empty().var("MSI_ENDPOINT", "http://localhost:50342/oauth2/token");
    /// assert_eq!(env.source(), ManagedIdentitySource::CloudShell);
    /// ```
    pub fn source(&self) -> ManagedIdentitySource {
        let identity = self.has("IDENTITY_ENDPOINT");
        if identity && self.has("IDENTITY_HEADER") {
            if self.has("IDENTITY_SERVER_THUMBPRINT") {
                return ManagedIdentitySource::ServiceFabric;
            }
            return ManagedIdentitySource::AppService;
        }
        if self.has("MSI_ENDPOINT") && self.has("MSI_SECRET") {
            return ManagedIdentitySource::MachineLearning;
        }
        if (identity && self.has("IMDS_ENDPOINT")) || self.himds_present() {
            return ManagedIdentitySource::AzureArc;
        }
        if self.has("MSI_ENDPOINT") {
            return ManagedIdentitySource::CloudShell;
        }
        ManagedIdentitySource::Imds
    }
}

/// Where a host's managed-identity tokens come from.
///
/// ```
/// use oxmsal::managed_identity::ManagedIdentitySource;
/// assert_eq!(ManagedIdentitySource::Imds.as_str(), "imds");
/// assert_eq!("app_service".parse::<ManagedIdentitySource>(), Ok(ManagedIdentitySource::AppService));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManagedIdentitySource {
    /// Azure Service Fabric's local HTTPS endpoint.
    ServiceFabric,
    /// Azure App Service and Azure Functions.
    AppService,
    /// Azure Machine Learning compute.
    MachineLearning,
    /// Azure Arc-enabled servers (the himds agent).
    AzureArc,
    /// Azure Cloud Shell.
    CloudShell,
    /// The Instance Metadata Service of Azure VMs, scale sets and AKS.
    Imds,
}

impl ManagedIdentitySource {
    /// Every source, in detection order.
    ///
    /// ```
    /// use oxmsal::managed_identity::ManagedIdentitySource;
    /// assert_eq!(ManagedIdentitySource::ALL[0], ManagedIdentitySource::ServiceFabric);
    /// assert_eq!(ManagedIdentitySource::ALL[5], ManagedIdentitySource::Imds);
    /// ```
    pub const ALL: [ManagedIdentitySource; 6] = [
        ManagedIdentitySource::ServiceFabric,
        ManagedIdentitySource::AppService,
        ManagedIdentitySource::MachineLearning,
        ManagedIdentitySource::AzureArc,
        ManagedIdentitySource::CloudShell,
        ManagedIdentitySource::Imds,
    ];

    /// The source's name: `service_fabric`, `app_service`, `machine_learning`,
    /// `azure_arc`, `cloud_shell`, `imds`.
    ///
    /// ```
    /// assert_eq!(oxmsal::managed_identity::ManagedIdentitySource::AzureArc.as_str(), "azure_arc");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedIdentitySource::ServiceFabric => "service_fabric",
            ManagedIdentitySource::AppService => "app_service",
            ManagedIdentitySource::MachineLearning => "machine_learning",
            ManagedIdentitySource::AzureArc => "azure_arc",
            ManagedIdentitySource::CloudShell => "cloud_shell",
            ManagedIdentitySource::Imds => "imds",
        }
    }
}

impl fmt::Display for ManagedIdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ManagedIdentitySource {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|source| source.as_str() == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown managed identity source `{s}` (one of: {})",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(vars: &[&str]) -> ManagedIdentityEnvironment {
        vars.iter().fold(
            ManagedIdentityEnvironment::empty().himds_path("/nonexistent/oxmsal/himds"),
            |env, name| env.var(*name, "x"),
        )
    }

    #[test]
    fn detection_follows_msal_pythons_order() {
        use ManagedIdentitySource::*;
        let cases: [(&[&str], ManagedIdentitySource); 9] = [
            (
                &[
                    "IDENTITY_ENDPOINT",
                    "IDENTITY_HEADER",
                    "IDENTITY_SERVER_THUMBPRINT",
                    "MSI_ENDPOINT",
                    "MSI_SECRET",
                ],
                ServiceFabric,
            ),
            (
                &[
                    "IDENTITY_ENDPOINT",
                    "IDENTITY_HEADER",
                    "MSI_ENDPOINT",
                    "MSI_SECRET",
                    "IMDS_ENDPOINT",
                ],
                AppService,
            ),
            (
                &[
                    "MSI_ENDPOINT",
                    "MSI_SECRET",
                    "IDENTITY_ENDPOINT",
                    "IMDS_ENDPOINT",
                ],
                MachineLearning,
            ),
            (
                &["IDENTITY_ENDPOINT", "IMDS_ENDPOINT", "MSI_ENDPOINT"],
                AzureArc,
            ),
            (&["IDENTITY_ENDPOINT"], Imds),
            (&["IMDS_ENDPOINT"], Imds),
            (&["MSI_ENDPOINT"], CloudShell),
            (&["MSI_SECRET"], Imds),
            (&[], Imds),
        ];
        for (vars, expected) in cases {
            assert_eq!(env(vars).source(), expected, "{vars:?}");
        }
    }

    #[test]
    fn the_arc_agent_on_disk_means_arc() {
        let dir = tempfile::tempdir().unwrap();
        let himds = dir.path().join("himds");
        std::fs::write(&himds, b"").unwrap();
        let env = ManagedIdentityEnvironment::empty().himds_path(&himds);
        assert_eq!(env.source(), ManagedIdentitySource::AzureArc);
        // An identity endpoint pair still wins over the agent.
        let env = env.var("MSI_ENDPOINT", "x").var("MSI_SECRET", "y");
        assert_eq!(env.source(), ManagedIdentitySource::MachineLearning);
    }

    #[test]
    fn names_round_trip_and_debug_hides_values() {
        for source in ManagedIdentitySource::ALL {
            assert_eq!(source.as_str().parse::<ManagedIdentitySource>(), Ok(source));
        }
        assert!("nope".parse::<ManagedIdentitySource>().is_err());
        let shown = format!(
            "{:?}",
            ManagedIdentityEnvironment::empty().var("MSI_SECRET", "hunter2")
        );
        assert!(!shown.contains("hunter2"));
    }
}
