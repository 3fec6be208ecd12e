//! Refreshing Bedrock rows from pydantic's community-kept genai-prices file for AWS
//! (`prices/providers/aws.yml`): models with `match` rules and prices in USD per million tokens.
//!
//! A price may be a number or `{base, tiers}` (the base tier is taken: planners price typical
//! requests, below the long-context tiers); `prices` may be one set or a list of sets with
//! `constraint.start_date` (the latest set already in force on `today` is taken).

use serde_json::Value;

use super::catalog::BedrockCatalog;
use super::error::ImportError;
use super::import::ImportReport;

/// Does a genai-prices `match` clause accept `model_id`?
fn matches(clause: &Value, model_id: &str) -> bool {
    let text = |key: &str| clause.get(key).and_then(Value::as_str);
    if let Some(s) = text("equals") {
        return model_id == s;
    }
    if let Some(s) = text("contains") {
        return model_id.contains(s);
    }
    if let Some(s) = text("starts_with") {
        return model_id.starts_with(s);
    }
    if let Some(s) = text("ends_with") {
        return model_id.ends_with(s);
    }
    if let Some(any) = clause.get("or").and_then(Value::as_array) {
        return any.iter().any(|c| matches(c, model_id));
    }
    if let Some(all) = clause.get("and").and_then(Value::as_array) {
        return all.iter().all(|c| matches(c, model_id));
    }
    false
}

/// A number, or the base of a tiered price.
fn price(value: Option<&Value>) -> Option<f64> {
    let value = value?;
    value
        .as_f64()
        .or_else(|| value.get("base").and_then(Value::as_f64))
}

/// The price set in force on `today`.
fn prices_in_force<'a>(prices: &'a Value, today: &str) -> Option<&'a Value> {
    match prices {
        Value::Object(_) => Some(prices),
        Value::Array(sets) => sets
            .iter()
            .rfind(|set| {
                set.pointer("/constraint/start_date")
                    .and_then(Value::as_str)
                    .is_none_or(|start| start <= today)
            })
            .and_then(|set| set.get("prices")),
        _ => None,
    }
}

/// Updates matching rows' on-demand and cache prices, stamping each with `source` and the
/// model's `prices_checked` date (else `today`). Rows the file does not match keep theirs.
pub fn apply_genai_prices(
    catalog: &mut BedrockCatalog,
    yaml: &str,
    source: &str,
    today: &str,
) -> Result<ImportReport, ImportError> {
    let root: Value = serde_yaml_ng::from_str(yaml).map_err(ImportError::GenaiYaml)?;
    let models = root
        .get("models")
        .and_then(Value::as_array)
        .ok_or(ImportError::GenaiShape)?;
    let mut report = ImportReport::default();
    for row in &mut catalog.model {
        // Global cross-region profiles are priced under their `global.` id.
        let id = if row.inference_profile == "global" {
            format!("global.{}", row.model_id)
        } else {
            row.model_id.clone()
        };
        let found = models.iter().find(|m| {
            m.get("match").is_some_and(|c| matches(c, &id))
                || m.get("id").and_then(Value::as_str) == Some(id.as_str())
        });
        let Some(model) = found else {
            report
                .unmatched_rows
                .push(format!("{} ({})", row.model_id, row.region));
            continue;
        };
        let name = model.get("id").and_then(Value::as_str).unwrap_or("?");
        let prices = model
            .get("prices")
            .and_then(|p| prices_in_force(p, today))
            .ok_or_else(|| ImportError::NoPricesInForce {
                model: name.to_string(),
                today: today.to_string(),
            })?;
        let (Some(input), Some(output)) = (
            price(prices.get("input_mtok")),
            price(prices.get("output_mtok")),
        ) else {
            return Err(ImportError::MissingPrices {
                model: name.to_string(),
            });
        };
        let cache_read = price(prices.get("cache_read_mtok"));
        let cache_write = price(prices.get("cache_write_mtok"));
        for (field, value) in [
            ("input_mtok", Some(input)),
            ("output_mtok", Some(output)),
            ("cache_read_mtok", cache_read),
            ("cache_write_mtok", cache_write),
        ] {
            if let Some(value) = value.filter(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(ImportError::BadPrice {
                    entry: name.to_string(),
                    field,
                    value,
                });
            }
        }
        row.input_per_mtok = input;
        row.output_per_mtok = output;
        if let Some(p) = cache_read {
            row.cache_read_per_mtok = Some(p);
        }
        if let Some(p) = cache_write {
            row.cache_write_per_mtok = Some(p);
        }
        row.source = source.to_string();
        row.date = model
            .get("prices_checked")
            .and_then(Value::as_str)
            .unwrap_or(today)
            .to_string();
        report.updated += 1;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/genai-prices-aws.yml");

    fn catalog() -> BedrockCatalog {
        toml::from_str(include_str!("../../pricing/bedrock.toml")).unwrap()
    }

    #[test]
    fn rows_take_the_files_prices_dates_and_source() {
        let mut catalog = catalog();
        let report =
            apply_genai_prices(&mut catalog, FIXTURE, "genai-prices aws.yml", "2026-11-24")
                .unwrap();
        assert!(report.updated >= 2, "{report:?}");
        let llama = catalog
            .model
            .iter()
            .find(|r| r.model_id == "meta.llama3-3-70b-instruct-v1:0")
            .unwrap();
        assert_eq!((llama.input_per_mtok, llama.output_per_mtok), (0.72, 0.72));
        assert_eq!(llama.source, "genai-prices aws.yml");
        assert_eq!(llama.date, "2026-11-24", "no prices_checked: today");
        let sonnet = catalog
            .model
            .iter()
            .find(|r| r.model_id == "anthropic.claude-3-5-sonnet-20241022-v2:0")
            .unwrap();
        // Tiered: the base tier; dated: the set in force on the day.
        assert_eq!((sonnet.input_per_mtok, sonnet.output_per_mtok), (3.5, 16.0));
        assert_eq!(sonnet.cache_read_per_mtok, Some(0.35));
        assert_eq!(sonnet.date, "2026-06-01");
        let before = apply_genai_prices(&mut catalog.clone(), FIXTURE, "x", "2026-01-01").unwrap();
        assert_eq!(before.updated, report.updated);
    }

    #[test]
    fn a_future_price_set_is_not_yet_in_force() {
        let mut catalog = catalog();
        apply_genai_prices(&mut catalog, FIXTURE, "x", "2026-05-01").unwrap();
        let sonnet = catalog
            .model
            .iter()
            .find(|r| r.model_id == "anthropic.claude-3-5-sonnet-20241022-v2:0")
            .unwrap();
        assert_eq!(sonnet.input_per_mtok, 3.0);
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        let mut catalog = catalog();
        let err = apply_genai_prices(&mut catalog, "name: AWS\n", "x", "2026-11-24").unwrap_err();
        assert!(err.to_string().contains("models"), "{err}");
        let err = apply_genai_prices(&mut catalog, "models: [\n", "x", "2026-11-24").unwrap_err();
        assert!(err.to_string().contains("YAML"), "{err}");
        let no_output = "models:\n  - id: meta.llama3-3-70b-instruct-v1:0\n    match:\n      contains: meta.llama3-3-70b\n    prices:\n      input_mtok: 1\n";
        let err = apply_genai_prices(&mut catalog, no_output, "x", "2026-11-24").unwrap_err();
        assert!(err.to_string().contains("output_mtok"), "{err}");
    }
}
