//! Arrival processes for open-loop traffic.

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma};
use serde::{Deserialize, Serialize};

use super::WorkloadError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case")]
pub enum ArrivalProcess {
    /// Evenly spaced.
    Constant { rate_per_s: f64 },
    /// Exponential gaps.
    Poisson { rate_per_s: f64 },
    /// Gamma gaps with coefficient of variation `cv` (> 1 is burstier than Poisson).
    Gamma { rate_per_s: f64, cv: f64 },
    /// A Poisson process whose rate follows a daily curve `∝ exp(k·cos(2π(t − peak)/period))`,
    /// with the given mean and peak-to-mean ratio.
    Diurnal {
        mean_rate_per_s: f64,
        peak_factor: f64,
        #[serde(default = "one_day")]
        period_s: f64,
        #[serde(default)]
        peak_at_s: f64,
    },
    /// Replay of recorded arrival times (seconds from the start).
    Trace { times_s: Vec<f64> },
}

/// The largest peak-to-mean ratio the diurnal curve takes (its concentration is searched up to
/// 50, where e^k / I0(k) ≈ 17.7); a larger ratio is not a daily cycle but a burst.
pub const MAX_PEAK_FACTOR: f64 = 15.0;

fn one_day() -> f64 {
    86_400.0
}

impl ArrivalProcess {
    pub fn mean_rate_per_s(&self) -> f64 {
        match self {
            ArrivalProcess::Constant { rate_per_s }
            | ArrivalProcess::Poisson { rate_per_s }
            | ArrivalProcess::Gamma { rate_per_s, .. } => *rate_per_s,
            ArrivalProcess::Diurnal {
                mean_rate_per_s, ..
            } => *mean_rate_per_s,
            ArrivalProcess::Trace { times_s } => {
                let span = times_s.last().copied().unwrap_or(0.0);
                if span > 0.0 {
                    times_s.len() as f64 / span
                } else {
                    0.0
                }
            }
        }
    }

    /// The same process with its rate multiplied (capacity search scales load this way).
    pub fn scaled(&self, factor: f64) -> ArrivalProcess {
        let mut scaled = self.clone();
        match &mut scaled {
            ArrivalProcess::Constant { rate_per_s }
            | ArrivalProcess::Poisson { rate_per_s }
            | ArrivalProcess::Gamma { rate_per_s, .. } => *rate_per_s *= factor,
            ArrivalProcess::Diurnal {
                mean_rate_per_s, ..
            } => *mean_rate_per_s *= factor,
            ArrivalProcess::Trace { times_s } => times_s.iter_mut().for_each(|t| *t /= factor),
        }
        scaled
    }

    pub fn validate(&self) -> Result<(), WorkloadError> {
        let rate = self.mean_rate_per_s();
        if let ArrivalProcess::Trace { times_s } = self {
            if times_s.windows(2).any(|w| w[1] < w[0]) {
                return Err(WorkloadError::UnsortedTrace);
            }
            return Ok(());
        }
        if !(rate.is_finite() && rate > 0.0) {
            return Err(WorkloadError::Rate { rate });
        }
        match self {
            ArrivalProcess::Gamma { cv, .. } if !(*cv > 0.0) => Err(WorkloadError::out_of_range(
                "gamma arrivals: cv",
                *cv,
                "> 0",
            )),
            ArrivalProcess::Diurnal { peak_factor, .. }
                if !(*peak_factor >= 1.0 && *peak_factor <= MAX_PEAK_FACTOR) =>
            {
                Err(WorkloadError::out_of_range(
                    "diurnal arrivals: peak_factor",
                    *peak_factor,
                    "between 1 and 15 (peak rate / mean rate over one period)",
                ))
            }
            _ => Ok(()),
        }
    }

    pub fn sampler(&self) -> ArrivalSampler {
        let diurnal_k = match self {
            ArrivalProcess::Diurnal { peak_factor, .. } => concentration_for_peak(*peak_factor),
            _ => 0.0,
        };
        ArrivalSampler {
            process: self.clone(),
            next_trace_index: 0,
            diurnal_k,
        }
    }
}

/// Draws successive arrival times.
#[derive(Clone, Debug)]
pub struct ArrivalSampler {
    process: ArrivalProcess,
    next_trace_index: usize,
    diurnal_k: f64,
}

impl ArrivalSampler {
    /// The first arrival after `now_s`; `None` when a trace is exhausted.
    pub fn next_after<R: Rng + ?Sized>(&mut self, now_s: f64, rng: &mut R) -> Option<f64> {
        match &self.process {
            ArrivalProcess::Constant { rate_per_s } => Some(now_s + 1.0 / rate_per_s),
            ArrivalProcess::Poisson { rate_per_s } => {
                Some(now_s + Exp::new(*rate_per_s).expect("validated rate").sample(rng))
            }
            ArrivalProcess::Gamma { rate_per_s, cv } => {
                let shape = 1.0 / (cv * cv);
                let scale = 1.0 / (rate_per_s * shape);
                Some(now_s + Gamma::new(shape, scale).expect("validated").sample(rng))
            }
            ArrivalProcess::Diurnal {
                mean_rate_per_s,
                period_s,
                peak_at_s,
                ..
            } => {
                // Thinning (Lewis–Shedler) against the curve's own maximum, norm·e^k (equal to
                // mean × peak_factor wherever the concentration k reaches it).
                let k = self.diurnal_k;
                let norm = mean_rate_per_s / bessel_i0(k);
                let peak_rate = (norm * k.exp()).max(f64::MIN_POSITIVE);
                let exp = Exp::new(peak_rate).expect("validated");
                let mut t = now_s;
                loop {
                    t += exp.sample(rng);
                    let phase = std::f64::consts::TAU * (t - peak_at_s) / period_s;
                    let rate = norm * (k * phase.cos()).exp();
                    if rng.random::<f64>() * peak_rate <= rate {
                        return Some(t);
                    }
                }
            }
            ArrivalProcess::Trace { times_s } => {
                let t = times_s.get(self.next_trace_index).copied();
                self.next_trace_index += 1;
                t.map(|t| t.max(now_s))
            }
        }
    }
}

/// Modified Bessel function I0 by its power series (k stays small here).
fn bessel_i0(k: f64) -> f64 {
    let (mut sum, mut term) = (1.0, 1.0);
    for m in 1..60 {
        term *= (k / 2.0) * (k / 2.0) / (m * m) as f64;
        sum += term;
        if term < 1e-16 * sum {
            break;
        }
    }
    sum
}

/// The k with e^k / I0(k) = peak_factor (bisection; e^k/I0(k) grows with k).
fn concentration_for_peak(peak_factor: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 50.0_f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mid.exp() / bessel_i0(mid) < peak_factor {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_diurnal_peak_beyond_the_daily_curve_is_refused() {
        let diurnal = |peak_factor: f64| ArrivalProcess::Diurnal {
            mean_rate_per_s: 1.0,
            peak_factor,
            period_s: 86_400.0,
            peak_at_s: 0.0,
        };
        assert!(diurnal(15.0).validate().is_ok());
        for bad in [0.5, 16.0, 1e300, f64::NAN, f64::INFINITY] {
            assert!(diurnal(bad).validate().is_err(), "{bad}");
        }
    }

    fn count(process: ArrivalProcess, horizon: f64) -> (usize, Vec<f64>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut sampler = process.sampler();
        let mut times = Vec::new();
        let mut t = 0.0;
        while let Some(next) = sampler.next_after(t, &mut rng) {
            if next > horizon {
                break;
            }
            times.push(next);
            t = next;
        }
        (times.len(), times)
    }

    #[test]
    fn rates_are_honoured() {
        for process in [
            ArrivalProcess::Constant { rate_per_s: 5.0 },
            ArrivalProcess::Poisson { rate_per_s: 5.0 },
            ArrivalProcess::Gamma {
                rate_per_s: 5.0,
                cv: 3.0,
            },
        ] {
            let (n, _) = count(process.clone(), 20_000.0);
            assert!(
                (n as f64 / 100_000.0 - 1.0).abs() < 0.03,
                "{process:?}: {n}"
            );
        }
    }

    #[test]
    fn diurnal_has_its_mean_and_peak() {
        let process = ArrivalProcess::Diurnal {
            mean_rate_per_s: 2.0,
            peak_factor: 3.0,
            period_s: 86_400.0,
            peak_at_s: 43_200.0,
        };
        let (n, times) = count(process, 86_400.0);
        assert!((n as f64 / 172_800.0 - 1.0).abs() < 0.02, "{n}");
        let peak_hour = times
            .iter()
            .filter(|t| (**t - 43_200.0).abs() < 1_800.0)
            .count();
        let peak_rate = peak_hour as f64 / 3_600.0;
        assert!((peak_rate / 6.0 - 1.0).abs() < 0.05, "{peak_rate}");
    }

    #[test]
    fn trace_replays_in_order() {
        let (n, times) = count(
            ArrivalProcess::Trace {
                times_s: vec![0.5, 1.0, 1.0, 7.0],
            },
            100.0,
        );
        assert_eq!(n, 4);
        assert_eq!(times, vec![0.5, 1.0, 1.0, 7.0]);
    }
}
