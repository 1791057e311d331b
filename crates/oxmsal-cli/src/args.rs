//! The command line, as scripts see it (names are a contract).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tokens from the Microsoft identity platform, as JSON.
#[derive(Debug, Parser)]
#[command(name = "oxmsal", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Get an access token (cache first) and print it as JSON.
    Token(Box<TokenArgs>),
    /// Sign a user in (device code, browser, or username/password).
    Login(Box<LoginArgs>),
    /// List the accounts in the cache as a JSON array.
    Accounts(Box<ConnectionArgs>),
    /// Sign an account out: remove its tokens from the cache.
    Logout(Box<LogoutArgs>),
    /// Print a JWT's header and claims (not verified).
    Decode(DecodeArgs),
    /// Decode the claims challenge of a WWW-Authenticate header value.
    Challenge(ChallengeArgs),
    /// Run the local identity platform emulator until interrupted.
    Emulator(EmulatorArgs),
    /// Call an API with a token (the same credential options as `token`);
    /// print its response body. A claims challenge is answered once.
    Call(Box<CallArgs>),
}

/// Options of `oxmsal call`: the request, then where the token comes from
/// (`token`'s credential options).
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The URL to call; with --emulator, a path (`/resource/me`) is on the emulator.
    #[arg(value_name = "URL")]
    pub url: String,
    /// The HTTP method.
    #[arg(long, value_name = "M", default_value = "GET")]
    pub method: String,
    /// A request header, `'Name: value'`; repeatable.
    #[arg(long = "header", value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// The request body: the text itself, or `@FILE` for a file's content.
    #[arg(long, value_name = "TEXT|@FILE")]
    pub data: Option<String>,
    #[command(flatten)]
    pub credential: CredentialArgs,
}

/// Where tokens come from and where they are kept: shared by the commands.
#[derive(Debug, Args, Clone)]
pub struct ConnectionArgs {
    /// The application (client) id.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The authority URL.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://login.microsoftonline.com/organizations"
    )]
    pub authority: String,
    /// Extra trusted root certificate(s), PEM.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Skip Entra ID instance discovery.
    #[arg(long)]
    pub no_instance_discovery: bool,
    /// The token cache: a file (shared safely between processes, MSAL's format)
    /// or a redis:// / rediss:// URL.
    #[arg(long, value_name = "PATH", conflicts_with = "no_cache")]
    pub cache: Option<PathBuf>,
    /// With a redis:// / rediss:// --cache: the environment variable holding
    /// the Redis password (kept off the command line, where `ps` shows it).
    #[arg(long, value_name = "VAR")]
    pub cache_password_env: Option<String>,
    /// Keep tokens in memory only.
    #[arg(long)]
    pub no_cache: bool,
    /// How long to wait for another process's lock on the cache file
    /// (`<cache>.lockfile`) before failing with exit code 5.
    #[arg(
        long,
        value_name = "MS",
        env = "OXMSAL_CACHE_LOCK_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub cache_lock_timeout_ms: u64,
    /// Start the emulator in-process and use it as the authority.
    #[arg(long)]
    pub emulator: bool,
}

/// Options of `oxmsal token`: where the token comes from ([`CredentialArgs`],
/// shared with `oxmsal call`), then what only a token request takes.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub credential: CredentialArgs,
    #[command(flatten)]
    pub request: TokenRequestArgs,
}

/// `args.secret_env` and the like read the credential options directly.
impl std::ops::Deref for TokenArgs {
    type Target = CredentialArgs;

    fn deref(&self) -> &CredentialArgs {
        &self.credential
    }
}

/// The scopes and where a token comes from: `token`'s and `call`'s options.
#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// A scope to request; repeat for several (e.g. api://demo/.default).
    #[arg(long = "scope", value_name = "S", required = true)]
    pub scopes: Vec<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Name of the environment variable holding the client secret.
    #[arg(long, value_name = "VAR", conflicts_with = "certificate")]
    pub secret_env: Option<String>,
    /// A certificate credential: PEM (key + certificate) or PKCS#12 (.pfx/.p12).
    #[arg(long, value_name = "PATH")]
    pub certificate: Option<PathBuf>,
    /// Name of the environment variable holding the PKCS#12 password.
    #[arg(long, value_name = "VAR", requires = "certificate")]
    pub certificate_password_env: Option<String>,
    /// A client capability to declare (e.g. CP1); repeatable.
    #[arg(long = "capability", value_name = "CAP")]
    pub capabilities: Vec<String>,
    /// Without a credential: the signed-in account to use (by username).
    #[arg(long, value_name = "USERNAME")]
    pub account: Option<String>,
    #[command(flatten)]
    pub managed_identity: ManagedIdentityArgs,
}

/// What only `oxmsal token` takes (`call` answers a resource's challenge itself).
#[derive(Debug, Args, Default)]
pub struct TokenRequestArgs {
    /// Another tenant for this request.
    #[arg(long, value_name = "T", conflicts_with = "managed_identity")]
    pub tenant: Option<String>,
    /// A claims request (JSON); bypasses the cached token.
    #[arg(long, value_name = "JSON", conflicts_with = "claims_challenge")]
    pub claims: Option<String>,
    /// A resource's WWW-Authenticate header value; its claims challenge is used.
    #[arg(long, value_name = "HEADER")]
    pub claims_challenge: Option<String>,
    /// On-behalf-of: the environment variable holding the incoming access token.
    #[arg(long, value_name = "VAR", conflicts_with = "managed_identity")]
    pub on_behalf_of_env: Option<String>,
}

/// `oxmsal token --managed-identity`: the host's managed identity, the source
/// detected from the environment.
#[derive(Debug, Args)]
pub struct ManagedIdentityArgs {
    /// A token for this host's managed identity (no credential; one --scope R/.default).
    #[arg(
        long,
        conflicts_with_all = ["secret_env", "certificate", "client_id", "emulator", "account"]
    )]
    pub managed_identity: bool,
    /// A user-assigned identity by client id.
    #[arg(long, value_name = "ID", requires = "managed_identity", conflicts_with_all = ["mi_object_id", "mi_resource_id"])]
    pub mi_client_id: Option<String>,
    /// A user-assigned identity by object id.
    #[arg(
        long,
        value_name = "ID",
        requires = "managed_identity",
        conflicts_with = "mi_resource_id"
    )]
    pub mi_object_id: Option<String>,
    /// A user-assigned identity by Azure resource id.
    #[arg(long, value_name = "ID", requires = "managed_identity")]
    pub mi_resource_id: Option<String>,
}

/// Options of `oxmsal login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// A scope to request; repeatable (default: the sign-in scopes only).
    #[arg(long = "scope", value_name = "S")]
    pub scopes: Vec<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Sign in with a device code (the default).
    #[arg(long, conflicts_with_all = ["interactive", "username"])]
    pub device_code: bool,
    /// Sign in through a browser and a loopback redirect.
    #[arg(long, conflicts_with = "username")]
    pub interactive: bool,
    /// With --interactive: print the URL on stderr instead of opening a browser.
    #[arg(long, requires = "interactive")]
    pub no_browser: bool,
    /// With --interactive: how long to wait for the browser, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
    /// Username/password sign-in: the username.
    #[arg(long, value_name = "U", requires = "password_env")]
    pub username: Option<String>,
    /// Username/password sign-in: the environment variable holding the password.
    #[arg(long, value_name = "VAR", requires = "username")]
    pub password_env: Option<String>,
}

/// Options of `oxmsal logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The account to sign out (by username); required when several are cached.
    #[arg(long, value_name = "USERNAME")]
    pub account: Option<String>,
}

/// Options of `oxmsal decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The JWT (an access or id token).
    #[arg(value_name = "JWT")]
    pub token: String,
}

/// Options of `oxmsal challenge`.
#[derive(Debug, Args)]
pub struct ChallengeArgs {
    /// The WWW-Authenticate header value (several challenges allowed).
    #[arg(value_name = "HEADER")]
    pub header: String,
}

/// Options of `oxmsal emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (default: a free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Directory for the CA certificate file (default: a temporary one).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Play one managed-identity source instead (imds, app_service,
    /// machine_learning, azure_arc, cloud_shell, service_fabric) and print
    /// the environment variables to export.
    #[arg(long, value_name = "SOURCE")]
    pub managed_identity: Option<String>,
    /// Azure Arc: where the key files are written (default: a temporary directory).
    #[arg(long, value_name = "DIR", requires = "managed_identity")]
    pub mi_key_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// clap's own consistency checks over every subcommand (an option named
    /// in `conflicts_with` must exist in each command that has the option):
    /// otherwise a release build accepts what a debug build panics on.
    #[test]
    fn every_command_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
