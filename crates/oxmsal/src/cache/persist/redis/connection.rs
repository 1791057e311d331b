//! One lazily opened, shared Redis connection, replaced after any failure.
//!
//! Not redis' `ConnectionManager`: that one retries connecting several times
//! with backoff inside each command and needs a runtime when it is created,
//! while a token cache wants the opposite — a store built anywhere without
//! network, and a call that fails fast when Redis is away so the app can serve
//! from memory. So: connect on first use, share the multiplexed connection
//! (it pipelines concurrent commands), drop it on any error, and after a
//! failed connect do not try again for [`RECONNECT_DELAY`].

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, RedisError, Script};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::error::{Error, Result};
use crate::secret::{Secret, WipedString};

/// After a failed connect, calls fail at once for this long instead of each
/// waiting on a server that just refused or timed out.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Reads each of KEYS unless it is longer than ARGV[1] bytes: per key its
/// value, nil when absent, or its length when over the cap — so a value
/// over the cap never crosses the wire or takes memory here.
const BOUNDED_GET: &str = r"
local out = {}
local cap = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local n = redis.call('STRLEN', key)
  if n > cap then out[i] = n else out[i] = redis.call('GET', key) end
end
return out
";

/// A value read under a size cap.
#[derive(Debug)]
pub(super) enum Fetched {
    /// The value.
    Value(String),
    /// Not read: it is this many bytes, over the cap.
    TooLarge(u64),
}

/// A Redis failure, its text already scrubbed of the password.
#[derive(Debug)]
pub(super) struct Failure(String);

impl Failure {
    /// Other writers kept changing the partition between our read and write.
    pub(super) fn contention(attempts: u32) -> Self {
        Failure(format!(
            "gave up after {attempts} attempts: other writers kept changing the partition"
        ))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Default)]
struct State {
    /// The live connection and its generation.
    conn: Option<(MultiplexedConnection, u64)>,
    generation: u64,
    /// No connect before this.
    retry_at: Option<Instant>,
}

pub(super) struct Connector {
    client: Client,
    config: AsyncConnectionConfig,
    timeout: Duration,
    /// The URL with its password replaced, for logs, errors and `Debug`.
    redacted: String,
    /// The password as written in the URL and decoded: scrubbed from any text
    /// coming out of the redis crate, in case one ever echoes it.
    secrets: Vec<String>,
    /// Values longer than this many bytes are not read (see [`BOUNDED_GET`]).
    max_value: usize,
    bounded_get: Script,
    state: tokio::sync::Mutex<State>,
}

impl Connector {
    /// Parses `url` and prepares the client; no network.
    pub(super) fn new(
        url: &str,
        timeout: Duration,
        extra_root_pem: Option<&[u8]>,
        max_value: usize,
    ) -> Result<Self> {
        // url's messages never contain the input, which may hold a password.
        let parsed = Url::parse(url)
            .map_err(|e| Error::configuration(format!("the Redis URL is not valid: {e}")))?;
        let secrets = password_forms(&parsed);
        let redacted = redact(&parsed);
        let scrub = |e: RedisError| scrub_text(&e.to_string(), &secrets);
        let client = match (parsed.scheme(), extra_root_pem) {
            ("redis", None) => Client::open(parsed.as_str()),
            ("redis", Some(_)) => {
                return Err(Error::configuration(format!(
                    "a root certificate for Redis needs a rediss:// URL, not {redacted}"
                )))
            }
            ("rediss", roots) => {
                if let Some(pem) = roots {
                    check_root_pem(pem)?;
                }
                choose_crypto_provider();
                tls_client(&parsed, roots)
            }
            _ => {
                return Err(Error::configuration(format!(
                    "a Redis cache URL starts with redis:// or rediss://, not {redacted}"
                )))
            }
        }
        .map_err(|e| {
            Error::configuration(format!("cannot use the Redis URL {redacted}: {}", scrub(e)))
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        Ok(Connector {
            client,
            config,
            timeout,
            redacted,
            secrets,
            max_value,
            bounded_get: Script::new(BOUNDED_GET),
            state: tokio::sync::Mutex::default(),
        })
    }

    /// The URL without its password.
    pub(super) fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// `GET key`, unless the value is over the cap.
    pub(super) async fn get(&self, key: &str) -> Result<Option<Fetched>, Failure> {
        Ok(self.get_many(&[key]).await?.pop().flatten())
    }

    /// The values of `keys`, in order ([`BOUNDED_GET`]).
    async fn get_many<K: AsRef<str>>(&self, keys: &[K]) -> Result<Vec<Option<Fetched>>, Failure> {
        let (mut conn, generation) = self.connection().await?;
        let mut invocation = self.bounded_get.prepare_invoke();
        for key in keys {
            invocation.key(key.as_ref());
        }
        invocation.arg(self.max_value);
        let outcome = tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<Vec<::redis::Value>>(&mut conn),
        )
        .await;
        let replies = self.settle(outcome, generation).await?;
        replies
            .into_iter()
            .map(|reply| self.fetched(reply))
            .collect()
    }

    /// One reply of [`BOUNDED_GET`].
    fn fetched(&self, reply: ::redis::Value) -> Result<Option<Fetched>, Failure> {
        use ::redis::Value;
        match reply {
            Value::Nil => Ok(None),
            Value::Int(n) => Ok(Some(Fetched::TooLarge(u64::try_from(n).unwrap_or(0)))),
            Value::BulkString(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Some(Fetched::Value(text))),
                Err(_) => Err(Failure(format!(
                    "Redis at {} holds a value that is not UTF-8 text",
                    self.redacted
                ))),
            },
            _ => Err(Failure(format!(
                "Redis at {} answered a read with an unexpected reply",
                self.redacted
            ))),
        }
    }

    /// The values of every key starting with `prefix` but those in `except`
    /// (SCAN, then reads in batches under the cap; a key that expires in
    /// between is skipped).
    pub(super) async fn values_with_prefix(
        &self,
        prefix: &str,
        except: &[String],
    ) -> Result<Vec<Fetched>, Failure> {
        let pattern = format!("{}*", glob_escape(prefix));
        let mut keys: Vec<String> = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (mut conn, generation) = self.connection().await?;
            let cmd = ::redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .clone();
            let outcome = tokio::time::timeout(self.timeout, cmd.query_async(&mut conn)).await;
            let (next, batch): (u64, Vec<String>) = self.settle(outcome, generation).await?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        // SCAN may return a key twice.
        keys.sort_unstable();
        keys.dedup();
        keys.retain(|key| !except.contains(key));
        let mut values = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            values.extend(self.get_many(chunk).await?.into_iter().flatten());
        }
        Ok(values)
    }

    /// Runs the compare-and-set `script` (see the parent module): `true` when
    /// it wrote, `false` when the key changed since it was read.
    pub(super) async fn compare_and_set(
        &self,
        script: &Script,
        key: &str,
        seen_digest: &str,
        value: &str,
        ttl_secs: u64,
    ) -> Result<bool, Failure> {
        let (mut conn, generation) = self.connection().await?;
        let mut invocation = script.prepare_invoke();
        invocation
            .key(key)
            .arg(seen_digest)
            .arg(value)
            .arg(ttl_secs);
        let outcome =
            tokio::time::timeout(self.timeout, invocation.invoke_async::<i64>(&mut conn)).await;
        self.settle(outcome, generation)
            .await
            .map(|wrote| wrote == 1)
    }

    /// Turns a command's outcome into a result, dropping the connection on any
    /// failure: after a timeout or a server error its state is unknown, and
    /// reconnecting costs one round trip.
    async fn settle<T>(
        &self,
        outcome: std::result::Result<::redis::RedisResult<T>, tokio::time::error::Elapsed>,
        generation: u64,
    ) -> Result<T, Failure> {
        let failure = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => self.failure(&e),
            Err(_) => self.timed_out(),
        };
        let mut state = self.state.lock().await;
        // Only the connection that failed: another task may have replaced it.
        if state.conn.as_ref().is_some_and(|(_, g)| *g == generation) {
            state.conn = None;
        }
        Err(failure)
    }

    /// The shared connection, opened when there is none. The lock is held while
    /// connecting so that a burst of calls opens one connection, not one each.
    async fn connection(&self) -> Result<(MultiplexedConnection, u64), Failure> {
        let mut state = self.state.lock().await;
        if let Some((conn, generation)) = &state.conn {
            return Ok((conn.clone(), *generation));
        }
        if state.retry_at.is_some_and(|at| Instant::now() < at) {
            return Err(Failure(format!(
                "Redis at {} was unreachable moments ago; not retrying yet",
                self.redacted
            )));
        }
        let connect = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config);
        let failure = match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(conn)) => {
                state.generation = state.generation.wrapping_add(1);
                state.conn = Some((conn.clone(), state.generation));
                state.retry_at = None;
                return Ok((conn, state.generation));
            }
            Ok(Err(e)) => self.failure(&e),
            Err(_) => self.timed_out(),
        };
        state.retry_at = Instant::now().checked_add(RECONNECT_DELAY);
        Err(failure)
    }

    fn failure(&self, e: &RedisError) -> Failure {
        Failure(format!(
            "Redis at {}: {}",
            self.redacted,
            scrub_text(&e.to_string(), &self.secrets)
        ))
    }

    fn timed_out(&self) -> Failure {
        Failure(format!(
            "Redis at {} did not answer within {} ms",
            self.redacted,
            self.timeout.as_millis()
        ))
    }
}

/// `url` with `password` put in (percent-encoded, as the URL form wants),
/// for a password given apart from the URL. A URL holding one already is a
/// configuration error: which of the two was meant cannot be told.
pub(super) fn with_password(url: &str, password: &Secret) -> Result<WipedString> {
    let mut parsed = Url::parse(url)
        .map_err(|e| Error::configuration(format!("the Redis URL is not valid: {e}")))?;
    if parsed.password().is_some() {
        return Err(Error::configuration(format!(
            "the Redis URL {} holds a password and another one was given apart from it: give it once",
            redact(&parsed)
        )));
    }
    // Every byte but the unreserved ones escaped: url's setter leaves `%`
    // as it is, so a password holding `%20` would otherwise reach Redis as
    // a space.
    let encoded = WipedString::new(percent_encode_all(password.expose_secret()));
    if parsed.set_password(Some(&encoded)).is_err() {
        return Err(Error::configuration(format!(
            "the Redis URL {} cannot carry a password",
            redact(&parsed)
        )));
    }
    Ok(WipedString::new(parsed.to_string()))
}

/// The bytes a URL's userinfo must not carry as they are: all but RFC 3986's
/// unreserved ones (ASCII alphanumerics and `-._~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` with every byte but RFC 3986's unreserved ones percent-encoded.
fn percent_encode_all(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// The URL as it may be shown: the password, if any, replaced by `***`.
pub(super) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() && shown.set_password(Some("***")).is_err() {
        // A URL that cannot carry a password cannot have one either; but if
        // it somehow does, show none of it.
        return format!("{}://(redacted)", url.scheme());
    }
    shown.to_string()
}

/// `prefix` as a literal in a SCAN MATCH pattern.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn password_forms(url: &Url) -> Vec<String> {
    let Some(raw) = url.password().filter(|p| !p.is_empty()) else {
        return Vec::new();
    };
    let mut forms = vec![raw.to_owned()];
    if let Ok(decoded) = percent_decode(raw) {
        if decoded != raw {
            forms.push(decoded);
        }
    }
    forms
}

/// The percent-decoded text of a URL part (the url crate leaves userinfo
/// encoded); a `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> std::result::Result<String, std::str::Utf8Error> {
    percent_decode_str(s).decode_utf8().map(Cow::into_owned)
}

fn scrub_text(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_owned(), |t, secret| {
        t.replace(secret.as_str(), "***")
    })
}

/// rustls needs one crypto provider per process and panics when it cannot tell
/// which (two provider features enabled by different crates, none installed).
/// oxmsal uses aws-lc-rs everywhere; installing it is a no-op when the
/// application already installed one.
fn choose_crypto_provider() {
    // Err means a provider is installed already: that one is used.
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Refuses a root-certificate PEM with no certificate in it: redis would
/// silently trust nothing extra, and the TLS failure would come much later.
fn check_root_pem(pem: &[u8]) -> Result<()> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::CertificateDer;
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        cert.map_err(|e| {
            Error::configuration(format!("the Redis root certificate is not valid PEM: {e}"))
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(Error::configuration(
            "the Redis root certificate PEM holds no certificate",
        ));
    }
    Ok(())
}

/// A `rediss://` client trusting the system's roots plus `extra_root_pem`.
fn tls_client(url: &Url, extra_root_pem: Option<&[u8]>) -> ::redis::RedisResult<Client> {
    let Some(extra) = extra_root_pem else {
        // redis loads the system's roots itself.
        return Client::open(url.as_str());
    };
    // redis trusts *only* the PEM it is given, so the system's roots go first.
    let mut roots = native_roots_pem();
    roots.extend_from_slice(extra);
    let with_system = ::redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(roots),
    };
    Client::build_with_tls(url.as_str(), with_system).or_else(|_| {
        // One system certificate rustls cannot take as an anchor fails the whole
        // set; the extra CA alone is what the caller asked for.
        let extra_only = ::redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(extra.to_vec()),
        };
        Client::build_with_tls(url.as_str(), extra_only)
    })
}

/// The system's root certificates as PEM (empty when none can be read).
fn native_roots_pem() -> Vec<u8> {
    use base64::Engine as _;
    let mut pem = Vec::new();
    for cert in rustls_native_certs::load_native_certs().certs {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    pem
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passwords_are_redacted_in_every_form() {
        let url = Url::parse("redis://user:p%40ss@cache.example:6380/2").unwrap();
        assert_eq!(redact(&url), "redis://user:***@cache.example:6380/2");
        let forms = password_forms(&url);
        assert_eq!(forms, ["p%40ss", "p@ss"]);
        assert_eq!(
            scrub_text("auth p@ss and p%40ss", &forms),
            "auth *** and ***"
        );
        let url = Url::parse("rediss://:only@h/0").unwrap();
        assert_eq!(redact(&url), "rediss://:***@h/0");
        let url = Url::parse("redis://h:1/0").unwrap();
        assert_eq!(redact(&url), "redis://h:1/0");
        assert!(password_forms(&url).is_empty());
    }

    #[test]
    fn scan_patterns_match_the_prefix_literally() {
        assert_eq!(glob_escape("oxmsal:"), "oxmsal:");
        assert_eq!(glob_escape(r"a*b?[c]\d"), r"a\*b\?\[c\]\\d");
    }

    #[test]
    fn percent_decoding_tolerates_stray_percents() {
        assert_eq!(percent_decode("a%2").unwrap(), "a%2");
        assert_eq!(percent_decode("%zz%41").unwrap(), "%zzA");
    }

    #[test]
    fn a_password_apart_is_escaped_into_the_url_and_round_trips() {
        let url = with_password("redis://user@h:6379/0", &Secret::new("a%20b@c:d/é")).unwrap();
        let parsed = Url::parse(&url).unwrap();
        assert_eq!(parsed.username(), "user");
        let raw = parsed.password().unwrap();
        assert_eq!(percent_decode(raw).unwrap(), "a%20b@c:d/é");
        assert_eq!(percent_encode_all("aZ09-._~ %"), "aZ09-._~%20%25");
        let twice = with_password("redis://:pw@h/0", &Secret::new("other"))
            .err()
            .unwrap();
        assert_eq!(twice.kind(), crate::error::ErrorKind::Configuration);
        assert!(!twice.to_string().contains("pw@"), "{twice}");
    }

    #[test]
    fn bad_urls_do_not_echo_the_password() {
        let e = Connector::new("http://u:hunter22@h/0", Duration::from_secs(1), None, 1024)
            .err()
            .unwrap();
        assert_eq!(e.kind(), crate::error::ErrorKind::Configuration);
        assert!(!e.to_string().contains("hunter22"), "{e}");
        let e = Connector::new(
            "redis://u:hunter22@h:99999999/0",
            Duration::from_secs(1),
            None,
            1024,
        )
        .err()
        .unwrap();
        assert!(!e.to_string().contains("hunter22"), "{e}");
        let pem = b"not a pem".as_slice();
        let e = Connector::new(
            "redis://u:hunter22@h/0",
            Duration::from_secs(1),
            Some(pem),
            1024,
        )
        .err()
        .unwrap();
        assert!(!e.to_string().contains("hunter22"), "{e}");
        let e = Connector::new(
            "rediss://u:hunter22@h/0",
            Duration::from_secs(1),
            Some(pem),
            1024,
        )
        .err()
        .unwrap();
        assert_eq!(e.kind(), crate::error::ErrorKind::Configuration);
        assert!(e.to_string().contains("no certificate"), "{e}");
    }
}
