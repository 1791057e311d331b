//! A one-shot HTTP listener on 127.0.0.1 that receives the authorization
//! redirect (query or `form_post`) and shows the user a closing page.

use std::collections::HashMap;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Error, Result};

/// Largest request head and body the listener reads.
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 64 * 1024;

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signed in</title></head>\
<body style=\"font-family:sans-serif\"><h1>Authentication complete</h1><p>You can close this window and return to the application.</p></body></html>";
const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
<body style=\"font-family:sans-serif\"><h1>Sign-in did not complete</h1><p>Return to the application for details. You can close this window.</p></body></html>";

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

    /// Serves until a request carries `code` or `error`; other requests (a
    /// favicon) get 404. Returns the parameters of the redirect.
    pub(crate) async fn receive(&self) -> Result<HashMap<String, String>> {
        loop {
            let (stream, _) = match self.listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    return Err(Error::transport(
                        format!("loopback listener failed: {e}"),
                        None,
                    ))
                }
            };
            match handle(stream).await {
                Ok(Some(params)) => return Ok(params),
                Ok(None) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "ignoring a malformed request on the loopback listener");
                    continue;
                }
            }
        }
    }
}

async fn handle(mut stream: TcpStream) -> std::io::Result<Option<HashMap<String, String>>> {
    let mut buf = Vec::with_capacity(2048);
    let head_end = loop {
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > MAX_HEAD {
            respond(&mut stream, "431 Request Header Fields Too Large", "").await?;
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let content_length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut params: HashMap<String, String> = HashMap::new();
    if let Some((_, query)) = target.split_once('?') {
        params.extend(url::form_urlencoded::parse(query.as_bytes()).into_owned());
    }
    if method == "POST" {
        if content_length > MAX_BODY {
            respond(&mut stream, "413 Payload Too Large", "").await?;
            return Ok(None);
        }
        let mut body = buf[head_end..].to_vec();
        while body.len() < content_length {
            let mut chunk = vec![0u8; content_length - body.len()];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    if params.contains_key("code") || params.contains_key("error") {
        let page = if params.contains_key("code") {
            DONE_PAGE
        } else {
            FAILED_PAGE
        };
        respond(&mut stream, "200 OK", page).await?;
        return Ok(Some(params));
    }
    respond(&mut stream, "404 Not Found", "").await?;
    Ok(None)
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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
            assert!(r1.starts_with("HTTP/1.1 404"));
            let r2 = send(port, "garbage\r\n\r\n").await;
            assert!(r2.starts_with("HTTP/1.1 404"));
            let body = "code=abc&state=s%201";
            let r3 = send(
                port,
                &format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                ),
            )
            .await;
            assert!(r3.contains("Authentication complete"));
        });
        let params = lb.receive().await.unwrap();
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
            assert!(r.contains("did not complete"));
        });
        let params = lb.receive().await.unwrap();
        client.await.unwrap();
        assert_eq!(params["error"], "access_denied");
    }
}
