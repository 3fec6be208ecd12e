//! What users send (docs/DESIGN.md, "The simulator"): token lengths, arrivals, user behaviour and the
//! named workload profiles. Pure: no I/O (trace text is parsed, not read, here).

pub mod arrivals;
pub mod class;
pub mod daily;
pub mod error;
pub mod lengths;
pub mod logs;
pub mod profiles;
pub mod trace;
pub mod users;

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use arrivals::{ArrivalProcess, ArrivalSampler};
pub use class::{ClassSlo, RequestClass};
pub use daily::DailyCurve;
pub use error::WorkloadError;
pub use lengths::LengthDist;
pub use users::{Conversation, UserBehaviour};

/// The most request classes one workload has.
pub const MAX_CLASSES: usize = 16;

/// What a deployment's users send: how they behave (think time, sessions), the classes of
/// request they make with their shares, and how the day's traffic spreads over its hours. In a
/// scenario this is `[workload]` (or a file, or a built-in name); `llmcap workload fit` writes
/// one learned from request logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The concurrency the profile is benchmarked at (closed loop).
    #[serde(default = "one")]
    pub concurrency: u32,
    #[serde(default = "yes")]
    pub streaming: bool,
    /// Mean seconds a user reads and types between a reply and their next message.
    #[serde(default = "think")]
    pub think_time_s: f64,
    /// Mean requests a session (geometric; 1 means single requests).
    #[serde(default = "one_f")]
    pub turns_per_session: f64,
    /// Mean seconds between one session's end and the user's next.
    #[serde(default = "gap")]
    pub session_gap_s: f64,
    #[serde(rename = "class")]
    pub classes: Vec<RequestClass>,
    /// The day's curve and the users' time zones; none: the scenario's peak_active_fraction
    /// sets the peak and a workday is a smooth curve peaking mid-afternoon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<DailyCurve>,
    /// What the logs a workload was learned from measured (`llmcap workload fit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<logs::fit::Measured>,
}

fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn think() -> f64 {
    30.0
}
fn gap() -> f64 {
    300.0
}

impl WorkloadSpec {
    /// A fixed-size workload (closed-loop checks, calibration replays).
    pub fn fixed(prompt_tokens: f64, output_tokens: f64) -> WorkloadSpec {
        WorkloadSpec::single(
            format!("fixed_{prompt_tokens}_{output_tokens}"),
            RequestClass::simple(
                LengthDist::fixed(prompt_tokens),
                LengthDist::fixed(output_tokens),
                Some(output_tokens),
            ),
        )
    }

    /// One class of requests, single-shot users with the default pauses.
    pub fn single(name: String, class: RequestClass) -> WorkloadSpec {
        let b = UserBehaviour::default();
        WorkloadSpec {
            name,
            description: String::new(),
            concurrency: 1,
            streaming: true,
            think_time_s: b.think_time_s,
            turns_per_session: b.turns_per_session,
            session_gap_s: b.session_gap_s,
            classes: vec![class],
            daily: None,
            measured: None,
        }
    }

    pub fn behaviour(&self) -> UserBehaviour {
        UserBehaviour {
            think_time_s: self.think_time_s,
            turns_per_session: self.turns_per_session,
            session_gap_s: self.session_gap_s,
        }
    }

    /// Each class's share of requests, summing to 1.
    pub fn shares(&self) -> Vec<f64> {
        let total: f64 = self.classes.iter().map(|c| c.share).sum();
        self.classes.iter().map(|c| c.share / total).collect()
    }

    /// A class drawn by its share (a session keeps the class it starts with).
    pub fn draw_class<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        if self.classes.len() <= 1 {
            return 0;
        }
        let total: f64 = self.classes.iter().map(|c| c.share).sum();
        let mut u = rng.random::<f64>() * total;
        for (i, c) in self.classes.iter().enumerate() {
            if u < c.share {
                return i;
            }
            u -= c.share;
        }
        self.classes.len() - 1
    }

    /// The share-weighted mean of `f` over the classes.
    pub fn mean_over(&self, f: impl Fn(&RequestClass) -> f64) -> f64 {
        self.classes
            .iter()
            .zip(self.shares())
            .map(|(c, s)| s * f(c))
            .sum()
    }

    /// Mean tokens of the system prompt a request carries.
    pub fn mean_system(&self) -> f64 {
        self.mean_over(RequestClass::mean_system)
    }

    /// Mean tokens of a request's own content: the message and any retrieved context (what a
    /// price calculator is given; the system prompt and history come on top).
    pub fn mean_message(&self) -> f64 {
        self.mean_over(|c| c.message.mean() + c.mean_context())
    }

    pub fn mean_reply(&self) -> f64 {
        self.mean_over(|c| c.reply.mean())
    }

    /// Mean tokens of the cacheable prefix a request carries.
    pub fn mean_cached_prefix(&self) -> f64 {
        self.mean_over(|c| c.cached_prefix)
    }

    /// Mean max_tokens a request sets, `model_max` where a class sets none.
    pub fn mean_max_tokens(&self, model_max: f64) -> f64 {
        self.mean_over(|c| c.max_tokens.unwrap_or(model_max))
    }

    /// Whether any class resends earlier turns.
    pub fn multi_turn(&self) -> bool {
        self.classes.iter().any(|c| c.history) && self.turns_per_session > 1.0
    }

    /// Mean prompt tokens with no context-window cap: a session's turn k resends k − 1 earlier
    /// exchanges where its class keeps history.
    pub fn mean_prompt(&self) -> f64 {
        let turns = self.turns_per_session.max(1.0);
        self.mean_over(|c| {
            let own = c.mean_system() + c.mean_context() + c.message.mean();
            if c.history {
                own + (turns - 1.0) / 2.0 * (c.message.mean() + c.reply.mean())
            } else {
                own
            }
        })
    }

    /// A one-line description of the classes, for plan.md and the quota documents.
    pub fn describe_classes(&self) -> String {
        let shares = self.shares();
        self.classes
            .iter()
            .zip(shares)
            .map(|(c, s)| {
                let mut parts = Vec::new();
                if c.mean_system() > 0.0 {
                    parts.push(format!("system prompt {}", c.system_prompt.describe()));
                }
                if c.cached_prefix > 0.0 {
                    parts.push(format!(
                        "{}-token cacheable prefix",
                        crate::format::thousands(c.cached_prefix)
                    ));
                }
                if c.mean_context() > 0.0 {
                    parts.push(format!("context {}", c.context.describe()));
                }
                parts.push(format!("message {}", c.message.describe()));
                if c.history {
                    parts.push("history resent".into());
                }
                parts.push(format!("reply {}", c.reply.describe()));
                if let Some(m) = c.max_tokens {
                    parts.push(format!("max_tokens {}", crate::format::thousands(m)));
                }
                if self.classes.len() == 1 {
                    parts.join(", ")
                } else {
                    format!("{} ({:.0} %): {}", c.name, s * 100.0, parts.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Every field's range; errors name the field (under `prefix`, e.g. `workload`) and the fix.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        self.validate_as("workload")
    }

    pub fn validate_as(&self, prefix: &str) -> Result<(), WorkloadError> {
        if self.classes.is_empty() || self.classes.len() > MAX_CLASSES {
            return Err(WorkloadError::Invalid {
                field: format!("{prefix}.class"),
                why: format!(
                    "{} classes: give 1–{MAX_CLASSES} [[{prefix}.class]] tables, each with at least `message` and `reply`",
                    self.classes.len()
                ),
            });
        }
        for (i, c) in self.classes.iter().enumerate() {
            if self.classes[..i].iter().any(|o| o.name == c.name) {
                return Err(WorkloadError::Invalid {
                    field: format!("{prefix}.class[{i}].name"),
                    why: format!("{:?} names two classes; give each its own name", c.name),
                });
            }
            c.validate(&format!("{prefix}.class[{i}]"))?;
        }
        for (field, value) in [
            ("think_time_s", self.think_time_s),
            ("session_gap_s", self.session_gap_s),
        ] {
            if !(0.0..=30.0 * 86_400.0).contains(&value) {
                return Err(WorkloadError::out_of_range(
                    format!("{prefix}.{field}"),
                    value,
                    "0–2,592,000 s (30 days)",
                ));
            }
        }
        if !(self.turns_per_session >= 1.0 && self.turns_per_session <= 1_000.0) {
            return Err(WorkloadError::out_of_range(
                format!("{prefix}.turns_per_session"),
                self.turns_per_session,
                "1–1,000 (1 means single requests)",
            ));
        }
        if let Some(daily) = &self.daily {
            daily.validate(&format!("{prefix}.daily"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn six_seed_004_profiles() {
        let names: Vec<String> = profiles::builtin().into_iter().map(|w| w.name).collect();
        assert_eq!(names.len(), 6);
        assert!(names.contains(&"agent_tool_calling".to_string()));
        assert!(!profiles::by_name("agent_tool_calling").unwrap().streaming);
    }

    #[test]
    fn multi_turn_chat_averages_550_input_tokens_and_grows() {
        let chat = profiles::by_name("multi_turn_chat").unwrap();
        let mut conversation = Conversation {
            history_tokens: 0.0,
            turns_left: 4,
            system_tokens: 200.0,
            ..Conversation::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let prompts: Vec<f64> = (0..4)
            .map(|_| conversation.next_prompt(&chat, 128_000.0, &mut rng).0)
            .collect();
        assert_eq!(prompts, vec![250.0, 450.0, 650.0, 850.0]);
        assert_eq!(prompts.iter().sum::<f64>() / 4.0, 550.0);
        // The context window caps the prompt, leaving room for the reply.
        let mut long = Conversation {
            history_tokens: 10_000.0,
            turns_left: 1,
            system_tokens: 200.0,
            ..Conversation::default()
        };
        assert_eq!(
            long.next_prompt(&chat, 4_096.0, &mut rng).0,
            4_096.0 - 150.0
        );
    }
}
