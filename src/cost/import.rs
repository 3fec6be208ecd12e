//! Refreshing Bedrock rows from LiteLLM's community-kept price file
//! (`model_prices_and_context_window.json`, shipped in the `litellm` PyPI wheel as
//! `litellm/model_prices_and_context_window_backup.json`: per-token USD prices keyed by model).
//!
//! How a key maps onto a catalog row (model id, region, inference profile, endpoint):
//!
//! * `anthropic.claude-…` (a bare id): in-region, any region;
//! * `bedrock/us-east-1/anthropic.claude-…`: in that region only;
//! * `us.anthropic.claude-…` (also `eu.`, `apac.`, `jp.`, `au.`, `in.`, `us-gov.`): the
//!   geographic cross-Region profile, for the regions of that geography;
//! * `global.anthropic.claude-…`: the global cross-Region profile (`inference_profile =
//!   "global"`), any region;
//! * `bedrock_mantle/openai.gpt-oss-120b` (optionally with a region segment): served on the
//!   bedrock-mantle endpoint (`endpoint = "mantle"`).
//!
//! The catalog's `regional` profile is what a caller in the region pays without the global
//! profile: as the hand-entered rows do, it takes the geographic profile's price (`us.`) where
//! the file has one, which for Claude 4.5 and later is 10 % above the global price. Of the keys
//! that fit a row the most specific wins: an explicit region, then the geographic profile, then
//! the bare id. Keys under other routes (`bedrock/claude_platform/…`, `…/1-month-commitment/…`,
//! `bedrock/invoke/…`) are not Bedrock on-demand prices and are skipped.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::catalog::{BedrockCatalog, BedrockPrice};
use super::error::ImportError;

/// What an import changed.
#[derive(Debug, Default, PartialEq)]
pub struct ImportReport {
    pub updated: usize,
    /// Rows added (`--add-current`), as `model id (region, profile, endpoint)`.
    pub added: Vec<String>,
    /// Rows newly marked legacy (their entry's deprecation date has passed).
    pub marked_legacy: Vec<String>,
    pub unmatched_rows: Vec<String>,
}

/// How to apply a LiteLLM file.
#[derive(Clone, Debug)]
pub struct LiteLlmImport<'a> {
    /// Written into every updated or added row's `source`.
    pub source: &'a str,
    /// The import date (`YYYY-MM-DD`): each touched row's `date`, and the day against which a
    /// `deprecation_date` is past.
    pub date: &'a str,
    /// Add a row for every current chat model offered in this region that the catalog lacks.
    pub add_in_region: Option<&'a str>,
}

/// Geographic cross-Region profile prefixes LiteLLM uses.
const GEO_PREFIXES: [&str; 7] = ["us", "us-gov", "eu", "apac", "jp", "au", "in"];

/// The geographic profile prefixes a region's callers can use.
fn geographies(region: &str) -> Vec<&'static str> {
    if region.starts_with("us-gov-") {
        vec!["us-gov"]
    } else if region.starts_with("us-") {
        vec!["us"]
    } else if region.starts_with("eu-") {
        vec!["eu"]
    } else if region == "ap-northeast-1" || region == "ap-northeast-3" {
        vec!["jp", "apac"]
    } else if region == "ap-southeast-2" || region == "ap-southeast-4" {
        vec!["au", "apac"]
    } else if region.starts_with("ap-south-") {
        vec!["in", "apac"]
    } else if region.starts_with("ap-") {
        vec!["apac"]
    } else {
        Vec::new()
    }
}

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
fn is_region(segment: &str) -> bool {
    let parts: Vec<&str> = segment.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Where a LiteLLM key prices a model.
#[derive(Clone, Debug, PartialEq)]
struct KeyParts {
    /// The bare model id (no profile prefix), e.g. `anthropic.claude-sonnet-4-6`.
    model_id: String,
    /// The region the key names, if any.
    region: Option<String>,
    /// `global`, a geographic prefix (`us`, `eu`, …) or none.
    prefix: Option<String>,
    /// `runtime` or `mantle`.
    endpoint: &'static str,
}

/// Splits a LiteLLM key; `None` for keys that are not Bedrock on-demand model prices.
fn key_parts(key: &str, provider: &str) -> Option<KeyParts> {
    let segments: Vec<&str> = key.split('/').collect();
    let (last, route) = segments.split_last()?;
    let mut endpoint = if provider == "bedrock_mantle" {
        "mantle"
    } else {
        "runtime"
    };
    let mut region = None;
    for segment in route {
        match *segment {
            "bedrock" => {}
            "bedrock_mantle" => endpoint = "mantle",
            s if is_region(s) && region.is_none() => region = Some(s.to_string()),
            // claude_platform, invoke, converse, *-commitment, image sizes: not on-demand rows.
            _ => return None,
        }
    }
    let (prefix, model_id) = match last.split_once('.') {
        Some((head, rest)) if head == "global" || GEO_PREFIXES.contains(&head) => {
            (Some(head.to_string()), rest)
        }
        _ => (None, *last),
    };
    // A vendor-qualified Bedrock id (`vendor.model`); not Vertex-style `model@date` ids.
    if !model_id.contains('.') || model_id.contains('@') || model_id.is_empty() {
        return None;
    }
    Some(KeyParts {
        model_id: model_id.to_string(),
        region,
        prefix,
        endpoint,
    })
}

/// How well a key fits a row in `region` with `profile`: lower is better, `None` if not.
fn fit(parts: &KeyParts, region: &str, profile: &str) -> Option<u8> {
    if parts.region.as_deref().is_some_and(|r| r != region) {
        return None;
    }
    let explicit = parts.region.is_some();
    match (profile, parts.prefix.as_deref()) {
        ("global", Some("global")) => Some(if explicit { 0 } else { 1 }),
        ("global", _) | (_, Some("global")) => None,
        (_, Some(geo)) => geographies(region).contains(&geo).then_some(1),
        (_, None) => Some(if explicit { 0 } else { 2 }),
    }
}

/// USD per token → USD per million tokens, rounded to a nano-dollar so that 7.1e-7 is written
/// as 0.71, not 0.7099999999999999.
fn per_mtok(per_token: f64) -> f64 {
    (per_token * 1e15).round() / 1e9
}

/// The prices of one Bedrock entry, per million tokens, checked.
#[derive(Clone, Debug, Default, PartialEq)]
struct Entry {
    key: String,
    parts: Option<KeyParts>,
    chat: bool,
    input: f64,
    output: f64,
    batch_input: Option<f64>,
    batch_output: Option<f64>,
    cache_read: Option<f64>,
    cache_write: Option<f64>,
    priority_input: Option<f64>,
    priority_output: Option<f64>,
    flex_input: Option<f64>,
    flex_output: Option<f64>,
    deprecation_date: Option<String>,
}

/// The per-token fields read, in the order they are checked.
const FIELDS: [&str; 10] = [
    "input_cost_per_token",
    "output_cost_per_token",
    "input_cost_per_token_batches",
    "output_cost_per_token_batches",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
    "input_cost_per_token_priority",
    "output_cost_per_token_priority",
    "input_cost_per_token_flex",
    "output_cost_per_token_flex",
];

/// Reads one entry; `Ok(None)` when it is not a priced Bedrock entry, an error when a price in
/// it is not a finite number ≥ 0.
fn read_entry(key: &str, entry: &Value) -> Result<Option<Entry>, ImportError> {
    let provider = entry
        .get("litellm_provider")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !provider.starts_with("bedrock") {
        return Ok(None);
    }
    let mut prices = [None; FIELDS.len()];
    for (slot, field) in prices.iter_mut().zip(FIELDS) {
        let Some(value) = entry.get(field).and_then(Value::as_f64) else {
            continue;
        };
        // Per token, so a price ×1e6 must stay finite too.
        if !(value >= 0.0 && (value * 1e6).is_finite()) {
            return Err(ImportError::BadPrice {
                entry: key.to_string(),
                field,
                value,
            });
        }
        *slot = Some(per_mtok(value));
    }
    let [Some(input), Some(output), batch_input, batch_output, cache_read, cache_write, priority_input, priority_output, flex_input, flex_output] =
        prices
    else {
        return Ok(None);
    };
    Ok(Some(Entry {
        key: key.to_string(),
        parts: key_parts(key, provider),
        chat: entry.get("mode").and_then(Value::as_str) == Some("chat"),
        input,
        output,
        batch_input,
        batch_output,
        cache_read,
        cache_write,
        priority_input,
        priority_output,
        flex_input,
        flex_output,
        deprecation_date: entry
            .get("deprecation_date")
            .and_then(Value::as_str)
            .map(str::to_string),
    }))
}

/// Every priced Bedrock entry, all checked before any row changes: one bad price refuses the
/// file.
fn read_entries(json: &str) -> Result<Vec<Entry>, ImportError> {
    let root: Value = serde_json::from_str(json).map_err(ImportError::LiteLlmJson)?;
    let entries: &Map<String, Value> = root.as_object().ok_or(ImportError::LiteLlmShape)?;
    let mut priced = Vec::new();
    for (key, entry) in entries {
        if let Some(entry) = read_entry(key, entry)? {
            priced.push(entry);
        }
    }
    Ok(priced)
}

/// The entry that prices `model_id` in `region` under `profile` on `endpoint`, if any.
fn best<'a>(
    entries: &'a [Entry],
    model_id: &str,
    region: &str,
    profile: &str,
    endpoint: &str,
) -> Option<&'a Entry> {
    entries
        .iter()
        .filter_map(|e| {
            let parts = e.parts.as_ref()?;
            if parts.model_id != model_id || parts.endpoint != endpoint {
                return None;
            }
            fit(parts, region, profile).map(|rank| (rank, e))
        })
        // Ties (the same model under two equivalent keys) go to the first key in file order.
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, e)| e)
}

/// Is the entry's deprecation date on or before `date`?
fn deprecated(entry: &Entry, date: &str) -> bool {
    entry
        .deprecation_date
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty() && d <= date)
}

/// Writes an entry's prices into a row: input/output always, the optional prices where the
/// file has them (a price the file lacks keeps the row's value).
fn stamp(row: &mut BedrockPrice, entry: &Entry, options: &LiteLlmImport) {
    row.input_per_mtok = entry.input;
    row.output_per_mtok = entry.output;
    let keep = |slot: &mut Option<f64>, value: Option<f64>| {
        if value.is_some() {
            *slot = value;
        }
    };
    keep(&mut row.batch_input_per_mtok, entry.batch_input);
    keep(&mut row.batch_output_per_mtok, entry.batch_output);
    keep(&mut row.cache_read_per_mtok, entry.cache_read);
    keep(&mut row.cache_write_per_mtok, entry.cache_write);
    keep(&mut row.priority_input_per_mtok, entry.priority_input);
    keep(&mut row.priority_output_per_mtok, entry.priority_output);
    keep(&mut row.flex_input_per_mtok, entry.flex_input);
    keep(&mut row.flex_output_per_mtok, entry.flex_output);
    if deprecated(entry, options.date) {
        row.legacy = true;
    }
    row.source = options.source.to_string();
    row.date = options.date.to_string();
}

/// A display name from the id: the vendor prefix dropped (`anthropic.claude-sonnet-4-6` →
/// `claude-sonnet-4-6`); LiteLLM's file carries no display names.
fn name_from_id(model_id: &str) -> String {
    model_id
        .split_once('.')
        .map_or(model_id, |(_, rest)| rest)
        .to_string()
}

fn describe(row: &BedrockPrice) -> String {
    format!(
        "{} ({}, {}, {})",
        row.model_id, row.region, row.inference_profile, row.endpoint
    )
}

/// Updates on-demand, batch, cache, Priority and Flex prices of the rows the file prices
/// (see the module notes for which key prices which row), stamping each updated row with
/// `source` and `date` and marking it legacy when its entry's deprecation date has passed.
/// With `add_in_region`, also adds a row for every chat model the file prices in that region
/// (one per model id, profile and endpoint) that the catalog does not hold yet.
pub fn apply_litellm_import(
    catalog: &mut BedrockCatalog,
    json: &str,
    options: &LiteLlmImport,
) -> Result<ImportReport, ImportError> {
    let entries = read_entries(json)?;
    let mut report = ImportReport::default();
    for row in &mut catalog.model {
        let Some(entry) = best(
            &entries,
            &row.model_id,
            &row.region,
            &row.inference_profile,
            &row.endpoint,
        ) else {
            report
                .unmatched_rows
                .push(format!("{} in {}", row.model_id, row.region));
            continue;
        };
        let was_legacy = row.legacy;
        stamp(row, entry, options);
        if row.legacy && !was_legacy {
            report.marked_legacy.push(describe(row));
        }
        report.updated += 1;
    }
    let Some(region) = options.add_in_region else {
        return Ok(report);
    };
    // Each (model id, profile, endpoint) a chat entry offers in the region: in id order, the
    // regional profile before the global one, the runtime endpoint before mantle.
    const PROFILES: [&str; 2] = ["regional", "global"];
    const ENDPOINTS: [&str; 2] = ["runtime", "mantle"];
    let mut wanted: BTreeSet<(String, usize, usize)> = BTreeSet::new();
    for entry in entries.iter().filter(|e| e.chat) {
        let Some(parts) = &entry.parts else { continue };
        let endpoint = usize::from(parts.endpoint == "mantle");
        for (profile, name) in PROFILES.iter().enumerate() {
            if fit(parts, region, name).is_some() {
                wanted.insert((parts.model_id.clone(), profile, endpoint));
            }
        }
    }
    for (model_id, profile, endpoint) in wanted {
        let (profile, endpoint) = (PROFILES[profile], ENDPOINTS[endpoint]);
        let held = catalog.model.iter().any(|r| {
            r.model_id == model_id
                && r.region == region
                && r.inference_profile == profile
                && r.endpoint == endpoint
        });
        if held {
            continue;
        }
        // The best key may be a non-chat duplicate; only chat entries add rows.
        let Some(entry) = best(&entries, &model_id, region, profile, endpoint).filter(|e| e.chat)
        else {
            continue;
        };
        let mut row = BedrockPrice {
            name: name_from_id(&model_id),
            model_id,
            region: region.to_string(),
            inference_profile: profile.to_string(),
            endpoint: endpoint.to_string(),
            ..BedrockPrice::default()
        };
        stamp(&mut row, entry, options);
        if row.legacy {
            report.marked_legacy.push(describe(&row));
        }
        report.added.push(describe(&row));
        catalog.model.push(row);
    }
    Ok(report)
}

/// Updates the rows the file prices (no rows added); see [`apply_litellm_import`].
pub fn apply_litellm(
    catalog: &mut BedrockCatalog,
    json: &str,
    source: &str,
    date: &str,
) -> Result<ImportReport, ImportError> {
    apply_litellm_import(
        catalog,
        json,
        &LiteLlmImport {
            source,
            date,
            add_in_region: None,
        },
    )
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
        assert!(report.added.is_empty());
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

    #[test]
    fn keys_split_into_model_region_profile_and_endpoint() {
        let p = key_parts("us.anthropic.claude-sonnet-4-6", "bedrock_converse").unwrap();
        assert_eq!(
            (p.model_id.as_str(), p.prefix.as_deref(), p.endpoint),
            ("anthropic.claude-sonnet-4-6", Some("us"), "runtime")
        );
        let p = key_parts("bedrock/us-east-1/deepseek.v3.2", "bedrock").unwrap();
        assert_eq!(
            (p.model_id.as_str(), p.region.as_deref()),
            ("deepseek.v3.2", Some("us-east-1"))
        );
        let p = key_parts(
            "bedrock_mantle/us-gov-west-1/openai.gpt-oss-20b",
            "bedrock_mantle",
        )
        .unwrap();
        assert_eq!(
            (p.region.as_deref(), p.endpoint),
            (Some("us-gov-west-1"), "mantle")
        );
        for skipped in [
            "bedrock/claude_platform/claude-sonnet-4-5",
            "bedrock/us-east-1/1-month-commitment/anthropic.claude-v1",
            "anthropic.claude-haiku-4-5@20251001",
            "claude-sonnet-4-5-20250929-v1:0",
        ] {
            assert_eq!(key_parts(skipped, "bedrock"), None, "{skipped}");
        }
        // A global key never prices a regional row, nor an EU key a US one.
        let global = key_parts("global.amazon.nova-2-lite-v1:0", "bedrock").unwrap();
        assert_eq!(fit(&global, "us-east-1", "regional"), None);
        assert_eq!(fit(&global, "us-east-1", "global"), Some(1));
        let eu = key_parts("eu.amazon.nova-2-lite-v1:0", "bedrock").unwrap();
        assert_eq!(fit(&eu, "us-east-1", "regional"), None);
        assert_eq!(fit(&eu, "eu-west-1", "regional"), Some(1));
    }

    const ADD_FIXTURE: &str = r#"{
        "anthropic.claude-sonnet-4-6": {"litellm_provider": "bedrock_converse", "mode": "chat",
            "input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5,
            "cache_read_input_token_cost": 3e-7, "cache_creation_input_token_cost": 3.75e-6},
        "us.anthropic.claude-sonnet-4-6": {"litellm_provider": "bedrock_converse", "mode": "chat",
            "input_cost_per_token": 3.3e-6, "output_cost_per_token": 1.65e-5,
            "cache_read_input_token_cost": 3.3e-7, "cache_creation_input_token_cost": 4.125e-6},
        "global.anthropic.claude-sonnet-4-6": {"litellm_provider": "bedrock_converse", "mode": "chat",
            "input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5},
        "eu.anthropic.claude-sonnet-4-6": {"litellm_provider": "bedrock_converse", "mode": "chat",
            "input_cost_per_token": 3.3e-6, "output_cost_per_token": 1.65e-5},
        "bedrock_mantle/openai.gpt-oss-120b": {"litellm_provider": "bedrock_mantle", "mode": "chat",
            "input_cost_per_token": 1.5e-7, "output_cost_per_token": 6e-7,
            "input_cost_per_token_batches": 7.5e-8, "output_cost_per_token_batches": 3e-7,
            "input_cost_per_token_priority": 2.625e-7, "output_cost_per_token_priority": 1.05e-6,
            "input_cost_per_token_flex": 7.5e-8, "output_cost_per_token_flex": 3e-7},
        "bedrock_mantle/us-gov-west-1/openai.gpt-oss-20b": {"litellm_provider": "bedrock_mantle", "mode": "chat",
            "input_cost_per_token": 8.4e-8, "output_cost_per_token": 3.6e-7},
        "meta.llama3-2-1b-instruct-v1:0": {"litellm_provider": "bedrock", "mode": "chat",
            "input_cost_per_token": 1e-7, "output_cost_per_token": 1e-7, "deprecation_date": "2026-07-07"},
        "anthropic.claude-3-5-sonnet-20241022-v2:0": {"litellm_provider": "bedrock", "mode": "chat",
            "input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5, "deprecation_date": "2026-03-01"},
        "amazon.titan-embed-text-v2:0": {"litellm_provider": "bedrock", "mode": "embedding",
            "input_cost_per_token": 2e-8, "output_cost_per_token": 0},
        "bedrock/us-east-1/1-month-commitment/anthropic.claude-v1": {"litellm_provider": "bedrock", "mode": "chat"}
    }"#;

    fn add(catalog: &mut BedrockCatalog, json: &str) -> Result<ImportReport, ImportError> {
        apply_litellm_import(
            catalog,
            json,
            &LiteLlmImport {
                source: "LiteLLM 9.9.9 (PyPI wheel)",
                date: "2026-11-30",
                add_in_region: Some("us-east-1"),
            },
        )
    }

    /// The shipped catalog's rows of the seeds' models (hand-entered; not the added rows).
    fn seed_rows() -> BedrockCatalog {
        let mut catalog: BedrockCatalog =
            toml::from_str(include_str!("../../pricing/bedrock.toml")).unwrap();
        catalog.model.retain(|r| {
            [
                "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "anthropic.claude-3-opus-20240229-v1:0",
                "meta.llama3-3-70b-instruct-v1:0",
                "anthropic.claude-sonnet-4-5-20250929-v1:0",
            ]
            .contains(&r.model_id.as_str())
        });
        catalog
    }

    #[test]
    fn add_mode_adds_current_chat_models_of_the_region() {
        let mut catalog = seed_rows();
        let held = catalog.model.len();
        let report = add(&mut catalog, ADD_FIXTURE).unwrap();
        // Sonnet 4.6 regional and global, gpt-oss-120b on mantle, Llama 3.2 1B; not the
        // us-gov-only gpt-oss-20b, the EU profile, the embedding model or the commitment key.
        assert_eq!(report.added.len(), 4, "{report:#?}");
        assert_eq!(catalog.model.len(), held + 4);
        let find = |id: &str, profile: &str| {
            catalog
                .model
                .iter()
                .find(|r| {
                    r.model_id == id && r.region == "us-east-1" && r.inference_profile == profile
                })
                .unwrap_or_else(|| panic!("{id} {profile}"))
                .clone()
        };
        let regional = find("anthropic.claude-sonnet-4-6", "regional");
        // The geographic (us.) price, as the hand-entered Claude 4.5 rows hold.
        assert_eq!(
            (regional.input_per_mtok, regional.output_per_mtok),
            (3.3, 16.5)
        );
        assert_eq!(regional.cache_write_per_mtok, Some(4.125));
        assert_eq!(regional.source, "LiteLLM 9.9.9 (PyPI wheel)");
        assert_eq!(regional.date, "2026-11-30");
        assert_eq!(regional.name, "claude-sonnet-4-6");
        let global = find("anthropic.claude-sonnet-4-6", "global");
        assert_eq!(
            (global.input_per_mtok, global.cache_read_per_mtok),
            (3.0, None)
        );
        let oss = find("openai.gpt-oss-120b", "regional");
        assert_eq!(oss.endpoint, "mantle");
        assert_eq!(
            (oss.priority_input_per_mtok, oss.priority_output_per_mtok),
            (Some(0.2625), Some(1.05))
        );
        assert_eq!(
            (oss.flex_input_per_mtok, oss.flex_output_per_mtok),
            (Some(0.075), Some(0.3))
        );
        assert_eq!(oss.batch_input_per_mtok, Some(0.075));
        assert!(!oss.legacy);
        assert!(find("meta.llama3-2-1b-instruct-v1:0", "regional").legacy);
        // The hand-entered Claude 3.5 Sonnet v2 rows stay, now marked legacy, in both regions.
        for region in ["us-east-1", "us-west-2"] {
            let seed = catalog
                .model
                .iter()
                .find(|r| {
                    r.model_id == "anthropic.claude-3-5-sonnet-20241022-v2:0" && r.region == region
                })
                .unwrap();
            assert!(seed.legacy, "{region}");
            assert_eq!(
                seed.batch_input_per_mtok,
                Some(1.5),
                "kept: the file has none"
            );
        }
        // A second run adds nothing.
        let again = add(&mut catalog, ADD_FIXTURE).unwrap();
        assert!(again.added.is_empty(), "{again:#?}");
        assert!(BedrockCatalog::check(&catalog, "after").is_ok());
    }

    #[test]
    fn add_mode_refuses_a_negative_price_and_leaves_the_catalog() {
        let mut catalog = seed_rows();
        let before = catalog.clone();
        let bad = ADD_FIXTURE.replace(
            "\"input_cost_per_token_flex\": 7.5e-8",
            "\"input_cost_per_token_flex\": -7.5e-8",
        );
        let error = add(&mut catalog, &bad).unwrap_err().to_string();
        assert!(
            error.contains("bedrock_mantle/openai.gpt-oss-120b")
                && error.contains("input_cost_per_token_flex"),
            "{error}"
        );
        assert_eq!(catalog, before);
    }
}
