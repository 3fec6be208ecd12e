//! A simulation scenario file (TOML): everything `llmcap simulate` needs, reproducible from one
//! file. Parsed here from text; reading it is the command's job.

use serde::Deserialize;

use super::client::ClientPolicy;
use super::config::{EndpointSpec, Load};
use super::error::SimError;
use super::metrics::Slo;
use crate::workload::WorkloadSpec;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimScenario {
    /// Path of the performance profile, relative to the scenario file.
    pub profile: String,
    /// A built-in workload's name (see `llmcap workloads`)...
    #[serde(default)]
    pub workload: Option<String>,
    /// ...or a workload spelled out.
    #[serde(default)]
    pub custom_workload: Option<WorkloadSpec>,
    pub load: Load,
    pub endpoint: EndpointSpec,
    #[serde(default)]
    pub client: ClientPolicy,
    #[serde(default)]
    pub slo: Slo,
    #[serde(default = "one")]
    pub seed: u64,
    #[serde(default = "yes")]
    pub noise: bool,
    #[serde(default = "context_window")]
    pub context_window: f64,
    /// Seconds simulated before the measured window: users and open loads (default 60 s);
    /// a closed loop or a trace counts every request from the start.
    #[serde(default)]
    pub warmup_s: Option<f64>,
}

fn one() -> u64 {
    1
}
fn yes() -> bool {
    true
}
fn context_window() -> f64 {
    128_000.0
}

impl SimScenario {
    pub fn from_toml_str(text: &str) -> Result<SimScenario, SimError> {
        toml::from_str(text).map_err(SimError::Scenario)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_unknown_fields() {
        let text = r#"
            profile = "p.toml"
            workload = "multi_turn_chat"
            [load]
            kind = "users"
            users = 100
            duration_s = 600
            [endpoint]
            kind = "bedrock"
            model_max_tokens = 4096
            [endpoint.quota]
            tpm = 600000
        "#;
        let scenario = SimScenario::from_toml_str(text).unwrap();
        assert_eq!(
            scenario.load,
            Load::Users {
                users: 100,
                duration_s: 600.0
            }
        );
        let error =
            SimScenario::from_toml_str(&text.replace("users = 100", "usres = 100")).unwrap_err();
        assert!(error.to_string().contains("usres"), "{error}");
    }
}
