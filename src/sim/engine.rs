//! The event loop: arrivals, admissions, first tokens, completions, retries, timeouts and ticks.
//! Seeded and deterministic; each request costs O(log n) through the shared decode clock.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::bedrock::BedrockEndpoint;
use super::config::{EndpointSpec, Load, SimConfig};
use super::control::{Progress, RunControl, CHECK_EVERY};
use super::endpoint::{Admitted, Endpoint, Submit};
use super::error::SimError;
use super::event::EventQueue;
use super::metrics::Metrics;
use super::request::{Attempt, Slab};
use super::result::SimResult;
use super::sagemaker::Fleet;
use super::serverless::Serverless;
use crate::workload::users::exponential;
use crate::workload::{ArrivalSampler, Conversation};

/// Marks open-loop requests, which have no client to continue.
const NO_CLIENT: u32 = u32::MAX;

/// How long after the last send the simulation waits for requests to finish.
const DRAIN_LIMIT_S: f64 = 86_400.0;

enum Event {
    ClientSend {
        client: u32,
    },
    FirstToken {
        id: u32,
    },
    Retry {
        id: u32,
    },
    Tick,
    /// The warm-up is over: instance and compute seconds count from here.
    WarmupEnd,
}

struct Engine<'a> {
    config: &'a SimConfig,
    now: f64,
    events: EventQueue<Event>,
    attempts: Slab,
    endpoint: Box<dyn Endpoint>,
    rng: StdRng,
    metrics: Metrics,
    admitted: Vec<Admitted>,
    /// Closed loop: requests issued so far.
    issued: u64,
    /// No new requests at or after this time (open loop and users).
    stop_sending_s: f64,
    conversations: Vec<Conversation>,
    arrivals: Option<ArrivalSampler>,
    /// The open loop's next arrival (infinite when none): one at a time, so it waits here
    /// rather than in the event heap, which then holds only what is in flight.
    next_arrival_s: f64,
    model_max_tokens: f64,
    /// Tokens of each prompt read from the prompt cache (Bedrock with prompt caching).
    cached_prefix_tokens: f64,
    /// The servers reuse a cacheable prefix's KV (`FleetConfig::prefix_cache`): `Some` of the
    /// tokens every prompt begins with that the profile's server held cached (its chat
    /// template, `ServerModel::shared_prefix_tokens`), ahead of each class's `cached_prefix`.
    server_prefix_cache: Option<f64>,
    timeout_s: Option<f64>,
    /// Deadlines of the attempts sent, as (time, attempt, its send time). Every attempt gets
    /// the same limit and attempts are sent in time order, so the deadlines come in order: a
    /// queue, not the event heap, which they would fill with stale entries (most attempts end
    /// well before theirs).
    deadlines: VecDeque<(f64, u32, f64)>,
    in_flight: u64,
    /// Instance and compute seconds spent during the warm-up (left out of the result).
    warmup_instance_s: f64,
    warmup_compute_s: f64,
}

/// Runs one simulation to completion (every request sent is resolved).
pub fn run(config: &SimConfig) -> Result<SimResult, SimError> {
    run_controlled(config, &RunControl::default())
}

/// As [`run`], publishing progress to `control` and stopping early when it says so (the result
/// is then marked `partial` and covers what was simulated).
pub fn run_controlled(config: &SimConfig, control: &RunControl) -> Result<SimResult, SimError> {
    config.validate()?;
    let model = config.effective_model();
    let shared_prefix_tokens = model
        .server
        .as_ref()
        .map_or(0.0, |s| s.shared_prefix_tokens);
    let mut cached_prefix_tokens = 0.0;
    let (endpoint, model_max_tokens, invocation_limit): (Box<dyn Endpoint>, f64, Option<f64>) =
        match &config.endpoint {
            EndpointSpec::Bedrock {
                quota,
                model_max_tokens,
                cached_prefix_tokens: cached,
            } => {
                cached_prefix_tokens = *cached;
                (
                    Box::new(BedrockEndpoint::new(model, quota.clone())),
                    *model_max_tokens,
                    None,
                )
            }
            EndpointSpec::SageMaker(fleet) => (
                Box::new(Fleet::new(model, fleet.clone())),
                f64::INFINITY,
                Some(fleet.invocation_timeout_s),
            ),
            EndpointSpec::Serverless(s) => (
                Box::new(Serverless::new(model, s.clone())),
                f64::INFINITY,
                Some(60.0),
            ),
        };
    let timeout_s = match (config.client.timeout_s, invocation_limit) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let mut engine = Engine {
        config,
        now: 0.0,
        events: EventQueue::default(),
        attempts: Slab::default(),
        endpoint,
        rng: StdRng::seed_from_u64(config.seed),
        metrics: Metrics::new(config.slo.clone(), config.warmup_s).with_classes(
            if config.workload.classes.len() > 1 {
                config.workload.classes.len()
            } else {
                0
            },
        ),
        admitted: Vec::new(),
        issued: 0,
        stop_sending_s: f64::INFINITY,
        conversations: Vec::new(),
        arrivals: None,
        next_arrival_s: f64::INFINITY,
        model_max_tokens,
        cached_prefix_tokens,
        server_prefix_cache: match &config.endpoint {
            EndpointSpec::SageMaker(f) if f.prefix_cache => Some(shared_prefix_tokens),
            _ => None,
        },
        timeout_s,
        deadlines: VecDeque::new(),
        in_flight: 0,
        warmup_instance_s: 0.0,
        warmup_compute_s: 0.0,
    };
    engine.start();
    let stopped = engine.run_loop(control);
    Ok(engine.finish(stopped))
}

impl Engine<'_> {
    fn start(&mut self) {
        match &self.config.load {
            Load::Closed {
                concurrency,
                requests,
            } => {
                for client in 0..(*concurrency as u64).min(*requests) as u32 {
                    self.events.push(0.0, Event::ClientSend { client });
                }
            }
            Load::Open {
                arrivals,
                duration_s,
            } => {
                self.stop_sending_s = self.config.warmup_s + *duration_s;
                let mut sampler = arrivals.sampler();
                if let Some(t) = sampler.next_after(0.0, &mut self.rng) {
                    self.next_arrival_s = t;
                }
                self.arrivals = Some(sampler);
            }
            Load::Users { users, duration_s } => {
                self.stop_sending_s = self.config.warmup_s + *duration_s;
                // Every user starts in the stationary phase of their think/session cycle, so
                // the first minutes carry the steady rate, not a burst of first messages.
                for client in 0..*users {
                    let (conversation, wait) = Conversation::stationary(
                        &self.config.workload,
                        self.config.context_window,
                        &mut self.rng,
                    );
                    self.conversations.push(conversation);
                    self.events.push(wait, Event::ClientSend { client });
                }
            }
        }
        if self.endpoint.tick_period_s().is_some() {
            self.events.push(0.0, Event::Tick);
        }
        if self.config.warmup_s > 0.0 {
            self.events.push(self.config.warmup_s, Event::WarmupEnd);
        }
    }

    /// Runs until every request is resolved; true when `control` stopped it first.
    fn run_loop(&mut self, control: &RunControl) -> bool {
        // Requests still unresolved a day after sending stopped are left unfinished: an
        // overloaded endpoint must not keep the simulation running for ever.
        let drain_limit_s = self.stop_sending_s + DRAIN_LIMIT_S;
        let mut steps: u64 = 0;
        let closed = matches!(self.config.load, Load::Closed { .. });
        loop {
            // A closed loop sends only when one of its requests resolves: with none left in
            // flight it is over, whatever the endpoint still has scheduled (its autoscaling
            // ticks, work a client gave up on).
            if closed && self.issued > 0 && self.in_flight == 0 {
                break;
            }
            steps += 1;
            if steps.is_multiple_of(CHECK_EVERY)
                && control.publish(Progress {
                    resolved: self.issued - self.in_flight,
                    in_flight: self.in_flight,
                    simulated_s: self.now,
                })
            {
                return true;
            }
            // A deadline whose attempt has ended (or been sent again) is dropped unseen, so it
            // neither costs an iteration nor stretches a closed run's end to its time.
            while let Some(&(_, id, sent_s)) = self.deadlines.front() {
                if self.pending(id, sent_s) {
                    break;
                }
                self.deadlines.pop_front();
            }
            let next_deadline = self.deadlines.front().map_or(f64::INFINITY, |d| d.0);
            let next_event = self
                .events
                .peek_time()
                .min(next_deadline)
                .min(self.next_arrival_s);
            let next_done = self.endpoint.next_completion_s();
            if next_event.is_infinite() && next_done.is_infinite() {
                break;
            }
            if next_event.min(next_done) > drain_limit_s {
                break;
            }
            // On a tie, completions go first: a slot frees before the next arrival looks for one.
            if next_done <= next_event {
                self.now = next_done;
                if let Some(id) = self.endpoint.pop_completion(self.now) {
                    self.complete(id);
                }
                continue;
            }
            // On a tie, events go before an arrival and an arrival before a deadline.
            if self.next_arrival_s < self.events.peek_time().min(next_deadline) {
                self.now = self.next_arrival_s;
                self.open_arrival();
                continue;
            }
            if next_deadline < self.events.peek_time() {
                let (time, id, sent_s) = self.deadlines.pop_front().expect("peeked");
                self.now = time;
                self.timeout(id, sent_s);
                continue;
            }
            let (time, event) = self.events.pop().expect("peeked");
            self.now = time;
            match event {
                Event::ClientSend { client } => self.send_new(client),
                Event::FirstToken { id } => self.first_token(id),
                Event::Retry { id } => self.send(id),
                Event::Tick => self.tick(),
                Event::WarmupEnd => {
                    self.warmup_instance_s = self.endpoint.instance_seconds(self.now);
                    self.warmup_compute_s = self.endpoint.compute_seconds();
                }
            }
        }
        false
    }

    fn open_arrival(&mut self) {
        self.next_arrival_s = f64::INFINITY;
        if self.now >= self.stop_sending_s {
            return;
        }
        self.send_new(NO_CLIENT);
        let sampler = self.arrivals.as_mut().expect("open loop has arrivals");
        if let Some(t) = sampler.next_after(self.now, &mut self.rng) {
            if t < self.stop_sending_s {
                self.next_arrival_s = t;
            }
        }
    }

    /// A new logical request from `client`.
    fn send_new(&mut self, client: u32) {
        if self.now >= self.stop_sending_s {
            return;
        }
        let workload = &self.config.workload;
        let mut one_off;
        let conversation = if client != NO_CLIENT && !self.conversations.is_empty() {
            &mut self.conversations[client as usize]
        } else {
            one_off = Conversation::one_off(workload, &mut self.rng);
            &mut one_off
        };
        let (prompt, output) =
            conversation.next_prompt(workload, self.config.context_window, &mut self.rng);
        let class = conversation.class;
        let max_tokens = workload.classes[class]
            .max_tokens
            .unwrap_or(self.model_max_tokens);
        // A reply never runs past max_tokens.
        let output = if max_tokens.is_finite() {
            output.min(max_tokens)
        } else {
            output
        };
        self.issued += 1;
        self.in_flight += 1;
        self.metrics.arrive(self.now);
        let id = self.attempts.insert(Attempt {
            prompt,
            output,
            max_tokens: if max_tokens.is_finite() && !self.config.client.max_tokens_is_reply {
                max_tokens
            } else {
                output
            },
            client,
            attempt: 1,
            first_sent_s: self.now,
            cache_read: self.cached_prefix_tokens.min(prompt),
            prefix_hit: match self.server_prefix_cache {
                // At least one token is always computed: the first output needs a forward pass.
                Some(shared) => (shared + workload.classes[class].cached_prefix)
                    .min(prompt - 1.0)
                    .max(0.0),
                None => 0.0,
            },
            class: class as u32,
            ..Attempt::default()
        });
        self.send(id);
    }

    /// Offers attempt `id` to the endpoint.
    fn send(&mut self, id: u32) {
        {
            let attempt = self.attempts.get_mut(id);
            attempt.sent_s = self.now;
            attempt.admitted_s = f64::NAN;
        }
        self.metrics.attempt(self.now);
        match self
            .endpoint
            .submit(self.now, id, &mut self.attempts, &mut self.rng)
        {
            Submit::Started { ttft_s } => self.started(id, ttft_s),
            Submit::Queued => {}
            Submit::Refused => {
                self.metrics.throttle(self.now);
                self.failed(id, false);
                return;
            }
        }
        if let Some(limit) = self.timeout_s {
            self.deadlines.push_back((self.now + limit, id, self.now));
        }
    }

    fn started(&mut self, id: u32, ttft_s: f64) {
        let attempt = self.attempts.get_mut(id);
        attempt.admitted_s = self.now;
        attempt.first_token_s = self.now + ttft_s;
        let reserved = attempt.prompt + attempt.max_tokens;
        let input_reserved = attempt.prompt - attempt.cache_read + attempt.max_tokens;
        self.metrics.start(self.now, reserved, input_reserved);
        self.events
            .push(self.now + ttft_s, Event::FirstToken { id });
    }

    fn first_token(&mut self, id: u32) {
        let delay = self.endpoint.first_token_delay_s(id, &mut self.attempts);
        if delay > 0.0 {
            self.attempts.get_mut(id).first_token_s += delay;
            self.events.push(self.now + delay, Event::FirstToken { id });
            return;
        }
        if self.attempts.get(id).output <= 1.0 {
            self.complete(id);
        } else {
            self.endpoint
                .start_decode(self.now, id, &self.attempts, &mut self.rng);
        }
    }

    /// The server is done with attempt `id`.
    fn complete(&mut self, id: u32) {
        let charged = self.endpoint.release(
            self.now,
            id,
            &mut self.attempts,
            &mut self.rng,
            &mut self.admitted,
        );
        self.metrics.charge(self.now, charged);
        let mut admitted = std::mem::take(&mut self.admitted);
        for a in admitted.drain(..) {
            if a.ttft_s.is_nan() {
                self.attempts.remove(a.id);
            } else {
                self.started(a.id, a.ttft_s);
            }
        }
        self.admitted = admitted;
        let attempt = self.attempts.get(id).clone();
        self.attempts.remove(id);
        if attempt.abandoned {
            return;
        }
        let tpot = (attempt.output > 1.0)
            .then(|| (self.now - attempt.first_token_s) / (attempt.output - 1.0));
        self.metrics.complete(
            self.now,
            attempt.first_token_s - attempt.sent_s,
            tpot,
            self.now - attempt.sent_s,
            attempt.admitted_s - attempt.sent_s,
            attempt.prompt,
            attempt.output,
            attempt.class as usize,
        );
        self.resolve(attempt.client, attempt.first_sent_s);
    }

    /// Whether the attempt sent at `sent_s` under `id` is still waiting on the endpoint.
    fn pending(&self, id: u32, sent_s: f64) -> bool {
        let attempt = self.attempts.get(id);
        attempt.live && attempt.sent_s == sent_s && !attempt.abandoned
    }

    fn timeout(&mut self, id: u32, sent_s: f64) {
        if !self.pending(id, sent_s) {
            return;
        }
        self.metrics.timeouts += 1;
        self.attempts.get_mut(id).abandoned = true;
        self.failed(id, true);
    }

    /// Attempt `id` was refused or timed out: retry after a backoff, or give up.
    /// `held` says whether a server still holds the attempt (then a retry needs a new slot).
    fn failed(&mut self, id: u32, held: bool) {
        let attempt = self.attempts.get(id).clone();
        if attempt.attempt < self.config.client.max_attempts {
            self.metrics.retry(self.now);
            let retry_id = if held {
                self.attempts.insert(Attempt {
                    attempt: attempt.attempt + 1,
                    abandoned: false,
                    reserved: 0.0,
                    ..attempt
                })
            } else {
                let a = self.attempts.get_mut(id);
                a.attempt += 1;
                a.reserved = 0.0;
                id
            };
            let backoff = self.config.client.backoff_s(attempt.attempt, &mut self.rng);
            self.events
                .push(self.now + backoff, Event::Retry { id: retry_id });
        } else {
            self.metrics.fail(self.now);
            if !held {
                self.attempts.remove(id);
            }
            self.resolve(attempt.client, attempt.first_sent_s);
        }
    }

    /// A logical request is over (success or give-up); its client carries on.
    fn resolve(&mut self, client: u32, first_sent_s: f64) {
        self.metrics.resolve(self.now, first_sent_s);
        self.in_flight -= 1;
        if client == NO_CLIENT {
            return;
        }
        match &self.config.load {
            Load::Closed { requests, .. } => {
                if self.issued < *requests {
                    self.send_new(client);
                }
            }
            Load::Users { .. } => {
                let workload = &self.config.workload;
                let behaviour = workload.behaviour();
                let conversation = &mut self.conversations[client as usize];
                let wait = if conversation.turns_left > 0 {
                    exponential(behaviour.think_time_s, &mut self.rng)
                } else {
                    *conversation = Conversation::start(workload, &mut self.rng);
                    exponential(behaviour.session_gap_s, &mut self.rng)
                };
                if self.now + wait < self.stop_sending_s {
                    self.events
                        .push(self.now + wait, Event::ClientSend { client });
                }
            }
            Load::Open { .. } => {}
        }
    }

    fn tick(&mut self) {
        let (serving, total) = self.endpoint.tick(self.now);
        self.metrics.set_instances(self.now, serving, total);
        let more = self.now < self.stop_sending_s.min(1e12) || self.in_flight > 0;
        if let (Some(period), true) = (self.endpoint.tick_period_s(), more) {
            self.events.push(self.now + period, Event::Tick);
        }
    }

    /// The result; `stopped`: the run was cut short, so its duration is the measured time
    /// actually simulated.
    fn finish(mut self, stopped: bool) -> SimResult {
        let end_s = self.now;
        self.metrics.finish(end_s);
        self.metrics.instance_seconds =
            (self.endpoint.instance_seconds(end_s) - self.warmup_instance_s).max(0.0);
        self.metrics.compute_seconds =
            (self.endpoint.compute_seconds() - self.warmup_compute_s).max(0.0);
        let duration_s = match &self.config.load {
            Load::Closed { .. } => end_s,
            Load::Open { duration_s, .. } | Load::Users { duration_s, .. } if !stopped => {
                *duration_s
            }
            _ => (end_s - self.config.warmup_s).max(0.0),
        };
        let mut result =
            SimResult::from_metrics(&self.metrics, duration_s, end_s, self.attempts.capacity());
        result.unfinished = self.in_flight;
        result.partial = stopped;
        result
    }
}
