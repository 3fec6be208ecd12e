//! Dated, sourced price catalogs (`pricing/*.toml`), parsed from text.

use serde::{Deserialize, Serialize};

use super::error::CatalogError;

/// A Bedrock model id without a cross-Region inference profile's geography prefix (`us.`,
/// `eu.`, `apac.`, `jp.`, `au.`, `us-gov.`, `global.`): the id the catalogs, CloudWatch, the
/// CUR and request logs are matched on.
pub fn base_model_id(id: &str) -> &str {
    ["us.", "eu.", "apac.", "jp.", "au.", "us-gov.", "global."]
        .iter()
        .fold(id, |id, prefix| id.trim_start_matches(prefix))
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BedrockPrice {
    pub model_id: String,
    pub name: String,
    pub region: String,
    /// `regional` or `global` cross-region inference profile pricing.
    #[serde(default = "regional")]
    pub inference_profile: String,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    #[serde(default)]
    pub batch_input_per_mtok: Option<f64>,
    #[serde(default)]
    pub batch_output_per_mtok: Option<f64>,
    #[serde(default)]
    pub cache_write_per_mtok: Option<f64>,
    #[serde(default)]
    pub cache_read_per_mtok: Option<f64>,
    /// Provisioned Throughput, USD per model unit per hour (no commitment), where published.
    #[serde(default)]
    pub provisioned_per_model_unit_hour: Option<f64>,
    /// Priority service tier (a premium over Standard, faster output), where offered.
    #[serde(default)]
    pub priority_input_per_mtok: Option<f64>,
    #[serde(default)]
    pub priority_output_per_mtok: Option<f64>,
    /// Flex service tier (a discount, best effort, slower), where offered.
    #[serde(default)]
    pub flex_input_per_mtok: Option<f64>,
    #[serde(default)]
    pub flex_output_per_mtok: Option<f64>,
    /// Reserved service tier: USD per 1,000 tokens-per-minute reserved for a month, input and
    /// output bought apart; where known. `reserved_source` says where these came from (AWS
    /// quotes them through the account team; a row may carry an assumption, marked as such).
    #[serde(default)]
    pub reserved_input_per_ktpm_month: Option<f64>,
    #[serde(default)]
    pub reserved_output_per_ktpm_month: Option<f64>,
    /// The same for a 3-month term (billed monthly, three months committed), where quoted.
    #[serde(default)]
    pub reserved_3mo_input_per_ktpm_month: Option<f64>,
    #[serde(default)]
    pub reserved_3mo_output_per_ktpm_month: Option<f64>,
    #[serde(default)]
    pub reserved_source: Option<String>,
    /// Which inference endpoint the row prices: `runtime` (bedrock-runtime: InvokeModel,
    /// Converse) or `mantle` (bedrock-mantle: OpenAI Chat Completions/Responses, Anthropic
    /// Messages).
    #[serde(default = "runtime")]
    pub endpoint: String,
    /// A model its source marks as legacy or deprecated (kept so older plans still price).
    #[serde(default)]
    pub legacy: bool,
    pub source: String,
    pub date: String,
}

fn runtime() -> String {
    "runtime".into()
}

fn regional() -> String {
    "regional".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstancePrice {
    pub instance_type: String,
    pub region: String,
    pub usd_per_hour: f64,
    pub source: String,
    pub date: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerlessPrice {
    pub memory_mb: u32,
    pub region: String,
    pub usd_per_second: f64,
    pub source: String,
    pub date: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BedrockCatalog {
    #[serde(default)]
    pub model: Vec<BedrockPrice>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SageMakerCatalog {
    #[serde(default)]
    pub instance: Vec<InstancePrice>,
    #[serde(default)]
    pub serverless: Vec<ServerlessPrice>,
}

/// Both catalogs, and what data transfer and monitoring cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalog {
    pub bedrock: BedrockCatalog,
    pub sagemaker: SageMakerCatalog,
    /// The built-in pricing/overheads.toml unless the caller replaces it.
    pub overheads: super::overheads::OverheadRates,
}

fn check_price(
    origin: &str,
    row: &str,
    field: &'static str,
    value: f64,
) -> Result<(), CatalogError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(CatalogError::BadPrice {
            origin: origin.to_string(),
            row: row.to_string(),
            field,
            value,
        })
    }
}

fn check_dated(origin: &str, row: &str, source: &str, date: &str) -> Result<(), CatalogError> {
    if source.trim().is_empty() || date.trim().is_empty() {
        return Err(CatalogError::Undated {
            origin: origin.to_string(),
            row: row.to_string(),
        });
    }
    Ok(())
}

fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|cause| CatalogError::Toml {
        origin: origin.to_string(),
        cause,
    })
}

impl BedrockCatalog {
    /// Parses and checks `pricing/bedrock.toml` (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<BedrockCatalog, CatalogError> {
        let catalog: BedrockCatalog = parse_toml(text, origin)?;
        catalog.check(origin)?;
        Ok(catalog)
    }

    /// Every row dated and sourced, every price (optional ones too) a finite number ≥ 0.
    pub fn check(&self, origin: &str) -> Result<(), CatalogError> {
        for m in &self.model {
            let row = format!("model {} in {}", m.model_id, m.region);
            check_dated(origin, &row, &m.source, &m.date)?;
            check_price(origin, &row, "input_per_mtok", m.input_per_mtok)?;
            check_price(origin, &row, "output_per_mtok", m.output_per_mtok)?;
            for (field, value) in [
                ("batch_input_per_mtok", m.batch_input_per_mtok),
                ("batch_output_per_mtok", m.batch_output_per_mtok),
                ("cache_write_per_mtok", m.cache_write_per_mtok),
                ("cache_read_per_mtok", m.cache_read_per_mtok),
                (
                    "provisioned_per_model_unit_hour",
                    m.provisioned_per_model_unit_hour,
                ),
                ("priority_input_per_mtok", m.priority_input_per_mtok),
                ("priority_output_per_mtok", m.priority_output_per_mtok),
                ("flex_input_per_mtok", m.flex_input_per_mtok),
                ("flex_output_per_mtok", m.flex_output_per_mtok),
                (
                    "reserved_input_per_ktpm_month",
                    m.reserved_input_per_ktpm_month,
                ),
                (
                    "reserved_output_per_ktpm_month",
                    m.reserved_output_per_ktpm_month,
                ),
                (
                    "reserved_3mo_input_per_ktpm_month",
                    m.reserved_3mo_input_per_ktpm_month,
                ),
                (
                    "reserved_3mo_output_per_ktpm_month",
                    m.reserved_3mo_output_per_ktpm_month,
                ),
            ] {
                if let Some(value) = value {
                    check_price(origin, &row, field, value)?;
                }
            }
        }
        Ok(())
    }
}

impl Catalog {
    pub fn parse(
        bedrock: &str,
        bedrock_origin: &str,
        sagemaker: &str,
        sagemaker_origin: &str,
    ) -> Result<Catalog, CatalogError> {
        let b = BedrockCatalog::parse(bedrock, bedrock_origin)?;
        let s: SageMakerCatalog = parse_toml(sagemaker, sagemaker_origin)?;
        for i in &s.instance {
            let row = format!("instance {} in {}", i.instance_type, i.region);
            check_dated(sagemaker_origin, &row, &i.source, &i.date)?;
            check_price(sagemaker_origin, &row, "usd_per_hour", i.usd_per_hour)?;
        }
        for v in &s.serverless {
            let row = format!("serverless {} MB in {}", v.memory_mb, v.region);
            check_dated(sagemaker_origin, &row, &v.source, &v.date)?;
            check_price(sagemaker_origin, &row, "usd_per_second", v.usd_per_second)?;
        }
        Ok(Catalog {
            bedrock: b,
            sagemaker: s,
            overheads: super::overheads::OverheadRates::builtin(),
        })
    }

    /// The Bedrock price of a model in a region (regional profile unless `global` is asked for).
    pub fn bedrock(
        &self,
        model_id: &str,
        region: &str,
        global: bool,
    ) -> Result<&BedrockPrice, CatalogError> {
        let wanted = if global { "global" } else { "regional" };
        let base = |id: &str| base_model_id(id).to_string();
        let candidates: Vec<&BedrockPrice> = self
            .bedrock
            .model
            .iter()
            .filter(|m| base(&m.model_id) == base(model_id))
            .collect();
        if candidates.is_empty() {
            return Err(CatalogError::UnknownModel {
                model_id: model_id.to_string(),
                known: known(self.bedrock.model.iter().map(|m| m.model_id.as_str())),
            });
        }
        let in_region: Vec<&&BedrockPrice> =
            candidates.iter().filter(|m| m.region == region).collect();
        if in_region.is_empty() {
            return Err(CatalogError::ModelNotInRegion {
                model_id: model_id.to_string(),
                region: region.to_string(),
                known: known(candidates.iter().map(|m| m.region.as_str())),
            });
        }
        // bedrock-runtime's row first (a bedrock-mantle option picks its own rows), at the
        // wanted profile where there is one.
        let rank = |m: &BedrockPrice| (m.endpoint == "mantle", m.inference_profile != wanted);
        Ok(in_region.iter().min_by_key(|m| rank(m)).expect("non-empty"))
    }

    pub fn instance(
        &self,
        instance_type: &str,
        region: &str,
    ) -> Result<&InstancePrice, CatalogError> {
        self.sagemaker
            .instance
            .iter()
            .find(|i| i.instance_type == instance_type && i.region == region)
            .ok_or_else(|| CatalogError::UnknownInstance {
                instance_type: instance_type.to_string(),
                region: region.to_string(),
                known: known(
                    self.sagemaker
                        .instance
                        .iter()
                        .map(|i| i.instance_type.as_str()),
                ),
            })
    }
}

fn known<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut names: Vec<&str> = names.collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::parse(
            include_str!("../../pricing/bedrock.toml"),
            "pricing/bedrock.toml",
            include_str!("../../pricing/sagemaker.toml"),
            "pricing/sagemaker.toml",
        )
        .unwrap()
    }

    #[test]
    fn the_shipped_catalogs_parse_and_answer() {
        let c = catalog();
        let sonnet = c
            .bedrock(
                "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "us-east-1",
                false,
            )
            .unwrap();
        assert_eq!((sonnet.input_per_mtok, sonnet.output_per_mtok), (3.0, 15.0));
        let global = c
            .bedrock(
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "us-west-2",
                true,
            )
            .unwrap();
        assert_eq!(global.inference_profile, "global");
        assert!(
            c.instance("ml.g5.12xlarge", "us-west-2")
                .unwrap()
                .usd_per_hour
                > 5.0
        );
    }

    #[test]
    fn malformed_catalogs_name_the_problem() {
        let c = catalog();
        assert!(c
            .bedrock("acme.unknown-v1", "us-east-1", false)
            .unwrap_err()
            .to_string()
            .contains("no Bedrock price"));
        assert!(c
            .bedrock("meta.llama3-3-70b-instruct-v1:0", "eu-north-9", false)
            .unwrap_err()
            .to_string()
            .contains("regions in the catalog"));
        let bad = "[[model]]\nmodel_id = \"x\"\nname = \"x\"\nregion = \"r\"\ninput_per_mtok = -1\noutput_per_mtok = 1\nsource = \"s\"\ndate = \"d\"\n";
        assert!(Catalog::parse(bad, "b.toml", "", "s.toml")
            .unwrap_err()
            .to_string()
            .contains("b.toml: model x in r: `input_per_mtok`"));
        let missing = "[[model]]\nmodel_id = \"x\"\nname = \"x\"\nregion = \"r\"\noutput_per_mtok = 1\nsource = \"s\"\ndate = \"d\"\n";
        assert!(Catalog::parse(missing, "b.toml", "", "s.toml")
            .unwrap_err()
            .to_string()
            .contains("input_per_mtok"));
    }
}
