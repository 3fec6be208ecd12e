//! `llmcap validate`: fit on some levels of a table, predict the others, print the errors.

use anyhow::{bail, Result};
use comfy_table::Table;
use serde::Serialize;

use crate::calibrate::input::{self, Measurements};
use crate::cli::ValidateArgs;
use crate::perf::levels::levels_from_samples;
use crate::perf::predict::Metric;
use crate::perf::server::interval::COVERAGE;
use crate::perf::validate::{validate, Checked, ErrorSummary, HeldOutLevel, Selection};
use crate::perf::Level;

#[derive(Serialize)]
struct Output<'a> {
    input: String,
    fitted_on: Vec<[f64; 2]>,
    max_batch: Option<f64>,
    sharing: Option<String>,
    held_out: &'a [HeldOutLevel],
    tpot: Option<ErrorSummary>,
    ttft: Option<ErrorSummary>,
    /// Figures the fitted levels did not measure ("tpot", "ttft").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_measured: Vec<Metric>,
    /// The model served (from `--model` or the file name), and whether its step counts experts.
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    mixture_of_experts: bool,
}

pub fn run(args: &ValidateArgs) -> Result<()> {
    let loaded = input::load(&args.input)?;
    let levels: Vec<Level> = match loaded.measurements {
        Measurements::Medians(levels) => levels,
        Measurements::Requests { samples, .. } => levels_from_samples(&samples)?,
    };
    let selection = Selection {
        concurrency: args.fit_on.clone(),
        prompt_tokens: args.fit_on_prompts.clone(),
    };
    if levels.iter().all(|l| selection.fits_on(l)) {
        bail!(
            "every level of {} is selected for the fit, so none is left to check; \
             choose fewer with --fit-on (concurrency) or --fit-on-prompts (input tokens)",
            args.input.display()
        );
    }
    let served = super::fit::served_by(args.model.as_deref(), &args.hardware, &args.input)?;
    let v = validate(&levels, &selection, super::fit::served_of(served.as_ref()))?;

    let server = v.model.server.as_ref();
    if args.json {
        let out = Output {
            input: args.input.display().to_string(),
            fitted_on: v
                .fitted_on
                .iter()
                .map(|l| [l.concurrency, l.prompt_tokens])
                .collect(),
            max_batch: server.and_then(|s| s.max_batch),
            sharing: server.map(|s| s.sharing.label()),
            held_out: &v.held_out,
            tpot: v.tpot,
            ttft: v.ttft,
            not_measured: v.model.not_measured.clone(),
            model: served.as_ref().map(|s| s.name.clone()),
            mixture_of_experts: served.as_ref().is_some_and(|s| s.experts.is_some()),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} — fitted on {} of {} levels, the rest predicted",
        args.input.display(),
        v.fitted_on.len(),
        levels.len()
    );
    if let Some(s) = &served {
        println!("{}", s.describe());
        println!("{}", s.describe_hardware());
    }
    if server.is_none() {
        println!(
            "model: the closed forms (the server model fitted these levels clearly worse; its candidates are in `llmcap fit --json`); no intervals"
        );
    }
    if let Some(e) = server.and_then(|s| s.experts) {
        println!(
            "mixture of experts: {:.0} routed experts, {:.0} a token; reading all of them adds {:.2} ms to a step",
            e.experts.total,
            e.experts.per_token,
            e.step_s_all_experts * 1e3
        );
    }
    if let Some(s) = server {
        println!(
            "server: {}, batch limit {}, prefill {:.3} ms per 1,000 prompt tokens alone, overhead {:.0} ms",
            s.sharing.label(),
            s.max_batch
                .map(|b| format!("{b:.0} sequences"))
                .unwrap_or_else(|| "none seen".into()),
            s.prefill_s(1_000.0) * 1e3,
            s.overhead_s * 1e3
        );
    }
    for metric in &v.model.not_measured {
        println!(
            "{}: not measured by the fitted levels; the server model predicts it from its priors alone (`llmcap predict` marks it)",
            metric.label()
        );
    }
    println!("{}", table(&v.held_out));
    let held = v
        .held_out
        .iter()
        .flat_map(|l| [l.tpot_s, l.ttft_s])
        .flatten()
        .filter(|c| c.held_to_measurements)
        .count();
    if held > 0 {
        println!(
            "=: {held} figure(s) the model put outside the measurements of the fitted levels around them, held at the nearer one"
        );
    }
    for (name, summary) in [("p50 TPOT", v.tpot), ("p50 TTFT", v.ttft)] {
        if let Some(s) = summary {
            let inside = if server.is_some() {
                format!(
                    "; {} of {} inside the {:.0} % interval",
                    s.inside_interval,
                    s.levels,
                    COVERAGE * 100.0
                )
            } else {
                String::new()
            };
            println!(
                "{name}: median error {:.1} %, worst {:.1} % over {} held-out levels{inside}",
                s.median_abs_error_pct, s.worst_abs_error_pct, s.levels,
            );
        }
    }
    Ok(())
}

fn table(rows: &[HeldOutLevel]) -> Table {
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header(vec![
        "concurrency",
        "prompt",
        "output",
        "TPOT measured",
        "TPOT predicted (90 %)",
        "error",
        "TTFT measured",
        "TTFT predicted (90 %)",
        "error",
    ]);
    let cells = |c: Option<Checked>, unit: &str, scale: f64| -> [String; 3] {
        let f = |x: f64| {
            let x = x * scale;
            if x < 1.0 {
                format!("{x:.3}")
            } else if x < 10.0 {
                format!("{x:.2}")
            } else {
                format!("{x:.1}")
            }
        };
        match c {
            None => ["–".into(), "–".into(), "–".into()],
            Some(c) => [
                format!("{} {unit}", f(c.measured)),
                match c.interval {
                    Some(b) if b.identified() => {
                        format!("{} ({}–{})", f(c.predicted), f(b.low), f(b.high))
                    }
                    Some(_) => format!(
                        "{} (not identified from these measurements)",
                        f(c.predicted)
                    ),
                    None => f(c.predicted),
                },
                format!(
                    "{:+.1} %{}{}",
                    c.error_pct,
                    if c.held_to_measurements { " =" } else { "" },
                    if c.inside() == Some(false) { " !" } else { "" }
                ),
            ],
        }
    };
    for r in rows {
        let mut row = vec![
            format!("{}", r.concurrency),
            format!("{}", r.prompt_tokens),
            format!("{}", r.output_tokens),
        ];
        row.extend(cells(r.tpot_s, "ms", 1e3));
        row.extend(cells(r.ttft_s, "s", 1.0));
        t.add_row(row);
    }
    t
}
