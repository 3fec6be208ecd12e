//! The scenario's `[forecast]` section: the horizon, the adoption curve and every uncertain
//! input as a distribution with where it comes from. Parsed and validated with the scenario;
//! `crate::forecast` runs it.

use serde::{Deserialize, Serialize};

pub use crate::uncertain::{normal_quantile, Uncertain};

/// The forecast: a horizon, an adoption curve and the uncertain inputs. Every field has a
/// default that names where it comes from (`ForecastSpec::sources`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastSpec {
    #[serde(default = "twelve")]
    pub months: u32,
    /// Monte Carlo draws.
    #[serde(default = "draws")]
    pub draws: u32,
    /// Share of employees using it in the first month.
    #[serde(default = "adoption_start")]
    pub adoption_start: Uncertain,
    /// The share it levels off at.
    #[serde(default = "adoption_target")]
    pub adoption_target: Uncertain,
    /// The month adoption is halfway between start and target (logistic curve).
    #[serde(default = "adoption_midpoint")]
    pub adoption_midpoint_month: Uncertain,
    /// Requests per adopted user against the scenario's sessions × turns (1 = as planned).
    #[serde(default = "usage_per_user")]
    pub usage_per_user: Uncertain,
    /// Growth of use per user a month, compounding (0.02 = 2 %).
    #[serde(default = "usage_growth")]
    pub usage_growth_per_month: Uncertain,
    /// Tokens per request against the simulated mean (prompts grow as people learn the tool).
    #[serde(default = "tokens_per_request")]
    pub tokens_per_request: Uncertain,
    /// Capacity per instance against the profile's prediction (SageMaker instance counts);
    /// default: the profile's 90 % prediction interval where it has one, else this.
    #[serde(default = "performance")]
    pub performance: Uncertain,
    /// Costs outside the simulation, as an uplift on the month (0.2 = +20 %).
    #[serde(default = "hidden_costs")]
    pub hidden_costs: Uncertain,
}

fn twelve() -> u32 {
    12
}
fn draws() -> u32 {
    4_000
}
fn adoption_start() -> Uncertain {
    Uncertain::Uniform {
        low: 0.10,
        high: 0.30,
    }
}
fn adoption_target() -> Uncertain {
    Uncertain::Triangular {
        low: 0.5,
        mode: 0.75,
        high: 0.95,
    }
}
fn adoption_midpoint() -> Uncertain {
    Uncertain::Uniform {
        low: 2.0,
        high: 6.0,
    }
}
fn usage_per_user() -> Uncertain {
    Uncertain::Lognormal {
        median: 1.0,
        sigma: 0.3,
    }
}
fn usage_growth() -> Uncertain {
    Uncertain::Normal {
        mean: 0.02,
        sd: 0.015,
    }
}
fn tokens_per_request() -> Uncertain {
    Uncertain::Lognormal {
        median: 1.0,
        sigma: 0.2,
    }
}
/// None beyond what the plan prices (data transfer and monitoring per GB, which the forecast
/// scales with traffic): an uplift for costs the plan does not price is the user's to add.
fn hidden_costs() -> Uncertain {
    Uncertain::fixed(0.0)
}
fn performance() -> Uncertain {
    Uncertain::Lognormal {
        median: 1.0,
        sigma: 0.15,
    }
}

impl Default for ForecastSpec {
    fn default() -> ForecastSpec {
        ForecastSpec {
            months: twelve(),
            draws: draws(),
            adoption_start: adoption_start(),
            adoption_target: adoption_target(),
            adoption_midpoint_month: adoption_midpoint(),
            usage_per_user: usage_per_user(),
            usage_growth_per_month: usage_growth(),
            tokens_per_request: tokens_per_request(),
            performance: performance(),
            hidden_costs: hidden_costs(),
        }
    }
}

/// The inputs by name, in the order the tornado lists them.
pub const INPUTS: [&str; 8] = [
    "adoption_start",
    "adoption_target",
    "adoption_midpoint_month",
    "usage_per_user",
    "usage_growth_per_month",
    "tokens_per_request",
    "performance",
    "hidden_costs",
];

impl ForecastSpec {
    pub fn input(&self, name: &str) -> Option<&Uncertain> {
        Some(match name {
            "adoption_start" => &self.adoption_start,
            "adoption_target" => &self.adoption_target,
            "adoption_midpoint_month" => &self.adoption_midpoint_month,
            "usage_per_user" => &self.usage_per_user,
            "usage_growth_per_month" => &self.usage_growth_per_month,
            "tokens_per_request" => &self.tokens_per_request,
            "performance" => &self.performance,
            "hidden_costs" => &self.hidden_costs,
            _ => return None,
        })
    }

    pub fn input_mut(&mut self, name: &str) -> Option<&mut Uncertain> {
        Some(match name {
            "adoption_start" => &mut self.adoption_start,
            "adoption_target" => &mut self.adoption_target,
            "adoption_midpoint_month" => &mut self.adoption_midpoint_month,
            "usage_per_user" => &mut self.usage_per_user,
            "usage_growth_per_month" => &mut self.usage_growth_per_month,
            "tokens_per_request" => &mut self.tokens_per_request,
            "performance" => &mut self.performance,
            "hidden_costs" => &mut self.hidden_costs,
            _ => return None,
        })
    }

    /// Requests per user × tokens per request against the plan, as one lognormal: medians
    /// multiplied, log-spreads added in quadrature (exact when both are lognormal; otherwise
    /// each is matched at its median and P90).
    pub fn demand(&self) -> Uncertain {
        let log_spread = |u: &Uncertain| {
            let (q50, q90) = (u.quantile(0.5), u.quantile(0.9));
            if q50 > 0.0 && q90 > 0.0 {
                (q90 / q50).ln().max(0.0) / normal_quantile(0.9)
            } else {
                0.0
            }
        };
        let (a, b) = (&self.usage_per_user, &self.tokens_per_request);
        Uncertain::Lognormal {
            median: a.quantile(0.5) * b.quantile(0.5),
            sigma: log_spread(a).hypot(log_spread(b)),
        }
    }

    /// Where each default comes from (printed with the forecast).
    pub fn default_source(name: &str) -> &'static str {
        match name {
            "adoption_start" | "adoption_target" | "adoption_midpoint_month" => {
                "assumed: an internal tool reaches half to nearly all of its audience within a year, fastest in months 2-6; set it from your rollout plan"
            }
            "usage_per_user" => {
                "assumed: requests per active user within ×0.6–×1.6 of the scenario's sessions × turns (P10–P90), the plan's own least-known input"
            }
            "usage_growth_per_month" => {
                "assumed: use per person grows about 2 % a month (0–4 % at P10–P90) as people fold the tool into their work"
            }
            "tokens_per_request" => {
                "assumed: prompts ×0.77–×1.29 the simulated mean (P10–P90) as conversations and attachments grow"
            }
            "hidden_costs" => {
                "none beyond the plan's: data transfer and monitoring are priced per GB and alarm (pricing/overheads.toml) and follow the traffic; the system prompt, history and retries are in the simulated tokens, peak-hour variability is the demand inputs. Set an uplift here for costs the plan does not price (support, staff, other services)"
            }
            "performance" => {
                "the profile's capacity ×0.82–×1.21 (P10–P90), the width of a typical 90 % prediction interval of llmcap's fits on published tables"
            }
            _ => "",
        }
    }

    /// Ranges; errors name the field.
    pub fn check(&self) -> Result<(), (String, String)> {
        if !(1..=60).contains(&self.months) {
            return Err(("forecast.months".into(), "must be 1–60".into()));
        }
        if !(1..=100_000).contains(&self.draws) {
            return Err(("forecast.draws".into(), "must be 1–100,000".into()));
        }
        for name in INPUTS {
            let u = self.input(name).expect("every listed input exists");
            u.check().map_err(|why| (format!("forecast.{name}"), why))?;
            let (low, high) = (u.quantile(0.0), u.quantile(1.0));
            let range_ok = match name {
                "adoption_start" | "adoption_target" => low >= 0.0 && high <= 1.0,
                "adoption_midpoint_month" => low >= 0.0 && high <= 120.0,
                "usage_growth_per_month" => low > -1.0 && high <= 10.0,
                "hidden_costs" => low >= 0.0 && high <= 10.0,
                _ => low > 0.0 && high <= 100.0,
            };
            if !range_ok {
                return Err((
                    format!("forecast.{name}"),
                    match name {
                        "adoption_start" | "adoption_target" => {
                            "must stay within 0–1 (a share of employees)"
                        }
                        "adoption_midpoint_month" => "must stay within 0–120 months",
                        "usage_growth_per_month" => "must stay within (−1, 10] a month",
                        "hidden_costs" => "must stay within 0–10 (an uplift: 0.2 = +20 %)",
                        _ => "must stay within (0, 100]: a factor on the plan's figure",
                    }
                    .into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(ForecastSpec::default().check(), Ok(()));
        for name in INPUTS {
            assert!(!ForecastSpec::default_source(name).is_empty(), "{name}");
        }
    }

    #[test]
    fn demand_multiplies_medians_and_adds_log_spreads_in_quadrature() {
        let spec = ForecastSpec {
            usage_per_user: Uncertain::Lognormal {
                median: 1.2,
                sigma: 0.3,
            },
            tokens_per_request: Uncertain::Lognormal {
                median: 0.9,
                sigma: 0.4,
            },
            ..ForecastSpec::default()
        };
        match spec.demand() {
            Uncertain::Lognormal { median, sigma } => {
                assert!((median - 1.08).abs() < 1e-12);
                assert!((sigma - 0.5).abs() < 1e-6, "{sigma}");
            }
            other => panic!("{other:?}"),
        }
    }
}
