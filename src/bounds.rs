//! The one range check for numbers a user gives, as flags or as fields of a file: finite, within
//! a documented range, the unit named in the refusal. Every command checks its numeric flags
//! here before anything starts, so `--timeout inf` or `--concurrency 1e12` is refused with the
//! flag named instead of panicking, hanging or allocating terabytes later.
//!
//! The upper bounds are where the product stops making sense, not where the code breaks:
//! - concurrency [`MAX_CONCURRENCY`]: 4,096 requests in flight on one endpoint copy, 8× the
//!   largest level of any published serving table llmcap reads (512, gpt-oss-120b
//!   disaggregated) and 16× vLLM's default `max_num_seqs`;
//! - prompt tokens [`MAX_PROMPT_TOKENS`]: 2,000,000, twice the largest context window sold on
//!   Bedrock (1 M);
//! - output tokens [`MAX_OUTPUT_TOKENS`]: 200,000, above the largest max output of any current
//!   model (128 K);
//! - seconds: a request's timeout at most a day; a calibration level or run at most a week.

/// Requests in flight at once (calibrate, predict, fit, simulate).
pub const MAX_CONCURRENCY: f64 = 4_096.0;
/// Prompt (input) tokens of one request.
pub const MAX_PROMPT_TOKENS: f64 = 2_000_000.0;
/// Output tokens of one request.
pub const MAX_OUTPUT_TOKENS: f64 = 200_000.0;

const DAY_S: f64 = 86_400.0;

/// A closed range of finite values, or one open at the bottom (`> min`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
    /// `true`: the value must be strictly above `min`.
    pub above_min: bool,
    /// What the number counts, as the refusal says it: "seconds", "tokens", …
    pub unit: &'static str,
}

/// A number outside its range; the message names the flag or field, the value and the range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name} is {value}: give {expected}")]
pub struct OutOfRange {
    pub name: String,
    pub value: String,
    pub expected: String,
}

impl Range {
    /// `min ≤ value ≤ max`.
    pub const fn closed(min: f64, max: f64, unit: &'static str) -> Range {
        Range {
            min,
            max,
            above_min: false,
            unit,
        }
    }

    /// `min < value ≤ max`.
    pub const fn above(min: f64, max: f64, unit: &'static str) -> Range {
        Range {
            min,
            max,
            above_min: true,
            unit,
        }
    }

    pub fn contains(&self, value: f64) -> bool {
        value.is_finite()
            && value <= self.max
            && if self.above_min {
                value > self.min
            } else {
                value >= self.min
            }
    }

    /// `value` if it is in range; otherwise the refusal naming `name` (a flag such as
    /// `--timeout`, or a field such as `levels.csv line 4, concurrency`).
    pub fn check(&self, name: &str, value: f64) -> Result<f64, OutOfRange> {
        if self.contains(value) {
            Ok(value)
        } else {
            Err(OutOfRange {
                name: name.to_string(),
                value: shown(value),
                expected: self.describe(),
            })
        }
    }

    /// Every value of a list.
    pub fn check_all<T: Copy + Into<f64>>(
        &self,
        name: &str,
        values: &[T],
    ) -> Result<(), OutOfRange> {
        values
            .iter()
            .try_for_each(|&v| self.check(name, v.into()).map(|_| ()))
    }

    /// "a number of seconds > 0 and ≤ 86,400".
    pub fn describe(&self) -> String {
        let low = if self.above_min { ">" } else { "≥" };
        let (min, max) = (bound_text(self.min), bound_text(self.max));
        if self.unit.starts_with('(') {
            format!("a number {low} {min} and ≤ {max} {}", self.unit)
        } else {
            format!("a number of {} {low} {min} and ≤ {max}", self.unit)
        }
    }
}

fn bound_text(value: f64) -> String {
    if value.fract() == 0.0 {
        crate::format::thousands(value)
    } else if value < 0.01 {
        format!("{value:.2e}")
    } else {
        value.to_string()
    }
}

fn shown(value: f64) -> String {
    if value.is_finite() && value != 0.0 && !(1e-3..1e9).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// Requests in flight at once.
pub const CONCURRENCY: Range = Range::closed(1.0, MAX_CONCURRENCY, "requests in flight");
/// Prompt tokens of a request.
pub const PROMPT_TOKENS: Range = Range::closed(1.0, MAX_PROMPT_TOKENS, "tokens");
/// Output tokens of a request.
pub const OUTPUT_TOKENS: Range = Range::closed(1.0, MAX_OUTPUT_TOKENS, "tokens");
/// How long one request may take before it counts as a timeout.
pub const REQUEST_TIMEOUT_S: Range = Range::above(0.0, DAY_S, "seconds");
/// How long in-flight requests may finish after a stop.
pub const GRACE_S: Range = Range::closed(0.0, 3_600.0, "seconds");
/// A calibration level's or run's time budget.
pub const RUN_S: Range = Range::above(0.0, 7.0 * DAY_S, "seconds");
/// Seconds between batches (calibrate's interval mode): a millisecond to a day.
pub const INTERVAL_S: Range = Range::closed(0.001, DAY_S, "seconds");
/// Requests per second of an open loop: one a day to 100,000.
pub const RATE_PER_S: Range = Range::closed(1.0 / DAY_S, 100_000.0, "requests per second");
/// A measured latency (TTFT, TPOT): above zero, at most a day.
pub const LATENCY_S: Range = Range::above(0.0, DAY_S, "seconds");
/// A latency a test server is told to take.
pub const LATENCY_MS: Range = Range::closed(0.0, 60_000.0, "milliseconds");
/// A spending limit.
pub const DOLLARS: Range = Range::closed(0.0, 1_000_000.0, "US dollars");
/// The coefficient of variation of arrival gaps.
pub const BURSTINESS: Range = Range::above(0.0, 100.0, "(coefficient of variation)");
/// A share of something.
pub const FRACTION: Range = Range::closed(0.0, 1.0, "(fraction)");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_and_out_of_range_values_are_refused_with_the_name() {
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -1.0,
            86_400.5,
        ] {
            let error = REQUEST_TIMEOUT_S.check("--timeout", bad).unwrap_err();
            assert_eq!(error.name, "--timeout");
            assert!(
                error.to_string().contains("seconds > 0 and ≤ 86,400"),
                "{error}"
            );
        }
        assert_eq!(REQUEST_TIMEOUT_S.check("--timeout", 86_400.0), Ok(86_400.0));
        assert_eq!(GRACE_S.check("--grace", 0.0), Ok(0.0));
        assert!(RATE_PER_S.check("--rate", 1e-300).is_err());
        let huge = CONCURRENCY.check("--concurrency", 1e12).unwrap_err();
        assert_eq!(huge.value, "1e12");
    }

    #[test]
    fn lists_are_checked_value_by_value() {
        assert!(PROMPT_TOKENS
            .check_all("--prompt-tokens", &[64u32, 1024])
            .is_ok());
        let error = PROMPT_TOKENS
            .check_all("--prompt-tokens", &[64u32, 300_000_000])
            .unwrap_err();
        assert_eq!(error.value, "300000000");
    }
}
