//! The roofline of one copy of a model on `count` accelerators (tensor- or expert-parallel,
//! communication left out): no decode step can be faster than reading the weights it uses and
//! the KV cache it attends to at the memory bandwidth, and no prefill faster than its
//! arithmetic at the peak dense FLOP/s. Floors, not predictions: a real server reaches a
//! fraction of them (`physics::efficiency`).

use super::accelerator::Accelerator;
use super::architecture::Architecture;
use super::precision::{Arithmetic, Precision};
use super::PhysicsError;

#[derive(Clone, Debug, PartialEq)]
pub struct Roofline {
    pub architecture: Architecture,
    pub precision: Precision,
    pub arithmetic: Arithmetic,
    /// Accelerators holding the copy.
    pub count: f64,
    /// Bytes a second of all `count` accelerators.
    pub bandwidth_bytes_s: f64,
    /// Peak dense FLOP/s of all `count` accelerators in `arithmetic`.
    pub flops: f64,
    /// Accelerator memory of all `count`, bytes.
    pub memory_bytes: f64,
}

impl Roofline {
    pub fn new(
        architecture: Architecture,
        accelerator: &Accelerator,
        count: u32,
        precision: Precision,
    ) -> Result<Roofline, PhysicsError> {
        if count == 0 {
            return Err(PhysicsError::Count);
        }
        let (arithmetic, flops) =
            accelerator
                .arithmetic_for(precision)
                .ok_or_else(|| PhysicsError::NoArithmetic {
                    accelerator: accelerator.name.clone(),
                    precision: precision.name(),
                })?;
        let n = f64::from(count);
        Ok(Roofline {
            architecture,
            precision,
            arithmetic,
            count: n,
            bandwidth_bytes_s: n * accelerator.bandwidth_bytes_s(),
            flops: n * flops,
            memory_bytes: n * accelerator.memory_gb * 1e9,
        })
    }

    fn bytes(&self, parameters: f64) -> f64 {
        parameters * self.precision.bytes_per_parameter()
    }

    /// Weights every step reads whatever the batch, seconds at full bandwidth.
    pub fn fixed_weights_s(&self) -> f64 {
        self.bytes(self.architecture.fixed_and_routed().0) / self.bandwidth_bytes_s
    }

    /// Reading every routed expert once, seconds (0 for a dense model).
    pub fn all_experts_s(&self) -> f64 {
        self.bytes(self.architecture.fixed_and_routed().1) / self.bandwidth_bytes_s
    }

    /// Reading one token's KV cache, seconds.
    pub fn kv_s_per_token(&self) -> f64 {
        self.architecture.kv_bytes_per_token * self.precision.kv_share() / self.bandwidth_bytes_s
    }

    /// Weights a decode step of `n` sequences reads, in bytes: the fixed part and the routed
    /// experts the batch touches (in expectation).
    pub fn weights_read_bytes(&self, n: f64) -> f64 {
        let (fixed, routed) = self.architecture.fixed_and_routed();
        let touched = self
            .architecture
            .experts
            .map_or(0.0, |e| e.touched_share(n.max(1.0)));
        self.bytes(fixed + routed * touched)
    }

    /// The fastest a decode step of `n` sequences holding `held_context` tokens in all can be:
    /// its memory traffic over the bandwidth or its arithmetic (`2 × active parameters` a
    /// token) over the peak, whichever is longer.
    pub fn decode_step_floor_s(&self, n: f64, held_context: f64) -> f64 {
        let memory = self.weights_read_bytes(n) / self.bandwidth_bytes_s
            + held_context.max(0.0) * self.kv_s_per_token();
        let compute = 2.0 * self.architecture.active_parameters * n.max(1.0) / self.flops;
        memory.max(compute)
    }

    /// Prefill arithmetic per prompt token at the peak: `2 × active parameters` FLOPs.
    pub fn prefill_s_per_token(&self) -> f64 {
        2.0 * self.architecture.active_parameters / self.flops
    }

    /// Attention's prefill arithmetic in the server model's convention (a prompt of `p` tokens
    /// costs `coefficient · p²/2`): causal attention over `p` tokens is `p²/2` pairs at
    /// `4 × attention_dim` FLOPs in each full-attention layer.
    pub fn attention_s_per_token2(&self) -> f64 {
        4.0 * self.architecture.attention_layers * self.architecture.attention_dim / self.flops
    }

    /// The fastest a prompt of `p` tokens can be prefilled alone: its arithmetic at the peak,
    /// and at least one read of the weights it uses (all experts, for a long prompt).
    pub fn prefill_floor_s(&self, prompt_tokens: f64) -> f64 {
        let p = prompt_tokens.max(0.0);
        let compute = self.prefill_s_per_token() * p + self.attention_s_per_token2() * p * p / 2.0;
        let weights = self.weights_read_bytes(p.max(1.0)) / self.bandwidth_bytes_s;
        compute.max(weights)
    }

    /// Bytes the weights take in accelerator memory.
    pub fn weights_bytes(&self) -> f64 {
        self.bytes(self.architecture.parameters)
    }

    /// The most sequences of `context_tokens` each the KV cache can hold when `usable` of the
    /// memory is given to the server (vLLM's `gpu_memory_utilization`), after the weights;
    /// `None` when the weights do not fit.
    pub fn max_sequences(&self, context_tokens: f64, usable: f64) -> Option<f64> {
        let room = self.memory_bytes * usable - self.weights_bytes();
        let per_sequence = self.architecture.kv_bytes_per_token
            * self.precision.kv_share()
            * context_tokens.max(1.0);
        (room > 0.0 && per_sequence > 0.0).then(|| room / per_sequence)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::architecture::Experts;
    use super::*;

    fn accelerator(name: &str, bw_tb_s: f64, tflops: &[(Arithmetic, f64)], gb: f64) -> Accelerator {
        Accelerator {
            name: name.into(),
            vendor: "test".into(),
            aliases: vec![],
            memory_gb: gb,
            memory_bandwidth_tb_s: bw_tb_s,
            dense_tflops: tflops.iter().copied().collect::<BTreeMap<_, _>>(),
            interconnect_gb_s: None,
            systems: BTreeMap::new(),
            source: "test".into(),
            date: "2026-12".into(),
        }
    }

    /// Llama 3.3 70B (80 layers, 64 query heads × 128, 8 KV heads × 128) on 2 × H100 SXM at
    /// FP8, computed by hand.
    #[test]
    fn a_dense_model_on_two_h100s_by_hand() {
        let h100 = accelerator(
            "H100",
            3.35,
            &[(Arithmetic::Bf16, 989.4), (Arithmetic::Fp8, 1978.9)],
            80.0,
        );
        let llama = Architecture {
            parameters: 70.6e9,
            active_parameters: 70.6e9,
            experts: None,
            layers: 80.0,
            attention_layers: 80.0,
            attention_dim: 8192.0,
            kv_bytes_per_token: 2.0 * 80.0 * 8.0 * 128.0 * 2.0,
        };
        let r = Roofline::new(llama, &h100, 2, Precision::Fp8).unwrap();
        // Weights: 70.6 GB at 1 byte over 6.7 TB/s = 10.537 ms.
        assert!((r.fixed_weights_s() - 70.6e9 / 6.7e12).abs() < 1e-12);
        assert!((r.fixed_weights_s() * 1e3 - 10.537).abs() < 1e-3);
        // One sequence holding 5,000 tokens of FP8 KV (163,840 bytes a token): + 0.1223 ms.
        let step = r.decode_step_floor_s(1.0, 5_000.0);
        let by_hand = (70.6e9 + 5_000.0 * 163_840.0) / 6.7e12;
        assert!((step - by_hand).abs() < 1e-12, "{step} vs {by_hand}");
        // Prefill: 141.2 GFLOP a token over 3,957.8 TFLOP/s = 35.68 µs; attention 4·80·8192
        // FLOP a pair; 5,000 tokens: 12.5 M pairs.
        assert!((r.prefill_s_per_token() * 1e6 - 35.676).abs() < 1e-3);
        let prefill = r.prefill_floor_s(5_000.0);
        let hand = (141.2e9 * 5_000.0 + 4.0 * 80.0 * 8192.0 * 5_000.0 * 5_000.0 / 2.0) / 3957.8e12;
        assert!((prefill - hand).abs() < 1e-12);
        // Memory: 160 GB, 90 % usable, 70.6 GB of weights: 73.4 GB of KV at 163,840 bytes a
        // token, 5,500-token sequences: 81.4 sequences.
        let b = r.max_sequences(5_500.0, 0.9).unwrap();
        assert!((b - (144e9 - 70.6e9) / (163_840.0 * 5_500.0)).abs() < 1e-9);
        // FP8 needs FP8 arithmetic; an Ampere card has none.
        let a10g = accelerator("A10G", 0.6, &[(Arithmetic::Bf16, 70.0)], 24.0);
        assert!(!a10g.runs(Precision::Fp8));
        assert!(a10g.runs(Precision::Int4));
        assert!(h100.runs(Precision::Fp8));
    }

    /// DeepSeek-R1 (671 B, 37 B active, 256 routed experts, 8 a token) on 8 × MI300X at FP8:
    /// a step of one sequence reads the active weights; of 64, the fixed part plus the share of
    /// experts 64 tokens touch, 1 − (248/256)^64 = 86.89 %.
    #[test]
    fn a_mixture_of_experts_on_eight_mi300x_by_hand() {
        let mi300x = accelerator(
            "MI300X",
            5.3,
            &[(Arithmetic::Bf16, 1307.4), (Arithmetic::Fp8, 2614.9)],
            192.0,
        );
        let r1 = Architecture {
            parameters: 671e9,
            active_parameters: 37e9,
            experts: Some(Experts {
                total: 256.0,
                per_token: 8.0,
            }),
            layers: 61.0,
            attention_layers: 61.0,
            attention_dim: 20_480.0,
            kv_bytes_per_token: 61.0 * 576.0 * 2.0,
        };
        let r = Roofline::new(r1, &mi300x, 8, Precision::Fp8).unwrap();
        let routed: f64 = (671e9 - 37e9) / (1.0 - 8.0 / 256.0);
        let fixed = 671e9 - routed;
        assert!((fixed / 1e9 - 16.548).abs() < 1e-3, "{fixed}");
        let bw = 8.0 * 5.3e12;
        assert!((r.decode_step_floor_s(1.0, 0.0) - 37e9 / bw).abs() < 1e-12);
        let touched = 1.0 - (248.0_f64 / 256.0).powi(64);
        assert!((touched - 0.8689).abs() < 1e-4, "{touched}");
        let by_hand = (fixed + routed * touched) / bw + 64.0 * 2_000.0 * 70_272.0 * 0.5 / bw;
        let step = r.decode_step_floor_s(64.0, 64.0 * 2_000.0);
        assert!((step - by_hand).abs() < 1e-12, "{step} vs {by_hand}");
        assert!((r.all_experts_s() - routed / bw).abs() < 1e-12);
        // 671 GB of FP8 weights fit in 1,536 GB with room for KV.
        assert!(r.max_sequences(4_000.0, 0.9).unwrap() > 1_000.0);
        // The same model at BF16 on one MI300X does not fit.
        let one = Roofline::new(r1, &mi300x, 1, Precision::Bf16).unwrap();
        assert_eq!(one.max_sequences(4_000.0, 0.9), None);
    }
}
