//! The `claims` request parameter (OIDC Core §5.5): what the emulator reads from it.

use serde_json::Value;

use crate::errors::AadError;

/// Client capabilities asked for in `{"access_token": {"xms_cc": {"values": [...]}}}`,
/// which Entra copies into the access token's `xms_cc` claim. `Ok(None)` when there
/// is no `claims` parameter or it asks for none.
pub(crate) fn client_capabilities(claims: Option<&str>) -> Result<Option<Vec<Value>>, AadError> {
    let Some(text) = claims else {
        return Ok(None);
    };
    let parsed: Value =
        serde_json::from_str(text).map_err(|e| AadError::invalid_claims(&e.to_string()))?;
    let Value::Object(request) = parsed else {
        return Err(AadError::invalid_claims("the value is not a JSON object"));
    };
    let values = request
        .get("access_token")
        .and_then(|at| at.get("xms_cc"))
        .and_then(|cc| cc.get("values"))
        .and_then(Value::as_array)
        .cloned();
    Ok(values.filter(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_capabilities() {
        assert_eq!(client_capabilities(None).unwrap(), None);
        assert_eq!(
            client_capabilities(Some(
                r#"{"access_token":{"xms_cc":{"values":["CP1","x"]}}}"#
            ))
            .unwrap(),
            Some(vec![json!("CP1"), json!("x")])
        );
        assert_eq!(
            client_capabilities(Some(r#"{"access_token":{"nbf":{"essential":true}}}"#)).unwrap(),
            None
        );
        assert_eq!(client_capabilities(Some("{")).unwrap_err().code, 50117);
        assert_eq!(client_capabilities(Some("[1]")).unwrap_err().code, 50117);
    }
}
