//! What a [`ManagedIdentityClient`](super::ManagedIdentityClient) holds,
//! shared by the client (which builds it) and the flow (which uses it).

use crate::cache::LookupKeys;
use crate::client::AppCore;

use super::identity::ManagedIdentity;
use super::recent::Recent;
use super::sources::Resolved;
use super::wire::Transport;

#[derive(Debug)]
pub(crate) struct Inner {
    pub core: AppCore,
    pub identity: ManagedIdentity,
    pub resolved: Resolved,
    pub transport: Transport,
    /// The cache lookups' index keys, made once.
    pub lookup_keys: Vec<LookupKeys>,
    /// The last answers, per resource.
    pub recent: Recent,
}
