//! `llmcap verify`: the scenario's users driven against a live endpoint, beside the plan's
//! simulations of the same run; `--users auto` steps them to the endpoint's knee.

use std::time::Instant;

use anyhow::{anyhow, bail, Result};

use crate::bounds;
use crate::calibrate::prompt::{PromptNonce, TokensPerWord};
use crate::calibrate::record::RequestRecord;
use crate::calibrate::run_dir::RunDir;
use crate::calibrate::runner::probe_prompt_size;
use crate::calibrate::stop::StopSignal;
use crate::calibrate::target::Target;
use crate::cli::{VerifyArgs, VerifyUsers};
use crate::files::write_atomically;
use crate::plan::knee_search::KneeSearch;
use crate::plan::verify::{KneeEstimate, LiveRun, TokenPrice};
use crate::verify::compare::{compare, FitBands, RunFigures, Verdict};
use crate::verify::drive::{drive, Population};
use crate::verify::report::{MeasuredKnee, PlanKnee, StepReport, VerifyReport};
use crate::workload::WorkloadSpec;

/// What the command needs from the scenario, read once.
struct Planned {
    workload: WorkloadSpec,
    context_window: f64,
    seed: u64,
    slo: crate::plan::SloLimits,
    warmup_s: f64,
    knee: KneeEstimate,
    price: Option<TokenPrice>,
}

fn option_error(args: &VerifyArgs, scenario: &crate::plan::scenario::Scenario) -> anyhow::Error {
    anyhow!(
        "{}: no option named `{}`; its options: {}",
        args.scenario.display(),
        args.option,
        scenario
            .option
            .iter()
            .map(|o| o.name())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn plan_side(args: &VerifyArgs) -> Result<Planned> {
    super::plan::read_inputs(Some(&args.scenario), args.catalog.as_deref(), |inputs| {
        let option = inputs
            .scenario
            .option
            .iter()
            .find(|o| o.name() == args.option)
            .ok_or_else(|| option_error(args, inputs.scenario))?;
        let workload = inputs
            .scenario
            .workload_spec()
            .ok_or_else(|| anyhow!("the scenario's workload is unknown"))?;
        let warmup_s = args
            .warmup
            .unwrap_or_else(|| crate::plan::simulate::peak_warmup_s(&workload));
        let context_window = inputs
            .hosting
            .model(option.model())
            .map_err(|e| anyhow!("{e}"))?
            .context_window;
        eprintln!("verify: finding the plan's knee for this endpoint …");
        let knee = crate::plan::verify::knee(
            inputs,
            &args.option,
            &LiveRun {
                users: 1,
                duration_s: args.duration,
                warmup_s,
                instances: args.instances,
                runs: args.runs,
            },
        )?;
        let price = crate::plan::verify::price(inputs, &args.option)?;
        Ok(Planned {
            slo: inputs.scenario.slo.clone(),
            workload,
            context_window,
            seed: inputs.scenario.seed,
            warmup_s,
            knee,
            price,
        })
    })
}

/// The plan's simulations of `users` for the run.
fn simulations(
    args: &VerifyArgs,
    warmup_s: f64,
    users: u32,
) -> Result<(Vec<RunFigures>, FitBands, f64)> {
    super::plan::read_inputs(Some(&args.scenario), args.catalog.as_deref(), |inputs| {
        let s = crate::plan::verify::simulate(
            inputs,
            &args.option,
            &LiveRun {
                users,
                duration_s: args.duration,
                warmup_s,
                instances: args.instances,
                runs: args.runs,
            },
        )?;
        // What the plan expects the run to send, at its 95th percentile, warm-up included.
        let scale = (warmup_s + args.duration) / args.duration.max(1e-9);
        let mut usd: Vec<f64> = s
            .runs
            .iter()
            .map(|r| {
                s.price
                    .as_ref()
                    .map_or(0.0, |p| p.usd(r.input_tokens, r.output_tokens) * scale)
            })
            .collect();
        let expected = crate::stats::quantile(&mut usd, 0.95).unwrap_or(0.0);
        Ok((
            s.runs.iter().map(RunFigures::simulated).collect(),
            FitBands {
                ttft: s.ttft_band,
                tpot: s.tpot_band,
            },
            expected,
        ))
    })
}

fn check_flags(args: &VerifyArgs) -> Result<()> {
    if let VerifyUsers::Fixed(users) = args.users {
        bounds::Range::closed(1.0, 10_000.0, "users").check("--users", f64::from(users))?;
    }
    bounds::RUN_S.check("--duration", args.duration)?;
    bounds::RUN_S.check("--max-duration", args.max_duration)?;
    bounds::DOLLARS.check("--max-cost", args.max_cost)?;
    bounds::REQUEST_TIMEOUT_S.check("--timeout", args.timeout)?;
    bounds::Range::closed(1.0, 200.0, "simulations").check("--runs", f64::from(args.runs))?;
    bounds::Range::closed(1.0, 1_000.0, "instances")
        .check("--instances", f64::from(args.instances))?;
    if let Some(w) = args.warmup {
        bounds::Range::closed(0.0, 3_600.0, "seconds").check("--warmup", w)?;
    }
    Ok(())
}

/// The spend guard before anything is sent: the plan's expected cost of the first population
/// (a search's later ones are metered against the same cap).
fn guard_spend(args: &VerifyArgs, planned: &Planned, expected_usd: f64) -> Result<()> {
    match &planned.price {
        // A fleet bills by the instance-hour while it exists, not by what is sent.
        None => Ok(()),
        Some(price) => {
            eprintln!(
                "spend: the plan expects up to ${expected_usd:.2} for this population (95th percentile of its simulations, warm-up included) at {}; sending stops at --max-cost ${:.2}",
                price.note, args.max_cost
            );
            if expected_usd > args.max_cost && !args.yes {
                bail!(
                    "this run could cost up to ${expected_usd:.2}, above --max-cost {:.2}; lower --users or --duration, raise --max-cost, or pass --yes (the meter still stops sending at --max-cost)",
                    args.max_cost
                );
            }
            Ok(())
        }
    }
}

/// A run's populations so far, from `--resume`'s verify.json, or none.
struct Resumed {
    steps: Vec<StepReport>,
    records: Vec<RequestRecord>,
    spent_usd: f64,
}

/// Opens the run directory: a new one, or with `--resume` the interrupted run in it (the
/// populations verify.json lists, and their records; a population cut short is dropped).
fn open_run(args: &VerifyArgs, warmup_s: f64) -> Result<(RunDir, Resumed)> {
    if !args.resume {
        return Ok((
            RunDir::create(&args.out)?,
            Resumed {
                steps: Vec::new(),
                records: Vec::new(),
                spent_usd: 0.0,
            },
        ));
    }
    let path = args.out.join("verify.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow!(
            "--resume: cannot read {} ({e}); a run writes it after its first population, so there is nothing to resume: run without --resume",
            path.display()
        )
    })?;
    let report: VerifyReport = serde_json::from_str(&text)
        .map_err(|e| anyhow!("--resume: {} is not a verify report: {e}", path.display()))?;
    if let Some(why) = report.mismatch(
        &args.scenario.display().to_string(),
        &args.option,
        warmup_s,
        args.duration,
    ) {
        bail!(
            "--resume: {} cannot be continued with these flags: {why}; pass the run's own, or a new --out",
            args.out.display()
        );
    }
    let records = crate::calibrate::run_dir::read_records(&args.out.join("requests.csv"))?;
    let done = report.steps.len() as u32;
    let (kept, dropped): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| r.level < done);
    eprintln!(
        "verify: resuming {}: {} population(s) kept ({} records){}",
        args.out.display(),
        done,
        kept.len(),
        if dropped.is_empty() {
            String::new()
        } else {
            format!(
                "; {} records of the population cut short dropped, it runs again",
                dropped.len()
            )
        }
    );
    Ok((
        RunDir {
            path: args.out.clone(),
        },
        Resumed {
            steps: report.steps,
            records: kept,
            spent_usd: report.spend_usd.unwrap_or(0.0),
        },
    ))
}

/// The charts of the populations so far: p95 latencies by users, and requests in flight over
/// the run (each population's records on its own clock, laid end to end).
fn write_charts(args: &VerifyArgs, report: &VerifyReport) -> Result<()> {
    use crate::report::charts::verify::{
        InFlightOverTime, Judged, LatencyByUsers, Population, Stretch,
    };
    use crate::verify::compare::{IN_FLIGHT, TPOT_P95, TTFT_P95};
    let judged = |s: &StepReport, name: &str| {
        s.figure(name).map(|f| Judged {
            measured: f.measured,
            simulated: f.simulated,
            low: f.interval[0],
            high: f.interval[1],
        })
    };
    let latency = LatencyByUsers {
        title: format!("{}: p95 latencies measured against the plan", report.option),
        slo_ttft_s: report.slo_ttft_p95_s,
        slo_tpot_s: report.slo_tpot_p95_s,
        populations: report
            .steps
            .iter()
            .filter_map(|s| {
                Some(Population {
                    users: s.users,
                    ttft_p95: judged(s, TTFT_P95)?,
                    tpot_p95: judged(s, TPOT_P95)?,
                })
            })
            .collect(),
    };
    let records = crate::calibrate::run_dir::read_records(&args.out.join("requests.csv"))?;
    let span = report.warmup_s + report.duration_s;
    let mut measured = Vec::new();
    let mut stretches = Vec::new();
    for (i, s) in report.steps.iter().enumerate() {
        let offset = i as f64 * span;
        let own: Vec<RequestRecord> = records
            .iter()
            .filter(|r| r.level == i as u32)
            .cloned()
            .collect();
        measured.extend(
            crate::verify::timeline::in_flight_each_second(&own, span)
                .into_iter()
                .map(|(t, n)| (t + offset, n)),
        );
        if let Some(plan) = judged(s, IN_FLIGHT) {
            stretches.push(Stretch {
                users: s.users,
                from_s: offset + report.warmup_s,
                to_s: offset + span,
                plan,
            });
        }
    }
    let in_flight = InFlightOverTime {
        title: format!(
            "{}: requests in flight, measured against the plan",
            report.option
        ),
        measured,
        stretches,
    };
    let dir = args.out.join("charts");
    crate::report::charts::render(&latency, &dir, "verify_latency")?;
    crate::report::charts::render(&in_flight, &dir, "verify_in_flight")?;
    Ok(())
}

/// Writes verify.json, verify.md and the charts (after every population, so an interrupted
/// run keeps what it measured).
fn write_report(args: &VerifyArgs, report: &VerifyReport) -> Result<String> {
    write_charts(args, report)?;
    let json = serde_json::to_string_pretty(report)?;
    write_atomically(&args.out.join("verify.json"), &json)?;
    write_atomically(
        &args.out.join("verify.md"),
        &crate::report::verify::markdown(report),
    )?;
    Ok(json)
}

pub fn run(args: &VerifyArgs) -> Result<()> {
    check_flags(args)?;
    // The plan side first: a scenario or option that cannot be planned sends nothing.
    let planned = plan_side(args)?;
    let plan_knee = PlanKnee {
        users: planned.knee.knee,
        low: planned.knee.low,
        high: planned.knee.high,
        slow_factor: planned.knee.slow_factor,
        fast_factor: planned.knee.fast_factor,
        at_search_limit: planned.knee.at_limit,
    };
    eprintln!("{}", crate::report::verify::plan_knee_sentence(&plan_knee));
    let (run_dir, resumed) = open_run(args, planned.warmup_s)?;
    let mut search = match args.users {
        VerifyUsers::Fixed(_) => None,
        VerifyUsers::Auto => Some(KneeSearch::from_plan(planned.knee.knee)),
    };
    // A resumed search replays the populations it finished.
    for s in &resumed.steps {
        if let Some(search) = search.as_mut() {
            search.record(s.users, s.holds_slo);
        }
    }
    let mut users = match args.users {
        VerifyUsers::Fixed(users) => resumed.steps.is_empty().then_some(users),
        VerifyUsers::Auto => search.as_ref().and_then(KneeSearch::next),
    };
    let mut sims = match users {
        Some(first) => {
            let s = simulations(args, planned.warmup_s, first)?;
            guard_spend(args, &planned, s.2 + resumed.spent_usd)?;
            Some(s)
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut session = runtime.block_on(Session::open(args, &planned, &run_dir, &resumed))?;
    let started = Instant::now();
    let step_s = planned.warmup_s + args.duration;
    let mut report = VerifyReport {
        scenario: args.scenario.display().to_string(),
        option: args.option.clone(),
        target: session.target.info().target.clone(),
        warmup_s: planned.warmup_s,
        duration_s: args.duration,
        simulated_runs: args.runs,
        slo_ttft_p95_s: planned.slo.ttft_p95_s,
        slo_tpot_p95_s: planned.slo.tpot_p95_s,
        slo_max_error_rate: planned.slo.max_error_rate,
        steps: resumed.steps,
        plan_knee,
        measured_knee: None,
        stopped: None,
        spend_usd: None,
        in_progress: true,
    };
    while let Some(u) = users {
        if session.stop.reason().is_some() {
            break;
        }
        if started.elapsed().as_secs_f64() + step_s > args.max_duration && !report.steps.is_empty()
        {
            session.stop.trigger(format!(
                "--max-duration {:.0} s: the next population ({u} users) would end after it",
                args.max_duration
            ));
            break;
        }
        let (simulated, bands, _) = match sims.take() {
            Some(s) => s,
            None => simulations(args, planned.warmup_s, u)?,
        };
        let step = report.steps.len() as u32;
        let records = runtime.block_on(session.drive(args, &planned, step, u))?;
        if session.stop.reason().is_some() {
            // A population cut short says nothing of the whole run; `--resume` drives it again.
            break;
        }
        let measured = RunFigures::measured(&records, planned.warmup_s, args.duration);
        let figures = compare(&measured, &simulated, bands);
        let holds = measured.ttft_p95_s <= planned.slo.ttft_p95_s
            && measured.tpot_p95_s <= planned.slo.tpot_p95_s
            && measured.error_rate <= planned.slo.max_error_rate
            && measured.requests > 0;
        eprintln!(
            "verify: {u} users {} the SLO (p95 TTFT {:.3} s, p95 TPOT {:.3} s, errors {})",
            if holds { "held" } else { "broke" },
            measured.ttft_p95_s,
            measured.tpot_p95_s,
            crate::format::percent(measured.error_rate)
        );
        report.steps.push(StepReport {
            users: u,
            requests: measured.requests,
            agrees_with_plan: figures.iter().all(|f| f.verdict == Verdict::Inside),
            measured,
            figures,
            holds_slo: holds,
        });
        report.spend_usd = planned.price.as_ref().map(|_| session.spent_usd);
        write_report(args, &report)?;
        users = search.as_mut().and_then(|s| {
            s.record(u, holds);
            s.next()
        });
    }
    report.measured_knee = search
        .as_ref()
        .filter(|_| !report.steps.is_empty())
        .map(|s| {
            let (held, _) = s.knee();
            MeasuredKnee::judge(held, s.broke, &plan_knee)
        });
    report.stopped = session.stop.reason();
    report.spend_usd = planned.price.as_ref().map(|_| session.spent_usd);
    report.in_progress = false;
    let json = write_report(args, &report)?;
    if args.json {
        println!("{json}");
    } else {
        print!("{}", crate::report::verify::terminal(&report, &args.out));
    }
    Ok(())
}

/// The connection and what every population shares: prompt sizing, the stop signal, the
/// records file and the spend so far.
struct Session {
    target: std::sync::Arc<dyn Target>,
    sizing: TokensPerWord,
    nonce: PromptNonce,
    stop: StopSignal,
    appender: crate::calibrate::run_dir::Appender,
    spent_usd: f64,
    interrupt: tokio::task::JoinHandle<()>,
}

impl Session {
    async fn open(
        args: &VerifyArgs,
        planned: &Planned,
        run_dir: &RunDir,
        resumed: &Resumed,
    ) -> Result<Session> {
        let most = match args.users {
            VerifyUsers::Fixed(u) => u,
            VerifyUsers::Auto => KneeSearch::from_plan(planned.knee.knee).limit,
        };
        let target = super::calibrate::connect(&args.connection, most as usize).await?;
        let nonce = PromptNonce::fresh();
        let mean_prompt = planned.workload.mean_prompt().round().max(1.0) as u32;
        let sizing = probe_prompt_size(
            target.as_ref(),
            &[mean_prompt.min(64), mean_prompt.max(256)],
            args.timeout,
            nonce,
        )
        .await
        .map_err(|reason| anyhow!("{reason}; nothing of the run was sent"))?;
        let stop = StopSignal::new();
        let interrupt = {
            let stop = stop.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("\ninterrupted: no new requests; the records so far are kept");
                    stop.trigger("interrupted (Ctrl-C)");
                }
            })
        };
        Ok(Session {
            target,
            sizing,
            nonce,
            stop,
            appender: run_dir.appender(&resumed.records)?,
            spent_usd: resumed.spent_usd,
            interrupt,
        })
    }

    /// Drives `users` for the warm-up and the duration; every record is appended as it
    /// completes, and the spend metered against --max-cost.
    async fn drive(
        &mut self,
        args: &VerifyArgs,
        planned: &Planned,
        step: u32,
        users: u32,
    ) -> Result<Vec<RequestRecord>> {
        let population = Population {
            step,
            users,
            workload: planned.workload.clone(),
            context_window: planned.context_window,
            warmup_s: planned.warmup_s,
            duration_s: args.duration,
            seed: planned.seed,
            timeout_s: args.timeout,
            sizing: self.sizing,
            nonce: self.nonce,
        };
        eprintln!(
            "verify: {users} users for {:.0} s warm-up + {:.0} s measured against {} ({} simulations beside it)",
            planned.warmup_s,
            args.duration,
            self.target.info().endpoint,
            args.runs
        );
        let mut records = Vec::new();
        let mut write_error = None;
        let (appender, spent, stop) = (&mut self.appender, &mut self.spent_usd, &self.stop);
        drive(population, self.target.clone(), stop.clone(), |record| {
            if let Err(e) = appender.append(&record) {
                write_error.get_or_insert(e);
            }
            if let Some(price) = &planned.price {
                *spent += price.usd(record.input_tokens as f64, record.output_tokens as f64);
                if *spent >= args.max_cost {
                    stop.trigger(format!(
                        "the tokens sent reached --max-cost ${:.2} at {}",
                        args.max_cost, price.note
                    ));
                }
            }
            records.push(record);
        })
        .await;
        if let Some(e) = write_error {
            bail!("{e}");
        }
        Ok(records)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.interrupt.abort();
    }
}
