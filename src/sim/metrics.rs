//! Streaming metrics: memory grows with simulated minutes, never with the number of requests.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::stats::histogram_quantile;

/// Latencies are recorded in microseconds; 3 significant digits overall, 2 per minute.
const MICROS: f64 = 1e6;

fn histogram(digits: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, 24 * 3_600 * 1_000_000, digits).expect("valid bounds")
}

/// Whole microseconds, at least 1 (rounded half up by truncation: `f64::round` is a libm call
/// per latency on targets without SSE4.1).
fn micros(seconds: f64) -> u64 {
    ((seconds * MICROS + 0.5) as u64).max(1)
}

/// p50/p90/p95/p99 of a latency, seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let q = |q: f64| quantile_s(h, q);
        Percentiles {
            p50: q(0.50),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            mean: h.mean() / MICROS,
        }
    }
}

/// A service-level objective: what counts as good.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Slo {
    pub ttft_s: f64,
    pub tpot_s: f64,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            ttft_s: 0.5,
            tpot_s: 0.1,
        }
    }
}

/// One simulated minute.
#[derive(Clone, Debug)]
pub struct Minute {
    pub started: u64,
    pub completed: u64,
    pub throttled: u64,
    pub failed: u64,
    pub retries: u64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    /// Tokens reserved at request starts (input + max_tokens): what TPM admission sees.
    pub reserved_tokens: f64,
    /// Uncached input + max_tokens at request starts: what bedrock-mantle's input TPM sees.
    pub input_reserved_tokens: f64,
    /// Tokens charged at settlement (input + cache write + output × burndown): what TPM counts.
    pub charged_tokens: f64,
    /// ∫ requests in flight dt over the minute, for the average.
    pub concurrency_area: f64,
    pub concurrency_max: u32,
    pub instances_in_service: u32,
    pub instances_total: u32,
    /// Filled in when the minute closes (its histograms are then dropped).
    pub ttft_p50_s: f64,
    pub ttft_p95_s: f64,
    pub tpot_p50_s: f64,
    pub tpot_p95_s: f64,
}

impl Minute {
    fn new() -> Minute {
        Minute {
            started: 0,
            completed: 0,
            throttled: 0,
            failed: 0,
            retries: 0,
            input_tokens: 0.0,
            output_tokens: 0.0,
            reserved_tokens: 0.0,
            input_reserved_tokens: 0.0,
            charged_tokens: 0.0,
            concurrency_area: 0.0,
            concurrency_max: 0,
            instances_in_service: 0,
            instances_total: 0,
            ttft_p50_s: 0.0,
            ttft_p95_s: 0.0,
            tpot_p50_s: 0.0,
            tpot_p95_s: 0.0,
        }
    }
}

/// Quantile of a latency histogram in seconds (nearest rank, see [`crate::stats`]); 0 when
/// empty.
fn quantile_s(h: &Histogram<u64>, q: f64) -> f64 {
    histogram_quantile(h, q).map_or(0.0, |micros| micros as f64 / MICROS)
}

/// One row of the per-minute series, as exported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MinuteRow {
    pub minute: u32,
    pub started: u64,
    pub completed: u64,
    pub throttled: u64,
    pub failed: u64,
    pub retries: u64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub tpm_reserved: f64,
    /// Uncached input + max_tokens started in the minute (bedrock-mantle's input TPM).
    pub input_tpm_reserved: f64,
    pub tpm_charged: f64,
    pub rpm: u64,
    pub concurrency_mean: f64,
    pub concurrency_max: u32,
    pub instances_in_service: u32,
    pub instances_total: u32,
    pub ttft_p50_s: f64,
    pub ttft_p95_s: f64,
    pub tpot_p50_s: f64,
    pub tpot_p95_s: f64,
}

#[derive(Debug)]
pub struct Metrics {
    ttft: Histogram<u64>,
    tpot: Histogram<u64>,
    e2e: Histogram<u64>,
    queue_wait: Histogram<u64>,
    pub minutes: Vec<Minute>,
    /// Histograms of the minute still open; simulated time only moves forward, so once a
    /// minute closes its percentiles are kept and its histograms reused (memory stays flat).
    minute_ttft: Histogram<u64>,
    minute_tpot: Histogram<u64>,
    slo: Slo,
    pub completed: u64,
    pub good: u64,
    pub throttled: u64,
    pub retries: u64,
    pub failed: u64,
    pub timeouts: u64,
    pub attempts: u64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub reserved_tokens: f64,
    pub charged_tokens: f64,
    /// Completed requests with more than 25,000 input tokens (AWS asks for their share).
    pub completed_over_25k_input: u64,
    /// Little's law bookkeeping over logical requests (first send → success or give-up).
    in_system: u32,
    in_system_area: f64,
    area_at_s: f64,
    sojourn_sum_s: f64,
    resolved: u64,
    first_arrival_s: f64,
    pub instance_seconds: f64,
    pub compute_seconds: f64,
    /// Nothing before this simulated time is counted (the warm-up); minute 0 starts here.
    warmup_s: f64,
    /// The last minute `integrate` split time into, as (index, from, end): a later interval
    /// inside it (most of them) skips the split.
    open_span: (usize, f64, f64),
    classes: Vec<ClassHistograms>,
}

#[derive(Debug)]
struct ClassHistograms {
    ttft: Histogram<u64>,
    tpot: Histogram<u64>,
    completed: u64,
}

/// One request class's completed requests and latencies over the measured window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClassLatency {
    pub completed: u64,
    pub ttft_s: Percentiles,
    pub tpot_s: Percentiles,
}

impl Metrics {
    /// Metrics that count from `warmup_s` on: every statistic (latencies, counts, tokens, the
    /// per-minute series) covers the measured window only. Little's-law bookkeeping covers the
    /// whole run.
    pub fn new(slo: Slo, warmup_s: f64) -> Metrics {
        Metrics {
            ttft: histogram(3),
            tpot: histogram(3),
            e2e: histogram(3),
            queue_wait: histogram(3),
            minutes: Vec::new(),
            minute_ttft: histogram(2),
            minute_tpot: histogram(2),
            slo,
            completed: 0,
            good: 0,
            throttled: 0,
            retries: 0,
            failed: 0,
            timeouts: 0,
            attempts: 0,
            input_tokens: 0.0,
            output_tokens: 0.0,
            reserved_tokens: 0.0,
            charged_tokens: 0.0,
            completed_over_25k_input: 0,
            in_system: 0,
            in_system_area: 0.0,
            area_at_s: 0.0,
            sojourn_sum_s: 0.0,
            resolved: 0,
            first_arrival_s: f64::NAN,
            instance_seconds: 0.0,
            compute_seconds: 0.0,
            warmup_s: if warmup_s.is_finite() {
                warmup_s.max(0.0)
            } else {
                0.0
            },
            open_span: (usize::MAX, f64::INFINITY, f64::NEG_INFINITY),
            classes: Vec::new(),
        }
    }

    /// Latencies kept per request class as well (for a workload of several classes, each held
    /// to its own SLO).
    pub fn with_classes(mut self, classes: usize) -> Metrics {
        self.classes = (0..classes)
            .map(|_| ClassHistograms {
                ttft: histogram(3),
                tpot: histogram(3),
                completed: 0,
            })
            .collect();
        self
    }

    /// Each class's latencies (empty unless [`Metrics::with_classes`]).
    pub fn class_latencies(&self) -> Vec<ClassLatency> {
        self.classes
            .iter()
            .map(|c| ClassLatency {
                completed: c.completed,
                ttft_s: Percentiles::of(&c.ttft),
                tpot_s: Percentiles::of(&c.tpot),
            })
            .collect()
    }

    /// Whether an event at `now_s` is inside the measured window (after the warm-up).
    fn counting(&self, now_s: f64) -> bool {
        now_s >= self.warmup_s
    }

    /// The minute of the measured window holding `now_s` (call only when counting).
    pub fn minute(&mut self, now_s: f64) -> &mut Minute {
        self.minute_at(((now_s - self.warmup_s).max(0.0) / 60.0) as usize)
    }

    /// Minute `index` of the measured window, opening it (and any before it) if need be.
    fn minute_at(&mut self, index: usize) -> &mut Minute {
        if self.minutes.len() <= index {
            self.close_minute();
            while self.minutes.len() <= index {
                self.minutes.push(Minute::new());
            }
        }
        &mut self.minutes[index]
    }

    fn close_minute(&mut self) {
        if let Some(last) = self.minutes.last_mut() {
            last.ttft_p50_s = quantile_s(&self.minute_ttft, 0.50);
            last.ttft_p95_s = quantile_s(&self.minute_ttft, 0.95);
            last.tpot_p50_s = quantile_s(&self.minute_tpot, 0.50);
            last.tpot_p95_s = quantile_s(&self.minute_tpot, 0.95);
        }
        self.minute_ttft.reset();
        self.minute_tpot.reset();
    }

    /// Accumulates ∫ n dt up to `now_s`, split across minute boundaries.
    fn integrate(&mut self, now_s: f64) {
        let n = f64::from(self.in_system);
        if now_s > self.area_at_s {
            self.in_system_area += n * (now_s - self.area_at_s);
        }
        // Per-minute areas cover the measured window only.
        let mut t = self.area_at_s.max(self.warmup_s);
        let (index, from, end) = self.open_span;
        // Well inside the minute the last split ended in (a microsecond short of its end, so
        // rounding at the boundary never matters): one piece, in the minute still open.
        if t < now_s && t >= from && now_s + 1e-6 < end && index + 1 == self.minutes.len() {
            let in_system = self.in_system;
            let minute = &mut self.minutes[index];
            minute.concurrency_area += n * (now_s - t);
            minute.concurrency_max = minute.concurrency_max.max(in_system);
            self.area_at_s = now_s;
            return;
        }
        while t < now_s {
            let mut index = ((t - self.warmup_s).max(0.0) / 60.0) as usize;
            // `t` may sit a rounding error below a boundary it has reached: it belongs to the
            // minute that starts there (else the loop never ends, or a whole minute lands in
            // the one before; warm-ups that are not whole minutes hit this).
            if self.warmup_s + (index + 1) as f64 * 60.0 <= t {
                index += 1;
            }
            let boundary = self.warmup_s + (index + 1) as f64 * 60.0;
            let end = boundary.min(now_s);
            let in_system = self.in_system;
            let minute = self.minute_at(index);
            minute.concurrency_area += n * (end - t);
            minute.concurrency_max = minute.concurrency_max.max(in_system);
            self.open_span = (index, t, boundary);
            t = end;
        }
        self.area_at_s = self.area_at_s.max(now_s);
    }

    /// A logical request enters the system (its first attempt).
    pub fn arrive(&mut self, now_s: f64) {
        if self.first_arrival_s.is_nan() {
            self.first_arrival_s = now_s;
            self.area_at_s = now_s;
        }
        self.integrate(now_s);
        self.in_system += 1;
        if self.counting(now_s) {
            let in_system = self.in_system;
            let minute = self.minute(now_s);
            minute.concurrency_max = minute.concurrency_max.max(in_system);
        }
    }

    /// A logical request leaves: succeeded or gave up.
    pub fn resolve(&mut self, now_s: f64, first_sent_s: f64) {
        self.integrate(now_s);
        self.in_system -= 1;
        self.sojourn_sum_s += now_s - first_sent_s;
        self.resolved += 1;
    }

    pub fn start(&mut self, now_s: f64, reserved: f64, input_reserved: f64) {
        if !self.counting(now_s) {
            return;
        }
        self.reserved_tokens += reserved;
        let minute = self.minute(now_s);
        minute.started += 1;
        minute.reserved_tokens += reserved;
        minute.input_reserved_tokens += input_reserved;
    }

    /// An attempt sent (counted in the measured window only, as its throttles are).
    pub fn attempt(&mut self, now_s: f64) {
        if self.counting(now_s) {
            self.attempts += 1;
        }
    }

    pub fn throttle(&mut self, now_s: f64) {
        if !self.counting(now_s) {
            return;
        }
        self.throttled += 1;
        self.minute(now_s).throttled += 1;
    }

    pub fn retry(&mut self, now_s: f64) {
        if !self.counting(now_s) {
            return;
        }
        self.retries += 1;
        self.minute(now_s).retries += 1;
    }

    pub fn fail(&mut self, now_s: f64) {
        if !self.counting(now_s) {
            return;
        }
        self.failed += 1;
        self.minute(now_s).failed += 1;
    }

    pub fn charge(&mut self, now_s: f64, charged: f64) {
        if !self.counting(now_s) {
            return;
        }
        self.charged_tokens += charged;
        self.minute(now_s).charged_tokens += charged;
    }

    /// A successful attempt with its latencies (seconds).
    #[allow(clippy::too_many_arguments)]
    pub fn complete(
        &mut self,
        now_s: f64,
        ttft_s: f64,
        tpot_s: Option<f64>,
        e2e_s: f64,
        queue_wait_s: f64,
        input: f64,
        output: f64,
        class: usize,
    ) {
        if !self.counting(now_s) {
            return;
        }
        if let Some(c) = self.classes.get_mut(class) {
            c.completed += 1;
            c.ttft.saturating_record(micros(ttft_s));
            if let Some(tpot) = tpot_s {
                c.tpot.saturating_record(micros(tpot));
            }
        }
        self.completed += 1;
        if input > 25_000.0 {
            self.completed_over_25k_input += 1;
        }
        self.input_tokens += input;
        self.output_tokens += output;
        self.ttft.saturating_record(micros(ttft_s));
        self.e2e.saturating_record(micros(e2e_s));
        self.queue_wait.saturating_record(micros(queue_wait_s));
        if let Some(tpot) = tpot_s {
            self.tpot.saturating_record(micros(tpot));
        }
        if ttft_s <= self.slo.ttft_s && tpot_s.is_none_or(|t| t <= self.slo.tpot_s) {
            self.good += 1;
        }
        let minute = self.minute(now_s);
        minute.completed += 1;
        minute.input_tokens += input;
        minute.output_tokens += output;
        self.minute_ttft.saturating_record(micros(ttft_s));
        if let Some(tpot) = tpot_s {
            self.minute_tpot.saturating_record(micros(tpot));
        }
    }

    pub fn set_instances(&mut self, now_s: f64, in_service: u32, total: u32) {
        if !self.counting(now_s) {
            return;
        }
        let minute = self.minute(now_s);
        minute.instances_in_service = minute.instances_in_service.max(in_service);
        minute.instances_total = minute.instances_total.max(total);
    }

    pub fn finish(&mut self, end_s: f64) {
        self.integrate(end_s);
        self.close_minute();
    }

    pub fn ttft(&self) -> Percentiles {
        Percentiles::of(&self.ttft)
    }
    pub fn tpot(&self) -> Percentiles {
        Percentiles::of(&self.tpot)
    }
    pub fn e2e(&self) -> Percentiles {
        Percentiles::of(&self.e2e)
    }
    pub fn queue_wait(&self) -> Percentiles {
        Percentiles::of(&self.queue_wait)
    }

    /// (L, λ·W): time-average requests in the system, and arrival rate × mean time in it.
    pub fn littles_law(&self) -> (f64, f64) {
        let span = self.area_at_s - self.first_arrival_s;
        if self.resolved == 0 || !(span > 0.0) {
            return (0.0, 0.0);
        }
        let l = self.in_system_area / span;
        let lambda = self.resolved as f64 / span;
        let w = self.sojourn_sum_s / self.resolved as f64;
        (l, lambda * w)
    }

    pub fn minute_rows(&self) -> Vec<MinuteRow> {
        self.minutes
            .iter()
            .enumerate()
            .map(|(i, m)| MinuteRow {
                minute: i as u32,
                started: m.started,
                completed: m.completed,
                throttled: m.throttled,
                failed: m.failed,
                retries: m.retries,
                input_tokens: m.input_tokens,
                output_tokens: m.output_tokens,
                tpm_reserved: m.reserved_tokens,
                input_tpm_reserved: m.input_reserved_tokens,
                tpm_charged: m.charged_tokens,
                rpm: m.started,
                concurrency_mean: m.concurrency_area / 60.0,
                concurrency_max: m.concurrency_max,
                instances_in_service: m.instances_in_service,
                instances_total: m.instances_total,
                ttft_p50_s: m.ttft_p50_s,
                ttft_p95_s: m.ttft_p95_s,
                tpot_p50_s: m.tpot_p50_s,
                tpot_p95_s: m.tpot_p95_s,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A warm-up that is not a whole number of minutes puts minute boundaries where
    /// `(t − warm-up) / 60` rounds just below a whole number; integrating from such a `t` must
    /// still end, and every second of the measured window must land in exactly one minute.
    #[test]
    fn minute_split_ends_when_time_sits_on_a_rounded_boundary() {
        let warmup = 68.494_117_647_058_8;
        let k = (1..10_000)
            .find(|&k| {
                let t = warmup + f64::from(k) * 60.0;
                ((t - warmup) / 60.0).floor() < f64::from(k)
            })
            .expect("rounding puts some boundary below its minute");
        let t = warmup + f64::from(k) * 60.0;
        let mut metrics = Metrics::new(Slo::default(), warmup);
        metrics.arrive(t);
        metrics.arrive(t + 90.0);
        let area: f64 = metrics.minutes.iter().map(|m| m.concurrency_area).sum();
        assert!(
            (area - 90.0).abs() < 1e-6,
            "one request for 90 s: area {area}"
        );
    }

    /// Requests in the system over each minute, against the same piecewise-constant count
    /// integrated minute by minute from the raw event list: random arrivals and departures,
    /// gaps shorter and longer than a minute, a warm-up that is not whole minutes.
    #[test]
    fn minute_areas_match_an_integration_of_the_event_list() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..20 {
            let warmup = rng.random_range(0.0..200.0);
            let mut metrics = Metrics::new(Slo::default(), warmup);
            // (time, requests in the system from then on)
            let mut steps: Vec<(f64, u32)> = Vec::new();
            let (mut now, mut n) = (0.0_f64, 0u32);
            for _ in 0..2_000 {
                now += if rng.random_bool(0.02) {
                    rng.random_range(60.0..200.0)
                } else {
                    rng.random_range(0.0..3.0)
                };
                if n == 0 || rng.random_bool(0.55) {
                    metrics.arrive(now);
                    n += 1;
                } else {
                    metrics.resolve(now, now);
                    n -= 1;
                }
                steps.push((now, n));
            }
            metrics.finish(now);
            for (i, minute) in metrics.minutes.iter().enumerate() {
                let (lo, hi) = (warmup + 60.0 * i as f64, warmup + 60.0 * (i + 1) as f64);
                let expected: f64 = steps
                    .windows(2)
                    .map(|w| {
                        let (a, b) = (w[0].0.max(lo), w[1].0.min(hi));
                        if b > a {
                            f64::from(w[0].1) * (b - a)
                        } else {
                            0.0
                        }
                    })
                    .sum();
                assert!(
                    (minute.concurrency_area - expected).abs() < 1e-6 * expected.max(1.0),
                    "minute {i}: {} vs {expected}",
                    minute.concurrency_area
                );
            }
        }
    }
}
