//! `llmcap pricing`: the price catalogs with their sources and dates.

use std::path::Path;

use anyhow::{Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::cli::{PricingAction, PricingArgs};
use crate::cost::catalog::{BedrockCatalog, Catalog};
use crate::cost::catalog_edit::update_bedrock;

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
        if let Some(file) = &import.litellm {
            import_file(
                &args.dir,
                file,
                "LiteLLM model_prices_and_context_window.json",
                crate::cost::import::apply_litellm,
            )?;
        }
        if let Some(file) = &import.genai_prices {
            import_file(
                &args.dir,
                file,
                "pydantic genai-prices aws.yml",
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
    let mut bedrock = Table::new();
    bedrock.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "model",
        "region",
        "profile",
        "in $/Mtok",
        "out $/Mtok",
        "batch in/out",
        "cache w/r",
        "date",
        "source",
    ]);
    let opt = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v}"));
    for m in &catalog.bedrock.model {
        bedrock.add_row(vec![
            m.model_id.clone(),
            m.region.clone(),
            m.inference_profile.clone(),
            format!("{}", m.input_per_mtok),
            format!("{}", m.output_per_mtok),
            format!(
                "{}/{}",
                opt(m.batch_input_per_mtok),
                opt(m.batch_output_per_mtok)
            ),
            format!(
                "{}/{}",
                opt(m.cache_write_per_mtok),
                opt(m.cache_read_per_mtok)
            ),
            m.date.clone(),
            m.source.clone(),
        ]);
    }
    println!("Amazon Bedrock on-demand\n{bedrock}");
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

/// Reads `file` and applies one importer to pricing/bedrock.toml. Every price is checked
/// before anything is written; the file is then rewritten atomically with only the changed
/// values replaced, so its comments and layout stay.
fn import_file(
    dir: &Path,
    file: &Path,
    label: &str,
    apply: impl Fn(
        &mut BedrockCatalog,
        &str,
        &str,
        &str,
    ) -> Result<crate::cost::import::ImportReport, crate::cost::ImportError>,
) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let catalog_path = dir.join("bedrock.toml");
    let origin = catalog_path.display().to_string();
    let current =
        std::fs::read_to_string(&catalog_path).with_context(|| format!("cannot read {origin}"))?;
    let before = BedrockCatalog::parse(&current, &origin)?;
    let mut after = before.clone();
    let source = format!("{label} ({})", file.display());
    let report = apply(&mut after, &text, &source, &crate::files::today_utc())
        .with_context(|| format!("{}; {origin} is unchanged", file.display()))?;
    after
        .check(&format!("{origin} as imported from {}", file.display()))
        .with_context(|| format!("{origin} is unchanged"))?;
    let edited = update_bedrock(&current, &origin, &before, &after)?;
    crate::files::write_atomically(&catalog_path, &edited)?;
    eprintln!(
        "updated {} rows of {origin}; {} rows not in the file kept their prices: {}",
        report.updated,
        report.unmatched_rows.len(),
        report.unmatched_rows.join(", ")
    );
    Ok(())
}
