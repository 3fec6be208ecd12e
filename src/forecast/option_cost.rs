//! What one option's month costs when demand moves: derived from the option's plan (its cost
//! per request, its fixed part, and for an always-on fleet the users one instance holds), so a
//! forecast month at the plan's own demand costs exactly the plan's month.

use serde::{Deserialize, Serialize};

use crate::plan::{OptionKind, OptionPlan};

/// How an option's bill follows demand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Billing {
    /// Per token or per compute-second: the plan's month × demand × tokens factor.
    PerRequest { plan_month_usd: f64 },
    /// An always-on fleet sized for the peak: instances = ⌈peak users × demand ÷ (users an
    /// instance holds at the planning point × performance)⌉, at least one.
    Fleet {
        usd_per_instance_month: f64,
        peak_users: f64,
        users_per_instance: f64,
    },
    /// An autoscaled fleet: its fixed part, plus hours above the minimum in proportion to
    /// demand (as the plan's break-even assumes).
    Scaled { fixed_usd: f64, variable_usd: f64 },
}

/// One option as the forecast sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionCost {
    pub name: String,
    pub model: String,
    pub billing: Billing,
    /// The plan's month at list price (the bare message and reply, on demand).
    pub list_month_usd: f64,
    /// The plan's month as simulated (on demand).
    pub plan_month_usd: f64,
    /// Requests failed after being billed, per request, from the simulated peak at the current
    /// quota (throttled attempts are refused before any token and bill nothing).
    pub billed_retry_share: f64,
    /// The plan's data transfer and monitoring a month (priced per GB, pricing/overheads.toml):
    /// they follow the traffic.
    #[serde(default)]
    pub overheads_usd: f64,
    pub notes: Vec<String>,
}

impl OptionCost {
    pub fn from_plan(o: &OptionPlan) -> OptionCost {
        let line = o.cost_line();
        let mut notes = Vec::new();
        let always_on = o.scaling.is_none();
        let billing = match (o.kind, o.instances) {
            (OptionKind::Sagemaker, Some(n)) if always_on && n > 0 && o.planned_users > 0 => {
                let users_per_instance = f64::from(o.planned_users) / f64::from(n);
                notes.push(format!(
                    "always-on fleet: instances follow the peak, {} peak users an instance at the planning point",
                    crate::format::thousands(users_per_instance)
                ));
                Billing::Fleet {
                    usd_per_instance_month: o.monthly_on_demand_usd / f64::from(n),
                    peak_users: f64::from(o.peak_users),
                    users_per_instance,
                }
            }
            (OptionKind::Sagemaker, _) => Billing::Scaled {
                fixed_usd: line.fixed_usd,
                variable_usd: line.per_request_usd * o.monthly_requests,
            },
            _ => Billing::PerRequest {
                plan_month_usd: o.monthly_on_demand_usd,
            },
        };
        if let Some(interval) = &o.capacity_interval {
            notes.push(interval.clone());
        }
        let billed_retry_share = match &o.quota {
            Some(q) => {
                notes.push(format!(
                    "retries from the simulation: the peak at the current quota throttles {} of attempts (refused before any token, not billed) and fails {} of requests after they were billed",
                    crate::format::percent(q.throttle_rate_current),
                    crate::format::percent(q.error_rate_current)
                ));
                q.error_rate_current
            }
            None => 0.0,
        };
        OptionCost {
            name: o.name.clone(),
            model: o.model.clone(),
            billing,
            list_month_usd: o.monthly_list_usd,
            plan_month_usd: o.monthly_on_demand_usd,
            billed_retry_share,
            overheads_usd: o
                .budget
                .shares
                .iter()
                .filter(|s| s.step == crate::cost::budget::Step::Overhead)
                .map(|s| s.usd)
                .sum(),
            notes,
        }
    }

    /// The month's cost with the plan's data transfer and monitoring (following the traffic)
    /// and before any further hidden costs: `demand` is requests against the plan's month
    /// (1 = the plan's), `tokens` the tokens-per-request factor, `performance` the capacity an
    /// instance has against the profile's prediction.
    pub fn month_usd(&self, demand: f64, tokens: f64, performance: f64) -> f64 {
        let work = demand * tokens;
        self.overheads_usd * work
            + match self.billing {
                Billing::PerRequest { plan_month_usd } => {
                    plan_month_usd * work * (1.0 + self.billed_retry_share)
                }
                Billing::Fleet {
                    usd_per_instance_month,
                    peak_users,
                    users_per_instance,
                } => {
                    let needed = peak_users * work / (users_per_instance * performance.max(1e-9));
                    // 1e-9 so that exactly n instances' worth of load needs n, not n + 1.
                    (needed - 1e-9).ceil().max(1.0) * usd_per_instance_month
                }
                Billing::Scaled {
                    fixed_usd,
                    variable_usd,
                } => fixed_usd + variable_usd * work,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_adds_instances_in_steps_and_per_request_billing_is_linear() {
        let fleet = OptionCost {
            name: "f".into(),
            model: "m".into(),
            billing: Billing::Fleet {
                usd_per_instance_month: 1_000.0,
                peak_users: 300.0,
                users_per_instance: 200.0,
            },
            list_month_usd: 0.0,
            plan_month_usd: 2_000.0,
            billed_retry_share: 0.0,
            overheads_usd: 0.0,
            notes: Vec::new(),
        };
        // The plan's peak of 300 users needs 2 instances; 0.5 of it needs 1; 1.4 needs 3
        // (420 users); with 20 % less capacity an instance, the plan's peak needs 2 (300/160).
        assert_eq!(fleet.month_usd(1.0, 1.0, 1.0), 2_000.0);
        assert_eq!(fleet.month_usd(0.5, 1.0, 1.0), 1_000.0);
        assert_eq!(fleet.month_usd(1.4, 1.0, 1.0), 3_000.0);
        assert_eq!(fleet.month_usd(1.0, 1.0, 0.8), 2_000.0);
        assert_eq!(fleet.month_usd(1.0, 1.0, 0.7), 3_000.0);
        let tokens = OptionCost {
            billing: Billing::PerRequest {
                plan_month_usd: 400.0,
            },
            billed_retry_share: 0.01,
            ..fleet
        };
        assert!((tokens.month_usd(0.5, 1.2, 1.0) - 400.0 * 0.6 * 1.01).abs() < 1e-9);
        // $10 of data transfer and monitoring follow the traffic on either billing.
        let watched = OptionCost {
            overheads_usd: 10.0,
            ..tokens
        };
        assert!((watched.month_usd(0.5, 1.2, 1.0) - (400.0 * 1.01 + 10.0) * 0.6).abs() < 1e-9);
    }
}
