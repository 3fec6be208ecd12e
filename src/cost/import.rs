//! Refreshing Bedrock rows from LiteLLM's community-kept price file
//! (`model_prices_and_context_window.json`: per-token USD prices keyed by model).

use serde_json::Value;

use super::catalog::BedrockCatalog;
use super::error::ImportError;

/// What an import changed.
#[derive(Debug, Default, PartialEq)]
pub struct ImportReport {
    pub updated: usize,
    pub unmatched_rows: Vec<String>,
}

/// Splits a LiteLLM key such as `bedrock/us-west-2/meta.llama3-3-70b-instruct-v1:0` or
/// `us.anthropic.claude-...` into (region if named, bare model id).
fn key_parts(key: &str) -> (Option<&str>, String) {
    let parts: Vec<&str> = key.split('/').collect();
    let model = parts.last().copied().unwrap_or(key);
    let region = parts
        .iter()
        .find(|p| {
            p.contains('-')
                && p.chars().last().is_some_and(|c| c.is_ascii_digit())
                && !p.contains('.')
        })
        .copied();
    let bare = model
        .trim_start_matches("us.")
        .trim_start_matches("eu.")
        .trim_start_matches("global.")
        .trim_start_matches("apac.");
    (region, bare.to_string())
}

/// USD per token → USD per million tokens, rounded to a nano-dollar so that 7.1e-7 is written
/// as 0.71, not 0.7099999999999999.
fn per_mtok(per_token: f64) -> f64 {
    (per_token * 1e15).round() / 1e9
}

/// Updates on-demand input/output prices of matching rows (same model id; same region when the
/// key names one, else every region), stamping each updated row with `source` and `date`.
pub fn apply_litellm(
    catalog: &mut BedrockCatalog,
    json: &str,
    source: &str,
    date: &str,
) -> Result<ImportReport, ImportError> {
    let root: Value = serde_json::from_str(json).map_err(ImportError::LiteLlmJson)?;
    let entries = root.as_object().ok_or(ImportError::LiteLlmShape)?;
    // Every Bedrock entry is checked before any row changes: one bad price refuses the file.
    let mut priced = Vec::new();
    for (key, entry) in entries {
        let provider = entry
            .get("litellm_provider")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !provider.starts_with("bedrock") {
            continue;
        }
        let (Some(input), Some(output)) = (
            entry.get("input_cost_per_token").and_then(Value::as_f64),
            entry.get("output_cost_per_token").and_then(Value::as_f64),
        ) else {
            continue;
        };
        for (field, value) in [
            ("input_cost_per_token", input),
            ("output_cost_per_token", output),
        ] {
            // Per token, so a price ×1e6 must stay finite too.
            if !(value >= 0.0 && (value * 1e6).is_finite()) {
                return Err(ImportError::BadPrice {
                    entry: key.clone(),
                    field,
                    value,
                });
            }
        }
        priced.push((key, input, output));
    }
    let mut report = ImportReport::default();
    let mut touched = vec![false; catalog.model.len()];
    for (key, input, output) in priced {
        let (region, model) = key_parts(key);
        for (i, row) in catalog.model.iter_mut().enumerate() {
            if row.model_id == model
                && region.is_none_or(|r| r == row.region)
                && row.inference_profile == "regional"
            {
                row.input_per_mtok = per_mtok(input);
                row.output_per_mtok = per_mtok(output);
                row.source = source.to_string();
                row.date = date.to_string();
                touched[i] = true;
            }
        }
    }
    report.updated = touched.iter().filter(|t| **t).count();
    report.unmatched_rows = catalog
        .model
        .iter()
        .zip(&touched)
        .filter(|(_, t)| !**t)
        .map(|(m, _)| format!("{} in {}", m.model_id, m.region))
        .collect();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_matching_rows_from_a_litellm_fixture() {
        let mut catalog: BedrockCatalog =
            toml::from_str(include_str!("../../pricing/bedrock.toml")).unwrap();
        let fixture = r#"{
            "sample_spec": {"litellm_provider": "openai"},
            "bedrock/us-west-2/meta.llama3-3-70b-instruct-v1:0": {"litellm_provider": "bedrock", "input_cost_per_token": 7.1e-7, "output_cost_per_token": 7.3e-7},
            "anthropic.claude-3-5-haiku-20241022-v1:0": {"litellm_provider": "bedrock_converse", "input_cost_per_token": 8e-7, "output_cost_per_token": 4e-6},
            "gpt-4o": {"litellm_provider": "openai", "input_cost_per_token": 2.5e-6, "output_cost_per_token": 1e-5}
        }"#;
        let report = apply_litellm(&mut catalog, fixture, "LiteLLM fixture", "2026-11-24").unwrap();
        // Llama in us-west-2 only; Haiku in both regions.
        assert_eq!(report.updated, 3);
        let llama = |region: &str| {
            catalog
                .model
                .iter()
                .find(|m| m.model_id == "meta.llama3-3-70b-instruct-v1:0" && m.region == region)
                .unwrap()
                .clone()
        };
        assert_eq!(llama("us-west-2").input_per_mtok, 0.71);
        assert_eq!(llama("us-west-2").source, "LiteLLM fixture");
        assert_eq!(llama("us-east-1").input_per_mtok, 0.72);
        let negative = r#"{
            "bedrock/us-west-2/meta.llama3-3-70b-instruct-v1:0": {"litellm_provider": "bedrock", "input_cost_per_token": 7.1e-7, "output_cost_per_token": 7.3e-7},
            "bedrock/us-east-1/acme.model-v1:0": {"litellm_provider": "bedrock", "input_cost_per_token": -1e-6, "output_cost_per_token": 1e-6}
        }"#;
        let before = catalog.clone();
        let error = apply_litellm(&mut catalog, negative, "s", "d")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("bedrock/us-east-1/acme.model-v1:0")
                && error.contains("input_cost_per_token"),
            "{error}"
        );
        assert_eq!(catalog, before, "no row changes when any entry is refused");
        assert!(apply_litellm(&mut catalog, "[1,2]", "s", "d")
            .unwrap_err()
            .to_string()
            .contains("object keyed by model"));
    }
}
