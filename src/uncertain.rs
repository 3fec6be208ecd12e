//! An uncertain quantity as a distribution (the scenario's forecast inputs, the budget's
//! demand factor), drawn by inverse transform so every user of it shares one quantile.

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

    /// The mean of the draws (the midpoint rule over 4,000 quantiles, so the normal and
    /// lognormal cuts at 0.1 % and 99.9 % are counted as drawn).
    pub fn mean(&self) -> f64 {
        const N: usize = 4_000;
        (0..N)
            .map(|i| self.quantile((i as f64 + 0.5) / N as f64))
            .sum::<f64>()
            / N as f64
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
}
