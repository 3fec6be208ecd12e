//! How far real servers stay from the roofline, fitted on published tables and shared by
//! accelerator vendor (never one per table): the share of the peak memory bandwidth a decode
//! step's reads reach, and a fixed time each layer adds to every step (kernel launches,
//! synchronisation, tensor-parallel communication), which dominates small batches on
//! many-accelerator deployments.

use serde::{Deserialize, Serialize};

use super::roofline::Roofline;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Efficiency {
    /// Share of the peak memory bandwidth a decode step's weight and KV reads reach.
    pub bandwidth: f64,
    /// Time each layer adds to every decode step, seconds.
    pub layer_s: f64,
    /// Share of the peak dense arithmetic a prefill reaches (an assumption where no table
    /// varies its prompt enough to fit it).
    pub compute: f64,
}

/// A vendor's row of `catalog/efficiency.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorEfficiency {
    /// An accelerator vendor (catalog/hardware.toml's `vendor`), or `all` for the row used
    /// when a vendor has none.
    pub vendor: String,
    #[serde(flatten)]
    pub efficiency: Efficiency,
    /// The published tables it was fitted on.
    pub tables: Vec<String>,
    pub source: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfficiencyFile {
    #[serde(default)]
    pub vendor: Vec<VendorEfficiency>,
}

impl EfficiencyFile {
    /// The row for `vendor`, else the `all` row.
    pub fn for_vendor(&self, vendor: &str) -> Option<&VendorEfficiency> {
        self.vendor
            .iter()
            .find(|v| v.vendor.eq_ignore_ascii_case(vendor))
            .or_else(|| self.vendor.iter().find(|v| v.vendor == "all"))
    }

    /// Every share in (0, 1] and every time finite and ≥ 0.
    pub fn check(&self) -> Result<(), String> {
        for v in &self.vendor {
            let e = v.efficiency;
            let share = |x: f64| x.is_finite() && x > 0.0 && x <= 1.0;
            if !(share(e.bandwidth)
                && share(e.compute)
                && e.layer_s.is_finite()
                && e.layer_s >= 0.0
                && e.layer_s < 1.0)
            {
                return Err(format!(
                    "vendor `{}`: bandwidth and compute must be shares in (0, 1] and layer_s a time from 0 to 1 s",
                    v.vendor
                ));
            }
        }
        Ok(())
    }
}

/// The share of peak arithmetic assumed for prefill: the roofline prior's (twice the floor).
pub const ASSUMED_COMPUTE: f64 = 0.5;

impl Efficiency {
    /// A decode step of `n` sequences holding `held_context` tokens.
    /// The layers' fixed time, the reads at the reached bandwidth and each sequence's
    /// arithmetic at the reached share of the peak, added (the server model's step).
    pub fn step_s(&self, roofline: &Roofline, n: f64, held_context: f64) -> f64 {
        let reads = roofline.weights_read_bytes(n) / roofline.bandwidth_bytes_s
            + held_context.max(0.0) * roofline.kv_s_per_token();
        roofline.architecture.layers * self.layer_s
            + reads / self.bandwidth
            + n.max(1.0) * self.sequence_compute_s(roofline)
    }

    /// One sequence's share of a decode step's arithmetic (`2 × active parameters`).
    pub fn sequence_compute_s(&self, roofline: &Roofline) -> f64 {
        2.0 * roofline.architecture.active_parameters / (roofline.flops * self.compute)
    }
}

/// A measured decode step: a level's p50 TPOT on known hardware.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub roofline: Roofline,
    pub concurrency: f64,
    /// Context the batch holds, tokens (concurrency × (prompt + half the reply)).
    pub held_context: f64,
    pub tpot_s: f64,
}

/// The efficiency whose steps best match the observations (least squares on log TPOT, each
/// table weighted by its levels), by a grid over the bandwidth share (5–100 %) and the
/// per-layer time (0 and 1 µs–2 ms); `None` without observations.
pub fn fit(observations: &[Observation]) -> Option<Efficiency> {
    if observations.is_empty() {
        return None;
    }
    let shares: Vec<f64> = (0..=60)
        .map(|i| 0.05 * 20f64.powf(i as f64 / 60.0))
        .collect();
    let layer_times: Vec<f64> = std::iter::once(0.0)
        .chain((0..=66).map(|i| 1e-6 * 2000f64.powf(i as f64 / 66.0)))
        .collect();
    let mut best: Option<(f64, Efficiency)> = None;
    for &bandwidth in &shares {
        for &layer_s in &layer_times {
            let e = Efficiency {
                bandwidth,
                layer_s,
                compute: ASSUMED_COMPUTE,
            };
            let cost: f64 = observations
                .iter()
                .map(|o| {
                    let r = (e.step_s(&o.roofline, o.concurrency, o.held_context) / o.tpot_s).ln();
                    r * r
                })
                .sum();
            if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                best = Some((cost, e));
            }
        }
    }
    best.map(|(_, e)| e)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::physics::{Accelerator, Architecture, Arithmetic, Precision};

    /// Steps made from a known efficiency are fitted back to it.
    #[test]
    fn a_known_efficiency_is_recovered() {
        let accelerator = Accelerator {
            name: "X".into(),
            vendor: "x".into(),
            aliases: vec![],
            memory_gb: 80.0,
            memory_bandwidth_tb_s: 3.0,
            dense_tflops: [(Arithmetic::Bf16, 1000.0)].into_iter().collect(),
            interconnect_gb_s: None,
            systems: BTreeMap::new(),
            source: "test".into(),
            date: "2026-12".into(),
        };
        let architecture = Architecture {
            parameters: 8e9,
            active_parameters: 8e9,
            experts: None,
            layers: 32.0,
            attention_layers: 32.0,
            attention_dim: 4096.0,
            kv_bytes_per_token: 131_072.0,
        };
        let truth = Efficiency {
            bandwidth: 0.5 * 20f64.powf(40.0 / 60.0) / 20f64.powf(40.0 / 60.0),
            layer_s: 1e-6 * 2000f64.powf(30.0 / 66.0),
            compute: ASSUMED_COMPUTE,
        };
        let mut observations = Vec::new();
        for count in [1, 4] {
            let roofline =
                Roofline::new(architecture, &accelerator, count, Precision::Bf16).unwrap();
            for n in [1.0, 8.0, 64.0] {
                let held = n * 1_500.0;
                observations.push(Observation {
                    tpot_s: truth.step_s(&roofline, n, held),
                    roofline: roofline.clone(),
                    concurrency: n,
                    held_context: held,
                });
            }
        }
        let e = fit(&observations).unwrap();
        assert!((e.bandwidth / truth.bandwidth - 1.0).abs() < 0.06, "{e:?}");
        assert!((e.layer_s / truth.layer_s - 1.0).abs() < 0.06, "{e:?}");
    }
}
