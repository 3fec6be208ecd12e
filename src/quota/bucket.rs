//! Bedrock's on-demand quota semantics for one model × region, shared by the simulator and the
//! emulator so both throttle by the same arithmetic.
//!
//! Quotas are rolling one-minute token buckets (tokens per minute, optional requests per minute,
//! tokens per day). At request start Bedrock reserves `input + max_tokens` (an unset max_tokens
//! means the model's maximum — the commonest cause of throttling); at the end it settles the
//! charge at `input + cache_write + output × burndown` and refunds the rest. A request whose
//! reservation does not fit is throttled (HTTP 429, ThrottlingException).

use serde::{Deserialize, Serialize};

/// The limits in force for one model × region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaLimits {
    /// Tokens per minute.
    pub tpm: f64,
    /// Requests per minute; optional (AWS is retiring RPM for many models).
    #[serde(default)]
    pub rpm: Option<f64>,
    /// Tokens per day; `None` means TPM × 1,440.
    #[serde(default)]
    pub tpd: Option<f64>,
    /// Quota tokens charged per output token (5 for Claude Sonnet 4 / Opus 4, else 1).
    #[serde(default = "one")]
    pub output_burndown: f64,
    /// A cross-region inference profile's extra headroom, as a multiplier on every limit.
    #[serde(default = "one")]
    pub headroom: f64,
}

fn one() -> f64 {
    1.0
}

/// One continuously refilled bucket: `capacity` tokens, refilled at `capacity / period_s`.
#[derive(Clone, Debug, PartialEq)]
struct Bucket {
    capacity: f64,
    level: f64,
    rate_per_s: f64,
    updated_s: f64,
}

impl Bucket {
    fn new(capacity: f64, period_s: f64) -> Bucket {
        Bucket {
            capacity,
            level: capacity,
            rate_per_s: capacity / period_s,
            updated_s: 0.0,
        }
    }

    fn refill(&mut self, now_s: f64) {
        if now_s > self.updated_s {
            self.level =
                (self.level + (now_s - self.updated_s) * self.rate_per_s).min(self.capacity);
            self.updated_s = now_s;
        }
    }

    /// Seconds from `now_s` until `amount` fits (0 when it fits now; infinite when it never can).
    fn wait_for(&self, amount: f64) -> f64 {
        if self.level >= amount {
            0.0
        } else if amount > self.capacity {
            f64::INFINITY
        } else {
            (amount - self.level) / self.rate_per_s
        }
    }
}

/// Which limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleReason {
    TokensPerMinute,
    RequestsPerMinute,
    TokensPerDay,
}

/// What was reserved for a started request, to settle at its end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reservation {
    pub tokens: f64,
}

/// The live state of one model × region's quota.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaState {
    limits: QuotaLimits,
    tokens_minute: Bucket,
    requests_minute: Option<Bucket>,
    tokens_day: Bucket,
}

impl QuotaState {
    pub fn new(limits: QuotaLimits) -> QuotaState {
        let headroom = limits.headroom.max(0.0);
        let tpm = limits.tpm * headroom;
        QuotaState {
            tokens_minute: Bucket::new(tpm, 60.0),
            requests_minute: limits.rpm.map(|rpm| Bucket::new(rpm * headroom, 60.0)),
            tokens_day: Bucket::new(limits.tpd.map_or(tpm * 1_440.0, |d| d * headroom), 86_400.0),
            limits,
        }
    }

    pub fn limits(&self) -> &QuotaLimits {
        &self.limits
    }

    fn refill(&mut self, now_s: f64) {
        self.tokens_minute.refill(now_s);
        self.tokens_day.refill(now_s);
        if let Some(rpm) = &mut self.requests_minute {
            rpm.refill(now_s);
        }
    }

    /// Reserves `input + max_tokens` at `now_s`, or says which limit throttles the request.
    pub fn try_start(
        &mut self,
        now_s: f64,
        input_tokens: f64,
        max_tokens: f64,
    ) -> Result<Reservation, ThrottleReason> {
        self.refill(now_s);
        let tokens = input_tokens + max_tokens;
        if let Some(rpm) = &self.requests_minute {
            if rpm.level < 1.0 {
                return Err(ThrottleReason::RequestsPerMinute);
            }
        }
        if self.tokens_minute.level < tokens {
            return Err(ThrottleReason::TokensPerMinute);
        }
        if self.tokens_day.level < tokens {
            return Err(ThrottleReason::TokensPerDay);
        }
        self.tokens_minute.level -= tokens;
        self.tokens_day.level -= tokens;
        if let Some(rpm) = &mut self.requests_minute {
            rpm.level -= 1.0;
        }
        Ok(Reservation { tokens })
    }

    /// Settles a finished (or failed) request: charges what it used and refunds the rest of its
    /// reservation. Returns the tokens charged.
    pub fn settle(
        &mut self,
        now_s: f64,
        reservation: Reservation,
        input_tokens: f64,
        cache_write_tokens: f64,
        output_tokens: f64,
    ) -> f64 {
        self.refill(now_s);
        let charged =
            input_tokens + cache_write_tokens + output_tokens * self.limits.output_burndown;
        let refund = reservation.tokens - charged;
        self.tokens_minute.level =
            (self.tokens_minute.level + refund).min(self.tokens_minute.capacity);
        self.tokens_day.level = (self.tokens_day.level + refund).min(self.tokens_day.capacity);
        charged
    }

    /// Seconds from `now_s` until a reservation of `tokens` could start (for retry scheduling
    /// and event planning); infinite when it exceeds a bucket's capacity.
    pub fn seconds_until_fits(&mut self, now_s: f64, tokens: f64) -> f64 {
        self.refill(now_s);
        let mut wait = self
            .tokens_minute
            .wait_for(tokens)
            .max(self.tokens_day.wait_for(tokens));
        if let Some(rpm) = &self.requests_minute {
            wait = wait.max(rpm.wait_for(1.0));
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(tpm: f64) -> QuotaLimits {
        QuotaLimits {
            tpm,
            rpm: None,
            tpd: None,
            output_burndown: 1.0,
            headroom: 1.0,
        }
    }

    /// Starts admitted per minute in steady state when reservations are never refunded within
    /// the minute: TPM / (input + max_tokens).
    fn starts_per_minute(tpm: f64, input: f64, max_tokens: f64) -> f64 {
        let mut quota = QuotaState::new(limits(tpm));
        // Drain the initial burst, then count over ten minutes of attempts every 10 ms.
        let mut admitted = 0u64;
        let (warmup, horizon) = (60.0, 660.0);
        let mut t = 0.0;
        while t < horizon {
            if quota.try_start(t, input, max_tokens).is_ok() && t >= warmup {
                admitted += 1;
            }
            t += 0.01;
        }
        admitted as f64 / ((horizon - warmup) / 60.0)
    }

    #[test]
    fn max_tokens_reservation_sets_the_start_rate() {
        let at_1000 = starts_per_minute(2_000_000.0, 500.0, 1_000.0);
        let at_64000 = starts_per_minute(2_000_000.0, 500.0, 64_000.0);
        assert!((at_1000 / 1_333.3 - 1.0).abs() < 0.01, "{at_1000}");
        assert!((at_64000 / 31.0 - 1.0).abs() < 0.02, "{at_64000}");
    }

    #[test]
    fn settle_refunds_the_unused_reservation_with_burndown() {
        let mut quota = QuotaState::new(QuotaLimits {
            output_burndown: 5.0,
            ..limits(10_000.0)
        });
        let r = quota.try_start(0.0, 1_000.0, 4_000.0).unwrap();
        assert!(quota.try_start(0.0, 1_000.0, 4_000.0).is_ok());
        assert_eq!(
            quota.try_start(0.0, 1.0, 0.0),
            Err(ThrottleReason::TokensPerMinute)
        );
        // 100 output tokens at burndown 5: charged 1,000 + 500, refunded 3,500.
        assert_eq!(quota.settle(0.0, r, 1_000.0, 0.0, 100.0), 1_500.0);
        assert!(quota.try_start(0.0, 1_000.0, 2_500.0).is_ok());
        assert!(quota.try_start(0.0, 1.0, 0.0).is_err());
    }

    #[test]
    fn rpm_and_headroom() {
        let mut quota = QuotaState::new(QuotaLimits {
            rpm: Some(2.0),
            headroom: 2.0,
            ..limits(1e9)
        });
        for _ in 0..4 {
            assert!(quota.try_start(0.0, 1.0, 1.0).is_ok());
        }
        assert_eq!(
            quota.try_start(0.0, 1.0, 1.0),
            Err(ThrottleReason::RequestsPerMinute)
        );
        assert!((quota.seconds_until_fits(0.0, 1.0) - 15.0).abs() < 1e-9);
        assert!(quota.try_start(15.0, 1.0, 1.0).is_ok());
    }
}
