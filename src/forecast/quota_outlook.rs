//! When each Bedrock quota runs out as demand grows: the plan's p99 minute scaled by the
//! forecast's demand (adoption × usage per user × growth, and tokens per request for token
//! quotas), month by month at P50 and P90 of the draws, against the value the plan runs at.

use serde::{Deserialize, Serialize};

use super::Values;
use crate::plan::quota::{QuotaCheck, QuotaName};
use crate::stats::quantile_sorted;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaOutlook {
    pub option: String,
    /// Its Service Quotas name and short label ("TPM").
    pub quota: String,
    pub label: String,
    /// The value the plan runs at: the ask where the quota is short, else the current value.
    pub planned: f64,
    /// The plan's p99 minute (every employee, as simulated).
    pub peak_p99_minute: f64,
    /// Each month's p99 minute at P50 and P90 of the draws.
    pub p50: Vec<f64>,
    pub p90: Vec<f64>,
    /// The first month (1-based) the p99 minute exceeds `planned`, at P50 and at P90; none
    /// within the horizon.
    pub runs_out_p50: Option<u32>,
    pub runs_out_p90: Option<u32>,
}

/// One option's quotas over `months`, from the forecast's draws (each a set of input quantiles).
pub fn outlook(
    option: &str,
    checks: &[QuotaCheck],
    draws: &[Values],
    months: u32,
) -> Vec<QuotaOutlook> {
    checks
        .iter()
        .map(|c| {
            let tokens = !matches!(c.quota, QuotaName::Rpm);
            let mut p50 = Vec::with_capacity(months as usize);
            let mut p90 = Vec::with_capacity(months as usize);
            for m in 0..months {
                let mut v: Vec<f64> = draws
                    .iter()
                    .map(|d| {
                        let per_request = if tokens { d.tokens_per_request } else { 1.0 };
                        c.peak_p99_minute * d.demand(m) * per_request
                    })
                    .collect();
                v.sort_by(f64::total_cmp);
                p50.push(quantile_sorted(&v, 0.5).unwrap_or(0.0));
                p90.push(quantile_sorted(&v, 0.9).unwrap_or(0.0));
            }
            let planned = c.planned();
            let first_over = |v: &[f64]| v.iter().position(|x| *x > planned).map(|m| m as u32 + 1);
            QuotaOutlook {
                option: option.to_string(),
                quota: c.service_quota_name.clone(),
                label: c.quota.short_label().to_string(),
                planned,
                peak_p99_minute: c.peak_p99_minute,
                runs_out_p50: first_over(&p50),
                runs_out_p90: first_over(&p90),
                p50,
                p90,
            }
        })
        .collect()
}

/// One sentence per quota: when it runs out at P50 and P90, or that it holds over the horizon.
pub fn sentence(q: &QuotaOutlook, months: u32) -> String {
    let fate = match (q.runs_out_p50, q.runs_out_p90) {
        (Some(a), Some(b)) => format!("runs out in month {a} at P50 demand, month {b} at P90"),
        (None, Some(b)) => {
            format!("holds through month {months} at P50 demand; runs out in month {b} at P90")
        }
        (None, None) => format!("holds through month {months} at P50 and at P90 demand"),
        // P90 demand is never below P50's; kept total for any input.
        (Some(a), None) => format!("runs out in month {a} at P50 demand"),
    };
    format!(
        "{}: {} {} (as planned) {fate} (p99 minute in month {months}: {} at P50, {} at P90).",
        q.option,
        q.label,
        crate::format::thousands(q.planned),
        crate::format::thousands(q.p50.last().copied().unwrap_or(0.0)),
        crate::format::thousands(q.p90.last().copied().unwrap_or(0.0)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p99: f64, current: f64) -> QuotaCheck {
        QuotaCheck::decide(QuotaName::Tpm, "q".into(), current, p99, 0.0)
    }

    #[test]
    fn a_quota_runs_out_in_the_month_compound_growth_first_carries_the_p99_minute_past_it() {
        // Every input fixed: full adoption, usage 1, tokens 1, growth 10 % a month. A p99
        // minute of 100,000 under a quota of 150,000 (needed 130,000: sufficient) passes it when
        // 1.1^m > 1.5: m = 5 (1.61), i.e. month 6.
        let v = o_values();
        let c = check(100_000.0, 150_000.0);
        assert!(c.requested.is_none());
        let o = &outlook("A", &[c], &[v], 12)[0];
        let by_hand = (0..12)
            .position(|m| 100_000.0 * 1.1f64.powi(m) > 150_000.0)
            .map(|m| m as u32 + 1);
        assert_eq!(o.runs_out_p50, by_hand);
        assert_eq!(o.runs_out_p50, Some(6));
        // A quota four times the minute holds over the year.
        let roomy = &outlook("A", &[check(100_000.0, 400_000.0)], &[o_values()], 12)[0];
        assert_eq!(roomy.runs_out_p90, None);
    }

    /// Every input fixed: full adoption from month 1, usage and tokens as planned, 10 % growth.
    fn o_values() -> Values {
        Values {
            adoption_start: 1.0,
            adoption_target: 1.0,
            adoption_midpoint_month: 3.0,
            usage_per_user: 1.0,
            usage_growth_per_month: 0.10,
            tokens_per_request: 1.0,
            performance: 1.0,
            hidden_costs: 0.0,
        }
    }
}
