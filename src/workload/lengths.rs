//! Token-length distributions for prompts and outputs.

use rand::Rng;
use rand_distr::{Distribution, Exp, Normal, StandardNormal};
use serde::{Deserialize, Serialize};

use super::WorkloadError;

/// How many tokens a prompt or an output has. Every sample is at least 1.
///
/// In TOML a length is a bare number (fixed) or a table tagged by `dist`: `fixed` (`tokens`),
/// `uniform` (`min`, `max`), `normal` (`mean`, `sd`), `lognormal` (`median` and either `sigma`
/// or `p90`), `exponential` (`mean`), `empirical` (`values`: observed lengths, drawn with equal
/// weight) or `quantiles` (`points`: `[q, tokens]` pairs, drawn by interpolating between them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LengthToml", into = "LengthToml")]
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
    /// The inverse distribution function through `points` (`[q, tokens]`, `q` rising from 0 to
    /// 1, tokens never falling), straight between them: a draw is `u ~ U(0, 1)` read off it.
    Quantiles {
        points: Vec<[f64; 2]>,
    },
}

/// z of the standard normal's 90th percentile: a log-normal's p90 is `median · e^(1.2816 σ)`.
pub const Z90: f64 = 1.281_551_565_544_600_4;

/// A length as written in TOML: a bare number, or a table whose log-normal may give `p90` in
/// place of `sigma`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum LengthToml {
    Tokens(f64),
    Table(LengthTable),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
enum LengthTable {
    Fixed {
        tokens: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    #[serde(alias = "lognormal")]
    LogNormal {
        median: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sigma: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p90: Option<f64>,
    },
    Exponential {
        mean: f64,
    },
    Empirical {
        values: Vec<f64>,
    },
    Quantiles {
        points: Vec<[f64; 2]>,
    },
}

impl TryFrom<LengthToml> for LengthDist {
    type Error = String;

    fn try_from(toml: LengthToml) -> Result<Self, String> {
        let table = match toml {
            LengthToml::Tokens(tokens) => return Ok(LengthDist::Fixed { tokens }),
            LengthToml::Table(table) => table,
        };
        Ok(match table {
            LengthTable::Fixed { tokens } => LengthDist::Fixed { tokens },
            LengthTable::Uniform { min, max } => LengthDist::Uniform { min, max },
            LengthTable::Normal { mean, sd } => LengthDist::Normal { mean, sd },
            LengthTable::LogNormal { median, sigma, p90 } => {
                let sigma = match (sigma, p90) {
                    (Some(sigma), None) => sigma,
                    (None, Some(p90)) if p90 > median => (p90 / median).ln() / Z90,
                    (None, Some(p90)) => {
                        return Err(format!(
                            "lognormal: p90 {p90} must be above the median {median}"
                        ))
                    }
                    _ => {
                        return Err(
                            "lognormal: give the median and one of sigma or p90 (not both)".into(),
                        )
                    }
                };
                LengthDist::LogNormal { median, sigma }
            }
            LengthTable::Exponential { mean } => LengthDist::Exponential { mean },
            LengthTable::Empirical { values } => LengthDist::Empirical { values },
            LengthTable::Quantiles { points } => LengthDist::Quantiles { points },
        })
    }
}

impl From<LengthDist> for LengthToml {
    fn from(dist: LengthDist) -> Self {
        LengthToml::Table(match dist {
            LengthDist::Fixed { tokens } => LengthTable::Fixed { tokens },
            LengthDist::Uniform { min, max } => LengthTable::Uniform { min, max },
            LengthDist::Normal { mean, sd } => LengthTable::Normal { mean, sd },
            LengthDist::LogNormal { median, sigma } => LengthTable::LogNormal {
                median,
                sigma: Some(sigma),
                p90: None,
            },
            LengthDist::Exponential { mean } => LengthTable::Exponential { mean },
            LengthDist::Empirical { values } => LengthTable::Empirical { values },
            LengthDist::Quantiles { points } => LengthTable::Quantiles { points },
        })
    }
}

/// The inverse distribution function through `points` at `u` (flat beyond the first and last).
fn through(points: &[[f64; 2]], u: f64) -> f64 {
    let i = points.partition_point(|p| p[0] < u);
    match (i.checked_sub(1).and_then(|j| points.get(j)), points.get(i)) {
        (Some(a), Some(b)) if b[0] > a[0] => a[1] + (b[1] - a[1]) * (u - a[0]) / (b[0] - a[0]),
        (_, Some(b)) => b[1],
        (Some(a), None) => a[1],
        (None, None) => 1.0,
    }
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
            LengthDist::Quantiles { points } => through(points, rng.random::<f64>()).round(),
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
            // ∫ Q(u) du: trapezoids between the points, flat beyond them.
            LengthDist::Quantiles { points } => match (points.first(), points.last()) {
                (Some(first), Some(last)) => {
                    first[0] * first[1]
                        + points
                            .windows(2)
                            .map(|w| (w[1][0] - w[0][0]) * 0.5 * (w[0][1] + w[1][1]))
                            .sum::<f64>()
                        + (1.0 - last[0]) * last[1]
                }
                _ => 1.0,
            },
        }
    }

    /// The shortest length a draw can take (1 for the unbounded-below forms): what every
    /// request of this length is sure to hold, e.g. for a prefix repeated in each of them.
    pub fn min_tokens(&self) -> f64 {
        let least = match self {
            LengthDist::Fixed { tokens } => *tokens,
            LengthDist::Uniform { min, .. } => *min,
            LengthDist::Empirical { values } => {
                values.iter().copied().fold(f64::INFINITY, f64::min)
            }
            LengthDist::Quantiles { points } => points.first().map_or(1.0, |p| p[1]),
            LengthDist::Normal { .. }
            | LengthDist::LogNormal { .. }
            | LengthDist::Exponential { .. } => 1.0,
        };
        least.max(1.0)
    }

    /// A short description for tables and plan.md: "fixed 4,000", "log-normal, median 812".
    pub fn describe(&self) -> String {
        let t = crate::format::thousands;
        match self {
            LengthDist::Fixed { tokens } => t(*tokens),
            LengthDist::Uniform { min, max } => format!("uniform {}–{}", t(*min), t(*max)),
            LengthDist::Normal { mean, sd } => format!("normal {} ± {}", t(*mean), t(*sd)),
            LengthDist::LogNormal { median, sigma } => format!(
                "log-normal (median {}, p90 {})",
                t(*median),
                t(median * (Z90 * sigma).exp())
            ),
            LengthDist::Exponential { mean } => format!("exponential (mean {})", t(*mean)),
            LengthDist::Empirical { values } => {
                format!("{} observed (mean {})", values.len(), t(self.mean()))
            }
            LengthDist::Quantiles { points } => format!(
                "quantiles (median {}, mean {}, {}–{})",
                t(through(points, 0.5)),
                t(self.mean()),
                t(through(points, 0.0)),
                t(through(points, 1.0))
            ),
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
            LengthDist::Quantiles { points } => {
                if points.len() < 2 {
                    return Err(WorkloadError::Quantiles {
                        field: field.to_string(),
                        why: "give at least two [q, tokens] points, e.g. [[0.0, 100], [0.5, 800], [1.0, 6000]]".into(),
                    });
                }
                points
                    .iter()
                    .try_for_each(|p| positive("points[][1]", p[1]))?;
                if points.iter().any(|p| !(0.0..=1.0).contains(&p[0])) {
                    return Err(WorkloadError::Quantiles {
                        field: field.to_string(),
                        why: "each q must be in [0, 1] (0.5 is the median)".into(),
                    });
                }
                if points
                    .windows(2)
                    .any(|w| w[1][0] <= w[0][0] || w[1][1] < w[0][1])
                {
                    return Err(WorkloadError::Quantiles {
                        field: field.to_string(),
                        why:
                            "q must rise from point to point and tokens never fall: sort them by q"
                                .into(),
                    });
                }
                Ok(())
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
            LengthDist::Quantiles {
                points: vec![[0.1, 200.0], [0.5, 800.0], [0.9, 3_000.0], [1.0, 9_000.0]],
            },
        ] {
            let n = 200_000;
            let mean = (0..n).map(|_| dist.sample(&mut rng)).sum::<f64>() / n as f64;
            assert!((mean / dist.mean() - 1.0).abs() < 0.01, "{dist:?}: {mean}");
        }
    }

    /// The forms a scenario writes read as the distributions they name: a bare number is
    /// fixed, a log-normal's p90 gives σ = ln(p90/median)/z₀.₉, and the quantiles form's draws
    /// put a tenth of their mass below its p10 and half below its median.
    #[test]
    fn toml_forms_read_as_their_distributions() {
        #[derive(Debug, serde::Deserialize)]
        struct T {
            a: LengthDist,
            b: LengthDist,
            c: LengthDist,
        }
        let t: T = toml::from_str(
            "a = 4000\nb = { dist = \"lognormal\", median = 800, p90 = 2400 }\nc = { dist = \"quantiles\", points = [[0.0, 100], [0.1, 200], [0.5, 800], [1.0, 5000]] }",
        )
        .unwrap();
        assert_eq!(t.a, LengthDist::fixed(4000.0));
        let LengthDist::LogNormal { median, sigma } = t.b else {
            panic!("{:?}", t.b)
        };
        assert_eq!(median, 800.0);
        assert!((median * (1.281_551_565_5 * sigma).exp() - 2400.0).abs() < 1e-6);
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let n = 100_000;
        let draws: Vec<f64> = (0..n).map(|_| t.c.sample(&mut rng)).collect();
        let below = |x: f64| draws.iter().filter(|d| **d <= x).count() as f64 / n as f64;
        assert!((below(200.0) - 0.1).abs() < 0.005, "{}", below(200.0));
        assert!((below(800.0) - 0.5).abs() < 0.005, "{}", below(800.0));
        assert_eq!(t.c.min_tokens(), 100.0);
        let both: Result<T, _> = toml::from_str(
            "a = 1\nb = { dist = \"lognormal\", median = 800, p90 = 2400, sigma = 1 }\nc = 1",
        );
        assert!(both.unwrap_err().to_string().contains("not both"));
        let unsorted = LengthDist::Quantiles {
            points: vec![[0.5, 800.0], [0.1, 200.0]],
        };
        assert!(unsorted
            .validate("w.message")
            .unwrap_err()
            .to_string()
            .contains("sort"));
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
