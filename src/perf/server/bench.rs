//! A closed-loop benchmark of the server model, step by step: `N` clients each send a request,
//! wait for its last token and send the next, as `llmcap calibrate`, AIPerf and GuideLLM's
//! concurrency mode do. All clients start together; the first round is warm-up, the next three
//! are measured. Deterministic: the same model and level always give the same figures, so a fit
//! sees a smooth objective (common random numbers without the randomness).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::{ServerModel, Sharing};
use crate::perf::model::TpotForm;

/// Rounds of `N` requests left out before measuring.
const WARMUP_ROUNDS: usize = 1;
/// Requests measured: three rounds, or fewer rounds of a large `N` as long as this many.
const MEASURED_ROUNDS: usize = 3;
const MEASURED_AT_LEAST: usize = 96;
/// A level that would take more steps than this is cut short (a fit's wild guess, never data).
const MAX_STEPS: u64 = 20_000_000;
/// A short run of more than this many rounds of `N` is simulated as this many: its first wave
/// and drain are the same whatever the run's length, so the mean over `n` requests is the
/// steady state's plus that excess spread over `n` (see [`closed_run`]).
const SIMULATED_RUN_ROUNDS: usize = 4;

/// What a closed-loop level shows: means over the measured requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelOutcome {
    pub ttft_s: f64,
    /// `None` when every reply is one token.
    pub tpot_s: Option<f64>,
    /// Completed requests per second.
    pub requests_per_s: f64,
    /// Mean time a request waited for a batch slot.
    pub slot_wait_s: f64,
    /// Mean sequences in the batch (time-weighted).
    pub mean_batch: f64,
}

#[derive(Clone, Copy)]
struct Request {
    arrival_s: f64,
    admitted_s: f64,
    prefilled: f64,
    first_token_s: f64,
    /// Tokens of its reply.
    output: u64,
}

/// Runs `concurrency` clients sending prompts of `prompt_tokens` for `output_tokens` replies,
/// in their steady state.
pub fn closed_loop(
    model: &ServerModel,
    concurrency: f64,
    prompt_tokens: f64,
    output_tokens: f64,
) -> LevelOutcome {
    closed_run(model, concurrency, prompt_tokens, output_tokens, None)
}

/// A closed-loop level as it was run. With `requests: Some(n)` the run sends `n` requests in
/// all from a synchronised start and its figures are means over every one of them, the first
/// wave and the drain included, as vLLM's `benchmark_serving --num-prompts n
/// --max-concurrency c` reports them (tt-inference-server's sweeps send 1–8 × c). With `None`,
/// the steady state: one round of warm-up, then three rounds measured.
pub fn closed_run(
    model: &ServerModel,
    concurrency: f64,
    prompt_tokens: f64,
    output_tokens: f64,
    requests: Option<usize>,
) -> LevelOutcome {
    let clients = concurrency.round().max(1.0) as usize;
    if let Some(n) = requests {
        let simulated = clients * SIMULATED_RUN_ROUNDS;
        if n > simulated {
            // The run's transient (first wave and drain) adds the same excess over the steady
            // state to a run of `simulated` requests as to one of `n`: mean_n = steady +
            // (mean_simulated − steady)·simulated/n.
            let steady = closed_loop(model, concurrency, prompt_tokens, output_tokens);
            let short = closed_run(
                model,
                concurrency,
                prompt_tokens,
                output_tokens,
                Some(simulated),
            );
            let share = simulated as f64 / n as f64;
            let blend = |s: f64, x: f64| s + (x - s) * share;
            return LevelOutcome {
                ttft_s: blend(steady.ttft_s, short.ttft_s),
                tpot_s: match (steady.tpot_s, short.tpot_s) {
                    (Some(s), Some(x)) => Some(blend(s, x)),
                    (s, x) => s.or(x),
                },
                requests_per_s: steady.requests_per_s,
                slot_wait_s: blend(steady.slot_wait_s, short.slot_wait_s),
                mean_batch: steady.mean_batch,
            };
        }
    }
    let (skip, wanted, limit) = match requests {
        Some(n) => (0, n.max(1), n.max(1)),
        None => (
            clients * WARMUP_ROUNDS,
            clients
                * MEASURED_ROUNDS
                    .min(MEASURED_AT_LEAST.div_ceil(clients))
                    .max(1),
            usize::MAX,
        ),
    };
    run_steps(
        model,
        Source::Closed {
            clients: clients.min(limit),
            limit,
        },
        prompt_tokens,
        output_tokens,
        skip,
        wanted,
    )
}

/// Requests sent at the given times (seconds, ascending) whatever the server does, as an
/// open-loop load generator or many independent users send them; the first `skip` to finish
/// are warm-up.
pub fn open_loop(
    model: &ServerModel,
    send_times_s: &[f64],
    prompt_tokens: f64,
    output_tokens: f64,
    skip: usize,
) -> LevelOutcome {
    let wanted = send_times_s.len().saturating_sub(skip).max(1);
    run_steps(
        model,
        Source::Open {
            times: send_times_s,
        },
        prompt_tokens,
        output_tokens,
        skip,
        wanted,
    )
}

/// A run of decode-only steps taken at once.
struct Stretch {
    steps: u64,
    duration_s: f64,
}

/// The decode-only steps that can run before anything changes: up to the step before the next
/// sequence finishes, and while no waiting request would be admitted at a step's start. The
/// batch and each step's context growth are fixed over it, so its steps' durations rise by the
/// same amount each step and sum in closed form. `None` when fewer than two steps qualify.
fn decode_stretch(
    model: &ServerModel,
    decoding: &BinaryHeap<Reverse<(u64, usize)>>,
    decode_steps: u64,
    held_context: f64,
    now: f64,
    next_arrival_s: Option<f64>,
    steps_left: u64,
) -> Option<Stretch> {
    let Reverse((finish, _)) = *decoding.peek()?;
    let n = decoding.len() as f64;
    let mut m = finish.saturating_sub(decode_steps + 1).min(steps_left);
    if m < 2 {
        return None;
    }
    let first = model.decode_step_s(n, held_context);
    let rise = model.dense_step_s(n, held_context + n) - model.dense_step_s(n, held_context);
    // Time from the stretch's start to the start of its step `j`.
    let start_of = |j: u64| {
        let j = j as f64;
        j * first + rise * j * (j - 1.0) / 2.0
    };
    if let Some(t) = next_arrival_s {
        // Every step after the first must start before the arrival: the largest `m` with
        // start_of(m − 1) < t − now.
        let gap = t - now;
        let (mut lo, mut hi) = (1u64, m);
        if start_of(hi - 1) >= gap {
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if start_of(mid - 1) < gap {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            m = lo;
        }
        if m < 2 {
            return None;
        }
    }
    Some(Stretch {
        steps: m,
        duration_s: start_of(m),
    })
}

/// Where requests come from: clients that send again as soon as a reply ends, or a schedule.
enum Source<'a> {
    /// `limit`: requests sent in all.
    Closed {
        clients: usize,
        limit: usize,
    },
    Open {
        times: &'a [f64],
    },
}

fn run_steps(
    model: &ServerModel,
    source: Source,
    prompt_tokens: f64,
    output_tokens: f64,
    skip: usize,
    wanted: usize,
) -> LevelOutcome {
    let output = output_tokens.round().max(1.0) as u64;
    let prompt = prompt_tokens.max(0.0);
    // The prefix every prompt shares is in the server's cache: a prefill starts after it.
    let cached = model.cached_of(prompt);
    let slots = model
        .max_batch
        .map_or(usize::MAX, |b| b.floor().max(1.0) as usize);
    let limit = match source {
        Source::Closed { limit, .. } => limit,
        Source::Open { .. } => 0,
    };

    let mut requests: Vec<Request> = Vec::with_capacity(skip + wanted + 1);
    let mut arrivals: VecDeque<usize> = VecDeque::new();
    let mut prefilling: VecDeque<usize> = VecDeque::new();
    let mut decoding: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let mut held_context = 0.0;
    let mut decode_steps = 0u64;
    let mut admitted = 0usize;
    let mut now = 0.0;

    let mut done = 0usize;
    let (mut ttft_sum, mut tpot_sum, mut tpot_count, mut wait_sum) = (0.0, 0.0, 0usize, 0.0);
    let mut measure_from_s = if skip == 0 { 0.0 } else { f64::NAN };
    let mut batch_area = 0.0;

    let spread = model.reply_spread.clamp(0.0, 0.9);
    let send = |requests: &mut Vec<Request>, arrivals: &mut VecDeque<usize>, at: f64| {
        // The k-th reply's share of nominal, spread evenly over [1 − spread, 1] (the golden
        // ratio's multiples: deterministic, and even over any run of requests).
        let k = requests.len() as f64;
        let reply = if spread > 0.0 {
            let share = 1.0 - spread * (k * 0.618_033_988_749_895).fract();
            ((output as f64) * share).round().max(2.0) as u64
        } else {
            output
        };
        requests.push(Request {
            arrival_s: at + model.overhead_s,
            admitted_s: f64::NAN,
            prefilled: cached,
            first_token_s: f64::NAN,
            output: reply,
        });
        arrivals.push_back(requests.len() - 1);
    };
    match source {
        Source::Closed { clients, .. } => {
            for _ in 0..clients {
                send(&mut requests, &mut arrivals, 0.0);
            }
        }
        Source::Open { times } => {
            for &t in times {
                send(&mut requests, &mut arrivals, t);
            }
        }
    }

    // A step affine in the context held (the fitted server's form) lets a stretch of decode-only
    // steps be summed in closed form.
    let affine_step = model.step.form == TpotForm::Linear;
    let mut steps = 0u64;
    // The experts' share of the step for the batch size it was last computed at.
    let mut experts_at = (usize::MAX, 0.0);
    while done < skip + wanted && steps < MAX_STEPS {
        steps += 1;
        while admitted < slots {
            match arrivals.front() {
                Some(&id) if requests[id].arrival_s <= now => {
                    arrivals.pop_front();
                    requests[id].admitted_s = now;
                    prefilling.push_back(id);
                    admitted += 1;
                }
                _ => break,
            }
        }
        if prefilling.is_empty() && decoding.is_empty() {
            match arrivals.front() {
                Some(&id) => {
                    now = requests[id].arrival_s.max(now);
                    continue;
                }
                None => break,
            }
        }

        // Decode-only stretches before the next finish or admission run in one go.
        if prefilling.is_empty() && !decoding.is_empty() && affine_step {
            let next_arrival = (admitted < slots)
                .then(|| arrivals.front().map(|&id| requests[id].arrival_s))
                .flatten();
            if let Some(stretch) = decode_stretch(
                model,
                &decoding,
                decode_steps,
                held_context,
                now,
                next_arrival,
                MAX_STEPS.saturating_sub(steps),
            ) {
                if !measure_from_s.is_nan() {
                    batch_area += admitted as f64 * stretch.duration_s;
                }
                now += stretch.duration_s;
                decode_steps += stretch.steps;
                held_context += decoding.len() as f64 * stretch.steps as f64;
                steps += stretch.steps - 1;
                continue;
            }
        }

        // One step: which prefill tokens run in it, and how long it takes.
        let decoders = decoding.len();
        let mut prefill_cost = 0.0;
        let mut finished_prefill = 0usize;
        let decode_runs = match model.sharing {
            Sharing::Whole => {
                if prefilling.is_empty() {
                    true
                } else {
                    for &id in &prefilling {
                        let from = requests[id].prefilled;
                        prefill_cost += model.prefill_part_s(cached, from, prompt - from);
                        requests[id].prefilled = prompt;
                    }
                    finished_prefill = prefilling.len();
                    false
                }
            }
            Sharing::Chunked { tokens_per_step } => {
                let mut budget = tokens_per_step;
                for &id in &prefilling {
                    if budget <= 0.0 {
                        break;
                    }
                    let r = &mut requests[id];
                    let chunk = (prompt - r.prefilled).min(budget);
                    prefill_cost += model.prefill_part_s(cached, r.prefilled, chunk);
                    r.prefilled += chunk;
                    budget -= chunk;
                    if r.prefilled >= prompt {
                        finished_prefill += 1;
                    } else {
                        break;
                    }
                }
                decoders > 0
            }
        };
        let base = if decode_runs && decoders > 0 {
            if experts_at.0 != decoders {
                experts_at = (decoders, model.experts_step_s(decoders as f64));
            }
            model.dense_step_s(decoders as f64, held_context) + experts_at.1
        } else {
            model.step.t0_s
        };
        let duration = base + prefill_cost;
        if !measure_from_s.is_nan() {
            batch_area += admitted as f64 * duration;
        }
        now += duration;

        if decode_runs && decoders > 0 {
            decode_steps += 1;
            held_context += decoders as f64;
            while let Some(&Reverse((finish, id))) = decoding.peek() {
                if finish > decode_steps {
                    break;
                }
                decoding.pop();
                held_context -= prompt + requests[id].output as f64;
                admitted -= 1;
                done += 1;
                let r = requests[id];
                if done == skip {
                    measure_from_s = now;
                }
                if done > skip && done <= skip + wanted {
                    ttft_sum += r.first_token_s - r.arrival_s + model.overhead_s;
                    wait_sum += r.admitted_s - r.arrival_s;
                    tpot_sum += (now - r.first_token_s) / (r.output - 1) as f64;
                    tpot_count += 1;
                }
                if requests.len() < limit {
                    send(&mut requests, &mut arrivals, now);
                }
            }
        }
        for _ in 0..finished_prefill {
            let Some(id) = prefilling.pop_front() else {
                break;
            };
            requests[id].first_token_s = now;
            if requests[id].output > 1 {
                held_context += prompt + 1.0;
                decoding.push(Reverse((decode_steps + requests[id].output - 1, id)));
            } else {
                admitted -= 1;
                done += 1;
                let r = requests[id];
                if done == skip {
                    measure_from_s = now;
                }
                if done > skip && done <= skip + wanted {
                    ttft_sum += r.first_token_s - r.arrival_s + model.overhead_s;
                    wait_sum += r.admitted_s - r.arrival_s;
                }
                if requests.len() < limit {
                    send(&mut requests, &mut arrivals, now);
                }
            }
        }
        if decoding.is_empty() {
            held_context = 0.0;
        }
    }
    let measured = done.saturating_sub(skip).min(wanted).max(1) as f64;
    let span = now - measure_from_s;
    LevelOutcome {
        ttft_s: ttft_sum / measured,
        tpot_s: (tpot_count > 0).then(|| tpot_sum / tpot_count as f64),
        requests_per_s: if span > 0.0 { measured / span } else { 0.0 },
        slot_wait_s: wait_sum / measured,
        mean_batch: if span > 0.0 { batch_area / span } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perf::model::{TpotForm, TpotModel};

    fn server(max_batch: Option<f64>, sharing: Sharing) -> ServerModel {
        ServerModel {
            max_batch,
            step: TpotModel {
                form: TpotForm::Linear,
                t0_s: 0.02,
                t1_s: 0.0005,
                t2_s: 1e-8,
                theta: None,
                equation: String::new(),
            },
            step_s_per_mean_context: 2e-8,
            prefill_s_per_token: 5e-5,
            attention_s_per_token2: 1e-9,
            prefill_s_per_request: 0.0,
            sharing,
            overhead_s: 0.05,
            experts: None,
            floors: None,
            reply_spread: 0.0,
            shared_prefix_tokens: 0.0,
        }
    }

    /// One client alone: TTFT is overhead + one step's fixed cost + its prefill, TPOT the step
    /// with one sequence holding its context, both computed by hand.
    #[test]
    fn one_client_matches_the_hand_computation() {
        for sharing in Sharing::CANDIDATES {
            let m = server(None, sharing);
            let (p, o) = (1_000.0, 101.0);
            let out = closed_loop(&m, 1.0, p, o);
            let chunks = match sharing {
                Sharing::Whole => vec![p],
                Sharing::Chunked { tokens_per_step } => {
                    let mut c = Vec::new();
                    let mut left = p;
                    while left > 0.0 {
                        c.push(left.min(tokens_per_step));
                        left -= tokens_per_step;
                    }
                    c
                }
            };
            let mut from = 0.0;
            let mut ttft = m.overhead_s;
            for chunk in chunks {
                ttft += m.step.t0_s + m.prefill_chunk_s(from, chunk);
                from += chunk;
            }
            let mut decode = 0.0;
            for k in 0..100 {
                decode += m.decode_step_s(1.0, p + 1.0 + k as f64);
            }
            assert!(
                (out.ttft_s - ttft).abs() < 1e-12,
                "{sharing:?}: {} vs {ttft}",
                out.ttft_s
            );
            let tpot = out.tpot_s.unwrap();
            assert!((tpot - decode / 100.0).abs() < 1e-12, "{sharing:?}");
        }
    }

    /// Past B, requests queue for a slot: the batch stays at B, TPOT stops growing, and by
    /// Little's law on the waiting line each extra client adds one cycle's share of waiting:
    /// `wait = (N − B) / X`, so TTFT grows linearly with the excess.
    #[test]
    fn beyond_the_batch_limit_ttft_grows_linearly_with_the_excess() {
        let m = server(
            Some(16.0),
            Sharing::Chunked {
                tokens_per_step: 2_048.0,
            },
        );
        let at = |n: f64| closed_loop(&m, n, 500.0, 200.0);
        let (a, b, c) = (at(32.0), at(48.0), at(64.0));
        for x in [a, b, c] {
            assert!((x.mean_batch - 16.0).abs() < 0.5, "batch {}", x.mean_batch);
        }
        assert!((b.tpot_s.unwrap() / a.tpot_s.unwrap() - 1.0).abs() < 0.01);
        for (n, x) in [(32.0, a), (48.0, b), (64.0, c)] {
            // Clients: in the batch (B), waiting for a slot (X·wait), in the overhead (X·a0).
            let little = (n - 16.0 - x.requests_per_s * m.overhead_s) / x.requests_per_s;
            assert!(
                (x.slot_wait_s / little - 1.0).abs() < 0.03,
                "n={n}: wait {} vs Little {little}",
                x.slot_wait_s
            );
        }
        let (d1, d2) = (b.ttft_s - a.ttft_s, c.ttft_s - b.ttft_s);
        assert!((d2 / d1 - 1.0).abs() < 0.05, "steps {d1} and {d2}");
    }

    /// With whole prefills and every client starting together, the prompts are prefilled as
    /// one batch, so everyone's first token waits for all of them: TTFT ≈ N × one prefill.
    #[test]
    fn whole_prefills_of_a_synchronised_wave_wait_for_each_other() {
        let m = server(None, Sharing::Whole);
        let alone = m.prefill_s(8_192.0);
        let out = closed_loop(&m, 32.0, 8_192.0, 64.0);
        let expected = m.overhead_s + m.step.t0_s + 32.0 * alone;
        assert!(
            (out.ttft_s / expected - 1.0).abs() < 1e-9,
            "{} vs {expected}",
            out.ttft_s
        );
    }

    /// Decode-only stretches summed in closed form give what stepping through them gives: the
    /// same server with a step form the fast path does not take (a roofline whose ceiling is
    /// never reached) is stepped one step at a time.
    #[test]
    fn decode_stretches_in_closed_form_match_stepping() {
        let stepped = |m: &ServerModel| {
            let mut s = m.clone();
            s.step.form = TpotForm::Roofline;
            s.step.theta = Some(1e300);
            s
        };
        for sharing in Sharing::CANDIDATES {
            for max_batch in [None, Some(12.0)] {
                let m = server(max_batch, sharing);
                let slow = stepped(&m);
                for (n, p, o, requests) in [
                    (1.0, 800.0, 300.0, None),
                    (7.0, 3_000.0, 257.0, None),
                    (24.0, 1_200.0, 400.0, Some(100)),
                ] {
                    let a = closed_run(&m, n, p, o, requests);
                    let b = closed_run(&slow, n, p, o, requests);
                    let close = |x: f64, y: f64| (x / y - 1.0).abs() < 1e-9;
                    assert!(
                        close(a.ttft_s, b.ttft_s),
                        "{sharing:?} {max_batch:?} n={n}: {a:?} vs {b:?}"
                    );
                    assert!(
                        close(a.tpot_s.unwrap(), b.tpot_s.unwrap()),
                        "{a:?} vs {b:?}"
                    );
                    assert!(close(a.requests_per_s, b.requests_per_s), "{a:?} vs {b:?}");
                    assert!(close(a.mean_batch, b.mean_batch), "{a:?} vs {b:?}");
                }
                let times: Vec<f64> = (0..200).map(|i| i as f64 * 0.37).collect();
                let a = open_loop(&m, &times, 900.0, 120.0, 20);
                let b = open_loop(&slow, &times, 900.0, 120.0, 20);
                assert!((a.ttft_s / b.ttft_s - 1.0).abs() < 1e-9, "{a:?} vs {b:?}");
                assert!((a.tpot_s.unwrap() / b.tpot_s.unwrap() - 1.0).abs() < 1e-9);
            }
        }
    }

    /// A long short-run (here 40 rounds) is simulated as four rounds and the steady state; its
    /// figures agree with running every request to within a fraction of the transient.
    #[test]
    fn a_long_run_is_the_steady_state_plus_its_transient() {
        let m = server(Some(24.0), Sharing::Whole);
        let (n, p, o) = (8usize, 1_500.0, 120.0);
        let approx = closed_run(&m, n as f64, p, o, Some(40 * n));
        let exact = run_steps(
            &m,
            Source::Closed {
                clients: n,
                limit: 40 * n,
            },
            p,
            o,
            0,
            40 * n,
        );
        let steady = closed_loop(&m, n as f64, p, o);
        let transient = (exact.ttft_s - steady.ttft_s).abs();
        assert!(transient > 0.0);
        assert!(
            (approx.ttft_s - exact.ttft_s).abs() <= 0.1 * transient + 1e-9,
            "{} vs {} (steady {})",
            approx.ttft_s,
            exact.ttft_s,
            steady.ttft_s
        );
        let (a, e) = (approx.tpot_s.unwrap(), exact.tpot_s.unwrap());
        assert!((a / e - 1.0).abs() < 0.002, "{a} vs {e}");
    }

    /// A run of exactly `N` requests from a synchronised start is one wave, every request
    /// measured: with chunked prefill of one prompt per step, the k-th prompt's first token
    /// comes after k steps, each running the decodes already started beside one prompt; the
    /// mean is computed step by step by hand here.
    #[test]
    fn a_short_run_is_measured_from_its_first_wave() {
        let m = server(
            None,
            Sharing::Chunked {
                tokens_per_step: 2_048.0,
            },
        );
        let (n, p, o) = (4usize, 2_048.0, 64.0);
        let out = closed_run(&m, n as f64, p, o, Some(n));
        let (mut now, mut held, mut ttft_sum) = (0.0, 0.0, 0.0);
        for k in 0..n {
            let decoders = k as f64;
            let step = if k == 0 {
                m.step.t0_s
            } else {
                m.decode_step_s(decoders, held)
            };
            now += step + m.prefill_chunk_s(0.0, p);
            if k > 0 {
                held += decoders;
            }
            held += p + 1.0;
            ttft_sum += now + m.overhead_s;
        }
        let expected = ttft_sum / n as f64;
        assert!(
            (out.ttft_s / expected - 1.0).abs() < 1e-12,
            "{} vs {expected}",
            out.ttft_s
        );
        // The steady state of the same clients is a different figure: the first wave is not it.
        let steady = closed_loop(&m, n as f64, p, o);
        assert!((steady.ttft_s / out.ttft_s - 1.0).abs() > 0.05);
    }
}
