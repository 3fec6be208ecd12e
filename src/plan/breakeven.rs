//! Break-even between a per-request option and a dedicated fleet serving the same model: where
//! their monthly cost lines cross, and which is cheaper at the scenario's own volume. Options
//! serving different models are a model choice, not a price comparison, and are not paired.

use super::types::{BreakEven, OptionKind, OptionPlan};
use crate::cost::money::crossover_volume;

pub fn break_even(options: &[OptionPlan], monthly_requests: f64) -> Vec<BreakEven> {
    let mut rows = Vec::new();
    for dedicated in options.iter().filter(|o| o.kind == OptionKind::Sagemaker) {
        for per_request in options
            .iter()
            .filter(|o| o.kind.per_request() && o.model == dedicated.model)
        {
            let a = per_request.cost_line();
            let b = dedicated.cost_line();
            let (cost_a, cost_b) = (a.at(monthly_requests), b.at(monthly_requests));
            let (cheaper, dearer) = if cost_a <= cost_b {
                (per_request, cost_b)
            } else {
                (dedicated, cost_a)
            };
            let saving = (cost_a - cost_b).abs();
            rows.push(BreakEven {
                model: dedicated.model.clone(),
                per_request: per_request.name.clone(),
                dedicated: dedicated.name.clone(),
                crossover_requests_per_month: crossover_volume(
                    a.fixed_usd,
                    a.per_request_usd,
                    b.fixed_usd,
                    b.per_request_usd,
                ),
                cheaper_at_plan: cheaper.name.clone(),
                saving_at_plan_usd: saving,
                saving_fraction: if dearer > 0.0 { saving / dearer } else { 0.0 },
            });
        }
    }
    rows
}
