//! UTC timestamps as CloudWatch and Bedrock's invocation logs write them: ISO 8601
//! (`2026-11-30T12:00:00+00:00`, the AWS CLI's form; `Z` and other offsets read too), to and
//! from seconds since 1970. Shared by `actual` (CloudWatch, CUR), `workload::logs` and the
//! emulator's logs.

/// Seconds since 1970-01-01T00:00:00Z as the AWS CLI prints a timestamp.
pub fn format_iso(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// An ISO 8601 date-time (`YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM|±HHMM]`, a space allowed for the
/// `T`, no offset read as UTC) or a date alone, as seconds since 1970 (fractions dropped).
/// Anything else is `None`: a field out of its range (month 13, 31 February, hour 24, an offset
/// beyond ±23:59), a separator out of place, or a character that is not ASCII.
pub fn parse_iso(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_ascii() {
        return None;
    }
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    let mut seconds = parse_date(date)?;
    if rest.is_empty() {
        return Some(seconds);
    }
    let rest = rest
        .strip_prefix(['T', 't', ' '])
        .filter(|r| r.len() >= 8)?;
    let (clock, zone) = rest.split_at(8);
    seconds += parse_clock(clock)?;
    let zone = match zone.strip_prefix(['.', ',']) {
        Some(fraction) => {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            &fraction[digits..]
        }
        None => zone,
    };
    Some(seconds - parse_offset(zone)?)
}

/// `digits` (ASCII digits only, none missing) as a number.
fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `text` split at the ASCII separator bytes `at` (which must be `separator`), each part digits.
fn fields<const N: usize>(text: &str, separator: u8, at: [usize; N]) -> Option<Vec<i64>> {
    let bytes = text.as_bytes();
    if at.iter().any(|&i| bytes.get(i) != Some(&separator)) {
        return None;
    }
    let mut parts = Vec::with_capacity(N + 1);
    let mut from = 0;
    for i in at.into_iter().chain([text.len()]) {
        parts.push(digits(text.get(from..i)?)?);
        from = i + 1;
    }
    Some(parts)
}

/// `YYYY-MM-DD` (a real day of that month) as seconds since 1970.
fn parse_date(date: &str) -> Option<i64> {
    let ymd = fields(date, b'-', [4, 7])?;
    let (y, m, d) = (ymd[0], ymd[1], ymd[2]);
    if !(1..=12).contains(&m) || d < 1 || d > i64::from(days_in_month(y, m as u32)) {
        return None;
    }
    Some(days_from_civil(y, m as u32, d as u32) * 86_400)
}

/// `HH:MM:SS` (a leap second's 60 allowed) as seconds into the day.
fn parse_clock(clock: &str) -> Option<i64> {
    let hms = fields(clock, b':', [2, 5])?;
    let (h, mi, s) = (hms[0], hms[1], hms[2]);
    (h <= 23 && mi <= 59 && s <= 60).then_some(h * 3600 + mi * 60 + s)
}

/// A UTC offset in seconds: none, `Z`, `±HH:MM` or `±HHMM`.
fn parse_offset(zone: &str) -> Option<i64> {
    if matches!(zone, "" | "Z" | "z") {
        return Some(0);
    }
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hm = match zone.len() {
        6 => fields(&zone[1..], b':', [2])?,
        5 => vec![digits(&zone[1..3])?, digits(&zone[3..])?],
        _ => return None,
    };
    (hm[0] <= 23 && hm[1] <= 59).then_some(sign * (hm[0] * 3600 + hm[1] * 60))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_offsets_are_applied() {
        let t = 1_796_040_000; // 2026-11-30T12:00:00Z
        assert_eq!(format_iso(t), "2026-11-30T12:00:00+00:00");
        assert_eq!(parse_iso(&format_iso(t)), Some(t));
        assert_eq!(parse_iso("2026-11-30T12:00:00Z"), Some(t));
        assert_eq!(parse_iso("2026-11-30T13:00:00.250+01:00"), Some(t));
        assert_eq!(parse_iso("2026-11-30 12:00:00"), Some(t));
        assert_eq!(parse_iso("2026-11-30"), Some(t - 12 * 3600));
        assert_eq!(parse_iso("2026-13-30"), None);
        assert_eq!(parse_iso("yesterday"), None);
        assert_eq!(parse_iso("2026-11-30T12:00"), None);
    }

    #[test]
    fn offsets_in_both_forms_and_leap_days() {
        let t = 1_796_040_000; // 2026-11-30T12:00:00Z
        assert_eq!(parse_iso("2026-11-30T07:00:00-0500"), Some(t));
        assert_eq!(parse_iso("2026-11-30T07:00:00,5-05:00"), Some(t));
        assert_eq!(parse_iso("2024-02-29"), Some(19_782 * 86_400));
        assert_eq!(parse_iso("2026-02-29"), None, "2026 is not a leap year");
        assert_eq!(parse_iso("1900-02-29"), None);
        assert_eq!(parse_iso("2000-02-29"), Some(11_016 * 86_400));
        assert_eq!(parse_iso("2026-04-31"), None);
    }

    #[test]
    fn malformed_timestamps_are_refused_not_misread() {
        for text in [
            "",
            "2026-01-0é",
            "2026-01-0é:00:00+00:00",
            "2026-11-30T12:00:00+aé1",
            "2026-11-30T12:00:00+é:1",
            "2026-11-30T12:00:00+0é",
            "２026-11-30",
            "2026-1-011",
            "2026/11/30",
            "2026-11-30T12-00-00",
            "2026-11-30T1:00:000",
            "2026-11-30T24:00:00",
            "2026-11-30T12:60:00",
            "2026-11-30T12:00:00.",
            "2026-11-30T12:00:00+01",
            "2026-11-30T12:00:00+24:00",
            "2026-11-30T12:00:00+01:60",
            "2026-11-30T12:00:00+01:00:00",
            "2026-11-30T12:00:00 UTC",
            "2026-11-30X12:00:00",
            "-026-11-30",
            "+2026-11-30",
        ] {
            assert_eq!(parse_iso(text), None, "{text:?}");
        }
    }
}
