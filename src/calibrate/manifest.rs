//! `manifest.json`: what a run measured, against what, how, when, and whether it finished.
//! Never a credential: targets describe themselves through `TargetInfo`, which holds none.

use serde::{Deserialize, Serialize};

use super::prompt::TokensPerWord;
use super::record::RequestRecord;
use super::sweep::SweepSpec;
use super::target::TargetInfo;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub tool_version: String,
    pub name: String,
    pub target: String,
    pub model_id: String,
    pub endpoint: String,
    pub region: Option<String>,
    pub sweep: SweepSpec,
    pub prompt_sizing: PromptSizing,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `complete`, or `partial` while running and after an interruption or abort.
    pub status: String,
    pub stop_reason: Option<String>,
    pub counts: Counts,
    /// How many invocations wrote to this run (1, plus one per `--resume`).
    pub sessions: u32,
}

/// How prompts were sized: tokens ≈ overhead + per_word × words.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptSizing {
    pub overhead_tokens: f64,
    pub tokens_per_word: f64,
    /// Measured with two probe requests on the target, or the default guess.
    pub measured: bool,
}

impl From<TokensPerWord> for PromptSizing {
    fn from(t: TokensPerWord) -> Self {
        PromptSizing {
            overhead_tokens: t.overhead,
            tokens_per_word: t.per_word,
            measured: t.measured,
        }
    }
}

impl From<PromptSizing> for TokensPerWord {
    fn from(p: PromptSizing) -> Self {
        TokensPerWord {
            overhead: p.overhead_tokens,
            per_word: p.tokens_per_word,
            measured: p.measured,
        }
    }
}

/// Every request sent is accounted for: sent = ok + failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub throttled: u64,
    pub warmup: u64,
    pub cooldown: u64,
    pub early_stops: u64,
    /// Server prompt counts more than 25 % off the client's estimate.
    pub token_mismatches: u64,
}

impl Counts {
    pub fn of(records: &[RequestRecord]) -> Counts {
        let count =
            |f: &dyn Fn(&RequestRecord) -> bool| records.iter().filter(|r| f(r)).count() as u64;
        Counts {
            sent: records.len() as u64,
            ok: count(&|r| r.is_ok()),
            failed: count(&|r| !r.is_ok()),
            throttled: count(&|r| r.status == "throttled"),
            warmup: count(&|r| r.warmup),
            cooldown: count(&|r| r.cooldown),
            early_stops: count(&|r| r.early_stop),
            token_mismatches: count(&|r| r.token_mismatch()),
        }
    }
}

impl Manifest {
    pub fn new(
        name: &str,
        target: &TargetInfo,
        sweep: &SweepSpec,
        sizing: TokensPerWord,
        started_at: String,
    ) -> Manifest {
        Manifest {
            tool: "llmcap".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            name: name.to_string(),
            target: target.target.clone(),
            model_id: target.model_id.clone(),
            endpoint: target.endpoint.clone(),
            region: target.region.clone(),
            sweep: sweep.clone(),
            prompt_sizing: sizing.into(),
            started_at,
            finished_at: None,
            status: "partial".into(),
            stop_reason: Some("running".into()),
            counts: Counts::default(),
            sessions: 1,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.status == "complete"
    }
}
