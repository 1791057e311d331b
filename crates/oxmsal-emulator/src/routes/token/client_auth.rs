//! Client authentication: `client_secret` (post or HTTP Basic) or a
//! `private_key_jwt` client assertion signed with a registered certificate's key;
//! for user flows, also none at all when the app allows public client flows.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use super::request::TokenRequest;
use crate::apps::App;
use crate::errors::AadError;
use crate::jwt;
use crate::shared::Shared;
use crate::state::Tenant;

/// RFC 7523 client assertion type, the only one Entra accepts.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew Entra tolerates on assertion `exp`/`nbf`.
const SKEW_SECS: u64 = 300;

/// How the client proved itself; tokens say so in `azpacr`/`appidacr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    /// A public client: no credential.
    None,
    Secret,
    Certificate,
}

impl CredentialKind {
    /// `"0"` for a public client, `"1"` for a secret, `"2"` for a certificate, as
    /// in Entra tokens.
    pub(crate) fn acr(self) -> &'static str {
        match self {
            CredentialKind::None => "0",
            CredentialKind::Secret => "1",
            CredentialKind::Certificate => "2",
        }
    }
}

/// An app that proved its identity.
pub(crate) struct AuthenticatedClient {
    pub app: App,
    pub credential: CredentialKind,
}

/// `client_id:secret` from `Authorization: Basic`, each part form-url-decoded
/// (RFC 6749 §2.3.1).
fn basic_credentials(req: &TokenRequest<'_>) -> Option<(String, String)> {
    let value = req
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// The `sub` of an assertion, unverified: the client id when `client_id` is absent.
fn assertion_subject(assertion: &str) -> Option<String> {
    let jws = jwt::parse(assertion).ok()?;
    jws.payload.get("sub")?.as_str().map(str::to_owned)
}

/// Authenticates the client of a token request made to `tenant`.
pub(crate) fn authenticate(
    req: &TokenRequest<'_>,
    tenant: &Tenant,
) -> Result<AuthenticatedClient, AadError> {
    let basic = basic_credentials(req);
    let assertion = req.param("client_assertion");
    let client_id = req
        .param("client_id")
        .map(str::to_owned)
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()))
        .or_else(|| assertion.and_then(assertion_subject))
        .ok_or_else(|| AadError::missing_parameter("client_id"))?;
    let app = req
        .shared
        .directory
        .app(&client_id)
        .ok_or_else(|| AadError::app_not_found(&client_id, req.tenant_segment))?;

    if let Some(kind) = req.param("client_assertion_type") {
        if kind != JWT_BEARER {
            return Err(AadError::invalid_assertion(&format!(
                "client_assertion_type '{kind}' is not supported; use '{JWT_BEARER}'"
            )));
        }
        let assertion = assertion.ok_or_else(|| AadError::missing_parameter("client_assertion"))?;
        verify_assertion(req.shared, req.tenant_segment, tenant, &app, assertion)?;
        return Ok(AuthenticatedClient {
            app,
            credential: CredentialKind::Certificate,
        });
    }
    if assertion.is_some() {
        return Err(AadError::missing_parameter("client_assertion_type"));
    }

    let secret = req
        .param("client_secret")
        .map(str::to_owned)
        .or_else(|| basic.map(|(_, secret)| secret).filter(|s| !s.is_empty()))
        .ok_or_else(AadError::missing_credential)?;
    let matches = app
        .secrets
        .iter()
        .any(|s| verify_slices_are_equal(s.as_bytes(), secret.as_bytes()).is_ok());
    if !matches {
        return Err(AadError::invalid_secret(&app.client_id));
    }
    Ok(AuthenticatedClient {
        app,
        credential: CredentialKind::Secret,
    })
}

/// Authenticates the client of a user flow (authorization code, refresh token,
/// device code, password). Without any credential the app must allow public
/// client flows (else AADSTS7000218, as Entra answers confidential apps); an app
/// that is only public (no secret or certificate registered) must not send one
/// (AADSTS700025). Otherwise the credential is checked as for client credentials.
pub(crate) fn authenticate_user_flow(
    req: &TokenRequest<'_>,
) -> Result<AuthenticatedClient, AadError> {
    let sends_credential = req.param("client_secret").is_some()
        || req.param("client_assertion").is_some()
        || basic_credentials(req).is_some();
    if sends_credential {
        let client_id = req.param("client_id").unwrap_or_default();
        if let Some(app) = req.shared.directory.app(client_id) {
            if app.public_client && !app.has_credentials() {
                return Err(AadError::public_client_with_credential());
            }
        }
        return authenticate(req, req.shared.user_tenant());
    }
    let client_id = req.require("client_id")?;
    let app = req
        .shared
        .directory
        .app(client_id)
        .ok_or_else(|| AadError::app_not_found(client_id, req.tenant_segment))?;
    if !app.public_client {
        return Err(AadError::missing_credential());
    }
    Ok(AuthenticatedClient {
        app,
        credential: CredentialKind::None,
    })
}

/// Token endpoint URLs an assertion's `aud` may name: v2 and v1 token endpoints
/// and the v2 issuer, for every host alias and every name of the tenant.
fn accepted_audiences(shared: &Shared, segment: &str, tenant: &Tenant) -> Vec<String> {
    let mut names: Vec<&str> = vec![segment, &tenant.id];
    names.extend(tenant.domains.iter().map(String::as_str));
    let mut out = Vec::new();
    for host in Shared::HOSTS {
        for name in &names {
            let root = format!("https://{host}:{}/{name}", shared.port);
            out.push(format!("{root}/oauth2/v2.0/token"));
            out.push(format!("{root}/oauth2/token"));
            out.push(format!("{root}/v2.0"));
        }
    }
    out
}

fn verify_assertion(
    shared: &Shared,
    segment: &str,
    tenant: &Tenant,
    app: &App,
    assertion: &str,
) -> Result<(), AadError> {
    let jws = jwt::parse(assertion).map_err(|e| AadError::invalid_assertion(&e))?;
    let header_str = |name: &str| jws.header.get(name).and_then(Value::as_str);
    let alg = header_str("alg")
        .ok_or_else(|| AadError::invalid_assertion("the JWT header has no 'alg'"))?;

    let (thumbprint, cert) = if let Some(t) = header_str("x5t#S256") {
        (t, app.certificates.iter().find(|c| c.x5t_s256 == t))
    } else if let Some(t) = header_str("x5t") {
        (t, app.certificates.iter().find(|c| c.x5t == t))
    } else {
        return Err(AadError::assertion_signature(
            "The JWT header has neither 'x5t#S256' nor 'x5t' naming the signing certificate.",
        ));
    };
    let cert = cert.ok_or_else(|| {
        AadError::assertion_signature(&format!(
            "The key was not found., Thumbprint of key used by client: '{thumbprint}', \
             Please check the certificates registered for app Id '{}'",
            app.client_id
        ))
    })?;
    jwt::verify_rsa(&jws, alg, &cert.public_key).map_err(|e| AadError::assertion_signature(&e))?;

    let claims = &jws.payload;
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => {
            return Err(AadError::invalid_assertion(
                "the assertion has no 'aud' claim",
            ))
        }
    };
    let accepted = accepted_audiences(shared, segment, tenant);
    let audience_ok = audiences.iter().any(|aud| {
        let aud = aud.trim_end_matches('/');
        accepted.iter().any(|ok| ok.eq_ignore_ascii_case(aud))
    });
    if !audience_ok {
        return Err(AadError::invalid_assertion(&format!(
            "The audience {:?} is not this token endpoint; expected e.g. '{}/{}/oauth2/v2.0/token'",
            audiences, shared.base_url, tenant.id
        )));
    }

    let same_client = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(&app.client_id))
    };
    if !same_client("iss") || !same_client("sub") {
        return Err(AadError::assertion_client_mismatch());
    }

    let now = crate::clock::now_secs();
    // NumericDate may carry a fraction (RFC 7519 §2); whole seconds are enough here.
    let seconds = |name: &str| {
        claims.get(name).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        })
    };
    let exp = seconds("exp")
        .ok_or_else(|| AadError::invalid_assertion("the assertion has no numeric 'exp' claim"))?;
    if exp.saturating_add(SKEW_SECS) <= now {
        return Err(AadError::assertion_time_range(&format!(
            "Current time: {now}, expiry time of assertion {exp}."
        )));
    }
    if let Some(nbf) = seconds("nbf") {
        if nbf > now.saturating_add(SKEW_SECS) {
            return Err(AadError::assertion_time_range(&format!(
                "Current time: {now}, assertion not valid before {nbf}."
            )));
        }
    }
    Ok(())
}
