//! The AADSTS catalogue of the user flows: authorize, sign-in, authorization
//! code, refresh token, device code, password (ROPC) and on-behalf-of.
//!
//! Codes and wording are Entra's where known. Where Entra's choice is not
//! documented, the constructor says which code the emulator picked and why.

use http::StatusCode;

use super::AadError;

const BAD: StatusCode = StatusCode::BAD_REQUEST;

impl AadError {
    // ---- authorize endpoint ----

    /// AADSTS50011: the redirect URI is not registered (shown as a page, never
    /// redirected to, since the URI is not trusted).
    pub(crate) fn redirect_uri_mismatch(redirect_uri: &str, client_id: &str) -> Self {
        Self::new(
            BAD,
            "invalid_request",
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the \
                 redirect URIs configured for the application '{client_id}'. Make sure the \
                 redirect URI sent in the request matches one added to your application in the \
                 Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more \
                 about how to fix this."
            ),
        )
    }

    /// AADSTS500113: the app has no redirect URI at all.
    pub(crate) fn no_reply_address() -> Self {
        Self::new(
            BAD,
            "invalid_request",
            500113,
            "No reply address is registered for the application.",
        )
    }

    /// AADSTS70005: a `response_type` other than `code`.
    pub(crate) fn unsupported_response_type(response_type: &str) -> Self {
        Self::new(
            BAD,
            "unsupported_response_type",
            70005,
            format!(
                "response_type '{response_type}' is not enabled for the application; the \
                 emulator supports 'code'."
            ),
        )
    }

    /// AADSTS9002313, Entra's generic "malformed request", for authorize
    /// parameters with values Entra does not accept (`code_challenge_method`,
    /// `response_mode`); Entra's exact codes for these are not documented.
    pub(crate) fn malformed_request(detail: &str) -> Self {
        Self::new(
            BAD,
            "invalid_request",
            9002313,
            format!("Invalid request. Request is malformed or invalid. {detail}"),
        )
    }

    /// AADSTS50058: `prompt=none` and nobody is signed in.
    pub(crate) fn login_required() -> Self {
        Self::new(
            BAD,
            "login_required",
            50058,
            "A silent sign-in request was sent but no user is signed in.",
        )
    }

    /// AADSTS65004: the user cancelled (sent with `error_subcode=cancel`).
    pub(crate) fn user_declined() -> Self {
        Self::new(
            BAD,
            "access_denied",
            65004,
            "User declined to consent to access the app.",
        )
    }

    /// AADSTS65001: no consent.
    pub(crate) fn consent_required(client_id: &str, name: &str) -> Self {
        Self::new(
            BAD,
            "consent_required",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID \
                 '{client_id}' named '{name}'. Send an interactive authorization request for this \
                 user and resource."
            ),
        )
    }

    /// AADSTS50076: multi-factor authentication needed.
    pub(crate) fn mfa_required() -> Self {
        Self::new(
            BAD,
            "interaction_required",
            50076,
            "Due to a configuration change made by your administrator, or because you moved to \
             a new location, you must use multi-factor authentication to access the resource.",
        )
    }

    /// The sign-in form's `flow` is unknown or stale. Emulator-specific (Entra's
    /// equivalent is a session cookie); reuses AADSTS9002313.
    pub(crate) fn sign_in_expired() -> Self {
        Self::malformed_request(
            "The sign-in page expired or was already used; start again from the authorize \
             request.",
        )
    }

    // ---- scopes ----

    /// AADSTS70011: a scope value is unusable.
    pub(crate) fn invalid_scope(scope: &str, reason: &str) -> Self {
        Self::new(
            BAD,
            "invalid_scope",
            70011,
            format!(
                "The provided request must include a 'scope' input parameter. The provided value \
                 for the input parameter 'scope' is not valid. The scope {scope} is not valid. \
                 {reason}"
            ),
        )
    }

    /// AADSTS28000: scopes of more than one resource in one request.
    pub(crate) fn several_resources(scope: &str) -> Self {
        Self::new(
            BAD,
            "invalid_scope",
            28000,
            format!(
                "Provided value for the input parameter scope is not valid because it contains \
                 more than one resource. Scope {scope} is not valid."
            ),
        )
    }

    // ---- users and passwords ----

    /// AADSTS50126: wrong password (also the password grant's answer for a
    /// federated user; see [`AadError::federated_password`]).
    pub(crate) fn invalid_password() -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        )
    }

    /// The password grant for a federated user. Entra cannot check the password
    /// of a federated account itself (without password hash sync) and answers
    /// AADSTS50126 `invalid_grant`; the emulator keeps that code and says why in
    /// the description, since clients should switch to an interactive flow.
    pub(crate) fn federated_password(username: &str) -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            50126,
            format!(
                "Error validating credentials due to invalid username or password. The account \
                 '{username}' is federated: its password is checked by its federated identity \
                 provider, not by this tenant, so the resource owner password credentials grant \
                 cannot be used; use an interactive flow."
            ),
        )
    }

    /// AADSTS50034: no such user.
    pub(crate) fn user_not_found(tenant_id: &str) -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            50034,
            format!(
                "The user account {{EUII Hidden}} does not exist in the {tenant_id} directory. To \
                 sign into this application, the account must be added to the directory."
            ),
        )
    }

    // ---- client authentication of user flows ----

    /// AADSTS700025: a public-only app sent a credential.
    pub(crate) fn public_client_with_credential() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be \
             presented.",
        )
    }

    // ---- authorization codes ----

    /// AADSTS70000 for an unknown code; Entra's umbrella "invalid grant" code.
    pub(crate) fn code_unknown() -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            70000,
            "The provided value for the 'code' parameter is not valid.",
        )
    }

    /// AADSTS54005: the code was redeemed before.
    pub(crate) fn code_redeemed() -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code \
             or use an existing refresh token.",
        )
    }

    /// AADSTS70008: the code expired.
    pub(crate) fn code_expired() -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. \
             Send a new interactive authorization request for this user and resource.",
        )
    }

    /// AADSTS70000 (emulator's choice): the code was issued to another client or
    /// for another redirect URI.
    pub(crate) fn code_mismatch(what: &str) -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            70000,
            format!("The provided authorization code is not valid: {what}."),
        )
    }

    /// AADSTS501481: PKCE verifier missing or not matching the challenge.
    pub(crate) fn pkce_mismatch() -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization \
             request.",
        )
    }

    // ---- refresh tokens ----

    /// AADSTS9002313: an unknown or malformed refresh token.
    pub(crate) fn refresh_token_invalid() -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid. The refresh token is not valid.",
        )
    }

    /// AADSTS50173 with `suberror: bad_token`: the user's tokens were revoked.
    pub(crate) fn refresh_token_revoked(issued: &str, valid_from: &str) -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            50173,
            format!(
                "The provided grant has expired due to it being revoked, a fresh auth token is \
                 needed. The user might have changed or reset their password. The grant was \
                 issued on '{issued}' and the TokensValidFrom date (before which tokens are not \
                 valid) for this user is '{valid_from}'."
            ),
        )
        .with_suberror("bad_token")
    }

    /// AADSTS70000 with `suberror: client_mismatch`: the refresh token belongs to
    /// another client outside the caller's family (what FOCI clients key on).
    pub(crate) fn refresh_token_client_mismatch() -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            70000,
            "The refresh token was issued to a different client, and the client is not in its \
             family.",
        )
        .with_suberror("client_mismatch")
    }

    // ---- device code ----

    /// AADSTS70016: keep polling.
    pub(crate) fn authorization_pending() -> Self {
        Self::new(
            BAD,
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    }

    /// `slow_down` (RFC 8628 §3.5: a variant of `authorization_pending`), so it
    /// carries 70016 too; Entra documents no code of its own for it.
    pub(crate) fn slow_down(interval: u64) -> Self {
        Self::new(
            BAD,
            "slow_down",
            70016,
            format!(
                "OAuth 2.0 device flow error. Authorization is pending, and the client polls too \
                 often: wait at least {interval} seconds between requests, plus 5 seconds from \
                 now on."
            ),
        )
    }

    /// `authorization_declined`; AADSTS70000, Entra's umbrella code, since the
    /// code of this case is not documented.
    pub(crate) fn authorization_declined() -> Self {
        Self::new(
            BAD,
            "authorization_declined",
            70000,
            "The end user denied the authorization request.",
        )
    }

    /// AADSTS70020 `expired_token`: the device code expired.
    pub(crate) fn device_code_expired() -> Self {
        Self::new(
            BAD,
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device \
             code has expired.",
        )
    }

    /// AADSTS70018 `bad_verification_code` (Entra's "BadVerificationCode"): an
    /// unknown device code, or (on the page) a user code that does not work.
    pub(crate) fn bad_verification_code() -> Self {
        Self::new(
            BAD,
            "bad_verification_code",
            70018,
            "Invalid verification code due to the device code or user code not being recognized.",
        )
    }

    /// AADSTS70000: a device code presented by another client.
    pub(crate) fn device_code_client_mismatch() -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            70000,
            "The provided value for the input parameter 'device_code' is not valid: it was \
             issued to a different client.",
        )
    }

    // ---- on-behalf-of ----

    /// AADSTS50013: the user assertion is not a token this client may exchange.
    pub(crate) fn invalid_user_assertion(reason: &str) -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            50013,
            format!("Assertion failed signature validation. [Reason - {reason}]"),
        )
    }

    /// AADSTS500133: the user assertion expired.
    pub(crate) fn user_assertion_expired(reason: &str) -> Self {
        Self::new(
            BAD,
            "invalid_grant",
            500133,
            format!(
                "Assertion is not within its valid time range. Ensure that the access token is \
                 not expired before using it for user assertion, or request a new token. {reason}"
            ),
        )
    }
}
