//! The realistic budget (seed 000: "2-3x advertised pricing"): list price × itemised factors,
//! each an uplift range; Monte Carlo over the ranges gives P50/P90 and each factor's share.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::overheads::Overheads;
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
    #[serde(default)]
    pub step: Step,
}

/// Where a budget step stands in the waterfall: inside the simulated month (list price to what
/// the simulation sent), outside it (priced per unit of what drives it), or the demand's
/// uncertainty around the plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    #[default]
    Simulated,
    Overhead,
    Demand,
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
            step: Step::Simulated,
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
            step: Step::Demand,
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

/// Data transfer and monitoring priced per unit of what drives them, as uplifts on `list_usd`:
/// the steps outside the simulated month.
pub fn overhead_factors(o: &Overheads, list_usd: f64) -> Vec<Factor> {
    let on_list = |usd: f64| if list_usd > 0.0 { usd / list_usd } else { 0.0 };
    [
        ("data transfer", o.transfer_usd, &o.transfer_reading),
        (
            "monitoring and logging",
            o.monitoring_usd,
            &o.monitoring_reading,
        ),
    ]
    .into_iter()
    .map(|(name, usd, reading)| Factor {
        step: Step::Overhead,
        ..Factor::measured(name, on_list(usd), reading.clone())
    })
    .collect()
}

/// Seed 000's hidden cost factors inside the month. The system-prompt and history uplifts are
/// measured from the simulated workload (its tokens against the bare messages a price
/// calculator would count); retries are seed 000's range until a simulation measures them.
pub fn seed000_factors(system_prompt_uplift: f64, history_uplift: f64) -> Vec<Factor> {
    let measured = |name: &str, value: f64, what: &str| {
        Factor::measured(name, value, format!("measured in the simulation: {what}"))
    };
    vec![
        measured(
            "system prompt on every request",
            system_prompt_uplift,
            "system-prompt tokens at the input price, against the bare request (seed 000: system prompts are often 200-500 tokens)",
        ),
        measured(
            "conversation history",
            history_uplift,
            "earlier turns carried in prompts, priced against the bare request",
        ),
        Factor {
            name: "retries and failures".into(),
            low: 0.05,
            high: 0.10,
            source: "seed 000: 5-10 % failure rates at peak, retried up to 3 times".into(),
            drawn: None,
            step: Step::Simulated,
        },
    ]
}

/// What the simulation measured for a per-request option, and how uncertain its demand is.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// The system prompt's and the carried history's tokens at the input price, and what the
    /// prompt cache changes (reads cheaper, writes dearer: usually negative), against list.
    pub system_prompt: f64,
    pub history: f64,
    pub prompt_cache: f64,
    /// How the cache was priced (prefix, hit rate, the read and write prices).
    pub prompt_cache_source: String,
    /// Requests that failed after being billed, as a share of the month (the simulated peak at
    /// the account's current quota; throttled attempts are refused before any token).
    pub billed_failures: f64,
    /// The simulated month ÷ the list price: what a share of the month is as an uplift on list.
    pub month_over_list: f64,
    /// Requests × tokens against the plan (1 = as planned): the demand factor's uplift is
    /// `(D − 1) × month ÷ list`.
    pub demand: Option<Uncertain>,
}

/// The budget factors of a per-request option, in waterfall order: inside the simulated month
/// the system prompt, the prompt cache, history and failures as the simulation measured them;
/// then `overheads` (data transfer and monitoring, priced per unit); then the demand's
/// uncertainty (requests per user × tokens per request, from the scenario's `[forecast]`) in
/// place of seed 000's assumed peak-hour variability.
pub fn per_request_factors(m: &Measured, overheads: Vec<Factor>) -> Vec<Factor> {
    let mut factors: Vec<Factor> = seed000_factors(m.system_prompt, m.history)
        .into_iter()
        .map(|f| {
            if f.name == "retries and failures" {
                Factor::measured(
                    "retries and failures",
                    m.billed_failures * m.month_over_list,
                    "measured in the simulation: requests failing after they were billed at the peak, at the current quota; throttled attempts are refused before any token and bill nothing".into(),
                )
            } else {
                f
            }
        })
        .collect();
    if m.prompt_cache != 0.0 {
        factors.insert(
            1,
            Factor::measured(
                "prompt cache",
                m.prompt_cache,
                m.prompt_cache_source.clone(),
            ),
        );
    }
    factors.extend(overheads);
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
    #[serde(default)]
    pub step: Step,
    /// Where the figure comes from.
    #[serde(default)]
    pub source: String,
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
            step: f.step,
            source: f.source.clone(),
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
    fn the_in_month_steps_add_to_list_by_hand() {
        // multi_turn_chat on Claude 3.5 Sonnet: a bare request is 50 in + 150 out tokens
        // ($2,400 per million requests); the 200-token system prompt adds $600 (+25 %), the
        // carried history (300 tokens on average) $900 (+37.5 %), retries 5–10 % (mean 7.5 %).
        let budget = realistic(10_000.0, &seed000_factors(0.25, 0.375), 20_000, 1);
        assert!(
            (budget.mean_monthly_usd - 10_000.0 * 1.7).abs() < 1e-9,
            "{budget:?}"
        );
        assert!(budget.p90_monthly_usd > budget.p50_monthly_usd);
        assert!(budget.shares.iter().all(|s| s.step == Step::Simulated));
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
            prompt_cache: -0.2,
            prompt_cache_source: "cache".into(),
            billed_failures: 0.01,
            month_over_list: 2.5,
            demand,
        };
        let overheads = Overheads {
            egress_gb: 10.0,
            transfer_usd: 0.9,
            transfer_reading: "egress".into(),
            logged_gb: 5.0,
            monitoring_usd: 6.0,
            monitoring_reading: "logs".into(),
        };
        let with =
            |demand| per_request_factors(&measured(demand), overhead_factors(&overheads, 1_000.0));
        let fixed = with(Some(Uncertain::fixed(1.0)));
        // Failures: 1 % of a month worth 2.5× list is +2.5 % of list; a demand exactly as
        // planned adds nothing; $6 of monitoring on a $1,000 list is +0.6 %; the cache's saving
        // follows the system prompt, before history.
        let factor = |fs: &[Factor], name: &str| {
            fs.iter()
                .find(|f| f.name.starts_with(name))
                .unwrap()
                .clone()
        };
        assert!((factor(&fixed, "retries").mean() - 0.025).abs() < 1e-12);
        assert_eq!(factor(&fixed, "demand").mean(), 0.0);
        let monitoring = factor(&fixed, "monitoring");
        assert!((monitoring.mean() - 0.006).abs() < 1e-12);
        assert_eq!(monitoring.step, Step::Overhead);
        let names: Vec<&str> = fixed.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            &names[..3],
            [
                "system prompt on every request",
                "prompt cache",
                "conversation history"
            ]
        );
        assert!(fixed.iter().all(|f| f.name != "peak-hour variability"));
        let spread = |demand: Uncertain| {
            let b = realistic(1_000.0, &with(Some(demand)), 20_000, 7);
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
