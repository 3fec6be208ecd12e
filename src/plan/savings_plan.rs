//! A SageMaker Savings Plan as a variant of a fleet's month: a fixed spend an hour committed
//! for one or three years buys instance-hours at a discount; usage above the commitment is
//! billed on demand (AWS, "Machine Learning Savings Plans"). The discount is the scenario's,
//! with its source: AWS publishes the rates per instance family, Region and term, and none is
//! held here. Pure arithmetic.

use serde::{Deserialize, Serialize};

use super::scenario::SavingsPlan;
use crate::cost::fleet::HOURS_IN_MONTH;

/// A fleet's month under a Savings Plan that commits to `committed_instances` running around
/// the clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavingsPlanCost {
    pub discount: f64,
    pub term_years: u32,
    pub source: String,
    /// Instances the commitment covers: an always-on fleet's all, an autoscaled one's minimum.
    pub committed_instances: u32,
    /// The committed spend an hour (discounted), owed whether used or not.
    pub commitment_usd_per_hour: f64,
    /// The commitment over the whole term.
    pub commitment_term_usd: f64,
    /// The month: the commitment's 730 h plus the instance-hours above it on demand.
    pub monthly_usd: f64,
    /// Against the month on demand.
    pub saving_usd: f64,
}

/// Prices a fleet of `instance_hours` a month at `usd_per_hour` under `plan`, committing to
/// `committed_instances` around the clock.
pub fn price(
    plan: &SavingsPlan,
    usd_per_hour: f64,
    committed_instances: u32,
    instance_hours: f64,
) -> SavingsPlanCost {
    let committed_hours = f64::from(committed_instances) * HOURS_IN_MONTH;
    let commitment_usd_per_hour =
        f64::from(committed_instances) * usd_per_hour * (1.0 - plan.discount);
    let above = (instance_hours - committed_hours).max(0.0) * usd_per_hour;
    let monthly_usd = commitment_usd_per_hour * HOURS_IN_MONTH + above;
    SavingsPlanCost {
        discount: plan.discount,
        term_years: plan.term_years,
        source: plan.source.clone(),
        committed_instances,
        commitment_usd_per_hour,
        commitment_term_usd: commitment_usd_per_hour * 8_766.0 * f64::from(plan.term_years),
        monthly_usd,
        saving_usd: instance_hours * usd_per_hour - monthly_usd,
    }
}

/// The sentence plan.md gives the variant.
pub fn sentence(s: &SavingsPlanCost) -> String {
    use crate::format::{percent, usd};
    if s.committed_instances == 0 {
        return format!(
            "a {}-year Savings Plan at {} off ({}) would commit a spend that runs around the clock; this fleet scales to zero when idle, so nothing runs around the clock to commit and it stays on demand",
            s.term_years,
            percent(s.discount),
            s.source
        );
    }
    format!(
        "with a {}-year Savings Plan at {} off ({}): {} instance(s) committed around the clock at {} an hour ({} over the term), the rest on demand: {} a month, {} less than on demand",
        s.term_years,
        percent(s.discount),
        s.source,
        s.committed_instances,
        usd(s.commitment_usd_per_hour),
        usd(s.commitment_term_usd),
        usd(s.monthly_usd),
        usd(s.saving_usd)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(discount: f64) -> SavingsPlan {
        SavingsPlan {
            discount,
            term_years: 1,
            source: "test".into(),
        }
    }

    #[test]
    fn a_commitment_covering_the_whole_fleet_is_the_discounted_month() {
        // Two instances always on at $10/h: 1,460 h; 30 % off.
        let s = price(&plan(0.3), 10.0, 2, 1_460.0);
        assert!((s.monthly_usd - 1_460.0 * 7.0).abs() < 1e-9);
        assert!((s.saving_usd - 1_460.0 * 3.0).abs() < 1e-9);
        assert!((s.commitment_usd_per_hour - 14.0).abs() < 1e-12);
    }

    #[test]
    fn hours_above_the_commitment_are_on_demand_and_unused_commitment_is_owed() {
        // One instance committed, 1,000 h used: 730 h discounted, 270 h at $10.
        let s = price(&plan(0.5), 10.0, 1, 1_000.0);
        assert!((s.monthly_usd - (730.0 * 5.0 + 270.0 * 10.0)).abs() < 1e-9);
        // Committed to two but using 500 h: the whole commitment is owed.
        let idle = price(&plan(0.5), 10.0, 2, 500.0);
        assert!((idle.monthly_usd - 1_460.0 * 5.0).abs() < 1e-9);
        assert!(idle.saving_usd < 0.0, "a commitment above use costs more");
    }
}
