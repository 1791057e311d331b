//! The [`Emulator`]'s handles on users and the user flows. The admin API under
//! `/_emulator/` offers the same through the `Shared` methods at the bottom.

use super::Emulator;
use crate::error::EmulatorError;
use crate::routes::device_verification_path;
use crate::sessions::{AuthorizeOutcome, PendingDeviceCode, RefreshTokenInfo};
use crate::shared::Shared;
use crate::state::PublicDemoApp;
use crate::users::User;

impl Emulator {
    /// The default tenant's authorize endpoint.
    pub fn authorize_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/authorize", self.authority())
    }

    /// The default tenant's device authorization endpoint (`…/devicecode`).
    pub fn device_code_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/devicecode", self.authority())
    }

    /// The device code verification page (`verification_uri`), `{base}/devicelogin`.
    pub fn verification_uri(&self) -> String {
        format!("{}{}", self.shared.base_url, device_verification_path())
    }

    /// Adds a user to the default tenant, or replaces the one with the same
    /// username (its refresh tokens stay valid). Returns the user with its `oid`
    /// filled in.
    pub fn add_user(&self, user: User) -> Result<User, EmulatorError> {
        self.shared.users.add(user)
    }

    /// The user with this username (any case), e.g. [`crate::DEFAULT_USERNAME`].
    pub fn user(&self, username: &str) -> Option<User> {
        self.shared.users.get(username)
    }

    /// Every user, sorted by username.
    pub fn users(&self) -> Vec<User> {
        self.shared.users.list()
    }

    /// Turns headless sign-in on or off: when on (the default), an authorize
    /// request whose `login_hint` names a user gets a code at once, without the
    /// sign-in page.
    pub fn set_auto_sign_in(&self, enabled: bool) {
        self.shared.sessions.set_auto_sign_in(enabled);
    }

    /// Whether headless sign-in is on.
    pub fn auto_sign_in(&self) -> bool {
        self.shared.sessions.auto_sign_in()
    }

    /// Makes the next authorize redirect that would carry a code carry this
    /// outcome's error instead (one-shot); [`AuthorizeOutcome::Normal`] clears it.
    pub fn set_authorize_outcome(&self, outcome: AuthorizeOutcome) {
        self.shared.sessions.set_outcome(outcome);
    }

    /// The queued authorize outcome ([`AuthorizeOutcome::Normal`] when none).
    pub fn authorize_outcome(&self) -> AuthorizeOutcome {
        self.shared.sessions.outcome()
    }

    /// Approves the pending device code `user_code` (case, spaces and dashes
    /// ignored) as `username`, as the verification page would after a sign-in;
    /// the next poll gets tokens.
    pub fn approve_device_code(
        &self,
        user_code: &str,
        username: &str,
    ) -> Result<(), EmulatorError> {
        self.shared.approve_device_code(user_code, username)
    }

    /// Declines the pending device code `user_code`: polls get `authorization_declined`.
    pub fn deny_device_code(&self, user_code: &str) -> Result<(), EmulatorError> {
        self.shared.deny_device_code(user_code)
    }

    /// The device codes waiting for a decision (unexpired), oldest first.
    pub fn pending_device_codes(&self) -> Vec<PendingDeviceCode> {
        self.shared.sessions.device_codes.pending()
    }

    /// The next `n` polls of live device codes answer `slow_down` whatever their
    /// timing (replacing a previous count).
    pub fn device_code_slow_down_next(&self, n: u32) {
        self.shared.sessions.device_codes.slow_down_next(n);
    }

    /// Revokes every refresh token issued for `username` so far (as a password
    /// reset would): redeeming one gets `invalid_grant` AADSTS50173 with
    /// `suberror: bad_token`. Returns how many were revoked.
    pub fn revoke_refresh_tokens(&self, username: &str) -> usize {
        self.shared
            .sessions
            .refresh_tokens
            .revoke_user(username, crate::clock::now_secs())
    }

    /// What is known about every refresh token issued (oldest first): user,
    /// client, family, redemptions, rotation, revocation.
    pub fn refresh_tokens(&self) -> Vec<RefreshTokenInfo> {
        self.shared.sessions.refresh_tokens.snapshot()
    }

    /// A public client (no credential) with the redirect URIs `http://localhost`
    /// and `http://127.0.0.1` (any port), in no family; registered on the first
    /// call, later calls return the same app.
    pub fn register_public_demo_app(&self) -> PublicDemoApp {
        self.shared.directory.public_demo_app()
    }

    /// Two public clients of family `"1"` (FOCI), with the demo redirect URIs;
    /// registered on the first call, later calls return the same pair of client ids.
    pub fn register_family_apps(&self) -> (String, String) {
        self.shared.directory.family_apps()
    }
}

impl Shared {
    pub(crate) fn approve_device_code(
        &self,
        user_code: &str,
        username: &str,
    ) -> Result<(), EmulatorError> {
        let user = self
            .users
            .get(username)
            .ok_or_else(|| EmulatorError::UnknownUser(username.to_owned()))?;
        self.sessions
            .device_codes
            .decide(user_code, Some(&user.username))
            .map(|_| ())
            .ok_or_else(|| EmulatorError::UnknownDeviceCode(user_code.to_owned()))
    }

    pub(crate) fn deny_device_code(&self, user_code: &str) -> Result<(), EmulatorError> {
        self.sessions
            .device_codes
            .decide(user_code, None)
            .map(|_| ())
            .ok_or_else(|| EmulatorError::UnknownDeviceCode(user_code.to_owned()))
    }
}
