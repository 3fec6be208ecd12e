//! What users send (docs/DESIGN.md, "The simulator"): token lengths, arrivals, user behaviour and the
//! named workload profiles. Pure: no I/O (trace text is parsed, not read, here).

pub mod arrivals;
pub mod error;
pub mod lengths;
pub mod logs;
pub mod profiles;
pub mod trace;
pub mod users;

use serde::{Deserialize, Serialize};

pub use arrivals::{ArrivalProcess, ArrivalSampler};
pub use error::WorkloadError;
pub use lengths::LengthDist;
pub use users::{Conversation, UserBehaviour};

/// One kind of request traffic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The concurrency the profile is benchmarked at (closed loop).
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Tokens of the user's new message (the whole prompt when not multi-turn).
    pub prompt: LengthDist,
    pub output: LengthDist,
    /// Sent with every request, counted in its input.
    #[serde(default)]
    pub system_prompt_tokens: f64,
    /// Whether earlier turns are carried in the prompt.
    #[serde(default)]
    pub multi_turn: bool,
    #[serde(default = "yes")]
    pub streaming: bool,
    /// The request's max_tokens; `None` means unset, which Bedrock treats as the model maximum.
    #[serde(default)]
    pub max_tokens: Option<f64>,
    #[serde(default)]
    pub behaviour: UserBehaviour,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

impl WorkloadSpec {
    /// A fixed-size workload (closed-loop checks, calibration replays).
    pub fn fixed(prompt_tokens: f64, output_tokens: f64) -> WorkloadSpec {
        WorkloadSpec {
            name: format!("fixed_{prompt_tokens}_{output_tokens}"),
            description: String::new(),
            concurrency: 1,
            prompt: LengthDist::fixed(prompt_tokens),
            output: LengthDist::fixed(output_tokens),
            system_prompt_tokens: 0.0,
            multi_turn: false,
            streaming: true,
            max_tokens: Some(output_tokens),
            behaviour: UserBehaviour::default(),
        }
    }

    pub fn validate(&self) -> Result<(), WorkloadError> {
        self.prompt.validate("workload.prompt")?;
        self.output.validate("workload.output")?;
        if !(self.system_prompt_tokens >= 0.0) {
            return Err(WorkloadError::out_of_range(
                "workload.system_prompt_tokens",
                self.system_prompt_tokens,
                "≥ 0",
            ));
        }
        if let Some(m) = self.max_tokens {
            if !(m >= 1.0) {
                return Err(WorkloadError::out_of_range(
                    "workload.max_tokens",
                    m,
                    "≥ 1 (or unset)",
                ));
            }
        }
        self.behaviour.validate()
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
        };
        assert_eq!(
            long.next_prompt(&chat, 4_096.0, &mut rng).0,
            4_096.0 - 150.0
        );
    }
}
