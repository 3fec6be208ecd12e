//! One row per request: what was asked, when it was due, sent and answered, and what came back.
//! Column meanings: calibration/runs/README.md.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::sweep::LevelSpec;
use super::target::Exchange;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request_id: u64,
    pub level: u32,
    pub concurrency: u32,
    pub prompt_tokens_target: u32,
    pub output_tokens_target: u32,
    pub warmup: bool,
    /// Closed mode: sent after the level's last measured request, only to hold concurrency at c
    /// until every measured request has finished (a closed loop otherwise drains at its tail).
    #[serde(default)]
    pub cooldown: bool,
    pub scheduled_s: f64,
    pub sent_s: f64,
    pub first_token_s: Option<f64>,
    pub last_token_s: Option<f64>,
    pub ttft_s: Option<f64>,
    pub tpot_s: Option<f64>,
    pub itl_mean_s: Option<f64>,
    pub itl_p99_s: Option<f64>,
    pub e2e_s: f64,
    pub ntpot_s: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub tokens_source: String,
    pub input_tokens_estimate: u64,
    pub chunks: u64,
    pub early_stop: bool,
    pub concurrency_at_send: u32,
    pub status: String,
    pub error: String,
    pub attempts: u32,
    /// Arrival of each content chunk, seconds after `sent_s`, `;`-separated (ms precision).
    pub chunk_offsets_s: String,
    /// Of `input_tokens`, those the server took from its prefix cache, where it said (empty
    /// otherwise, and in records from before llmcap kept them).
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

/// Where a request sat in the run, for its record.
#[derive(Clone, Copy, Debug)]
pub struct RequestContext {
    pub request_id: u64,
    pub level: LevelSpec,
    pub warmup: bool,
    pub cooldown: bool,
    pub scheduled: Instant,
    pub concurrency_at_send: u32,
    pub input_tokens_estimate: u64,
}

/// Seconds since `zero`, the run's clock.
fn at(zero: Instant, t: Instant) -> f64 {
    t.saturating_duration_since(zero).as_secs_f64()
}

impl RequestRecord {
    /// `concurrency` is the level's, except in rate mode where it is what the request found in
    /// flight (the load it experienced), so that the fit can group by it.
    pub fn new(context: &RequestContext, exchange: &Exchange, zero: Instant) -> RequestRecord {
        let level = context.level;
        let chunks = exchange.chunk_times.len() as u64;
        let server_tokens = exchange.output_tokens.is_some() || exchange.input_tokens.is_some();
        // Streams carry about one token per chunk; a server count always wins.
        let output_tokens = exchange.output_tokens.unwrap_or(chunks);
        let input_tokens = exchange
            .input_tokens
            .unwrap_or(context.input_tokens_estimate);
        let first = exchange.chunk_times.first().copied();
        let last = exchange.chunk_times.last().copied();
        let ttft = first.map(|t| t.saturating_duration_since(exchange.sent).as_secs_f64());
        let tpot = match (first, last) {
            (Some(f), Some(l)) if output_tokens >= 2 => {
                Some(l.saturating_duration_since(f).as_secs_f64() / (output_tokens - 1) as f64)
            }
            _ => None,
        };
        let mut gaps: Vec<f64> = exchange
            .chunk_times
            .windows(2)
            .map(|w| w[1].saturating_duration_since(w[0]).as_secs_f64())
            .collect();
        let itl_mean = (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64);
        let itl_p99 = crate::stats::quantile(&mut gaps, 0.99);
        let e2e = exchange
            .end
            .saturating_duration_since(exchange.sent)
            .as_secs_f64();
        let offsets: Vec<String> = exchange
            .chunk_times
            .iter()
            .map(|t| {
                format!(
                    "{:.4}",
                    t.saturating_duration_since(exchange.sent).as_secs_f64()
                )
            })
            .collect();
        let (status, error) = match &exchange.failure {
            None => ("ok".to_string(), String::new()),
            Some(f) => (f.kind.as_str().to_string(), f.message.clone()),
        };
        let concurrency = if level.rate.is_some() {
            context.concurrency_at_send
        } else {
            level.concurrency
        };
        RequestRecord {
            request_id: context.request_id,
            level: level.index,
            concurrency,
            prompt_tokens_target: level.prompt_tokens,
            output_tokens_target: level.output_tokens,
            warmup: context.warmup,
            cooldown: context.cooldown,
            scheduled_s: at(zero, context.scheduled),
            sent_s: at(zero, exchange.sent),
            first_token_s: first.map(|t| at(zero, t)),
            last_token_s: last.map(|t| at(zero, t)),
            ttft_s: ttft,
            tpot_s: tpot,
            itl_mean_s: itl_mean,
            itl_p99_s: itl_p99,
            e2e_s: e2e,
            ntpot_s: (output_tokens > 0).then(|| e2e / output_tokens as f64),
            input_tokens,
            output_tokens,
            tokens_source: if server_tokens { "server" } else { "estimate" }.to_string(),
            input_tokens_estimate: context.input_tokens_estimate,
            chunks,
            early_stop: exchange.failure.is_none()
                && output_tokens < u64::from(level.output_tokens),
            concurrency_at_send: context.concurrency_at_send,
            status,
            error,
            attempts: exchange.attempts,
            chunk_offsets_s: offsets.join(";"),
            // A count past the prompt cannot be real.
            cached_tokens: exchange.cached_tokens.filter(|&c| c <= input_tokens),
        }
    }

    /// Part of the level's measurement (not warm-up, not cool-down).
    pub fn is_measured(&self) -> bool {
        !self.warmup && !self.cooldown
    }

    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }

    /// The server's prompt count differs from the client's estimate by more than a quarter:
    /// the prompt sizes asked for were not what the model saw.
    pub fn token_mismatch(&self) -> bool {
        self.tokens_source == "server"
            && (self.input_tokens as f64 - self.input_tokens_estimate as f64).abs()
                > 0.25 * self.input_tokens.max(1) as f64
    }

    /// Arrival of each content chunk, seconds after `sent_s` (unparseable entries left out).
    pub fn chunk_offsets(&self) -> Vec<f64> {
        self.chunk_offsets_s
            .split(';')
            .filter_map(|s| s.parse::<f64>().ok())
            .filter(|t| t.is_finite())
            .collect()
    }

    /// Gaps between consecutive content chunks, from `chunk_offsets_s`.
    pub fn chunk_gaps(&self) -> Vec<f64> {
        self.chunk_offsets()
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::calibrate::target::{ErrorKind, Failure};

    fn level() -> LevelSpec {
        LevelSpec {
            index: 3,
            concurrency: 4,
            rate: None,
            prompt_tokens: 64,
            output_tokens: 5,
        }
    }

    #[test]
    fn timings_follow_the_vllm_definitions() {
        let zero = Instant::now();
        let sent = zero + Duration::from_millis(100);
        let ms = |n| sent + Duration::from_millis(n);
        let exchange = Exchange {
            sent,
            chunk_times: vec![ms(200), ms(210), ms(230), ms(240), ms(280)],
            end: ms(290),
            input_tokens: Some(70),
            cached_tokens: Some(20),
            output_tokens: Some(5),
            output_chars: 20,
            failure: None,
            attempts: 1,
        };
        let context = RequestContext {
            request_id: 9,
            level: level(),
            warmup: false,
            cooldown: false,
            scheduled: zero + Duration::from_millis(90),
            concurrency_at_send: 3,
            input_tokens_estimate: 64,
        };
        let r = RequestRecord::new(&context, &exchange, zero);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(r.ttft_s.unwrap(), 0.200));
        assert!(close(r.tpot_s.unwrap(), 0.080 / 4.0));
        assert!(close(r.itl_mean_s.unwrap(), 0.020));
        assert!(close(r.e2e_s, 0.290));
        assert!(close(r.ntpot_s.unwrap(), 0.290 / 5.0));
        assert!(close(r.scheduled_s, 0.090) && close(r.sent_s, 0.100));
        assert_eq!((r.concurrency, r.concurrency_at_send), (4, 3));
        assert_eq!(r.tokens_source, "server");
        assert_eq!(r.cached_tokens, Some(20));
        assert!(!r.early_stop && r.is_ok() && !r.token_mismatch());
        let gaps = r.chunk_gaps();
        assert_eq!(gaps.len(), 4);
        assert!((gaps[3] - 0.040).abs() < 1e-3);
    }

    #[test]
    fn failures_and_estimates_are_marked() {
        let zero = Instant::now();
        let exchange = Exchange {
            sent: zero,
            chunk_times: vec![zero + Duration::from_millis(5)],
            end: zero + Duration::from_millis(6),
            input_tokens: None,
            cached_tokens: None,
            output_tokens: None,
            output_chars: 3,
            failure: Some(Failure {
                kind: ErrorKind::Throttled,
                message: "ThrottlingException".into(),
            }),
            attempts: 2,
        };
        let context = RequestContext {
            request_id: 1,
            level: level(),
            warmup: true,
            cooldown: false,
            scheduled: zero,
            concurrency_at_send: 1,
            input_tokens_estimate: 64,
        };
        let r = RequestRecord::new(&context, &exchange, zero);
        assert_eq!(r.status, "throttled");
        assert_eq!(r.tokens_source, "estimate");
        assert_eq!((r.input_tokens, r.output_tokens), (64, 1));
        assert!(r.tpot_s.is_none());
        assert!(!r.early_stop, "a failure is not an early stop");
        assert_eq!(r.attempts, 2);
    }
}
