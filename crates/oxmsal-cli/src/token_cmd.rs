//! `oxmsal token`: an app token (client credentials), a downstream token
//! (on-behalf-of), or — without a credential — a signed-in user's token from
//! the cache, refreshed when needed.

use oxmsal::credential::ClientCredential;
use oxmsal::provider::SignedInAccount;
use oxmsal::{ConfidentialClientApplication, PublicClientApplication};
use serde_json::Value;

use crate::accounts_cmd::pick_account;
use crate::args::{CredentialArgs, TokenArgs};
use crate::exit::Failure;
use crate::inputs;
use crate::session::Session;

pub async fn run(args: TokenArgs) -> Result<Value, Failure> {
    if args.managed_identity.managed_identity {
        return crate::mi_token_cmd::run(args).await;
    }
    let credential = credential(&args)?;
    let assertion = match &args.request.on_behalf_of_env {
        Some(var) => Some(inputs::secret_from_env(var, "--on-behalf-of-env")?),
        None => None,
    };
    let challenge = match &args.request.claims_challenge {
        Some(header) => Some(crate::challenge_cmd::parse(header, "--claims-challenge")?),
        None => None,
    };
    let claims = args
        .request
        .claims
        .clone()
        .or_else(|| challenge.as_ref().map(|c| c.claims_json().to_owned()));
    let session = Session::open(&args.connection).await?;

    let outcome = match (
        credential,
        &session.emulator,
        args.connection.client_id.clone(),
    ) {
        (Some(credential), _, Some(client_id)) => {
            confidential(&session, &args, client_id, credential, assertion, claims).await
        }
        (None, Some(emu), None) if assertion.is_none() => {
            let demo = emu.register_demo_app();
            let credential = ClientCredential::secret(demo.secret);
            confidential(&session, &args, demo.client_id, credential, None, claims).await
        }
        (Some(_), _, None) | (None, Some(_), None) => {
            Err(Failure::Usage("--client-id is required".into()))
        }
        (None, _, Some(client_id)) => {
            if assertion.is_some() {
                return Err(Failure::Usage(
                    "--on-behalf-of-env needs a credential: --secret-env or --certificate".into(),
                ));
            }
            public_silent(&session, &args, client_id, claims).await
        }
        (None, None, None) => Err(Failure::Usage(NO_CLIENT.into())),
    };
    let saved = session.save().await;
    crate::session::settle(outcome, saved)
}

/// The usage error of a command given neither a client id nor `--emulator`.
pub const NO_CLIENT: &str =
    "give --client-id (with --secret-env or --certificate for an app token), or --emulator";

/// The client credential of `--secret-env` or `--certificate` (`None`: a
/// signed-in user's token), checked against `--account`.
pub fn credential(args: &CredentialArgs) -> Result<Option<ClientCredential>, Failure> {
    let credential = match (&args.secret_env, &args.certificate) {
        (Some(var), None) => Some(ClientCredential::secret(inputs::secret_from_env(
            var,
            "--secret-env",
        )?)),
        (None, Some(path)) => Some(inputs::certificate(
            path,
            args.certificate_password_env.as_deref(),
        )?),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(Failure::Usage(
                "--secret-env and --certificate cannot be used together".into(),
            ))
        }
    };
    // `--account` picks a signed-in user; an app token has none to pick.
    let app_token =
        credential.is_some() || (args.connection.emulator && args.connection.client_id.is_none());
    if args.account.is_some() && app_token {
        return Err(Failure::Usage(
            "--account picks a signed-in user's token; it cannot be used with a client credential (--secret-env, --certificate) or the emulator's demo app".into(),
        ));
    }
    Ok(credential)
}

/// The confidential app of `client_id` with `credential`, the session's
/// connection and the declared capabilities.
pub fn confidential_app(
    session: &Session,
    args: &CredentialArgs,
    client_id: String,
    credential: ClientCredential,
) -> Result<ConfidentialClientApplication, Failure> {
    let mut builder = session.configure(ConfidentialClientApplication::builder(
        client_id, credential,
    ))?;
    if !args.capabilities.is_empty() {
        builder = builder.client_capabilities(args.capabilities.clone());
    }
    Ok(builder.build()?)
}

/// The public app of `client_id` acting for the signed-in account
/// (`--account`, or the only one in the cache).
pub async fn signed_in_account(
    session: &Session,
    args: &CredentialArgs,
    client_id: String,
) -> Result<SignedInAccount, Failure> {
    let mut builder = session.configure(PublicClientApplication::builder(client_id))?;
    if !args.capabilities.is_empty() {
        builder = builder.client_capabilities(args.capabilities.clone());
    }
    let app = builder.build()?;
    session.load_accounts().await?;
    let account = pick_account(&session.cache.accounts(), args.account.as_deref())?;
    Ok(SignedInAccount::new(app, account))
}

async fn confidential(
    session: &Session,
    args: &TokenArgs,
    client_id: String,
    credential: ClientCredential,
    assertion: Option<oxmsal::Secret>,
    claims: Option<String>,
) -> Result<Value, Failure> {
    let app = confidential_app(session, args, client_id, credential)?;
    if let Some(assertion) = assertion {
        let mut request = app.acquire_token_on_behalf_of(assertion, args.scopes.clone());
        if let Some(claims) = claims {
            request = request.claims(claims);
        }
        if let Some(tenant) = &args.request.tenant {
            request = request.tenant(tenant.clone());
        }
        return Ok(request.await?.to_msal_json());
    }
    let mut request = app.acquire_token_for_client(args.scopes.clone());
    if let Some(claims) = claims {
        request = request.claims(claims);
    }
    if let Some(tenant) = &args.request.tenant {
        request = request.tenant(tenant.clone());
    }
    Ok(request.await?.to_msal_json())
}

/// A public client: the signed-in account's token, silently.
async fn public_silent(
    session: &Session,
    args: &TokenArgs,
    client_id: String,
    claims: Option<String>,
) -> Result<Value, Failure> {
    let user = signed_in_account(session, args, client_id).await?;
    let mut request = user
        .app()
        .acquire_token_silent(args.scopes.clone(), user.account());
    if let Some(claims) = claims {
        request = request.claims(claims);
    }
    if let Some(tenant) = &args.request.tenant {
        request = request.tenant(tenant.clone());
    }
    Ok(request.await?.to_msal_json())
}
