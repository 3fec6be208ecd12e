//! The simulator's server runs the profile's server model in fluid form (O(log n) a request);
//! `perf::server::bench` runs the same model step by step. The two are independent
//! implementations of one mechanism: in a closed loop they must agree on TTFT, TPOT and
//! throughput, below and beyond the batch limit, for whole and chunked prefills.

use llmcap::perf::model::{TpotForm, TpotModel, TtftForm, TtftModel};
use llmcap::perf::noise::NoiseModel;
use llmcap::perf::server::bench::{closed_loop, open_loop};
use llmcap::perf::server::{ServerModel, Sharing};
use llmcap::perf::{FitRange, PerfModel};
use llmcap::sim::{run, ClientPolicy, EndpointSpec, Load, SimConfig, Slo};
use llmcap::workload::{ArrivalProcess, WorkloadSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn quiet() -> NoiseModel {
    NoiseModel {
        sigma0: 0.0,
        sigma_per_request: 0.0,
        spike_probability: 0.0,
        spike_factor: 1.0,
        source: "test".into(),
    }
}

fn server(max_batch: Option<f64>, sharing: Sharing) -> ServerModel {
    ServerModel {
        max_batch,
        step: TpotModel {
            form: TpotForm::Linear,
            t0_s: 0.02,
            t1_s: 4e-4,
            t2_s: 2e-8,
            theta: None,
            equation: String::new(),
        },
        step_s_per_mean_context: 1e-7,
        prefill_s_per_token: 4e-5,
        attention_s_per_token2: 5e-10,
        prefill_s_per_request: 0.0,
        sharing,
        overhead_s: 0.05,
        experts: None,
        floors: None,
        reply_spread: 0.0,
        shared_prefix_tokens: 0.0,
    }
}

/// A profile whose closed forms are deliberately wrong (flat and fast): every figure the
/// simulator reports must come from the server model.
fn profile(server: ServerModel) -> PerfModel {
    PerfModel {
        tpot: TpotModel {
            form: TpotForm::Linear,
            t0_s: 0.001,
            t1_s: 0.0,
            t2_s: 0.0,
            theta: None,
            equation: String::new(),
        },
        ttft: TtftModel {
            form: TtftForm::Flat,
            a0_s: 0.001,
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
        server: Some(server),
        uncertainty: None,
        not_measured: Vec::new(),
        measured_levels: Vec::new(),
    }
}

struct Outcome {
    ttft_s: f64,
    tpot_s: f64,
}

/// Poisson arrivals at `rate` for `requests` requests, the first tenth of the time warm-up.
fn simulate(model: PerfModel, rate: f64, prompt: f64, output: f64, requests: f64) -> Outcome {
    let duration_s = requests / rate;
    let config = SimConfig {
        model,
        endpoint: EndpointSpec::Bedrock {
            quota: None,
            model_max_tokens: 1e9,
            cached_prefix_tokens: 0.0,
        },
        workload: WorkloadSpec::fixed(prompt, output),
        load: Load::Open {
            arrivals: ArrivalProcess::Poisson { rate_per_s: rate },
            duration_s,
        },
        client: ClientPolicy::single_attempt(),
        seed: 3,
        noise: false,
        slo: Slo::default(),
        context_window: 1e12,
        warmup_s: duration_s / 10.0,
    };
    let result = run(&config).expect("a valid configuration");
    Outcome {
        ttft_s: result.ttft_s.mean,
        tpot_s: result.tpot_s.mean,
    }
}

/// The same load step by step, with its own Poisson stream.
fn step_level(model: &ServerModel, rate: f64, prompt: f64, output: f64, requests: f64) -> Outcome {
    let mut rng = StdRng::seed_from_u64(11);
    let mut t = 0.0;
    let times: Vec<f64> = (0..(requests * 1.1) as usize)
        .map(|_| {
            t += -(1.0 - rng.random::<f64>()).ln() / rate;
            t
        })
        .collect();
    let out = open_loop(model, &times, prompt, output, times.len() / 11);
    Outcome {
        ttft_s: out.ttft_s,
        tpot_s: out.tpot_s.expect("replies longer than a token"),
    }
}

/// Chunked prefill at 30 %, 60 % and 80 % of the server's capacity: mean TTFT within 12 % and
/// mean TPOT within 5 % of the step-level server's. Whole prefills within 6 % and 5 %: both
/// servers prefill the prompts waiting at a step boundary as one batch that ends together (the
/// fluid one moves its members' first tokens when a prompt joins). With and without a batch
/// limit, short and long prompts; whole prefills with a limit at 30 % and 60 % only, since at
/// 80 % the slot queue is so near saturation that a 1 % difference in service time doubles
/// the wait.
#[test]
fn fluid_server_agrees_with_the_step_level_server() {
    let mut misses = Vec::new();
    let output = 128.0;
    let requests = 20_000.0;
    for sharing in Sharing::CANDIDATES {
        for max_batch in [None, Some(24.0)] {
            let (loads, ttft_tol, tpot_tol): (&[f64], f64, f64) = match (sharing, max_batch) {
                (Sharing::Whole, None) => (&[0.3, 0.6, 0.8], 0.06, 0.05),
                (Sharing::Whole, Some(_)) => (&[0.3, 0.6], 0.06, 0.05),
                (Sharing::Chunked { .. }, _) => (&[0.3, 0.6, 0.8], 0.12, 0.05),
            };
            let model = server(max_batch, sharing);
            for prompt in [256.0, 4_096.0] {
                let capacity = closed_loop(&model, 64.0, prompt, output).requests_per_s;
                for &load in loads {
                    let rate = load * capacity;
                    let sim = simulate(profile(model.clone()), rate, prompt, output, requests);
                    let step = step_level(&model, rate, prompt, output, requests);
                    let tag = format!("{} B={max_batch:?} p={prompt} at {load}", sharing.label());
                    for (what, got, want, tol) in [
                        ("TTFT", sim.ttft_s, step.ttft_s, ttft_tol),
                        ("TPOT", sim.tpot_s, step.tpot_s, tpot_tol),
                    ] {
                        let err = got / want - 1.0;
                        let line = format!(
                            "{tag}: {what} fluid {got:.4} s, step-level {want:.4} s ({:+.1} %)",
                            err * 100.0
                        );
                        println!("{line}");
                        if err.abs() > tol {
                            misses.push(line);
                        }
                    }
                }
            }
        }
    }
    assert!(misses.is_empty(), "misses:\n{}", misses.join("\n"));
}

/// Past the batch limit a closed loop queues for slots: the batch holds B, and by Little's law
/// on the waiting line the mean wait is `(N − B) / X` with `X` the simulated throughput, so each
/// extra client adds the same wait.
#[test]
fn beyond_the_batch_limit_the_slot_wait_follows_littles_law() {
    let model = server(
        Some(16.0),
        Sharing::Chunked {
            tokens_per_step: 2_048.0,
        },
    );
    let mut waits = Vec::new();
    for n in [32u32, 48, 64] {
        let config = SimConfig {
            model: profile(model.clone()),
            endpoint: EndpointSpec::Bedrock {
                quota: None,
                model_max_tokens: 1e9,
                cached_prefix_tokens: 0.0,
            },
            workload: WorkloadSpec::fixed(500.0, 200.0),
            load: Load::Closed {
                concurrency: n,
                requests: 40_000,
            },
            client: ClientPolicy::single_attempt(),
            seed: 5,
            noise: false,
            slo: Slo::default(),
            context_window: 1e12,
            warmup_s: 0.0,
        };
        let result = run(&config).expect("a valid configuration");
        let x = result.completed as f64 / result.duration_s;
        let little = (f64::from(n) - 16.0) / x;
        let wait = result.queue_wait_s.mean;
        assert!(
            (wait / little - 1.0).abs() < 0.03,
            "N = {n}: mean slot wait {wait:.3} s, Little's law {little:.3} s"
        );
        waits.push(wait);
    }
    let (d1, d2) = (waits[1] - waits[0], waits[2] - waits[1]);
    assert!(
        (d2 / d1 - 1.0).abs() < 0.05,
        "steps {d1:.3} s and {d2:.3} s"
    );
}
