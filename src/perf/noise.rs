//! Request-to-request variation around the model's median: multiplicative log-normal noise
//! whose spread may grow with concurrency, plus a rare spike (seed 000: "spikes to 2+ seconds").

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Spread of one metric around its median.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseModel {
    /// Log-space standard deviation at concurrency 0: `sigma(n) = sigma0 + sigma_per_request·n`.
    pub sigma0: f64,
    pub sigma_per_request: f64,
    /// Chance that a request is a spike, and how many times slower a spike is.
    pub spike_probability: f64,
    pub spike_factor: f64,
    /// Where these numbers came from (estimated from records, or assumed and why).
    #[serde(default)]
    pub source: String,
}

impl NoiseModel {
    pub fn sigma(&self, concurrency: f64) -> f64 {
        (self.sigma0 + self.sigma_per_request * concurrency).max(0.0)
    }

    /// The distribution of the metric at `concurrency` around `median`.
    pub fn at(&self, median: f64, concurrency: f64) -> SpikedLogNormal {
        SpikedLogNormal {
            median,
            sigma: self.sigma(concurrency),
            spike_probability: self.spike_probability.clamp(0.0, 1.0),
            spike_factor: self.spike_factor.max(1.0),
        }
    }
}

/// `median · exp(σZ)`, multiplied by `spike_factor` with probability `spike_probability`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpikedLogNormal {
    pub median: f64,
    pub sigma: f64,
    pub spike_probability: f64,
    pub spike_factor: f64,
}

impl SpikedLogNormal {
    pub fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        let component = |scale: f64| {
            let z = (x / (self.median * scale)).ln();
            if self.sigma > 0.0 {
                standard_normal_cdf(z / self.sigma)
            } else if z >= 0.0 {
                1.0
            } else {
                0.0
            }
        };
        (1.0 - self.spike_probability) * component(1.0)
            + self.spike_probability * component(self.spike_factor)
    }

    /// The `q` quantile (0 < q < 1), by bisection in log space on the mixture's CDF.
    pub fn quantile(&self, q: f64) -> f64 {
        let q = q.clamp(1e-9, 1.0 - 1e-9);
        let spread = 12.0 * self.sigma.max(1e-6);
        let mut lo = self.median.ln() - spread;
        let mut hi = self.median.ln() + spread + self.spike_factor.ln();
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.cdf(mid.exp()) < q {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (0.5 * (lo + hi)).exp()
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let z: f64 = StandardNormal.sample(rng);
        let value = self.median * (self.sigma * z).exp();
        if self.spike_probability > 0.0 && rng.random::<f64>() < self.spike_probability {
            value * self.spike_factor
        } else {
            value
        }
    }
}

/// Φ(z) via libm's erfc, accurate in the tails where spikes live.
pub fn standard_normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn quantiles_match_samples() {
        let dist = SpikedLogNormal {
            median: 0.3,
            sigma: 0.2,
            spike_probability: 0.02,
            spike_factor: 5.0,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut samples: Vec<f64> = (0..200_000).map(|_| dist.sample(&mut rng)).collect();
        samples.sort_by(f64::total_cmp);
        for q in [0.5, 0.9, 0.99] {
            let empirical = samples[(q * samples.len() as f64) as usize];
            let analytic = dist.quantile(q);
            assert!(
                (empirical / analytic - 1.0).abs() < 0.02,
                "q={q}: {empirical} vs {analytic}"
            );
        }
        // With 2 % spikes at 5x, the p99 must sit in the spike component.
        assert!(dist.quantile(0.99) > 0.3 * 5.0 * 0.6);
    }

    #[test]
    fn no_spread_means_the_median_everywhere() {
        let dist = SpikedLogNormal {
            median: 1.5,
            sigma: 0.0,
            spike_probability: 0.0,
            spike_factor: 1.0,
        };
        assert!((dist.quantile(0.5) - 1.5).abs() < 1e-9);
        assert!((dist.quantile(0.99) - 1.5).abs() < 1e-9);
    }
}
