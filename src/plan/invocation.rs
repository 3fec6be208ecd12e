//! How a Bedrock option reaches its model on bedrock-runtime: the bare model ID on demand in
//! its Region, or a cross-Region inference profile (`us.`/`eu.`/`apac.`… geographic, or
//! `global.`). The ID says which; the catalog (`catalog/models.toml`, `on_demand_in_region`)
//! says where a bare ID is taken on demand at all. Each way has its own quota in Service Quotas.

use super::hosting::ServedModel;
use super::scenario::InferenceProfile;

/// The geographic inference-profile prefixes and the Regions each is called from (AWS Bedrock
/// User Guide, "Supported Regions and models for inference profiles": a geographic profile is
/// called from a source Region inside its geography).
const GEOGRAPHIES: [(&str, &[&str]); 7] = [
    ("us-gov.", &["us-gov-"]),
    ("us.", &["us-east-", "us-west-"]),
    ("eu.", &["eu-"]),
    ("apac.", &["ap-"]),
    ("jp.", &["ap-northeast-1", "ap-northeast-3"]),
    ("au.", &["ap-southeast-2", "ap-southeast-4"]),
    ("ca.", &["ca-"]),
];
const GLOBAL: &str = "global.";

/// The way an ID reaches the model, from its prefix.
pub fn profile_of(model_id: &str) -> InferenceProfile {
    if model_id.starts_with(GLOBAL) {
        InferenceProfile::Global
    } else if geography(model_id).is_some() {
        InferenceProfile::Geographic
    } else {
        InferenceProfile::InRegion
    }
}

fn geography(model_id: &str) -> Option<(&'static str, &'static [&'static str])> {
    GEOGRAPHIES
        .iter()
        .find(|(prefix, _)| model_id.starts_with(prefix))
        .copied()
}

/// Whether a geographic profile's prefix is called from `region`.
fn called_from(prefix_regions: &[&str], region: &str) -> bool {
    prefix_regions.iter().any(|r| region.starts_with(r))
}

/// The profile IDs of the model a caller in `region` can use: the geography's first, then
/// global.
fn profile_ids_for<'m>(model: &'m ServedModel, region: &str) -> Vec<&'m str> {
    let mut ids: Vec<&str> = model
        .bedrock_model_ids
        .iter()
        .map(String::as_str)
        .filter(|id| geography(id).is_some_and(|(_, regions)| called_from(regions, region)))
        .collect();
    ids.extend(
        model
            .bedrock_model_ids
            .iter()
            .map(String::as_str)
            .filter(|id| id.starts_with(GLOBAL)),
    );
    ids
}

/// The way the option reaches its model, checked: the profile its ID implies (a declared
/// `inference_profile` must agree), a geographic profile called from its own geography, and a
/// bare ID only where the catalog says Bedrock takes it on demand in the Region.
pub fn resolve(
    model: &ServedModel,
    model_id: &str,
    region: &str,
    declared: Option<InferenceProfile>,
) -> Result<InferenceProfile, String> {
    let implied = profile_of(model_id);
    if let Some(declared) = declared.filter(|d| *d != implied) {
        return Err(format!(
            "inference_profile = \"{}\" but model_id `{model_id}` is {}; the ID decides: drop inference_profile, or use the model's {} ID ({})",
            declared.key(),
            implied.describe(),
            declared.key(),
            model.bedrock_model_ids.join(", ")
        ));
    }
    match implied {
        InferenceProfile::Geographic => {
            let (prefix, regions) = geography(model_id).expect("a geographic ID has a prefix");
            if !called_from(regions, region) {
                return Err(format!(
                    "model_id `{model_id}` is the `{prefix}` geographic inference profile, which is called from {} Regions, not from {region}; use {}",
                    prefix.trim_end_matches('.'),
                    suggestion(model, region)
                ));
            }
        }
        InferenceProfile::InRegion => {
            if let Some(regions) = &model.on_demand_in_region {
                if !regions.iter().any(|r| r == region) {
                    let offered = if regions.is_empty() {
                        "in no Region".to_string()
                    } else {
                        format!("only in {}", regions.join(", "))
                    };
                    return Err(format!(
                        "Bedrock takes `{model_id}` on demand {offered} (catalog/models.toml, on_demand_in_region): from {region} AWS answers \"Invocation of model ID {model_id} with on-demand throughput isn't supported\"; use {}",
                        suggestion(model, region)
                    ));
                }
            }
        }
        InferenceProfile::Global => {}
    }
    Ok(implied)
}

/// What to write instead, for a caller in `region`.
fn suggestion(model: &ServedModel, region: &str) -> String {
    let ids = profile_ids_for(model, region);
    if ids.is_empty() {
        format!(
            "a Region where the model is offered: {} has no inference profile callable from {region} in catalog/models.toml",
            model.name
        )
    } else {
        ids.iter()
            .map(|id| {
                format!(
                    "model_id = \"{id}\" ({}; its quota is \"{}\")",
                    profile_of(id).describe(),
                    super::quota::QuotaName::Tpm.service_quota_name(&model.name, profile_of(id))
                )
            })
            .collect::<Vec<_>>()
            .join(", or ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::hosting::HostingCatalog;

    fn model(name: &str) -> ServedModel {
        HostingCatalog::builtin()
            .model(name)
            .expect("model")
            .clone()
    }

    #[test]
    fn prefixes_name_the_profile() {
        assert_eq!(
            profile_of("meta.llama3-3-70b-instruct-v1:0"),
            InferenceProfile::InRegion
        );
        assert_eq!(
            profile_of("us.meta.llama3-3-70b-instruct-v1:0"),
            InferenceProfile::Geographic
        );
        assert_eq!(
            profile_of("apac.amazon.nova-pro-v1:0"),
            InferenceProfile::Geographic
        );
        assert_eq!(
            profile_of("global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
            InferenceProfile::Global
        );
        // A model whose name begins like a geography is not a profile.
        assert_eq!(profile_of("usx.model"), InferenceProfile::InRegion);
    }

    #[test]
    fn a_bare_id_where_only_a_profile_serves_is_refused_with_the_id_to_use() {
        let llama = model("Llama 3.3 70B Instruct");
        let e = resolve(&llama, "meta.llama3-3-70b-instruct-v1:0", "us-east-1", None)
            .expect_err("profile only");
        assert!(
            e.contains("model_id = \"us.meta.llama3-3-70b-instruct-v1:0\""),
            "{e}"
        );
        assert!(
            e.contains("Cross-Region InvokeModel tokens per minute for Llama 3.3 70B Instruct"),
            "{e}"
        );
        assert_eq!(
            resolve(
                &llama,
                "us.meta.llama3-3-70b-instruct-v1:0",
                "us-east-1",
                None
            ),
            Ok(InferenceProfile::Geographic)
        );
        // Where the catalog records in-Region on-demand, the bare ID stands.
        let sonnet = model("Claude 3.5 Sonnet v2");
        let id = "anthropic.claude-3-5-sonnet-20241022-v2:0";
        assert_eq!(
            resolve(&sonnet, id, "us-west-2", None),
            Ok(InferenceProfile::InRegion)
        );
        assert!(resolve(&sonnet, id, "us-east-1", None).is_err());
    }

    #[test]
    fn a_declared_profile_must_agree_with_the_id_and_a_geography_with_the_region() {
        let sonnet = model("Claude Sonnet 4.5");
        let global = "global.anthropic.claude-sonnet-4-5-20250929-v1:0";
        assert_eq!(
            resolve(&sonnet, global, "us-east-1", Some(InferenceProfile::Global)),
            Ok(InferenceProfile::Global)
        );
        let e = resolve(
            &sonnet,
            global,
            "us-east-1",
            Some(InferenceProfile::Geographic),
        )
        .expect_err("contradiction");
        assert!(e.contains("the ID decides"), "{e}");
        let e = resolve(
            &sonnet,
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "eu-west-1",
            None,
        )
        .expect_err("a us. profile from Europe");
        assert!(e.contains(global), "{e}");
    }

    #[test]
    fn a_model_without_a_record_takes_its_id_as_given() {
        let qwen = model("Qwen3-32B");
        assert_eq!(qwen.on_demand_in_region, None);
        assert_eq!(
            resolve(&qwen, "qwen.qwen3-32b-v1:0", "us-east-1", None),
            Ok(InferenceProfile::InRegion)
        );
    }
}
