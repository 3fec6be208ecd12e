//! User behaviour: active users → sessions → requests with think time; multi-turn conversations
//! whose context grows; a system prompt on every request.

use rand::Rng;
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};

use super::WorkloadSpec;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserBehaviour {
    /// Mean seconds a user reads and types between a response and their next message.
    pub think_time_s: f64,
    /// Mean turns per session (geometric; 1 means single-shot requests).
    pub turns_per_session: f64,
    /// Mean seconds between one session's end and the user's next session.
    pub session_gap_s: f64,
}

impl UserBehaviour {
    /// A user's request rate when replies take no time: the most they can send. A session of
    /// T turns (mean) spends T − 1 think times and one session gap. `None` when users never
    /// pause (each is then a closed loop, paced by the replies alone).
    pub fn max_rate_per_s(&self) -> Option<f64> {
        let turns = self.turns_per_session.max(1.0);
        let cycle_s = (turns - 1.0) * self.think_time_s + self.session_gap_s;
        (cycle_s > 0.0 && cycle_s.is_finite()).then(|| turns / cycle_s)
    }
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

/// One user's conversation in progress.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// Tokens of earlier turns (messages and replies) carried in the prompt.
    pub history_tokens: f64,
    pub turns_left: u32,
    /// The session's request class (an index into the workload's classes).
    pub class: usize,
    /// The session's system prompt, drawn when it starts.
    pub system_tokens: f64,
}

/// A geometric number of turns with the given mean, at least one.
fn turns<R: Rng + ?Sized>(mean: f64, rng: &mut R) -> u32 {
    let p_stop = 1.0 / mean.max(1.0);
    let mut turns = 1;
    while rng.random::<f64>() > p_stop && turns < 1_000 {
        turns += 1;
    }
    turns
}

impl Conversation {
    /// A new session: its class drawn by share, its system prompt, its number of turns.
    pub fn start<R: Rng + ?Sized>(workload: &WorkloadSpec, rng: &mut R) -> Conversation {
        let class = workload.draw_class(rng);
        Conversation {
            history_tokens: 0.0,
            turns_left: turns(workload.turns_per_session, rng),
            class,
            system_tokens: workload.classes[class].system_tokens(rng),
        }
    }

    /// A single request outside any session (open-loop arrivals): its class and system prompt.
    pub fn one_off<R: Rng + ?Sized>(workload: &WorkloadSpec, rng: &mut R) -> Conversation {
        let class = workload.draw_class(rng);
        Conversation {
            history_tokens: 0.0,
            turns_left: 1,
            class,
            system_tokens: workload.classes[class].system_tokens(rng),
        }
    }

    /// A user caught at a random instant of steady use: between sessions (probability in
    /// proportion to the time spent there) or thinking between two turns of a session, with the
    /// history of the turns already taken. Returns the conversation and the wait until the user
    /// sends. Time spent waiting for replies is left out (the simulation's warm-up covers it).
    ///
    /// With a geometric number of turns T (stop probability p), a think pause follows turn j
    /// with probability ∝ P(T > j) = (1 − p)^j: j is geometric on 1, 2, … with mean 1/p, and the
    /// turns still to come are geometric on 1, 2, … again (memorylessness). Think times and
    /// session gaps are exponential, so the residual wait has the same law as a whole one.
    pub fn stationary<R: Rng + ?Sized>(
        workload: &WorkloadSpec,
        context_window: f64,
        rng: &mut R,
    ) -> (Conversation, f64) {
        let b = workload.behaviour();
        let gap_time = b.session_gap_s;
        let think_time = (b.turns_per_session - 1.0).max(0.0) * b.think_time_s;
        let p_gap = if gap_time + think_time > 0.0 {
            gap_time / (gap_time + think_time)
        } else {
            1.0
        };
        let mut conversation = Conversation::start(workload, rng);
        if rng.random::<f64>() < p_gap {
            return (conversation, exponential(b.session_gap_s, rng));
        }
        // Turns already taken: geometric on 1, 2, … with the session's mean.
        let done = turns(b.turns_per_session, rng);
        let mut history = conversation.clone();
        for _ in 0..done {
            history.turns_left = 1;
            history.next_prompt(workload, context_window, rng);
        }
        conversation.history_tokens = history.history_tokens;
        (conversation, exponential(b.think_time_s, rng))
    }

    /// The next request's prompt: system prompt + history + retrieved context + a new message,
    /// capped at the context window minus the reply's room (oldest history dropped first, as
    /// chat apps do). Returns the prompt and the reply.
    pub fn next_prompt<R: Rng + ?Sized>(
        &mut self,
        workload: &WorkloadSpec,
        context_window: f64,
        rng: &mut R,
    ) -> (f64, f64) {
        let class = &workload.classes[self.class.min(workload.classes.len() - 1)];
        let context = class.context_tokens(rng);
        let message = class.message.sample(rng);
        let output = class.reply.sample(rng);
        let history = if class.history {
            self.history_tokens
        } else {
            0.0
        };
        let room = (context_window - output).max(1.0);
        let prompt = (self.system_tokens + history + context + message).min(room);
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
