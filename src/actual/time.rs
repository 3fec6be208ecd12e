//! UTC timestamps as CloudWatch writes them: ISO 8601 (`2026-11-30T12:00:00+00:00`, the AWS
//! CLI's form; `Z` and other offsets read too), to and from seconds since 1970.

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

/// An ISO 8601 date-time (`YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`, a space allowed for the `T`,
/// no offset read as UTC) or a date alone, as seconds since 1970 (fractions dropped).
pub fn parse_iso(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let (y, m, d) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut seconds = days_from_civil(y, m as u32, d as u32) * 86_400;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(seconds);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let clock = rest.get(..8)?;
    let mut hms = clock.split(':');
    let (h, mi, s) = (
        number(hms.next()?)?,
        number(hms.next()?)?,
        number(hms.next()?)?,
    );
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    seconds += h * 3600 + mi * 60 + s;
    let mut zone = &rest[8..];
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &fraction[digits..];
    }
    match zone {
        "" | "Z" | "z" => Some(seconds),
        _ => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let offset = zone[1..].replace(':', "");
            if offset.len() != 4 {
                return None;
            }
            let (oh, om) = (number(&offset[..2])?, number(&offset[2..])?);
            Some(seconds - sign * (oh * 3600 + om * 60))
        }
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
}
