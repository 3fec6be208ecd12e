//! An accelerator as `catalog/hardware.toml` describes it: memory, bandwidth and peak dense
//! arithmetic by precision, each row sourced and dated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::precision::{Arithmetic, Precision};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accelerator {
    /// As instance rows name it (e.g. "NVIDIA H100 80 GB").
    pub name: String,
    /// nvidia, amd, intel, aws, tenstorrent: efficiencies are shared by vendor.
    pub vendor: String,
    /// Other names in file names and flags ("H100", "MI300X").
    #[serde(default)]
    pub aliases: Vec<String>,
    pub memory_gb: f64,
    pub memory_bandwidth_tb_s: f64,
    /// Peak dense (no structured sparsity) matrix TFLOP/s by arithmetic.
    pub dense_tflops: BTreeMap<Arithmetic, f64>,
    /// Accelerator-to-accelerator bandwidth in one direction, GB/s (NVLink, Infinity Fabric,
    /// RoCE links), where the vendor states it.
    #[serde(default)]
    pub interconnect_gb_s: Option<f64>,
    /// Machines made of several of these accelerators, and how many each holds (a Tenstorrent
    /// Galaxy: 32 Wormholes), for reading a count from a name.
    #[serde(default)]
    pub systems: BTreeMap<String, u32>,
    pub source: String,
    pub date: String,
}

impl Accelerator {
    /// Memory bandwidth in bytes a second.
    pub fn bandwidth_bytes_s(&self) -> f64 {
        self.memory_bandwidth_tb_s * 1e12
    }

    /// The arithmetic `precision` runs in here and its peak FLOP/s: the first of the
    /// precision's formats the accelerator has.
    pub fn arithmetic_for(&self, precision: Precision) -> Option<(Arithmetic, f64)> {
        precision
            .arithmetic()
            .iter()
            .find_map(|a| self.dense_tflops.get(a).map(|t| (*a, t * 1e12)))
    }

    /// Whether the accelerator runs `precision` as a server would deploy it: 8-bit weights
    /// need 8-bit arithmetic (FP8 on Ampere is not a deployment anyone plans), the others run
    /// where 16-bit arithmetic does.
    pub fn runs(&self, precision: Precision) -> bool {
        match precision {
            Precision::Fp8 => self.dense_tflops.contains_key(&Arithmetic::Fp8),
            Precision::Int8 => {
                self.dense_tflops.contains_key(&Arithmetic::Int8)
                    || self.dense_tflops.contains_key(&Arithmetic::Fp8)
            }
            _ => self.arithmetic_for(precision).is_some(),
        }
    }

    /// Every figure finite and positive, and 16-bit arithmetic listed.
    pub fn check(&self) -> Result<(), String> {
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !(positive(self.memory_gb) && positive(self.memory_bandwidth_tb_s)) {
            return Err(format!(
                "accelerator `{}`: memory_gb and memory_bandwidth_tb_s must be finite numbers > 0",
                self.name
            ));
        }
        if let Some((a, t)) = self.dense_tflops.iter().find(|(_, t)| !positive(**t)) {
            return Err(format!(
                "accelerator `{}`: dense_tflops.{} is {t}; it must be a finite number > 0",
                self.name,
                a.name().to_ascii_lowercase()
            ));
        }
        if !self.dense_tflops.contains_key(&Arithmetic::Bf16) {
            return Err(format!(
                "accelerator `{}`: dense_tflops needs a bf16 figure",
                self.name
            ));
        }
        if let Some((system, _)) = self.systems.iter().find(|(_, n)| **n == 0) {
            return Err(format!(
                "accelerator `{}`: systems.{system} must hold at least one accelerator",
                self.name
            ));
        }
        if self.interconnect_gb_s.is_some_and(|g| !positive(g)) {
            return Err(format!(
                "accelerator `{}`: interconnect_gb_s must be a finite number > 0",
                self.name
            ));
        }
        Ok(())
    }

    /// Whether `text` names this accelerator: its name or an alias, compared by letters and
    /// digits only ("H100", "h100-sxm", "NVIDIA H100 80 GB").
    pub fn is_named(&self, text: &str) -> bool {
        let key = squash(text);
        !key.is_empty()
            && std::iter::once(&self.name)
                .chain(&self.aliases)
                .any(|n| squash(n) == key)
    }
}

/// Lower-case letters and digits only.
pub fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
