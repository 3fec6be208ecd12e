//! The sweep runner: applies each level's load to a target in the chosen mode, records every
//! request the moment it finishes, and stops cleanly on Ctrl-C, an error-rate abort or a level's
//! time limit.
//!
//! Shape after oha: dispatchers launch requests as tasks; each finished request goes to one
//! collector (a mutex around the appender, the progress bar and the level's error count).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp, Gamma};
use tokio::task::JoinSet;

use super::auto::{AutoSweep, Knee, Measured};
use super::plausible;
use super::prompt::{prompt_text, PromptNonce, TokensPerWord};
use super::record::{RequestContext, RequestRecord};
use super::run_dir::{Appender, RunDirError};
use super::stop::StopSignal;
use super::summary::summarize;
use super::sweep::{Arrivals, LevelSpec, SweepMode, SweepSpec};
use super::target::{ErrorKind, Exchange, Failure, Target, TargetRequest};

/// Errors within a level before the error-rate abort may fire.
const MIN_REQUESTS_FOR_ABORT: u64 = 10;

/// Everything the request tasks share.
struct Shared {
    target: Arc<dyn Target>,
    spec: SweepSpec,
    sizing: TokensPerWord,
    nonce: PromptNonce,
    zero: Instant,
    stop: StopSignal,
    next_request_id: AtomicU64,
    in_flight: AtomicU32,
    collector: Mutex<Collector>,
}

struct Collector {
    appender: Appender,
    records: Vec<RequestRecord>,
    write_error: Option<RunDirError>,
    level_finished: u64,
    level_failed: u64,
    bar: ProgressBar,
}

/// What a sweep produced.
pub struct SweepOutcome {
    /// The requests this invocation finished, in completion order.
    pub records: Vec<RequestRecord>,
    /// Why the run stopped early, if it did.
    pub stop_reason: Option<String>,
    /// Levels cut short without stopping the run (time limit, over-saturation).
    pub notes: Vec<String>,
    /// The levels this invocation chose to run, in order (a fixed sweep: all of them).
    pub levels: Vec<LevelSpec>,
    /// `--auto`: where the endpoint saturated.
    pub knee: Option<Knee>,
    /// `--auto`: why it stopped choosing levels before it was done (the time budget).
    pub auto_cut_short: Option<String>,
}

/// Chooses the levels: the sweep's fixed list, or `--auto`'s chooser fed each level's result.
enum Chooser {
    /// Each level once per pass, with the pass it is in; odd passes run the list backwards.
    Fixed(std::vec::IntoIter<(LevelSpec, u32)>),
    Auto {
        sweep: AutoSweep,
        output_tokens: u32,
        last: Option<LevelSpec>,
        next_index: u32,
    },
}

impl Chooser {
    fn new(spec: &SweepSpec) -> Chooser {
        match &spec.auto {
            None => {
                let levels = spec.levels();
                let passes = spec.passes.max(1);
                let visits: Vec<(LevelSpec, u32)> = (0..passes)
                    .flat_map(|pass| {
                        let mut order = levels.clone();
                        if pass % 2 == 1 {
                            order.reverse();
                        }
                        order.into_iter().map(move |level| (level, pass))
                    })
                    .collect();
                Chooser::Fixed(visits.into_iter())
            }
            Some(auto) => {
                let mut outputs = spec.output_tokens.clone();
                outputs.sort_unstable();
                Chooser::Auto {
                    sweep: AutoSweep::new(auto.clone(), &spec.prompt_tokens),
                    output_tokens: outputs.get(outputs.len() / 2).copied().unwrap_or(1),
                    last: None,
                    next_index: 0,
                }
            }
        }
    }

    /// How many levels there are, when known in advance.
    fn total(&self) -> Option<usize> {
        match self {
            Chooser::Fixed(visits) => Some(visits.len()),
            Chooser::Auto { .. } => None,
        }
    }

    /// The next level to run, and the pass it belongs to.
    fn next(&mut self, records: &[RequestRecord], elapsed_s: f64) -> Option<(LevelSpec, u32)> {
        match self {
            Chooser::Fixed(levels) => levels.next(),
            Chooser::Auto {
                sweep,
                output_tokens,
                last,
                next_index,
            } => {
                let measured = last.map(|level| {
                    let summary = summarize(&[level], records).into_iter().next();
                    let rows = records
                        .iter()
                        .filter(|r| r.level == level.index && r.is_measured());
                    let (start, end) = rows
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
                            (a.min(r.sent_s), b.max(r.sent_s + r.e2e_s))
                        });
                    Measured {
                        concurrency: level.concurrency,
                        prompt_tokens: level.prompt_tokens,
                        output_tokens_per_s: summary.as_ref().and_then(|s| s.output_tokens_per_s),
                        ttft_p50_s: summary.as_ref().and_then(|s| s.ttft_p50_s),
                        wall_s: (end - start).max(0.0),
                    }
                });
                let (concurrency, prompt_tokens) = sweep.next(measured, elapsed_s)?;
                let level = LevelSpec {
                    index: *next_index,
                    concurrency,
                    rate: None,
                    prompt_tokens,
                    output_tokens: *output_tokens,
                };
                *next_index += 1;
                *last = Some(level);
                Some((level, 0))
            }
        }
    }

    fn finish(self) -> (Option<Knee>, Option<String>) {
        match self {
            Chooser::Fixed(_) => (None, None),
            Chooser::Auto { sweep, .. } => (sweep.knee().cloned(), sweep.cut_short.clone()),
        }
    }
}

pub struct SweepInputs {
    pub target: Arc<dyn Target>,
    pub spec: SweepSpec,
    pub sizing: TokensPerWord,
    /// The run's prompt nonce (the manifest's, when resuming).
    pub nonce: PromptNonce,
    /// Measured (non-warm-up) requests already recorded per level, when resuming.
    pub done_per_level: HashMap<u32, u32>,
    pub first_request_id: u64,
    /// The run clock's zero (continued across `--resume`).
    pub zero: Instant,
    pub stop: StopSignal,
    /// How long in-flight requests may finish after a stop.
    pub grace: Duration,
    pub show_progress: bool,
}

pub async fn run_sweep(
    inputs: SweepInputs,
    appender: Appender,
) -> Result<SweepOutcome, RunDirError> {
    let mut chooser = Chooser::new(&inputs.spec);
    let total = chooser.total();
    let mut levels = Vec::new();
    let multi = MultiProgress::with_draw_target(if inputs.show_progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let shared = Arc::new(Shared {
        target: inputs.target,
        spec: inputs.spec.clone(),
        sizing: inputs.sizing,
        nonce: inputs.nonce,
        zero: inputs.zero,
        stop: inputs.stop.clone(),
        next_request_id: AtomicU64::new(inputs.first_request_id),
        in_flight: AtomicU32::new(0),
        collector: Mutex::new(Collector {
            appender,
            records: Vec::new(),
            write_error: None,
            level_finished: 0,
            level_failed: 0,
            bar: ProgressBar::hidden(),
        }),
    });
    let mut notes = Vec::new();
    let mut done_per_level = inputs.done_per_level.clone();
    let passes = inputs.spec.passes.max(1);
    loop {
        if shared.stop.is_set() {
            break;
        }
        let next = {
            let collector = shared.collector.lock().expect("collector lock");
            chooser.next(&collector.records, shared.zero.elapsed().as_secs_f64())
        };
        let Some((level, pass)) = next else {
            break;
        };
        if pass == 0 {
            levels.push(level);
        }
        let level = &level;
        // This pass's share of what the level still needs: the remainder spread evenly over
        // the passes left (a resumed run picks up where the last left off).
        let done = done_per_level.get(&level.index).copied().unwrap_or(0);
        let remaining = inputs.spec.requests_per_level.saturating_sub(done);
        let passes_left = passes.saturating_sub(pass).max(1);
        let measured = remaining.div_ceil(passes_left);
        if measured == 0 {
            continue;
        }
        *done_per_level.entry(level.index).or_insert(0) += measured;
        let warmup = inputs.spec.warmup_per_level;
        let bar = multi.add(ProgressBar::new(u64::from(warmup + measured)));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>32} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(level.label());
        {
            let mut collector = shared.collector.lock().expect("collector lock");
            collector.level_finished = 0;
            collector.level_failed = 0;
            collector.bar = bar.clone();
        }
        let note = run_level(&shared, *level, warmup, measured, inputs.grace).await;
        bar.finish();
        let (finished, failed) = {
            let collector = shared.collector.lock().expect("collector lock");
            (collector.level_finished, collector.level_failed)
        };
        // A plain line per level, for logs and for anyone waiting on progress without a TTY.
        eprintln!(
            "level {}{} {}{}: {} finished, {} failed{}",
            level.index + 1,
            total
                .map(|t| format!("/{}", t / passes as usize))
                .unwrap_or_default(),
            level.label(),
            if passes > 1 {
                format!(" (pass {}/{passes})", pass + 1)
            } else {
                String::new()
            },
            finished,
            failed,
            note.as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
        if let Some(note) = note {
            notes.push(format!("{}: {note}", level.label()));
        }
    }
    let collector = Arc::try_unwrap(shared)
        .ok()
        .expect("all request tasks have ended")
        .collector
        .into_inner()
        .expect("collector lock");
    if let Some(error) = collector.write_error {
        return Err(error);
    }
    let (knee, auto_cut_short) = chooser.finish();
    Ok(SweepOutcome {
        records: collector.records,
        stop_reason: inputs.stop.reason(),
        notes,
        levels,
        knee,
        auto_cut_short,
    })
}

/// Runs one level; returns a note when the level was cut short on its own.
async fn run_level(
    shared: &Arc<Shared>,
    level: LevelSpec,
    warmup: u32,
    measured: u32,
    grace: Duration,
) -> Option<String> {
    let total = warmup + measured;
    let deadline = shared
        .spec
        .duration_per_level_s
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    let timed_out = move || deadline.is_some_and(|d| Instant::now() >= d);
    let dispatched = Arc::new(AtomicU32::new(0));
    let mut tasks = JoinSet::new();
    let mut note = None;
    match shared.spec.mode {
        SweepMode::Closed => {
            // Measured (and warm-up) requests not yet finished. While any remain, an idle
            // worker sends one cool-down request, so the last measured ones still run at
            // concurrency c, also when a level (or a pass's share of it) has fewer requests than
            // c; one each keeps the spend guard's bound (c − 1 a visit) a bound.
            let pending = Arc::new(AtomicU32::new(total));
            for _ in 0..level.concurrency {
                let shared = Arc::clone(shared);
                let dispatched = Arc::clone(&dispatched);
                let pending = Arc::clone(&pending);
                tasks.spawn(async move {
                    let mut cooled = false;
                    loop {
                        if shared.stop.is_set() || timed_out() {
                            break;
                        }
                        let i = dispatched.fetch_add(1, Ordering::SeqCst);
                        let phase = if i < total {
                            if i < warmup {
                                Phase::Warmup
                            } else {
                                Phase::Measured
                            }
                        } else if !cooled && pending.load(Ordering::SeqCst) > 0 {
                            cooled = true;
                            Phase::Cooldown
                        } else {
                            break;
                        };
                        one_request(&shared, level, phase, Instant::now()).await;
                        if phase != Phase::Cooldown {
                            pending.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        }
        SweepMode::Sequential => {
            let mut sent = 0;
            while sent < total && !shared.stop.is_set() && !timed_out() {
                let batch = level.concurrency.min(total - sent);
                let mut wave = JoinSet::new();
                for i in sent..sent + batch {
                    let shared = Arc::clone(shared);
                    wave.spawn(async move {
                        one_request(&shared, level, Phase::of(i, warmup), Instant::now()).await
                    });
                }
                sent += batch;
                drain(wave, &shared.stop, grace).await;
            }
            dispatched.store(sent, Ordering::SeqCst);
        }
        SweepMode::Interval => {
            let period = Duration::from_secs_f64(shared.spec.interval_s.unwrap_or(1.0));
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sent = 0;
            while sent < total {
                tokio::select! {
                    tick = ticker.tick() => {
                        if shared.stop.is_set() || timed_out() {
                            break;
                        }
                        let due = tick.into_std();
                        let batch = level.concurrency.min(total - sent);
                        for i in sent..sent + batch {
                            let shared = Arc::clone(shared);
                            tasks.spawn(async move { one_request(&shared, level, Phase::of(i, warmup), due).await });
                        }
                        sent += batch;
                    }
                    _ = shared.stop.stopped() => break,
                }
            }
            dispatched.store(sent, Ordering::SeqCst);
        }
        SweepMode::Rate => {
            let rate = level.rate.unwrap_or(1.0);
            let mut rng = StdRng::seed_from_u64(shared.spec.seed ^ u64::from(level.index));
            let gaps = InterArrival::new(shared.spec.arrivals, rate, shared.spec.burstiness);
            let mut due = tokio::time::Instant::now();
            let mut sent = 0;
            while sent < total {
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    _ = shared.stop.stopped() => break,
                }
                if timed_out() {
                    break;
                }
                if shared.in_flight.load(Ordering::SeqCst) >= level.concurrency {
                    note = Some(format!(
                        "over-saturated: {} requests in flight at {rate}/s; stopped the level",
                        level.concurrency
                    ));
                    break;
                }
                let scheduled = due.into_std();
                let shared_task = Arc::clone(shared);
                let phase = Phase::of(sent, warmup);
                tasks
                    .spawn(async move { one_request(&shared_task, level, phase, scheduled).await });
                sent += 1;
                due += Duration::from_secs_f64(gaps.sample(&mut rng));
            }
            dispatched.store(sent, Ordering::SeqCst);
        }
    }
    drain(tasks, &shared.stop, grace).await;
    if note.is_none() && timed_out() && dispatched.load(Ordering::SeqCst).min(total) < total {
        note = Some("the level's --duration-per-level ran out".to_string());
    }
    note
}

/// Waits for the tasks; after a stop, gives them `grace` to finish, then abandons the rest
/// (an abandoned request is not recorded: it did not finish).
async fn drain(mut tasks: JoinSet<()>, stop: &StopSignal, grace: Duration) {
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { return },
            _ = stop.stopped() => break,
        }
    }
    let _ = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.shutdown().await;
}

/// Where a request falls within its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measured,
    Cooldown,
}

impl Phase {
    fn of(index: u32, warmup: u32) -> Phase {
        if index < warmup {
            Phase::Warmup
        } else {
            Phase::Measured
        }
    }
}

async fn one_request(shared: &Shared, level: LevelSpec, phase: Phase, scheduled: Instant) {
    let request_id = shared.next_request_id.fetch_add(1, Ordering::SeqCst);
    let words = shared.sizing.words_for(level.prompt_tokens);
    let request = TargetRequest {
        prompt: prompt_text(words, shared.nonce, request_id),
        max_tokens: level.output_tokens,
        fixed_output: shared.spec.fixed_output,
    };
    let concurrency_at_send = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let exchange = send_within(
        shared.target.as_ref(),
        &request,
        shared.spec.timeout_s,
        true,
    )
    .await;
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    let context = RequestContext {
        request_id,
        level,
        warmup: phase == Phase::Warmup,
        cooldown: phase == Phase::Cooldown,
        scheduled: scheduled.min(exchange.sent),
        concurrency_at_send,
        input_tokens_estimate: shared.sizing.tokens_for(words).round() as u64,
    };
    let record = RequestRecord::new(&context, &exchange, shared.zero);
    collect(shared, record);
}

fn collect(shared: &Shared, record: RequestRecord) {
    let mut collector = shared.collector.lock().expect("collector lock");
    if collector.write_error.is_none() {
        if let Err(error) = collector.appender.append(&record) {
            shared
                .stop
                .trigger(format!("cannot record requests: {error}"));
            collector.write_error = Some(error);
        }
    }
    collector.level_finished += 1;
    if !record.is_ok() {
        collector.level_failed += 1;
    }
    let (finished, failed) = (collector.level_finished, collector.level_failed);
    collector.bar.inc(1);
    if failed > 0 {
        collector.bar.set_message(format!("{failed} failed"));
    }
    if finished >= MIN_REQUESTS_FOR_ABORT
        && failed as f64 > shared.spec.max_error_rate * finished as f64
    {
        shared.stop.trigger(format!(
            "aborted: {failed} of {finished} requests failed at level {} (last error: {} {}), \
             above --max-error-rate {}",
            record.level + 1,
            record.status,
            record.error.chars().take(160).collect::<String>(),
            shared.spec.max_error_rate
        ));
    }
    collector.records.push(record);
}

/// Sends one request under the run's deadline (`--timeout`: the whole exchange, connection to
/// last byte) and holds a reply that ended well to what a real endpoint could have sent
/// ([`plausible::check`]): a reply that could not be real is recorded as a failure with the
/// reason, never as a measurement.
pub async fn send_within(
    target: &dyn Target,
    request: &TargetRequest,
    timeout_s: f64,
    needs_text: bool,
) -> Exchange {
    let before = Instant::now();
    let limit = Duration::from_secs_f64(timeout_s);
    let mut exchange = match tokio::time::timeout(limit, target.send(request)).await {
        Ok(exchange) => exchange,
        Err(_) => Exchange {
            sent: before,
            chunk_times: Vec::new(),
            end: Instant::now(),
            input_tokens: None,
            cached_tokens: None,
            output_tokens: None,
            output_chars: 0,
            failure: Some(Failure {
                kind: ErrorKind::Timeout,
                message: format!("no complete answer within {timeout_s} s (--timeout)"),
            }),
            attempts: 1,
        },
    };
    if exchange.failure.is_none() {
        exchange.failure = plausible::check(request, &exchange, needs_text);
    }
    exchange
}

/// Gaps between arrivals in rate mode.
enum InterArrival {
    Constant(f64),
    Poisson(Exp<f64>),
    Gamma(Gamma<f64>),
}

impl InterArrival {
    fn new(arrivals: Arrivals, rate: f64, cv: f64) -> InterArrival {
        match arrivals {
            Arrivals::Constant => InterArrival::Constant(1.0 / rate),
            Arrivals::Poisson => InterArrival::Poisson(Exp::new(rate).expect("rate > 0")),
            // Shape 1/cv² and scale cv²/rate give mean 1/rate and coefficient of variation cv.
            Arrivals::Gamma => InterArrival::Gamma(
                Gamma::new(1.0 / (cv * cv), cv * cv / rate).expect("positive shape and scale"),
            ),
        }
    }

    fn sample(&self, rng: &mut StdRng) -> f64 {
        match self {
            InterArrival::Constant(gap) => *gap,
            InterArrival::Poisson(d) => d.sample(rng),
            InterArrival::Gamma(d) => d.sample(rng),
        }
    }
}

/// Attempts a prompt-size probe gets before the run gives up on the target: a probe that
/// failed for a passing reason (a throttle, a 5xx) is sent again, a timeout is not.
const PROBE_ATTEMPTS: u32 = 3;

/// Measures tokens per word on the target with two short requests (not part of the sweep):
/// prompt sizes then land near what was asked for whatever the tokenizer.
/// The probes use the sweep's smallest and largest prompt sizes, where the line must hold.
/// Each probe is held to the run's `--timeout`; a target that cannot answer a probe (it timed
/// out, or failed every attempt, or sent a reply that cannot be real) is an error naming why:
/// the sweep would only record the same failure for every request. A probe throttled on every
/// attempt falls back to the default sizing: throttling is what a sweep against a quota
/// measures.
pub async fn probe_prompt_size(
    target: &dyn Target,
    prompt_tokens: &[u32],
    timeout_s: f64,
    nonce: PromptNonce,
) -> Result<TokensPerWord, String> {
    let guess = TokensPerWord::default();
    let smallest = prompt_tokens.iter().copied().min().unwrap_or(64);
    let largest = prompt_tokens.iter().copied().max().unwrap_or(1024);
    let short = guess.words_for(smallest);
    let long = guess.words_for(largest).max(short * 2 + 16);
    let mut reported = Vec::new();
    for (i, words) in [short, long].into_iter().enumerate() {
        // The probes' ticket numbers have as many digits as a sweep's typically do: the
        // tokenizer may spend a token per digit, and a 20-digit id once inflated the measured
        // overhead by ~18 tokens, leaving every real prompt that much short.
        let request = TargetRequest {
            prompt: prompt_text(words, nonce.for_probes(), 100 + i as u64),
            max_tokens: 1,
            fixed_output: false,
        };
        let mut attempt = 1;
        let exchange = loop {
            let exchange = send_within(target, &request, timeout_s, false).await;
            match &exchange.failure {
                Some(failure) if failure.kind != ErrorKind::Timeout && attempt < PROBE_ATTEMPTS => {
                    attempt += 1;
                }
                _ => break exchange,
            }
        };
        match (exchange.failure, exchange.input_tokens) {
            // A quota that says no is the endpoint's answer, not a fault: the sweep measures
            // (and records) the throttling; prompts are sized by the default.
            (Some(failure), _) if failure.kind == ErrorKind::Throttled => {
                return Ok(TokensPerWord::default())
            }
            (Some(failure), _) => {
                return Err(format!(
                    "the prompt-size probe ({} words) failed {} time(s): {} {}",
                    words,
                    attempt,
                    failure.kind.as_str(),
                    failure.message.chars().take(300).collect::<String>()
                ))
            }
            (None, Some(tokens)) => reported.push((words, tokens)),
            // The target reports no prompt tokens: assume the default.
            (None, None) => return Ok(TokensPerWord::default()),
        }
    }
    Ok(TokensPerWord::from_probes(reported[0], reported[1]))
}
