//! Break-even between a per-request option and a dedicated fleet serving the same model: every
//! volume where their monthly costs change order (a fleet's as whole instances), and which is
//! cheaper at the scenario's own volume. Options serving different models are a model choice,
//! not a price comparison, and are not paired.

use super::staircase::{self, Cheaper, CostCurve, Crossing, Crossings};
use super::types::{BreakEven, CostLine, OptionKind, OptionPlan};
use crate::cost::money::crossover_volume;

/// Crossings are searched from this fraction of the scenario's volume to `RANGE_HIGH` times it.
pub const RANGE_LOW: f64 = 0.001;
pub const RANGE_HIGH: f64 = 1_000.0;

pub fn break_even(options: &[OptionPlan], monthly_requests: f64) -> Vec<BreakEven> {
    let mut rows = Vec::new();
    let range = [monthly_requests * RANGE_LOW, monthly_requests * RANGE_HIGH];
    for dedicated in options.iter().filter(|o| o.kind == OptionKind::Sagemaker) {
        for per_request in options
            .iter()
            .filter(|o| o.kind.per_request() && o.model == dedicated.model)
        {
            let a = per_request.cost_line();
            let b = dedicated.cost_curve();
            let (cost_a, cost_b) = (a.at(monthly_requests), b.at(monthly_requests));
            let (cheaper, dearer) = if cost_a <= cost_b {
                (per_request, cost_b)
            } else {
                (dedicated, cost_a)
            };
            let saving = (cost_a - cost_b).abs();
            let found = crossings(a, &b, range[0], range[1]);
            rows.push(BreakEven {
                model: dedicated.model.clone(),
                per_request: per_request.name.clone(),
                dedicated: dedicated.name.clone(),
                crossings: found.listed,
                crossings_total: found.total,
                last_crossing: found.last,
                range: [range[0], found.searched_to],
                fleet_steps: dedicated.fleet_steps,
                per_request_usd: a.per_request_usd,
                fleet_usd_per_request_full: match b {
                    CostCurve::Steps(s) => s.usd_per_request_full(),
                    CostCurve::Line(l) => l.per_request_usd,
                },
                cheaper_at_plan: cheaper.name.clone(),
                saving_at_plan_usd: saving,
                saving_fraction: if dearer > 0.0 { saving / dearer } else { 0.0 },
                reserved_month_usd: per_request.reserve.as_ref().map(|r| r.monthly_usd),
                dedicated_month_usd: cost_b,
            });
        }
    }
    rows
}

/// Where a per-request line and a fleet's cost curve change order between `lo` and `hi`.
fn crossings(line: CostLine, fleet: &CostCurve, lo: f64, hi: f64) -> Crossings {
    match fleet {
        CostCurve::Steps(steps) => staircase::crossings(line, steps, lo, hi),
        CostCurve::Line(f) => {
            let at = crossover_volume(
                line.fixed_usd,
                line.per_request_usd,
                f.fixed_usd,
                f.per_request_usd,
            )
            .filter(|v| (lo..=hi).contains(v));
            let listed: Vec<Crossing> = at
                .map(|v| Crossing {
                    requests_per_month: v,
                    cheaper_above: if line.per_request_usd > f.per_request_usd {
                        Cheaper::Fleet
                    } else {
                        Cheaper::PerRequest
                    },
                    instances: 0,
                })
                .into_iter()
                .collect();
            Crossings {
                total: listed.len() as u64,
                last: listed.last().copied(),
                listed,
                searched_to: hi,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::budget::Budget;

    fn option(name: &str, kind: OptionKind, model: &str, monthly: f64, fixed: f64) -> OptionPlan {
        OptionPlan {
            name: name.into(),
            kind,
            model: model.into(),
            service: String::new(),
            hosting: None,
            profile_source: String::new(),
            borrowed: None,
            operating_point: None,
            performance_model: String::new(),
            knee_users: 10,
            knee_at_search_limit: false,
            planned_users: 6,
            knee_users_at_current_quota: None,
            knee_at_current_quota_at_search_limit: false,
            instances: None,
            peak_users: 5,
            peak_meets_slo: true,
            peak_ttft_p95_s: 0.1,
            peak_tpot_p95_s: 0.01,
            capacity_note: None,
            quota: None,
            monthly_requests: 1_000_000.0,
            mean_input_tokens: 0.0,
            mean_output_tokens: 0.0,
            requests_per_user_hour: 0.0,
            monthly_list_usd: monthly,
            monthly_on_demand_usd: monthly,
            tiers: Vec::new(),
            reserve: None,
            prompt_cache_note: None,
            cost_per_request_usd: monthly / 1e6,
            monthly_fixed_usd: fixed,
            capacity_log_sigma: None,
            capacity_interval: None,
            instance_hours_per_month: None,
            fleet_steps: None,
            fleet_basis: None,
            scaling: None,
            savings_plan: None,
            budget_reading: String::new(),
            budget: Budget {
                list_monthly_usd: monthly,
                mean_monthly_usd: monthly,
                p50_monthly_usd: monthly,
                p90_monthly_usd: monthly,
                multiplier_p50: 1.0,
                multiplier_p90: 1.0,
                shares: Vec::new(),
            },
            price_source: String::new(),
            curve: Vec::new(),
            curve_scale: 1,
            peak_minutes: Vec::new(),
        }
    }

    #[test]
    fn pairs_only_the_same_model_and_solves_the_lines_by_hand() {
        // $2,000 a month for 1 M requests per token ($0.002 each) against a $5,000 fleet plus
        // $1,000 that follows volume ($0.001 each): 0.002·v = 5,000 + 0.001·v at v = 5 M.
        let options = [
            option("bedrock", OptionKind::Bedrock, "m", 2_000.0, 0.0),
            option("fleet", OptionKind::Sagemaker, "m", 6_000.0, 5_000.0),
            option("other model", OptionKind::Bedrock, "n", 100.0, 0.0),
        ];
        let rows = break_even(&options, 1_000_000.0);
        assert_eq!(rows.len(), 1, "{rows:?}");
        let b = &rows[0];
        assert_eq!(
            (b.per_request.as_str(), b.dedicated.as_str()),
            ("bedrock", "fleet")
        );
        assert_eq!(b.crossings_total, 1);
        assert!((b.crossings[0].requests_per_month - 5_000_000.0).abs() < 1e-6);
        assert_eq!(b.crossings[0].cheaper_above, Cheaper::Fleet);
        assert_eq!(b.cheaper_at_plan, "bedrock");
        assert!((b.saving_at_plan_usd - 4_000.0).abs() < 1e-9);
        assert!((b.saving_fraction - 4_000.0 / 6_000.0).abs() < 1e-12);
    }
}
