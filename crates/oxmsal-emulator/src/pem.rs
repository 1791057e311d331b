//! Minimal PEM reading and writing (RFC 7468), enough for certificates and keys.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Wraps DER in a PEM block with the given label, 64 columns per line.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The DER contents of every PEM block labelled `label` in `text`, in order.
pub(crate) fn decode_all(text: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let body_start = start + begin.len();
        let Some(body_len) = rest[body_start..].find(&end) else {
            return Err(format!("PEM block '{label}' has no END line"));
        };
        let body: String = rest[body_start..body_start + body_len]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("PEM block '{label}' is not base64: {e}"))?;
        out.push(der);
        rest = &rest[body_start + body_len + end.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn round_trips() {
        let der: Vec<u8> = (0..=255u8).cycle().take(500).collect();
        let pem = encode("CERTIFICATE", &der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let twice = format!("junk\n{pem}{pem}");
        assert_eq!(
            decode_all(&twice, "CERTIFICATE").unwrap(),
            vec![der.clone(), der]
        );
        assert!(decode_all("-----BEGIN CERTIFICATE-----\nAAAA", "CERTIFICATE").is_err());
    }
}
