//! The one place that talks to the network.
//!
//! Every request oxmsal sends — discovery, token, device code — goes through
//! one internal pipeline: it stamps the library and correlation headers, enforces the
//! https/loopback rule, retries what is safe to retry, consults the client-side
//! throttle, and logs what happened without ever logging a body. The transport
//! itself is an [`HttpClient`], reqwest with rustls by default ([`ReqwestClient`]),
//! replaceable by the app (a proxy-aware client, a test double).

mod client;
mod pipeline;
mod response;
mod retry;
mod retry_after;
mod throttle;

pub use client::{HttpClient, HttpConfig, HttpFuture, ReqwestClient};
pub(crate) use pipeline::{
    check_scheme, checked_header_value, is_loopback, is_reserved_header, Outgoing, Pipeline,
    RequestKind,
};
pub(crate) use response::json_object_or_error;
pub use retry::RetryPolicy;
pub(crate) use retry_after::parse_retry_after;
pub use throttle::ThrottleStore;
pub(crate) use throttle::{is_rememberable, ThrottleKey};

/// A request as oxmsal builds it.
pub type HttpRequest = http::Request<Vec<u8>>;
/// A response with its whole body read.
pub type HttpResponse = http::Response<Vec<u8>>;
