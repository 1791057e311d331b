//! What every flow and every application kind share, below both: the
//! application's core (identity, authority, transport, discovery, cache and
//! its persistence, single-flight locks, throttle) and the scope checks every
//! request passes once on the way in. Flows and apps import from here; nothing
//! here imports a flow or an app.

mod core;
pub(crate) mod scopes;

pub(crate) use core::AppCore;
