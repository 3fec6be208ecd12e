//! Which model an option serves, and whether the option can hold it: the served-model catalog
//! (`catalog/models.toml`), the SageMaker instances' accelerators (`catalog/hardware.toml`) and
//! the check that a model's weights fit.

use serde::{Deserialize, Serialize};

use super::scenario::Precision;
use crate::physics::accelerator::squash;
use crate::physics::Accelerator;

pub const BUILTIN_MODELS: &str = include_str!("../../catalog/models.toml");
pub const BUILTIN_HARDWARE: &str = include_str!("../../catalog/hardware.toml");

/// Share of accelerator memory the weights may take; the rest holds the KV cache, activations
/// and the runtime (vLLM's default gpu_memory_utilization is 0.9, and a batch needs KV room).
pub const WEIGHTS_SHARE: f64 = 0.8;
/// SageMaker Serverless Inference: CPU only, at most 6 GB of memory.
pub const SERVERLESS_MAX_MEMORY_MB: u32 = 6_144;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServedModel {
    pub name: String,
    pub open_weights: bool,
    /// Billions of parameters (open-weight models only).
    #[serde(default)]
    pub parameters_b: Option<f64>,
    pub context_window: f64,
    #[serde(default)]
    pub bedrock_model_ids: Vec<String>,
    /// The Regions where bedrock-runtime takes the bare model ID on demand; elsewhere only an
    /// inference profile reaches it. Absent: not recorded, the ID is taken as given.
    #[serde(default)]
    pub on_demand_in_region: Option<Vec<String>>,
    /// Quota tokens bedrock-runtime charges per output token (output burndown), with its
    /// source; 1 where the catalog says nothing (AWS: 1 for all but the models it names).
    #[serde(default = "one")]
    pub output_burndown: f64,
    #[serde(default)]
    pub burndown_source: Option<String>,
    /// The shortest prefix the model's prompt cache takes (tokens); none: no prompt caching.
    #[serde(default)]
    pub prompt_cache_min_tokens: Option<f64>,
    /// A mixture-of-experts model's routed experts per MoE layer and how many each token uses
    /// (from its config.json); both absent for a dense model. The performance model's decode
    /// step reads the experts a batch touches (docs/DESIGN.md, "The server model").
    #[serde(default)]
    pub experts: Option<f64>,
    #[serde(default)]
    pub experts_per_token: Option<f64>,
    /// Billions of parameters one token uses (a mixture of experts; a dense model uses all).
    #[serde(default)]
    pub active_parameters_b: Option<f64>,
    /// Other names the model goes by in file names and benchmark tables (e.g. "DeepSeek-V3"
    /// for DeepSeek-R1's architecture), for recognising a table's model by its file name.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The architecture the roofline needs (src/physics), from the model's config.json: its
    /// layers, full-attention layers (where some slide over a short window), query heads ×
    /// head dimension and KV-cache bytes a token at 16 bits; all absent where not recorded.
    #[serde(default)]
    pub layers: Option<f64>,
    #[serde(default)]
    pub attention_layers: Option<f64>,
    #[serde(default)]
    pub attention_dim: Option<f64>,
    #[serde(default)]
    pub kv_bytes_per_token: Option<f64>,
    #[serde(default)]
    pub architecture_source: Option<String>,
    /// The precision its weights are released in, where not 16 bits (DeepSeek-R1: FP8,
    /// gpt-oss: MXFP4): what a table that does not say ran.
    #[serde(default)]
    pub precision: Option<Precision>,
    pub source: String,
}

impl ServedModel {
    /// What the roofline needs, when the catalog records the architecture.
    pub fn architecture(&self) -> Option<crate::physics::Architecture> {
        let parameters = self.parameters_b? * 1e9;
        let layers = self.layers?;
        Some(crate::physics::Architecture {
            parameters,
            active_parameters: self.active_parameters_b.map_or(parameters, |a| a * 1e9),
            experts: self.routed_experts(),
            layers,
            attention_layers: self.attention_layers.unwrap_or(layers),
            attention_dim: self.attention_dim?,
            kv_bytes_per_token: self.kv_bytes_per_token?,
        })
    }

    /// The routed experts, for a mixture-of-experts model.
    pub fn routed_experts(&self) -> Option<crate::perf::server::Experts> {
        match (self.experts, self.experts_per_token) {
            (Some(total), Some(per_token)) => {
                Some(crate::perf::server::Experts { total, per_token })
            }
            _ => None,
        }
    }
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    pub instance_type: String,
    pub accelerators: u32,
    pub accelerator: String,
    pub accelerator_memory_gb: f64,
    pub source: String,
    pub date: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFile {
    #[serde(default)]
    model: Vec<ServedModel>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HardwareFile {
    #[serde(default)]
    instance: Vec<Hardware>,
    #[serde(default)]
    accelerator: Vec<Accelerator>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostingCatalog {
    pub models: Vec<ServedModel>,
    pub hardware: Vec<Hardware>,
    pub accelerators: Vec<Accelerator>,
}

/// How an option holds its model (written into the plan so a reader sees why it fits).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hosting {
    /// e.g. "8 × NVIDIA H100 80 GB, 640 GB".
    pub hardware: String,
    pub precision: Precision,
    pub model_copies: u32,
    pub weights_gb: f64,
    pub memory_gb: f64,
    pub reading: String,
}

impl HostingCatalog {
    pub fn parse(
        models: &str,
        models_origin: &str,
        hardware: &str,
        hardware_origin: &str,
    ) -> Result<HostingCatalog, String> {
        let m: ModelsFile = toml::from_str(models)
            .map_err(|e| format!("{models_origin}: {}", e.to_string().trim_end()))?;
        let h: HardwareFile = toml::from_str(hardware)
            .map_err(|e| format!("{hardware_origin}: {}", e.to_string().trim_end()))?;
        for model in &m.model {
            let size_ok = model.parameters_b.is_none_or(|p| p.is_finite() && p > 0.0);
            if !(size_ok && model.context_window >= 1.0 && model.context_window.is_finite()) {
                return Err(format!(
                    "{models_origin}: model `{}`: parameters_b and context_window must be finite numbers > 0",
                    model.name
                ));
            }
            if !(model.output_burndown >= 1.0 && model.output_burndown <= 100.0) {
                return Err(format!(
                    "{models_origin}: model `{}`: output_burndown must be 1–100 quota tokens per output token",
                    model.name
                ));
            }
            if model
                .prompt_cache_min_tokens
                .is_some_and(|t| !(0.0..=1e6).contains(&t))
            {
                return Err(format!(
                    "{models_origin}: model `{}`: prompt_cache_min_tokens must be 0–1,000,000 tokens",
                    model.name
                ));
            }
            if model.active_parameters_b.is_some_and(|a| {
                !(a.is_finite() && a > 0.0 && model.parameters_b.is_none_or(|p| a <= p))
            }) {
                return Err(format!(
                    "{models_origin}: model `{}`: active_parameters_b must be a finite number > 0 and at most parameters_b",
                    model.name
                ));
            }
            if model.open_weights && model.parameters_b.is_none() {
                return Err(format!(
                    "{models_origin}: model `{}` has open weights but no parameters_b",
                    model.name
                ));
            }
        }
        for row in &h.instance {
            if row.accelerators == 0
                || !(row.accelerator_memory_gb > 0.0 && row.accelerator_memory_gb.is_finite())
            {
                return Err(format!(
                    "{hardware_origin}: instance `{}`: accelerators and accelerator_memory_gb must be finite numbers > 0",
                    row.instance_type
                ));
            }
        }
        for model in &m.model {
            match (model.experts, model.experts_per_token) {
                (None, None) => {}
                (Some(total), Some(per_token)) => crate::perf::server::Experts { total, per_token }
                    .check()
                    .map_err(|e| {
                        format!(
                            "{models_origin}: model `{}`: {}",
                            model.name,
                            e.replace("server.experts.total", "experts")
                                .replace("server.experts.per_token", "experts_per_token")
                                .replace("`total`", "`experts`")
                        )
                    })?,
                _ => {
                    return Err(format!(
                        "{models_origin}: model `{}`: give both `experts` and `experts_per_token` (a mixture of experts) or neither (a dense model)",
                        model.name
                    ))
                }
            }
        }
        for model in &m.model {
            let fields = [
                ("layers", model.layers),
                ("attention_layers", model.attention_layers),
                ("attention_dim", model.attention_dim),
                ("kv_bytes_per_token", model.kv_bytes_per_token),
            ];
            if let Some((field, value)) = fields
                .iter()
                .find_map(|(f, v)| v.filter(|x| !(x.is_finite() && *x > 0.0)).map(|x| (f, x)))
            {
                return Err(format!(
                    "{models_origin}: model `{}`: {field} is {value}; it must be a finite number > 0",
                    model.name
                ));
            }
            if let (Some(a), Some(l)) = (model.attention_layers, model.layers) {
                if a > l {
                    return Err(format!(
                        "{models_origin}: model `{}`: attention_layers ({a}) cannot exceed layers ({l})",
                        model.name
                    ));
                }
            }
            let recorded = [model.layers, model.attention_dim, model.kv_bytes_per_token]
                .iter()
                .filter(|v| v.is_some())
                .count();
            if recorded != 0 && (recorded != 3 || model.architecture_source.is_none()) {
                return Err(format!(
                    "{models_origin}: model `{}`: give layers, attention_dim, kv_bytes_per_token and architecture_source together (or none)",
                    model.name
                ));
            }
        }
        for accelerator in &h.accelerator {
            accelerator
                .check()
                .map_err(|e| format!("{hardware_origin}: {e}"))?;
        }
        Ok(HostingCatalog {
            models: m.model,
            hardware: h.instance,
            accelerators: h.accelerator,
        })
    }

    pub fn builtin() -> HostingCatalog {
        HostingCatalog::parse(
            BUILTIN_MODELS,
            "catalog/models.toml",
            BUILTIN_HARDWARE,
            "catalog/hardware.toml",
        )
        .expect("the built-in hosting catalog is valid")
    }

    pub fn model(&self, name: &str) -> Result<&ServedModel, String> {
        self.models.iter().find(|m| m.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
            format!(
                "field `model` = {name:?} is not in the model catalog; use one of: {} (or add a [[model]] to catalog/models.toml with its size and source)",
                names.join(", ")
            )
        })
    }

    /// The model a file name names: the catalog model whose name or alias, reduced to letters
    /// and digits, is the longest one contained in the name so reduced (at least four
    /// characters); `None` when no model matches or two different models match equally long.
    pub fn model_in_name(&self, file_name: &str) -> Option<&ServedModel> {
        let reduce = |s: &str| -> String {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let text = reduce(file_name);
        let mut best: Option<(usize, &ServedModel)> = None;
        let mut tied = false;
        for model in &self.models {
            let longest = std::iter::once(&model.name)
                .chain(&model.aliases)
                .map(|n| reduce(n))
                .filter(|n| n.len() >= 4 && text.contains(n.as_str()))
                .map(|n| n.len())
                .max();
            match (longest, best) {
                (Some(len), Some((b, m))) if len == b && m.name != model.name => tied = true,
                (Some(len), Some((b, _))) if len > b => {
                    best = Some((len, model));
                    tied = false;
                }
                (Some(len), None) => best = Some((len, model)),
                _ => {}
            }
        }
        best.filter(|_| !tied).map(|(_, m)| m)
    }

    /// The accelerator a name or alias names.
    pub fn accelerator(&self, name: &str) -> Result<&Accelerator, String> {
        self.accelerators
            .iter()
            .find(|a| a.is_named(name))
            .ok_or_else(|| {
                let names: Vec<&str> = self.accelerators.iter().map(|a| a.name.as_str()).collect();
                format!(
                    "accelerator {name:?} is not in catalog/hardware.toml; use one of: {} (or add an [[accelerator]] row with its figures and source)",
                    names.join(", ")
                )
            })
    }

    /// The accelerators a file name names and how many: `<count>x<accelerator>` (as in
    /// `2xh100`, `8xGaudi3`, `16xAMD-MI300X`) or a machine the catalog knows (`wh_galaxy`:
    /// 32 Wormholes). `None` when nothing matches.
    pub fn hardware_in_name(&self, file_name: &str) -> Option<(&Accelerator, u32)> {
        let parts: Vec<&str> = file_name.split(['_', '.', ' ', '/']).collect();
        for part in &parts {
            let lower = part.to_ascii_lowercase();
            let Some(x) = lower.find('x') else { continue };
            let (count, rest) = (&lower[..x], &lower[x + 1..]);
            let Ok(count) = count.parse::<u32>() else {
                continue;
            };
            if count == 0 || count > 100_000 {
                continue;
            }
            let rest = rest
                .trim_start_matches("amd-")
                .trim_start_matches("nvidia-");
            if let Some(a) = self.accelerators.iter().find(|a| a.is_named(rest)) {
                return Some((a, count));
            }
        }
        // Machines by whole words of the name (or two adjacent ones): `wh_galaxy`.
        let words: Vec<String> = parts.iter().map(|p| squash(p)).collect();
        let pairs = words.windows(2).map(|w| format!("{}{}", w[0], w[1]));
        let candidates: Vec<String> = words.iter().cloned().chain(pairs).collect();
        self.accelerators.iter().find_map(|a| {
            a.systems
                .iter()
                .filter(|(system, _)| candidates.contains(&squash(system)))
                .max_by_key(|(system, _)| system.len())
                .map(|(_, n)| (a, *n))
        })
    }

    /// Whether the instance's accelerators run `precision` as servers deploy it (FP8 and INT8
    /// weights need 8-bit arithmetic: none on Ampere's A10G and A100). An instance whose
    /// accelerator has no physics row is not checked.
    pub fn check_arithmetic(
        &self,
        hardware: &Hardware,
        precision: Precision,
    ) -> Result<(), String> {
        let Ok(accelerator) = self.accelerator(&hardware.accelerator) else {
            return Ok(());
        };
        if accelerator.runs(precision) {
            return Ok(());
        }
        let with: Vec<&str> = self
            .hardware
            .iter()
            .filter(|h| {
                self.accelerator(&h.accelerator)
                    .is_ok_and(|a| a.runs(precision))
            })
            .map(|h| h.instance_type.as_str())
            .collect();
        Err(format!(
            "{}'s {} has no {} arithmetic, so {} weights are not served on it (catalog/hardware.toml, dense_tflops); use bf16 or int4 (weight-only) there, or an instance that has it: {}",
            hardware.instance_type,
            accelerator.name,
            precision.name(),
            precision.name(),
            with.join(", ")
        ))
    }

    pub fn hardware(&self, instance_type: &str) -> Result<&Hardware, String> {
        self.hardware
            .iter()
            .find(|h| h.instance_type == instance_type)
            .ok_or_else(|| {
                format!(
                    "instance `{instance_type}` has no accelerator row in catalog/hardware.toml; add its accelerators and memory with their source"
                )
            })
    }
}

/// Checks that a Bedrock model ID serves the option's model.
pub fn check_bedrock(model: &ServedModel, model_id: &str) -> Result<(), String> {
    if model.bedrock_model_ids.iter().any(|id| id == model_id) {
        Ok(())
    } else if model.bedrock_model_ids.is_empty() {
        Err(format!("{} is not offered on Amazon Bedrock", model.name))
    } else {
        Err(format!(
            "model_id `{model_id}` is not {}; its Bedrock IDs are {}",
            model.name,
            model.bedrock_model_ids.join(", ")
        ))
    }
}

fn weights_gb(model: &ServedModel, precision: Precision) -> Result<f64, String> {
    match (model.open_weights, model.parameters_b) {
        (true, Some(p)) => Ok(p * precision.bytes_per_parameter()),
        _ => Err(format!(
            "{}'s weights are not published: it can only be served by its provider (Bedrock), not hosted on SageMaker",
            model.name
        )),
    }
}

/// Whether `copies` copies of `model` at `precision` fit on an instance: the weights may take
/// `WEIGHTS_SHARE` of each copy's share of accelerator memory.
pub fn check_instance(
    model: &ServedModel,
    hardware: &Hardware,
    precision: Precision,
    copies: u32,
) -> Result<Hosting, String> {
    let weights = weights_gb(model, precision)?;
    let copies = copies.max(1);
    if copies > hardware.accelerators {
        return Err(format!(
            "{copies} model copies on {} accelerators: each copy needs at least one",
            hardware.accelerators
        ));
    }
    let per_copy = hardware.accelerator_memory_gb / f64::from(copies);
    let hw = format!(
        "{} × {}, {:.0} GB",
        hardware.accelerators, hardware.accelerator, hardware.accelerator_memory_gb
    );
    if weights > WEIGHTS_SHARE * per_copy {
        return Err(format!(
            "{} at {} needs {weights:.0} GB of weights per copy, but {} ({hw}) gives each of {copies} copies {per_copy:.0} GB, of which {:.0} % may hold weights ({:.0} GB); use fewer copies, a lower precision or a larger instance",
            model.name,
            precision.name(),
            hardware.instance_type,
            WEIGHTS_SHARE * 100.0,
            WEIGHTS_SHARE * per_copy
        ));
    }
    Ok(Hosting {
        hardware: hw.clone(),
        precision,
        model_copies: copies,
        weights_gb: weights,
        memory_gb: hardware.accelerator_memory_gb,
        reading: format!(
            "{} at {}: {weights:.0} GB of weights per copy; {copies} cop{} on {} ({hw}) leave {:.0} GB per copy for the KV cache and runtime",
            model.name,
            precision.name(),
            if copies == 1 { "y" } else { "ies" },
            hardware.instance_type,
            per_copy - weights
        ),
    })
}

/// SageMaker Serverless has no accelerator and at most 6 GB: the weights must fit in memory.
pub fn check_serverless(
    model: &ServedModel,
    memory_mb: u32,
    precision: Precision,
) -> Result<Hosting, String> {
    let weights = weights_gb(model, precision)?;
    let memory_gb = f64::from(memory_mb) / 1024.0;
    if memory_mb > SERVERLESS_MAX_MEMORY_MB {
        return Err(format!(
            "memory_mb = {memory_mb}: SageMaker Serverless offers at most {SERVERLESS_MAX_MEMORY_MB} MB"
        ));
    }
    if weights > WEIGHTS_SHARE * memory_gb {
        return Err(format!(
            "{} at {} needs {weights:.1} GB of weights, but SageMaker Serverless runs on CPU with {memory_gb:.0} GB (at most 6 GB), of which {:.0} % may hold weights; host it on a GPU instance (kind = \"sagemaker\") or use Bedrock",
            model.name,
            precision.name(),
            WEIGHTS_SHARE * 100.0
        ));
    }
    Ok(Hosting {
        hardware: format!("CPU, {memory_gb:.0} GB"),
        precision,
        model_copies: 1,
        weights_gb: weights,
        memory_gb,
        reading: format!(
            "{} at {}: {weights:.1} GB of weights in {memory_gb:.0} GB of serverless memory (CPU only)",
            model.name,
            precision.name()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published tables' file names give their hardware; every SageMaker instance's
    /// accelerator has a physics row; the published models have their architecture.
    #[test]
    fn hardware_is_read_from_file_names_and_every_instance_has_physics() {
        let c = HostingCatalog::builtin();
        let at = |name: &str| c.hardware_in_name(name).map(|(a, n)| (a.name.as_str(), n));
        assert_eq!(
            at("nim_llama33_70b_2xh100_fp8_5000in_500out.csv"),
            Some(("NVIDIA H100 80 GB", 2))
        );
        assert_eq!(
            at("dstack-vllm_DeepSeek-R1_8xH200_3200in_800out.csv"),
            Some(("NVIDIA H200", 8))
        );
        assert_eq!(
            at("inferencex-pd_gpt-oss-120b_16xAMD-MI300X_1024in_1024out.csv"),
            Some(("AMD Instinct MI300X", 16))
        );
        assert_eq!(
            at("inferencex_GLM-4.7_8xGaudi3_1024in_1024out.csv"),
            Some(("Intel Gaudi 3", 8))
        );
        assert_eq!(
            at("tenstorrent_qwen3_32b_wh_galaxy_isl_sweep.csv"),
            Some(("Tenstorrent Wormhole", 32))
        );
        assert_eq!(
            at("oci_llama33_70b_large_generic_random480in_300out.csv"),
            None
        );
        for h in &c.hardware {
            assert!(c.accelerator(&h.accelerator).is_ok(), "{}", h.accelerator);
        }
        for name in [
            "Llama 3.3 70B Instruct",
            "DeepSeek-R1",
            "GLM-4.7",
            "gpt-oss-120b",
            "Qwen3-32B",
        ] {
            assert!(c.model(name).unwrap().architecture().is_some(), "{name}");
        }
        assert!(c.accelerator("h100").is_ok());
        assert!(c
            .accelerator("B300")
            .unwrap_err()
            .contains("catalog/hardware.toml"));
    }

    #[test]
    fn seventy_billion_parameters_need_a_large_instance() {
        let c = HostingCatalog::builtin();
        let llama = c.model("Llama 3.3 70B Instruct").unwrap();
        // 70.6 B × 2 bytes = 141 GB: more than 80 % of 4 × 24 GB.
        let g5 = c.hardware("ml.g5.12xlarge").unwrap();
        let e = check_instance(llama, g5, Precision::Bf16, 1).unwrap_err();
        assert!(e.contains("141 GB"), "{e}");
        // At 4 bits (35 GB) it fits.
        assert!(check_instance(llama, g5, Precision::Int4, 1).is_ok());
        // Four FP8 copies (70.6 GB each) on 8 × 80 GB: 160 GB each, 128 GB may hold weights.
        let p5 = c.hardware("ml.p5.48xlarge").unwrap();
        let h = check_instance(llama, p5, Precision::Fp8, 4).unwrap();
        assert!((h.weights_gb - 70.6).abs() < 1e-9);
        assert!(check_instance(llama, p5, Precision::Bf16, 8).is_err());
        // Serverless: no GPU and 6 GB.
        let e = check_serverless(llama, 6_144, Precision::Int4).unwrap_err();
        assert!(e.contains("CPU") && e.contains("35.3 GB"), "{e}");
        let small = c.model("SmolLM2 135M Instruct").unwrap();
        assert!(check_serverless(small, 2_048, Precision::Bf16).is_ok());
    }

    #[test]
    fn closed_models_are_served_by_their_provider_only() {
        let c = HostingCatalog::builtin();
        let claude = c.model("Claude 3.5 Sonnet v2").unwrap();
        let p5 = c.hardware("ml.p5.48xlarge").unwrap();
        assert!(check_instance(claude, p5, Precision::Bf16, 1)
            .unwrap_err()
            .contains("not published"));
        assert!(check_bedrock(claude, "anthropic.claude-3-5-sonnet-20241022-v2:0").is_ok());
        assert!(check_bedrock(claude, "meta.llama3-3-70b-instruct-v1:0").is_err());
    }
}
