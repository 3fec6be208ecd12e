//! `llmcap forecast`: the plan's options month by month over a horizon, with P10/P50/P90 from
//! the scenario's stated uncertainty, the month same-model options cross, and which input moves
//! the cost most. Writes forecast.json, report.html and report.md, charts/ and data/.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::Serialize;

use crate::cli::ForecastArgs;
use crate::export::write_table;
use crate::files::write_atomically;
use crate::forecast::{self, Forecast};
use crate::format::usd;
use crate::report::charts::forecast::{FanSeries, SpendFan, TornadoChart};
use crate::report::charts::render;
use crate::report::document::{Document, Figure, Section, TableBlock};

#[derive(Serialize)]
struct MonthRow {
    option: String,
    month: u32,
    p10_usd: f64,
    p50_usd: f64,
    p90_usd: f64,
    mean_usd: f64,
    cumulative_p10_usd: f64,
    cumulative_p50_usd: f64,
    cumulative_p90_usd: f64,
}

#[derive(Serialize)]
struct TornadoRow {
    option: String,
    input: String,
    base_usd: f64,
    at_p10_usd: f64,
    at_p90_usd: f64,
}

pub fn run(args: &ForecastArgs) -> Result<()> {
    let clock = Instant::now();
    crate::files::check_dir(&args.out)?;
    let (mut scenario, plan) =
        super::plan::compute_with_scenario(args.scenario.as_deref(), args.catalog.as_deref())?;
    if let Some(m) = args.months {
        scenario.forecast.months = m;
    }
    if let Some(d) = args.draws {
        scenario.forecast.draws = d;
    }
    if let Err((field, why)) = scenario.forecast.check() {
        anyhow::bail!("{field}: {why}");
    }
    let result = forecast::run(&plan, &scenario.forecast, scenario.seed);
    write_outputs(&result, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", terminal(&result));
        println!(
            "report: {}/report.html (fan and tornado charts), report.md, forecast.json, data/ — finished in {:.1} s",
            args.out.display(),
            clock.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn band_cell(p10: f64, p50: f64, p90: f64) -> String {
    format!("{} ({}–{})", usd(p50), usd(p10), usd(p90))
}

/// Months down, options across: P50 (P10–P90) of each month.
fn months_table(f: &Forecast) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec!["month".to_string()];
    header.extend(f.options.iter().map(|o| o.name.clone()));
    let mut rows: Vec<Vec<String>> = (0..f.months as usize)
        .map(|m| {
            let mut row = vec![format!("{}", m + 1)];
            row.extend(f.options.iter().map(|o| {
                let b = o.monthly[m];
                band_cell(b.p10, b.p50, b.p90)
            }));
            row
        })
        .collect();
    let mut total = vec![format!("{} months", f.months)];
    total.extend(f.options.iter().map(|o| {
        let b = o.cumulative[f.months as usize - 1];
        band_cell(b.p10, b.p50, b.p90)
    }));
    rows.push(total);
    (header, rows)
}

fn crossing_sentences(f: &Forecast) -> Vec<String> {
    f.crossings
        .iter()
        .map(|c| match c.month {
            Some(m) => format!(
                "{}: {} is cheaper at first (P50), {} from month {m} on.",
                c.model, c.cheaper_first, c.cheaper_last
            ),
            None => format!(
                "{}: {} stays cheaper (P50) than {} in every month of the horizon.",
                c.model,
                c.cheaper_first,
                if c.cheaper_first == c.a { &c.b } else { &c.a }
            ),
        })
        .collect()
}

fn quota_sentences(f: &Forecast) -> Vec<String> {
    f.quotas
        .iter()
        .map(|q| crate::forecast::quota_outlook::sentence(q, f.months))
        .collect()
}

fn tornado_sentence(f: &Forecast, option: usize) -> String {
    let t = &f.tornado[option];
    let moves = |b: &&crate::forecast::TornadoBar| {
        (b.at_p90_usd - b.at_p10_usd).abs() > 1e-6 * t.base_usd.abs().max(1.0)
    };
    let still = t.bars.iter().filter(|b| !moves(b)).count();
    let top: Vec<String> = t
        .bars
        .iter()
        .filter(moves)
        .take(3)
        .map(|b| {
            format!(
                "{} ({} to {})",
                b.input,
                usd(b.at_p10_usd.min(b.at_p90_usd)),
                usd(b.at_p10_usd.max(b.at_p90_usd))
            )
        })
        .collect();
    format!(
        "{}: {} over {} months with every input at its median; what moves it most: {}{}.",
        t.option,
        usd(t.base_usd),
        f.months,
        if top.is_empty() {
            "nothing".to_string()
        } else {
            top.join(", ")
        },
        if still > 0 {
            format!(
                " ({still} of the {} inputs do not move it between their P10 and P90)",
                t.bars.len()
            )
        } else {
            String::new()
        }
    )
}

fn terminal(f: &Forecast) -> String {
    let (header, rows) = months_table(f);
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    for r in rows {
        t.add_row(r);
    }
    let mut text = format!(
        "{}: monthly spend, P50 (P10–P90) over {} draws\n{t}\n",
        f.scenario, f.draws
    );
    for s in crossing_sentences(f) {
        text += &format!("{s}\n");
    }
    for s in quota_sentences(f) {
        text += &format!("{s}\n");
    }
    for i in 0..f.tornado.len() {
        text += &format!("{}\n", tornado_sentence(f, i));
    }
    text
}

fn inputs_table(f: &Forecast) -> TableBlock {
    TableBlock {
        caption:
            "The uncertain inputs: each a distribution, drawn together in every Monte Carlo draw."
                .into(),
        header: ["input", "distribution", "P10", "P50", "P90", "source"]
            .map(String::from)
            .to_vec(),
        rows: f
            .inputs
            .iter()
            .map(|i| {
                vec![
                    i.name.clone(),
                    serde_json::to_string(&i.distribution).unwrap_or_default(),
                    format!("{:.3}", i.p10),
                    format!("{:.3}", i.p50),
                    format!("{:.3}", i.p90),
                    i.source.clone(),
                ]
            })
            .collect(),
    }
}

pub(crate) fn write_outputs(f: &Forecast, out: &Path) -> Result<()> {
    crate::files::create_dir(out)?;
    let data = out.join("data");
    let charts = out.join("charts");
    let months: Vec<MonthRow> = f
        .options
        .iter()
        .flat_map(|o| {
            o.monthly
                .iter()
                .zip(&o.cumulative)
                .enumerate()
                .map(|(m, (b, c))| MonthRow {
                    option: o.name.clone(),
                    month: m as u32 + 1,
                    p10_usd: b.p10,
                    p50_usd: b.p50,
                    p90_usd: b.p90,
                    mean_usd: b.mean,
                    cumulative_p10_usd: c.p10,
                    cumulative_p50_usd: c.p50,
                    cumulative_p90_usd: c.p90,
                })
        })
        .collect();
    write_table(&data, "forecast_monthly", &months)?;
    let tornado: Vec<TornadoRow> = f
        .tornado
        .iter()
        .flat_map(|t| {
            t.bars.iter().map(|b| TornadoRow {
                option: t.option.clone(),
                input: b.input.clone(),
                base_usd: t.base_usd,
                at_p10_usd: b.at_p10_usd,
                at_p90_usd: b.at_p90_usd,
            })
        })
        .collect();
    write_table(&data, "tornado", &tornado)?;
    let fan = render(
        &SpendFan {
            title: format!("Monthly spend over {} months: P50 and P10–P90", f.months),
            series: f
                .options
                .iter()
                .map(|o| FanSeries {
                    name: o.name.clone(),
                    months: o.monthly.clone(),
                })
                .collect(),
        },
        &charts,
        "forecast_fan",
    )?;
    let mut figures = vec![Figure {
        title: "Monthly spend per option, P50 with its P10–P90 band.".into(),
        png: fan.png,
        svg: fan.svg,
        reading: crossing_sentences(f).join(" "),
    }];
    for (i, t) in f.tornado.iter().enumerate() {
        let files = render(
            &TornadoChart {
                title: format!("What moves {} months of {}", f.months, t.option),
                base_usd: t.base_usd,
                bars: t.bars.clone(),
            },
            &charts,
            &format!("tornado_{}", i + 1),
        )?;
        figures.push(Figure {
            title: format!("Sensitivity, {}.", t.option),
            png: files.png,
            svg: files.svg,
            reading: tornado_sentence(f, i),
        });
    }
    let (header, rows) = months_table(f);
    let mut notes: Vec<String> = f.assumptions.clone();
    for o in &f.options {
        for n in &o.notes {
            notes.push(format!("{}: {n}", o.name));
        }
    }
    let doc = Document {
        title: format!("Forecast — {}", f.scenario),
        intro: notes,
        sections: vec![Section {
            heading: format!("Monthly spend over {} months", f.months),
            paragraphs: quota_sentences(f),
            figures,
            tables: vec![
                TableBlock {
                    caption: "Each month's spend per option, P50 (P10–P90); the last row is the horizon's total. Exported as data/forecast_monthly.csv and .parquet.".into(),
                    header,
                    rows,
                },
                inputs_table(f),
            ],
        }],
    };
    write_atomically(&out.join("report.md"), &doc.markdown(out))?;
    write_atomically(&out.join("report.html"), &doc.html()?)?;
    write_atomically(
        &out.join("forecast.json"),
        &serde_json::to_string_pretty(f)?,
    )?;
    Ok(())
}
