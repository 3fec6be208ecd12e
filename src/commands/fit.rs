//! `llmcap fit`: measurements → profile, with the fit's errors per level.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::calibrate::input::{self, Measurements};
use crate::cli::FitArgs;
use crate::cli::HardwareArgs;
use crate::files::{today_utc, writable_file, write_atomically};
use crate::perf::fit::{
    evaluate, fit_levels_of, fit_samples, noise::assumed_for_medians, FitReport,
};
use crate::perf::levels::{distinct_concurrencies, levels_from_samples};
use crate::perf::profile::{MeasuredOn, Provenance};
use crate::perf::server::{Experts, Floors, Served};
use crate::perf::{Level, Profile};
use crate::physics::{Precision, Roofline};
use crate::plan::hosting::HostingCatalog;
use crate::report::tables;

/// The model a fit is for, from `--model` or recognised in the input's file name, and the
/// hardware it ran on where known.
pub struct ServedBy {
    pub name: String,
    pub experts: Option<Experts>,
    /// How it was found, for the reader: "--model" or "the file name".
    pub from: &'static str,
    pub hardware: Option<HardwareOf>,
}

/// The accelerators a table was measured on and the roofline they set.
pub struct HardwareOf {
    pub roofline: Roofline,
    pub accelerator: String,
    /// The precision, unless only assumed (no flag, file name or catalog precision).
    pub precision: Option<Precision>,
    /// How it was found: "--accelerator" or "the file name".
    pub from: &'static str,
    /// How the precision was found.
    pub precision_from: &'static str,
}

impl ServedBy {
    /// One line for the report.
    pub fn describe(&self) -> String {
        let kind = match self.experts {
            Some(e) => format!(
                "a mixture of experts, {:.0} routed experts, {:.0} a token",
                e.total, e.per_token
            ),
            None => "dense".to_string(),
        };
        let hint = if self.from == "--model" {
            ""
        } else {
            "; --model NAME to name another, --model dense for none"
        };
        format!("model: {} ({kind}; from {}{hint})", self.name, self.from)
    }

    /// The hardware line: what ran, how it was found, and the floors it sets.
    pub fn describe_hardware(&self) -> String {
        match &self.hardware {
            Some(h) => {
                let r = &h.roofline;
                format!(
                    "hardware: {:.0} × {} at {} ({} from {}, precision from {}); roofline floors: a step of one sequence ≥ {:.2} ms, prefill ≥ {:.2} µs a prompt token ({} peak {:.0} TFLOP/s, {:.1} TB/s); the fit stays above them",
                    r.count,
                    h.accelerator,
                    r.precision.name(),
                    if r.count > 1.0 { "accelerators" } else { "accelerator" },
                    h.from,
                    h.precision_from,
                    r.decode_step_floor_s(1.0, 0.0) * 1e3,
                    r.prefill_s_per_token() * 1e6,
                    r.arithmetic.name(),
                    r.flops / 1e12,
                    r.bandwidth_bytes_s / 1e12,
                )
            }
            None => "hardware: not known (--accelerator, --count and --precision give the roofline floors under the fit)".to_string(),
        }
    }

    /// What the fit uses.
    pub fn served(&self) -> Served {
        Served {
            experts: self.experts,
            floors: self.hardware.as_ref().map(|h| Floors::of(&h.roofline)),
            shared_prefix_tokens: 0.0,
        }
    }
}

/// What the fit uses of an optional model.
pub fn served_of(served: Option<&ServedBy>) -> Served {
    served.map(ServedBy::served).unwrap_or_default()
}

/// `--model NAME` from the built-in model catalog; without it, the catalog model the input's
/// file name names (a published table is usually named after its model); `--model dense`, or
/// no match, fits a dense step. The hardware likewise from `--accelerator`/`--count`/
/// `--precision` or the file name, when the model's architecture is in the catalog.
pub fn served_by(
    model: Option<&str>,
    hardware: &HardwareArgs,
    input: &Path,
) -> Result<Option<ServedBy>> {
    let catalog = HostingCatalog::builtin();
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (served, from) = match model {
        Some("dense") => return Ok(None),
        Some(name) => (
            catalog.model(name).map_err(|e| {
                anyhow::anyhow!("--model: {}", e.replace("field `model`", "the model"))
            })?,
            "--model",
        ),
        None => match catalog.model_in_name(&stem) {
            Some(m) => (m, "the file name"),
            None => return Ok(None),
        },
    };
    Ok(Some(ServedBy {
        name: served.name.clone(),
        experts: served.routed_experts(),
        from,
        hardware: hardware_of(&catalog, served, hardware, &stem)?,
    }))
}

const DEFAULT_PRECISION: &str = "the default, BF16";

/// The hardware from the flags or the file name, and its roofline for `model`.
pub(crate) fn hardware_of(
    catalog: &HostingCatalog,
    model: &crate::plan::hosting::ServedModel,
    args: &HardwareArgs,
    stem: &str,
) -> Result<Option<HardwareOf>> {
    if args.accelerator.as_deref() == Some("none") {
        return Ok(None);
    }
    let (accelerator, count, from) = match (&args.accelerator, args.count) {
        (Some(name), count) => {
            let a = catalog
                .accelerator(name)
                .map_err(|e| anyhow::anyhow!("--accelerator: {e}"))?;
            (a, count.unwrap_or(1), "--accelerator")
        }
        (None, Some(_)) => bail!("--count needs --accelerator (the accelerator it counts)"),
        (None, None) => match catalog.hardware_in_name(stem) {
            Some((a, n)) => (a, n, "the file name"),
            None => return Ok(None),
        },
    };
    if count == 0 {
        bail!("--count must be at least 1");
    }
    let named = stem.split(['_', '-', '.', ' ']).find_map(Precision::parse);
    let (precision, precision_from) = match (&args.precision, named, model.precision) {
        (Some(p), _, _) => (
            Precision::parse(p).with_context(|| {
                format!("--precision {p:?}: use bf16, fp16, fp8, int8, int4 or fp4")
            })?,
            "--precision",
        ),
        (None, Some(p), _) => (p, "the file name"),
        (None, None, Some(p)) => (p, "the model's released weights"),
        (None, None, None) => (Precision::Bf16, DEFAULT_PRECISION),
    };
    let Some(architecture) = model.architecture() else {
        return Ok(None);
    };
    let roofline = Roofline::new(architecture, accelerator, count, precision)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(HardwareOf {
        roofline,
        accelerator: accelerator.name.clone(),
        precision: (precision_from != DEFAULT_PRECISION).then_some(precision),
        from,
        precision_from,
    }))
}

pub fn run(args: &FitArgs) -> Result<()> {
    // Refuse a --out that cannot be written (a device, a FIFO, a directory) before fitting.
    if let Some(out) = &args.out {
        writable_file(out).context("--out")?;
    }
    let served = served_by(args.model.as_deref(), &args.hardware, &args.input)?;
    let experts = served_of(served.as_ref());
    let loaded = input::load(&args.input)?;
    let selected = |c: f64| {
        args.concurrency
            .as_ref()
            .is_none_or(|list| list.iter().any(|x| (x - c).abs() < 1e-9))
    };
    let (report, held_out_levels, described) = match loaded.measurements {
        Measurements::Medians(levels) => {
            let (train, held): (Vec<Level>, Vec<Level>) = levels
                .iter()
                .cloned()
                .partition(|l| selected(l.concurrency));
            check_selection(&train, &levels, args)?;
            let report = fit_levels_of(
                &train,
                assumed_for_medians("TPOT"),
                assumed_for_medians("TTFT"),
                experts,
            )?;
            (report, held, format!("{} level medians", train.len()))
        }
        Measurements::Requests { samples, skipped } => {
            let all_levels = levels_from_samples(&samples)?;
            let (train, held): (Vec<_>, Vec<_>) =
                samples.into_iter().partition(|s| selected(s.concurrency));
            let train_levels = if train.is_empty() {
                Vec::new()
            } else {
                levels_from_samples(&train)?
            };
            check_selection(&train_levels, &all_levels, args)?;
            let report = fit_samples(&train, experts)?;
            let held_levels = if held.is_empty() {
                Vec::new()
            } else {
                levels_from_samples(&held)?
            };
            let note = format!("{} requests ({skipped} unsuccessful skipped)", train.len());
            (report, held_levels, note)
        }
    };
    let held_out = evaluate(&report.model, &held_out_levels);
    let mut profile = Profile::from_fit(
        model_id(args, loaded.manifest.as_ref())?,
        args.name
            .clone()
            .unwrap_or_else(|| model_name(args, loaded.manifest.as_ref())),
        provenance(args, loaded.manifest.as_ref()),
        &report,
        held_out,
    );
    profile.hardware = measured_on(served.as_ref(), args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&profile)?);
    } else {
        if let Some(s) = &served {
            println!("{}", s.describe());
            println!("{}", s.describe_hardware());
        }
        print_report(&profile, &report, &described);
    }
    if let Some(out) = &args.out {
        let text = format!(
            "# llmcap performance profile, written by `llmcap fit`. Equations: docs/DESIGN.md, \
             \"The performance model\".\n{}",
            profile.to_toml_string()
        );
        write_atomically(out, &text)?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// The profile's [hardware] record: the model and accelerators when both are known.
fn measured_on(served: Option<&ServedBy>, args: &FitArgs) -> Result<Option<MeasuredOn>> {
    let Some((s, h)) = served.and_then(|s| s.hardware.as_ref().map(|h| (s, h))) else {
        if args.tp.is_some() || args.server.is_some() {
            bail!(
                "--tp and --server are recorded with the hardware measured: pass --model (a catalog model with its architecture), --accelerator and --count as well"
            );
        }
        return Ok(None);
    };
    let count = h.roofline.count as u32;
    if let Some(tp) = args.tp {
        MeasuredOn::check_tensor_parallel(tp, count).map_err(|e| anyhow::anyhow!("--tp: {e}"))?;
    }
    Ok(Some(MeasuredOn {
        model: Some(s.name.clone()),
        accelerator: h.accelerator.clone(),
        count,
        precision: h.precision,
        tensor_parallel: args.tp,
        server: args.server.clone(),
    }))
}

fn check_selection(train: &[Level], all: &[Level], args: &FitArgs) -> Result<()> {
    if let Some(list) = &args.concurrency {
        if train.is_empty() {
            let measured: Vec<String> = distinct_concurrencies(all.iter())
                .iter()
                .map(|c| c.to_string())
                .collect();
            bail!(
                "--concurrency {:?} selects no measured level; the input has concurrency {}",
                list,
                measured.join(", ")
            );
        }
    }
    Ok(())
}

fn manifest_text(manifest: Option<&serde_json::Value>, key: &str) -> Option<String> {
    manifest?.get(key)?.as_str().map(str::to_string)
}

fn model_id(args: &FitArgs, manifest: Option<&serde_json::Value>) -> Result<String> {
    match args.model_id.clone().or_else(|| manifest_text(manifest, "model_id")) {
        Some(id) => Ok(id),
        None if args.out.is_some() => bail!(
            "a profile needs the service's model id: pass --model-id (e.g. meta.llama3-3-70b-instruct-v1:0)"
        ),
        None => Ok("unknown".to_string()),
    }
}

fn model_name(args: &FitArgs, manifest: Option<&serde_json::Value>) -> String {
    args.model_id
        .clone()
        .or_else(|| manifest_text(manifest, "model_id"))
        .unwrap_or_else(|| "unnamed profile".into())
}

fn provenance(args: &FitArgs, manifest: Option<&serde_json::Value>) -> Provenance {
    Provenance {
        source: args
            .source
            .clone()
            .unwrap_or_else(|| args.input.display().to_string()),
        date: args
            .date
            .clone()
            .or_else(|| manifest_text(manifest, "started_at"))
            .unwrap_or_else(today_utc),
        target: args
            .target
            .clone()
            .or_else(|| manifest_text(manifest, "target"))
            .unwrap_or_else(|| "unknown".into()),
        method: format!(
            "llmcap {} fit on {} (fitted {})",
            env!("CARGO_PKG_VERSION"),
            today_utc(),
            args.concurrency
                .as_ref()
                .map(|c| format!("concurrency {c:?} only"))
                .unwrap_or_else(|| "all levels".into())
        ),
    }
}

fn print_report(profile: &Profile, report: &FitReport, described: &str) {
    let m = &report.model;
    println!("{} — fitted on {described}", profile.name);
    if let Some(server) = &m.server {
        println!(
            "  server model (what predict, simulate and plan run): {}, {}",
            server
                .max_batch
                .map_or("no batch limit".to_string(), |b| format!(
                    "at most {b:.0} sequences in the batch"
                )),
            server.sharing.label()
        );
        println!(
            "    decode step = {:.3} ms + {:.3e} s/sequence + {:.3e} s/held token + {:.3e} s per token of the mean context",
            server.step.t0_s * 1e3,
            server.step.t1_s,
            server.step.t2_s,
            server.step_s_per_mean_context
        );
        println!(
            "    prefill = {:.3} ms a prompt + {:.3e} s/token + {:.3e} s/token² (attention); overhead {:.3} s",
            server.prefill_s_per_request * 1e3,
            server.prefill_s_per_token,
            server.attention_s_per_token2,
            server.overhead_s
        );
        let readings = server.against_floors();
        if !readings.is_empty() {
            let parts: Vec<String> = readings
                .iter()
                .map(|a| {
                    format!(
                        "{} {} = {:.2} × its floor {}{}",
                        a.parameter,
                        crate::format::seconds_short(a.value),
                        a.value / a.floor,
                        crate::format::seconds_short(a.floor),
                        if a.at_floor() {
                            " (at the floor: the levels ask for faster than the hardware runs)"
                        } else {
                            ""
                        }
                    )
                })
                .collect();
            println!("    against the roofline: {}", parts.join("; "));
            if m.range.prompt_tokens[0] >= 0.95 * m.range.prompt_tokens[1] {
                println!(
                    "    one prompt length: the levels cannot tell a prompt token's cost from the fixed overhead, so the prefill's per-token and attention costs come from the roofline prior (twice their floors, a factor of two either way), not from the levels"
                );
            }
        }
        println!(
            "  closed forms (kept beside it; the model when a profile has no server section):"
        );
    }
    println!("  TPOT form {:?}: {}", m.tpot.form, m.tpot.equation);
    println!(
        "    t0 = {:.3} ms, t1 = {:.3e} s/request, t2 = {:.3e} s/token{}",
        m.tpot.t0_s * 1e3,
        m.tpot.t1_s,
        m.tpot.t2_s,
        m.tpot
            .theta
            .map(|t| format!(", theta = {t:.4e}"))
            .unwrap_or_default()
    );
    println!("  TTFT form {:?}: {}", m.ttft.form, m.ttft.equation);
    println!(
        "    a0 = {:.3} s, a1 = {:.3e} s/token, a2 = {:.3e}{}",
        m.ttft.a0_s,
        m.ttft.a1_s,
        m.ttft.a2,
        m.ttft
            .gamma
            .map(|g| format!(", gamma = {g:.2}"))
            .unwrap_or_default()
    );
    println!("  noise: {}", m.tpot_noise.source);
    println!(
        "  range: concurrency {}–{}, prompt {}–{} tokens, output {}–{} tokens",
        m.range.concurrency[0],
        m.range.concurrency[1],
        m.range.prompt_tokens[0],
        m.range.prompt_tokens[1],
        m.range.output_tokens[0],
        m.range.output_tokens[1]
    );
    let which = if m.server.is_some() {
        "the server model"
    } else {
        "the closed forms"
    };
    println!("\nLevels (in sample): measured vs predicted by {which}");
    println!("{}", tables::level_fits(&report.levels));
    if !report.leave_one_level_out.is_empty() {
        println!(
            "\nLeave one level out, closed forms: each concurrency level predicted by a fit without it \
             (the lowest and highest are extrapolations; forms are chosen on the interior ones){}",
            if m.server.is_some() {
                ". The server model's held-out accuracy: `llmcap validate TABLE --fit-on LEVELS`"
            } else {
                ""
            }
        );
        println!("{}", tables::level_fits(&report.leave_one_level_out));
    }
    if !profile.fit.held_out.is_empty() {
        println!("\nHeld out (measured, not fitted): predicted by this profile");
        println!("{}", tables::level_fits(&profile.fit.held_out));
    }
    println!("\nCandidate closed forms (lowest leave-one-level-out error wins)");
    println!("{}", tables::candidates(&report.candidates));
    if !report.server_candidates.is_empty() {
        println!(
            "\nServer model candidates (lowest corrected error wins; kept unless the closed forms' \
             corrected error is below 1/1.25 of it)"
        );
        println!("{}", tables::server_candidates(&report.server_candidates));
    }
}
