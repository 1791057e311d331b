//! `oxmsal token --managed-identity`: the host's managed-identity token, the
//! same JSON and exit codes as `oxmsal token`; and
//! `oxmsal emulator --managed-identity SOURCE`, one source's local endpoint.

use oxmsal::managed_identity::{ManagedIdentity, ManagedIdentityClient};
use oxmsal_emulator::managed_identity::{
    ManagedIdentityEmulator, ManagedIdentityEmulatorConfig, MiSource,
};
use serde_json::{json, Map, Value};

use crate::args::{CredentialArgs, EmulatorArgs, TokenArgs};
use crate::exit::Failure;
use crate::session::Session;

/// The identity of `--mi-client-id`, `--mi-object-id` or `--mi-resource-id`
/// (system-assigned without one).
pub fn identity(args: &CredentialArgs) -> Result<ManagedIdentity, Failure> {
    let mi = &args.managed_identity;
    Ok(
        match (&mi.mi_client_id, &mi.mi_object_id, &mi.mi_resource_id) {
            (Some(id), None, None) => ManagedIdentity::client_id(id),
            (None, Some(id), None) => ManagedIdentity::object_id(id),
            (None, None, Some(id)) => ManagedIdentity::resource_id(id),
            (None, None, None) => ManagedIdentity::SystemAssigned,
            _ => {
                return Err(Failure::Usage(
                    "give at most one of --mi-client-id, --mi-object-id, --mi-resource-id".into(),
                ))
            }
        },
    )
}

/// The managed identity client: the session's cache, the declared capabilities.
pub fn client(
    session: &Session,
    args: &CredentialArgs,
    identity: ManagedIdentity,
) -> Result<ManagedIdentityClient, Failure> {
    let mut builder = ManagedIdentityClient::builder(identity).token_cache(session.cache.clone());
    if let Some(store) = &session.store {
        builder = builder.cache_persistence(store.clone());
    }
    if let Some(redis) = &session.redis {
        builder = builder.cache_persistence(redis.clone());
    }
    if !args.capabilities.is_empty() {
        builder = builder.client_capabilities(args.capabilities.clone());
    }
    let client = builder.build()?;
    tracing::info!(source = client.source().as_str(), "managed identity source");
    Ok(client)
}

pub async fn run(args: TokenArgs) -> Result<Value, Failure> {
    let identity = identity(&args)?;
    let [scope] = args.scopes.as_slice() else {
        return Err(Failure::Usage(
            "--managed-identity takes exactly one --scope (RESOURCE/.default)".into(),
        ));
    };
    let claims = match (&args.request.claims, &args.request.claims_challenge) {
        (Some(claims), _) => Some(claims.clone()),
        (None, Some(header)) => Some(
            crate::challenge_cmd::parse(header, "--claims-challenge")?
                .claims_json()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let session = Session::open(&args.connection).await?;
    let client = client(&session, &args, identity)?;
    let mut request = client.acquire_token_for_client(scope.clone());
    if let Some(claims) = claims {
        request = request.claims_challenge(claims);
    }
    let outcome = request.await;
    let saved = session.save().await;
    let value = outcome?.to_msal_json();
    saved?;
    Ok(value)
}

/// Starts one source's endpoint, prints where it is and the variables to
/// export (as JSON, with a `shell` line to `eval`), and runs until stopped.
pub async fn run_emulator(source: &str, args: &EmulatorArgs) -> Result<Value, Failure> {
    let source = MiSource::from_name(source).ok_or_else(|| {
        let names: Vec<&str> = MiSource::ALL.iter().map(|s| s.as_str()).collect();
        Failure::Usage(format!(
            "unknown managed identity source `{source}` (one of: {})",
            names.join(", ")
        ))
    })?;
    let mut config = ManagedIdentityEmulatorConfig::new(source);
    config.port = args.port;
    config.key_dir = args.mi_key_dir.clone();
    let emulator = ManagedIdentityEmulator::start_with(config)
        .await
        .map_err(|e| Failure::Internal(format!("cannot start the emulator: {e}")))?;
    let env: Map<String, Value> = emulator
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::from(v)))
        .collect();
    let shell: Vec<String> = emulator
        .env()
        .into_iter()
        .map(|(k, v)| format!("export {k}='{v}'"))
        .collect();
    let mut ready = json!({
        "managed_identity_source": source.as_str(),
        "endpoint": emulator.endpoint(),
        "env": env,
        "shell": shell.join("; "),
        "user_assigned": {
            "client_id": emulator.user_identity().client_id,
            "object_id": emulator.user_identity().object_id,
            "resource_id": emulator.user_identity().resource_id,
        },
    });
    if source == MiSource::AzureArc {
        ready["arc_key_dir"] = Value::from(emulator.key_dir().display().to_string());
    }
    // Serves until SIGINT or SIGTERM: `main` drops this future, which stops
    // the emulator, and reports the interruption.
    println!("{ready}");
    let _serving = emulator;
    std::future::pending::<()>().await;
    Ok(Value::Null)
}
