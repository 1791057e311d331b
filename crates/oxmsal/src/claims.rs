//! Claims requests: Conditional Access challenges and client capabilities.
//!
//! A resource that wants more (MFA, a compliant device, a fresh token after a
//! revocation) answers 401 with a claims challenge. The app passes it to the next
//! token request; oxmsal merges in the app's client capabilities (`CP1`: "I can
//! handle claims challenges") the way every MSAL does (Microsoft Learn, "Claims challenges, claims
//! requests and client capabilities").

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Builds the `claims` request parameter: the challenge JSON (if any) with
/// `{"access_token":{"xms_cc":{"values":[capabilities…]}}}` merged in. An existing
/// `xms_cc` is replaced; without capabilities the challenge passes unchanged.
/// `None` when there is neither.
///
/// ```
/// use oxmsal::claims::merge_claims;
/// let merged = merge_claims(Some(r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#), &["CP1".into()]).unwrap().unwrap();
/// let v: serde_json::Value = serde_json::from_str(&merged).unwrap();
/// assert_eq!(v["access_token"]["xms_cc"]["values"][0], "CP1");
/// assert_eq!(v["access_token"]["nbf"]["essential"], true);
/// assert_eq!(merge_claims(None, &[]).unwrap(), None);
/// assert!(merge_claims(Some("not json"), &[]).is_err());
/// ```
pub fn merge_claims(challenge: Option<&str>, capabilities: &[String]) -> Result<Option<String>> {
    let mut root = match challenge.map(str::trim).filter(|c| !c.is_empty()) {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(Error::configuration(
                    "the claims challenge is JSON but not an object",
                ))
            }
            Err(e) => {
                return Err(Error::configuration(format!(
                    "the claims challenge is not JSON: {e}"
                )))
            }
        },
        None if capabilities.is_empty() => return Ok(None),
        None => Map::new(),
    };
    if capabilities.is_empty() {
        return Ok(Some(Value::Object(root).to_string()));
    }
    let access_token = root
        .entry("access_token")
        .or_insert_with(|| Value::Object(Map::new()));
    if !access_token.is_object() {
        return Err(Error::configuration(
            "the claims challenge's `access_token` member is not an object",
        ));
    }
    if let Value::Object(at) = access_token {
        let values = capabilities.iter().cloned().map(Value::from).collect();
        let mut xms_cc = Map::new();
        xms_cc.insert("values".into(), Value::Array(values));
        at.insert("xms_cc".into(), Value::Object(xms_cc));
    }
    Ok(Some(Value::Object(root).to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn capabilities_alone_make_a_claims_request() {
        let c = merge_claims(None, &["CP1".into()]).unwrap().unwrap();
        assert_eq!(c, r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#);
    }

    #[test]
    fn existing_xms_cc_is_replaced_and_id_token_kept() {
        let c = merge_claims(
            Some(r#"{"id_token":{"auth_time":{"essential":true}},"access_token":{"xms_cc":{"values":["old"]}}}"#),
            &["CP1".into(), "CP2".into()],
        )
        .unwrap()
        .unwrap();
        let v: Value = serde_json::from_str(&c).unwrap();
        assert_eq!(
            v["access_token"]["xms_cc"]["values"],
            serde_json::json!(["CP1", "CP2"])
        );
        assert_eq!(v["id_token"]["auth_time"]["essential"], true);
    }

    #[test]
    fn challenge_without_capabilities_passes_as_is() {
        let c = merge_claims(
            Some(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#),
            &[],
        )
        .unwrap();
        assert_eq!(
            c.as_deref(),
            Some(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#)
        );
    }

    #[test]
    fn non_object_access_token_is_an_error() {
        assert!(merge_claims(Some(r#"{"access_token":5}"#), &["CP1".into()]).is_err());
        assert!(merge_claims(Some("[1]"), &[]).is_err());
    }

    mod properties {
        #![allow(clippy::unwrap_used)]
        use super::super::merge_claims;
        use proptest::prelude::*;
        use serde_json::{json, Map, Value};

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                any::<bool>().prop_map(Value::from),
                "[a-z0-9]{0,8}".prop_map(Value::from),
                (0u32..2_000_000_000).prop_map(Value::from),
            ]
        }

        fn claim_requests() -> impl Strategy<Value = Map<String, Value>> {
            prop::collection::btree_map(
                "[a-z_]{1,8}",
                prop::collection::btree_map("[a-z]{1,6}", leaf(), 0..3),
                0..4,
            )
            .prop_map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, Value::Object(v.into_iter().collect())))
                    .collect()
            })
        }

        proptest! {
            /// Merging keeps every claim of the challenge except `access_token.xms_cc`,
            /// which becomes exactly the capabilities; merging twice changes nothing.
            #[test]
            fn merge_keeps_the_challenge_and_sets_capabilities(
                id_token in claim_requests(),
                access_token in claim_requests(),
                caps in prop::collection::vec("CP[0-9]", 1..3),
            ) {
                let challenge = json!({"id_token": id_token, "access_token": access_token});
                let merged = merge_claims(Some(&challenge.to_string()), &caps).unwrap().unwrap();
                let v: Value = serde_json::from_str(&merged).unwrap();
                prop_assert_eq!(&v["id_token"], &challenge["id_token"]);
                for (k, val) in challenge["access_token"].as_object().unwrap() {
                    if k != "xms_cc" {
                        prop_assert_eq!(&v["access_token"][k], val);
                    }
                }
                prop_assert_eq!(&v["access_token"]["xms_cc"]["values"], &json!(caps));
                let again = merge_claims(Some(&merged), &caps).unwrap().unwrap();
                prop_assert_eq!(serde_json::from_str::<Value>(&again).unwrap(), v);
            }

            /// Any text: an error value or a JSON object, never a panic.
            #[test]
            fn arbitrary_text_never_panics(text in ".{0,64}", caps in prop::collection::vec("CP1", 0..2)) {
                if let Ok(Some(out)) = merge_claims(Some(&text), &caps) {
                    prop_assert!(serde_json::from_str::<Value>(&out).unwrap().is_object());
                }
            }
        }
    }
}
