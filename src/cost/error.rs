//! Why a price catalog cannot be read or asked, and why a price file cannot be imported. Each
//! message names the file, the row or the model, and how to fix it.

/// A catalog (`pricing/*.toml`) that does not parse or check, or a price it does not hold.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    #[error("{origin}: {cause}")]
    Toml {
        origin: String,
        cause: toml::de::Error,
    },
    #[error("{origin}: {row}: `{field}` = {value}; a price is a finite number ≥ 0 (USD)")]
    BadPrice {
        origin: String,
        row: String,
        field: &'static str,
        value: f64,
    },
    #[error("{origin}: {message}")]
    Overheads { origin: String, message: String },
    #[error("{origin}: {row}: every price needs a `source` and a `date`")]
    Undated { origin: String, row: String },
    #[error(
        "no Bedrock price for model `{model_id}`; add a [[model]] row to pricing/bedrock.toml \
         (known: {known})"
    )]
    UnknownModel { model_id: String, known: String },
    #[error(
        "model `{model_id}` has no price in region `{region}`; regions in the catalog: {known}"
    )]
    ModelNotInRegion {
        model_id: String,
        region: String,
        known: String,
    },
    #[error(
        "no SageMaker price for `{instance_type}` in `{region}`; add an [[instance]] row to \
         pricing/sagemaker.toml (known: {known})"
    )]
    UnknownInstance {
        instance_type: String,
        region: String,
        known: String,
    },
}

/// A community price file (LiteLLM JSON, genai-prices YAML) that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not LiteLLM JSON: {0}")]
    LiteLlmJson(serde_json::Error),
    #[error("not LiteLLM JSON: the top level must be an object keyed by model")]
    LiteLlmShape,
    #[error("not a genai-prices YAML file: {0}")]
    GenaiYaml(serde_yaml_ng::Error),
    #[error(
        "not a genai-prices provider file: no `models` list (expected prices/providers/aws.yml)"
    )]
    GenaiShape,
    #[error("model `{model}`: no `prices` in force on {today}")]
    NoPricesInForce { model: String, today: String },
    #[error("model `{model}`: `prices` needs input_mtok and output_mtok")]
    MissingPrices { model: String },
    /// A price in the imported file that no catalog may hold; nothing was written.
    #[error(
        "entry `{entry}`: `{field}` = {value}; a price is a finite number ≥ 0 (USD), so the \
         catalog was left unchanged: fix or drop the entry"
    )]
    BadPrice {
        entry: String,
        field: &'static str,
        value: f64,
    },
}
