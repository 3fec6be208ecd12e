//! The profile: a fitted performance model with the service's model id, where it came from, what
//! range it was fitted on and how well it fits. Stored as TOML in `models/` and run directories.

use serde::{Deserialize, Serialize};

use super::error::PerfError;
use super::fit::{CandidateScore, FitReport, LevelFit};
use super::predict::PerfModel;
use super::server::fit::ServerCandidate;
use crate::physics::Precision;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The service's own id, e.g. `meta.llama3-3-70b-instruct-v1:0`.
    pub model_id: String,
    /// A readable name for tables and reports.
    pub name: String,
    pub provenance: Provenance,
    #[serde(flatten)]
    pub model: PerfModel,
    pub fit: FitSummary,
    /// The service's limits for this model: context window and default on-demand quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ServiceLimits>,
    /// What was measured: the model and the hardware one copy of it ran on. A plan refuses a
    /// SageMaker option whose hardware, model or precision differs, unless it says why it
    /// borrows the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<MeasuredOn>,
}

/// The model and hardware a profile measured (or, from `profile-from-hardware`, computed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredOn {
    /// The model's name in catalog/models.toml; absent when the measurements do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The accelerator's name in catalog/hardware.toml.
    pub accelerator: String,
    /// Accelerators holding one copy of the model.
    pub count: u32,
    /// The weights' precision; absent when the measurements do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// Tensor-parallel degree of the copy, where stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor_parallel: Option<u32>,
    /// The serving software and version, where stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

impl MeasuredOn {
    /// A tensor-parallel degree must divide the model over at most the copy's accelerators.
    pub fn check_tensor_parallel(tp: u32, count: u32) -> Result<(), String> {
        if tp == 0 || tp > count {
            return Err(format!(
                "tensor-parallel degree {tp}: it must be 1 to the copy's accelerator count ({count})"
            ));
        }
        Ok(())
    }

    /// "Llama 3.3 70B Instruct at FP8 on 2 × H100 (TP2, NVIDIA NIM 1.8.0)".
    pub fn describe(&self) -> String {
        let mut text = self
            .model
            .clone()
            .unwrap_or_else(|| "an unnamed model".into());
        if let Some(p) = self.precision {
            text += &format!(" at {}", p.name());
        }
        text += &format!(" on {} × {}", self.count, self.accelerator);
        let extra: Vec<String> = self
            .tensor_parallel
            .map(|tp| format!("TP{tp}"))
            .into_iter()
            .chain(self.server.clone())
            .collect();
        if !extra.is_empty() {
            text += &format!(" ({})", extra.join(", "));
        }
        text
    }
}

/// What the service allows, with its source: planners fall back to the default quota when a
/// scenario names none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceLimits {
    /// Tokens of prompt + output the model accepts.
    #[serde(default)]
    pub context_window: Option<u64>,
    /// The largest output a request may ask for (the emulator refuses more; absent: the window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Default on-demand tokens per minute for a new account (Bedrock).
    #[serde(default)]
    pub quota_tpm: Option<f64>,
    /// Default on-demand requests per minute (Bedrock).
    #[serde(default)]
    pub quota_rpm: Option<f64>,
    /// Quota tokens charged per output token (5 for Claude Sonnet 4 / Opus 4, else 1).
    #[serde(default = "one")]
    pub output_burndown: f64,
    pub source: String,
    pub date: String,
}

fn one() -> f64 {
    1.0
}

/// Where the numbers came from, so a reader can judge them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The measurements: a calibration run or a publication.
    pub source: String,
    /// When the measurements were taken or published (or the fit date when unknown).
    pub date: String,
    /// The endpoint measured: service, region, deployment.
    pub target: String,
    /// How the profile was made (command and tool version).
    pub method: String,
}

/// How well the profile fits; copied from the fit report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    pub candidates: Vec<CandidateScore>,
    pub levels: Vec<LevelFit>,
    #[serde(default)]
    pub leave_one_level_out: Vec<LevelFit>,
    /// Levels measured but deliberately left out of the fit, predicted by it.
    #[serde(default)]
    pub held_out: Vec<LevelFit>,
    /// The server model's candidates: sharing policy × batch limit, with their errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_candidates: Vec<ServerCandidate>,
}

impl Profile {
    pub fn from_fit(
        model_id: String,
        name: String,
        provenance: Provenance,
        report: &FitReport,
        held_out: Vec<LevelFit>,
    ) -> Profile {
        Profile {
            model_id,
            name,
            provenance,
            model: report.model.clone(),
            fit: FitSummary {
                candidates: report.candidates.clone(),
                levels: report.levels.clone(),
                leave_one_level_out: report.leave_one_level_out.clone(),
                held_out,
                server_candidates: report.server_candidates.clone(),
            },
            limits: None,
            hardware: None,
        }
    }

    pub fn from_toml_str(text: &str) -> Result<Profile, PerfError> {
        let profile: Profile = toml::from_str(text).map_err(PerfError::ProfileToml)?;
        profile.check()?;
        Ok(profile)
    }

    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a profile always serialises")
    }

    /// Every parameter a prediction uses must be finite and non-negative.
    pub fn check(&self) -> Result<(), PerfError> {
        let m = &self.model;
        let values = [
            ("tpot.t0_s", m.tpot.t0_s),
            ("tpot.t1_s", m.tpot.t1_s),
            ("tpot.t2_s", m.tpot.t2_s),
            ("tpot.theta", m.tpot.theta.unwrap_or(1.0)),
            ("ttft.a0_s", m.ttft.a0_s),
            ("ttft.a1_s", m.ttft.a1_s),
            ("ttft.a2", m.ttft.a2),
            ("ttft.gamma", m.ttft.gamma.unwrap_or(1.0)),
            ("tpot_noise.sigma0", m.tpot_noise.sigma0),
            ("ttft_noise.sigma0", m.ttft_noise.sigma0),
            (
                "tpot_noise.spike_probability",
                m.tpot_noise.spike_probability,
            ),
            (
                "ttft_noise.spike_probability",
                m.ttft_noise.spike_probability,
            ),
        ];
        for (field, value) in values {
            if !(value.is_finite() && value >= 0.0) {
                return Err(PerfError::BadRequest(format!(
                    "field `{field}` is {value}; it must be a finite number ≥ 0 (refit with `llmcap fit`)"
                )));
            }
        }
        if let Some(server) = &m.server {
            server.check().map_err(PerfError::BadRequest)?;
        }
        if m.tpot.t0_s <= 0.0 {
            return Err(PerfError::BadRequest(
                "field `tpot.t0_s` must be > 0: a server cannot decode in no time".into(),
            ));
        }
        if self.model_id.trim().is_empty() {
            return Err(PerfError::BadRequest(
                "field `model_id` is empty; set the service's model id, e.g. meta.llama3-3-70b-instruct-v1:0".into(),
            ));
        }
        if let Some(h) = &self.hardware {
            if h.count == 0 || h.count > 4_096 {
                return Err(PerfError::BadRequest(format!(
                    "[hardware]: count {}: one copy needs 1 to 4,096 accelerators",
                    h.count
                )));
            }
            if let Some(tp) = h.tensor_parallel {
                MeasuredOn::check_tensor_parallel(tp, h.count)
                    .map_err(|e| PerfError::BadRequest(format!("[hardware]: {e}")))?;
            }
            if h.accelerator.trim().is_empty() {
                return Err(PerfError::BadRequest(
                    "[hardware]: `accelerator` is empty; name it as catalog/hardware.toml does (H100, A10G, ...)".into(),
                ));
            }
        }
        Ok(())
    }
}
