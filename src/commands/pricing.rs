//! `llmcap pricing`: the price catalogs with their sources and dates.

use std::path::Path;

use anyhow::{bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::cli::{PricingAction, PricingArgs};
use crate::cost::catalog::{BedrockCatalog, Catalog};
use crate::cost::catalog_edit::update_bedrock_noting;

/// The catalogs in `dir`; when `dir` does not exist (an installed binary run elsewhere), the
/// built-in ones.
pub fn load_catalog(dir: &Path) -> Result<Catalog> {
    if !dir.exists() {
        return super::plan::load_catalog(None);
    }
    let bedrock_path = dir.join("bedrock.toml");
    let sagemaker_path = dir.join("sagemaker.toml");
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .with_context(|| format!("cannot read price catalog {}", p.display()))
    };
    Ok(Catalog::parse(
        &read(&bedrock_path)?,
        &bedrock_path.display().to_string(),
        &read(&sagemaker_path)?,
        &sagemaker_path.display().to_string(),
    )?)
}

pub fn run(args: &PricingArgs) -> Result<()> {
    if let Some(PricingAction::Import(import)) = &args.action {
        let date = crate::files::today_utc();
        if let Some(file) = &import.litellm {
            let add_in_region = import.add_current.then_some(import.region.as_str());
            import_file(
                &args.dir,
                file,
                "LiteLLM model_prices_and_context_window.json",
                import.source.as_deref(),
                add_in_region.map(|region| {
                    format!(
                        "Added by `llmcap pricing import --litellm --add-current --region {region}` \
                         on {date}:\nthe current chat models LiteLLM's file prices in {region} \
                         that the rows above did not hold.\nNames are the ids without the vendor."
                    )
                }),
                |catalog, text, source, date| {
                    crate::cost::import::apply_litellm_import(
                        catalog,
                        text,
                        &crate::cost::import::LiteLlmImport {
                            source,
                            date,
                            add_in_region,
                        },
                    )
                },
            )?;
        }
        if let Some(file) = &import.genai_prices {
            import_file(
                &args.dir,
                file,
                "pydantic genai-prices aws.yml",
                import.source.as_deref(),
                None,
                crate::cost::genai_prices::apply_genai_prices,
            )?;
        }
    }
    let catalog = load_catalog(&args.dir)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "bedrock": catalog.bedrock.model,
                "sagemaker_instances": catalog.sagemaker.instance,
                "sagemaker_serverless": catalog.sagemaker.serverless,
            }))?
        );
        return Ok(());
    }
    println!("{}", bedrock_table(&catalog.bedrock));
    let mut sagemaker = Table::new();
    sagemaker
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(vec!["instance", "region", "$/hour", "date", "source"]);
    for i in &catalog.sagemaker.instance {
        sagemaker.add_row(vec![
            i.instance_type.clone(),
            i.region.clone(),
            format!("{}", i.usd_per_hour),
            i.date.clone(),
            i.source.clone(),
        ]);
    }
    for s in &catalog.sagemaker.serverless {
        sagemaker.add_row(vec![
            format!("serverless {} MB", s.memory_mb),
            s.region.clone(),
            format!(
                "{:.4} ($/s {})",
                s.usd_per_second * 3_600.0,
                s.usd_per_second
            ),
            s.date.clone(),
            s.source.clone(),
        ]);
    }
    println!("Amazon SageMaker\n{sagemaker}");
    Ok(())
}

/// A price pair as `in/out`, or `—` when the row has neither.
fn pair(input: Option<f64>, output: Option<f64>) -> String {
    let one = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v}"));
    if input.is_none() && output.is_none() {
        "—".to_string()
    } else {
        format!("{}/{}", one(input), one(output))
    }
}

/// The Bedrock rows, their sources numbered below the table, and the Reserved tier prices
/// with where they come from.
fn bedrock_table(catalog: &BedrockCatalog) -> String {
    let mut sources: Vec<&str> = Vec::new();
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "model",
        "region · profile",
        "endpoint",
        "standard in/out",
        "priority in/out",
        "flex in/out",
        "batch in/out",
        "cache read/write",
        "legacy",
        "date",
        "src",
    ]);
    for m in &catalog.model {
        let number = match sources.iter().position(|s| *s == m.source) {
            Some(i) => i + 1,
            None => {
                sources.push(&m.source);
                sources.len()
            }
        };
        table.add_row(vec![
            m.model_id.clone(),
            format!("{} · {}", m.region, m.inference_profile),
            m.endpoint.clone(),
            format!("{}/{}", m.input_per_mtok, m.output_per_mtok),
            pair(m.priority_input_per_mtok, m.priority_output_per_mtok),
            pair(m.flex_input_per_mtok, m.flex_output_per_mtok),
            pair(m.batch_input_per_mtok, m.batch_output_per_mtok),
            pair(m.cache_read_per_mtok, m.cache_write_per_mtok),
            if m.legacy { "legacy" } else { "" }.to_string(),
            m.date.clone(),
            format!("[{number}]"),
        ]);
    }
    let mut text = format!(
        "Amazon Bedrock, USD per million tokens ({} rows)\n{table}\nsources:\n",
        catalog.model.len()
    );
    for (i, source) in sources.iter().enumerate() {
        text.push_str(&format!("  [{}] {source}\n", i + 1));
    }
    let reserved: Vec<_> = catalog
        .model
        .iter()
        .filter(|m| {
            m.reserved_input_per_ktpm_month.is_some() || m.reserved_output_per_ktpm_month.is_some()
        })
        .collect();
    if !reserved.is_empty() {
        text.push_str("Reserved tier, USD per 1,000 tokens per minute per month (input/output):\n");
        for m in reserved {
            text.push_str(&format!(
                "  {} ({} · {}): {} — {}\n",
                m.model_id,
                m.region,
                m.inference_profile,
                pair(
                    m.reserved_input_per_ktpm_month,
                    m.reserved_output_per_ktpm_month
                ),
                m.reserved_source.as_deref().unwrap_or("no source given")
            ));
        }
    }
    text
}

/// Reads `file` and applies one importer to pricing/bedrock.toml. Every price is checked
/// before anything is written; the file is then rewritten atomically with only the changed
/// values replaced, so its comments and layout stay.
fn import_file(
    dir: &Path,
    file: &Path,
    label: &str,
    source: Option<&str>,
    note: Option<String>,
    apply: impl Fn(
        &mut BedrockCatalog,
        &str,
        &str,
        &str,
    ) -> Result<crate::cost::import::ImportReport, crate::cost::ImportError>,
) -> Result<()> {
    if file.extension().is_some_and(|e| e == "whl") {
        bail!(
            "{} is a wheel (a zip archive); extract the price file from it first, e.g. `unzip -o \
             {} litellm/model_prices_and_context_window_backup.json`, pass that file, and name \
             the package and version with --source",
            file.display(),
            file.display()
        );
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let catalog_path = dir.join("bedrock.toml");
    let origin = catalog_path.display().to_string();
    let current =
        std::fs::read_to_string(&catalog_path).with_context(|| format!("cannot read {origin}"))?;
    let before = BedrockCatalog::parse(&current, &origin)?;
    let mut after = before.clone();
    let source = source.map_or_else(|| format!("{label} ({})", file.display()), str::to_string);
    let report = apply(&mut after, &text, &source, &crate::files::today_utc())
        .with_context(|| format!("{}; {origin} is unchanged", file.display()))?;
    after
        .check(&format!("{origin} as imported from {}", file.display()))
        .with_context(|| format!("{origin} is unchanged"))?;
    let edited = update_bedrock_noting(&current, &origin, &before, &after, note.as_deref())?;
    crate::files::write_atomically(&catalog_path, &edited)?;
    eprintln!(
        "updated {} rows of {origin}, added {}; {} rows not in the file kept their prices: {}",
        report.updated,
        report.added.len(),
        report.unmatched_rows.len(),
        report.unmatched_rows.join(", ")
    );
    if !report.marked_legacy.is_empty() {
        eprintln!(
            "marked legacy (deprecation date passed): {}",
            report.marked_legacy.join(", ")
        );
    }
    Ok(())
}
