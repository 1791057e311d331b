//! Which managed identity a client asks for.

use crate::error::{Error, Result};

/// The client id a system-assigned identity's tokens are cached under: none.
/// MSAL for Python 1.39 means to write `SYSTEM_ASSIGNED_MANAGED_IDENTITY`, but
/// its system-assigned identity carries an explicit `"Id": None`, so what it
/// writes (and searches for) is `"client_id": null` — key
/// `-localhost-accesstoken--managed_identity-<resource>`. oxmsal writes the
/// same (an empty client id is written as null) so the two share tokens.
pub(crate) const SYSTEM_ASSIGNED_CACHE_ID: &str = "";

/// The client id MSAL for Python intends for the system identity; entries
/// under it are read too.
pub(crate) const SYSTEM_ASSIGNED_INTENDED_ID: &str = "SYSTEM_ASSIGNED_MANAGED_IDENTITY";

/// A managed identity: the host's own (system-assigned), or one of the
/// user-assigned identities attached to it, named by one of its three ids.
///
/// ```
/// use oxmsal::managed_identity::ManagedIdentity;
/// let system = ManagedIdentity::SystemAssigned;
/// let user = ManagedIdentity::client_id("00000000-0000-0000-0000-0000000000aa");
/// assert!(!system.is_user_assigned());
/// assert!(user.is_user_assigned());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManagedIdentity {
    /// The identity of the host itself.
    SystemAssigned,
    /// A user-assigned identity named by its client (application) id.
    ClientId(String),
    /// A user-assigned identity named by its object (principal) id.
    ObjectId(String),
    /// A user-assigned identity named by its Azure resource id
    /// (`/subscriptions/…/userAssignedIdentities/name`).
    ResourceId(String),
}

impl ManagedIdentity {
    /// A user-assigned identity by client id.
    ///
    /// ```
    /// let id = oxmsal::managed_identity::ManagedIdentity::client_id("abc");
    /// assert_eq!(id.id(), Some("abc"));
    /// ```
    pub fn client_id(id: impl Into<String>) -> Self {
        ManagedIdentity::ClientId(id.into())
    }

    /// A user-assigned identity by object id.
    ///
    /// ```
    /// let id = oxmsal::managed_identity::ManagedIdentity::object_id("abc");
    /// assert_eq!(id.id(), Some("abc"));
    /// ```
    pub fn object_id(id: impl Into<String>) -> Self {
        ManagedIdentity::ObjectId(id.into())
    }

    /// A user-assigned identity by Azure resource id.
    ///
    /// ```
    /// let id = oxmsal::managed_identity::ManagedIdentity::resource_id("/subscriptions/s/x");
    /// assert!(id.is_user_assigned());
    /// ```
    pub fn resource_id(id: impl Into<String>) -> Self {
        ManagedIdentity::ResourceId(id.into())
    }

    /// Whether this names a user-assigned identity.
    ///
    /// ```
    /// assert!(!oxmsal::managed_identity::ManagedIdentity::SystemAssigned.is_user_assigned());
    /// ```
    pub fn is_user_assigned(&self) -> bool {
        !matches!(self, ManagedIdentity::SystemAssigned)
    }

    /// The id of a user-assigned identity; `None` for the system-assigned one.
    ///
    /// ```
    /// assert_eq!(oxmsal::managed_identity::ManagedIdentity::SystemAssigned.id(), None);
    /// ```
    pub fn id(&self) -> Option<&str> {
        match self {
            ManagedIdentity::SystemAssigned => None,
            ManagedIdentity::ClientId(id)
            | ManagedIdentity::ObjectId(id)
            | ManagedIdentity::ResourceId(id) => Some(id),
        }
    }

    /// The `client_id` its tokens are cached under: the given id, or none
    /// (null) for the system identity.
    pub(crate) fn cache_client_id(&self) -> &str {
        self.id().unwrap_or(SYSTEM_ASSIGNED_CACHE_ID)
    }

    /// Every `client_id` its cached tokens may be under, the written one first.
    pub(crate) fn cache_client_ids(&self) -> impl Iterator<Item = &str> {
        let system: &[&str] = match self {
            ManagedIdentity::SystemAssigned => {
                &[SYSTEM_ASSIGNED_CACHE_ID, SYSTEM_ASSIGNED_INTENDED_ID]
            }
            _ => &[],
        };
        self.id().into_iter().chain(system.iter().copied())
    }

    /// An empty or blank id, or one holding whitespace or a control
    /// character (it goes into cache keys and logs), is a mistake caught
    /// before any request.
    pub(crate) fn validate(&self) -> Result<()> {
        match self.id() {
            Some(id) if id.trim().is_empty() => Err(Error::configuration(
                "the user-assigned managed identity's id is empty",
            )),
            Some(id) => crate::app::builder::check_single_token(
                "the user-assigned managed identity's id",
                id,
            ),
            None => Ok(()),
        }
    }
}

/// How each source spells the id parameters (`None`: the source lacks that kind).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdParams {
    pub client_id: Option<&'static str>,
    pub object_id: Option<&'static str>,
    pub resource_id: Option<&'static str>,
}

impl IdParams {
    /// The query parameter naming `identity`, `None` for system-assigned; a kind
    /// the source lacks is a configuration error.
    pub(crate) fn param<'a>(
        &self,
        identity: &'a ManagedIdentity,
        source: &str,
    ) -> Result<Option<(&'static str, &'a str)>> {
        let (name, kind, id) = match identity {
            ManagedIdentity::SystemAssigned => return Ok(None),
            ManagedIdentity::ClientId(id) => (self.client_id, "client id", id),
            ManagedIdentity::ObjectId(id) => (self.object_id, "object id", id),
            ManagedIdentity::ResourceId(id) => (self.resource_id, "resource id", id),
        };
        match name {
            Some(name) => Ok(Some((name, id.as_str()))),
            None => Err(Error::configuration(format!(
                "{source} does not support a user-assigned managed identity named by {kind}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_ids_follow_msal_python() {
        assert_eq!(ManagedIdentity::SystemAssigned.cache_client_id(), "");
        let ids: Vec<&str> = ManagedIdentity::SystemAssigned.cache_client_ids().collect();
        assert_eq!(ids, ["", "SYSTEM_ASSIGNED_MANAGED_IDENTITY"]);
        let user = ManagedIdentity::client_id("c");
        assert_eq!(user.cache_client_ids().collect::<Vec<_>>(), ["c"]);
        assert_eq!(ManagedIdentity::object_id("o").cache_client_id(), "o");
        assert!(ManagedIdentity::client_id(" ").validate().is_err());
    }
}
