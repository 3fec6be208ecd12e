//! The most users (or the highest rate) meeting an SLO, by bisection over simulations; the plan
//! then uses 60 % of it (seed 000: plan for headroom).

use serde::{Deserialize, Serialize};

use crate::sim::SimResult;

/// Seed 000's planning point: 60 % of the load at which the SLO breaks.
pub const PLANNING_FRACTION: f64 = 0.6;

/// The service level a plan holds each option to (the scenario's `[slo]`; a field left out
/// takes its default: 0.5 s, 0.1 s, 1 %).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SloLimits {
    pub ttft_p95_s: f64,
    pub tpot_p95_s: f64,
    pub max_error_rate: f64,
    /// For a workload of several request classes: each class's p95 TTFT and TPOT limits (its
    /// own SLO, else the two above), every one of which must hold in place of the pooled p95s.
    /// Filled by the planner from the workload, not read from the scenario's `[slo]`.
    #[serde(skip)]
    pub classes: Vec<(f64, f64)>,
}

impl Default for SloLimits {
    fn default() -> Self {
        SloLimits {
            ttft_p95_s: 0.5,
            tpot_p95_s: 0.1,
            max_error_rate: 0.01,
            classes: Vec::new(),
        }
    }
}

impl SloLimits {
    pub fn met_by(&self, r: &SimResult) -> bool {
        let latencies = if self.classes.len() > 1 && r.classes.len() == self.classes.len() {
            // Every class within its own limits (a class with no completed request in the
            // window has no percentile to break).
            self.classes
                .iter()
                .zip(&r.classes)
                .all(|(&(ttft, tpot), c)| {
                    c.completed == 0 || (c.ttft_s.p95 <= ttft && c.tpot_s.p95 <= tpot)
                })
        } else {
            r.ttft_s.p95 <= self.ttft_p95_s && r.tpot_s.p95 <= self.tpot_p95_s
        };
        r.unfinished == 0 && r.completed > 0 && latencies && r.error_rate <= self.max_error_rate
    }

    /// The limits with each of `workload`'s classes held to its own SLO (the scenario's where
    /// it gives none), when it has several.
    pub fn for_classes(&self, workload: &crate::workload::WorkloadSpec) -> SloLimits {
        let mut limits = self.clone();
        limits.classes = if workload.classes.len() > 1 {
            workload
                .classes
                .iter()
                .map(|c| {
                    c.slo
                        .as_ref()
                        .map_or((self.ttft_p95_s, self.tpot_p95_s), |s| {
                            (s.ttft_p95_s, s.tpot_p95_s)
                        })
                })
                .collect()
        } else {
            Vec::new()
        };
        limits
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// The most load meeting the SLO (the knee); 0 when even the smallest load fails.
    pub knee: u32,
    /// What to plan for: 60 % of the knee.
    pub planned: u32,
    /// Simulations run.
    pub simulations: u32,
    /// The SLO still held at the search limit: the knee is at least this, not at it.
    pub at_limit: bool,
}

/// Bisection over load `1..=limit`: doubling to the first failure, then halving the gap until
/// it is within 2 %. `simulate(n)` runs the scenario at load `n` (users or requests/s × unit).
/// When `met(n)` only gets harder as n grows, a stricter SLO can only find a lower knee.
pub fn search(limit: u32, slo: &SloLimits, mut simulate: impl FnMut(u32) -> SimResult) -> Capacity {
    let mut simulations = 0;
    let mut meets = |n: u32| {
        simulations += 1;
        slo.met_by(&simulate(n))
    };
    if !meets(1) {
        return Capacity {
            knee: 0,
            planned: 0,
            simulations,
            at_limit: false,
        };
    }
    let (mut pass, mut fail) = (1u32, None);
    while fail.is_none() && pass < limit {
        let next = (pass * 2).min(limit);
        if meets(next) {
            pass = next;
        } else {
            fail = Some(next);
        }
    }
    if let Some(mut fail) = fail {
        while fail - pass > 1 && f64::from(fail - pass) > 0.02 * f64::from(pass) {
            let mid = pass + (fail - pass) / 2;
            if meets(mid) {
                pass = mid;
            } else {
                fail = mid;
            }
        }
    }
    Capacity {
        knee: pass,
        planned: ((f64::from(pass) * PLANNING_FRACTION).floor() as u32).max(1),
        simulations,
        at_limit: fail.is_none(),
    }
}

/// One simulation of the capacity search: load and what it got (the latency-vs-users chart).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub users: u32,
    pub ttft_p95_s: f64,
    pub tpot_p95_s: f64,
    pub error_rate: f64,
    pub meets_slo: bool,
    /// Mean requests in flight over the measured window (Little's law), across the endpoint.
    #[serde(default)]
    pub in_flight: f64,
}

/// Runs the capacity search and keeps every point it simulated, in order of users. A failed
/// simulation stops the search and is returned.
pub fn search_with_curve<E>(
    limit: u32,
    slo: &SloLimits,
    mut simulate: impl FnMut(u32) -> Result<SimResult, E>,
) -> Result<(Capacity, Vec<CurvePoint>), E> {
    let mut curve = Vec::new();
    let mut error = None;
    let capacity = search(limit, slo, |users| match simulate(users) {
        Ok(result) => {
            curve.push(CurvePoint {
                users,
                ttft_p95_s: result.ttft_s.p95,
                tpot_p95_s: result.tpot_s.p95,
                error_rate: result.error_rate,
                meets_slo: slo.met_by(&result),
                in_flight: result.littles_law.l,
            });
            result
        }
        Err(e) => {
            error.get_or_insert(e);
            SimResult::default()
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    curve.sort_by_key(|p| p.users);
    Ok((capacity, curve))
}

/// The curve's point at `users` (the knee's, for the operating point there).
pub fn point_at(curve: &[CurvePoint], users: u32) -> Option<&CurvePoint> {
    curve.iter().find(|p| p.users == users)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A load that meets the SLO up to `threshold` users and breaks above it.
    fn breaking_at(threshold: u32) -> impl FnMut(u32) -> SimResult {
        move |users| {
            let mut r = SimResult {
                completed: 100,
                ..SimResult::default()
            };
            r.ttft_s.p95 = if users <= threshold { 0.1 } else { 10.0 };
            r
        }
    }

    #[test]
    fn the_knee_far_above_the_peak_is_found_within_two_percent() {
        // A peak of 300 users, an option that holds 12,345: 41× the peak, where a search
        // capped at 4× would have stopped at 1,200 with "at least".
        let limit = 300 * crate::plan::simulate::SEARCH_LIMIT_FACTOR;
        let c = search(limit, &SloLimits::default(), breaking_at(12_345));
        assert!(!c.at_limit);
        assert!(
            c.knee <= 12_345 && f64::from(12_345 - c.knee) <= 0.02 * f64::from(c.knee),
            "{c:?}"
        );
        // Doubling to the first failure (15 steps) and bisecting to 2 % (about 6 more).
        assert!(c.simulations <= 24, "{c:?}");
    }

    #[test]
    fn a_knee_beyond_the_bound_reads_at_least_the_bound() {
        let limit = crate::plan::simulate::SEARCH_LIMIT_USERS;
        let c = search(limit, &SloLimits::default(), breaking_at(u32::MAX));
        assert!(c.at_limit);
        assert_eq!(c.knee, limit);
    }
}
