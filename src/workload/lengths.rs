//! Token-length distributions for prompts and outputs.

use rand::Rng;
use rand_distr::{Distribution, Exp, Normal, StandardNormal};
use serde::{Deserialize, Serialize};

use super::WorkloadError;

/// How many tokens a prompt or an output has. Every sample is at least 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum LengthDist {
    Fixed {
        tokens: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    /// Truncated at 1.
    Normal {
        mean: f64,
        sd: f64,
    },
    LogNormal {
        median: f64,
        sigma: f64,
    },
    /// One token, then an exponential number more (continuous): with it, a request's decode work
    /// is exactly exponential, as the M/M/1 check needs.
    Exponential {
        mean: f64,
    },
    /// Drawn from observed lengths (e.g. a calibration run's `output_tokens`).
    Empirical {
        values: Vec<f64>,
    },
}

impl LengthDist {
    pub fn fixed(tokens: f64) -> LengthDist {
        LengthDist::Fixed { tokens }
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let value = match self {
            LengthDist::Fixed { tokens } => *tokens,
            LengthDist::Uniform { min, max } => rng.random_range(*min..=*max).round(),
            LengthDist::Normal { mean, sd } => Normal::new(*mean, *sd)
                .map(|d| d.sample(rng))
                .unwrap_or(*mean)
                .round(),
            // median · e^(σz): the log-normal without a logarithm per draw.
            LengthDist::LogNormal { median, sigma } if sigma.is_finite() && *sigma >= 0.0 => {
                let z: f64 = StandardNormal.sample(rng);
                (median * (sigma * z).exp()).round()
            }
            LengthDist::LogNormal { median, .. } => median.round(),
            LengthDist::Exponential { mean } => {
                1.0 + Exp::new(1.0 / (mean - 1.0).max(1e-9))
                    .map(|d| d.sample(rng))
                    .unwrap_or(0.0)
            }
            LengthDist::Empirical { values } => values[rng.random_range(0..values.len())],
        };
        value.max(1.0)
    }

    pub fn mean(&self) -> f64 {
        match self {
            LengthDist::Fixed { tokens } => *tokens,
            LengthDist::Uniform { min, max } => 0.5 * (min + max),
            LengthDist::Normal { mean, .. } => *mean,
            LengthDist::LogNormal { median, sigma } => median * (0.5 * sigma * sigma).exp(),
            LengthDist::Exponential { mean } => *mean,
            LengthDist::Empirical { values } => values.iter().sum::<f64>() / values.len() as f64,
        }
    }

    /// Checks parameters; the message names the field and the fix.
    pub fn validate(&self, field: &str) -> Result<(), WorkloadError> {
        // No length of a request exceeds llmcap's bound on prompt tokens (2,000,000).
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= crate::bounds::MAX_PROMPT_TOKENS {
                Ok(())
            } else {
                Err(WorkloadError::out_of_range(
                    format!("{field}.{name}"),
                    v,
                    "a finite number of tokens > 0 and ≤ 2,000,000",
                ))
            }
        };
        match self {
            LengthDist::Fixed { tokens } => positive("tokens", *tokens),
            LengthDist::Uniform { min, max } => {
                positive("min", *min)?;
                positive("max", *max)?;
                if min > max {
                    Err(WorkloadError::MinAboveMax {
                        field: field.to_string(),
                        min: *min,
                        max: *max,
                    })
                } else {
                    Ok(())
                }
            }
            LengthDist::Normal { mean, sd } => {
                positive("mean", *mean)?;
                positive("sd", *sd)
            }
            LengthDist::LogNormal { median, sigma } => {
                positive("median", *median)?;
                positive("sigma", *sigma)
            }
            LengthDist::Exponential { mean } => {
                if *mean > 1.0 && mean.is_finite() {
                    Ok(())
                } else {
                    Err(WorkloadError::out_of_range(
                        format!("{field}.mean"),
                        *mean,
                        "> 1 (one token plus the exponential part)",
                    ))
                }
            }
            LengthDist::Empirical { values } => {
                if values.is_empty() {
                    Err(WorkloadError::NoLengths {
                        field: field.to_string(),
                    })
                } else {
                    values.iter().try_for_each(|v| positive("values[]", *v))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn sample_means_match() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for dist in [
            LengthDist::Uniform {
                min: 100.0,
                max: 300.0,
            },
            LengthDist::Normal {
                mean: 500.0,
                sd: 50.0,
            },
            LengthDist::LogNormal {
                median: 400.0,
                sigma: 0.5,
            },
            LengthDist::Exponential { mean: 200.0 },
            LengthDist::Empirical {
                values: vec![10.0, 20.0, 60.0],
            },
        ] {
            let n = 200_000;
            let mean = (0..n).map(|_| dist.sample(&mut rng)).sum::<f64>() / n as f64;
            assert!((mean / dist.mean() - 1.0).abs() < 0.01, "{dist:?}: {mean}");
        }
    }

    #[test]
    fn bad_parameters_are_named() {
        let error = LengthDist::Uniform { min: 5.0, max: 1.0 }
            .validate("workload.prompt")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "workload.prompt: min 5 > max 1; swap them");
        let error = LengthDist::Fixed { tokens: -3.0 }
            .validate("x")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "x.tokens = -3: must be a finite number of tokens > 0 and ≤ 2,000,000"
        );
    }
}
