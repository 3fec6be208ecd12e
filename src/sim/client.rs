//! Client behaviour: timeouts, retries with exponential backoff and full jitter, giving up.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::error::SimError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientPolicy {
    /// Seconds the client waits for a response before abandoning the attempt; none by default.
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Attempts per request including the first (the AWS SDKs' standard mode uses 3).
    #[serde(default = "three")]
    pub max_attempts: u32,
    /// Backoff before retry k is uniform in [0, min(cap, base·2^(k−1))] (AWS "full jitter").
    #[serde(default = "half_second")]
    pub backoff_base_s: f64,
    #[serde(default = "twenty_seconds")]
    pub backoff_cap_s: f64,
    /// The client asks for exactly its reply: each request's max_tokens is its reply length
    /// (as `verify` sends them, so a server returns the workload's lengths), not the class's
    /// cap. A quota then reserves less at admission.
    #[serde(default)]
    pub max_tokens_is_reply: bool,
}

fn three() -> u32 {
    3
}
fn half_second() -> f64 {
    0.5
}
fn twenty_seconds() -> f64 {
    20.0
}

impl Default for ClientPolicy {
    fn default() -> Self {
        ClientPolicy {
            timeout_s: None,
            max_attempts: 3,
            backoff_base_s: 0.5,
            backoff_cap_s: 20.0,
            max_tokens_is_reply: false,
        }
    }
}

impl ClientPolicy {
    /// No retries: what a measurement wants.
    pub fn single_attempt() -> ClientPolicy {
        ClientPolicy {
            max_attempts: 1,
            ..ClientPolicy::default()
        }
    }

    /// What `verify` does: one attempt a request, max_tokens its reply length.
    pub fn verify() -> ClientPolicy {
        ClientPolicy {
            max_tokens_is_reply: true,
            ..ClientPolicy::single_attempt()
        }
    }

    pub fn backoff_s<R: Rng + ?Sized>(&self, failed_attempt: u32, rng: &mut R) -> f64 {
        let exponent = failed_attempt.saturating_sub(1).min(30) as i32;
        let ceiling = (self.backoff_base_s * 2f64.powi(exponent)).min(self.backoff_cap_s);
        rng.random::<f64>() * ceiling
    }

    pub fn validate(&self) -> Result<(), SimError> {
        if self.max_attempts == 0 {
            return Err(SimError::out_of_range(
                "client.max_attempts",
                0.0,
                "≥ 1 (the first attempt counts)",
            ));
        }
        if let Some(t) = self.timeout_s {
            if !(t > 0.0) {
                return Err(SimError::out_of_range(
                    "client.timeout_s",
                    t,
                    "> 0 (or unset)",
                ));
            }
        }
        Ok(())
    }
}
