//! Users of the default tenant: who can sign in through the user flows.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use serde::{Deserialize, Serialize};

use crate::error::EmulatorError;
use crate::ids;

/// The user every emulator starts with.
pub const DEFAULT_USERNAME: &str = "alice@contoso.onmicrosoft.com";
/// [`DEFAULT_USERNAME`]'s password unless [`crate::EmulatorConfig::with_default_user_password`]
/// changes it.
pub const DEFAULT_USER_PASSWORD: &str = "P@ssw0rd!";
/// [`DEFAULT_USERNAME`]'s display name (`name` claim).
pub const DEFAULT_USER_DISPLAY_NAME: &str = "Alice";
/// [`DEFAULT_USERNAME`]'s object id (`oid` claim, `uid` of `client_info`), the same
/// in every emulator so tests can name the account (`{oid}.{tenant id}`).
pub const DEFAULT_USER_OID: &str = "a11ce000-0000-4000-8000-000000000001";

/// A user account of the default tenant.
///
/// JSON (admin API `POST /_emulator/users`): the field names; `oid` and
/// `federated` are optional, `display_name` defaults to the part of `username`
/// before `@`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The sign-in name (UPN), e.g. `bob@contoso.onmicrosoft.com`; compared
    /// case-insensitively. It becomes `preferred_username` and `upn`.
    pub username: String,
    /// The password the sign-in page and the password grant accept.
    pub password: String,
    /// The `name` claim.
    #[serde(default)]
    pub display_name: String,
    /// The object id (a GUID); `None` derives a stable one from the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// A user of a federated domain: the password grant (ROPC) fails for them the
    /// way Entra fails it when it cannot check the password itself; interactive
    /// flows (sign-in page, device code page) work, the emulator standing in for
    /// the federated identity provider.
    #[serde(default)]
    pub federated: bool,
}

impl std::fmt::Debug for User {
    // Passwords stay out of logs, even test ones.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("oid", &self.oid)
            .field("federated", &self.federated)
            .finish_non_exhaustive()
    }
}

impl User {
    /// A managed (not federated) user; the display name is the part of `username`
    /// before `@` until [`User::with_display_name`] sets one.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        let username = username.into();
        User {
            display_name: username
                .trim()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned(),
            username,
            password: password.into(),
            oid: None,
            federated: false,
        }
    }

    /// Set the display name.
    #[must_use]
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    /// Set the object id (a GUID).
    #[must_use]
    pub fn with_oid(mut self, oid: impl Into<String>) -> Self {
        self.oid = Some(oid.into());
        self
    }

    /// Make the user federated (or not).
    #[must_use]
    pub fn with_federated(mut self, federated: bool) -> Self {
        self.federated = federated;
        self
    }

    /// The object id, once the store has filled it in.
    pub(crate) fn object_id(&self) -> &str {
        self.oid.as_deref().unwrap_or_default()
    }

    /// Whether `password` is this user's (compared in constant time).
    pub(crate) fn password_matches(&self, password: &str) -> bool {
        verify_slices_are_equal(self.password.as_bytes(), password.as_bytes()).is_ok()
    }
}

/// Users by lowercased username; every stored user has its `oid` set.
#[derive(Debug)]
pub(crate) struct UserStore {
    tenant_id: String,
    users: RwLock<HashMap<String, User>>,
}

impl UserStore {
    /// A store holding the default user, with `password`.
    pub(crate) fn new(tenant_id: &str, password: &str) -> Self {
        let store = UserStore {
            tenant_id: tenant_id.to_owned(),
            users: RwLock::new(HashMap::new()),
        };
        let alice = User::new(DEFAULT_USERNAME, password)
            .with_display_name(DEFAULT_USER_DISPLAY_NAME)
            .with_oid(DEFAULT_USER_OID);
        // The default user is valid by construction; a failure would only mean no Alice.
        if let Err(error) = store.add(alice) {
            tracing::error!(%error, "default user rejected");
        }
        store
    }

    /// Adds or replaces a user; returns it with its `oid` filled in.
    pub(crate) fn add(&self, mut user: User) -> Result<User, EmulatorError> {
        user.username = user.username.trim().to_owned();
        if user.username.is_empty() {
            return Err(EmulatorError::InvalidUser("username is empty".into()));
        }
        if user.display_name.trim().is_empty() {
            user.display_name = user
                .username
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned();
        }
        let oid = match user.oid.as_deref().map(str::trim) {
            Some(oid) => uuid::Uuid::parse_str(oid)
                .map_err(|_| EmulatorError::InvalidUser(format!("oid '{oid}' is not a GUID")))?
                .hyphenated()
                .to_string(),
            None => ids::stable_guid(&["user", &self.tenant_id, &user.username]),
        };
        user.oid = Some(oid);
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        users.insert(user.username.to_ascii_lowercase(), user.clone());
        Ok(user)
    }

    /// The user with this username (any case).
    pub(crate) fn get(&self, username: &str) -> Option<User> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users.get(&username.trim().to_ascii_lowercase()).cloned()
    }

    /// The user with this object id.
    pub(crate) fn by_oid(&self, oid: &str) -> Option<User> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users
            .values()
            .find(|u| u.object_id().eq_ignore_ascii_case(oid))
            .cloned()
    }

    /// Every user, sorted by username.
    pub(crate) fn list(&self) -> Vec<User> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<User> = users.values().cloned().collect();
        all.sort_by(|a, b| a.username.cmp(&b.username));
        all
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn default_user_and_additions() {
        let store = UserStore::new("t", "pw");
        let alice = store.get("ALICE@contoso.onmicrosoft.com").unwrap();
        assert_eq!(alice.object_id(), DEFAULT_USER_OID);
        assert_eq!(alice.display_name, "Alice");
        assert!(alice.password_matches("pw") && !alice.password_matches("pw2"));

        let bob = store.add(User::new(" bob@x.example ", "b")).unwrap();
        assert_eq!(bob.username, "bob@x.example");
        assert_eq!(bob.display_name, "bob");
        assert_eq!(
            bob.object_id(),
            ids::stable_guid(&["user", "t", "bob@x.example"])
        );
        assert_eq!(
            store.by_oid(bob.object_id()).unwrap().username,
            bob.username
        );
        assert_eq!(store.list().len(), 2);
        assert!(store.add(User::new("", "x")).is_err());
        assert!(store.add(User::new("c", "x").with_oid("nope")).is_err());
        assert!(!format!("{bob:?}").contains("\"b\""));
    }
}
