//! The simulator against queueing theory, the performance model and quota arithmetic.

use llmcap::perf::model::{TpotForm, TpotModel, TtftForm, TtftModel};
use llmcap::perf::noise::NoiseModel;
use llmcap::perf::{FitRange, PerfModel};
use llmcap::quota::QuotaLimits;
use llmcap::sim::sagemaker::{Autoscaling, FleetConfig, Router, ScalingMetric};
use llmcap::sim::{run, ClientPolicy, EndpointSpec, Load, SimConfig, Slo};
use llmcap::workload::{ArrivalProcess, LengthDist, WorkloadSpec};

fn quiet() -> NoiseModel {
    NoiseModel {
        sigma0: 0.0,
        sigma_per_request: 0.0,
        spike_probability: 0.0,
        spike_factor: 1.0,
        source: "test".into(),
    }
}

/// A model whose step is `t0 + t1·n` and whose first token is immediate.
fn step_model(t0: f64, t1: f64) -> PerfModel {
    PerfModel {
        tpot: TpotModel {
            form: TpotForm::Linear,
            t0_s: t0,
            t1_s: t1,
            t2_s: 0.0,
            theta: None,
            equation: String::new(),
        },
        ttft: TtftModel {
            form: TtftForm::Flat,
            a0_s: 1e-9,
            a1_s: 0.0,
            a2: 0.0,
            gamma: None,
            equation: String::new(),
        },
        tpot_noise: quiet(),
        ttft_noise: quiet(),
        range: FitRange {
            concurrency: [1.0, 1e9],
            prompt_tokens: [0.0, 1e9],
            output_tokens: [1.0, 1e9],
        },
        server: None,
        uncertainty: None,
        not_measured: Vec::new(),
        measured_levels: Vec::new(),
    }
}

fn exponential_workload(mean_output: f64) -> WorkloadSpec {
    let mut w = WorkloadSpec::fixed(10.0, mean_output);
    w.classes[0].reply = LengthDist::Exponential { mean: mean_output };
    w.classes[0].max_tokens = Some(1e12);
    w
}

fn config(
    model: PerfModel,
    endpoint: EndpointSpec,
    workload: WorkloadSpec,
    load: Load,
) -> SimConfig {
    SimConfig {
        model,
        endpoint,
        workload,
        load,
        client: ClientPolicy::single_attempt(),
        seed: 7,
        noise: false,
        slo: Slo::default(),
        context_window: 1e12,
        warmup_s: 0.0,
    }
}

fn bedrock(quota: Option<QuotaLimits>) -> EndpointSpec {
    EndpointSpec::Bedrock {
        quota: quota.map(Into::into),
        model_max_tokens: 4_096.0,
        cached_prefix_tokens: 0.0,
    }
}

fn within(name: &str, value: f64, expected: f64, tolerance: f64) {
    let error = value / expected - 1.0;
    assert!(
        error.abs() <= tolerance,
        "{name}: {value} vs {expected} ({:+.2} %)",
        error * 100.0
    );
}

#[test]
fn mm1_processor_sharing_mean_sojourn() {
    // Step ∝ n: the server's token rate is fixed and shared — processor sharing. Each request
    // has exponential decode work of (mean − 1) tokens, so μ = 1 / (t1 · (mean − 1)).
    let (t1, mean_output, lambda) = (0.01, 101.0, 0.6);
    let mu = 1.0 / (t1 * (mean_output - 1.0));
    let duration = 200_000.0 / lambda;
    let c = config(
        step_model(1e-12, t1),
        bedrock(None),
        exponential_workload(mean_output),
        Load::Open {
            arrivals: ArrivalProcess::Poisson { rate_per_s: lambda },
            duration_s: duration,
        },
    );
    let result = run(&c).unwrap();
    assert!(result.requests > 195_000);
    within(
        "M/M/1-PS mean sojourn",
        result.e2e_s.mean,
        1.0 / (mu - lambda),
        0.02,
    );
    within(
        "Little's law",
        result.littles_law.l,
        result.littles_law.lambda_w,
        0.01,
    );
}

/// Erlang C: probability of waiting with c servers at offered load a = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / k as f64;
        sum += term;
    }
    let top = term * a / c as f64 * (c as f64 / (c as f64 - a));
    top / (sum + top)
}

#[test]
fn erlang_c_mean_wait_on_a_sagemaker_endpoint() {
    // One instance with c slots and a step that does not slow with load: an M/M/c queue.
    // The mean wait of one 200,000-request run scatters by about 2 % (1σ) around Erlang C at
    // this load (40 seeds: from −2.9 % to +4.8 %, mean +0.8 %), so besides one run at 2 %, the
    // mean of five independent runs is checked at 2 % too.
    let (slots, t0, mean_output) = (4u32, 0.01, 101.0);
    let mu = 1.0 / (t0 * (mean_output - 1.0));
    let lambda = 0.5 * slots as f64 * mu;
    let fleet = FleetConfig {
        instance_type: "ml.g5.xlarge".into(),
        instances: 1,
        slots_per_instance: slots,
        router: Router::LeastOutstanding,
        cold_start_s: 0.0,
        invocation_timeout_s: 3_600.0,
        autoscaling: None,
        prefix_cache: false,
    };
    let mut c = config(
        step_model(t0, 0.0),
        EndpointSpec::SageMaker(fleet),
        exponential_workload(mean_output),
        Load::Open {
            arrivals: ArrivalProcess::Poisson { rate_per_s: lambda },
            duration_s: 200_000.0 / lambda,
        },
    );
    let expected_wait = erlang_c(slots, lambda / mu) / (slots as f64 * mu - lambda);
    let mut waits = Vec::new();
    for seed in 7..12 {
        c.seed = seed;
        let result = run(&c).unwrap();
        assert!(result.requests > 195_000);
        within(
            "Little's law",
            result.littles_law.l,
            result.littles_law.lambda_w,
            0.01,
        );
        waits.push(result.queue_wait_s.mean);
    }
    within("Erlang C mean wait, one run", waits[0], expected_wait, 0.02);
    within(
        "Erlang C mean wait, five runs",
        waits.iter().sum::<f64>() / 5.0,
        expected_wait,
        0.02,
    );
}

#[test]
fn closed_loop_reproduces_predict() {
    let profile = llmcap::files::load_profile(std::path::Path::new(
        "models/bedrock-llama3-3-70b-instruct.toml",
    ))
    .unwrap();
    for (concurrency, prompt) in [(10u32, 43.0), (30, 6027.0), (50, 6027.0)] {
        let result = run(&config(
            profile.model.clone(),
            bedrock(None),
            WorkloadSpec::fixed(prompt, 350.0),
            Load::Closed {
                concurrency,
                requests: 20_000,
            },
        ))
        .unwrap();
        let prediction = profile
            .model
            .predict(concurrency as f64, prompt, 350.0)
            .unwrap();
        let quiet_ttft = profile.model.ttft.median_s(concurrency as f64, prompt);
        let quiet_tpot = profile.model.tpot.median_s(
            concurrency as f64,
            llmcap::perf::model::held_context(concurrency as f64, prompt, 350.0),
        );
        within("p50 TPOT", result.tpot_s.p50, quiet_tpot, 0.01);
        within("p50 TTFT", result.ttft_s.p50, quiet_ttft, 0.01);
        // predict adds only the (small) spike shift to the noise-free medians.
        within(
            "predict p50 TPOT",
            result.tpot_s.p50,
            prediction.tpot_p50_s(),
            0.01,
        );
        within(
            "predict p50 TTFT",
            result.ttft_s.p50,
            prediction.ttft_p50_s(),
            0.01,
        );
        assert_eq!(result.requests, 20_000);
    }
}

fn quota_run(max_attempts: u32, seed: u64) -> llmcap::sim::SimResult {
    // Each request charges 1,000 + 200 tokens; demand is 150 % of a 1.2 M TPM quota.
    let tpm = 1_200_000.0;
    let per_request = 1_200.0;
    let rate = 1.5 * tpm / 60.0 / per_request;
    let mut c = config(
        step_model(0.001, 0.0),
        bedrock(Some(QuotaLimits {
            tpm,
            rpm: None,
            tpd: Some(1e15),
            output_burndown: 1.0,
            headroom: 1.0,
        })),
        WorkloadSpec::fixed(1_000.0, 200.0),
        Load::Open {
            arrivals: ArrivalProcess::Poisson { rate_per_s: rate },
            duration_s: 4.0 * 3_600.0,
        },
    );
    c.client = ClientPolicy {
        max_attempts,
        ..ClientPolicy::default()
    };
    c.seed = seed;
    run(&c).unwrap()
}

#[test]
fn throttling_at_150_percent_of_tpm_matches_bucket_arithmetic() {
    // No retries: the bucket admits TPM worth of charged tokens a minute, so 1/1.5 of requests.
    let once = quota_run(1, 1);
    within(
        "throttle fraction",
        once.throttled as f64 / once.attempts as f64,
        1.0 / 3.0,
        0.03,
    );
    within(
        "failed fraction",
        once.failed as f64 / once.requests as f64,
        1.0 / 3.0,
        0.03,
    );
    // Three attempts: successes are still capped at 2/3 of demand, so with an independent
    // throttle chance p per attempt, p³ = 1/3 and attempts per request = 1 + p + p².
    let p: f64 = (1.0_f64 / 3.0).powf(1.0 / 3.0);
    let retried = quota_run(3, 1);
    within(
        "failed after retries",
        retried.failed as f64 / retried.requests as f64,
        1.0 / 3.0,
        0.05,
    );
    within(
        "retry amplification",
        retried.attempts as f64 / retried.requests as f64,
        1.0 + p + p * p,
        0.05,
    );
}

#[test]
fn same_seed_same_result_other_seed_different() {
    let a = serde_json::to_string(&quota_run(3, 5)).unwrap();
    let b = serde_json::to_string(&quota_run(3, 5)).unwrap();
    let c = serde_json::to_string(&quota_run(3, 6)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn autoscaling_follows_a_load_step_after_evaluation_and_cold_start() {
    // 10 minutes at a low rate, then a step to 4x for an hour; arrivals replayed from a trace.
    let mut times = Vec::new();
    let mut t = 0.0;
    while t < 4_200.0 {
        times.push(t);
        t += if t < 600.0 { 1.0 } else { 0.25 };
    }
    let fleet = FleetConfig {
        instance_type: "ml.g5.xlarge".into(),
        instances: 1,
        slots_per_instance: 8,
        router: Router::LeastOutstanding,
        cold_start_s: 300.0,
        invocation_timeout_s: 60.0,
        autoscaling: Some(Autoscaling {
            metric: ScalingMetric::InvocationsPerInstance,
            target: 100.0,
            min_instances: 1,
            max_instances: 8,
            scale_out_periods: 3,
            scale_in_periods: 15,
            scale_out_cooldown_s: 300.0,
            scale_in_cooldown_s: 300.0,
        }),
        prefix_cache: false,
    };
    let result = run(&config(
        step_model(0.002, 0.0),
        EndpointSpec::SageMaker(fleet),
        WorkloadSpec::fixed(100.0, 50.0),
        Load::Open {
            arrivals: ArrivalProcess::Trace { times_s: times },
            duration_s: 4_200.0,
        },
    ))
    .unwrap();
    let instances: Vec<u32> = result
        .minutes
        .iter()
        .map(|m| m.instances_in_service)
        .collect();
    let totals: Vec<u32> = result.minutes.iter().map(|m| m.instances_total).collect();
    // 60 invocations/min before the step (below target 100), 240 after: the alarm needs three
    // minutes above target (minutes 10, 11, 12, evaluated at the ticks ending them), so the
    // launch lands in minute 13 and the new instances serve 5 minutes later.
    assert!(totals[..13].iter().all(|&n| n == 1), "{totals:?}");
    let launched = totals.iter().position(|&n| n > 1).unwrap();
    assert_eq!(
        launched, 13,
        "launch decided at the tick ending minute 12: {totals:?}"
    );
    let serving = instances.iter().position(|&n| n > 1).unwrap();
    assert_eq!(
        serving,
        launched + 5,
        "serving after the 300 s cold start: {instances:?}"
    );
    assert!(
        instances[serving] >= 3,
        "scaled to ~240/100 instances: {instances:?}"
    );
    // Billed from launch, idle or busy: at least one instance for the whole run plus the new ones.
    assert!(
        result.instance_hours > 4_200.0 / 3_600.0 + 2.0 * (4_200.0 - 13.0 * 60.0) / 3_600.0 * 0.99
    );
}

#[test]
fn a_fleet_scaled_to_zero_bills_nothing_idle_and_refuses_requests_until_an_instance_starts() {
    // One request a second for 20 minutes, an idle 40 minutes, then 30 minutes more. The fleet
    // starts at zero (inference components, MinInstanceCount 0).
    let times: Vec<f64> = (0..1_200).chain(3_600..5_400).map(f64::from).collect();
    let fleet = FleetConfig {
        instance_type: "ml.g5.xlarge".into(),
        instances: 0,
        slots_per_instance: 8,
        router: Router::LeastOutstanding,
        cold_start_s: 300.0,
        invocation_timeout_s: 60.0,
        autoscaling: Some(Autoscaling {
            metric: ScalingMetric::InvocationsPerInstance,
            target: 100.0,
            min_instances: 0,
            max_instances: 4,
            scale_out_periods: 3,
            scale_in_periods: 15,
            scale_out_cooldown_s: 300.0,
            scale_in_cooldown_s: 300.0,
        }),
        prefix_cache: false,
    };
    let result = run(&config(
        step_model(0.002, 0.0),
        EndpointSpec::SageMaker(fleet),
        WorkloadSpec::fixed(100.0, 50.0),
        Load::Open {
            arrivals: ArrivalProcess::Trace { times_s: times },
            duration_s: 5_400.0,
        },
    ))
    .unwrap();
    let serving: Vec<u32> = result
        .minutes
        .iter()
        .map(|m| m.instances_in_service)
        .collect();
    let total: Vec<u32> = result.minutes.iter().map(|m| m.instances_total).collect();
    // AWS's mechanism: the first refused request trips the NoCapacityInvocationFailures alarm
    // at the end of its minute (t = 60 s), one instance starts and serves 300 s later.
    assert!(serving[..6].iter().all(|&n| n == 0), "{serving:?}");
    assert_eq!(serving[6], 1, "{serving:?}");
    // Below 90 % of target for 15 minutes already, the first idle minute scales it in to zero,
    // and nothing runs until traffic returns.
    assert!(total[22..60].iter().all(|&n| n == 0), "{total:?}");
    assert_eq!(
        serving[66], 1,
        "the second start, 60 s + 300 s after 3,600 s: {serving:?}"
    );
    // Refused: every arrival while no instance served, [0, 360) and [3,600, 3,960) at one a
    // second (single attempts, so each refusal is a failure).
    assert_eq!(result.failed, 720, "{:?}", result.failed);
    // Billed: 60–1,260 s and 3,660–5,400 s, against 1.5 h always on.
    within(
        "instance-hours",
        result.instance_hours,
        (1_200.0 + 1_740.0) / 3_600.0,
        0.001,
    );
}

#[test]
fn serverless_cold_starts_cap_and_billing() {
    use llmcap::sim::serverless::ServerlessConfig;
    let serverless = |max_concurrency: u32| {
        EndpointSpec::Serverless(ServerlessConfig {
            memory_mb: 2048,
            max_concurrency,
            cold_start_s: 5.0,
            keep_warm_s: 600.0,
        })
    };
    // Ten clients back to back: ten cold starts, then warm containers only.
    let closed = run(&config(
        step_model(0.01, 0.0),
        serverless(20),
        WorkloadSpec::fixed(100.0, 101.0),
        Load::Closed {
            concurrency: 10,
            requests: 200,
        },
    ))
    .unwrap();
    assert!(
        closed.ttft_s.p99 >= 5.0,
        "the first ten (5 %) see the cold start"
    );
    assert!(closed.ttft_s.p90 < 0.01, "later ones are warm");
    within("mean TTFT", closed.ttft_s.mean, 10.0 * 5.0 / 200.0, 0.01);
    // Compute billed: 200 requests × 100 decode steps × 10 ms (prefill ~0, cold starts unbilled).
    within("billed compute", closed.serverless_compute_s, 200.0, 0.001);
    // A cap of 2 with 10 clients: the rest are refused with 429 and retried.
    let mut capped = config(
        step_model(0.01, 0.0),
        serverless(2),
        WorkloadSpec::fixed(100.0, 101.0),
        Load::Closed {
            concurrency: 10,
            requests: 200,
        },
    );
    capped.client = ClientPolicy::default();
    let capped = run(&capped).unwrap();
    assert!(capped.throttled > 0 && capped.retries > 0, "{capped:?}");
}

/// Users starting in their steady phase: after the warm-up, the request rate is the renewal
/// rate of the think/session cycle, λ = m / (gap + (m − 1)·think + m·E[e2e]) per user, from the
/// first measured minute on (no burst of first messages).
#[test]
fn users_start_in_their_steady_phase_and_the_first_minutes_carry_the_steady_rate() {
    let behaviour = llmcap::workload::users::UserBehaviour {
        think_time_s: 20.0,
        turns_per_session: 4.0,
        session_gap_s: 600.0,
    };
    let mut workload = WorkloadSpec::fixed(50.0, 100.0);
    workload.classes[0].history = true;
    workload.classes[0].max_tokens = Some(1e12);
    workload.think_time_s = behaviour.think_time_s;
    workload.turns_per_session = behaviour.turns_per_session;
    workload.session_gap_s = behaviour.session_gap_s;
    let users = 600;
    let mut c = config(
        step_model(0.01, 0.0),
        bedrock(None),
        workload,
        Load::Users {
            users,
            duration_s: 1_800.0,
        },
    );
    c.warmup_s = 120.0;
    let r = run(&c).unwrap();
    let m = behaviour.turns_per_session;
    let cycle = behaviour.session_gap_s + (m - 1.0) * behaviour.think_time_s + m * r.e2e_s.mean;
    let expected_rpm = f64::from(users) * 60.0 * m / cycle;
    let rpm: Vec<f64> = r.minutes[..30].iter().map(|m| m.rpm as f64).collect();
    let mean = rpm.iter().sum::<f64>() / rpm.len() as f64;
    // Poisson-like counts: the 30-minute mean within 3 standard errors of the theory.
    let se = (expected_rpm / rpm.len() as f64).sqrt();
    assert!(
        (mean - expected_rpm).abs() <= 3.0 * se,
        "{mean:.1} requests a minute against {expected_rpm:.1} ± {se:.1}"
    );
    // Every one of the first three minutes within 4 Poisson standard deviations of the rate.
    for (minute, count) in rpm[..3].iter().enumerate() {
        assert!(
            (count - expected_rpm).abs() <= 4.0 * expected_rpm.sqrt(),
            "minute {minute}: {count} requests against {expected_rpm:.1} a minute"
        );
    }
}

/// One slot, one-second requests, all sent at once, a 4.5 s invocation limit: requests 0–3
/// finish at 1, 2, 3 and 4 s; at 4.5 s the one in service (due at 5 s) and the five queued
/// behind it time out, and the closed run is over — not at its next autoscaling tick, and not
/// 91 simulated days later, where it used to stop.
#[test]
fn the_invocation_limit_fails_what_is_still_waiting_and_the_run_ends_with_the_work() {
    let (t0, output) = (0.01, 101.0);
    let service_s = t0 * (output - 1.0);
    let fleet = |slots, limit_s| {
        EndpointSpec::SageMaker(FleetConfig {
            instance_type: "ml.g5.xlarge".into(),
            instances: 1,
            slots_per_instance: slots,
            router: Router::LeastOutstanding,
            cold_start_s: 0.0,
            invocation_timeout_s: limit_s,
            autoscaling: None,
            prefix_cache: false,
        })
    };
    let closed = |n: u32| Load::Closed {
        concurrency: n,
        requests: u64::from(n),
    };
    let queued = config(
        step_model(t0, 0.0),
        fleet(1, 4.5 * service_s),
        WorkloadSpec::fixed(10.0, output),
        closed(10),
    );
    let result = run(&queued).unwrap();
    assert_eq!((result.completed, result.timeouts), (4, 6), "{result:?}");
    within("end of the run", result.end_s, 4.5 * service_s, 1e-6);
    assert!(!result.partial);

    // Two requests on two slots finish together after one service time; the 60 s limit
    // never comes into it, so the closed run lasts one service time.
    let quick = config(
        step_model(t0, 0.0),
        fleet(2, 60.0),
        WorkloadSpec::fixed(10.0, output),
        closed(2),
    );
    let result = run(&quick).unwrap();
    assert_eq!((result.completed, result.timeouts), (2, 0));
    within("closed run's duration", result.duration_s, service_s, 1e-6);
}
