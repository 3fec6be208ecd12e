//! The scenario's `[forecast]` section: the horizon, the adoption curve and every uncertain
//! input as a distribution with where it comes from. Parsed and validated with the scenario;
//! `crate::forecast` runs it.

use serde::{Deserialize, Serialize};

/// An uncertain input. Every draw is `quantile(u)` for a uniform `u`, so the tornado's P10 and
/// P90 and the Monte Carlo use one definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum Uncertain {
    Fixed {
        value: f64,
    },
    Uniform {
        low: f64,
        high: f64,
    },
    Triangular {
        low: f64,
        mode: f64,
        high: f64,
    },
    /// Normal, cut at the 0.1 % and 99.9 % quantiles so a draw stays finite.
    Normal {
        mean: f64,
        sd: f64,
    },
    /// exp(N(ln median, sigma²)).
    Lognormal {
        median: f64,
        sigma: f64,
    },
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

impl Uncertain {
    pub fn fixed(value: f64) -> Uncertain {
        Uncertain::Fixed { value }
    }

    /// The `q` quantile (q in [0, 1]).
    pub fn quantile(&self, q: f64) -> f64 {
        let q = q.clamp(0.0, 1.0);
        match *self {
            Uncertain::Fixed { value } => value,
            Uncertain::Uniform { low, high } => low + q * (high - low),
            Uncertain::Triangular { low, mode, high } => {
                let split = if high > low {
                    (mode - low) / (high - low)
                } else {
                    0.5
                };
                if q < split {
                    low + (q * (high - low) * (mode - low)).sqrt()
                } else {
                    high - ((1.0 - q) * (high - low) * (high - mode)).sqrt()
                }
            }
            Uncertain::Normal { mean, sd } => mean + sd * normal_quantile(q.clamp(0.001, 0.999)),
            Uncertain::Lognormal { median, sigma } => {
                median * (sigma * normal_quantile(q.clamp(0.001, 0.999))).exp()
            }
        }
    }

    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// The same distribution with its spread multiplied by `k` about the median.
    pub fn widened(&self, k: f64) -> Uncertain {
        match *self {
            Uncertain::Fixed { value } => Uncertain::Fixed { value },
            Uncertain::Uniform { low, high } => {
                let mid = 0.5 * (low + high);
                Uncertain::Uniform {
                    low: mid - k * (mid - low),
                    high: mid + k * (high - mid),
                }
            }
            Uncertain::Triangular { low, mode, high } => Uncertain::Triangular {
                low: mode - k * (mode - low),
                mode,
                high: mode + k * (high - mode),
            },
            Uncertain::Normal { mean, sd } => Uncertain::Normal { mean, sd: sd * k },
            Uncertain::Lognormal { median, sigma } => Uncertain::Lognormal {
                median,
                sigma: sigma * k,
            },
        }
    }

    /// Finite parameters in order (low ≤ mode ≤ high, sd and sigma ≥ 0, median > 0).
    pub fn check(&self) -> Result<(), String> {
        let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
        match *self {
            Uncertain::Fixed { value } if finite(&[value]) => Ok(()),
            Uncertain::Uniform { low, high } if finite(&[low, high]) && low <= high => Ok(()),
            Uncertain::Triangular { low, mode, high }
                if finite(&[low, mode, high]) && low <= mode && mode <= high =>
            {
                Ok(())
            }
            Uncertain::Normal { mean, sd } if finite(&[mean, sd]) && sd >= 0.0 => Ok(()),
            Uncertain::Lognormal { median, sigma }
                if finite(&[median, sigma]) && median > 0.0 && sigma >= 0.0 =>
            {
                Ok(())
            }
            _ => Err(
                "parameters must be finite, low ≤ mode ≤ high, sd and sigma ≥ 0, median > 0".into(),
            ),
        }
    }
}

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
fn hidden_costs() -> Uncertain {
    Uncertain::Uniform {
        low: 0.12,
        high: 0.40,
    }
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
                "seed 000: data transfer 2–10 % plus monitoring and logging 10–30 % of the month (system prompt, history and retries are in the simulated tokens; peak-hour variability is the demand inputs)"
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
    fn quantiles_match_known_values() {
        // Φ⁻¹(0.975) = 1.959964, Φ⁻¹(0.9) = 1.281552, Φ⁻¹(0.001) = −3.090232.
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-6);
        assert!((normal_quantile(0.9) - 1.281_552).abs() < 1e-6);
        assert!((normal_quantile(0.001) + 3.090_232).abs() < 1e-6);
        assert!(normal_quantile(0.5).abs() < 1e-12);
        // Triangular(0, 1, 1): F(x) = x², so the 0.25 quantile is 0.5.
        let t = Uncertain::Triangular {
            low: 0.0,
            mode: 1.0,
            high: 1.0,
        };
        assert!((t.quantile(0.25) - 0.5).abs() < 1e-12);
        let l = Uncertain::Lognormal {
            median: 2.0,
            sigma: 0.5,
        };
        assert!((l.quantile(0.9) - 2.0 * (0.5 * 1.281_552f64).exp()).abs() < 1e-5);
        // Widening doubles the distance of each quantile from the median.
        let w = l.widened(2.0);
        assert!(
            (w.quantile(0.9).ln() - 2.0f64.ln() - 2.0 * (l.quantile(0.9).ln() - 2.0f64.ln())).abs()
                < 1e-9
        );
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(ForecastSpec::default().check(), Ok(()));
        for name in INPUTS {
            assert!(!ForecastSpec::default_source(name).is_empty(), "{name}");
        }
    }
}
