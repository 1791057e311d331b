//! A one-shot HTTP listener on 127.0.0.1 that receives the authorization
//! redirect (query or `form_post`) and shows the user a closing page.
//!
//! Any local process can connect to the port, so only a redirect carrying this
//! sign-in's `state` ends the wait: anything else is answered and ignored, and
//! the sign-in keeps waiting for the real redirect or its deadline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::error::{Error, Result};

/// Largest request head and body the listener reads.
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;
/// Most header lines of one request (a browser sends about 20).
const MAX_HEADERS: usize = 64;
/// Connections served at once: a client that connects and stalls must not
/// keep the browser's redirect waiting, and an unbounded number would be
/// unbounded memory.
const MAX_CONNECTIONS: usize = 32;
/// A connection must deliver its whole request within this, so that idle or
/// stalled connections free their slot (a browser sends at once; an idle
/// preconnected socket it finds closed is simply replaced).
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in</title></head>\
<body style=\"font-family:sans-serif\"><h1>Authentication complete</h1><p>You can close this window and return to the application.</p></body></html>";
const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
<body style=\"font-family:sans-serif\"><h1>Sign-in did not complete</h1><p>Return to the application for details. You can close this window.</p></body></html>";
const FOREIGN_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Not this sign-in</title></head>\
<body style=\"font-family:sans-serif\"><h1>This is not the sign-in you started</h1><p>The redirect does not carry the state of the sign-in the application is waiting for, so it was ignored. The application keeps waiting for its own sign-in.</p></body></html>";

/// The bound listener, before the browser is sent anywhere.
#[derive(Debug)]
pub(crate) struct Loopback {
    listener: TcpListener,
    port: u16,
}

impl Loopback {
    /// Binds 127.0.0.1 on `port` (0: any free port).
    pub(crate) async fn bind(port: u16) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
            Error::configuration(format!(
                "cannot listen on 127.0.0.1:{port} for the redirect: {e}"
            ))
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::configuration(format!("loopback listener has no address: {e}")))?
            .port();
        Ok(Loopback { listener, port })
    }

    /// `http://localhost:{port}`: Entra ID matches loopback redirect URIs on any port.
    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Serves until a request carries `code` or `error` together with
    /// `expected_state`; returns that redirect's parameters. A redirect with a
    /// missing or other state gets a 400 page, any other request (a favicon) a
    /// 404; both are ignored. Connections are served concurrently (up to
    /// [`MAX_CONNECTIONS`]) and dropped when this returns.
    pub(crate) async fn receive(&self, expected_state: &str) -> Result<HashMap<String, String>> {
        let expected: Arc<str> = Arc::from(expected_state);
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept(), if connections.len() < MAX_CONNECTIONS => {
                    let (stream, _) = accepted.map_err(|e| {
                        Error::transport(format!("loopback listener failed: {e}"), None)
                    })?;
                    let expected = expected.clone();
                    connections.spawn(async move {
                        tokio::time::timeout(REQUEST_DEADLINE, handle(stream, expected))
                            .await
                            .unwrap_or(Ok(None))
                    });
                }
                Some(served) = connections.join_next(), if !connections.is_empty() => {
                    match served {
                        Ok(Ok(Some(params))) => return Ok(params),
                        Ok(Ok(None)) => {}
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "a connection to the loopback listener failed");
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "a connection to the loopback listener ended abnormally");
                        }
                    }
                }
            }
        }
    }
}

/// The parts of a request head the listener uses.
struct Head {
    len: usize,
    method: String,
    target: String,
    content_length: usize,
}

/// Why a request head is refused.
enum Refusal {
    Malformed,
    TooLarge,
}

/// Parses a complete head with httparse; `Ok(None)` while more bytes are needed.
fn parse_head(buf: &[u8]) -> std::result::Result<Option<Head>, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => return Err(Refusal::TooLarge),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal::TooLarge),
        Err(_) => return Err(Refusal::Malformed),
    };
    if len > MAX_HEAD {
        return Err(Refusal::TooLarge);
    }
    let mut content_length = None;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or(Refusal::Malformed)?;
            // Two different lengths: no way to tell where the body ends.
            if content_length.is_some_and(|seen| seen != value) {
                return Err(Refusal::Malformed);
            }
            content_length = Some(value);
        }
    }
    Ok(Some(Head {
        len,
        method: request.method.unwrap_or_default().to_owned(),
        target: request.path.unwrap_or_default().to_owned(),
        content_length: content_length.unwrap_or(0),
    }))
}

async fn handle(
    mut stream: TcpStream,
    expected_state: Arc<str>,
) -> std::io::Result<Option<HashMap<String, String>>> {
    let mut buf = Vec::with_capacity(2048);
    let head = loop {
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_head(&buf) {
            Ok(Some(head)) => break head,
            Ok(None) => {}
            Err(Refusal::TooLarge) => {
                respond(&mut stream, "431 Request Header Fields Too Large", "").await?;
                return Ok(None);
            }
            Err(Refusal::Malformed) => {
                respond(&mut stream, "400 Bad Request", "").await?;
                return Ok(None);
            }
        }
    };
    let mut params: HashMap<String, String> = HashMap::new();
    if let Some((_, query)) = head.target.split_once('?') {
        params.extend(url::form_urlencoded::parse(query.as_bytes()).into_owned());
    }
    if head.method == "POST" {
        if head.content_length > MAX_BODY {
            respond(&mut stream, "413 Payload Too Large", "").await?;
            return Ok(None);
        }
        let mut body = buf.split_off(head.len);
        body.truncate(head.content_length);
        while body.len() < head.content_length {
            let mut chunk = vec![0u8; head.content_length - body.len()];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    if !params.contains_key("code") && !params.contains_key("error") {
        respond(&mut stream, "404 Not Found", "").await?;
        return Ok(None);
    }
    if params.get("state").map(String::as_str) != Some(&*expected_state) {
        tracing::warn!(
            "ignored a redirect to the loopback listener without this sign-in's state; still waiting"
        );
        respond(&mut stream, "400 Bad Request", FOREIGN_PAGE).await?;
        return Ok(None);
    }
    let page = if params.contains_key("code") {
        DONE_PAGE
    } else {
        FAILED_PAGE
    };
    respond(&mut stream, "200 OK", page).await?;
    Ok(Some(params))
}

/// One buffer per response (no delayed-ACK stall), connection closed after.
async fn respond(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn send(port: u16, raw: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(raw.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn query_and_form_post_and_noise() {
        let lb = Loopback::bind(0).await.unwrap();
        let port = lb.port;
        let client = tokio::spawn(async move {
            let r1 = send(port, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert!(r1.starts_with("HTTP/1.1 404"), "{r1}");
            let r2 = send(port, "garbage\r\n\r\n").await;
            assert!(r2.starts_with("HTTP/1.1 400"), "{r2}");
            let body = "code=abc&state=s%201";
            let r3 = send(
                port,
                &format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                ),
            )
            .await;
            assert!(r3.contains("Authentication complete"), "{r3}");
        });
        let params = lb.receive("s 1").await.unwrap();
        client.await.unwrap();
        assert_eq!(params["code"], "abc");
        assert_eq!(params["state"], "s 1");
    }

    #[tokio::test]
    async fn error_redirect_in_query() {
        let lb = Loopback::bind(0).await.unwrap();
        let port = lb.port;
        let client = tokio::spawn(async move {
            let r = send(port, "GET /?error=access_denied&state=x HTTP/1.1\r\n\r\n").await;
            assert!(r.contains("did not complete"), "{r}");
        });
        let params = lb.receive("x").await.unwrap();
        client.await.unwrap();
        assert_eq!(params["error"], "access_denied");
    }

    #[tokio::test]
    async fn foreign_state_is_refused_and_the_wait_goes_on() {
        let lb = Loopback::bind(0).await.unwrap();
        let port = lb.port;
        let client = tokio::spawn(async move {
            for forged in [
                "GET /?code=forged&state=other HTTP/1.1\r\n\r\n",
                "GET /?code=forged HTTP/1.1\r\n\r\n",
                "GET /?error=access_denied HTTP/1.1\r\n\r\n",
                "GET /?error=access_denied&state=Mine HTTP/1.1\r\n\r\n",
            ] {
                let r = send(port, forged).await;
                assert!(r.starts_with("HTTP/1.1 400"), "{forged}: {r}");
                assert!(r.contains("not the sign-in you started"), "{r}");
            }
            let r = send(port, "GET /?code=real&state=mine HTTP/1.1\r\n\r\n").await;
            assert!(r.contains("Authentication complete"), "{r}");
        });
        let params = lb.receive("mine").await.unwrap();
        client.await.unwrap();
        assert_eq!(params["code"], "real");
    }

    #[tokio::test]
    async fn a_stalled_connection_does_not_hold_up_the_redirect() {
        let lb = Loopback::bind(0).await.unwrap();
        let port = lb.port;
        let client = tokio::spawn(async move {
            // Half a request head, never finished, kept open while the real one comes.
            let mut stalled = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            stalled.write_all(b"GET /?code=x").await.unwrap();
            let r = send(port, "GET /?code=real&state=s HTTP/1.1\r\n\r\n").await;
            assert!(r.contains("Authentication complete"), "{r}");
            drop(stalled);
        });
        let params = lb.receive("s").await.unwrap();
        client.await.unwrap();
        assert_eq!(params["code"], "real");
    }

    #[test]
    fn heads_parsed_with_httparse() {
        let head = parse_head(b"POST /?a=1 HTTP/1.1\r\nContent-Length: 7\r\n\r\ncode=12")
            .ok()
            .flatten()
            .unwrap();
        assert_eq!(
            (head.method.as_str(), head.target.as_str()),
            ("POST", "/?a=1")
        );
        assert_eq!(head.content_length, 7);
        assert!(matches!(parse_head(b"GET / HTTP/1.1\r\nHost"), Ok(None)));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Err(Refusal::Malformed)
        ));
        assert!(matches!(
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(Refusal::Malformed)
        ));
        let long = format!("GET /{} HTTP/1.1", "a".repeat(MAX_HEAD + 1));
        assert!(matches!(
            parse_head(long.as_bytes()),
            Err(Refusal::TooLarge)
        ));
    }
}
