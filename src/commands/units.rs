//! Parsing human units on the command line: durations (90s, 30m, 1h) and rates (5/s, 300/min).

use anyhow::{bail, Result};

pub fn parse_duration_s(text: &str) -> Result<f64> {
    let text = text.trim();
    let (number, unit) = split_unit(text);
    let value: f64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("duration `{text}`: expected e.g. 90s, 30m, 1h or 2d"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1_000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3_600.0,
        "d" => value * 86_400.0,
        other => bail!("duration `{text}`: unknown unit `{other}` (use s, m, h or d)"),
    };
    if !(seconds.is_finite() && seconds >= 0.0) {
        bail!("duration `{text}` must be ≥ 0");
    }
    Ok(seconds)
}

pub fn parse_rate_per_s(text: &str) -> Result<f64> {
    let text = text.trim();
    let (number, unit) = match text.split_once('/') {
        Some((n, u)) => (n.trim(), u.trim()),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("rate `{text}`: expected e.g. 5/s, 300/min or 2.5"))?;
    let per_s = match unit {
        "s" | "sec" => value,
        "m" | "min" => value / 60.0,
        "h" | "hour" => value / 3_600.0,
        other => bail!("rate `{text}`: unknown unit `/{other}` (use /s, /min or /h)"),
    };
    if !(per_s.is_finite() && per_s > 0.0) {
        bail!("rate `{text}` must be > 0");
    }
    Ok(per_s)
}

/// A count such as 2000, 2_000 or 1e6 (clap's value parser: the error is the message). A value
/// too large for the run is refused later, naming its limit.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let cleaned = text.trim().replace('_', "");
    if let Ok(n) = cleaned.parse::<u64>() {
        return Ok(n);
    }
    let value: f64 = cleaned
        .parse()
        .map_err(|_| format!("`{text}` is not a count; expected e.g. 2000 or 1e6"))?;
    // 2^64 itself rounds to u64::MAX + 1 as an f64, so stay strictly below it.
    if !(value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 1.8e19) {
        return Err(format!("`{text}` is not a whole number ≥ 0"));
    }
    Ok(value as u64)
}

fn split_unit(text: &str) -> (&str, &str) {
    let at = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    (text[..at].trim(), text[at..].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration_s("1h").unwrap(), 3_600.0);
        assert_eq!(parse_duration_s("90s").unwrap(), 90.0);
        assert_eq!(parse_duration_s("6m").unwrap(), 360.0);
        assert!(parse_duration_s("5 weeks").is_err());
        assert_eq!(parse_rate_per_s("300/min").unwrap(), 5.0);
        assert_eq!(parse_rate_per_s("2.5").unwrap(), 2.5);
        assert!(parse_rate_per_s("-1/s").is_err());
        assert_eq!(parse_count("1e12"), Ok(1_000_000_000_000));
        assert_eq!(parse_count("2_000"), Ok(2_000));
        assert!(parse_count("2.5").is_err());
        assert!(parse_count("-1").is_err());
        assert!(parse_count("1e30").is_err());
    }
}
