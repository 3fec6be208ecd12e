//! Cost against volume as each option is bought: a per-request option is a line through the
//! origin; an always-on fleet is a staircase, one step per instance, each instance holding what
//! the capacity search found it holds at the SLO; an autoscaled fleet bills its minimum around
//! the clock and hours above it that follow traffic, a line. Break-even is every volume where
//! a line and a staircase change order, not one crossing of two straight lines.

use serde::{Deserialize, Serialize};

use super::types::CostLine;

/// What one instance of an always-on fleet holds and costs: the steps of its cost curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetSteps {
    /// Peak-hour users one instance holds at the planning point (60 % of its knee).
    pub users_per_instance: u32,
    /// Requests a month that many users send: `users_per_instance × monthly requests ÷ peak
    /// users` (volume and peak users grow together).
    pub requests_per_instance_month: f64,
    /// One instance around the clock: 730 h × its hourly price.
    pub usd_per_instance_month: f64,
    /// Instances kept at any volume (a real-time endpoint keeps one).
    pub min_instances: u32,
}

impl FleetSteps {
    /// Instances a month of `v` requests needs.
    pub fn instances(&self, v: f64) -> u32 {
        let r = self.requests_per_instance_month.max(f64::MIN_POSITIVE);
        let needed = (v.max(0.0) / r).ceil().min(f64::from(u32::MAX));
        (needed as u32).max(self.min_instances)
    }

    pub fn at(&self, v: f64) -> f64 {
        f64::from(self.instances(v)) * self.usd_per_instance_month
    }

    /// A full instance's cost per request: where the staircase's steps sit on average.
    pub fn usd_per_request_full(&self) -> f64 {
        self.usd_per_instance_month / self.requests_per_instance_month.max(f64::MIN_POSITIVE)
    }
}

/// Monthly cost against volume as the option is bought.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CostCurve {
    Line(CostLine),
    Steps(FleetSteps),
}

impl CostCurve {
    pub fn at(&self, v: f64) -> f64 {
        match self {
            CostCurve::Line(l) => l.at(v),
            CostCurve::Steps(s) => s.at(v),
        }
    }

    /// Points to draw between `lo` and `hi`: each step's corners where there are few enough
    /// to see, else `samples` points spaced evenly on a log axis.
    pub fn polyline(&self, lo: f64, hi: f64, samples: usize) -> Vec<(f64, f64)> {
        let geometric = || {
            (0..=samples)
                .map(|k| {
                    let v = lo * (hi / lo).powf(k as f64 / samples.max(1) as f64);
                    (v, self.at(v))
                })
                .collect()
        };
        match self {
            CostCurve::Line(_) => geometric(),
            CostCurve::Steps(s) => {
                let (first, last) = (s.instances(lo), s.instances(hi));
                if last.saturating_sub(first) as usize > samples {
                    return geometric();
                }
                let mut points = vec![(lo, s.at(lo))];
                for k in first..last {
                    let edge = f64::from(k) * s.requests_per_instance_month;
                    if edge > lo && edge < hi {
                        points.push((edge, f64::from(k) * s.usd_per_instance_month));
                        points.push((edge, f64::from(k + 1) * s.usd_per_instance_month));
                    }
                }
                points.push((hi, s.at(hi)));
                points
            }
        }
    }
}

/// Which option is cheaper just above a crossing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cheaper {
    PerRequest,
    Fleet,
}

/// A volume at which the per-request line and the fleet's staircase change order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    pub requests_per_month: f64,
    pub cheaper_above: Cheaper,
    /// Instances the fleet runs just below the crossing.
    pub instances: u32,
}

/// At most this many crossings are listed; the rest are counted.
pub const CROSSINGS_LISTED: usize = 12;
/// At most this many steps are walked (the range searched is cut there and says so).
const MAX_STEPS: u64 = 2_000_000;

/// The crossings found between two volumes.
#[derive(Clone, Debug, PartialEq)]
pub struct Crossings {
    /// The first `CROSSINGS_LISTED`.
    pub listed: Vec<Crossing>,
    pub total: u64,
    pub last: Option<Crossing>,
    /// The top of the range actually walked.
    pub searched_to: f64,
}

/// Every crossing of `line` and `steps` between `lo` and `hi` requests a month.
pub fn crossings(line: CostLine, steps: &FleetSteps, lo: f64, hi: f64) -> Crossings {
    let r = steps.requests_per_instance_month;
    let mut hi = hi;
    if r > 0.0 && (hi / r) - (lo / r) > MAX_STEPS as f64 {
        hi = lo + MAX_STEPS as f64 * r;
    }
    // d > 0: the fleet is cheaper.
    let fleet_cheaper = |v: f64, k: u32| line.at(v) > f64::from(k) * steps.usd_per_instance_month;
    let (first, last) = (steps.instances(lo), steps.instances(hi));
    let mut found = Crossings {
        listed: Vec::new(),
        total: 0,
        last: None,
        searched_to: hi,
    };
    let mut record = |c: Crossing| {
        found.total += 1;
        found.last = Some(c);
        if found.listed.len() < CROSSINGS_LISTED {
            found.listed.push(c);
        }
    };
    let mut before: Option<bool> = None;
    for k in first..=last {
        let a = if k == first {
            lo
        } else {
            (f64::from(k - 1) * r).max(lo)
        };
        let b = if k == last {
            hi
        } else {
            (f64::from(k) * r).min(hi)
        };
        let at_a = fleet_cheaper(a, k);
        if let Some(prev) = before {
            if prev != at_a {
                // Only a drop is possible at a new instance: the fleet stops being cheaper.
                record(Crossing {
                    requests_per_month: a,
                    cheaper_above: if at_a {
                        Cheaper::Fleet
                    } else {
                        Cheaper::PerRequest
                    },
                    instances: k.saturating_sub(1).max(steps.min_instances),
                });
            }
        }
        let at_b = fleet_cheaper(b, k);
        if at_a != at_b && line.per_request_usd > 0.0 {
            let v = (f64::from(k) * steps.usd_per_instance_month - line.fixed_usd)
                / line.per_request_usd;
            record(Crossing {
                requests_per_month: v.clamp(a, b),
                cheaper_above: if at_b {
                    Cheaper::Fleet
                } else {
                    Cheaper::PerRequest
                },
                instances: k,
            });
        }
        before = Some(at_b);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(r: f64, c: f64) -> FleetSteps {
        FleetSteps {
            users_per_instance: 10,
            requests_per_instance_month: r,
            usd_per_instance_month: c,
            min_instances: 1,
        }
    }

    fn per_request(p: f64) -> CostLine {
        CostLine {
            fixed_usd: 0.0,
            per_request_usd: p,
        }
    }

    /// An independent count: the sign of (line − staircase) on a fine grid.
    fn brute(line: CostLine, s: &FleetSteps, lo: f64, hi: f64) -> usize {
        let n = 400_000;
        let mut prev = None;
        let mut changes = 0;
        for i in 0..=n {
            let v = lo + (hi - lo) * i as f64 / n as f64;
            let fleet = line.at(v) > s.at(v);
            if prev.is_some_and(|p| p != fleet) {
                changes += 1;
            }
            prev = Some(fleet);
        }
        changes
    }

    #[test]
    fn a_fleet_dearer_per_request_when_full_never_crosses() {
        // $10,000 an instance for 1 M requests ($0.01 each when full) against $0.001 a request.
        let found = crossings(per_request(0.001), &fleet(1e6, 1e4), 1e3, 1e9);
        assert_eq!((found.listed.len(), found.total), (0, 0));
    }

    #[test]
    fn a_fleet_cheaper_when_full_crosses_at_the_line_and_stays_cheaper_by_hand() {
        // $1,000 an instance for 1 M requests ($0.001 full) against $0.004 a request: the line
        // meets the first step at 250,000 requests; at each new instance k·1 M the line is at
        // $4,000·k against $1,000·(k + 1): the fleet stays cheaper.
        let found = crossings(per_request(0.004), &fleet(1e6, 1e3), 1e3, 1e9);
        let listed = &found.listed;
        assert_eq!(found.total, 1, "{listed:?}");
        assert!((listed[0].requests_per_month - 250_000.0).abs() < 1e-6);
        assert_eq!(listed[0].cheaper_above, Cheaper::Fleet);
        assert_eq!(listed[0].instances, 1);
    }

    #[test]
    fn near_parity_the_order_alternates_at_every_new_instance_as_a_grid_finds() {
        // Full instances cost $0.0011 a request against $0.001: the line catches each step
        // partway and drops below at the next instance, until the steps outgrow it.
        let line = per_request(0.0011);
        let s = fleet(1e6, 1_049.0);
        let found = crossings(line, &s, 1e4, 3e7);
        let (listed, total) = (&found.listed, found.total);
        assert_eq!(found.searched_to, 3e7);
        assert_eq!(total as usize, brute(line, &s, 1e4, 3e7));
        assert!(total > 2, "{total}");
        assert_eq!(listed[0].cheaper_above, Cheaper::Fleet);
        assert_eq!(listed[1].cheaper_above, Cheaper::PerRequest);
        assert!((listed[1].requests_per_month - 1e6).abs() < 1e-6);
        // Past 20.6 instances a new one no longer tips the order back: the fleet stays cheaper.
        let last = found.last.unwrap();
        assert_eq!(last.cheaper_above, Cheaper::Fleet);
        assert!(
            last.requests_per_month > 2e7 && last.requests_per_month < 2.2e7,
            "{last:?}"
        );
    }

    #[test]
    fn the_drawn_staircase_passes_through_the_cost_at_every_volume() {
        let s = fleet(1e6, 1e3);
        let points = CostCurve::Steps(s).polyline(5e5, 4.5e6, 100);
        assert_eq!(points.first(), Some(&(5e5, 1e3)));
        assert_eq!(points.last(), Some(&(4.5e6, 5e3)));
        // Each riser is vertical at a whole instance's volume.
        assert!(points.contains(&(2e6, 2e3)) && points.contains(&(2e6, 3e3)));
    }
}
