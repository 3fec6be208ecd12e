//! `manifest.json`: what a run measured, against what, how, when, and whether it finished.
//! Never a credential: targets describe themselves through `TargetInfo`, which holds none.

use serde::{Deserialize, Serialize};

use super::prompt::{PromptNonce, TokensPerWord};
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
    /// The run's prompt nonce (16 hex digits): every prompt opens with a tag hashed from it, so
    /// a second run never resends the first's prompts. `--resume` reuses it. Absent in
    /// manifests written before nonces existed.
    #[serde(default)]
    pub prompt_nonce: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `complete`; `partial` while running and after an interruption or abort; `failed` when
    /// the sweep ran to its end but some level had too few successful requests to measure
    /// (`stop_reason` names them).
    pub status: String,
    pub stop_reason: Option<String>,
    pub counts: Counts,
    /// How many invocations wrote to this run (1, plus one per `--resume`).
    pub sessions: u32,
    /// `--auto`: where the endpoint saturated and what showed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<super::auto::Knee>,
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
        nonce: PromptNonce,
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
            prompt_nonce: Some(nonce.to_hex()),
            started_at,
            finished_at: None,
            status: "partial".into(),
            stop_reason: Some("running".into()),
            counts: Counts::default(),
            sessions: 1,
            knee: None,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.status == "complete"
    }

    /// The nonce this session's prompts use: the run's own when it has one (so `--resume`
    /// keeps the run's text), else a fresh one, recorded here.
    pub fn session_nonce(&mut self) -> PromptNonce {
        if let Some(nonce) = self.prompt_nonce.as_deref().and_then(PromptNonce::from_hex) {
            return nonce;
        }
        let nonce = PromptNonce::fresh();
        self.prompt_nonce = Some(nonce.to_hex());
        nonce
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(nonce: PromptNonce) -> Manifest {
        let target = TargetInfo {
            target: "openai".into(),
            model_id: "m".into(),
            endpoint: "http://127.0.0.1:1".into(),
            region: None,
            paid_per_token: false,
        };
        Manifest::new(
            "run",
            &target,
            &crate::calibrate::sweep::tests::spec(),
            TokensPerWord::default(),
            nonce,
            "2026-01-01T00:00:00Z".into(),
        )
    }

    #[test]
    fn resume_reuses_the_runs_nonce() {
        let nonce = PromptNonce::fresh();
        let written = serde_json::to_string(&manifest(nonce)).unwrap();
        // What --resume reads back.
        let mut resumed: Manifest = serde_json::from_str(&written).unwrap();
        assert_eq!(resumed.session_nonce(), nonce);
        assert_eq!(resumed.session_nonce(), nonce, "and keeps it");
    }

    #[test]
    fn a_manifest_from_before_nonces_gets_one_and_keeps_it() {
        let mut old = manifest(PromptNonce(1));
        old.prompt_nonce = None;
        let json = serde_json::to_value(&old).unwrap();
        let mut without: serde_json::Value = json;
        without.as_object_mut().unwrap().remove("prompt_nonce");
        let mut read: Manifest = serde_json::from_value(without).unwrap();
        let nonce = read.session_nonce();
        assert_eq!(read.prompt_nonce, Some(nonce.to_hex()));
        assert_eq!(read.session_nonce(), nonce);
    }
}
