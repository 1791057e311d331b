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
    /// Run the local identity platform emulator until interrupted.
    Emulator(EmulatorArgs),
    /// Decode the claims challenge of a WWW-Authenticate header value.
    Challenge(ChallengeArgs),
}

/// Options of `oxmsal challenge`.
#[derive(Debug, Args)]
pub struct ChallengeArgs {
    /// The WWW-Authenticate header value (several challenges allowed).
    #[arg(value_name = "HEADER")]
    pub header: String,
}

/// Options of `oxmsal token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// A scope to request; repeat for several (e.g. api://demo/.default).
    #[arg(long = "scope", value_name = "S", required = true)]
    pub scopes: Vec<String>,
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
    /// Name of the environment variable holding the client secret.
    #[arg(long, value_name = "VAR", conflicts_with = "certificate")]
    pub secret_env: Option<String>,
    /// A certificate credential: PEM (key + certificate) or PKCS#12 (.pfx/.p12).
    #[arg(long, value_name = "PATH")]
    pub certificate: Option<PathBuf>,
    /// Name of the environment variable holding the PKCS#12 password.
    #[arg(long, value_name = "VAR", requires = "certificate")]
    pub certificate_password_env: Option<String>,
    /// Another tenant for this request.
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
    /// A claims request (JSON); bypasses the cached token.
    #[arg(long, value_name = "JSON", conflicts_with = "claims_challenge")]
    pub claims: Option<String>,
    /// A resource's WWW-Authenticate header value; its claims challenge is used.
    #[arg(long, value_name = "HEADER")]
    pub claims_challenge: Option<String>,
    /// A client capability to declare (e.g. CP1); repeatable.
    #[arg(long = "capability", value_name = "CAP")]
    pub capabilities: Vec<String>,
    /// Extra trusted root certificate(s), PEM.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Skip Entra ID instance discovery.
    #[arg(long)]
    pub no_instance_discovery: bool,
    /// The token cache file.
    #[arg(long, value_name = "PATH", conflicts_with = "no_cache")]
    pub cache: Option<PathBuf>,
    /// Keep tokens in memory only.
    #[arg(long)]
    pub no_cache: bool,
    /// Start the emulator in-process and use it as the authority.
    #[arg(long)]
    pub emulator: bool,
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
}
