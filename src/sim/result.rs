//! What a simulation reports.

use serde::Serialize;

use super::metrics::{Metrics, MinuteRow, Percentiles};

#[derive(Clone, Debug, Default, Serialize)]
pub struct LittlesLaw {
    /// Time-average requests in the system.
    pub l: f64,
    /// Arrival rate × mean time in the system.
    pub lambda_w: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SimResult {
    /// Logical requests resolved (succeeded or gave up).
    pub requests: u64,
    pub completed: u64,
    /// Attempts refused (429 quota/concurrency, 503 no capacity).
    pub throttled: u64,
    pub retries: u64,
    /// Requests that gave up after their last attempt.
    pub failed: u64,
    pub timeouts: u64,
    pub attempts: u64,
    /// Requests still in flight when the drain limit (a day after sending stopped) was reached.
    pub unfinished: u64,
    /// The load's duration (closed loop: until the last request ended).
    pub duration_s: f64,
    /// When the last request ended.
    pub end_s: f64,
    pub ttft_s: Percentiles,
    pub tpot_s: Percentiles,
    pub e2e_s: Percentiles,
    pub queue_wait_s: Percentiles,
    /// Completed requests within the SLO, per second of duration.
    pub goodput_per_s: f64,
    pub error_rate: f64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub reserved_tokens: f64,
    pub charged_tokens: f64,
    /// Completed requests with more than 25,000 input tokens.
    pub completed_over_25k_input: u64,
    pub instance_hours: f64,
    pub serverless_compute_s: f64,
    pub littles_law: LittlesLaw,
    /// The most attempts held in memory at once (memory follows this, not the request count).
    pub peak_attempt_slots: usize,
    /// Stopped before the end (Ctrl-C or a limit): every figure covers the simulated part only.
    pub partial: bool,
    #[serde(skip)]
    pub minutes: Vec<MinuteRow>,
    /// Each request class's latencies, for a workload of several classes (else empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<crate::sim::metrics::ClassLatency>,
}

impl SimResult {
    pub fn from_metrics(m: &Metrics, duration_s: f64, end_s: f64, slots: usize) -> SimResult {
        let (l, lambda_w) = m.littles_law();
        let requests = m.completed + m.failed;
        SimResult {
            requests,
            completed: m.completed,
            throttled: m.throttled,
            retries: m.retries,
            failed: m.failed,
            timeouts: m.timeouts,
            attempts: m.attempts,
            unfinished: 0,
            duration_s,
            end_s,
            ttft_s: m.ttft(),
            tpot_s: m.tpot(),
            e2e_s: m.e2e(),
            queue_wait_s: m.queue_wait(),
            goodput_per_s: if duration_s > 0.0 {
                m.good as f64 / duration_s
            } else {
                0.0
            },
            error_rate: if requests > 0 {
                m.failed as f64 / requests as f64
            } else {
                0.0
            },
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            reserved_tokens: m.reserved_tokens,
            charged_tokens: m.charged_tokens,
            completed_over_25k_input: m.completed_over_25k_input,
            instance_hours: m.instance_seconds / 3_600.0,
            serverless_compute_s: m.compute_seconds,
            littles_law: LittlesLaw { l, lambda_w },
            peak_attempt_slots: slots,
            partial: false,
            minutes: m.minute_rows(),
            classes: m.class_latencies(),
        }
    }

    /// Minutes while traffic was being sent (the drain after it would dilute percentiles).
    /// Requests in the system averaged over the measured window (its minutes' areas over its
    /// length), as a live run's records count them. Little's `l` spans the warm-up and
    /// everything to the last event as well, which in a short run is not the same.
    pub fn mean_in_flight(&self) -> f64 {
        self.minutes
            .iter()
            .map(|m| m.concurrency_mean * 60.0)
            .sum::<f64>()
            / self.duration_s.max(1e-9)
    }

    pub fn load_minutes(&self) -> &[MinuteRow] {
        let n = ((self.duration_s / 60.0).ceil() as usize).clamp(1, self.minutes.len().max(1));
        &self.minutes[..n.min(self.minutes.len())]
    }

    /// Charged tokens in a minute (what a TPM quota must cover), by percentile over the load.
    pub fn tpm_percentile(&self, q: f64) -> f64 {
        let mut tpm: Vec<f64> = self.load_minutes().iter().map(|m| m.tpm_charged).collect();
        percentile(&mut tpm, q)
    }

    /// Tokens reserved at starts in a minute (input + max_tokens), by percentile over the load.
    pub fn reserved_tpm_percentile(&self, q: f64) -> f64 {
        let mut tpm: Vec<f64> = self.load_minutes().iter().map(|m| m.tpm_reserved).collect();
        percentile(&mut tpm, q)
    }

    /// Uncached input + max_tokens started in a minute (bedrock-mantle's input TPM), by
    /// percentile over the load.
    pub fn input_tpm_percentile(&self, q: f64) -> f64 {
        let mut tpm: Vec<f64> = self
            .load_minutes()
            .iter()
            .map(|m| m.input_tpm_reserved)
            .collect();
        percentile(&mut tpm, q)
    }

    /// Output tokens of the requests completed in a minute (bedrock-mantle's output TPM), by
    /// percentile over the load.
    pub fn output_tpm_percentile(&self, q: f64) -> f64 {
        let mut tpm: Vec<f64> = self
            .load_minutes()
            .iter()
            .map(|m| m.output_tokens)
            .collect();
        percentile(&mut tpm, q)
    }

    /// Any per-minute figure, by percentile over the load.
    pub fn minute_percentile(&self, figure: impl Fn(&MinuteRow) -> f64, q: f64) -> f64 {
        let mut values: Vec<f64> = self.load_minutes().iter().map(figure).collect();
        percentile(&mut values, q)
    }

    pub fn rpm_percentile(&self, q: f64) -> f64 {
        let mut rpm: Vec<f64> = self.load_minutes().iter().map(|m| m.rpm as f64).collect();
        percentile(&mut rpm, q)
    }
}

/// The `q` quantile of per-minute values (nearest rank, see [`crate::stats`]); 0 when there are
/// no minutes.
fn percentile(values: &mut [f64], q: f64) -> f64 {
    crate::stats::quantile(values, q).unwrap_or(0.0)
}
