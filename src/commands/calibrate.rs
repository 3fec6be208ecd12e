//! `llmcap calibrate`: connect to the target, guard the spend, run the sweep into a run
//! directory, print the level table and fit a profile.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::bounds;
use crate::calibrate::auto::AutoSpec;
use crate::calibrate::manifest::{Counts, Manifest};
use crate::calibrate::plausible;
use crate::calibrate::prompt::{PromptNonce, TokensPerWord};
use crate::calibrate::record::RequestRecord;
use crate::calibrate::run_dir::RunDir;
use crate::calibrate::runner::{probe_prompt_size, run_sweep, SweepInputs};
use crate::calibrate::spend;
use crate::calibrate::stop::StopSignal;
use crate::calibrate::summary::{levels_short_of_successes, summarize};
use crate::calibrate::sweep::{SweepMode, SweepSpec};
use crate::calibrate::target::aws::AwsOptions;
use crate::calibrate::target::bedrock::BedrockTarget;
use crate::calibrate::target::openai::OpenAiTarget;
use crate::calibrate::target::sagemaker::SagemakerTarget;
use crate::calibrate::target::Target;
use crate::cli::{CalibrateArgs, CalibrateTarget, ConnectionArgs, FitArgs};
use crate::files::now_utc_rfc3339;
use crate::report::calibration_table;

pub fn run(args: &CalibrateArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(calibrate(args))
}

fn sweep_from_args(args: &CalibrateArgs) -> Result<SweepSpec> {
    let auto = if args.auto {
        if args.mode != SweepMode::Closed {
            bail!(
                "--auto runs closed-loop levels; drop --mode {:?}",
                args.mode
            );
        }
        if !(1..=4_096).contains(&args.auto_max_concurrency) {
            bail!(
                "--auto-max-concurrency is {}; give 1–4096",
                args.auto_max_concurrency
            );
        }
        if let Some(d) = args.max_duration {
            bounds::RUN_S.check("--max-duration", d)?;
        }
        Some(AutoSpec {
            max_concurrency: args.auto_max_concurrency,
            max_duration_s: args.max_duration,
        })
    } else {
        None
    };
    Ok(SweepSpec {
        mode: args.mode,
        concurrency: match &auto {
            Some(a) => a.doublings(),
            None => args.concurrency.clone(),
        },
        prompt_tokens: args.prompt_tokens.clone(),
        output_tokens: args.output_tokens.clone(),
        requests_per_level: args.requests_per_level,
        warmup_per_level: args.warmup,
        passes: args.passes,
        duration_per_level_s: args.duration_per_level,
        interval_s: args.interval,
        rates: args.rate.clone(),
        arrivals: args.arrivals,
        burstiness: args.burstiness,
        fixed_output: !args.no_fixed_output,
        timeout_s: args.timeout,
        max_error_rate: args.max_error_rate,
        seed: args.seed,
        auto,
    })
}

/// Connects to the endpoint the flags name (calibrate and verify share them).
pub async fn connect(c: &ConnectionArgs, max_connections: usize) -> Result<Arc<dyn Target>> {
    let aws = AwsOptions {
        region: c.region.clone(),
        profile: c.aws_profile.clone(),
        endpoint_url: c.endpoint_url.clone(),
    };
    Ok(match c.target {
        CalibrateTarget::Openai => {
            let url = c.url.as_deref().ok_or_else(|| {
                anyhow!("--target openai needs --url, e.g. http://127.0.0.1:8091")
            })?;
            let key = std::env::var(&c.api_key_env).ok().filter(|k| !k.is_empty());
            Arc::new(OpenAiTarget::connect(url, c.model.clone(), key, max_connections).await?)
        }
        CalibrateTarget::Bedrock => {
            let model = c.model_id.as_deref().ok_or_else(|| {
                anyhow!(
                    "--target bedrock needs --model-id, e.g. us.meta.llama3-3-70b-instruct-v1:0"
                )
            })?;
            Arc::new(BedrockTarget::connect(model, c.api, &aws).await?)
        }
        CalibrateTarget::Sagemaker => {
            let endpoint = c
                .endpoint_name
                .as_deref()
                .ok_or_else(|| anyhow!("--target sagemaker needs --endpoint-name"))?;
            Arc::new(SagemakerTarget::connect(endpoint, c.payload, c.model_id.clone(), &aws).await?)
        }
    })
}

fn default_out(args: &CalibrateArgs) -> PathBuf {
    let stamp: String = now_utc_rfc3339()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let target = format!("{:?}", args.connection.target).to_lowercase();
    PathBuf::from("calibration/runs").join(format!("{target}-{stamp}"))
}

/// The spend guard: Bedrock bills per token, so a sweep has a worst case to show and cap.
fn guard_spend(args: &CalibrateArgs, spec: &SweepSpec, target: &dyn Target) -> Result<()> {
    let info = target.info();
    if !info.paid_per_token {
        if info.target == "sagemaker" {
            eprintln!(
                "spend: a SageMaker endpoint bills per instance-hour while it exists; this run adds \
                 no per-request charge"
            );
        }
        return Ok(());
    }
    let region = info.region.clone().unwrap_or_else(|| "us-east-1".into());
    let catalog = match crate::commands::pricing::load_catalog(&args.pricing_dir) {
        Ok(catalog) => catalog,
        Err(error) if args.yes => {
            eprintln!("spend: no price catalog ({error:#}); running without an estimate (--yes)");
            return Ok(());
        }
        Err(error) => bail!("{error:#}; the spend guard needs it: pass --pricing-dir, or --yes to run without an estimate"),
    };
    let global = info.model_id.starts_with("global.");
    let price = match catalog.bedrock(&info.model_id, &region, global) {
        Ok(price) => price,
        Err(error) if args.yes => {
            eprintln!("spend: {error}; running without an estimate (--yes)");
            return Ok(());
        }
        Err(error) => {
            bail!("{error}; the spend guard cannot price this run: pass --yes to run anyway")
        }
    };
    let estimate = spend::worst_case(spec, price);
    eprintln!(
        "spend: worst case ${:.2} for {} requests ({} input + {} output tokens) at {}",
        estimate.usd,
        estimate.requests,
        estimate.input_tokens,
        estimate.output_tokens,
        estimate.price_note
    );
    Ok(spend::check(&estimate, args.max_cost, args.yes)?)
}

/// The concurrencies measured, ascending.
fn distinct_concurrencies(records: &[RequestRecord]) -> Vec<u32> {
    let mut c: Vec<u32> = records
        .iter()
        .filter(|r| r.is_measured())
        .map(|r| r.concurrency)
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// Per level, the measured requests already recorded (any outcome: a finished request is not
/// repeated, whether it succeeded or not).
fn done_per_level(records: &[RequestRecord]) -> HashMap<u32, u32> {
    let mut done = HashMap::new();
    for r in records.iter().filter(|r| r.is_measured()) {
        *done.entry(r.level).or_insert(0) += 1;
    }
    done
}

async fn calibrate(args: &CalibrateArgs) -> Result<()> {
    bounds::GRACE_S.check("--grace", args.grace)?;
    bounds::DOLLARS.check("--max-cost", args.max_cost)?;
    bounds::REQUEST_TIMEOUT_S.check("--timeout", args.timeout)?;
    let out = args.out.clone().unwrap_or_else(|| default_out(args));
    let out_existed = out.exists();
    let (run_dir, mut manifest, previous, spec) = if args.resume {
        let (run_dir, manifest, previous) = RunDir::open_for_resume(&out)?;
        if manifest.is_complete() {
            bail!("{} is already complete; nothing to resume", out.display());
        }
        if manifest.status == "failed" {
            bail!(
                "{} ran to its end and failed ({}); --resume would send nothing: calibrate \
                 again into a new --out",
                out.display(),
                manifest
                    .stop_reason
                    .as_deref()
                    .unwrap_or("no reason recorded")
            );
        }
        let spec = manifest.sweep.clone();
        spec.check().with_context(|| {
            format!(
                "{}: manifest.json's sweep cannot run; calibrate again into a new --out",
                out.display()
            )
        })?;
        if spec.auto.is_some() {
            let ran: Vec<String> = distinct_concurrencies(&previous)
                .iter()
                .map(u32::to_string)
                .collect();
            bail!(
                "{} chose its levels as it went (--auto) and cannot be resumed; its {} requests                  are kept (`llmcap fit {}` fits them). To measure more, calibrate into a new --out                  with --concurrency {}",
                out.display(),
                previous.len(),
                out.display(),
                ran.join(",")
            );
        }
        eprintln!(
            "resuming {}: {} requests recorded; the sweep comes from its manifest",
            out.display(),
            previous.len()
        );
        (run_dir, Some(manifest), previous, spec)
    } else {
        let spec = sweep_from_args(args)?;
        spec.check()?;
        (RunDir::create(&out)?, None, Vec::new(), spec)
    };
    let max_in_flight = spec.concurrency.iter().copied().max().unwrap_or(1) as usize;
    // Setting up (model discovery, the AWS configuration) is held to the request deadline too:
    // a server that accepts the connection and never answers must not hold the run forever.
    let deadline = Duration::from_secs_f64(spec.timeout_s);
    // A fresh run directory left empty by a target that never answered is removed again.
    let abandon = || {
        if !args.resume && !out_existed {
            let _ = std::fs::remove_dir(&out);
        }
    };
    let target = tokio::time::timeout(deadline, connect(&args.connection, max_in_flight))
        .await
        .map_err(|_| {
            abandon();
            anyhow!(
                "the target did not answer while connecting within --timeout {} s; is the \
                 server up and serving? (nothing was sent)",
                spec.timeout_s,
            )
        })?
        .inspect_err(|_| abandon())?;
    if let Some(m) = &manifest {
        let info = target.info();
        if m.target != info.target || m.model_id != info.model_id {
            bail!(
                "{} was measured on {} {}, not {} {}; pass the same --target and model",
                out.display(),
                m.target,
                m.model_id,
                info.target,
                info.model_id
            );
        }
    }
    guard_spend(args, &spec, target.as_ref())?;

    // A fresh run draws its nonce; a resumed one keeps its manifest's.
    let nonce = match manifest.as_mut() {
        Some(m) => m.session_nonce(),
        None => PromptNonce::fresh(),
    };
    let sizing = match &manifest {
        Some(m) => TokensPerWord::from(m.prompt_sizing),
        None => {
            let sizing =
                probe_prompt_size(target.as_ref(), &spec.prompt_tokens, spec.timeout_s, nonce)
                    .await
                    .map_err(|reason| {
                        abandon();
                        anyhow!(
                        "{reason}; no request of the sweep was sent and no profile is written: \
                         check the target, then calibrate again"
                    )
                    })?;
            if sizing.measured {
                eprintln!(
                    "prompt sizing: {:.2} tokens per word + {:.0} overhead (two probe requests)",
                    sizing.per_word, sizing.overhead
                );
            } else {
                eprintln!(
                    "prompt sizing: the target reported no prompt tokens (or throttled both probes); assuming {:.1} tokens per word",
                    sizing.per_word
                );
            }
            sizing
        }
    };
    let info = target.info().clone();
    let mut manifest = match manifest.take() {
        Some(mut m) => {
            m.sessions += 1;
            m.status = "partial".into();
            m.stop_reason = Some("running".into());
            m
        }
        None => Manifest::new(
            out.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .as_deref()
                .unwrap_or("run"),
            &info,
            &spec,
            sizing,
            nonce,
            now_utc_rfc3339(),
        ),
    };
    manifest.counts = Counts::of(&previous);
    run_dir.write_manifest(&manifest)?;
    eprintln!(
        "calibrating {} {} at {} into {}",
        info.target,
        info.model_id,
        info.endpoint,
        out.display()
    );

    let stop = StopSignal::new();
    let interrupt = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: no new requests; in-flight ones may finish (--grace)");
                stop.trigger("interrupted (Ctrl-C)");
            }
        })
    };
    // Continue the run clock across sessions so times stay increasing.
    let elapsed_before = previous
        .iter()
        .map(|r| r.sent_s + r.e2e_s)
        .fold(0.0, f64::max);
    let now = Instant::now();
    let zero = now
        .checked_sub(Duration::from_secs_f64(elapsed_before + 1.0))
        .unwrap_or(now);
    let appender = run_dir.appender(&previous)?;
    let outcome = run_sweep(
        SweepInputs {
            target,
            spec: spec.clone(),
            sizing,
            nonce,
            done_per_level: done_per_level(&previous),
            first_request_id: previous.iter().map(|r| r.request_id + 1).max().unwrap_or(0),
            zero,
            stop: stop.clone(),
            grace: Duration::from_secs_f64(args.grace),
            show_progress: !args.no_progress,
        },
        appender,
    )
    .await;
    interrupt.abort();
    let outcome = outcome?;

    let mut records = previous;
    records.extend(outcome.records);
    records.sort_by_key(|r| r.request_id);
    let levels = if spec.auto.is_some() {
        outcome.levels.clone()
    } else {
        spec.levels()
    };
    let summaries = summarize(&levels, &records);
    run_dir.write_tables(&records, &summaries)?;
    let complete = outcome.stop_reason.is_none()
        && levels.iter().all(|l| {
            done_per_level(&records).get(&l.index).copied().unwrap_or(0) >= spec.requests_per_level
        });
    // A sweep that ran to the end but left levels without enough successes measured nothing
    // there: the run failed, whatever the error-rate guard said.
    let short = if complete {
        levels_short_of_successes(&levels, &records, spec.requests_per_level)
    } else {
        Vec::new()
    };
    let failed = implausible_replies(&records).or_else(|| {
        (!short.is_empty()).then(|| {
            format!(
                "{} of {} levels have too few successful requests to measure: {}",
                short.len(),
                levels.len(),
                short.join("; ")
            )
        })
    });
    manifest.counts = Counts::of(&records);
    manifest.finished_at = Some(now_utc_rfc3339());
    if spec.auto.is_some() {
        manifest.sweep.concurrency = distinct_concurrencies(&records);
        manifest.knee = outcome.knee.clone();
    }
    manifest.status = match (complete, &failed) {
        (true, None) => "complete",
        (true, Some(_)) => "failed",
        (false, _) => "partial",
    }
    .into();
    manifest.stop_reason = outcome
        .stop_reason
        .clone()
        .or_else(|| failed.clone())
        .or_else(|| (!complete).then(|| outcome.notes.join("; ")));
    run_dir.write_manifest(&manifest)?;

    println!("{}", calibration_table::levels(&summaries));
    let c = manifest.counts;
    println!(
        "requests: {} sent = {} ok + {} failed ({} throttled); {} warm-up, {} cool-down; \
         {} early stops; {} prompt-size mismatches",
        c.sent,
        c.ok,
        c.failed,
        c.throttled,
        c.warmup,
        c.cooldown,
        c.early_stops,
        c.token_mismatches
    );
    for note in &outcome.notes {
        println!("note: {note}");
    }
    if spec.auto.is_some() {
        match &outcome.knee {
            Some(knee) => println!(
                "knee: saturated between c={} and c={}, most likely near c={} ({})",
                knee.below, knee.at, knee.near, knee.reason
            ),
            None => println!(
                "knee: not reached up to c={} (--auto-max-concurrency)",
                distinct_concurrencies(&records)
                    .last()
                    .copied()
                    .unwrap_or(0)
            ),
        }
        if let Some(cut) = &outcome.auto_cut_short {
            println!("note: {cut}");
        }
    }
    if !args.no_fit && c.ok > 0 && failed.is_none() {
        fit_profile(&out, &manifest);
    }
    println!("run: {} ({})", out.display(), manifest.status);
    if let Some(failed) = failed {
        bail!(
            "{failed}. Every finished request is kept in {}; check the target and the flags, \
             then calibrate again into a new --out",
            out.display()
        );
    }
    match outcome.stop_reason {
        Some(reason) => bail!(
            "{reason}; the run is partial with every finished request kept; finish it with \
             `llmcap calibrate --resume --out {}` and the same target flags",
            out.display()
        ),
        None => Ok(()),
    }
}

/// A run in which the endpoint sent a reply no real model could have sent (see
/// [`plausible`]) fails whatever else it measured: the endpoint's counts cannot be trusted, so no
/// profile is fitted from it.
fn implausible_replies(records: &[RequestRecord]) -> Option<String> {
    let bad: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| plausible::is_implausible(&r.error))
        .collect();
    let first = bad.first()?;
    Some(format!(
        "{} of {} replies could not come from a real model (request {}: {}); no profile is \
         fitted from this endpoint",
        bad.len(),
        records.len(),
        first.request_id,
        first.error.chars().take(300).collect::<String>()
    ))
}

/// Fits `profile.toml` into the run directory; a failed fit is reported, not fatal (the
/// records stand on their own).
fn fit_profile(out: &Path, manifest: &Manifest) {
    let fit = FitArgs {
        input: out.to_path_buf(),
        out: Some(out.join("profile.toml")),
        concurrency: None,
        model: None,
        model_id: Some(manifest.model_id.clone()),
        name: Some(format!(
            "{} via {} (calibrated)",
            manifest.model_id, manifest.target
        )),
        source: Some(format!("llmcap calibrate, run {}", out.display())),
        date: Some(manifest.started_at.chars().take(10).collect()),
        target: Some(format!("{} {}", manifest.target, manifest.endpoint)),
        hardware: Default::default(),
        tp: None,
        server: None,
        json: false,
    };
    if let Err(error) = crate::commands::fit::run(&fit) {
        eprintln!("no profile fitted: {error:#}");
    }
}
