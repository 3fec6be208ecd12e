//! A model's architecture as far as the hardware sees it: the weights a step reads, the KV cache
//! a token keeps, the arithmetic a prompt token costs.

use serde::{Deserialize, Serialize};

/// A mixture-of-experts model's routed experts: each token of a decode step is sent to
/// `per_token` of `total` experts in every MoE layer, so a step of `n` sequences reads the
/// weights of the distinct experts they touch, `total·(1 − (1 − per_token/total)ⁿ)` in
/// expectation, and that count stops growing once every expert is read.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experts {
    /// Routed experts per MoE layer (shared experts, always read, belong to the fixed step).
    pub total: f64,
    /// Routed experts each token uses.
    pub per_token: f64,
}

impl Experts {
    /// Expected share of the routed experts a step of `n` sequences touches (one token each).
    pub fn touched_share(&self, n: f64) -> f64 {
        let miss = (1.0 - self.per_token / self.total).clamp(0.0, 1.0);
        1.0 - miss.powf(n.max(0.0))
    }

    /// Both counts finite, at least one, and no more used than there are.
    pub fn check(&self) -> Result<(), String> {
        if !(self.total.is_finite() && self.total >= 1.0 && self.total <= 1e6) {
            return Err(format!(
                "field `server.experts.total` is {}; it must be a number of experts from 1 to 1,000,000",
                self.total
            ));
        }
        if !(self.per_token.is_finite() && self.per_token >= 1.0 && self.per_token <= self.total) {
            return Err(format!(
                "field `server.experts.per_token` is {}; it must be at least 1 and at most `total` ({})",
                self.per_token, self.total
            ));
        }
        Ok(())
    }
}

/// What the roofline needs of a model (from `catalog/models.toml`, sourced to its config).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Architecture {
    /// Parameters in all (count, not billions).
    pub parameters: f64,
    /// Parameters one token uses (all of them for a dense model).
    pub active_parameters: f64,
    pub experts: Option<Experts>,
    /// Transformer layers.
    pub layers: f64,
    /// Layers whose attention spans the whole context (the rest slide over a short window and
    /// neither keep a long KV cache nor grow a prompt's attention quadratically).
    pub attention_layers: f64,
    /// Query heads × head dimension: a pair of tokens costs `4 × attention_dim` FLOPs of
    /// attention in each full-attention layer (QKᵀ and the weighted sum of V).
    pub attention_dim: f64,
    /// KV-cache bytes a token of context keeps, at 16 bits (all layers; MLA's latent vector).
    pub kv_bytes_per_token: f64,
}

impl Architecture {
    /// Parameters every token reads (attention, embeddings, dense layers, shared experts) and
    /// the routed experts' parameters in all: `active = fixed + routed·k/E` and
    /// `total = fixed + routed`. A dense model is all fixed.
    pub fn fixed_and_routed(&self) -> (f64, f64) {
        match self.experts {
            Some(e) if e.per_token < e.total => {
                let routed =
                    (self.parameters - self.active_parameters) / (1.0 - e.per_token / e.total);
                let routed = routed.clamp(0.0, self.parameters);
                (self.parameters - routed, routed)
            }
            _ => (self.parameters, 0.0),
        }
    }
}
