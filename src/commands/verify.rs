//! `llmcap verify`: the scenario's users driven against a live endpoint, beside the plan's
//! simulations of the same run.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::{Deserialize, Serialize};

use crate::bounds;
use crate::calibrate::prompt::PromptNonce;
use crate::calibrate::record::RequestRecord;
use crate::calibrate::run_dir::RunDir;
use crate::calibrate::runner::probe_prompt_size;
use crate::calibrate::stop::StopSignal;
use crate::cli::VerifyArgs;
use crate::files::write_atomically;
use crate::plan::verify::LiveRun;
use crate::verify::compare::{compare, Figure, FitBands, RunFigures, Verdict};
use crate::verify::drive::{drive, Population};
use crate::workload::WorkloadSpec;

/// What verify.json holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifyReport {
    pub scenario: String,
    pub option: String,
    pub target: String,
    pub users: u32,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub simulated_runs: u32,
    /// Requests measured, and why the run ended early if it did.
    pub requests: u64,
    pub stopped: Option<String>,
    pub measured: RunFigures,
    pub figures: Vec<Figure>,
    pub slo_ttft_p95_s: f64,
    pub slo_tpot_p95_s: f64,
    pub slo_max_error_rate: f64,
    /// The measured run met the SLO at these users.
    pub holds_slo: bool,
    /// Every figure measured fell inside the simulations' 90 % interval.
    pub agrees_with_plan: bool,
}

/// What the command needs from the scenario, read once.
struct Planned {
    workload: WorkloadSpec,
    context_window: f64,
    seed: u64,
    slo: crate::plan::SloLimits,
    warmup_s: f64,
    simulated: Vec<RunFigures>,
    bands: FitBands,
}

fn plan_side(args: &VerifyArgs) -> Result<Planned> {
    super::plan::read_inputs(Some(&args.scenario), args.catalog.as_deref(), |inputs| {
        let option = inputs
            .scenario
            .option
            .iter()
            .find(|o| o.name() == args.option)
            .ok_or_else(|| {
                anyhow!(
                    "{}: no option named `{}`; its options: {}",
                    args.scenario.display(),
                    args.option,
                    inputs
                        .scenario
                        .option
                        .iter()
                        .map(|o| o.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
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
        let runs = crate::plan::verify::simulate(
            inputs,
            &args.option,
            &LiveRun {
                users: args.users,
                duration_s: args.duration,
                warmup_s,
                instances: args.instances,
                runs: args.runs,
            },
        )?;
        Ok(Planned {
            slo: inputs.scenario.slo.clone(),
            workload,
            context_window,
            seed: inputs.scenario.seed,
            warmup_s,
            simulated: runs.runs.iter().map(RunFigures::simulated).collect(),
            bands: FitBands {
                ttft: runs.ttft_band,
                tpot: runs.tpot_band,
            },
        })
    })
}

pub fn run(args: &VerifyArgs) -> Result<()> {
    bounds::Range::closed(1.0, 10_000.0, "users").check("--users", f64::from(args.users))?;
    bounds::RUN_S.check("--duration", args.duration)?;
    bounds::REQUEST_TIMEOUT_S.check("--timeout", args.timeout)?;
    bounds::Range::closed(1.0, 200.0, "simulations").check("--runs", f64::from(args.runs))?;
    bounds::Range::closed(1.0, 1_000.0, "instances")
        .check("--instances", f64::from(args.instances))?;
    if let Some(w) = args.warmup {
        bounds::Range::closed(0.0, 3_600.0, "seconds").check("--warmup", w)?;
    }
    // The plan side first: a scenario or option that cannot be planned sends nothing.
    let planned = plan_side(args)?;
    let warmup_s = planned.warmup_s;
    let run_dir = RunDir::create(&args.out)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (records, stopped, target_name) =
        runtime.block_on(live(args, &planned, warmup_s, &run_dir))?;
    let measured = RunFigures::measured(&records, args.duration);
    let figures = compare(&measured, &planned.simulated, planned.bands);
    let report = VerifyReport {
        scenario: args.scenario.display().to_string(),
        option: args.option.clone(),
        target: target_name,
        users: args.users,
        warmup_s,
        duration_s: args.duration,
        simulated_runs: args.runs,
        requests: measured.requests,
        stopped,
        holds_slo: measured.ttft_p95_s <= planned.slo.ttft_p95_s
            && measured.tpot_p95_s <= planned.slo.tpot_p95_s
            && measured.error_rate <= planned.slo.max_error_rate,
        agrees_with_plan: figures.iter().all(|f| f.verdict == Verdict::Inside),
        slo_ttft_p95_s: planned.slo.ttft_p95_s,
        slo_tpot_p95_s: planned.slo.tpot_p95_s,
        slo_max_error_rate: planned.slo.max_error_rate,
        measured,
        figures,
    };
    let json = serde_json::to_string_pretty(&report)?;
    write_atomically(&args.out.join("verify.json"), &json)?;
    write_atomically(&args.out.join("verify.md"), &markdown(&report))?;
    if args.json {
        println!("{json}");
    } else {
        print!("{}", terminal(&report, &args.out));
    }
    Ok(())
}

/// Drives the users; every record is appended as it completes.
async fn live(
    args: &VerifyArgs,
    planned: &Planned,
    warmup_s: f64,
    run_dir: &RunDir,
) -> Result<(Vec<RequestRecord>, Option<String>, String)> {
    let target = super::calibrate::connect(&args.connection, args.users as usize).await?;
    if target.info().paid_per_token {
        eprintln!(
            "spend: {} bills per token; {} users for {} s send what the workload sends",
            target.info().target,
            args.users,
            warmup_s + args.duration
        );
    }
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
    let mut appender = run_dir.appender(&[])?;
    let mut records = Vec::new();
    let mut write_error = None;
    let population = Population {
        users: args.users,
        workload: planned.workload.clone(),
        context_window: planned.context_window,
        warmup_s,
        duration_s: args.duration,
        seed: planned.seed,
        timeout_s: args.timeout,
        sizing,
        nonce,
    };
    eprintln!(
        "verify: {} users for {:.0} s warm-up + {:.0} s measured against {} ({} simulations beside it)",
        args.users,
        warmup_s,
        args.duration,
        target.info().endpoint,
        args.runs
    );
    drive(population, target.clone(), stop.clone(), |record| {
        if let Err(e) = appender.append(&record) {
            write_error.get_or_insert(e);
        }
        records.push(record);
    })
    .await;
    interrupt.abort();
    if let Some(e) = write_error {
        bail!("{e}");
    }
    Ok((records, stop.reason(), target.info().target.clone()))
}

fn value(name: &str, v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    if name.contains("rate") {
        crate::format::percent(v)
    } else if name.contains("(s)") {
        format!("{v:.3}")
    } else {
        crate::format::thousands(v)
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Inside => "inside",
        Verdict::Above => "above",
        Verdict::Below => "below",
    }
}

fn conclusion(r: &VerifyReport) -> String {
    format!(
        "{} users on `{}`: the SLO (p95 TTFT ≤ {} s, p95 TPOT ≤ {} s, errors ≤ {}) {} as measured (p95 TTFT {:.3} s, p95 TPOT {:.3} s, errors {}); {} the plan's 90 % intervals.",
        r.users,
        r.option,
        r.slo_ttft_p95_s,
        r.slo_tpot_p95_s,
        crate::format::percent(r.slo_max_error_rate),
        if r.holds_slo { "held" } else { "did not hold" },
        r.measured.ttft_p95_s,
        r.measured.tpot_p95_s,
        crate::format::percent(r.measured.error_rate),
        if r.agrees_with_plan {
            "every figure fell inside"
        } else {
            "not every figure fell inside"
        }
    )
}

fn terminal(r: &VerifyReport, out: &Path) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "figure",
        "measured",
        "simulated (median)",
        "90 % interval",
        "verdict",
    ]);
    for f in &r.figures {
        t.add_row(vec![
            f.name.clone(),
            value(&f.name, f.measured),
            value(&f.name, f.simulated),
            format!(
                "{} – {}",
                value(&f.name, f.interval[0]),
                value(&f.name, f.interval[1])
            ),
            verdict_word(f.verdict).to_string(),
        ]);
    }
    format!(
        "{t}\n{}\n{} requests measured{}; written: {}/requests.csv, verify.md, verify.json\n",
        conclusion(r),
        r.requests,
        r.stopped
            .as_ref()
            .map_or(String::new(), |s| format!(" (stopped: {s})")),
        out.display()
    )
}

fn markdown(r: &VerifyReport) -> String {
    let mut md = format!(
        "# Verify: {} at {} users\n\nScenario {}, target {}; {:.0} s warm-up (left out), {:.0} s measured; the plan simulated the same run {} times with different seeds.\n\n{}\n\n| figure | measured | simulated (median) | 90 % interval | verdict |\n| --- | --- | --- | --- | --- |\n",
        r.option,
        r.users,
        r.scenario,
        r.target,
        r.warmup_s,
        r.duration_s,
        r.simulated_runs,
        conclusion(r)
    );
    for f in &r.figures {
        md += &format!(
            "| {} | {} | {} | {} – {} | {} |\n",
            f.name,
            value(&f.name, f.measured),
            value(&f.name, f.simulated),
            value(&f.name, f.interval[0]),
            value(&f.name, f.interval[1]),
            verdict_word(f.verdict)
        );
    }
    md += "\nThe interval is the 5th to 95th percentile of each figure over the simulations (the spread a run of this length shows when the plan's model of the server is right), a latency's widened by the profile's 90 % band for a median at the run's operating point (how far its fit leaves it uncertain). A figure outside says the endpoint differs from the profile, or the run was disturbed.\n";
    md
}
