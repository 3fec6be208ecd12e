//! What a verify run found, typed: each population driven beside the plan's simulations of it,
//! and with `--users auto` the measured knee beside the plan's. verify.json is this serialised;
//! verify.md and the terminal table are rendered from it (`report::verify`).

use serde::{Deserialize, Serialize};

use super::compare::{Figure, RunFigures, Verdict};

/// One population driven for the run's duration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub users: u32,
    /// Requests sent after the warm-up.
    pub requests: u64,
    pub measured: RunFigures,
    pub figures: Vec<Figure>,
    /// The measured run met the SLO at these users.
    pub holds_slo: bool,
    /// Every figure measured fell inside the simulations' 90 % interval.
    pub agrees_with_plan: bool,
}

impl StepReport {
    /// The figure called `name` (one of `compare`'s names).
    pub fn figure(&self, name: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.name == name)
    }
}

/// The plan's knee for the endpoint driven, and its interval: the knee were the server as
/// slow (`low`) or as fast (`high`) as the ends of the profile's 90 % fit bands.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanKnee {
    pub users: u32,
    pub low: u32,
    pub high: u32,
    /// Every time the server model holds multiplied by these for `low` and `high`.
    pub slow_factor: f64,
    pub fast_factor: f64,
    /// The SLO still held at the plan's search limit: the knee is at least `users`.
    pub at_search_limit: bool,
}

/// The knee `--users auto` measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredKnee {
    /// Most users that held the SLO (0: not even the fewest driven).
    pub users: u32,
    /// Fewest users that broke it (none: the search stopped first).
    pub broke_at: Option<u32>,
    /// Against the plan's interval.
    pub verdict: Verdict,
}

impl MeasuredKnee {
    /// The measured knee against the plan's interval. A knee bounded only from below (nothing
    /// broke) is "above" only when even that bound is past the interval.
    pub fn judge(users: u32, broke_at: Option<u32>, plan: &PlanKnee) -> MeasuredKnee {
        let verdict = if users > plan.high {
            Verdict::Above
        } else if broke_at.is_some_and(|b| b <= plan.low) {
            // The SLO broke at or below the plan's lowest knee.
            Verdict::Below
        } else {
            Verdict::Inside
        };
        MeasuredKnee {
            users,
            broke_at,
            verdict,
        }
    }
}

/// What verify.json holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub scenario: String,
    pub option: String,
    pub target: String,
    pub warmup_s: f64,
    pub duration_s: f64,
    /// Simulations of each population, each with its own seed.
    pub simulated_runs: u32,
    pub slo_ttft_p95_s: f64,
    pub slo_tpot_p95_s: f64,
    pub slo_max_error_rate: f64,
    /// Each population driven, in the order driven.
    pub steps: Vec<StepReport>,
    pub plan_knee: PlanKnee,
    /// `--users auto`: the knee measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_knee: Option<MeasuredKnee>,
    /// Why the run ended early, if it did.
    pub stopped: Option<String>,
    /// Bedrock: what the requests sent cost at the catalog's standard price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_usd: Option<f64>,
    /// Written after a population while more were to come: the run is under way, or was cut
    /// off (`--resume` continues it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_progress: bool,
}

impl VerifyReport {
    /// Why this report cannot be continued by a run of `scenario`, `option`, `warmup_s` and
    /// `duration_s`: the first that differs, named as its flag.
    pub fn mismatch(
        &self,
        scenario: &str,
        option: &str,
        warmup_s: f64,
        duration_s: f64,
    ) -> Option<String> {
        if self.scenario != scenario {
            Some(format!("it verified scenario {}", self.scenario))
        } else if self.option != option {
            Some(format!("it verified --option {}", self.option))
        } else if (self.warmup_s - warmup_s).abs() > 1e-9 {
            Some(format!("its warm-up was --warmup {}", self.warmup_s))
        } else if (self.duration_s - duration_s).abs() > 1e-9 {
            Some(format!("it measured --duration {}", self.duration_s))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measured_knee_is_judged_by_where_it_held_and_where_it_broke() {
        let plan = PlanKnee {
            users: 10,
            low: 8,
            high: 13,
            slow_factor: 1.2,
            fast_factor: 0.85,
            at_search_limit: false,
        };
        let j = |held, broke| MeasuredKnee::judge(held, broke, &plan).verdict;
        assert_eq!(j(9, Some(10)), Verdict::Inside);
        assert_eq!(j(12, Some(13)), Verdict::Inside);
        assert_eq!(j(14, Some(15)), Verdict::Above);
        assert_eq!(j(4, Some(8)), Verdict::Below);
        assert_eq!(
            j(7, Some(9)),
            Verdict::Inside,
            "the knee lies in 7..9, which meets 8..13"
        );
        assert_eq!(j(40, None), Verdict::Above);
        assert_eq!(
            j(6, None),
            Verdict::Inside,
            "only a lower bound, below the interval"
        );
    }
}
