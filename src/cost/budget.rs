//! The realistic budget (seed 000: "2-3x advertised pricing"): list price × itemised factors,
//! each an uplift range; Monte Carlo over the ranges gives P50/P90 and each factor's share.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::stats::quantile_sorted;
use crate::uncertain::Uncertain;

/// One hidden cost: an uplift on the list price, as a fraction (0.2 = +20 %), between `low` and
/// `high` (uniform), or drawn from `drawn` (then `low` and `high` are its P10 and P90), with
/// where it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub name: String,
    pub low: f64,
    pub high: f64,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn: Option<Drawn>,
}

/// An uplift drawn as `scale × x + offset`, `x` from `distribution`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drawn {
    pub distribution: Uncertain,
    pub scale: f64,
    pub offset: f64,
}

impl Factor {
    /// A factor measured in the simulation: one value.
    pub fn measured(name: &str, value: f64, source: String) -> Factor {
        Factor {
            name: name.into(),
            low: value,
            high: value,
            source,
            drawn: None,
        }
    }

    /// A factor drawn from a distribution: `scale × x + offset`.
    pub fn drawn(
        name: &str,
        distribution: Uncertain,
        scale: f64,
        offset: f64,
        source: String,
    ) -> Factor {
        let at = |q: f64| scale * distribution.quantile(q) + offset;
        Factor {
            name: name.into(),
            low: at(0.1),
            high: at(0.9),
            source,
            drawn: Some(Drawn {
                distribution,
                scale,
                offset,
            }),
        }
    }

    /// The uplift at uniform draw `u`.
    pub fn at(&self, u: f64) -> f64 {
        match &self.drawn {
            Some(d) => d.scale * d.distribution.quantile(u) + d.offset,
            None => self.low + u * (self.high - self.low),
        }
    }

    pub fn mean(&self) -> f64 {
        match &self.drawn {
            Some(d) => d.scale * d.distribution.mean() + d.offset,
            None => 0.5 * (self.low + self.high),
        }
    }
}

/// The hidden costs of a fleet billed by the instance-hour (SageMaker real-time): its hours
/// are set by the simulated peak (or workday), so retries and peak-hour variability do not add
/// to them, and prompts are free on an instance; data transfer and monitoring still do.
pub fn fleet_factors() -> Vec<Factor> {
    seed000_factors(0.0, 0.0)
        .into_iter()
        .filter(|f| f.name == "data transfer" || f.name == "monitoring and logging")
        .collect()
}

/// Seed 000's hidden cost factors. The system-prompt and history uplifts are measured from the
/// simulated workload (its tokens against the bare messages a price calculator would count).
pub fn seed000_factors(system_prompt_uplift: f64, history_uplift: f64) -> Vec<Factor> {
    let measured = |name: &str, value: f64, what: &str| {
        Factor::measured(
            name,
            value,
            format!("measured in the simulation: {what}; seed 000 says system prompts are often 200-500 tokens"),
        )
    };
    let ranged = |name: &str, low: f64, high: f64, source: &str| Factor {
        name: name.into(),
        low,
        high,
        source: source.into(),
        drawn: None,
    };
    vec![
        measured(
            "system prompt on every request",
            system_prompt_uplift,
            "system-prompt tokens priced against the bare request",
        ),
        measured(
            "conversation history",
            history_uplift,
            "earlier turns carried in prompts, priced against the bare request",
        ),
        ranged(
            "retries and failures",
            0.05,
            0.10,
            "seed 000: 5-10 % failure rates at peak, retried up to 3 times",
        ),
        ranged(
            "data transfer",
            0.02,
            0.10,
            "assumed; seed 000: cross-region transfer fees can exceed compute",
        ),
        ranged(
            "monitoring and logging",
            0.10,
            0.30,
            "seed 000: operational overhead 10-30 %",
        ),
        ranged(
            "peak-hour variability",
            0.10,
            0.30,
            "assumed headroom; seed 000: performance varies 3x between peak and off-peak",
        ),
    ]
}

/// What the simulation measured for a per-request option, and how uncertain its demand is.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// The system prompt's and the carried history's tokens, priced against the list price.
    pub system_prompt: f64,
    pub history: f64,
    /// Requests that failed after being billed, as a share of the month (the simulated peak at
    /// the account's current quota; throttled attempts are refused before any token).
    pub billed_failures: f64,
    /// The simulated month ÷ the list price: what a share of the month is as an uplift on list.
    pub month_over_list: f64,
    /// Requests × tokens against the plan (1 = as planned): the demand factor's uplift is
    /// `(D − 1) × month ÷ list`.
    pub demand: Option<Uncertain>,
}

/// The budget factors of a per-request option: the system prompt, history and failures as the
/// simulation measured them; data transfer and monitoring as seed 000 states them, as shares
/// of the simulated month (the same base the forecast applies them to); and the
/// demand's uncertainty (requests per user × tokens per request, from the scenario's
/// `[forecast]`) in place of seed 000's assumed peak-hour variability.
pub fn per_request_factors(m: &Measured) -> Vec<Factor> {
    let mut factors: Vec<Factor> = seed000_factors(m.system_prompt, m.history)
        .into_iter()
        .filter(|f| f.name != "peak-hour variability")
        .map(|f| {
            if f.name == "retries and failures" {
                Factor::measured(
                    "retries and failures",
                    m.billed_failures * m.month_over_list,
                    "measured in the simulation: requests failing after they were billed at the peak, at the current quota; throttled attempts are refused before any token and bill nothing".into(),
                )
            } else if f.low == f.high {
                f
            } else {
                Factor {
                    low: f.low * m.month_over_list,
                    high: f.high * m.month_over_list,
                    source: format!("{}; as a share of the simulated month", f.source),
                    ..f
                }
            }
        })
        .collect();
    if let Some(demand) = &m.demand {
        factors.push(Factor::drawn(
            "demand: requests per user × tokens per request",
            demand.clone(),
            m.month_over_list,
            -m.month_over_list,
            "the scenario's [forecast] usage_per_user × tokens_per_request (P10–P90 shown as the uplift on list)".into(),
        ));
    }
    factors
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    pub factor: String,
    /// Mean monthly USD this factor adds.
    pub usd: f64,
    /// Its part of the uplift over list price.
    pub fraction_of_uplift: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub list_monthly_usd: f64,
    pub mean_monthly_usd: f64,
    pub p50_monthly_usd: f64,
    pub p90_monthly_usd: f64,
    pub multiplier_p50: f64,
    pub multiplier_p90: f64,
    pub shares: Vec<Share>,
}

/// `total = list × (1 + Σ uplift_i)`: additive, so removing a factor moves the total by exactly
/// its share.
pub fn realistic(list_monthly_usd: f64, factors: &[Factor], samples: usize, seed: u64) -> Budget {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut totals: Vec<f64> = (0..samples.max(1))
        .map(|_| {
            let uplift: f64 = factors.iter().map(|f| f.at(rng.random::<f64>())).sum();
            list_monthly_usd * (1.0 + uplift)
        })
        .collect();
    totals.sort_by(f64::total_cmp);
    let quantile = |q: f64| quantile_sorted(&totals, q).expect("at least one sample");
    let uplift: f64 = factors.iter().map(Factor::mean).sum();
    let shares = factors
        .iter()
        .map(|f| Share {
            factor: f.name.clone(),
            usd: list_monthly_usd * f.mean(),
            fraction_of_uplift: if uplift > 0.0 { f.mean() / uplift } else { 0.0 },
        })
        .collect();
    let multiplier = |usd: f64| {
        if list_monthly_usd > 0.0 {
            usd / list_monthly_usd
        } else {
            0.0
        }
    };
    Budget {
        list_monthly_usd,
        mean_monthly_usd: list_monthly_usd * (1.0 + uplift),
        p50_monthly_usd: quantile(0.5),
        p90_monthly_usd: quantile(0.9),
        multiplier_p50: multiplier(quantile(0.5)),
        multiplier_p90: multiplier(quantile(0.9)),
        shares,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed000_ranges_land_in_2_to_3x_for_a_chat_workload() {
        // multi_turn_chat on Claude 3.5 Sonnet: a bare request is 50 in + 150 out tokens
        // ($2,400 per million requests); the 200-token system prompt adds $600 (+25 %) and the
        // carried history (300 tokens on average) $900 (+37.5 %).
        let budget = realistic(10_000.0, &seed000_factors(0.25, 0.375), 20_000, 1);
        assert!(
            budget.multiplier_p50 >= 2.0 && budget.multiplier_p90 <= 3.0,
            "{budget:?}"
        );
        assert!(budget.p90_monthly_usd > budget.p50_monthly_usd);
    }

    #[test]
    fn removing_a_factor_moves_the_mean_by_exactly_its_share() {
        let factors = seed000_factors(0.25, 0.375);
        let all = realistic(10_000.0, &factors, 10, 1);
        for (i, share) in all.shares.iter().enumerate() {
            let mut fewer = factors.clone();
            fewer.remove(i);
            let without = realistic(10_000.0, &fewer, 10, 1);
            assert!((all.mean_monthly_usd - without.mean_monthly_usd - share.usd).abs() < 1e-9);
        }
        let fractions: f64 = all.shares.iter().map(|s| s.fraction_of_uplift).sum();
        assert!((fractions - 1.0).abs() < 1e-12);
    }

    #[test]
    fn demand_uncertainty_widens_the_budget_and_failures_are_measured() {
        let measured = |demand: Option<Uncertain>| Measured {
            system_prompt: 0.5,
            history: 1.0,
            billed_failures: 0.01,
            month_over_list: 2.5,
            demand,
        };
        let fixed = per_request_factors(&measured(Some(Uncertain::fixed(1.0))));
        // Failures: 1 % of a month worth 2.5× list is +2.5 % of list; a demand exactly as
        // planned adds nothing; seed 000's 10–30 % monitoring is of the month: 25–75 % of list.
        let factor = |fs: &[Factor], name: &str| {
            fs.iter()
                .find(|f| f.name.starts_with(name))
                .unwrap()
                .clone()
        };
        assert!((factor(&fixed, "retries").mean() - 0.025).abs() < 1e-12);
        assert_eq!(factor(&fixed, "demand").mean(), 0.0);
        let monitoring = factor(&fixed, "monitoring");
        assert!((monitoring.low - 0.25).abs() < 1e-12 && (monitoring.high - 0.75).abs() < 1e-12);
        assert!(fixed.iter().all(|f| f.name != "peak-hour variability"));
        let spread = |demand: Uncertain| {
            let b = realistic(
                1_000.0,
                &per_request_factors(&measured(Some(demand))),
                20_000,
                7,
            );
            b.p90_monthly_usd / b.p50_monthly_usd
        };
        let narrow = spread(Uncertain::Lognormal {
            median: 1.0,
            sigma: 0.1,
        });
        let wide = spread(Uncertain::Lognormal {
            median: 1.0,
            sigma: 0.4,
        });
        assert!(wide > narrow * 1.2, "{narrow} {wide}");
    }
}
