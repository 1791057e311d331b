//! The future a token request becomes when awaited.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Error, Result};
use crate::token::AuthenticationResult;

/// A request future that is boxed only when it must wait.
type Waiting<'a> = Pin<Box<dyn Future<Output = Result<AuthenticationResult>> + Send + 'a>>;

/// An awaited token request.
///
/// A request the cache answers (a valid token in memory, endpoints known, no
/// persistence to consult) is answered when the `.await` starts, without
/// allocating a future; anything else — a refresh, a request to the token
/// endpoint, a store to load — runs in a boxed future.
///
/// ```no_run
/// # async fn run(app: oxmsal::ConfidentialClientApplication) -> oxmsal::Result<()> {
/// use std::future::IntoFuture;
/// let future: oxmsal::app::TokenFuture<'_> =
///     app.acquire_token_for_client(["api://demo/.default"]).into_future();
/// let token = future.await?;
/// # let _ = token; Ok(()) }
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct TokenFuture<'a> {
    state: State<'a>,
}

// The ready variant is the large one on purpose: boxing it would bring back the
// allocation a cache hit is meant to skip.
#[allow(clippy::large_enum_variant)]
enum State<'a> {
    Ready(Option<Result<AuthenticationResult>>),
    Waiting(Waiting<'a>),
}

impl<'a> TokenFuture<'a> {
    pub(crate) fn ready(result: Result<AuthenticationResult>) -> Self {
        TokenFuture {
            state: State::Ready(Some(result)),
        }
    }

    pub(crate) fn waiting(
        future: impl Future<Output = Result<AuthenticationResult>> + Send + 'a,
    ) -> Self {
        TokenFuture {
            state: State::Waiting(Box::pin(future)),
        }
    }
}

impl Future for TokenFuture<'_> {
    type Output = Result<AuthenticationResult>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let output = match &mut this.state {
            State::Ready(result) => result.take(),
            State::Waiting(future) => match future.as_mut().poll(cx) {
                Poll::Ready(output) => Some(output),
                Poll::Pending => return Poll::Pending,
            },
        };
        // Done either way: a later poll finds `Ready(None)`, never the
        // finished inner future (which would panic).
        this.state = State::Ready(None);
        Poll::Ready(output.unwrap_or_else(|| {
            // A future polled again after it finished: a caller bug, reported
            // as a value rather than a panic.
            Err(Error::configuration(
                "a token request future was polled after it completed",
            ))
        }))
    }
}

impl fmt::Debug for TokenFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Ready(Some(_)) => "ready",
            State::Ready(None) => "done",
            State::Waiting(_) => "waiting",
        };
        f.debug_struct("TokenFuture")
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_second_poll_of_a_waiting_future_is_an_error_not_a_panic() {
        let mut future = TokenFuture::waiting(async { Err(Error::configuration("inner")) });
        let mut cx = Context::from_waker(Waker::noop());
        let first = Pin::new(&mut future).poll(&mut cx);
        assert!(matches!(first, Poll::Ready(Err(e)) if e.to_string().contains("inner")));
        let again = Pin::new(&mut future).poll(&mut cx);
        assert!(
            matches!(again, Poll::Ready(Err(e)) if e.to_string().contains("after it completed"))
        );
    }

    #[test]
    fn a_second_poll_is_an_error_not_a_panic() {
        let mut future = TokenFuture::ready(Err(Error::configuration("first")));
        let mut cx = Context::from_waker(Waker::noop());
        let first = Pin::new(&mut future).poll(&mut cx);
        assert!(matches!(first, Poll::Ready(Err(e)) if e.to_string().contains("first")));
        let again = Pin::new(&mut future).poll(&mut cx);
        assert!(
            matches!(again, Poll::Ready(Err(e)) if e.to_string().contains("after it completed"))
        );
    }
}
