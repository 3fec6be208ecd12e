//! Arrival processes for open-loop traffic.

use rand::Rng;
use rand_distr::{Distribution, Exp, Exp1, Gamma};
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
    /// A Poisson process whose rate is constant within each hour of the day (24 rates, from
    /// 00:00 UTC of the first day), repeating daily: a workload's daily curve.
    Hourly { rates_per_s: Vec<f64> },
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
            ArrivalProcess::Hourly { rates_per_s } => {
                rates_per_s.iter().sum::<f64>() / rates_per_s.len().max(1) as f64
            }
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
            ArrivalProcess::Hourly { rates_per_s } => {
                rates_per_s.iter_mut().for_each(|r| *r *= factor)
            }
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
            ArrivalProcess::Hourly { rates_per_s }
                if rates_per_s.len() != 24
                    || rates_per_s.iter().any(|r| !(r.is_finite() && *r >= 0.0)) =>
            {
                Err(WorkloadError::Invalid {
                    field: "hourly arrivals: rates_per_s".into(),
                    why: "give 24 finite rates ≥ 0, one per hour from 00:00".into(),
                })
            }
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
        let diurnal = match self {
            ArrivalProcess::Diurnal {
                mean_rate_per_s,
                peak_factor,
                ..
            } => DiurnalCurve::new(*mean_rate_per_s, *peak_factor),
            _ => DiurnalCurve::default(),
        };
        ArrivalSampler {
            process: self.clone(),
            next_trace_index: 0,
            diurnal,
        }
    }
}

/// Draws successive arrival times.
#[derive(Clone, Debug)]
pub struct ArrivalSampler {
    process: ArrivalProcess,
    next_trace_index: usize,
    diurnal: DiurnalCurve,
}

/// Pieces of the period with a constant envelope rate each.
const DIURNAL_PIECES: usize = 64;

/// A diurnal curve, rate(phase) = norm · e^(k·cos(phase)), and a piecewise-constant envelope
/// for thinning it (Lewis–Shedler): the period cut into `DIURNAL_PIECES` equal pieces starting
/// at the peak, each bounded by the curve's larger end (cos is monotone between the peak and
/// the trough, both piece ends). Against the single bound norm·e^k half the candidates of a
/// peak factor 2 curve were rejected; against this one about 5 %. Each piece's smaller end
/// bounds the curve from below (a squeeze): a candidate under it is accepted without working
/// out the curve.
#[derive(Clone, Debug, Default)]
struct DiurnalCurve {
    k: f64,
    norm: f64,
    envelope: Vec<f64>,
    floor: Vec<f64>,
}

impl DiurnalCurve {
    fn new(mean_rate_per_s: f64, peak_factor: f64) -> DiurnalCurve {
        let k = concentration_for_peak(peak_factor);
        let norm = mean_rate_per_s / bessel_i0(k);
        let rate = |piece: usize| {
            let phase = std::f64::consts::TAU * piece as f64 / DIURNAL_PIECES as f64;
            norm * (k * phase.cos()).exp()
        };
        let envelope = (0..DIURNAL_PIECES)
            .map(|j| rate(j).max(rate(j + 1)).max(f64::MIN_POSITIVE))
            .collect();
        // A hair under the smaller end, so rounding in the curve never puts it below.
        let floor = (0..DIURNAL_PIECES)
            .map(|j| rate(j).min(rate(j + 1)) * (1.0 - 1e-12))
            .collect();
        DiurnalCurve {
            k,
            norm,
            envelope,
            floor,
        }
    }

    /// The first arrival after `now_s`, for a period of `period_s` peaking at `peak_at_s`.
    fn next_after<R: Rng + ?Sized>(
        &self,
        now_s: f64,
        period_s: f64,
        peak_at_s: f64,
        rng: &mut R,
    ) -> f64 {
        let width = period_s / DIURNAL_PIECES as f64;
        let mut t = now_s;
        // Unit-rate exponential work still to spend before the next candidate.
        let mut work: f64 = Exp1.sample(rng);
        loop {
            let offset = (t - peak_at_s).rem_euclid(period_s);
            let piece = ((offset / width) as usize).min(DIURNAL_PIECES - 1);
            let bound = self.envelope[piece];
            // At least a sliver, so a time a rounding error short of a piece's end moves on.
            let left = ((piece + 1) as f64 * width - offset).max(width * 1e-9);
            if work >= left * bound {
                work -= left * bound;
                t += left;
                continue;
            }
            t += work / bound;
            let u = rng.random::<f64>() * bound;
            if u <= self.floor[piece] {
                return t;
            }
            let phase = std::f64::consts::TAU * (t - peak_at_s) / period_s;
            let rate = self.norm * (self.k * phase.cos()).exp();
            if u <= rate {
                return t;
            }
            work = Exp1.sample(rng);
        }
    }
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
                period_s,
                peak_at_s,
                ..
            } => Some(self.diurnal.next_after(now_s, *period_s, *peak_at_s, rng)),
            ArrivalProcess::Hourly { rates_per_s } => next_hourly(rates_per_s, now_s, rng),
            ArrivalProcess::Trace { times_s } => {
                let t = times_s.get(self.next_trace_index).copied();
                self.next_trace_index += 1;
                t.map(|t| t.max(now_s))
            }
        }
    }
}

/// The first arrival after `now_s` of a Poisson process with a rate constant in each hour: a
/// unit exponential's work spent hour by hour at each hour's rate (exact, no thinning). `None`
/// when no hour has traffic.
fn next_hourly<R: Rng + ?Sized>(rates: &[f64], now_s: f64, rng: &mut R) -> Option<f64> {
    if !rates.iter().any(|r| *r > 0.0) {
        return None;
    }
    let mut work: f64 = Exp1.sample(rng);
    let mut t = now_s;
    // Every day holds positive work, so at most a day and a bit of hours are walked per unit
    // of work beyond the first day's.
    loop {
        let hour = (t / 3_600.0).floor();
        let rate = rates[(hour.rem_euclid(24.0)) as usize];
        let left = ((hour + 1.0) * 3_600.0 - t).max(1e-9);
        if work < left * rate {
            return Some(t + work / rate);
        }
        work -= left * rate;
        t += left;
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

    /// Arrivals in each of 48 bins of the period against the rate curve integrated over the bin
    /// (Simpson's rule), over 300 periods: every bin within 4.5 Poisson standard deviations. The
    /// bins do not line up with the envelope's pieces, nor the peak with zero.
    #[test]
    fn diurnal_counts_follow_the_curve_bin_by_bin() {
        let (mean, peak_factor, period, peak_at) = (1.0, 4.0, 3_600.0, 1_000.0);
        let process = ArrivalProcess::Diurnal {
            mean_rate_per_s: mean,
            peak_factor,
            period_s: period,
            peak_at_s: peak_at,
        };
        let periods = 300.0;
        let (_, times) = count(process, periods * period);
        let bins = 48;
        let width = period / bins as f64;
        let mut observed = vec![0usize; bins];
        for t in &times {
            observed[((t.rem_euclid(period) / width) as usize).min(bins - 1)] += 1;
        }
        let k = concentration_for_peak(peak_factor);
        let norm = mean / bessel_i0(k);
        let rate =
            |t: f64| norm * (k * (std::f64::consts::TAU * (t - peak_at) / period).cos()).exp();
        for (bin, &seen) in observed.iter().enumerate() {
            let (a, steps) = (bin as f64 * width, 200);
            let h = width / steps as f64;
            let simpson: f64 = (0..=steps)
                .map(|i| {
                    let w = if i == 0 || i == steps {
                        1.0
                    } else if i % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    w * rate(a + i as f64 * h)
                })
                .sum::<f64>()
                * h
                / 3.0;
            let expected = simpson * periods;
            assert!(
                (seen as f64 - expected).abs() <= 4.5 * expected.sqrt(),
                "bin {bin}: {seen} arrivals, {expected:.0} expected"
            );
        }
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

    /// An hourly curve's arrivals land in each hour in proportion to its rate: over 20 days,
    /// each hour's count within 4 standard deviations of rate × 3,600 × 20, and none in an
    /// hour whose rate is 0.
    #[test]
    fn hourly_arrivals_follow_their_hours() {
        let mut rates: Vec<f64> = (0..24).map(|h| f64::from(h % 6) * 0.01).collect();
        rates[23] = 0.05;
        let process = ArrivalProcess::Hourly {
            rates_per_s: rates.clone(),
        };
        process.validate().unwrap();
        let mut sampler = process.sampler();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let days = 20.0;
        let mut counts = [0.0_f64; 24];
        let mut t = 0.0;
        while let Some(next) = sampler.next_after(t, &mut rng) {
            if next >= days * 86_400.0 {
                break;
            }
            counts[((next / 3_600.0) as usize) % 24] += 1.0;
            t = next;
        }
        for (h, (&n, &rate)) in counts.iter().zip(&rates).enumerate() {
            let expected = rate * 3_600.0 * days;
            assert!(
                (n - expected).abs() <= 4.0 * expected.sqrt(),
                "hour {h}: {n} against {expected}"
            );
            if rate == 0.0 {
                assert_eq!(n, 0.0, "hour {h}");
            }
        }
    }
}
