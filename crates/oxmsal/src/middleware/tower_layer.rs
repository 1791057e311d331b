//! [`BearerAuth`] as a tower `Layer` (feature `tower`): [`BearerService`] wraps
//! any service from `http::Request<B>` to `http::Response<R>` (hyper-util's
//! client, a reqwest adaptor, an axum router in tests).
//!
//! Its error is tower's usual `Box<dyn Error + Send + Sync>`: the inner
//! service's error, oxmsal's [`Error`](crate::Error) when no token could be
//! acquired, or [`RepeatedChallenge`] when the resource challenged the retry
//! again. Downcast to tell them apart.
//!
//! ```
//! use std::convert::Infallible;
//! use oxmsal::middleware::BearerAuth;
//! use oxmsal::provider::{TokenProvider, TokenProviderFuture};
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! /// A stand-in provider that refuses (a real app goes here).
//! struct NoTokens;
//! impl TokenProvider for NoTokens {
//!     fn token<'a>(&'a self, _: &'a [String], _: Option<&'a str>) -> TokenProviderFuture<'a> {
//!         Box::pin(async { Err(oxmsal::Error::configuration("no tokens here")) })
//!     }
//! }
//!
//! /// A stand-in HTTP client.
//! #[derive(Clone)]
//! struct Echo;
//! impl Service<http::Request<String>> for Echo {
//!     type Response = http::Response<String>;
//!     type Error = Infallible;
//!     type Future = std::future::Ready<Result<Self::Response, Infallible>>;
//!     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
//!         std::task::Poll::Ready(Ok(()))
//!     }
//!     fn call(&mut self, _: http::Request<String>) -> Self::Future {
//!         std::future::ready(Ok(http::Response::new(String::new())))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut service = BearerAuth::new(NoTokens, ["api://demo/.default"]).layer(Echo);
//! let err = service.call(http::Request::new(String::new())).await.unwrap_err();
//! assert!(err.downcast_ref::<oxmsal::Error>().is_some());
//! # }
//! ```

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::AUTHORIZATION;
use http::{Request, Response};
use tower_service::Service;

use super::{insufficient_claims, BearerAuth, RepeatedChallenge};

/// tower's error type.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S> tower_layer::Layer<S> for BearerAuth {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> BearerService<S> {
        BearerService {
            inner,
            auth: self.clone(),
        }
    }
}

/// A request body that can be sent a second time, for the one retry after a
/// claims challenge. `try_clone` returns `None` for a body that cannot (a
/// stream): then the challenge's `401` is returned as it came.
///
/// ```
/// use oxmsal::middleware::RetryableBody;
/// assert_eq!(String::from("{}").try_clone().as_deref(), Some("{}"));
/// ```
pub trait RetryableBody: Sized {
    /// A copy to send again, when the body has one.
    fn try_clone(&self) -> Option<Self>;
}

impl RetryableBody for String {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl RetryableBody for Vec<u8> {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl RetryableBody for bytes::Bytes {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D: Clone> RetryableBody for http_body_util::Full<D> {
    fn try_clone(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D> RetryableBody for http_body_util::Empty<D> {
    fn try_clone(&self) -> Option<Self> {
        Some(http_body_util::Empty::new())
    }
}

/// The service [`BearerAuth`] makes of an inner HTTP service; see the
/// [module](super) docs for what it does with a request.
///
/// ```
/// # fn run<S>(app: oxmsal::ConfidentialClientApplication, client: S) {
/// use tower_layer::Layer;
/// let service: oxmsal::middleware::BearerService<S> =
///     oxmsal::middleware::BearerAuth::new(app, ["api://demo/.default"]).layer(client);
/// # let _ = service; }
/// ```
#[derive(Debug, Clone)]
pub struct BearerService<S> {
    inner: S,
    auth: BearerAuth,
}

impl<S, B, R> Service<Request<B>> for BearerService<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: RetryableBody + Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<R>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The service polled ready is the one to call; its clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            if request.headers().contains_key(AUTHORIZATION) {
                tracing::debug!("the request has its own Authorization header; sent as it is");
                return inner.call(request).await.map_err(Into::into);
            }
            let retry = try_clone_request(&request);
            auth.authorize(request.headers_mut(), None).await?;
            let response = inner.call(request).await.map_err(Into::into)?;
            let Some(challenge) = insufficient_claims(response.status(), response.headers()) else {
                return Ok(response);
            };
            let Some(mut retry) = retry else {
                tracing::debug!("claims challenge not answered: the request body cannot be cloned");
                return Ok(response);
            };
            tracing::debug!(claims = %challenge.claims_json(), "answering a claims challenge once");
            drop(response);
            auth.authorize(retry.headers_mut(), Some(challenge.claims_json()))
                .await?;
            poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            let response = inner.call(retry).await.map_err(Into::into)?;
            match insufficient_claims(response.status(), response.headers()) {
                Some(again) => Err(Box::new(RepeatedChallenge {
                    claims: again.claims,
                }) as BoxError),
                None => Ok(response),
            }
        })
    }
}

/// The request again (method, URI, version, headers, extensions, body), when
/// its body can be cloned.
fn try_clone_request<B: RetryableBody>(request: &Request<B>) -> Option<Request<B>> {
    let body = request.body().try_clone()?;
    let mut copy = Request::new(body);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}
