//! PEM (RFC 7468) for certificates and keys, through `pem-rfc7468`, which
//! reads one block; what this module adds is finding every block of a label in
//! a text that holds several (a chain, or a key beside its certificate).

use pem_rfc7468::{Decoder, LineEnding};

/// Wraps DER in a PEM block with the given label, 64 columns per line.
pub(crate) fn encode(label: &str, der: &[u8]) -> Result<String, String> {
    pem_rfc7468::encode_string(label, LineEnding::LF, der)
        .map_err(|e| format!("PEM block '{label}' cannot be written: {e}"))
}

/// The DER contents of every PEM block labelled `label` in `text`, in order.
pub(crate) fn decode_all(text: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let from_begin = &rest[start..];
        let Some(end_at) = from_begin.find(&end) else {
            return Err(format!("PEM block '{label}' has no END line"));
        };
        let (block, after) = from_begin.split_at(end_at + end.len());
        out.push(decode_block(block).map_err(|e| format!("PEM block '{label}': {e}"))?);
        rest = after;
    }
    Ok(out)
}

/// The DER of one block, from its BEGIN line to its END line; base64 lines of
/// any one width (other tools than this one wrap at 76 or 72).
fn decode_block(block: &str) -> Result<Vec<u8>, pem_rfc7468::Error> {
    let mut der = Vec::new();
    Decoder::new_detect_wrap(block.as_bytes())?.decode_to_end(&mut der)?;
    Ok(der)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn round_trips() {
        let der: Vec<u8> = (0..=255u8).cycle().take(500).collect();
        let pem = encode("CERTIFICATE", &der).unwrap();
        assert!(pem.lines().all(|l| l.len() <= 64));
        let twice = format!("junk\n{pem}{pem}");
        assert_eq!(
            decode_all(&twice, "CERTIFICATE").unwrap(),
            vec![der.clone(), der]
        );
        assert!(decode_all("-----BEGIN CERTIFICATE-----\nAAAA", "CERTIFICATE").is_err());
    }

    #[test]
    fn reads_other_labels_widths_and_line_ends_and_rejects_bad_base64() {
        let der: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let key = encode("PRIVATE KEY", &[1, 2, 3]).unwrap();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        let wide = format!(
            "-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
            lines.join("\r\n")
        );
        let text = format!("{key}{wide}");
        assert_eq!(decode_all(&text, "CERTIFICATE").unwrap(), vec![der]);
        assert_eq!(
            decode_all(&text, "PRIVATE KEY").unwrap(),
            vec![vec![1, 2, 3]]
        );
        let bad = "-----BEGIN CERTIFICATE-----\nAA!A\n-----END CERTIFICATE-----\n";
        let e = decode_all(bad, "CERTIFICATE").unwrap_err();
        assert!(e.contains("'CERTIFICATE'"), "{e}");
    }
}
