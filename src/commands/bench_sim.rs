//! `llmcap bench-sim`: how fast the simulator runs and how much memory it holds.

use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::BenchSimArgs;
use crate::perf::Profile;
use crate::quota::QuotaLimits;
use crate::sim::sagemaker::{Autoscaling, FleetConfig, Router, ScalingMetric};
use crate::sim::{ClientPolicy, EndpointSpec, Load, SimConfig, Slo};
use crate::workload::{profiles, ArrivalProcess};

/// The seed 002 profile, built in so the benchmark runs from any directory.
const LLAMA_PROFILE: &str = include_str!("../../models/bedrock-llama3-3-70b-instruct.toml");
/// NVIDIA NIM's published table fitted with the server model (B = 85, whole prefills): the
/// simulator's server-model path.
const NIM_PROFILE: &str = include_str!("../../models/sagemaker-llama3-3-70b-nim-h100.toml");

#[derive(Serialize)]
struct BenchFigures {
    bedrock_requests_per_s: f64,
    sagemaker_requests_per_s: f64,
    sagemaker_server_model_requests_per_s: f64,
    peak_rss_bytes: u64,
    requests: u64,
    bedrock_peak_rss_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    bedrock_10x_requests_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bedrock_10x_peak_rss_bytes: Option<u64>,
}

pub fn run(args: &BenchSimArgs) -> Result<()> {
    let profile = Profile::from_toml_str(LLAMA_PROFILE).context("built-in profile")?;
    let bedrock_rate = time(&bedrock(&profile, args.requests, 1.0))?;
    let bedrock_rss = peak_rss_bytes();
    // The 10x run goes before the SageMaker one, so the high-water mark it reports is its own.
    let (tenfold_rate, tenfold_rss) = if args.quick {
        (None, None)
    } else {
        let rate = time(&bedrock(&profile, args.requests, 10.0))?;
        (Some(rate), Some(peak_rss_bytes()))
    };
    let sagemaker_rate = time(&sagemaker(&profile, args.requests))?;
    let nim = Profile::from_toml_str(NIM_PROFILE).context("built-in NIM profile")?;
    let server_rate = time(&sagemaker(&nim, args.requests))?;
    let figures = BenchFigures {
        bedrock_requests_per_s: bedrock_rate,
        sagemaker_requests_per_s: sagemaker_rate,
        sagemaker_server_model_requests_per_s: server_rate,
        peak_rss_bytes: peak_rss_bytes(),
        requests: args.requests,
        bedrock_peak_rss_bytes: bedrock_rss,
        bedrock_10x_requests_per_s: tenfold_rate,
        bedrock_10x_peak_rss_bytes: tenfold_rss,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        println!(
            "simulator benchmark, one core, {} requests per run",
            args.requests
        );
        println!("  Bedrock (quota, Poisson 100/s, production_traffic_mix): {bedrock_rate:.0} simulated requests/s");
        println!("  SageMaker (Llama 3.3 70B profile, autoscaling 1..20, diurnal): {sagemaker_rate:.0} simulated requests/s");
        println!("  SageMaker, the same with NIM's server-model profile (B = 85, prefill queue): {server_rate:.0} simulated requests/s");
        println!(
            "  peak RSS after the Bedrock run: {:.1} MiB",
            mib(bedrock_rss)
        );
        if let (Some(rate), Some(rss)) = (tenfold_rate, tenfold_rss) {
            println!(
                "  Bedrock with {} requests (10x the rate, same span): {rate:.0} requests/s, peak RSS {:.1} MiB ({:+.1} % vs {} requests)",
                args.requests * 10,
                mib(rss),
                (rss as f64 / bedrock_rss as f64 - 1.0) * 100.0,
                args.requests
            );
        }
    }
    Ok(())
}

fn time(config: &SimConfig) -> Result<f64> {
    let clock = Instant::now();
    let result = crate::sim::run(config)?;
    Ok(result.requests as f64 / clock.elapsed().as_secs_f64())
}

fn base(profile: &Profile, load: Load, endpoint: EndpointSpec) -> SimConfig {
    SimConfig {
        model: profile.model.clone(),
        endpoint,
        workload: profiles::by_name("production_traffic_mix").expect("built in"),
        load,
        client: ClientPolicy::default(),
        seed: 1,
        noise: true,
        slo: Slo::default(),
        context_window: 128_000.0,
        warmup_s: 0.0,
    }
}

/// Open-loop Poisson traffic behind TPM and RPM quotas, on a synthetic large-fleet profile
/// (TPOT 8 ms + 2 µs per request in flight, TTFT 0.3 s + 0.1 ms per prompt token, log-normal
/// spread 0.2 with 0.5 % spikes) so that ten
/// times the rate stays within capacity. The 1x run sends 100 requests/s; the 10x run sends
/// 1,000/s over the same simulated span: memory follows simulated minutes (one summary row each)
/// and requests in flight, never the request count, and this holds the first fixed.
fn bedrock(_profile: &Profile, requests: u64, scale: f64) -> SimConfig {
    let rate = 100.0;
    let mut config = base(
        &large_fleet(),
        Load::Open {
            arrivals: ArrivalProcess::Poisson {
                rate_per_s: rate * scale,
            },
            duration_s: requests as f64 / rate,
        },
        EndpointSpec::Bedrock {
            quota: Some(
                QuotaLimits {
                    tpm: 1e9,
                    rpm: Some(1e6),
                    tpd: None,
                    output_burndown: 1.0,
                    headroom: 1.0,
                }
                .into(),
            ),
            model_max_tokens: 4_096.0,
            cached_prefix_tokens: 0.0,
        },
    );
    config.workload = profiles::by_name("production_traffic_mix").expect("built in");
    config
}

fn large_fleet() -> Profile {
    use crate::perf::model::{TpotForm, TpotModel, TtftForm, TtftModel};
    let mut profile = Profile::from_toml_str(LLAMA_PROFILE).expect("built-in profile");
    profile.model.tpot = TpotModel {
        form: TpotForm::Linear,
        t0_s: 0.008,
        t1_s: 2e-6,
        t2_s: 0.0,
        theta: None,
        equation: TpotForm::Linear.equation().into(),
    };
    profile.model.ttft = TtftModel {
        form: TtftForm::Flat,
        a0_s: 0.3,
        a1_s: 1e-4,
        a2: 0.0,
        gamma: None,
        equation: TtftForm::Flat.equation().into(),
    };
    profile.model.range.concurrency = [1.0, 10_000.0];
    // A fixed spread: the seed 002 spread grows with n and is read only up to 50 requests.
    for noise in [&mut profile.model.tpot_noise, &mut profile.model.ttft_noise] {
        noise.sigma0 = 0.2;
        noise.sigma_per_request = 0.0;
    }
    profile
}

/// A diurnal cycle compressed to six hours so the fleet scales out and in.
fn sagemaker(profile: &Profile, requests: u64) -> SimConfig {
    let rate = 10.0;
    base(
        profile,
        Load::Open {
            arrivals: ArrivalProcess::Diurnal {
                mean_rate_per_s: rate,
                peak_factor: 2.0,
                period_s: 6.0 * 3_600.0,
                peak_at_s: 3.0 * 3_600.0,
            },
            duration_s: requests as f64 / rate,
        },
        EndpointSpec::SageMaker(FleetConfig {
            instance_type: "ml.g5.12xlarge".into(),
            instances: 1,
            slots_per_instance: 16,
            router: Router::LeastOutstanding,
            cold_start_s: 360.0,
            invocation_timeout_s: 60.0,
            autoscaling: Some(Autoscaling {
                metric: ScalingMetric::InvocationsPerInstance,
                target: 150.0,
                min_instances: 1,
                max_instances: 20,
                scale_out_periods: 3,
                scale_in_periods: 15,
                scale_out_cooldown_s: 300.0,
                scale_in_cooldown_s: 300.0,
            }),
            prefix_cache: false,
        }),
    )
}

/// The process's peak resident set (Linux `VmHWM`); 0 where unavailable.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
