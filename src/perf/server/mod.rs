//! The server as a queue (docs/DESIGN.md, "The server model"): an iteration-level
//! continuous-batching server with a handful of physical parameters. TTFT and TPOT are not
//! formulas here; they emerge from running the server (`bench`): a request waits for one of `B`
//! batch slots, waits for the prefills ahead of it, is prefilled, then decodes one token per step
//! while the steps are stretched by the prefills that share them.

pub mod bench;
pub mod fit;
pub mod from_hardware;
pub mod interval;
pub mod params;

use serde::{Deserialize, Serialize};

use super::model::TpotModel;

/// How prefills share the server with decodes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Sharing {
    /// Every waiting prefill runs whole in one step between decode steps; decodes stall while
    /// it runs (vLLM without chunked prefill, TGI's default).
    Whole,
    /// Each step runs every decode plus up to `tokens_per_step` prompt tokens, oldest request
    /// first (vLLM's chunked prefill, TensorRT-LLM's `max_num_tokens`).
    Chunked { tokens_per_step: f64 },
}

impl Sharing {
    /// The policies a fit tries: whole prefills, and the two chunk budgets servers ship with
    /// (vLLM's 2,048 and the 8,192 of vLLM V1's online default and TensorRT-LLM).
    pub const CANDIDATES: [Sharing; 3] = [
        Sharing::Whole,
        Sharing::Chunked {
            tokens_per_step: 2_048.0,
        },
        Sharing::Chunked {
            tokens_per_step: 8_192.0,
        },
    ];

    pub fn label(self) -> String {
        match self {
            Sharing::Whole => "whole prefills".into(),
            Sharing::Chunked { tokens_per_step } => {
                format!("chunked prefill, {tokens_per_step:.0} tokens a step")
            }
        }
    }
}

pub use crate::physics::Experts;

/// Roofline floors under the server's parameters (from the accelerators and the model,
/// `physics::Roofline`): the fit keeps each parameter at or above its floor, since the levels
/// cannot ask for a step or a prefill faster than the hardware runs. All zero: no floors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Floors {
    /// Reading the weights every step reads (all of a dense model's; a mixture of experts'
    /// fixed part), seconds.
    pub step_t0_s: f64,
    /// Reading one held token's KV cache, seconds.
    pub step_s_per_held_token: f64,
    /// A prompt token's arithmetic at the peak, seconds.
    pub prefill_s_per_token: f64,
    /// Attention's prefill arithmetic (`· p²/2`), seconds.
    pub attention_s_per_token2: f64,
    /// Reading every routed expert once, seconds.
    pub experts_step_s: f64,
}

impl Floors {
    pub fn of(roofline: &crate::physics::Roofline) -> Floors {
        Floors {
            step_t0_s: roofline.fixed_weights_s(),
            step_s_per_held_token: roofline.kv_s_per_token(),
            prefill_s_per_token: roofline.prefill_s_per_token(),
            attention_s_per_token2: roofline.attention_s_per_token2(),
            experts_step_s: roofline.all_experts_s(),
        }
    }
}

/// What the levels were measured on, as far as the fit can use it: the model's routed experts
/// (a mixture of experts) and the hardware's floors.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Served {
    pub experts: Option<Experts>,
    pub floors: Option<Floors>,
    /// Tokens every measured prompt began with that the server reported cached
    /// (`ServerModel::shared_prefix_tokens`).
    pub shared_prefix_tokens: f64,
}

/// The routed experts' share of a decode step: `step_s_all_experts` is the time to read every
/// routed expert's weights once; a step pays its touched share of it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpertStep {
    #[serde(flatten)]
    pub experts: Experts,
    pub step_s_all_experts: f64,
}

/// The mechanistic server. Times in seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerModel {
    /// Most sequences in the batch at once (`None`: unbounded, as a managed service appears).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<f64>,
    /// A decode step with `n` sequences holding `K` context tokens (today's TPOT forms).
    pub step: TpotModel,
    /// Step time added per token of the *mean* sequence's context: attention that runs in
    /// parallel across the batch's sequences costs by the longest of them, not their sum.
    #[serde(default)]
    pub step_s_per_mean_context: f64,
    /// Prefill compute per prompt token.
    pub prefill_s_per_token: f64,
    /// Prefill cost of each prompt whatever its length (its own kernel launches, padding, the
    /// first token's sampling): paid once per prompt, so a step that prefills `k` prompts pays
    /// it `k` times, unlike the step's fixed `t0`.
    #[serde(default)]
    pub prefill_s_per_request: f64,
    /// Attention's share of prefill: a prompt of `p` tokens costs
    /// `prefill_s_per_token·p + attention_s_per_token2·p²/2`.
    pub attention_s_per_token2: f64,
    pub sharing: Sharing,
    /// Fixed time outside the batch: network, tokenisation, queue hand-off.
    pub overhead_s: f64,
    /// A mixture-of-experts model's routed experts (absent: a dense model, whose step reads
    /// all its weights whatever the batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experts: Option<ExpertStep>,
    /// The roofline floors the model was fitted above (absent: fitted without hardware).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floors: Option<Floors>,
    /// How a closed-loop benchmark's replies vary: 0, every reply of the nominal length (the
    /// clients stay in the waves they started in); [`REPLY_SPREAD`], replies spread evenly
    /// over 80–100 % of it (as a benchmark's random lengths or replies ending at their own
    /// end-of-sequence make them), so the clients drift apart. A property of the benchmark the
    /// levels came from, chosen by the fit; the simulator's users are independent anyway.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reply_spread: f64,
    /// Tokens at the start of every calibration prompt that the server reported cached (the
    /// chat template, which a prefix-caching server such as llama-server or vLLM computes
    /// once): a prefill computes the rest, attending to them. Measured (`cached_tokens` in the
    /// run's records), never fitted; 0 for a server that reported none and for published
    /// tables.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shared_prefix_tokens: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The reply spread the fit tries beside fixed lengths: InferenceX's and vLLM's
/// `--random-range-ratio 0.8`, the spread most benchmarks that vary lengths use.
pub const REPLY_SPREAD: f64 = 0.2;

/// A fitted parameter beside its roofline floor.
#[derive(Clone, Debug, PartialEq)]
pub struct AgainstFloor {
    pub parameter: &'static str,
    pub value: f64,
    pub floor: f64,
}

impl AgainstFloor {
    /// Within 5 % of the floor: the levels asked for a faster server than the hardware runs.
    pub fn at_floor(&self) -> bool {
        self.value <= 1.05 * self.floor
    }
}

impl ServerModel {
    /// Each floored parameter with its floor (none without floors).
    pub fn against_floors(&self) -> Vec<AgainstFloor> {
        let Some(f) = self.floors else {
            return Vec::new();
        };
        let mut out = vec![
            AgainstFloor {
                parameter: "decode step's fixed cost (weights read)",
                value: self.step.t0_s,
                floor: f.step_t0_s,
            },
            AgainstFloor {
                parameter: "decode step per held token (KV read)",
                value: self.step.t2_s,
                floor: f.step_s_per_held_token,
            },
            AgainstFloor {
                parameter: "prefill per prompt token",
                value: self.prefill_s_per_token,
                floor: f.prefill_s_per_token,
            },
            AgainstFloor {
                parameter: "prefill attention per token²",
                value: self.attention_s_per_token2,
                floor: f.attention_s_per_token2,
            },
        ];
        if let Some(e) = self.experts {
            out.push(AgainstFloor {
                parameter: "reading every routed expert",
                value: e.step_s_all_experts,
                floor: f.experts_step_s,
            });
        }
        out.retain(|a| a.floor > 0.0);
        out
    }
    /// A decode step with `n` sequences holding `held_context` tokens in all.
    pub fn decode_step_s(&self, n: f64, held_context: f64) -> f64 {
        self.dense_step_s(n, held_context) + self.experts_step_s(n)
    }

    /// The decode step without the routed experts' weights.
    pub fn dense_step_s(&self, n: f64, held_context: f64) -> f64 {
        self.step.median_s(n, held_context)
            + self.step_s_per_mean_context * held_context / n.max(1.0)
    }

    /// Reading the routed experts `n` sequences touch (0 for a dense model). A function of `n`
    /// alone, so a step-by-step run computes it only when the batch changes.
    pub fn experts_step_s(&self, n: f64) -> f64 {
        self.experts.map_or(0.0, |e| {
            e.step_s_all_experts * e.experts.touched_share(n.max(1.0))
        })
    }

    /// Compute time of prompt tokens `from..from + chunk` of one request (its first chunk
    /// carries the per-prompt cost).
    pub fn prefill_chunk_s(&self, from: f64, chunk: f64) -> f64 {
        let first = if from <= 0.0 {
            self.prefill_s_per_request
        } else {
            0.0
        };
        first
            + self.prefill_s_per_token * chunk
            + self.attention_s_per_token2 * chunk * (from + chunk / 2.0)
    }

    /// Of a prompt of `prompt` tokens, those the server holds cached: the shared prefix, less
    /// the one token a first output needs computed.
    pub fn cached_of(&self, prompt: f64) -> f64 {
        self.shared_prefix_tokens.min(prompt - 1.0).max(0.0)
    }

    /// Compute time of `chunk` prompt tokens from position `from` of a prompt whose first
    /// `cached` tokens came from the prefix cache: the request's fixed cost comes with its
    /// first computed chunk.
    pub fn prefill_part_s(&self, cached: f64, from: f64, chunk: f64) -> f64 {
        let first = if cached > 0.0 && from <= cached {
            self.prefill_s_per_request
        } else {
            0.0
        };
        first + self.prefill_chunk_s(from, chunk)
    }

    /// Compute time of a whole prompt alone.
    pub fn prefill_s(&self, prompt_tokens: f64) -> f64 {
        self.prefill_chunk_s(0.0, prompt_tokens)
    }

    /// TTFT of a request alone on an idle server: overhead, one step's fixed cost, its prefill.
    pub fn unloaded_ttft_s(&self, prompt_tokens: f64) -> f64 {
        let cached = self.cached_of(prompt_tokens);
        self.overhead_s
            + self.step.t0_s
            + self.prefill_part_s(cached, cached, prompt_tokens - cached)
    }

    /// Every parameter finite and non-negative, the step time positive, B ≥ 1.
    pub fn check(&self) -> Result<(), String> {
        let values = [
            ("server.step.t0_s", self.step.t0_s),
            ("server.step.t1_s", self.step.t1_s),
            ("server.step.t2_s", self.step.t2_s),
            ("server.step.theta", self.step.theta.unwrap_or(1.0)),
            (
                "server.step_s_per_mean_context",
                self.step_s_per_mean_context,
            ),
            ("server.prefill_s_per_token", self.prefill_s_per_token),
            ("server.prefill_s_per_request", self.prefill_s_per_request),
            ("server.attention_s_per_token2", self.attention_s_per_token2),
            ("server.overhead_s", self.overhead_s),
            (
                "server.experts.step_s_all_experts",
                self.experts.map_or(0.0, |e| e.step_s_all_experts),
            ),
        ];
        for (field, value) in values {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!(
                    "field `{field}` is {value}; it must be a finite number ≥ 0 (refit with `llmcap fit`)"
                ));
            }
        }
        if let Some(e) = self.experts {
            e.experts.check()?;
        }
        if self.step.t0_s <= 0.0 {
            return Err("field `server.step.t0_s` must be > 0: a step takes time".into());
        }
        if let Some(b) = self.max_batch {
            if !(b.is_finite() && b >= 1.0) {
                return Err(format!(
                    "field `server.max_batch` is {b}; it must be a number ≥ 1 (or absent for unbounded)"
                ));
            }
        }
        if let Sharing::Chunked { tokens_per_step } = self.sharing {
            if !(tokens_per_step.is_finite() && tokens_per_step >= 1.0) {
                return Err(format!(
                    "field `server.sharing.tokens_per_step` is {tokens_per_step}; it must be a number ≥ 1"
                ));
            }
        }
        Ok(())
    }
}
