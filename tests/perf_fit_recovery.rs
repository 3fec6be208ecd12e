//! The fit recovers known parameters from synthetic data drawn from the model itself.

use llmcap::perf::fit::fit_samples;
use llmcap::perf::model::{held_context, TpotForm, TpotModel, TtftForm, TtftModel};
use llmcap::perf::noise::NoiseModel;
use llmcap::perf::{FitRange, PerfModel, Sample};
use rand::SeedableRng;

fn truth() -> PerfModel {
    let noise = |sigma0, per_request| NoiseModel {
        sigma0,
        sigma_per_request: per_request,
        spike_probability: 0.01,
        spike_factor: 4.0,
        source: "synthetic".into(),
    };
    PerfModel {
        tpot: TpotModel {
            form: TpotForm::Queue,
            t0_s: 0.008,
            t1_s: 4e-5,
            t2_s: 2e-8,
            theta: Some(4e5),
            equation: String::new(),
        },
        ttft: TtftModel {
            form: TtftForm::ConcurrencyPower,
            a0_s: 0.2,
            a1_s: 1e-4,
            a2: 0.6,
            gamma: Some(1.5),
            equation: String::new(),
        },
        tpot_noise: noise(0.05, 0.002),
        ttft_noise: noise(0.08, 0.001),
        range: FitRange {
            concurrency: [1.0, 48.0],
            prompt_tokens: [128.0, 6144.0],
            output_tokens: [256.0, 256.0],
        },
        server: None,
        uncertainty: None,
        not_measured: Vec::new(),
        measured_levels: Vec::new(),
    }
}

fn draw(model: &PerfModel, per_level: usize, seed: u64) -> Vec<Sample> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut samples = Vec::new();
    for prompt in [128.0, 2048.0, 6144.0] {
        for concurrency in [1.0, 4.0, 8.0, 16.0, 24.0, 32.0, 40.0, 48.0] {
            let output = 256.0;
            let tpot = model
                .tpot
                .median_s(concurrency, held_context(concurrency, prompt, output));
            let ttft = model.ttft.median_s(concurrency, prompt);
            let tpot_dist = model.tpot_noise.at(tpot, concurrency);
            let ttft_dist = model.ttft_noise.at(ttft, concurrency);
            for _ in 0..per_level {
                samples.push(Sample {
                    concurrency,
                    nominal_prompt_tokens: prompt,
                    prompt_tokens: prompt,
                    output_tokens: output,
                    ttft_s: ttft_dist.sample(&mut rng),
                    tpot_s: Some(tpot_dist.sample(&mut rng)),
                    cached_tokens: 0.0,
                });
            }
        }
    }
    samples
}

fn within(name: &str, fitted: f64, truth: f64, tolerance: f64) {
    let error = (fitted / truth - 1.0).abs();
    assert!(
        error <= tolerance,
        "{name}: fitted {fitted:.6e}, truth {truth:.6e}, off by {:.2} %",
        error * 100.0
    );
}

#[test]
fn recovers_known_parameters_within_3_percent_at_1000_samples_per_level() {
    let truth = truth();
    // SEED=n re-runs the check on another draw.
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    let report = fit_samples(&draw(&truth, 1000, seed), Default::default()).unwrap();
    let fitted = &report.model;
    assert_eq!(
        fitted.tpot.form,
        TpotForm::Queue,
        "candidates: {:?}",
        report.candidates
    );
    assert_eq!(
        fitted.ttft.form,
        TtftForm::ConcurrencyPower,
        "candidates: {:?}",
        report.candidates
    );
    within("t0", fitted.tpot.t0_s, truth.tpot.t0_s, 0.03);
    within("t1", fitted.tpot.t1_s, truth.tpot.t1_s, 0.03);
    within("t2", fitted.tpot.t2_s, truth.tpot.t2_s, 0.03);
    within(
        "theta",
        fitted.tpot.theta.unwrap(),
        truth.tpot.theta.unwrap(),
        0.03,
    );
    within("a0", fitted.ttft.a0_s, truth.ttft.a0_s, 0.03);
    within("a1", fitted.ttft.a1_s, truth.ttft.a1_s, 0.03);
    within("a2", fitted.ttft.a2, truth.ttft.a2, 0.03);
    within(
        "gamma",
        fitted.ttft.gamma.unwrap(),
        truth.ttft.gamma.unwrap(),
        0.03,
    );
    // The noise is estimated too: spread at both ends of the range, spike rate and size.
    for n in [1.0, 48.0] {
        within(
            "tpot sigma",
            fitted.tpot_noise.sigma(n),
            truth.tpot_noise.sigma(n),
            0.10,
        );
        within(
            "ttft sigma",
            fitted.ttft_noise.sigma(n),
            truth.ttft_noise.sigma(n),
            0.10,
        );
    }
    within(
        "spike probability",
        fitted.tpot_noise.spike_probability,
        0.01,
        0.25,
    );
    within("spike factor", fitted.tpot_noise.spike_factor, 4.0, 0.10);
}

#[test]
fn one_level_only_is_a_clear_error() {
    let samples: Vec<Sample> = draw(&truth(), 20, 1)
        .into_iter()
        .filter(|s| s.concurrency == 8.0)
        .collect();
    let error = fit_samples(&samples, Default::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("only one concurrency level"), "{error}");
}
