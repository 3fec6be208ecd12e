//! How numbers read in every report: thousands separators, dollars, percentages. One formatter
//! each, so a figure reads the same in the terminal, plan.md, the quota documents and the charts.

/// A whole number with thousands separators: 8,482,319.
pub fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// Whole dollars with separators: $82,538.
pub fn usd(value: f64) -> String {
    let text = thousands(value);
    match text.strip_prefix('-') {
        Some(rest) => format!("-${rest}"),
        None => format!("${text}"),
    }
}

/// Dollars for an axis: $0, $950, $12k, $1.5M.
pub fn usd_axis(value: f64) -> String {
    let a = value.abs();
    let sign = if value < 0.0 { "-" } else { "" };
    if a >= 1e6 {
        format!("{sign}${}M", trim(a / 1e6))
    } else if a >= 1e3 {
        format!("{sign}${}k", trim(a / 1e3))
    } else {
        format!("{sign}${a:.0}")
    }
}

/// A count for an axis: 950, 12k, 1.5M.
pub fn count_axis(value: f64) -> String {
    let a = value.abs();
    let sign = if value < 0.0 { "-" } else { "" };
    if a >= 1e6 {
        format!("{sign}{}M", trim(a / 1e6))
    } else if a >= 1e3 {
        format!("{sign}{}k", trim(a / 1e3))
    } else {
        format!("{sign}{}", trim(a))
    }
}

fn trim(v: f64) -> String {
    let text = if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    text.strip_suffix(".0").unwrap_or(&text).to_string()
}

/// A share as a percentage with two decimals: 0.0123 → "1.23 %".
pub fn percent(share: f64) -> String {
    format!("{:.2} %", share * 100.0)
}

/// A short duration with a unit that keeps three significant figures: `37.1 µs`, `12.0 ms`,
/// `0.166 s`; far below a nanosecond in scientific notation.
pub fn seconds_short(seconds: f64) -> String {
    let a = seconds.abs();
    if !a.is_finite() {
        format!("{seconds} s")
    } else if a >= 0.1 {
        format!("{seconds:.3} s")
    } else if a >= 1e-4 {
        format!("{:.3} ms", seconds * 1e3)
    } else if a >= 1e-7 {
        format!("{:.3} µs", seconds * 1e6)
    } else if a >= 1e-10 {
        format!("{:.3} ns", seconds * 1e9)
    } else {
        format!("{seconds:.3e} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_with_separators() {
        assert_eq!(thousands(8_482_319.4), "8,482,319");
        assert_eq!(thousands(528_000.0), "528,000");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(-1_234.0), "-1,234");
        assert_eq!(usd(82_538.2), "$82,538");
        assert_eq!(usd(-5.0), "-$5");
        assert_eq!(percent(0.0123), "1.23 %");
    }

    #[test]
    fn axes_read_in_thousands_and_millions() {
        assert_eq!(usd_axis(0.0), "$0");
        assert_eq!(usd_axis(950.0), "$950");
        assert_eq!(usd_axis(12_000.0), "$12k");
        assert_eq!(usd_axis(1_500_000.0), "$1.5M");
        assert_eq!(count_axis(250_000.0), "250k");
        assert_eq!(count_axis(3.0), "3");
    }

    #[test]
    fn short_seconds_keep_their_unit() {
        assert_eq!(super::seconds_short(0.166), "0.166 s");
        assert_eq!(super::seconds_short(0.011998), "11.998 ms");
        assert_eq!(super::seconds_short(3.7057e-5), "37.057 µs");
        assert_eq!(super::seconds_short(8.707e-10), "0.871 ns");
        assert_eq!(super::seconds_short(1e-12), "1.000e-12 s");
    }
}
