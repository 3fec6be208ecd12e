//! The monthly forecast (pure): each option's month over a horizon as demand adopts, grows and
//! is uncertain, by Monte Carlo over the scenario's `[forecast]` distributions with common
//! random numbers across options; quantiles per month and cumulative, the month same-model
//! options cross, and a tornado of which input moves the horizon's cost most.

pub mod option_cost;
pub mod quota_outlook;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::plan::forecast_spec::{ForecastSpec, Uncertain, INPUTS};
use crate::plan::Plan;
use crate::stats::quantile_sorted;
pub use option_cost::{Billing, OptionCost};
pub use quota_outlook::QuotaOutlook;

/// Adoption's logistic steepness, per month: from 27 % to 73 % of the way in two months about
/// the midpoint.
pub const ADOPTION_STEEPNESS: f64 = 1.0;

/// One value of every input.
#[derive(Clone, Debug, PartialEq)]
pub struct Values {
    pub adoption_start: f64,
    pub adoption_target: f64,
    pub adoption_midpoint_month: f64,
    pub usage_per_user: f64,
    pub usage_growth_per_month: f64,
    pub tokens_per_request: f64,
    pub performance: f64,
    /// The hidden costs' uplift (data transfer + monitoring), as a fraction.
    pub hidden_costs: f64,
}

impl Values {
    /// Every input at quantile `q_of(name)`.
    pub fn at(spec: &ForecastSpec, q_of: impl Fn(&str) -> f64) -> Values {
        let v = |name: &str| {
            spec.input(name)
                .expect("INPUTS names every input")
                .quantile(q_of(name))
        };
        Values {
            adoption_start: v("adoption_start"),
            adoption_target: v("adoption_target"),
            adoption_midpoint_month: v("adoption_midpoint_month"),
            usage_per_user: v("usage_per_user"),
            usage_growth_per_month: v("usage_growth_per_month"),
            tokens_per_request: v("tokens_per_request"),
            performance: v("performance"),
            hidden_costs: v("hidden_costs"),
        }
    }

    /// Share of employees using it in month `m` (0 = the first month).
    pub fn adoption(&self, m: u32) -> f64 {
        let sigma = |x: f64| 1.0 / (1.0 + (-x).exp());
        let k = ADOPTION_STEEPNESS;
        let s0 = sigma(-self.adoption_midpoint_month * k);
        let s = (sigma((f64::from(m) - self.adoption_midpoint_month) * k) - s0) / (1.0 - s0);
        self.adoption_start + (self.adoption_target - self.adoption_start) * s
    }

    /// Requests in month `m` against the plan's month (which counts every employee).
    pub fn demand(&self, m: u32) -> f64 {
        self.adoption(m) * self.usage_per_user * (1.0 + self.usage_growth_per_month).powi(m as i32)
    }

    /// Each month's cost for one option.
    pub fn months(&self, option: &OptionCost, months: u32) -> Vec<f64> {
        (0..months)
            .map(|m| {
                option.month_usd(self.demand(m), self.tokens_per_request, self.performance)
                    * (1.0 + self.hidden_costs)
            })
            .collect()
    }
}

/// P10, P50, P90 and the mean of one figure over the draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub mean: f64,
}

impl Band {
    fn of(values: &mut [f64]) -> Band {
        values.sort_by(f64::total_cmp);
        let q = |p: f64| quantile_sorted(values, p).unwrap_or(0.0);
        Band {
            p10: q(0.10),
            p50: q(0.50),
            p90: q(0.90),
            mean: values.iter().sum::<f64>() / values.len().max(1) as f64,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionForecast {
    pub name: String,
    pub model: String,
    pub monthly: Vec<Band>,
    pub cumulative: Vec<Band>,
    /// The plan's month (every employee, as simulated) and at list price, for scale.
    pub plan_month_usd: f64,
    pub list_month_usd: f64,
    pub notes: Vec<String>,
}

/// Two options serving the same model: the first month the cheaper one (by P50) changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    pub model: String,
    pub a: String,
    pub b: String,
    /// 1-based month; none when the order holds over the horizon.
    pub month: Option<u32>,
    pub cheaper_first: String,
    pub cheaper_last: String,
}

/// One input's swing: the horizon's cost with it at its P10 and P90, the others at their
/// medians.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TornadoBar {
    pub input: String,
    pub at_p10_usd: f64,
    pub at_p90_usd: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tornado {
    pub option: String,
    /// Every input at its median.
    pub base_usd: f64,
    /// Largest swing first.
    pub bars: Vec<TornadoBar>,
}

/// One input as it was used: its distribution, quantiles and where it comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRow {
    pub name: String,
    pub distribution: Uncertain,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub scenario: String,
    pub months: u32,
    pub draws: u32,
    pub seed: u64,
    pub options: Vec<OptionForecast>,
    pub crossings: Vec<Crossing>,
    pub tornado: Vec<Tornado>,
    pub inputs: Vec<InputRow>,
    /// Each Bedrock option's quotas: the month each runs out at P50 and P90 of demand.
    #[serde(default)]
    pub quotas: Vec<QuotaOutlook>,
    pub assumptions: Vec<String>,
}

/// Runs the forecast for a computed plan.
pub fn run(plan: &Plan, spec: &ForecastSpec, seed: u64) -> Forecast {
    let options: Vec<OptionCost> = plan.options.iter().map(OptionCost::from_plan).collect();
    let n = spec.draws.max(1) as usize;
    let months = spec.months;
    let mut rng = StdRng::seed_from_u64(seed);
    // Common random numbers: one draw of every input serves every option.
    let draws: Vec<[f64; INPUTS.len()]> = (0..n)
        .map(|_| {
            let mut u = [0.0; INPUTS.len()];
            for x in &mut u {
                *x = rng.random::<f64>();
            }
            u
        })
        .collect();
    let index = |name: &str| INPUTS.iter().position(|i| *i == name).unwrap_or(0);
    let mut forecasts = Vec::new();
    let default_performance = ForecastSpec::default().performance;
    // An option whose profile has intervals draws its capacity from them, unless the scenario
    // set `performance` itself.
    let spec_for = |plan_option: &crate::plan::OptionPlan| {
        let mut s = spec.clone();
        if let (Some(sigma), true) = (
            plan_option.capacity_log_sigma,
            spec.performance == default_performance,
        ) {
            s.performance = Uncertain::Lognormal { median: 1.0, sigma };
        }
        s
    };
    let specs: Vec<ForecastSpec> = plan.options.iter().map(spec_for).collect();
    for (option, spec) in options.iter().zip(&specs) {
        let mut monthly = vec![Vec::with_capacity(n); months as usize];
        let mut cumulative = vec![Vec::with_capacity(n); months as usize];
        for u in &draws {
            let values = Values::at(spec, |name| u[index(name)]);
            let mut total = 0.0;
            for (m, usd) in values.months(option, months).into_iter().enumerate() {
                total += usd;
                monthly[m].push(usd);
                cumulative[m].push(total);
            }
        }
        forecasts.push(OptionForecast {
            name: option.name.clone(),
            model: option.model.clone(),
            monthly: monthly.iter_mut().map(|v| Band::of(v)).collect(),
            cumulative: cumulative.iter_mut().map(|v| Band::of(v)).collect(),
            plan_month_usd: option.plan_month_usd,
            list_month_usd: option.list_month_usd,
            notes: option.notes.clone(),
        });
    }
    let quota_draws: Vec<Values> = draws
        .iter()
        .map(|u| Values::at(spec, |name| u[index(name)]))
        .collect();
    let quotas = plan
        .options
        .iter()
        .filter_map(|o| {
            o.quota
                .as_ref()
                .map(|q| quota_outlook::outlook(&o.name, &q.checks, &quota_draws, months))
        })
        .flatten()
        .collect();
    let tornado = options
        .iter()
        .zip(&specs)
        .map(|(o, s)| tornado(s, o))
        .collect();
    let inputs = INPUTS
        .iter()
        .zip(sources(spec))
        .map(|(name, source)| {
            let u = spec.input(name).expect("INPUTS names every input");
            InputRow {
                name: name.to_string(),
                distribution: u.clone(),
                p10: u.quantile(0.1),
                p50: u.quantile(0.5),
                p90: u.quantile(0.9),
                source,
            }
        })
        .collect();
    Forecast {
        scenario: plan.scenario.clone(),
        months,
        draws: n as u32,
        seed,
        crossings: crossings(&forecasts),
        options: forecasts,
        tornado,
        inputs,
        quotas,
        assumptions: vec![
            format!("Month 1 is the first month of use. Adoption follows a logistic curve from adoption_start to adoption_target, halfway at adoption_midpoint_month, steepness {ADOPTION_STEEPNESS} a month; requests = the plan's month (every employee at the scenario's sessions × turns) × adoption × usage_per_user × (1 + usage_growth_per_month)^(month − 1)."),
            "Per-request options (Bedrock, Serverless) bill the plan's simulated month in proportion to requests × tokens_per_request; an always-on SageMaker fleet adds whole instances as peak users × demand outgrow what one instance holds at the planning point (× performance); an autoscaled one follows its cost line.".into(),
            "A Bedrock quota's p99 minute (the plan's, every employee at the scenario's peak) scales with each draw's demand (× tokens_per_request for token quotas); it runs out in the first month it exceeds the value the plan runs at (the ask where short, else the current quota), read at P50 and P90 of the draws.".into(),
            "Data transfer and monitoring are the plan's, priced per GB and alarm, scaled with each draw's traffic; hidden_costs is a further uplift a draw (none by default); the system prompt, history and retries are in the simulated tokens; peak-hour variability is replaced by the demand distributions.".into(),
            format!("{} draws with common random numbers across options (seed {seed}); quantiles are nearest-rank.", n),
        ],
    }
}

fn tornado(spec: &ForecastSpec, option: &OptionCost) -> Tornado {
    let total = |values: &Values| values.months(option, spec.months).iter().sum::<f64>();
    let mut bars: Vec<TornadoBar> = INPUTS
        .iter()
        .map(|input| {
            let at = |q: f64| {
                total(&Values::at(
                    spec,
                    |name| if name == *input { q } else { 0.5 },
                ))
            };
            TornadoBar {
                input: input.to_string(),
                at_p10_usd: at(0.1),
                at_p90_usd: at(0.9),
            }
        })
        .collect();
    bars.sort_by(|a, b| {
        (b.at_p90_usd - b.at_p10_usd)
            .abs()
            .total_cmp(&(a.at_p90_usd - a.at_p10_usd).abs())
    });
    Tornado {
        option: option.name.clone(),
        base_usd: total(&Values::at(spec, |_| 0.5)),
        bars,
    }
}

fn crossings(options: &[OptionForecast]) -> Vec<Crossing> {
    let mut out = Vec::new();
    for (i, a) in options.iter().enumerate() {
        for b in &options[i + 1..] {
            if a.model != b.model || a.monthly.is_empty() {
                continue;
            }
            let a_cheaper = |m: usize| a.monthly[m].p50 <= b.monthly[m].p50;
            let first = a_cheaper(0);
            let last = a_cheaper(a.monthly.len() - 1);
            let month = (1..a.monthly.len())
                .find(|m| a_cheaper(*m) != first)
                .map(|m| m as u32 + 1);
            let name = |cheaper: bool| {
                if cheaper {
                    a.name.clone()
                } else {
                    b.name.clone()
                }
            };
            out.push(Crossing {
                model: a.model.clone(),
                a: a.name.clone(),
                b: b.name.clone(),
                month,
                cheaper_first: name(first),
                cheaper_last: name(last),
            });
        }
    }
    out
}

/// Every input's source: the scenario where it departs from the default, else the default's.
pub fn sources(spec: &ForecastSpec) -> Vec<String> {
    let default = ForecastSpec::default();
    INPUTS
        .iter()
        .map(|name| {
            if spec.input(name) == default.input(name) {
                ForecastSpec::default_source(name).to_string()
            } else {
                "set in the scenario's [forecast]".to_string()
            }
        })
        .collect()
}
