//! User behaviour: active users → sessions → requests with think time; multi-turn conversations
//! whose context grows; a system prompt on every request.

use rand::Rng;
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};

use super::{WorkloadError, WorkloadSpec};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserBehaviour {
    /// Mean seconds a user reads and types between a response and their next message.
    pub think_time_s: f64,
    /// Mean turns per session (geometric; 1 means single-shot requests).
    pub turns_per_session: f64,
    /// Mean seconds between one session's end and the user's next session.
    pub session_gap_s: f64,
}

impl Default for UserBehaviour {
    fn default() -> Self {
        UserBehaviour {
            think_time_s: 30.0,
            turns_per_session: 1.0,
            session_gap_s: 300.0,
        }
    }
}

impl UserBehaviour {
    pub fn validate(&self) -> Result<(), WorkloadError> {
        for (field, value) in [
            ("users.think_time_s", self.think_time_s),
            ("users.session_gap_s", self.session_gap_s),
        ] {
            if !(value >= 0.0) {
                return Err(WorkloadError::out_of_range(field, value, "≥ 0"));
            }
        }
        if !(self.turns_per_session >= 1.0) {
            return Err(WorkloadError::out_of_range(
                "users.turns_per_session",
                self.turns_per_session,
                "≥ 1",
            ));
        }
        Ok(())
    }
}

/// One user's conversation in progress.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// Tokens of earlier turns (messages and replies) carried in the prompt.
    pub history_tokens: f64,
    pub turns_left: u32,
}

impl Conversation {
    pub fn start<R: Rng + ?Sized>(behaviour: &UserBehaviour, rng: &mut R) -> Conversation {
        // Geometric number of turns with the given mean, at least one.
        let p_stop = 1.0 / behaviour.turns_per_session;
        let mut turns = 1;
        while rng.random::<f64>() > p_stop && turns < 1_000 {
            turns += 1;
        }
        Conversation {
            history_tokens: 0.0,
            turns_left: turns,
        }
    }

    /// The next request's prompt: system prompt + history + a new message, capped at the
    /// context window minus the reply's room (oldest history dropped first, as chat apps do).
    pub fn next_prompt<R: Rng + ?Sized>(
        &mut self,
        workload: &WorkloadSpec,
        context_window: f64,
        rng: &mut R,
    ) -> (f64, f64) {
        let message = workload.prompt.sample(rng);
        let output = workload.output.sample(rng);
        let history = if workload.multi_turn {
            self.history_tokens
        } else {
            0.0
        };
        let room = (context_window - output).max(1.0);
        let prompt = (workload.system_prompt_tokens + history + message).min(room);
        self.history_tokens += message + output;
        self.turns_left = self.turns_left.saturating_sub(1);
        (prompt, output)
    }
}

pub fn exponential<R: Rng + ?Sized>(mean: f64, rng: &mut R) -> f64 {
    if mean <= 0.0 {
        0.0
    } else {
        Exp::new(1.0 / mean).expect("positive mean").sample(rng)
    }
}
