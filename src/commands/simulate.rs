//! `llmcap simulate`: a profile and a workload through the discrete-event simulator.

use std::path::Path;
use std::time::Instant;

use crate::bounds::{self, Range};
use crate::sim::config::MAX_INSTANCES;
use anyhow::{anyhow, bail, Context, Result};

use super::sim_watch::run_watched;
use super::units::{parse_duration_s, parse_rate_per_s};
use crate::cli::SimulateArgs;
use crate::files::{load_profile, write_atomically};
use crate::quota::{MantleLimits, Quota, QuotaLimits};
use crate::report::tables;
use crate::sim::config::MAX_USERS;
use crate::sim::sagemaker::{Autoscaling, FleetConfig, Router, ScalingMetric};
use crate::sim::scenario::SimScenario;
use crate::sim::{ClientPolicy, EndpointSpec, Load, SimConfig, SimResult, Slo};
use crate::workload::{profiles, ArrivalProcess, WorkloadSpec};

pub fn run(args: &SimulateArgs) -> Result<()> {
    let config = match &args.scenario {
        Some(path) => from_scenario(path)?,
        None => from_flags(args)?,
    };
    let clock = Instant::now();
    let watched = run_watched(&config, args.progress).context("invalid simulation")?;
    let result = watched.result;
    let elapsed = clock.elapsed().as_secs_f64();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        if let Some(reason) = &watched.stopped_by {
            println!(
                "PARTIAL after {:.0} s simulated ({reason}): every figure below covers that part only",
                result.end_s
            );
        }
        print_summary(&config, &result, elapsed);
    }
    if let Some(dir) = &args.out {
        write_outputs(dir, &result)?;
        eprintln!(
            "wrote minutes.csv, minutes.parquet and summary.json in {}{}",
            dir.display(),
            if result.partial { " (partial)" } else { "" }
        );
    }
    match watched.stopped_by {
        Some(reason) => bail!("{reason}; the results printed are partial"),
        None => Ok(()),
    }
}

fn from_scenario(path: &Path) -> Result<SimConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read scenario {}", path.display()))?;
    let scenario = SimScenario::from_toml_str(&text)
        .with_context(|| format!("scenario {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let profile = load_profile(&base.join(&scenario.profile))?;
    let workload = match (&scenario.workload, scenario.custom_workload) {
        (_, Some(custom)) => custom,
        (Some(name), None) => named_workload(name)?,
        (None, None) => bail!(
            "scenario {}: set `workload = \"<name>\"` (see `llmcap workloads`) or a [custom_workload] table",
            path.display()
        ),
    };
    let load = scenario.load;
    Ok(SimConfig {
        model: profile.model,
        endpoint: scenario.endpoint,
        workload,
        load: load.clone(),
        client: scenario.client,
        seed: scenario.seed,
        noise: scenario.noise,
        slo: scenario.slo,
        context_window: scenario.context_window,
        warmup_s: match &load {
            Load::Closed { .. } => 0.0,
            Load::Open {
                arrivals: ArrivalProcess::Trace { .. },
                ..
            } => scenario.warmup_s.unwrap_or(0.0),
            _ => scenario.warmup_s.unwrap_or(DEFAULT_WARMUP_S),
        },
    })
}

/// The context window a simulation from flags gives every request (a scenario sets its own).
const CONTEXT_WINDOW: f64 = 128_000.0;

/// A tokens-per-minute quota that never binds (for an RPM quota given alone).
const UNBOUNDED_TPM: f64 = 1e15;

/// Users and open loads start measuring after this much simulated time unless told otherwise.
const DEFAULT_WARMUP_S: f64 = 60.0;

fn named_workload(name: &str) -> Result<WorkloadSpec> {
    profiles::by_name(name).ok_or_else(|| {
        let names: Vec<String> = profiles::builtin().into_iter().map(|w| w.name).collect();
        anyhow!("unknown workload `{name}`; built in: {}", names.join(", "))
    })
}

fn from_flags(args: &SimulateArgs) -> Result<SimConfig> {
    let profile_path = args
        .profile
        .as_ref()
        .ok_or_else(|| anyhow!("give --profile P.toml (or --scenario F.toml)"))?;
    let profile = load_profile(profile_path)?;
    let duration_s = parse_duration_s(&args.duration)?;
    let (mut workload, load) = match (args.concurrency, args.users, &args.rate) {
        (Some(concurrency), _, _) => {
            bounds::CONCURRENCY.check("--concurrency", f64::from(concurrency))?;
            let prompt = args
                .prompt_tokens
                .ok_or_else(|| anyhow!("closed loop: give --prompt-tokens"))?;
            let output = args
                .output_tokens
                .ok_or_else(|| anyhow!("closed loop: give --output-tokens"))?;
            bounds::PROMPT_TOKENS.check("--prompt-tokens", prompt)?;
            bounds::OUTPUT_TOKENS.check("--output-tokens", output)?;
            if prompt + output > CONTEXT_WINDOW {
                bail!(
                    "--prompt-tokens {prompt} + --output-tokens {output} is more than the \
                     {CONTEXT_WINDOW} tokens of context the simulation gives a request; give \
                     smaller sizes (a scenario file sets context_window)"
                );
            }
            let requests = args
                .requests
                .ok_or_else(|| anyhow!("closed loop: give --requests"))?;
            (
                WorkloadSpec::fixed(prompt, output),
                Load::Closed {
                    concurrency,
                    requests,
                },
            )
        }
        (None, Some(users), _) => (
            named_workload(&args.workload)?,
            Load::Users {
                users: u32::try_from(users)
                    .ok()
                    .filter(|u| *u <= MAX_USERS)
                    .ok_or_else(|| {
                        anyhow!(
                            "--users {users}: more than the limit of {MAX_USERS} users; each \
                             user keeps about 150 bytes of state, so the limit keeps a run under \
                             100 MB: simulate a sample of the users and scale the load"
                        )
                    })?,
                duration_s,
            },
        ),
        (None, None, Some(rate)) => (
            named_workload(&args.workload)?,
            Load::Open {
                arrivals: ArrivalProcess::Poisson {
                    rate_per_s: parse_rate_per_s(rate)?,
                },
                duration_s,
            },
        ),
        (None, None, None) => {
            let Some(path) = &args.trace else {
                bail!("give the load: --users N, --rate R/s, --trace FILE.csv, or --concurrency C with --requests N")
            };
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read trace {}", path.display()))?;
            let times_s = crate::workload::trace::parse_times(&text, &path.display().to_string())?;
            // Traffic runs until the last recorded arrival.
            let duration_s = times_s.last().copied().unwrap_or(0.0) + 1.0;
            (
                named_workload(&args.workload)?,
                Load::Open {
                    arrivals: ArrivalProcess::Trace { times_s },
                    duration_s,
                },
            )
        }
    };
    if let Some(run) = &args.lengths_from {
        let loaded = crate::calibrate::input::load(run)?;
        let crate::calibrate::input::Measurements::Requests { samples, .. } = loaded.measurements
        else {
            bail!(
                "--lengths-from {}: needs per-request records, not a table of medians",
                run.display()
            );
        };
        let max_tokens = workload.classes.first().and_then(|c| c.max_tokens);
        workload.classes = vec![crate::workload::RequestClass::simple(
            crate::workload::LengthDist::Empirical {
                values: samples.iter().map(|s| s.prompt_tokens).collect(),
            },
            crate::workload::LengthDist::Empirical {
                values: samples.iter().map(|s| s.output_tokens).collect(),
            },
            max_tokens,
        )];
    }
    check_flags(args)?;
    if let Some(max_tokens) = args.max_tokens {
        workload
            .classes
            .iter_mut()
            .for_each(|c| c.max_tokens = Some(max_tokens));
    }
    let endpoint = if args.sagemaker {
        EndpointSpec::SageMaker(fleet(args)?)
    } else {
        // An RPM quota alone still binds: TPM is then out of the way, not absent.
        let quota_tpm = match (args.quota_tpm, args.quota_rpm) {
            (None, Some(_)) => Some(UNBOUNDED_TPM),
            (tpm, _) => tpm,
        };
        let mantle = match (args.quota_input_tpm, args.quota_output_tpm) {
            (Some(input_tpm), Some(output_tpm)) => Some(Quota::Mantle(MantleLimits {
                input_tpm,
                output_tpm,
            })),
            _ => None,
        };
        EndpointSpec::Bedrock {
            quota: mantle.or_else(|| {
                quota_tpm.map(|tpm| {
                    Quota::Runtime(QuotaLimits {
                        tpm,
                        rpm: args.quota_rpm,
                        tpd: None,
                        output_burndown: 1.0,
                        headroom: 1.0,
                    })
                })
            }),
            model_max_tokens: args.model_max_tokens,
            cached_prefix_tokens: args.cached_prefix_tokens,
        }
    };
    Ok(SimConfig {
        model: profile.model,
        endpoint,
        workload,
        load: load.clone(),
        client: ClientPolicy {
            max_attempts: args.max_attempts,
            timeout_s: args.timeout.as_deref().map(parse_duration_s).transpose()?,
            ..ClientPolicy::default()
        },
        seed: args.seed,
        noise: !args.no_noise,
        slo: Slo::default(),
        context_window: CONTEXT_WINDOW,
        // A closed loop counts every request it was asked for, and a trace every row it holds.
        warmup_s: match load {
            Load::Closed { .. } => 0.0,
            _ if args.trace.is_some() => 0.0,
            _ => parse_duration_s(&args.warmup)?,
        },
    })
}

/// The numeric flags a simulation from flags takes, each in its documented range (the rest
/// of the configuration is checked as a scenario's would be).
fn check_flags(args: &SimulateArgs) -> Result<()> {
    if let Some(m) = args.max_tokens {
        bounds::OUTPUT_TOKENS.check("--max-tokens", m)?;
    }
    bounds::OUTPUT_TOKENS.check("--model-max-tokens", args.model_max_tokens)?;
    Range::closed(0.0, bounds::MAX_PROMPT_TOKENS, "tokens")
        .check("--cached-prefix-tokens", args.cached_prefix_tokens)?;
    for (flag, quota) in [
        ("--quota-tpm", args.quota_tpm),
        ("--quota-rpm", args.quota_rpm),
        ("--quota-input-tpm", args.quota_input_tpm),
        ("--quota-output-tpm", args.quota_output_tpm),
    ] {
        if let Some(q) = quota {
            Range::above(0.0, 1e12, "tokens or requests a minute").check(flag, q)?;
        }
    }
    Range::closed(1.0, 100.0, "attempts").check("--max-attempts", f64::from(args.max_attempts))?;
    if args.sagemaker {
        bounds::CONCURRENCY.check("--slots", f64::from(args.slots))?;
        Range::above(0.0, 1e6, "invocations per instance a minute")
            .check("--target-invocations", args.target_invocations)?;
    }
    Ok(())
}

/// `--instances N` is a fixed fleet; `--instances MIN..MAX` autoscales between them.
fn fleet(args: &SimulateArgs) -> Result<FleetConfig> {
    let parse = |s: &str| -> Result<u32> {
        s.trim().parse().map_err(|_| {
            anyhow!(
                "--instances `{}`: expected N or MIN..MAX, e.g. 1..4",
                args.instances
            )
        })
    };
    let (min, max) = match args.instances.split_once("..") {
        Some((lo, hi)) => (parse(lo)?, parse(hi)?),
        None => {
            let n = parse(&args.instances)?;
            (n, n)
        }
    };
    if min == 0 || min > max || f64::from(max) > MAX_INSTANCES {
        bail!(
            "--instances {}: need 1 ≤ MIN ≤ MAX ≤ {}",
            args.instances,
            crate::format::thousands(MAX_INSTANCES)
        );
    }
    Ok(FleetConfig {
        instance_type: args.instance_type.clone(),
        instances: min,
        slots_per_instance: args.slots,
        router: Router::LeastOutstanding,
        cold_start_s: parse_duration_s(&args.cold_start)?,
        invocation_timeout_s: 60.0,
        autoscaling: (max > min).then_some(Autoscaling {
            metric: ScalingMetric::InvocationsPerInstance,
            target: args.target_invocations,
            min_instances: min,
            max_instances: max,
            scale_out_periods: 3,
            scale_in_periods: 15,
            scale_out_cooldown_s: 300.0,
            scale_in_cooldown_s: 300.0,
        }),
        prefix_cache: false,
    })
}

fn print_summary(config: &SimConfig, r: &SimResult, elapsed_s: f64) {
    println!(
        "workload {} — {} requests resolved in {:.0} s simulated ({:.2} s wall, {:.0} simulated requests/s)",
        config.workload.name,
        r.requests,
        r.end_s,
        elapsed_s,
        r.requests as f64 / elapsed_s.max(1e-9)
    );
    println!("{}", tables::latencies(r));
    println!("{}", tables::outcomes(r));
    if r.partial {
        println!(
            "{} requests were in flight when the run stopped (left out of every figure)",
            r.unfinished
        );
    } else if r.unfinished > 0 {
        println!(
            "{} requests were still in flight a day after sending stopped: the endpoint is overloaded \
             (the profile was fitted up to concurrency {}; this load is far past it)",
            r.unfinished, config.model.range.concurrency[1]
        );
    } else {
        let gap = (r.littles_law.l / r.littles_law.lambda_w - 1.0) * 100.0;
        println!(
            "Little's law: L = {:.3} requests in system, λW = {:.3} ({gap:+.2} %)",
            r.littles_law.l, r.littles_law.lambda_w
        );
    }
}

fn write_outputs(dir: &Path, result: &SimResult) -> Result<()> {
    crate::export::write_table(dir, "minutes", &result.minutes)?;
    write_atomically(
        &dir.join("summary.json"),
        &serde_json::to_string_pretty(result)?,
    )?;
    Ok(())
}
