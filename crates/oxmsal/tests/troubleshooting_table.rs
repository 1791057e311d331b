//! `docs/TROUBLESHOOTING.md` and `oxmsal::action::aadsts_table()` say the same
//! thing, and `recommend` follows the table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use oxmsal::action::{aadsts_table, lookup_aadsts, recommend, ActionKind};
use oxmsal::{Error, ServiceError};

const DOC: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/TROUBLESHOOTING.md"
));
const HEADER: [&str; 5] = ["Code", "Name", "Meaning", "Typical cause", "oxmsal action"];

fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner
        .split('|')
        .map(|c| c.trim().trim_matches('`').to_owned())
        .collect()
}

/// The document's one table: code → (name, action name).
fn doc_rows() -> BTreeMap<u64, (String, String)> {
    let lines: Vec<&str> = DOC.lines().collect();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with('|') && cells(lines[i]) == HEADER)
        .collect();
    assert_eq!(
        headers.len(),
        1,
        "exactly one AADSTS table with the columns {HEADER:?}"
    );
    let tables = lines
        .iter()
        .zip(std::iter::once("").chain(lines.iter().copied()))
        .filter(|(line, previous)| {
            line.trim_start().starts_with('|') && !previous.trim_start().starts_with('|')
        })
        .count();
    assert_eq!(tables, 1, "the document has one markdown table");

    let mut rows = BTreeMap::new();
    let body = lines[headers[0] + 1..]
        .iter()
        .take_while(|l| l.trim_start().starts_with('|'));
    for (i, line) in body.enumerate() {
        let cells = cells(line);
        assert_eq!(cells.len(), HEADER.len(), "row {line:?}");
        if i == 0 {
            assert!(
                cells
                    .iter()
                    .all(|c| c.chars().all(|ch| ch == '-' || ch == ':')),
                "separator {line:?}"
            );
            continue;
        }
        let code: u64 = cells[0]
            .trim_start_matches("AADSTS")
            .parse()
            .unwrap_or_else(|_| panic!("bad code in {line:?}"));
        assert!(
            cells[2..4].iter().all(|c| !c.is_empty()),
            "empty cell in {line:?}"
        );
        let previous = rows.insert(code, (cells[1].clone(), cells[4].clone()));
        assert!(previous.is_none(), "{code} appears twice");
    }
    rows
}

/// An `error` a server could plausibly send with a code leading to `action`.
fn plausible_error(action: ActionKind) -> &'static str {
    match action {
        ActionKind::FixConfiguration => "invalid_request",
        ActionKind::RetryAfter => "temporarily_unavailable",
        _ => "invalid_grant",
    }
}

#[test]
fn every_row_matches_the_table() {
    let rows = doc_rows();
    assert!(rows.len() >= 40, "only {} rows", rows.len());
    for (code, (name, action)) in &rows {
        let entry = lookup_aadsts(*code)
            .unwrap_or_else(|| panic!("{code} is documented but not in aadsts_table()"));
        assert_eq!(&entry.action.to_string(), action, "action of {code}");
        assert_eq!(entry.name, name, "name of {code}");
    }
}

#[test]
fn every_table_entry_has_a_row() {
    let rows = doc_rows();
    for entry in aadsts_table() {
        assert!(
            rows.contains_key(&entry.code),
            "{} is missing from docs/TROUBLESHOOTING.md",
            entry.code
        );
    }
    assert_eq!(rows.len(), aadsts_table().len());
}

#[test]
fn recommend_follows_the_table() {
    for entry in aadsts_table() {
        let body = format!(
            r#"{{"error":"{}","error_description":"AADSTS{}: {}","error_codes":[{}]}}"#,
            plausible_error(entry.action),
            entry.code,
            entry.meaning.replace('"', "'"),
            entry.code
        );
        let service = ServiceError::from_body(400, body.as_bytes(), None).unwrap();
        let action = recommend(&Error::from_service(service));
        assert_eq!(
            action.kind(),
            entry.action,
            "AADSTS{} ({})",
            entry.code,
            entry.name
        );
    }
}
