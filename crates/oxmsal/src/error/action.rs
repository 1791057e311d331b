//! What to do next about an [`Error`]: retry, sign the user in, fix the app, or
//! ask an administrator.
//!
//! [`recommend`] reads, in this order:
//! 1. the error kind — transport failures are retried; configuration and cache
//!    failures need fixing; a cancelled flow needs nothing; an empty cache needs
//!    a sign-in;
//! 2. whether the server asked for a pause (HTTP 429 or 5xx, `Retry-After`,
//!    `temporarily_unavailable`, `server_error`, or a local throttle of such an
//!    answer) — wait, then send the same request again;
//! 3. the `suberror`, where it is decisive (e.g. `basic_action`: sign in);
//! 4. the AADSTS code, through [`aadsts_table`];
//! 5. the OAuth `error` (e.g. `invalid_grant`: sign in; `invalid_client`: fix).
//!
//! A throttled call whose remembered answer was an ordinary 400 (MSAL's "same
//! request, same answer" rule) is not told to wait: repeating it yields the same
//! error, so it gets the advice for that error — and a request that follows the
//! advice (say, one carrying claims) differs and is not throttled.
//!
//! The table is also in `docs/TROUBLESHOOTING.md`; a test keeps them equal.

use std::fmt;
use std::time::Duration;

use super::{Error, ErrorKind, ServiceError};

/// The wait suggested when the server asked for a pause without saying how long.
///
/// ```
/// assert_eq!(oxmsal::action::DEFAULT_RETRY_AFTER.as_secs(), 5);
/// ```
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The next step for the app or its user. See [`recommend`].
///
/// ```
/// use oxmsal::action::{recommend, Action};
/// let err = oxmsal::Error::transport("connection reset", None);
/// assert_eq!(recommend(&err), Action::Retry);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Nothing to suggest: the flow was cancelled, or the failure has no generic
    /// remedy (inspect the error).
    None,
    /// Transient: wait this long, then send the same request again.
    RetryAfter(Duration),
    /// Transient, with no known delay: the request may not have reached the
    /// server; send it again.
    Retry,
    /// Sign the user in interactively (or with the device code flow), passing
    /// `claims` as the request's claims challenge when present: MFA, consent,
    /// Conditional Access the user can satisfy, expired or revoked sessions.
    InteractWithUser {
        /// The server's claims challenge, for the interactive request.
        claims: Option<String>,
    },
    /// The user must do something the app cannot drive — enroll or register the
    /// device, install a broker, change an on-premises password. An interactive
    /// sign-in shows what; repeating it alone does not help.
    UserMustActInBrowser,
    /// The app's configuration or registration is wrong: client ID, tenant,
    /// secret or certificate, redirect URI, scopes, request parameters.
    FixConfiguration,
    /// Only a tenant administrator can unblock it: admin consent, user
    /// assignment, Conditional Access that blocks, a disabled account or app.
    ContactTenantAdmin,
    /// The user's own sign-in failed: wrong username or password, unknown or
    /// locked account.
    CheckCredentials,
}

impl Action {
    /// The action without its payload.
    ///
    /// ```
    /// use oxmsal::action::{Action, ActionKind};
    /// assert_eq!(Action::InteractWithUser { claims: None }.kind(), ActionKind::InteractWithUser);
    /// ```
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::None => ActionKind::None,
            Action::RetryAfter(_) => ActionKind::RetryAfter,
            Action::Retry => ActionKind::Retry,
            Action::InteractWithUser { .. } => ActionKind::InteractWithUser,
            Action::UserMustActInBrowser => ActionKind::UserMustActInBrowser,
            Action::FixConfiguration => ActionKind::FixConfiguration,
            Action::ContactTenantAdmin => ActionKind::ContactTenantAdmin,
            Action::CheckCredentials => ActionKind::CheckCredentials,
        }
    }
}

impl fmt::Display for Action {
    /// One line of advice, for a person.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oxmsal::action::Action;
    /// assert_eq!(Action::RetryAfter(Duration::from_secs(30)).to_string(), "wait 30 s, then retry the same request");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::None => f.write_str("no generic remedy; see the error details"),
            Action::RetryAfter(wait) => {
                write!(f, "wait {} s, then retry the same request", wait.as_secs())
            }
            Action::Retry => f.write_str("retry the request; it may not have reached the server"),
            Action::InteractWithUser { claims: None } => {
                f.write_str("sign the user in interactively")
            }
            Action::InteractWithUser { claims: Some(_) } => {
                f.write_str("sign the user in interactively, passing the claims challenge")
            }
            Action::UserMustActInBrowser => f.write_str(
                "the user must resolve this outside the app; an interactive sign-in shows how",
            ),
            Action::FixConfiguration => f.write_str("fix the app's configuration or registration"),
            Action::ContactTenantAdmin => f.write_str("a tenant administrator must act"),
            Action::CheckCredentials => f.write_str(
                "the sign-in failed: check the username and password, or wait out a lockout",
            ),
        }
    }
}

/// [`Action`] without its payload, for tables and matching.
///
/// ```
/// use oxmsal::action::ActionKind;
/// assert_eq!(ActionKind::ContactTenantAdmin.to_string(), "ContactTenantAdmin");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActionKind {
    /// See [`Action::None`].
    None,
    /// See [`Action::RetryAfter`].
    RetryAfter,
    /// See [`Action::Retry`].
    Retry,
    /// See [`Action::InteractWithUser`].
    InteractWithUser,
    /// See [`Action::UserMustActInBrowser`].
    UserMustActInBrowser,
    /// See [`Action::FixConfiguration`].
    FixConfiguration,
    /// See [`Action::ContactTenantAdmin`].
    ContactTenantAdmin,
    /// See [`Action::CheckCredentials`].
    CheckCredentials,
}

impl ActionKind {
    /// The variant's name, as written in `docs/TROUBLESHOOTING.md`.
    ///
    /// ```
    /// assert_eq!(oxmsal::action::ActionKind::InteractWithUser.name(), "InteractWithUser");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::None => "None",
            ActionKind::RetryAfter => "RetryAfter",
            ActionKind::Retry => "Retry",
            ActionKind::InteractWithUser => "InteractWithUser",
            ActionKind::UserMustActInBrowser => "UserMustActInBrowser",
            ActionKind::FixConfiguration => "FixConfiguration",
            ActionKind::ContactTenantAdmin => "ContactTenantAdmin",
            ActionKind::CheckCredentials => "CheckCredentials",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do next about `err`. See the [module docs](self) for the rules.
///
/// ```
/// use oxmsal::action::{recommend, Action};
/// use oxmsal::{Error, ServiceError};
/// let body = br#"{"error":"invalid_grant","error_codes":[50076],"claims":"{\"access_token\":{}}"}"#;
/// let err = Error::from_service(ServiceError::from_body(400, body, None).unwrap());
/// assert_eq!(recommend(&err), Action::InteractWithUser { claims: Some(r#"{"access_token":{}}"#.into()) });
/// assert_eq!(recommend(&Error::configuration("no scope")), Action::FixConfiguration);
/// ```
pub fn recommend(err: &Error) -> Action {
    match err.kind() {
        ErrorKind::Transport => Action::Retry,
        // A cache failure is a path, permission or back-end address to put right;
        // oxmsal cannot tell a misconfigured back end from one that is down.
        ErrorKind::Configuration | ErrorKind::Cache => Action::FixConfiguration,
        ErrorKind::Cancelled => Action::None,
        ErrorKind::NoCachedToken => Action::InteractWithUser { claims: None },
        ErrorKind::Service | ErrorKind::Throttled | ErrorKind::InvalidResponse => {
            if server_asked_for_a_pause(err) {
                return with_payload(ActionKind::RetryAfter, err);
            }
            let kind = err.service().map_or(ActionKind::None, kind_for_service);
            with_payload(kind, err)
        }
    }
}

/// The `classification` MSAL for Python adds to a silent acquisition's error:
/// `""` for the suberrors an app need not show
/// (`bad_token`, `token_expired`, `protection_policy_required`,
/// `client_mismatch`, `device_authentication_failed`), the suberror itself for
/// the others; `None` without a suberror or a service error.
///
/// ```
/// use oxmsal::action::classification;
/// use oxmsal::{Error, ServiceError};
/// let e = |b: &str| Error::from_service(ServiceError::from_body(400, b.as_bytes(), None).unwrap());
/// assert_eq!(classification(&e(r#"{"error":"invalid_grant","suberror":"basic_action"}"#)).as_deref(), Some("basic_action"));
/// assert_eq!(classification(&e(r#"{"error":"invalid_grant","suberror":"bad_token"}"#)).as_deref(), Some(""));
/// assert_eq!(classification(&e(r#"{"error":"invalid_grant"}"#)), None);
/// ```
pub fn classification(err: &Error) -> Option<String> {
    let suberror = err.service()?.suberror.as_deref()?;
    let silent = matches!(
        suberror,
        "bad_token"
            | "token_expired"
            | "protection_policy_required"
            | "client_mismatch"
            | "device_authentication_failed"
    );
    Some(if silent {
        String::new()
    } else {
        suberror.to_owned()
    })
}

/// Whether the server (or the local throttle on its behalf) said "later".
fn server_asked_for_a_pause(err: &Error) -> bool {
    let busy = |status: u16| status == 429 || status >= 500;
    if let Some(s) = err.service() {
        return busy(s.http_status)
            || s.retry_after.is_some()
            || matches!(s.error.as_str(), "temporarily_unavailable" | "server_error");
    }
    if let Some(r) = err.invalid_response() {
        return busy(r.http_status) || r.retry_after.is_some();
    }
    // Throttled with no remembered answer: waiting is all we know.
    err.kind() == ErrorKind::Throttled
}

/// Suberror, then AADSTS code, then OAuth error code.
fn kind_for_service(s: &ServiceError) -> ActionKind {
    s.suberror
        .as_deref()
        .and_then(kind_for_suberror)
        .or_else(|| s.aadsts().and_then(lookup_aadsts).map(|e| e.action))
        .unwrap_or_else(|| kind_for_oauth_error(&s.error))
}

/// The suberrors that decide the action on their own (MSAL.NET's UI-required
/// classification); others fall through to the AADSTS code.
fn kind_for_suberror(suberror: &str) -> Option<ActionKind> {
    Some(match suberror {
        // Resolvable in the interactive flow; `additional_action` and
        // `user_password_expired` are remedied from the sign-in page.
        "basic_action" | "additional_action" | "consent_required" | "user_password_expired" => {
            ActionKind::InteractWithUser
        }
        // The token or the session behind it is no longer good: sign in again.
        // `client_mismatch` means a family refresh token was refused and the app
        // has no refresh token of its own left to try.
        "bad_token" | "token_expired" | "client_mismatch" => ActionKind::InteractWithUser,
        // The sign-in page can only explain; the fix is outside the app.
        "message_only" | "device_authentication_failed" => ActionKind::UserMustActInBrowser,
        // An Intune app protection policy applies, which only a MAM-enabled app
        // satisfies; the admin decides whether this app is exempt.
        "protection_policy_required" => ActionKind::ContactTenantAdmin,
        _ => return None,
    })
}

/// RFC 6749 §5.2, RFC 8628 §3.5 and OIDC error codes.
fn kind_for_oauth_error(error: &str) -> ActionKind {
    match error {
        // `access_denied`/`authorization_declined`: the user said no; signing in
        // again is the way forward if they change their mind.
        "invalid_grant"
        | "interaction_required"
        | "login_required"
        | "consent_required"
        | "account_selection_required"
        | "access_denied"
        | "authorization_declined"
        | "expired_token"
        | "bad_verification_code" => ActionKind::InteractWithUser,
        "invalid_client"
        | "unauthorized_client"
        | "invalid_request"
        | "invalid_scope"
        | "unsupported_grant_type"
        | "unsupported_response_type"
        | "invalid_resource"
        | "invalid_target" => ActionKind::FixConfiguration,
        "authorization_pending" | "slow_down" | "temporarily_unavailable" | "server_error" => {
            ActionKind::RetryAfter
        }
        _ => ActionKind::None,
    }
}

/// Fills in the payload: the wait, or the claims challenge.
fn with_payload(kind: ActionKind, err: &Error) -> Action {
    match kind {
        ActionKind::None => Action::None,
        ActionKind::RetryAfter => {
            Action::RetryAfter(err.retry_after().unwrap_or(DEFAULT_RETRY_AFTER))
        }
        ActionKind::Retry => Action::Retry,
        ActionKind::InteractWithUser => Action::InteractWithUser {
            claims: err.claims_challenge().map(str::to_owned),
        },
        ActionKind::UserMustActInBrowser => Action::UserMustActInBrowser,
        ActionKind::FixConfiguration => Action::FixConfiguration,
        ActionKind::ContactTenantAdmin => Action::ContactTenantAdmin,
        ActionKind::CheckCredentials => Action::CheckCredentials,
    }
}

/// One AADSTS code: what Entra ID says it means, why apps usually meet it, and
/// the action [`recommend`] gives for it (absent a decisive suberror).
///
/// ```
/// let e = oxmsal::action::lookup_aadsts(50076).unwrap();
/// assert_eq!(e.name, "UserStrongAuthClientAuthNRequired");
/// assert_eq!(e.action, oxmsal::action::ActionKind::InteractWithUser);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AadstsEntry {
    /// The number after `AADSTS`.
    pub code: u64,
    /// Entra ID's error name where Microsoft documents one; otherwise a short
    /// descriptive name of ours.
    pub name: &'static str,
    /// What the code means, after Entra ID's documentation.
    pub meaning: &'static str,
    /// Why apps usually meet it, and who can fix it where that depends on context.
    pub typical_cause: &'static str,
    /// What [`recommend`] suggests.
    pub action: ActionKind,
}

/// The AADSTS codes apps meet most, sorted by code.
///
/// ```
/// let table = oxmsal::action::aadsts_table();
/// assert!(table.len() >= 40);
/// assert!(table.windows(2).all(|w| w[0].code < w[1].code));
/// ```
pub fn aadsts_table() -> &'static [AadstsEntry] {
    AADSTS
}

/// The table entry for an AADSTS code.
///
/// ```
/// use oxmsal::action::{lookup_aadsts, ActionKind};
/// assert_eq!(lookup_aadsts(7000222).unwrap().action, ActionKind::FixConfiguration);
/// assert!(lookup_aadsts(1).is_none());
/// ```
pub fn lookup_aadsts(code: u64) -> Option<&'static AadstsEntry> {
    AADSTS
        .binary_search_by_key(&code, |e| e.code)
        .ok()
        .and_then(|i| AADSTS.get(i))
}

const fn entry(
    code: u64,
    name: &'static str,
    meaning: &'static str,
    typical_cause: &'static str,
    action: ActionKind,
) -> AadstsEntry {
    AadstsEntry {
        code,
        name,
        meaning,
        typical_cause,
        action,
    }
}

// Short names keep each table entry readable.
use ActionKind::{
    CheckCredentials as CHECK, ContactTenantAdmin as ADMIN, FixConfiguration as FIX,
    InteractWithUser as INTERACT, UserMustActInBrowser as OUTSIDE,
};

/// Sorted by code, for binary search (a test checks). One entry per block,
/// unformatted, so the table reads as a table.
#[rustfmt::skip]
static AADSTS: &[AadstsEntry] = &[
    entry(50001, "InvalidResource",
        "The resource is disabled or does not exist.",
        "A mistyped resource or scope URI, or the API's registration was deleted or disabled.",
        FIX),
    entry(50011, "InvalidReplyTo",
        "The redirect URI is missing or does not match a redirect URI registered for the app.",
        "The redirect_uri differs from the registration (scheme, host, port, path, trailing slash) or is registered under another platform.",
        FIX),
    entry(50012, "AuthenticationFailed",
        "Authentication failed: the client assertion or certificate was not accepted (untrusted signer, invalid chain, unauthorized subject or thumbprint, bad signature).",
        "The certificate that signed the assertion is not the one on the app registration, or subject name/issuer authentication is not set up.",
        FIX),
    entry(50020, "UserUnauthorized",
        "The user's account does not exist in this tenant and cannot access the application; it must be added as an external user first.",
        "A personal or other-tenant account signing in to a single-tenant app: the admin invites the user as a guest, or the developer makes the app multi-tenant.",
        ADMIN),
    entry(50034, "UserAccountNotFound",
        "The user account does not exist in the directory.",
        "A mistyped username, the wrong tenant in the authority, or a deleted account.",
        CHECK),
    entry(50053, "IdsLocked",
        "The account is locked after too many failed sign-in attempts, or sign-in came from an IP address with malicious activity.",
        "Repeated wrong passwords (smart lockout): the lock lifts after a while, or an admin unlocks it.",
        CHECK),
    entry(50055, "InvalidPasswordExpiredPassword",
        "The user's password has expired.",
        "Password expiry policy: an interactive sign-in offers to change it (or an admin resets it).",
        INTERACT),
    entry(50057, "UserDisabled",
        "The user account is disabled.",
        "An admin blocked sign-in for the account, or it was disabled on-premises and synchronised.",
        ADMIN),
    entry(50058, "UserInformationNotProvided",
        "Session information is not sufficient for single sign-on: the user is not signed in, or the SSO session was not found or is invalid.",
        "A silent (prompt=none) request with no usable browser session: cookies cleared or third-party cookies blocked.",
        INTERACT),
    entry(50059, "MissingTenantRealmAndNoUserInformationProvided",
        "No tenant-identifying information was found in the request or in any credential it carries.",
        "A flow that needs a tenant (client credentials, username/password) sent to /common or /organizations.",
        FIX),
    entry(50072, "UserStrongAuthEnrollmentRequiredInterrupt",
        "The user must enroll a second authentication factor (interactive).",
        "MFA registration is required by policy and the user has not registered methods yet.",
        INTERACT),
    entry(50074, "UserStrongAuthClientAuthNRequiredInterrupt",
        "Strong authentication is required and the user did not pass the MFA challenge.",
        "The MFA prompt was abandoned or failed during sign-in.",
        INTERACT),
    entry(50076, "UserStrongAuthClientAuthNRequired",
        "Multi-factor authentication is required to access the resource (Conditional Access, per-user MFA, or a new location).",
        "A silent or username/password request for a resource whose policy demands MFA the current session lacks.",
        INTERACT),
    entry(50078, "UserStrongAuthExpired",
        "The presented multi-factor authentication has expired under the administrator's policies; MFA must be done again.",
        "The MFA claim of the session is older than the policy allows.",
        INTERACT),
    entry(50079, "UserStrongAuthEnrollmentRequired",
        "The user is required to use multi-factor authentication and must register for it.",
        "A new MFA policy applies to a user with no registered methods.",
        INTERACT),
    entry(50089, "FlowTokenExpired",
        "Authentication failed because the sign-in flow token expired.",
        "The sign-in page was left open too long before the user finished.",
        INTERACT),
    entry(50097, "DeviceAuthenticationRequired",
        "Device authentication is required.",
        "Conditional Access requires a registered or compliant device and the request did not prove the device (unregistered device, no broker).",
        OUTSIDE),
    entry(50105, "EntitlementGrantsNotFound",
        "The signed-in user is not assigned to a role for the application.",
        "The enterprise application requires assignment and the user (or their group) is not assigned.",
        ADMIN),
    entry(50125, "PasswordResetRegistrationRequiredInterrupt",
        "Sign-in was interrupted by a password reset or password reset registration step.",
        "The tenant requires self-service password reset registration or a reset the user has not completed.",
        INTERACT),
    entry(50126, "InvalidUserNameOrPassword",
        "Error validating credentials due to an invalid username or password.",
        "A wrong password in the username/password flow, or a federated account used with it.",
        CHECK),
    entry(50127, "BrokerAppNotInstalled",
        "The user needs to install a broker app to access this content.",
        "Conditional Access requires a broker (Microsoft Authenticator, Company Portal) that the device lacks.",
        OUTSIDE),
    entry(50129, "DeviceIsNotWorkplaceJoined",
        "Workplace join is required to register the device.",
        "Policy requires a registered device and this one is not registered.",
        OUTSIDE),
    entry(50133, "SsoArtifactRevoked",
        "The session is not valid because the password expired or was recently changed.",
        "The user changed or reset the password, revoking earlier sessions and refresh tokens.",
        INTERACT),
    entry(50144, "InvalidPasswordExpiredOnPremPassword",
        "The user's on-premises Active Directory password has expired.",
        "A synchronised or federated account whose password must be changed through the organisation's reset tool or by an admin.",
        OUTSIDE),
    entry(50158, "ExternalSecurityChallenge",
        "An external security challenge was not satisfied.",
        "A third-party MFA provider or Conditional Access custom control must be completed interactively.",
        INTERACT),
    entry(50173, "FreshTokenNeeded",
        "The grant has expired because it was revoked; a fresh sign-in is needed.",
        "The user or an admin revoked the sessions, or the password was changed.",
        INTERACT),
    entry(50194, "MultiTenantAppRequiredForCommon",
        "The application is not configured as multi-tenant, so the /common endpoint is not supported for it.",
        "A single-tenant app using /common: use a tenant-specific authority, or make the app multi-tenant.",
        FIX),
    entry(50196, "LoopDetected",
        "A client loop was detected: the app requested tokens too many times in a short period.",
        "The app does not cache tokens, or retries a failing request in a tight loop.",
        FIX),
    entry(53000, "DeviceNotCompliant",
        "Conditional Access requires a compliant device and the device is not compliant.",
        "The device is not enrolled in, or not compliant with, Intune or another MDM: the user enrolls it or fixes its state.",
        OUTSIDE),
    entry(53001, "DeviceNotDomainJoined",
        "Conditional Access requires a domain-joined device and the device is not domain joined.",
        "Signing in from a personal or unjoined device: use a joined device, or an admin joins it.",
        OUTSIDE),
    entry(53002, "ApplicationUsedIsNotAnApprovedApp",
        "The app used is not an approved app for Conditional Access.",
        "A policy allows only approved client apps; the admin decides whether this one is allowed.",
        ADMIN),
    entry(53003, "BlockedByConditionalAccess",
        "Access has been blocked by Conditional Access policies; the policy does not allow token issuance.",
        "A blocking policy matches (location, platform, app, risk); only an admin can change it.",
        ADMIN),
    entry(53004, "ProofUpBlockedDueToRisk",
        "The user must complete multi-factor authentication registration, which is blocked because of risk.",
        "Identity Protection flagged the user or sign-in as risky: an admin remediates, or the user registers from a trusted place.",
        ADMIN),
    entry(54005, "AuthorizationCodeAlreadyRedeemed",
        "The OAuth2 authorization code was already redeemed.",
        "The app redeems the same code twice (a double submit or retry); start a new sign-in, and redeem each code once.",
        FIX),
    entry(65001, "DelegationDoesNotExist",
        "The user or administrator has not consented to the application with the requested permissions.",
        "First use of the app or a new scope: an interactive request lets the user consent, unless the tenant requires admin consent.",
        INTERACT),
    entry(65002, "FirstPartyPreauthorizationRequired",
        "Consent between a first-party (Microsoft) application and a first-party resource must be configured via preauthorization.",
        "A Microsoft-owned client ID (such as Azure CLI's) used for an API that has not preauthorized it: register your own app.",
        FIX),
    entry(65004, "UserDeclinedConsent",
        "The user declined to consent to the app's access.",
        "The user cancelled the consent prompt; sign in again only if they want to.",
        INTERACT),
    entry(65005, "MisconfiguredApplication",
        "The app requested access to a resource that is not in its required permissions, or the resource was not found.",
        "A scope for an API the registration does not list, or a mistyped resource identifier.",
        FIX),
    entry(70000, "InvalidGrant",
        "Authentication failed: the grant is not valid, or requested scopes are unauthorized or expired.",
        "A refresh token or code that was revoked, belongs to another client, or lacks consent for the scopes.",
        INTERACT),
    entry(70002, "InvalidClient",
        "Error validating the client credentials: the client secret does not match the expected value.",
        "A wrong secret, or a credential sent for an app registered as a public client.",
        FIX),
    entry(70008, "ExpiredOrRevokedGrant",
        "The refresh token or authorization code has expired or was revoked.",
        "The refresh token was unused longer than its inactivity lifetime, or the code was redeemed too late.",
        INTERACT),
    entry(70011, "InvalidScope",
        "The scope requested by the app is invalid.",
        "A malformed scope, scopes of several resources in one request, or a client-credentials scope without /.default.",
        FIX),
    entry(70019, "CodeExpired",
        "The device code flow's verification code expired.",
        "The user did not finish the device code sign-in within its lifetime (typically 15 minutes).",
        INTERACT),
    entry(70043, "BadTokenDueToSignInFrequency",
        "The refresh token has expired or is invalid because of Conditional Access sign-in frequency checks.",
        "A sign-in frequency policy requires re-authentication after a set time.",
        INTERACT),
    entry(90002, "InvalidTenantName",
        "The tenant was not found.",
        "A mistyped tenant ID or domain in the authority, a tenant of another cloud, or an unregistered domain.",
        FIX),
    entry(90014, "MissingRequiredField",
        "A field the request must carry is missing from the request or its credential.",
        "The app builds a token request or assertion without a required parameter.",
        FIX),
    entry(90094, "AdminConsentRequired",
        "Administrator consent is required.",
        "The app asks for permissions users cannot consent to, or the tenant does not allow user consent.",
        ADMIN),
    entry(90099, "PartnerApplicationNotAuthorized",
        "The application has not been authorized in the tenant; it must be authorized before partner delegated administrators can use it.",
        "A partner (delegated admin) uses an app the customer tenant has not consented to.",
        ADMIN),
    entry(500011, "InvalidResourceServicePrincipalNotFound",
        "The resource principal was not found in the tenant.",
        "Usually a mistyped resource or scope URI or the wrong tenant; if the API is right but not provisioned in the tenant, an admin must consent to add it.",
        FIX),
    entry(500113, "NoReplyAddressRegistered",
        "No reply address is registered for the application.",
        "The app registration has no redirect URI for the platform in use.",
        FIX),
    entry(500133, "AssertionOutsideValidTimeRange",
        "The user assertion is not within its valid time range: the incoming access token has expired.",
        "An on-behalf-of request with an expired user token; the API should answer 401 so its caller gets a fresh token.",
        INTERACT),
    entry(700016, "UnauthorizedClient_DoesNotMatchRequest",
        "The application was not found in the directory or tenant.",
        "A wrong client ID, the wrong tenant or cloud, or a multi-tenant app not yet consented to in this tenant.",
        FIX),
    entry(700024, "ClientAssertionOutsideValidTimeRange",
        "The client assertion is not within its valid time range.",
        "Clock skew on the client machine, or an expired federated (workload identity) token used as the assertion.",
        FIX),
    entry(700025, "InvalidClientPublicClientWithCredential",
        "The client is public, so neither client_assertion nor client_secret should be presented.",
        "A secret or certificate sent for an app registered as a public (desktop/mobile) client.",
        FIX),
    entry(700027, "ClientAssertionSignatureInvalid",
        "The client assertion failed signature validation.",
        "The signing certificate is not registered on the app, or the assertion names the wrong key or thumbprint.",
        FIX),
    entry(700054, "IdTokenResponseTypeNotEnabled",
        "response_type 'id_token' is not enabled for the application.",
        "The app requests an ID token from the authorization endpoint without ID token issuance enabled in its registration.",
        FIX),
    entry(700082, "ExpiredOrRevokedGrantInactiveToken",
        "The refresh token has expired due to inactivity.",
        "The app was not used for longer than the refresh token's inactivity lifetime.",
        INTERACT),
    entry(700084, "SpaRefreshTokenExpired",
        "The refresh token was issued to a single-page app and has a fixed lifetime that cannot be extended; it has expired.",
        "A redirect URI registered as a SPA: the app must sign in again (SPA refresh tokens live 24 hours).",
        INTERACT),
    entry(900144, "RequiredParameterMissing",
        "The request body must contain a required parameter.",
        "A token request missing grant_type, client_id, scope or a similar parameter.",
        FIX),
    entry(1002012, "ClientCredentialsScopeNotDefault",
        "The scope value is not valid: client credential flows must use a scope of the form {resource}/.default.",
        "Client credentials asked for named delegated scopes (User.Read) instead of https://graph.microsoft.com/.default.",
        FIX),
    entry(7000112, "UnauthorizedClientApplicationDisabled",
        "The application is disabled.",
        "An admin disabled sign-in for the app's service principal in this tenant.",
        ADMIN),
    entry(7000215, "InvalidClientSecretProvided",
        "Invalid client secret provided.",
        "The secret's ID was sent instead of its value, or the secret is mistyped or belongs to another app.",
        FIX),
    entry(7000218, "ClientCredentialMissing",
        "The request body must contain client_assertion or client_secret.",
        "A public-client flow (device code, username/password) for an app without 'Allow public client flows', or a confidential client with no credential.",
        FIX),
    entry(7000222, "InvalidClientSecretExpiredKeysProvided",
        "The provided client secret keys are expired.",
        "The client secret passed its expiry date: create a new one, or move to a certificate.",
        FIX),
    entry(9002313, "InvalidRequest",
        "The request is malformed or invalid.",
        "A malformed token request or assertion, often a malformed JWT.",
        FIX),
];

// The error's own questions about what to do next live here, beside the
// rules that answer them, so that error/mod.rs needs nothing from this file.
impl Error {
    /// What to do next about this error: retry, sign the user in, fix the app's
    /// configuration, or ask an administrator. See [`crate::action`].
    ///
    /// ```
    /// let e = oxmsal::Error::transport("connection reset", None);
    /// assert_eq!(e.action(), oxmsal::action::Action::Retry);
    /// ```
    pub fn action(&self) -> Action {
        recommend(self)
    }

    /// MSAL for Python's `classification` of a silent-acquisition error: `""` for
    /// suberrors an app need not show, the suberror otherwise, `None` without one.
    ///
    /// ```
    /// assert_eq!(oxmsal::Error::transport("x", None).classification(), None);
    /// ```
    pub fn classification(&self) -> Option<String> {
        classification(self)
    }

    /// Whether the user must sign in (again) interactively — the service said
    /// so (`interaction_required`, an expired or revoked grant, MFA, consent); the
    /// same rule as [`Error::action`] returning `InteractWithUser` for a service error.
    ///
    /// ```
    /// use oxmsal::{Error, ServiceError};
    /// let s = ServiceError::from_body(400, br#"{"error":"invalid_grant","error_codes":[50076]}"#, None).unwrap();
    /// assert!(Error::from_service(s).requires_interaction());
    /// ```
    pub fn requires_interaction(&self) -> bool {
        self.service().is_some()
            && self.kind() == ErrorKind::Service
            && self.action().kind() == ActionKind::InteractWithUser
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::error::InvalidResponse;

    fn service(status: u16, body: &str, retry_after: Option<Duration>) -> Error {
        Error::from_service(ServiceError::from_body(status, body.as_bytes(), retry_after).unwrap())
    }

    fn bad_request(body: &str) -> Error {
        service(400, body, None)
    }

    #[test]
    fn table_is_sorted_unique_and_complete() {
        assert!(AADSTS.windows(2).all(|w| w[0].code < w[1].code));
        assert!(AADSTS.len() >= 40);
        let required = [
            50076, 50079, 53000, 53001, 53002, 53003, 53004, 65001, 65004, 70011, 700016, 7000215,
            7000222, 50126, 50034, 90002, 700082, 50173, 50011, 50055, 50057, 50053, 50105, 50020,
            50058, 50059, 50074, 50078, 50158, 70008, 70043, 700024, 700027, 7000218, 90094,
            500011, 50194, 1002012, 9002313, 500133, 70000, 700054, 50097,
        ];
        for code in required {
            assert!(lookup_aadsts(code).is_some(), "{code} missing");
        }
        for e in AADSTS {
            assert_eq!(lookup_aadsts(e.code), Some(e));
            assert!(
                !e.meaning.contains('|') && !e.typical_cause.contains('|'),
                "{}",
                e.code
            );
        }
    }

    #[test]
    fn error_kinds() {
        assert_eq!(recommend(&Error::transport("reset", None)), Action::Retry);
        assert_eq!(
            recommend(&Error::configuration("x")),
            Action::FixConfiguration
        );
        assert_eq!(
            recommend(&Error::cache("permission denied", None)),
            Action::FixConfiguration
        );
        assert_eq!(recommend(&Error::cancelled("x")), Action::None);
        assert_eq!(
            recommend(&Error::no_cached_token("x")),
            Action::InteractWithUser { claims: None }
        );
    }

    #[test]
    fn server_pauses() {
        let s = |status, ra| {
            recommend(&service(
                status,
                r#"{"error":"invalid_grant","error_codes":[50076]}"#,
                ra,
            ))
        };
        assert_eq!(s(503, None), Action::RetryAfter(DEFAULT_RETRY_AFTER));
        assert_eq!(
            s(429, Some(Duration::from_secs(42))),
            Action::RetryAfter(Duration::from_secs(42))
        );
        assert_eq!(
            s(400, Some(Duration::from_secs(7))),
            Action::RetryAfter(Duration::from_secs(7))
        );
        let unavailable = bad_request(r#"{"error":"temporarily_unavailable"}"#);
        assert_eq!(
            recommend(&unavailable),
            Action::RetryAfter(DEFAULT_RETRY_AFTER)
        );

        let html = InvalidResponse::new(502, Some("text/html".into()), b"<html/>", "not JSON");
        assert_eq!(
            recommend(&Error::from_invalid_response(html.clone())),
            Action::RetryAfter(DEFAULT_RETRY_AFTER)
        );
        let slow = html.clone().with_retry_after(Some(Duration::from_secs(9)));
        assert_eq!(
            recommend(&Error::from_invalid_response(slow)),
            Action::RetryAfter(Duration::from_secs(9))
        );
        let ok_but_broken = InvalidResponse::new(200, None, b"{}", "no access_token");
        assert_eq!(
            recommend(&Error::from_invalid_response(ok_but_broken)),
            Action::None
        );
    }

    #[test]
    fn throttled_waits_for_transient_answers_only() {
        let busy = service(
            429,
            r#"{"error":"temporarily_unavailable"}"#,
            Some(Duration::from_secs(60)),
        );
        let throttled = Error::throttled(&busy, Duration::from_secs(12));
        assert_eq!(
            recommend(&throttled),
            Action::RetryAfter(Duration::from_secs(12))
        );

        let html = Error::from_invalid_response(InvalidResponse::new(500, None, b"", "empty"));
        let throttled = Error::throttled(&html, Duration::from_secs(3));
        assert_eq!(
            recommend(&throttled),
            Action::RetryAfter(Duration::from_secs(3))
        );

        // MSAL's 400 rule: the same request gets the same answer, so follow it.
        let mfa =
            bad_request(r#"{"error":"invalid_grant","error_codes":[50076],"claims":"{\"a\":1}"}"#);
        let throttled = Error::throttled(&mfa, Duration::from_secs(50));
        assert_eq!(
            recommend(&throttled),
            Action::InteractWithUser {
                claims: Some(r#"{"a":1}"#.into())
            }
        );
        let secret = bad_request(r#"{"error":"invalid_client","error_codes":[7000222]}"#);
        assert_eq!(
            recommend(&Error::throttled(&secret, Duration::from_secs(50))),
            Action::FixConfiguration
        );

        let odd =
            Error::from_invalid_response(InvalidResponse::new(400, None, b"<html/>", "not JSON"));
        assert_eq!(
            recommend(&Error::throttled(&odd, Duration::from_secs(50))),
            Action::None
        );
    }

    #[test]
    fn claims_are_passed_to_interaction() {
        let err = bad_request(
            r#"{"error":"interaction_required","error_codes":[53000],"suberror":"basic_action","claims":"{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"p\"]}}}"}"#,
        );
        let Action::InteractWithUser {
            claims: Some(claims),
        } = recommend(&err)
        else {
            panic!("{:?}", recommend(&err));
        };
        assert!(claims.contains("capolids"));
    }

    #[test]
    fn decisive_suberrors_beat_the_code() {
        let with = |sub: &str, code: u64| {
            recommend(&bad_request(&format!(
                r#"{{"error":"invalid_grant","error_codes":[{code}],"suberror":"{sub}"}}"#
            )))
            .kind()
        };
        assert_eq!(
            with("message_only", 50076),
            ActionKind::UserMustActInBrowser
        );
        assert_eq!(with("basic_action", 53000), ActionKind::InteractWithUser);
        assert_eq!(
            with("additional_action", 53003),
            ActionKind::InteractWithUser
        );
        assert_eq!(
            with("consent_required", 90094),
            ActionKind::InteractWithUser
        );
        assert_eq!(with("bad_token", 7000215), ActionKind::InteractWithUser);
        assert_eq!(with("token_expired", 50126), ActionKind::InteractWithUser);
        assert_eq!(
            with("user_password_expired", 50144),
            ActionKind::InteractWithUser
        );
        assert_eq!(with("client_mismatch", 70011), ActionKind::InteractWithUser);
        assert_eq!(
            with("device_authentication_failed", 50076),
            ActionKind::UserMustActInBrowser
        );
        assert_eq!(
            with("protection_policy_required", 50076),
            ActionKind::ContactTenantAdmin
        );
        // Unknown suberrors decide nothing.
        assert_eq!(with("something_new", 53003), ActionKind::ContactTenantAdmin);
    }

    #[test]
    fn code_from_the_description_when_error_codes_is_absent() {
        let err = bad_request(
            r#"{"error":"invalid_request","error_description":"AADSTS50126: Error validating credentials due to invalid username or password."}"#,
        );
        assert_eq!(recommend(&err), Action::CheckCredentials);
    }

    #[test]
    fn oauth_error_codes_without_a_known_aadsts() {
        let kind = |error: &str| {
            recommend(&bad_request(&format!(
                r#"{{"error":"{error}","error_codes":[99999999]}}"#
            )))
            .kind()
        };
        for error in [
            "invalid_grant",
            "interaction_required",
            "login_required",
            "consent_required",
            "expired_token",
            "access_denied",
        ] {
            assert_eq!(kind(error), ActionKind::InteractWithUser, "{error}");
        }
        for error in [
            "invalid_client",
            "unauthorized_client",
            "invalid_request",
            "invalid_scope",
            "unsupported_grant_type",
        ] {
            assert_eq!(kind(error), ActionKind::FixConfiguration, "{error}");
        }
        assert_eq!(kind("slow_down"), ActionKind::RetryAfter);
        assert_eq!(kind("something_else"), ActionKind::None);
    }

    #[test]
    fn classification_matches_msal_python() {
        let class = |sub: &str| {
            classification(&bad_request(&format!(
                r#"{{"error":"invalid_grant","suberror":"{sub}"}}"#
            )))
        };
        for sub in [
            "bad_token",
            "token_expired",
            "protection_policy_required",
            "client_mismatch",
            "device_authentication_failed",
        ] {
            assert_eq!(class(sub).as_deref(), Some(""), "{sub}");
        }
        for sub in [
            "basic_action",
            "additional_action",
            "message_only",
            "consent_required",
            "user_password_expired",
            "new_one",
        ] {
            assert_eq!(class(sub).as_deref(), Some(sub), "{sub}");
        }
        assert_eq!(
            classification(&bad_request(r#"{"error":"invalid_grant"}"#)),
            None
        );
        assert_eq!(classification(&Error::transport("x", None)), None);
        let throttled = Error::throttled(&class_source(), Duration::from_secs(1));
        assert_eq!(classification(&throttled).as_deref(), Some("basic_action"));
    }

    fn class_source() -> Error {
        bad_request(r#"{"error":"invalid_grant","suberror":"basic_action"}"#)
    }

    #[test]
    fn display_is_advice() {
        assert_eq!(
            Action::Retry.to_string(),
            "retry the request; it may not have reached the server"
        );
        let with_claims = Action::InteractWithUser {
            claims: Some("{}".into()),
        };
        assert!(with_claims.to_string().contains("claims challenge"));
        for kind in [
            ActionKind::None,
            ActionKind::CheckCredentials,
            ActionKind::UserMustActInBrowser,
        ] {
            assert_eq!(kind.to_string(), format!("{kind:?}"));
        }
    }
}
