//! `llmcap profile-from-hardware`: a profile from the roofline and the vendor's efficiency, or
//! (`--published`) the efficiencies refitted on published tables with each table's errors from
//! physics alone.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use crate::calibrate::input::{self, Measurements};
use crate::cli::{HardwareArgs, ProfileFromHardwareArgs};
use crate::files::{today_utc, write_atomically};
use crate::perf::fit::noise::assumed_for_medians;
use crate::perf::fit::FitReport;
use crate::perf::model::{TpotForm, TpotModel, TtftForm, TtftModel};
use crate::perf::predict::{FitRange, Metric, PerfModel};
use crate::perf::profile::{MeasuredOn, Provenance};
use crate::perf::server::bench::closed_loop;
use crate::perf::server::from_hardware::{server_from_hardware, ASSUMED_OVERHEAD_S};
use crate::perf::server::interval::Uncertainty;
use crate::perf::server::params::{parameter_names, vector_of, Shape, TPOT_SCATTER};
use crate::perf::server::ServerModel;
use crate::perf::{Level, Profile};
use crate::physics::efficiency::{self, Efficiency, EfficiencyFile, Observation, VendorEfficiency};
use crate::physics::Roofline;
use crate::plan::hosting::HostingCatalog;

pub const BUILTIN_EFFICIENCY: &str = include_str!("../../catalog/efficiency.toml");

/// How far either way a physics-only parameter may be: a factor of two at one standard
/// deviation (log units), so the 90 % interval spans about 3.1× either way.
const PHYSICS_SD: f64 = std::f64::consts::LN_2;

pub fn efficiencies() -> Result<EfficiencyFile> {
    let file: EfficiencyFile = toml::from_str(BUILTIN_EFFICIENCY)
        .map_err(|e| anyhow!("catalog/efficiency.toml: {}", e.to_string().trim_end()))?;
    file.check()
        .map_err(|e| anyhow!("catalog/efficiency.toml: {e}"))?;
    Ok(file)
}

pub fn run(args: &ProfileFromHardwareArgs) -> Result<()> {
    if let Some(dir) = &args.published {
        return published(dir);
    }
    let catalog = HostingCatalog::builtin();
    let name = args.model.as_deref().context("--model is required")?;
    let model = catalog
        .model(name)
        .map_err(|e| anyhow!("--model: {}", e.replace("field `model`", "the model")))?;
    if model.architecture().is_none() {
        bail!(
            "--model {name:?}: catalog/models.toml does not record its architecture (layers, attention_dim, kv_bytes_per_token); add them with their source"
        );
    }
    if !(args.context_tokens.is_finite()
        && args.context_tokens >= 1.0
        && args.context_tokens <= 1e7)
    {
        bail!("--context-tokens must be a number of tokens from 1 to 10,000,000");
    }
    let hardware = HardwareArgs {
        accelerator: args.accelerator.clone(),
        count: Some(args.count),
        precision: args.precision.clone(),
    };
    let of = super::fit::hardware_of(&catalog, model, &hardware, "")?
        .context("--accelerator is required")?;
    if let Some(tp) = args.tp {
        MeasuredOn::check_tensor_parallel(tp, args.count).map_err(|e| anyhow!("--tp: {e}"))?;
    }
    let accelerator = catalog
        .accelerator(&of.accelerator)
        .map_err(|e| anyhow!("{e}"))?;
    if !accelerator.runs(of.roofline.precision) {
        bail!(
            "{} has no {} arithmetic: {} weights are not served on it (catalog/hardware.toml, dense_tflops); choose another --precision",
            accelerator.name,
            of.roofline.precision.name(),
            of.roofline.precision.name()
        );
    }
    let efficiencies = efficiencies()?;
    let row = efficiencies
        .for_vendor(&accelerator.vendor)
        .context("catalog/efficiency.toml has no row for this vendor and no `all` row")?;
    let server = server_from_hardware(&of.roofline, &row.efficiency, args.context_tokens)
        .ok_or_else(|| {
            anyhow!(
                "{} at {} ({:.0} GB of weights) does not fit in {} × {} ({:.0} GB, 90 % usable): use more accelerators (--count) or a narrower --precision",
                model.name,
                of.roofline.precision.name(),
                of.roofline.weights_bytes() / 1e9,
                args.count,
                accelerator.name,
                of.roofline.memory_bytes / 1e9
            )
        })?;
    let profile = profile_of(
        args,
        &model.name,
        &of.roofline,
        &accelerator.name,
        row,
        server,
    );
    print_summary(&profile, row);
    if let Some(out) = &args.out {
        let text = format!(
            "# llmcap performance profile from physics alone (no measurement): roofline × {} efficiency.\n{}",
            row.vendor,
            profile.to_toml_string()
        );
        write_atomically(out, &text)?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

fn profile_of(
    args: &ProfileFromHardwareArgs,
    model_name: &str,
    roofline: &Roofline,
    accelerator: &str,
    row: &VendorEfficiency,
    server: ServerModel,
) -> Profile {
    let e = row.efficiency;
    let b = server.max_batch.unwrap_or(1.0);
    let names: Vec<String> = parameter_names(Shape::of(&server))
        .iter()
        .map(|s| s.to_string())
        .collect();
    let k = vector_of(&server).len();
    let covariance = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| if i == j { PHYSICS_SD * PHYSICS_SD } else { 0.0 })
                .collect()
        })
        .collect();
    let model = PerfModel {
        tpot: TpotModel {
            form: TpotForm::Linear,
            t0_s: server.step.t0_s,
            t1_s: server.step.t1_s,
            t2_s: server.step.t2_s,
            theta: None,
            equation: TpotForm::Linear.equation().into(),
        },
        ttft: TtftModel {
            form: TtftForm::Flat,
            a0_s: server.overhead_s + server.step.t0_s,
            a1_s: server.prefill_s_per_token,
            a2: 0.0,
            gamma: None,
            equation: TtftForm::Flat.equation().into(),
        },
        tpot_noise: assumed_for_medians("TPOT"),
        ttft_noise: assumed_for_medians("TTFT"),
        range: FitRange {
            concurrency: [1.0, b],
            prompt_tokens: [1.0, args.context_tokens],
            output_tokens: [1.0, args.context_tokens],
        },
        uncertainty: Some(Uncertainty {
            parameters: names,
            covariance,
            residual_variance: TPOT_SCATTER * TPOT_SCATTER,
            degrees_of_freedom: 30,
        }),
        server: Some(server),
        not_measured: vec![Metric::Ttft, Metric::Tpot],
        measured_levels: Vec::new(),
    };
    let report = FitReport::of_model(model);
    let mut profile = Profile::from_fit(
        args.model_id.clone().unwrap_or_else(|| model_name.to_string()),
        format!(
            "{model_name} on {:.0} × {accelerator} at {} (from physics, not measured)",
            roofline.count,
            roofline.precision.name()
        ),
        Provenance {
            source: format!(
                "roofline of catalog/hardware.toml and catalog/models.toml × the {} efficiency of catalog/efficiency.toml ({})",
                row.vendor, row.source
            ),
            date: today_utc(),
            target: format!(
                "{model_name} on {:.0} × {accelerator}, {}, chunked prefill, batch limit from memory",
                roofline.count,
                roofline.precision.name()
            ),
            method: format!(
                "llmcap {} profile-from-hardware on {}: bandwidth share {:.3}, {} a layer a step, prefill at {:.0} % of the peak, overhead {} assumed; intervals a factor of two either way; not calibrated",
                env!("CARGO_PKG_VERSION"),
                today_utc(),
                e.bandwidth,
                crate::format::seconds_short(e.layer_s),
                100.0 * e.compute,
                crate::format::seconds_short(ASSUMED_OVERHEAD_S)
            ),
        },
        &report,
        Vec::new(),
    );
    profile.hardware = Some(MeasuredOn {
        model: Some(model_name.to_string()),
        accelerator: accelerator.to_string(),
        count: args.count,
        precision: Some(roofline.precision),
        tensor_parallel: Some(args.tp.unwrap_or(args.count)),
        server: None,
    });
    profile
}

fn print_summary(profile: &Profile, row: &VendorEfficiency) {
    println!("{}", profile.name);
    println!(
        "  from physics alone with the {} efficiency (fitted on {}); nothing measured: calibrate to replace it",
        row.vendor,
        row.tables.join(", ")
    );
    if let Some(s) = &profile.model.server {
        let at = |n: f64, p: f64, o: f64| closed_loop(s, n, p, o);
        for (n, p, o) in [(1.0, 1_024.0, 256.0), (32.0, 1_024.0, 256.0)] {
            let r = at(n, p, o);
            println!(
                "  {n:.0} user(s), {p:.0}-token prompts: TTFT {:.3} s, TPOT {:.1} ms",
                r.ttft_s,
                r.tpot_s.unwrap_or(s.step.t0_s) * 1e3
            );
        }
        println!(
            "  batch limit {:.0} sequences (memory after the weights), intervals a factor of 2 either way",
            s.max_batch.unwrap_or(0.0)
        );
    }
}

/// One published table with known hardware and model.
struct Table {
    name: String,
    vendor: String,
    roofline: Roofline,
    levels: Vec<Level>,
}

fn load_tables(dir: &Path) -> Result<(Vec<Table>, Vec<String>)> {
    let catalog = HostingCatalog::builtin();
    let mut tables = Vec::new();
    let mut skipped = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("--published {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let served = super::fit::served_by(None, &HardwareArgs::default(), &path)?;
        let Some(hardware) = served.and_then(|s| s.hardware) else {
            skipped.push(format!(
                "{name} (no model architecture or hardware in its name)"
            ));
            continue;
        };
        let levels = match input::load(&path)?.measurements {
            Measurements::Medians(levels) => levels,
            Measurements::Requests { .. } => continue,
        };
        let vendor = catalog
            .accelerator(&hardware.accelerator)
            .map(|a| a.vendor.clone())
            .unwrap_or_default();
        tables.push(Table {
            name,
            vendor,
            roofline: hardware.roofline,
            levels,
        });
    }
    Ok((tables, skipped))
}

fn observations(table: &Table) -> Vec<Observation> {
    let b = table
        .roofline
        .max_sequences(4_096.0, 0.9)
        .unwrap_or(256.0)
        .min(256.0);
    table
        .levels
        .iter()
        .filter_map(|l| {
            let n = l.concurrency.min(b);
            l.tpot_s.map(|tpot_s| Observation {
                roofline: table.roofline.clone(),
                concurrency: n,
                held_context: n * (l.prompt_tokens + l.output_tokens / 2.0),
                tpot_s,
            })
        })
        .collect()
}

/// The efficiency of `vendor` fitted on `tables` other than `leave_out`, with the tables used
/// and whether they are every vendor's (the vendor having no other).
fn fitted(
    tables: &[Table],
    vendor: &str,
    leave_out: Option<&str>,
) -> Option<(Efficiency, Vec<String>, bool)> {
    let pick = |same_vendor: bool| -> Vec<&Table> {
        tables
            .iter()
            .filter(|t| Some(t.name.as_str()) != leave_out)
            .filter(|t| !same_vendor || t.vendor == vendor)
            .collect()
    };
    let mut chosen = pick(true);
    let pooled = chosen.is_empty();
    if pooled {
        chosen = pick(false);
    }
    let obs: Vec<Observation> = chosen.iter().flat_map(|t| observations(t)).collect();
    efficiency::fit(&obs).map(|e| (e, chosen.iter().map(|t| t.name.clone()).collect(), pooled))
}

fn published(dir: &Path) -> Result<()> {
    let (tables, skipped) = load_tables(dir)?;
    if tables.is_empty() {
        bail!(
            "--published {}: no table whose file name gives its model and hardware (e.g. nim_llama33_70b_2xh100_fp8_….csv)",
            dir.display()
        );
    }
    let mut vendors: Vec<String> = tables.iter().map(|t| t.vendor.clone()).collect();
    vendors.sort();
    vendors.dedup();
    println!(
        "# efficiencies fitted on {} ({})",
        dir.display(),
        today_utc()
    );
    for vendor in vendors.iter().map(String::as_str).chain(["all"]) {
        let fit = if vendor == "all" {
            let obs: Vec<Observation> = tables.iter().flat_map(observations).collect();
            efficiency::fit(&obs)
                .map(|e| (e, tables.iter().map(|t| t.name.clone()).collect(), true))
        } else {
            fitted(&tables, vendor, None)
        };
        if let Some((e, names, _)) = fit {
            println!(
                "[[vendor]]\nvendor = {vendor:?}\nbandwidth = {:.4}\nlayer_s = {:.3e}\ncompute = {:.2}\ntables = {names:?}\n",
                e.bandwidth, e.layer_s, e.compute
            );
        }
    }
    println!("# each table from physics alone, its own levels left out of its vendor's efficiency");
    println!("# table | efficiency from | lowest level TPOT measured / predicted / error | largest level TPOT | TTFT at the lowest level");
    for t in &tables {
        let Some((e, from, pooled)) = fitted(&tables, &t.vendor, Some(&t.name)) else {
            continue;
        };
        let Some(server) = server_from_hardware(&t.roofline, &e, 4_096.0) else {
            println!("# {}: the weights do not fit", t.name);
            continue;
        };
        let mut levels: Vec<&Level> = t.levels.iter().filter(|l| l.tpot_s.is_some()).collect();
        levels.sort_by(|a, b| {
            a.concurrency
                .total_cmp(&b.concurrency)
                .then(a.prompt_tokens.total_cmp(&b.prompt_tokens))
        });
        let (Some(low), Some(high)) = (
            levels.first(),
            levels
                .iter()
                .max_by(|a, b| a.concurrency.total_cmp(&b.concurrency)),
        ) else {
            continue;
        };
        let at = |l: &Level| closed_loop(&server, l.concurrency, l.prompt_tokens, l.output_tokens);
        let (pl, ph) = (at(low), at(high));
        let err = |p: f64, m: f64| 100.0 * (p / m - 1.0);
        let tpot = |l: &Level, p: f64| {
            let m = l.tpot_s.unwrap_or(f64::NAN);
            format!(
                "c {:.0}: {:.1} / {:.1} ms / {:+.0} %",
                l.concurrency,
                m * 1e3,
                p * 1e3,
                err(p, m)
            )
        };
        let ttft = low
            .ttft_s
            .map(|m| {
                format!(
                    "{:.3} / {:.3} s / {:+.0} %",
                    m,
                    pl.ttft_s,
                    err(pl.ttft_s, m)
                )
            })
            .unwrap_or_else(|| "not measured".into());
        println!(
            "# {} | {} | {} | {} | {}",
            t.name,
            if pooled {
                "all other tables (no other of its vendor)".to_string()
            } else {
                format!("{} other {} table(s)", from.len(), t.vendor)
            },
            tpot(low, pl.tpot_s.unwrap_or(f64::NAN)),
            tpot(high, ph.tpot_s.unwrap_or(f64::NAN)),
            ttft
        );
    }
    for s in skipped {
        println!("# skipped: {s}");
    }
    Ok(())
}
