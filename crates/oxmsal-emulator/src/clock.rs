//! Wall-clock helpers: epoch seconds and Entra's `YYYY-MM-DD HH:MM:SSZ` timestamps,
//! without pulling a date library in for two formats.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_secs() -> u64 {
    unix_secs(SystemTime::now())
}

/// Seconds since the Unix epoch for `t` (0 before 1970).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Now, truncated to whole milliseconds, so that a recorded time survives the JSON
/// round trip (milliseconds since the epoch) unchanged.
pub(crate) fn now_millis_precision() -> SystemTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Entra's timestamp format, e.g. `2016-01-09 02:02:12Z`.
pub(crate) fn entra_timestamp(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`, restricted to non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(entra_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(entra_timestamp(1_452_304_932), "2016-01-09 02:02:12Z");
        // a leap day
        assert_eq!(entra_timestamp(1_709_164_800), "2024-02-29 00:00:00Z");
        assert_eq!(entra_timestamp(4_102_444_799), "2099-12-31 23:59:59Z");
    }
}
