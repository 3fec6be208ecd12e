//! Property test: a scenario with any field set to zero, a negative, NaN, an infinity, a huge
//! number or left out is either planned or refused with an error; never a panic, never
//! unbounded work.

use std::path::Path;

use llmcap::cost::catalog::Catalog;
use llmcap::perf::Profile;
use llmcap::plan::{compute, HostingCatalog, Inputs, Scenario};
use proptest::prelude::*;

/// A small scenario with one option of each kind (a few users, short peak: cheap to plan).
const BASE: &str = r#"
name = "properties"
use_case = "test"
employees = 40
peak_active_fraction = 0.1
sessions_per_user_per_day = 2.0
workdays_per_month = 22.0
workload = "multi_turn_chat"
region = "us-east-1"
seed = 1
peak_duration_s = 300.0

[slo]
ttft_p95_s = 2.0
tpot_p95_s = 0.2
max_error_rate = 0.05

[[option]]
kind = "bedrock"
name = "bedrock"
model = "Llama 3.3 70B Instruct"
profile = "bedrock-llama3-3-70b-instruct.toml"
model_id = "meta.llama3-3-70b-instruct-v1:0"
quota_tpm = 600000
quota_rpm = 800
model_max_tokens = 4096

[[option]]
kind = "sagemaker"
name = "sagemaker"
model = "Llama 3.3 70B Instruct"
profile = "sagemaker-llama3-3-70b-nim-h100.toml"
instance_type = "ml.p5.48xlarge"
precision = "fp8"
model_copies = 4
slots_per_instance = 90

[option.autoscaling]
min_instances = 1
max_instances = 2
target_concurrency = 40

[[option]]
kind = "serverless"
name = "serverless"
model = "SmolLM2 135M Instruct"
profile = "sagemaker-serverless.toml"
memory_mb = 6144
max_concurrency = 200
cold_start_s = 6.0
"#;

/// Fields and the lines that hold them in BASE.
const FIELDS: [&str; 24] = [
    "employees = 40",
    "peak_active_fraction = 0.1",
    "sessions_per_user_per_day = 2.0",
    "workdays_per_month = 22.0",
    "seed = 1",
    "peak_duration_s = 300.0",
    "ttft_p95_s = 2.0",
    "tpot_p95_s = 0.2",
    "max_error_rate = 0.05",
    "quota_tpm = 600000",
    "quota_rpm = 800",
    "model_max_tokens = 4096",
    "model_copies = 4",
    "slots_per_instance = 90",
    "min_instances = 1",
    "max_instances = 2",
    "target_concurrency = 40",
    "memory_mb = 6144",
    "max_concurrency = 200",
    "cold_start_s = 6.0",
    "workload = \"multi_turn_chat\"",
    "region = \"us-east-1\"",
    "precision = \"fp8\"",
    "instance_type = \"ml.p5.48xlarge\"",
];

const VALUES: [&str; 12] = [
    "0",
    "-1",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "4294967295",
    "1e-300",
    "0.5",
    "3",
    "\"x\"",
    "",
];

fn profile(name: &str) -> Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name);
    Profile::from_toml_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Replaces the value on `line` (or removes the line when `value` is empty).
fn mutate(text: &str, line: &str, value: &str) -> String {
    let key = line.split(" = ").next().unwrap();
    let replacement = if value.is_empty() {
        String::new()
    } else {
        format!("{key} = {value}")
    };
    text.replacen(line, &replacement, 1)
}

fn plan_text(text: &str) -> Result<(), String> {
    let scenario = Scenario::parse(text, "s.toml").map_err(|e| e.to_string())?;
    let profiles: Vec<Profile> = scenario
        .option
        .iter()
        .map(|o| profile(o.profile()))
        .collect();
    let catalog = Catalog::parse(
        include_str!("../pricing/bedrock.toml"),
        "bedrock.toml",
        include_str!("../pricing/sagemaker.toml"),
        "sagemaker.toml",
    )
    .map_err(|e| e.to_string())?;
    let hosting = HostingCatalog::builtin();
    compute(&Inputs {
        scenario: &scenario,
        origin: "s.toml",
        profiles: &profiles,
        catalog: &catalog,
        hosting: &hosting,
        generated_on: "2026-11-30",
    })
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[test]
fn the_base_scenario_plans() {
    plan_text(BASE).unwrap();
}

fn refused_or_planned(text: &str) -> Result<(), String> {
    match plan_text(text) {
        Ok(()) => Ok(()),
        // A refusal names the scenario or the option.
        Err(e) if e.contains("s.toml") || e.contains("option") => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every field at every awkward value, one at a time: all 24 × 12 cases.
#[test]
fn every_field_at_every_awkward_value_plans_or_is_refused() {
    for field in FIELDS {
        for value in VALUES {
            let text = mutate(BASE, field, value);
            if let Err(e) = refused_or_planned(&text) {
                panic!("{field} → {value:?}: {e}");
            }
        }
    }
}

proptest! {
    // A fixed seed: the same cases on every run, so a failure reproduces.
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261130),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Two fields at once (an awkward value may only bite next to another).
    #[test]
    fn two_fields_at_awkward_values_plan_or_are_refused(
        a in 0..FIELDS.len(), va in 0..VALUES.len(), b in 0..FIELDS.len(), vb in 0..VALUES.len(),
    ) {
        let text = mutate(&mutate(BASE, FIELDS[a], VALUES[va]), FIELDS[b], VALUES[vb]);
        prop_assert!(refused_or_planned(&text).is_ok(), "{}", text);
    }
}
