//! The five entry kinds of the unified schema, each as the JSON object it was
//! loaded from (or written as) plus a typed view of the fields oxmsal uses.
//!
//! Keeping the object whole is what makes the cache forward compatible: fields
//! oxmsal does not know (a newer MSAL's, another SDK's), `null` versus absent,
//! numbers versus strings — all are written back exactly as they came. The
//! typed view is parsed once, when the entry enters the cache, so lookups never
//! parse. The `secret` is taken out of the object into a [`Secret`] (redacted,
//! zeroized) and put back in its place when the entry is written.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::fields::{opt_seconds, opt_str, str_or_empty};
use super::scopes;
use crate::Secret;

/// An entry's JSON object, minus its secret, which sits in a [`Secret`] and
/// remembers its position so the object is written back in its original order.
#[derive(Clone, Debug)]
pub(crate) struct Raw {
    fields: Map<String, Value>,
    secret: Option<(usize, Secret)>,
}

impl Raw {
    /// Takes a string `secret` out of `object`; a `secret` of another type stays
    /// in the object (callers reject that before).
    pub(crate) fn new(mut fields: Map<String, Value>) -> Self {
        let secret = match fields.get("secret") {
            Some(Value::String(_)) => {
                let position = fields.keys().position(|k| k == "secret").unwrap_or(0);
                match fields.shift_remove("secret") {
                    // The string moves into the Secret: no copy is left behind.
                    Some(Value::String(s)) => Some((position, Secret::new(s))),
                    _ => None,
                }
            }
            _ => None,
        };
        Raw { fields, secret }
    }

    /// The entry's secret, when it has a string one.
    pub(crate) fn secret(&self) -> Option<&Secret> {
        self.secret.as_ref().map(|(_, s)| s)
    }

    /// Replaces the secret in place (or appends one).
    pub(crate) fn set_secret(&mut self, secret: Secret) {
        let position = self.secret.as_ref().map_or(self.fields.len(), |(p, _)| *p);
        self.secret = Some((position, secret));
    }

    /// Sets a field; an existing one keeps its position.
    pub(crate) fn set(&mut self, name: &str, value: Value) {
        self.fields.insert(name.to_owned(), value);
    }
}

impl Serialize for Raw {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = self.fields.len() + usize::from(self.secret.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        let secret_at = self.secret.as_ref().map(|(p, s)| (*p, s));
        for (position, (name, value)) in self.fields.iter().enumerate() {
            if let Some((p, s)) = secret_at {
                if p == position {
                    map.serialize_entry("secret", s.expose_secret())?;
                }
            }
            map.serialize_entry(name, value)?;
        }
        if let Some((p, s)) = secret_at {
            if p >= self.fields.len() {
                map.serialize_entry("secret", s.expose_secret())?;
            }
        }
        map.end()
    }
}

/// Checks the type of `secret` before [`Raw::new`] takes it out.
fn check_secret(object: &Map<String, Value>) -> Result<(), String> {
    opt_str(object, "secret").map(|_| ())
}

/// `family_id`: a string; a number is taken as its decimal text (the server's
/// `foci` is `"1"`, but nothing is lost by accepting `1`).
fn family_id(object: &Map<String, Value>) -> Result<Option<String>, String> {
    match object.get("family_id") {
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        _ => Ok(opt_str(object, "family_id")?.map(str::to_owned)),
    }
}

/// An `AccessToken` entry.
#[derive(Clone, Debug)]
pub(crate) struct AccessTokenEntry {
    pub(crate) raw: Raw,
    pub(crate) home_account_id: Option<String>,
    pub(crate) environment: String,
    pub(crate) client_id: String,
    pub(crate) realm: String,
    pub(crate) target: String,
    /// `target` normalized for comparisons.
    pub(crate) scopes: Box<[String]>,
    pub(crate) token_type: String,
    pub(crate) cached_at: u64,
    /// 0 when absent: such an entry is expired, never returned.
    pub(crate) expires_on: u64,
    pub(crate) extended_expires_on: Option<u64>,
    pub(crate) refresh_on: Option<u64>,
    pub(crate) ext_cache_key: Option<String>,
}

impl AccessTokenEntry {
    /// Reads an entry of a cache document.
    pub(crate) fn parse(object: Map<String, Value>) -> Result<Self, String> {
        check_secret(&object)?;
        let target = str_or_empty(&object, "target")?;
        // MSAL.NET reads the misspelt `ext_expires_on` of early MSALs too.
        let extended_expires_on = match opt_seconds(&object, "extended_expires_on")? {
            Some(t) => Some(t),
            None => opt_seconds(&object, "ext_expires_on")?,
        };
        Ok(AccessTokenEntry {
            home_account_id: opt_str(&object, "home_account_id")?.map(str::to_owned),
            environment: str_or_empty(&object, "environment")?,
            client_id: str_or_empty(&object, "client_id")?,
            realm: str_or_empty(&object, "realm")?,
            scopes: scopes::normalized(&target),
            target,
            token_type: opt_str(&object, "token_type")?
                .unwrap_or("Bearer")
                .to_owned(),
            cached_at: opt_seconds(&object, "cached_at")?.unwrap_or(0),
            expires_on: opt_seconds(&object, "expires_on")?.unwrap_or(0),
            extended_expires_on,
            refresh_on: opt_seconds(&object, "refresh_on")?,
            ext_cache_key: opt_str(&object, "ext_cache_key")?.map(str::to_owned),
            raw: Raw::new(object),
        })
    }

    /// Whether the token may still be handed out at `now`: at least five minutes
    /// of life left (REFERENCE §4), and a secret to hand out.
    pub(crate) fn usable_at(&self, now: u64) -> bool {
        self.expires_on.saturating_sub(now) >= super::MIN_REMAINING_LIFETIME_SECS
            && self.raw.secret().is_some_and(|s| !s.is_empty())
    }
}

/// A `RefreshToken` entry.
#[derive(Clone, Debug)]
pub(crate) struct RefreshTokenEntry {
    pub(crate) raw: Raw,
    pub(crate) home_account_id: Option<String>,
    pub(crate) environment: String,
    pub(crate) client_id: String,
    pub(crate) target: String,
    pub(crate) scopes: Box<[String]>,
    /// 0 when absent (the field is optional in the schema): oldest.
    pub(crate) last_modification_time: u64,
    pub(crate) family_id: Option<String>,
}

impl RefreshTokenEntry {
    /// Reads an entry of a cache document.
    pub(crate) fn parse(object: Map<String, Value>) -> Result<Self, String> {
        check_secret(&object)?;
        let target = str_or_empty(&object, "target")?;
        Ok(RefreshTokenEntry {
            home_account_id: opt_str(&object, "home_account_id")?.map(str::to_owned),
            environment: str_or_empty(&object, "environment")?,
            client_id: str_or_empty(&object, "client_id")?,
            scopes: scopes::normalized(&target),
            target,
            last_modification_time: opt_seconds(&object, "last_modification_time")?.unwrap_or(0),
            family_id: family_id(&object)?,
            raw: Raw::new(object),
        })
    }
}

/// An `IdToken` entry.
#[derive(Clone, Debug)]
pub(crate) struct IdTokenEntry {
    pub(crate) raw: Raw,
    pub(crate) home_account_id: Option<String>,
    pub(crate) environment: String,
    pub(crate) realm: String,
    pub(crate) client_id: String,
}

impl IdTokenEntry {
    /// Reads an entry of a cache document.
    pub(crate) fn parse(object: Map<String, Value>) -> Result<Self, String> {
        check_secret(&object)?;
        Ok(IdTokenEntry {
            home_account_id: opt_str(&object, "home_account_id")?.map(str::to_owned),
            environment: str_or_empty(&object, "environment")?,
            realm: str_or_empty(&object, "realm")?,
            client_id: str_or_empty(&object, "client_id")?,
            raw: Raw::new(object),
        })
    }
}

/// An `Account` entry.
#[derive(Clone, Debug)]
pub(crate) struct AccountEntry {
    pub(crate) raw: Raw,
    pub(crate) home_account_id: String,
    pub(crate) environment: String,
    pub(crate) realm: String,
    pub(crate) local_account_id: Option<String>,
    pub(crate) username: String,
    pub(crate) authority_type: String,
    pub(crate) account_source: Option<String>,
}

impl AccountEntry {
    /// Reads an entry of a cache document.
    pub(crate) fn parse(object: Map<String, Value>) -> Result<Self, String> {
        Ok(AccountEntry {
            home_account_id: str_or_empty(&object, "home_account_id")?,
            environment: str_or_empty(&object, "environment")?,
            realm: str_or_empty(&object, "realm")?,
            local_account_id: opt_str(&object, "local_account_id")?.map(str::to_owned),
            username: str_or_empty(&object, "username")?,
            authority_type: str_or_empty(&object, "authority_type")?,
            account_source: opt_str(&object, "account_source")?.map(str::to_owned),
            raw: Raw::new(object),
        })
    }

    /// The public view.
    pub(crate) fn to_account(&self) -> super::Account {
        super::Account {
            home_account_id: self.home_account_id.clone(),
            environment: self.environment.clone(),
            realm: self.realm.clone(),
            local_account_id: self.local_account_id.clone(),
            username: self.username.clone(),
            authority_type: self.authority_type.clone(),
            account_source: self.account_source.clone(),
        }
    }
}

/// An `AppMetadata` entry.
#[derive(Clone, Debug)]
pub(crate) struct AppMetadataEntry {
    pub(crate) raw: Raw,
    pub(crate) client_id: String,
    pub(crate) environment: String,
    pub(crate) family_id: Option<String>,
}

impl AppMetadataEntry {
    /// Reads an entry of a cache document.
    pub(crate) fn parse(object: Map<String, Value>) -> Result<Self, String> {
        Ok(AppMetadataEntry {
            client_id: str_or_empty(&object, "client_id")?,
            environment: str_or_empty(&object, "environment")?,
            family_id: family_id(&object)?,
            raw: Raw::new(object),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_puts_the_secret_back_where_it_was() {
        let object =
            json!({"credential_type": "AccessToken", "secret": "s3cret", "x": null, "y": 1});
        let raw = Raw::new(object.as_object().unwrap().clone());
        assert!(!format!("{raw:?}").contains("s3cret"));
        assert_eq!(serde_json::to_string(&raw).unwrap(), object.to_string());

        let mut raw = raw;
        raw.set_secret(Secret::new("new"));
        raw.set("y", json!(2));
        assert_eq!(
            serde_json::to_string(&raw).unwrap(),
            r#"{"credential_type":"AccessToken","secret":"new","x":null,"y":2}"#
        );
    }

    #[test]
    fn a_secret_at_the_end_and_a_missing_one() {
        let object = json!({"a": 1, "secret": "s"});
        let raw = Raw::new(object.as_object().unwrap().clone());
        assert_eq!(serde_json::to_string(&raw).unwrap(), object.to_string());
        let object = json!({"a": 1});
        let raw = Raw::new(object.as_object().unwrap().clone());
        assert!(raw.secret().is_none());
        assert_eq!(serde_json::to_string(&raw).unwrap(), object.to_string());
    }

    #[test]
    fn typed_views_reject_wrong_types() {
        let at = |v: Value| AccessTokenEntry::parse(v.as_object().unwrap().clone());
        assert!(at(json!({"secret": 5})).unwrap_err().contains("`secret`"));
        assert!(at(json!({"realm": ["t"]})).unwrap_err().contains("`realm`"));
        assert!(at(json!({"expires_on": "tomorrow"}))
            .unwrap_err()
            .contains("`expires_on`"));
        let ok = at(json!({"expires_on": 100, "target": "B a"})).unwrap();
        assert_eq!(
            (ok.expires_on, ok.cached_at, ok.token_type.as_str()),
            (100, 0, "Bearer")
        );
        assert_eq!(&*ok.scopes, ["a".to_owned(), "b".to_owned()]);
    }
}
