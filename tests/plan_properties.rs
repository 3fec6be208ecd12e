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
model_id = "us.meta.llama3-3-70b-instruct-v1:0"
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

/// BASE with its own traffic: two request classes (one with its own SLO), every length form,
/// a daily curve over two time zones in place of peak_active_fraction.
fn with_workload() -> String {
    BASE.replace("peak_active_fraction = 0.1\n", "")
        .replace("workload = \"multi_turn_chat\"\n", "")
        + r#"
[workload]
name = "own"
think_time_s = 30.0
turns_per_session = 3.0
session_gap_s = 600.0

[[workload.class]]
name = "chat"
share = 0.7
system_prompt = 2000
cached_prefix = 1500
context = { dist = "lognormal", median = 800, p90 = 2000 }
message = { dist = "quantiles", points = [[0.0, 10], [0.5, 60], [1.0, 900]] }
reply = { dist = "lognormal", median = 300, sigma = 0.5 }
max_tokens = 1024
history = true

[[workload.class]]
name = "qa"
share = 0.3
message = 120
reply = { dist = "uniform", min = 100, max = 600 }
slo = { ttft_p95_s = 4.0, tpot_p95_s = 0.2 }

[workload.daily]
hourly = [1, 1, 1, 1, 1, 1, 2, 4, 8, 9, 9, 8, 7, 8, 9, 8, 7, 5, 3, 2, 2, 1, 1, 1]
zone = [{ utc_offset_h = -5, share = 0.6 }, { utc_offset_h = 5.5, share = 0.4 }]
"#
}

/// The workload's fields, as they stand in `with_workload()`.
const WORKLOAD_FIELDS: [&str; 16] = [
    "think_time_s = 30.0",
    "turns_per_session = 3.0",
    "session_gap_s = 600.0",
    "share = 0.7",
    "system_prompt = 2000",
    "cached_prefix = 1500",
    "context = { dist = \"lognormal\", median = 800, p90 = 2000 }",
    "message = { dist = \"quantiles\", points = [[0.0, 10], [0.5, 60], [1.0, 900]] }",
    "reply = { dist = \"lognormal\", median = 300, sigma = 0.5 }",
    "max_tokens = 1024",
    "history = true",
    "message = 120",
    "reply = { dist = \"uniform\", min = 100, max = 600 }",
    "slo = { ttft_p95_s = 4.0, tpot_p95_s = 0.2 }",
    "hourly = [1, 1, 1, 1, 1, 1, 2, 4, 8, 9, 9, 8, 7, 8, 9, 8, 7, 5, 3, 2, 2, 1, 1, 1]",
    "zone = [{ utc_offset_h = -5, share = 0.6 }, { utc_offset_h = 5.5, share = 0.4 }]",
];

/// Values a workload field may be given: numbers at every awkward value, and the wrong shapes.
const WORKLOAD_VALUES: [&str; 14] = [
    "0",
    "-1",
    "nan",
    "inf",
    "1e308",
    "3",
    "\"x\"",
    "",
    "{ dist = \"lognormal\", median = 800 }",
    "{ dist = \"lognormal\", median = 800, p90 = 100 }",
    "{ dist = \"quantiles\", points = [[0.5, 10], [0.1, 900]] }",
    "{ dist = \"quantiles\", points = [[0.0, 1e9], [1.0, 1e12]] }",
    "[1, 2, 3]",
    "{ ttft_p95_s = -1, tpot_p95_s = 0.1 }",
];

#[test]
fn the_base_scenario_with_its_own_workload_plans() {
    plan_text(&with_workload()).unwrap();
}

/// Every workload field at every awkward value or shape: planned, or refused naming the
/// scenario; never a panic.
#[test]
fn every_workload_field_at_every_awkward_value_plans_or_is_refused() {
    let base = with_workload();
    for field in WORKLOAD_FIELDS {
        for value in WORKLOAD_VALUES {
            let text = mutate(&base, field, value);
            if let Err(e) = refused_or_planned(&text) {
                panic!("{field} → {value:?}: {e}");
            }
        }
    }
}
