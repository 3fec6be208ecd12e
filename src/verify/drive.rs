//! Drives a scenario's users against a live endpoint: each user in the steady phase of their
//! sessions (as the plan's simulation starts them), thinking between turns, their history
//! resent and grown, the class's cacheable prefix sent word for word the same (so a server's
//! prefix cache can hit it), lengths drawn from the workload. Every request is recorded as
//! calibrate records it; nothing is retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::mpsc;

use crate::calibrate::prompt::{prompt_text, prompt_words, PromptNonce, TokensPerWord};

/// The id the shared prefix's text is drawn for; requests count from 1.
const SHARED_PREFIX_ID: u64 = 0;
use crate::calibrate::record::{RequestContext, RequestRecord};
use crate::calibrate::runner::send_within;
use crate::calibrate::stop::StopSignal;
use crate::calibrate::sweep::LevelSpec;
use crate::calibrate::target::{Target, TargetRequest};
use crate::workload::users::{exponential, Conversation};
use crate::workload::WorkloadSpec;

/// What the users do and for how long.
#[derive(Clone, Debug)]
pub struct Population {
    /// Which population of the run this is (its records' `level`).
    pub step: u32,
    pub users: u32,
    pub workload: WorkloadSpec,
    pub context_window: f64,
    /// Seconds sent before measuring (requests sent then are marked warm-up).
    pub warmup_s: f64,
    /// Measured seconds after the warm-up; no request starts after warm-up + this.
    pub duration_s: f64,
    pub seed: u64,
    pub timeout_s: f64,
    pub sizing: TokensPerWord,
    pub nonce: PromptNonce,
}

/// A request's text: its class's cacheable prefix (the same words in every request of the
/// class, so a server's prefix cache can hold it, as the plan assumes) then a unique
/// remainder (nothing else repeats, as nothing else is assumed cached).
fn request_text(p: &Population, cached_tokens: f64, prompt_tokens: f64, id: u64) -> String {
    // The prompt's words as a whole (the chat template's tokens counted once), of which the
    // cacheable prefix's come first.
    let words = p
        .sizing
        .words_for(prompt_tokens.round().clamp(1.0, 1e7) as u32);
    let cached = cached_tokens.min(prompt_tokens - 1.0).max(0.0);
    let cached_words = ((cached / p.sizing.per_word).round() as usize).min(words.saturating_sub(1));
    if cached_words < 3 {
        return prompt_text(words, p.nonce, id);
    }
    // The shared prefix carries the run's tag (request 0: the users' requests count from 1);
    // the rest is words drawn for this request.
    format!(
        "{} {}",
        prompt_text(cached_words, p.nonce, SHARED_PREFIX_ID),
        prompt_words(words - cached_words, p.nonce, id)
    )
}

/// One user until the run ends or stops: sends, waits for the reply, thinks, sends again.
async fn user(
    k: u32,
    p: Arc<Population>,
    target: Arc<dyn Target>,
    zero: Instant,
    stop: StopSignal,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    records: mpsc::UnboundedSender<RequestRecord>,
) {
    let mut rng = StdRng::seed_from_u64(p.seed ^ (u64::from(k) + 1).wrapping_mul(0x9E37_79B9));
    let end = zero + Duration::from_secs_f64(p.warmup_s + p.duration_s);
    let behaviour = p.workload.behaviour();
    let (mut conversation, mut wait) =
        Conversation::stationary(&p.workload, p.context_window, &mut rng);
    loop {
        let due = Instant::now() + Duration::from_secs_f64(wait.min(1e6));
        if due >= end {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = stop.stopped() => return,
        }
        let (prompt, output) = conversation.next_prompt(&p.workload, p.context_window, &mut rng);
        let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The reply never runs past the class's max_tokens (as the plan simulates it); the
        // request asks for exactly its reply.
        let cap = p.workload.classes[conversation.class]
            .max_tokens
            .unwrap_or(f64::INFINITY);
        let max_tokens = output.min(cap).round().clamp(1.0, 1e6) as u32;
        let request = TargetRequest {
            prompt: request_text(
                &p,
                p.workload.classes[conversation.class].cached_prefix,
                prompt,
                id,
            ),
            max_tokens,
            fixed_output: true,
        };
        let context = RequestContext {
            request_id: id,
            level: LevelSpec {
                index: p.step,
                concurrency: p.users,
                rate: None,
                prompt_tokens: prompt.round() as u32,
                output_tokens: max_tokens,
            },
            warmup: due.saturating_duration_since(zero).as_secs_f64() < p.warmup_s,
            cooldown: false,
            scheduled: due,
            concurrency_at_send: 0,
            input_tokens_estimate: prompt.round() as u64,
        };
        let exchange = send_within(target.as_ref(), &request, p.timeout_s, false).await;
        if records
            .send(RequestRecord::new(&context, &exchange, zero))
            .is_err()
        {
            return;
        }
        wait = if conversation.turns_left > 0 {
            exponential(behaviour.think_time_s, &mut rng)
        } else {
            conversation = Conversation::start(&p.workload, &mut rng);
            exponential(behaviour.session_gap_s, &mut rng)
        };
    }
}

/// Runs every user; each finished request is passed to `sink` as it completes (written at
/// once, so an interrupted run keeps all it sent). Returns when every user has stopped.
pub async fn drive(
    population: Population,
    target: Arc<dyn Target>,
    stop: StopSignal,
    mut sink: impl FnMut(RequestRecord),
) {
    let population = Arc::new(population);
    let zero = Instant::now();
    let next_id = Arc::new(std::sync::atomic::AtomicU64::new(SHARED_PREFIX_ID + 1));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..population.users {
        tasks.spawn(user(
            k,
            population.clone(),
            target.clone(),
            zero,
            stop.clone(),
            next_id.clone(),
            tx.clone(),
        ));
    }
    drop(tx);
    while let Some(record) = rx.recv().await {
        sink(record);
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn population() -> Population {
        Population {
            step: 0,
            users: 1,
            workload: crate::workload::profiles::builtin().remove(0),
            context_window: 8_192.0,
            warmup_s: 0.0,
            duration_s: 1.0,
            seed: 1,
            timeout_s: 1.0,
            // As probed on llama-server with SmolLM2: a 45-token chat template.
            sizing: TokensPerWord {
                overhead: 45.0,
                per_word: 1.0,
                measured: true,
            },
            nonce: PromptNonce(3),
        }
    }

    /// Against the sizing's own arithmetic: the text's words at the probed tokens a word plus
    /// the template once come to the prompt asked for (a prefix sized apart paid the template
    /// twice, and prompts came out 40 tokens short), and two requests share exactly the
    /// cacheable prefix's words.
    #[test]
    fn a_request_is_its_prompts_size_and_shares_only_the_cacheable_prefix() {
        let p = population();
        let (a, b) = (
            request_text(&p, 40.0, 100.0, 1),
            request_text(&p, 40.0, 100.0, 2),
        );
        let words = a.split(' ').count();
        assert!(
            (p.sizing.tokens_for(words) - 100.0).abs() <= 2.0,
            "{words} words"
        );
        assert_eq!(
            a.matches('#').count(),
            1,
            "one tag, as the probes sent: {a}"
        );
        let shared = a
            .split(' ')
            .zip(b.split(' '))
            .take_while(|(x, y)| x == y)
            .count();
        // The prefix's 40 words (its tag counted as two, as the sizing counts it); the rest's
        // first word may match by chance (one in the word list's length), no more.
        assert!((40..=41).contains(&shared), "{shared}: {a}\n{b}");
        // No prefix: nothing shared, not even the first word.
        let (c, d) = (
            request_text(&p, 0.0, 100.0, 1),
            request_text(&p, 0.0, 100.0, 2),
        );
        assert_ne!(c.split(' ').next(), d.split(' ').next());
    }
}
