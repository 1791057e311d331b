//! `oxmsal call URL`: an API called with a token from `token`'s credential
//! options, through oxmsal's bearer-token middleware (a claims challenge is
//! answered once). The response body goes to stdout as it came; the exit code
//! is 0 for a 2xx answer, 1 for any other (its body printed too), and as for
//! `token` when no token could be had or the call failed.

use std::io::{Read as _, Write as _};
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method};
use oxmsal::credential::ClientCredential;
use oxmsal::middleware::BearerAuth;
use oxmsal::provider::TokenProvider;
use oxmsal::{Error, InvalidResponse};
use serde_json::Value;

use crate::args::CallArgs;
use crate::exit::Failure;
use crate::session::Session;
use crate::token_cmd;

/// The largest response body read (larger: exit 3, nothing printed).
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// The largest `--data @FILE` read (larger: exit 2).
pub const MAX_DATA_BYTES: u64 = 16 << 20;

pub async fn run(args: CallArgs) -> Result<Value, Failure> {
    let token = &args.credential;
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::Usage(format!("--method {}: not an HTTP method", args.method)))?;
    let headers = headers(&args.headers)?;
    let body = match &args.data {
        Some(data) => Some(data_bytes(data)?),
        None => None,
    };
    let credential = if token.managed_identity.managed_identity {
        None
    } else {
        token_cmd::credential(token)?
    };
    let session = Session::open(&token.connection).await?;
    let outcome = call(&session, &args, method, headers, body, credential).await;
    let saved = session.save().await;
    let (status, body) = match outcome {
        Ok(answer) => {
            saved?;
            answer
        }
        Err(failure) => return crate::session::settle(Err(failure), saved),
    };
    print_body(&body);
    if status.is_success() {
        Ok(Value::Null)
    } else {
        Err(Failure::Resource(format!(
            "the resource answered HTTP {status}"
        )))
    }
}

/// The provider, the request through the middleware, and the bounded body.
async fn call(
    session: &Session,
    args: &CallArgs,
    method: Method,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    credential: Option<ClientCredential>,
) -> Result<(http::StatusCode, Vec<u8>), Failure> {
    let token = &args.credential;
    let provider: Arc<dyn TokenProvider> = if token.managed_identity.managed_identity {
        let identity = crate::mi_token_cmd::identity(token)?;
        Arc::new(crate::mi_token_cmd::client(session, token, identity)?)
    } else {
        match (
            credential,
            &session.emulator,
            token.connection.client_id.clone(),
        ) {
            (Some(credential), _, Some(client_id)) => Arc::new(token_cmd::confidential_app(
                session, token, client_id, credential,
            )?),
            (None, Some(emu), None) => {
                let demo = emu.register_demo_app();
                let credential = ClientCredential::secret(demo.secret);
                Arc::new(token_cmd::confidential_app(
                    session,
                    token,
                    demo.client_id,
                    credential,
                )?)
            }
            (Some(_), _, None) => return Err(Failure::Usage("--client-id is required".into())),
            (None, _, Some(client_id)) => {
                Arc::new(token_cmd::signed_in_account(session, token, client_id).await?)
            }
            (None, None, None) => return Err(Failure::Usage(token_cmd::NO_CLIENT.into())),
        }
    };
    let url = resolve_url(session, &args.url)?;
    let client = http_client(session)?;
    let client = reqwest_middleware::ClientBuilder::new(client)
        .with(BearerAuth::new(provider, token.scopes.clone()))
        .build();
    let mut request = client.request(method, url).headers(headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    let mut response = request.send().await.map_err(send_failure)?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        Error::transport(
            format!("reading the response body failed: {e}"),
            Some(Box::new(e)),
        )
    })? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(Error::from_invalid_response(InvalidResponse::new(
                status.as_u16(),
                content_type,
                &body,
                format!("the response body is larger than {MAX_RESPONSE_BYTES} bytes"),
            ))
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// A middleware error: oxmsal's own (no token) as it is; a reqwest one as a transport error.
fn send_failure(e: reqwest_middleware::Error) -> Failure {
    match e {
        reqwest_middleware::Error::Middleware(inner) => match inner.downcast::<Error>() {
            Ok(e) => Failure::Library(e),
            Err(other) => Failure::Internal(other.to_string()),
        },
        reqwest_middleware::Error::Reqwest(e) => Failure::Library(Error::transport(
            format!("the request failed: {e}"),
            Some(Box::new(e)),
        )),
    }
}

/// `URL`, or with `--emulator` a path on the emulator.
fn resolve_url(session: &Session, url: &str) -> Result<url::Url, Failure> {
    let text = match &session.emulator {
        Some(emu) if url.starts_with('/') => format!("{}{url}", emu.base_url()),
        _ => url.to_owned(),
    };
    let parsed = url::Url::parse(&text).map_err(|e| Failure::Usage(format!("URL {url}: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(Failure::Usage(format!("URL {url}: not http(s)")));
    }
    Ok(parsed)
}

/// The HTTP client: the system's roots plus `--ca-cert` and the emulator's CA;
/// no redirects (a token must not follow one to another host).
fn http_client(session: &Session) -> Result<reqwest::Client, Failure> {
    let mut roots = Vec::new();
    for pem in session.extra_roots_pem() {
        roots.extend(
            reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Failure::Usage(format!("--ca-cert: not a PEM certificate: {e}")))?,
        );
    }
    reqwest::Client::builder()
        .tls_certs_merge(roots)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure::Internal(format!("cannot build the HTTP client: {e}")))
}

/// `--header 'Name: value'`s.
fn headers(given: &[String]) -> Result<HeaderMap, Failure> {
    let mut headers = HeaderMap::new();
    for header in given {
        let bad = |why: &str| Failure::Usage(format!("--header {header:?}: {why}"));
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| bad("expected 'Name: value'"))?;
        let name =
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad("not a header name"))?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| bad("not a header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// `--data TEXT`, or `@FILE`'s content (at most [`MAX_DATA_BYTES`]).
fn data_bytes(data: &str) -> Result<Vec<u8>, Failure> {
    let Some(path) = data.strip_prefix('@') else {
        return Ok(data.as_bytes().to_vec());
    };
    let bad = |why: String| Failure::Usage(format!("--data @{path}: {why}"));
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_DATA_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > MAX_DATA_BYTES {
        return Err(bad(format!("larger than {MAX_DATA_BYTES} bytes")));
    }
    Ok(bytes)
}

/// The body as it came, with a final newline when it has none.
fn print_body(body: &[u8]) {
    let mut out = std::io::stdout().lock();
    // A closed pipe is the reader's choice; nothing useful to do about it.
    let _ = out.write_all(body);
    if !body.is_empty() && !body.ends_with(b"\n") {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_headers() {
        let h = headers(&["Accept: application/json".into(), "X-A:  b ".into()]).unwrap();
        assert_eq!(h["accept"], "application/json");
        assert_eq!(h["x-a"], "b");
        for bad in ["no colon", ": v", "bad name: v", "k: \u{1}"] {
            assert!(
                matches!(headers(&[bad.into()]), Err(Failure::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_data_bounded() {
        assert_eq!(data_bytes("{\"a\":1}").unwrap(), b"{\"a\":1}");
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"xyz").unwrap();
        assert_eq!(
            data_bytes(&format!("@{}", small.display())).unwrap(),
            b"xyz"
        );
        let big = dir.path().join("big");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_DATA_BYTES + 1).unwrap();
        assert!(matches!(
            data_bytes(&format!("@{}", big.display())),
            Err(Failure::Usage(_))
        ));
        assert!(matches!(
            data_bytes("@/nonexistent/x"),
            Err(Failure::Usage(_))
        ));
    }
}
