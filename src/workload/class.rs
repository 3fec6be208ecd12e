//! A request class: what one kind of request is made of (system prompt, cached prefix,
//! retrieved context, the user's message, resent history, the reply) and its share of traffic.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{LengthDist, WorkloadError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestClass {
    #[serde(default = "all")]
    pub name: String,
    /// Share of requests (the shares of a workload's classes are normalised to sum to 1).
    #[serde(default = "one")]
    pub share: f64,
    /// Sent first in every request of a session (drawn once a session); 0 for none.
    #[serde(default = "none")]
    pub system_prompt: LengthDist,
    /// Tokens at the start of every prompt that a prompt cache can hold (the system prompt or
    /// its leading part): at most the shortest system prompt.
    #[serde(default)]
    pub cached_prefix: f64,
    /// Retrieved context sent with each request (not kept in the history); 0 for none.
    #[serde(default = "none")]
    pub context: LengthDist,
    /// The user's new message.
    pub message: LengthDist,
    pub reply: LengthDist,
    /// The request's max_tokens; unset means the model's maximum is reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<f64>,
    /// Whether earlier turns' messages and replies are resent with each request.
    #[serde(default)]
    pub history: bool,
    /// This class's own SLO (p95 TTFT and TPOT); default: the scenario's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<ClassSlo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSlo {
    pub ttft_p95_s: f64,
    pub tpot_p95_s: f64,
}

fn all() -> String {
    "all".into()
}
fn one() -> f64 {
    1.0
}
fn none() -> LengthDist {
    LengthDist::fixed(0.0)
}

/// A length that may be zero (system prompt, context): `None` for a fixed 0.
pub fn optional(dist: &LengthDist) -> Option<&LengthDist> {
    match dist {
        LengthDist::Fixed { tokens } if *tokens == 0.0 => None,
        _ => Some(dist),
    }
}

impl RequestClass {
    /// One class of fixed-length requests with no system prompt.
    pub fn simple(message: LengthDist, reply: LengthDist, max_tokens: Option<f64>) -> Self {
        RequestClass {
            name: all(),
            share: 1.0,
            system_prompt: none(),
            cached_prefix: 0.0,
            context: none(),
            message,
            reply,
            max_tokens,
            history: false,
            slo: None,
        }
    }

    pub fn system_tokens<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        optional(&self.system_prompt).map_or(0.0, |d| d.sample(rng))
    }

    pub fn context_tokens<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        optional(&self.context).map_or(0.0, |d| d.sample(rng))
    }

    pub fn mean_system(&self) -> f64 {
        optional(&self.system_prompt).map_or(0.0, LengthDist::mean)
    }

    pub fn mean_context(&self) -> f64 {
        optional(&self.context).map_or(0.0, LengthDist::mean)
    }

    /// The fewest tokens any prompt of this class holds: what a prefix must fit in.
    pub fn min_prompt(&self) -> f64 {
        optional(&self.system_prompt).map_or(0.0, LengthDist::min_tokens)
            + optional(&self.context).map_or(0.0, LengthDist::min_tokens)
            + self.message.min_tokens()
    }

    /// Every field's range; `field` names the class (`workload.class[1]`).
    pub fn validate(&self, field: &str) -> Result<(), WorkloadError> {
        let at = |name: &str| format!("{field}.{name}");
        if !(self.share > 0.0 && self.share <= 1e6) {
            return Err(WorkloadError::out_of_range(
                at("share"),
                self.share,
                "a positive share of requests (shares are normalised: 0.7 and 0.3, or 70 and 30)",
            ));
        }
        for (name, dist) in [
            ("system_prompt", &self.system_prompt),
            ("context", &self.context),
        ] {
            if let Some(d) = optional(dist) {
                d.validate(&at(name))?;
            }
        }
        self.message.validate(&at("message"))?;
        self.reply.validate(&at("reply"))?;
        if let Some(m) = self.max_tokens {
            // Large values are allowed (a cap that never binds): max_tokens only sizes the
            // quota's reservation and bounds each reply, it allocates nothing.
            if !(m >= 1.0) {
                return Err(WorkloadError::out_of_range(
                    at("max_tokens"),
                    m,
                    "≥ 1 (or unset: the model's maximum)",
                ));
            }
        }
        if !(self.cached_prefix >= 0.0 && self.cached_prefix.is_finite()) {
            return Err(WorkloadError::out_of_range(
                at("cached_prefix"),
                self.cached_prefix,
                "a number of tokens ≥ 0",
            ));
        }
        let system_min = optional(&self.system_prompt).map_or(0.0, LengthDist::min_tokens);
        if self.cached_prefix > system_min {
            return Err(WorkloadError::PrefixTooLong {
                field: at("cached_prefix"),
                prefix: self.cached_prefix,
                within: format!(
                    "the system prompt ({}), which every request of the class repeats",
                    if system_min == 0.0 {
                        "none".to_string()
                    } else {
                        self.system_prompt.describe()
                    }
                ),
                fix: "make system_prompt at least as long as the prefix (a fixed number, or a distribution whose smallest value holds it), or shorten cached_prefix",
            });
        }
        if let Some(slo) = &self.slo {
            if !(slo.ttft_p95_s > 0.0 && slo.ttft_p95_s <= 600.0) {
                return Err(WorkloadError::out_of_range(
                    at("slo.ttft_p95_s"),
                    slo.ttft_p95_s,
                    "in (0, 600] s",
                ));
            }
            if !(slo.tpot_p95_s > 0.0 && slo.tpot_p95_s <= 60.0) {
                return Err(WorkloadError::out_of_range(
                    at("slo.tpot_p95_s"),
                    slo.tpot_p95_s,
                    "in (0, 60] s",
                ));
            }
        }
        Ok(())
    }
}
