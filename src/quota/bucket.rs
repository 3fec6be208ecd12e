//! Bedrock's on-demand quota semantics for one model × Region, on either inference endpoint,
//! shared by the simulator and the emulator so both throttle by the same arithmetic.
//!
//! Quotas are rolling one-minute token buckets, continuously refilled.
//!
//! **bedrock-runtime** (InvokeModel, Converse; AWS Bedrock User Guide, "Quotas for the
//! bedrock-runtime endpoint", read 2026-11-30): one tokens-per-minute quota per model, input and
//! output combined (on-demand and cross-Region inference profiles have separate quotas), a
//! tokens-per-day cap that defaults to TPM × 1,440, and a requests-per-minute quota only where an
//! account still has one (AWS stopped enforcing RPM in 2026-05). At request start Bedrock
//! reserves `input + max_tokens`, cache reads and writes included (an unset max_tokens means the
//! model's maximum — the commonest cause of throttling); at the end it settles the charge at
//! `input − cache reads + output × burndown` and refunds the rest. A request whose reservation
//! does not fit is throttled (HTTP 429, ThrottlingException).
//!
//! **bedrock-mantle** (OpenAI Chat Completions and Responses, Anthropic Messages; "Quotas for
//! the bedrock-mantle endpoint", read 2026-11-30): separate input- and output-tokens-per-minute
//! quotas per model and no RPM. Admission checks `input + max_tokens` against the input quota,
//! where cache reads do not count; output tokens count against the output quota as the model
//! produces them. Here a request is admitted while the output bucket is not exhausted, and its
//! output is charged when it ends (the bucket may go below zero, which throttles what follows
//! until it refills); max_tokens is refunded to the input bucket at the end.

use serde::{Deserialize, Serialize};

/// Bedrock's two inference endpoints, each with its own quotas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InferenceEndpoint {
    /// bedrock-runtime: InvokeModel, Converse (and its Chat Completions and Messages APIs).
    #[default]
    Runtime,
    /// bedrock-mantle: OpenAI Responses and Chat Completions, Anthropic Messages.
    Mantle,
}

impl InferenceEndpoint {
    pub fn host(self) -> &'static str {
        match self {
            InferenceEndpoint::Runtime => "bedrock-runtime",
            InferenceEndpoint::Mantle => "bedrock-mantle",
        }
    }
}

/// The bedrock-runtime limits in force for one model × Region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuotaLimits {
    /// Tokens per minute.
    pub tpm: f64,
    /// Requests per minute; optional (AWS no longer enforces RPM for most accounts).
    #[serde(default)]
    pub rpm: Option<f64>,
    /// Tokens per day; `None` means TPM × 1,440.
    #[serde(default)]
    pub tpd: Option<f64>,
    /// Quota tokens charged per output token (5 for newer Claude models, else 1).
    #[serde(default = "one")]
    pub output_burndown: f64,
    /// A cross-region inference profile's extra headroom, as a multiplier on every limit.
    #[serde(default = "one")]
    pub headroom: f64,
}

fn one() -> f64 {
    1.0
}

/// The bedrock-mantle limits in force for one model × Region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MantleLimits {
    /// Input tokens per minute (cache reads exempt; max_tokens reserved at admission).
    pub input_tpm: f64,
    /// Output tokens per minute.
    pub output_tpm: f64,
}

/// A model's quotas on one of Bedrock's two inference endpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Quota {
    Mantle(MantleLimits),
    Runtime(QuotaLimits),
}

impl From<QuotaLimits> for Quota {
    fn from(limits: QuotaLimits) -> Quota {
        Quota::Runtime(limits)
    }
}

impl From<MantleLimits> for Quota {
    fn from(limits: MantleLimits) -> Quota {
        Quota::Mantle(limits)
    }
}

impl Quota {
    /// Every limit a finite number > 0; otherwise the field and its value.
    pub fn check(&self) -> Result<(), (&'static str, f64)> {
        let positive = |field: &'static str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err((field, v))
            }
        };
        match self {
            Quota::Runtime(q) => {
                positive("tpm", q.tpm)?;
                if let Some(rpm) = q.rpm {
                    positive("rpm", rpm)?;
                }
                if let Some(tpd) = q.tpd {
                    positive("tpd", tpd)?;
                }
                positive("output_burndown", q.output_burndown)?;
                positive("headroom", q.headroom)
            }
            Quota::Mantle(q) => {
                positive("input_tpm", q.input_tpm)?;
                positive("output_tpm", q.output_tpm)
            }
        }
    }
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

    /// Seconds until the level is above zero again (a bucket charged into debt).
    fn wait_until_positive(&self) -> f64 {
        if self.level > 0.0 {
            0.0
        } else {
            // Just past zero, so that an admission at that instant sees a positive level.
            (-self.level) / self.rate_per_s * (1.0 + 1e-9) + 1e-9
        }
    }

    fn give_back(&mut self, tokens: f64) {
        self.level = (self.level + tokens).min(self.capacity);
    }
}

/// Which limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleReason {
    TokensPerMinute,
    RequestsPerMinute,
    TokensPerDay,
    /// bedrock-mantle: input tokens (+ max_tokens) per minute.
    InputTokensPerMinute,
    /// bedrock-mantle: output tokens per minute exhausted.
    OutputTokensPerMinute,
}

impl ThrottleReason {
    pub fn label(self) -> &'static str {
        match self {
            ThrottleReason::TokensPerMinute => "tokens per minute",
            ThrottleReason::RequestsPerMinute => "requests per minute",
            ThrottleReason::TokensPerDay => "tokens per day",
            ThrottleReason::InputTokensPerMinute => "input tokens per minute",
            ThrottleReason::OutputTokensPerMinute => "output tokens per minute",
        }
    }
}

/// The tokens a request brings to admission.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Ask {
    /// Every prompt token, cached ones included.
    pub input: f64,
    /// Of those, read from the prompt cache.
    pub cache_read: f64,
    /// max_tokens as sent (or the model's maximum when unset).
    pub max_tokens: f64,
}

impl Ask {
    /// What bedrock-runtime reserves at admission: every input token and max_tokens.
    pub fn runtime_reservation(&self) -> f64 {
        self.input + self.max_tokens
    }

    /// What bedrock-mantle checks against input TPM: uncached input and max_tokens.
    pub fn mantle_input_reservation(&self) -> f64 {
        (self.input - self.cache_read).max(0.0) + self.max_tokens
    }
}

/// What a request used, when it ends.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Used {
    /// Every prompt token, cached ones (read or written) included.
    pub input: f64,
    pub cache_read: f64,
    pub output: f64,
}

/// What was reserved for a started request, to settle at its end.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reservation {
    /// Tokens taken at admission (runtime: from the combined bucket; mantle: from the input
    /// bucket).
    pub tokens: f64,
}

/// What settling a request charged.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Charge {
    /// Runtime: combined tokens (input − cache reads + output × burndown); mantle: input tokens
    /// charged (input − cache reads).
    pub tokens: f64,
    /// Mantle only: output tokens charged against output TPM.
    pub output_tokens: f64,
}

#[derive(Clone, Debug, PartialEq)]
struct RuntimeState {
    limits: QuotaLimits,
    tokens_minute: Bucket,
    requests_minute: Option<Bucket>,
    tokens_day: Bucket,
}

#[derive(Clone, Debug, PartialEq)]
struct MantleState {
    input_minute: Bucket,
    output_minute: Bucket,
}

/// The live state of one model × Region's quota on one endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct QuotaState {
    quota: Quota,
    state: State,
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Runtime(RuntimeState),
    Mantle(MantleState),
}

impl QuotaState {
    pub fn new(quota: impl Into<Quota>) -> QuotaState {
        let quota = quota.into();
        let state = match &quota {
            Quota::Runtime(limits) => {
                let headroom = limits.headroom.max(0.0);
                let tpm = limits.tpm * headroom;
                State::Runtime(RuntimeState {
                    tokens_minute: Bucket::new(tpm, 60.0),
                    requests_minute: limits.rpm.map(|rpm| Bucket::new(rpm * headroom, 60.0)),
                    tokens_day: Bucket::new(
                        limits.tpd.map_or(tpm * 1_440.0, |d| d * headroom),
                        86_400.0,
                    ),
                    limits: limits.clone(),
                })
            }
            Quota::Mantle(limits) => State::Mantle(MantleState {
                input_minute: Bucket::new(limits.input_tpm, 60.0),
                output_minute: Bucket::new(limits.output_tpm, 60.0),
            }),
        };
        QuotaState { quota, state }
    }

    pub fn quota(&self) -> &Quota {
        &self.quota
    }

    fn refill(&mut self, now_s: f64) {
        match &mut self.state {
            State::Runtime(s) => {
                s.tokens_minute.refill(now_s);
                s.tokens_day.refill(now_s);
                if let Some(rpm) = &mut s.requests_minute {
                    rpm.refill(now_s);
                }
            }
            State::Mantle(s) => {
                s.input_minute.refill(now_s);
                s.output_minute.refill(now_s);
            }
        }
    }

    /// Admits a request at `now_s`, reserving what its endpoint reserves, or says which limit
    /// throttles it.
    pub fn try_start(&mut self, now_s: f64, ask: &Ask) -> Result<Reservation, ThrottleReason> {
        self.refill(now_s);
        match &mut self.state {
            State::Runtime(s) => {
                let tokens = ask.runtime_reservation();
                if let Some(rpm) = &s.requests_minute {
                    if rpm.level < 1.0 {
                        return Err(ThrottleReason::RequestsPerMinute);
                    }
                }
                if s.tokens_minute.level < tokens {
                    return Err(ThrottleReason::TokensPerMinute);
                }
                if s.tokens_day.level < tokens {
                    return Err(ThrottleReason::TokensPerDay);
                }
                s.tokens_minute.level -= tokens;
                s.tokens_day.level -= tokens;
                if let Some(rpm) = &mut s.requests_minute {
                    rpm.level -= 1.0;
                }
                Ok(Reservation { tokens })
            }
            State::Mantle(s) => {
                let tokens = ask.mantle_input_reservation();
                if s.input_minute.level < tokens {
                    return Err(ThrottleReason::InputTokensPerMinute);
                }
                if s.output_minute.level <= 0.0 {
                    return Err(ThrottleReason::OutputTokensPerMinute);
                }
                s.input_minute.level -= tokens;
                Ok(Reservation { tokens })
            }
        }
    }

    /// Settles a finished (or failed) request: charges what it used and refunds the rest of its
    /// reservation.
    pub fn settle(&mut self, now_s: f64, reservation: Reservation, used: &Used) -> Charge {
        self.refill(now_s);
        let uncached = (used.input - used.cache_read).max(0.0);
        match &mut self.state {
            State::Runtime(s) => {
                let charged = uncached + used.output * s.limits.output_burndown;
                let refund = reservation.tokens - charged;
                s.tokens_minute.give_back(refund);
                s.tokens_day.give_back(refund);
                Charge {
                    tokens: charged,
                    output_tokens: 0.0,
                }
            }
            State::Mantle(s) => {
                s.input_minute.give_back(reservation.tokens - uncached);
                s.output_minute.level -= used.output;
                Charge {
                    tokens: uncached,
                    output_tokens: used.output,
                }
            }
        }
    }

    /// Seconds from `now_s` until a request asking `ask` could be admitted (for retry
    /// scheduling); infinite when it exceeds a bucket's capacity.
    pub fn seconds_until_fits(&mut self, now_s: f64, ask: &Ask) -> f64 {
        self.refill(now_s);
        match &self.state {
            State::Runtime(s) => {
                let tokens = ask.runtime_reservation();
                let mut wait = s
                    .tokens_minute
                    .wait_for(tokens)
                    .max(s.tokens_day.wait_for(tokens));
                if let Some(rpm) = &s.requests_minute {
                    wait = wait.max(rpm.wait_for(1.0));
                }
                wait
            }
            State::Mantle(s) => s
                .input_minute
                .wait_for(ask.mantle_input_reservation())
                .max(s.output_minute.wait_until_positive()),
        }
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

    fn ask(input: f64, max_tokens: f64) -> Ask {
        Ask {
            input,
            cache_read: 0.0,
            max_tokens,
        }
    }

    fn used(input: f64, output: f64) -> Used {
        Used {
            input,
            cache_read: 0.0,
            output,
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
            if quota.try_start(t, &ask(input, max_tokens)).is_ok() && t >= warmup {
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
        let r = quota.try_start(0.0, &ask(1_000.0, 4_000.0)).unwrap();
        assert!(quota.try_start(0.0, &ask(1_000.0, 4_000.0)).is_ok());
        assert_eq!(
            quota.try_start(0.0, &ask(1.0, 0.0)),
            Err(ThrottleReason::TokensPerMinute)
        );
        // 100 output tokens at burndown 5: charged 1,000 + 500, refunded 3,500.
        assert_eq!(quota.settle(0.0, r, &used(1_000.0, 100.0)).tokens, 1_500.0);
        assert!(quota.try_start(0.0, &ask(1_000.0, 2_500.0)).is_ok());
        assert!(quota.try_start(0.0, &ask(1.0, 0.0)).is_err());
    }

    #[test]
    fn runtime_reserves_cache_reads_and_releases_them_at_settlement() {
        let mut quota = QuotaState::new(limits(10_000.0));
        // 6,000 prompt tokens of which 5,000 read from the cache, max_tokens 1,000: the whole
        // 7,000 is reserved, so a second such request does not fit…
        let cached = Ask {
            input: 6_000.0,
            cache_read: 5_000.0,
            max_tokens: 1_000.0,
        };
        let r = quota.try_start(0.0, &cached).unwrap();
        assert_eq!(r.tokens, 7_000.0);
        assert_eq!(
            quota.try_start(0.0, &cached),
            Err(ThrottleReason::TokensPerMinute)
        );
        // …and settlement charges 1,000 uncached + 200 output, refunding 5,800.
        let charge = quota.settle(
            0.0,
            r,
            &Used {
                input: 6_000.0,
                cache_read: 5_000.0,
                output: 200.0,
            },
        );
        assert_eq!(charge.tokens, 1_200.0);
        assert!(quota.try_start(0.0, &cached).is_ok());
    }

    #[test]
    fn rpm_and_headroom() {
        let mut quota = QuotaState::new(QuotaLimits {
            rpm: Some(2.0),
            headroom: 2.0,
            ..limits(1e9)
        });
        for _ in 0..4 {
            assert!(quota.try_start(0.0, &ask(1.0, 1.0)).is_ok());
        }
        assert_eq!(
            quota.try_start(0.0, &ask(1.0, 1.0)),
            Err(ThrottleReason::RequestsPerMinute)
        );
        assert!((quota.seconds_until_fits(0.0, &ask(1.0, 1.0)) - 15.0).abs() < 1e-9);
        assert!(quota.try_start(15.0, &ask(1.0, 1.0)).is_ok());
    }

    fn mantle(input_tpm: f64, output_tpm: f64) -> QuotaState {
        QuotaState::new(MantleLimits {
            input_tpm,
            output_tpm,
        })
    }

    #[test]
    fn mantle_throttles_on_input_while_output_is_free() {
        let mut quota = mantle(10_000.0, 1_000_000.0);
        let a = ask(4_000.0, 1_000.0);
        assert!(quota.try_start(0.0, &a).is_ok());
        assert!(quota.try_start(0.0, &a).is_ok());
        assert_eq!(
            quota.try_start(0.0, &a),
            Err(ThrottleReason::InputTokensPerMinute)
        );
        // Input refills at 10,000 / 60 s: the 5,000 missing take 30 s less the 0 left over.
        assert!((quota.seconds_until_fits(0.0, &a) - 30.0).abs() < 1e-9);
    }

    #[test]
    fn mantle_throttles_on_output_while_input_is_free() {
        let mut quota = mantle(1_000_000.0, 600.0);
        let a = ask(100.0, 1_000.0);
        let r = quota.try_start(0.0, &a).unwrap();
        // The reply used 900 output tokens: the output bucket is 300 in debt.
        let charge = quota.settle(1.0, r, &used(100.0, 900.0));
        assert_eq!((charge.tokens, charge.output_tokens), (100.0, 900.0));
        assert_eq!(
            quota.try_start(1.0, &a),
            Err(ThrottleReason::OutputTokensPerMinute)
        );
        // The bucket was full at t = 1 s (refill is capped), so the debt is 300; 600 a minute
        // refills 10 a second: positive again after 30 s.
        let wait = quota.seconds_until_fits(1.0, &a);
        assert!((wait - 30.0).abs() < 1e-6, "{wait}");
        assert!(quota.try_start(1.0 + wait, &a).is_ok());
    }

    #[test]
    fn mantle_cache_reads_do_not_count_against_input() {
        // 10,000 input TPM; prompts of 9,000 tokens, 8,500 of them a cached system prompt,
        // max_tokens 500: each reserves 1,000 input tokens, so ten start in the first instant,
        // where without the cache not even two would.
        let mut cached = mantle(10_000.0, 1e9);
        let with_cache = Ask {
            input: 9_000.0,
            cache_read: 8_500.0,
            max_tokens: 500.0,
        };
        let started = (0..20)
            .filter(|_| cached.try_start(0.0, &with_cache).is_ok())
            .count();
        assert_eq!(started, 10);
        let mut uncached = mantle(10_000.0, 1e9);
        let started = (0..20)
            .filter(|_| uncached.try_start(0.0, &ask(9_000.0, 500.0)).is_ok())
            .count();
        assert_eq!(started, 1);
    }
}
