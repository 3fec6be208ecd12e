//! `llmcap verify` through Bedrock's quota arithmetic: `llmcap emulate` with a small
//! tokens-per-minute quota in front of the Llama 3.3 70B profile, driven by ten users through
//! the real Bedrock SDK. The quota binds (most requests are throttled), so what gets through
//! is set by the quota, not the model: the tokens a minute measured must sit at the quota
//! (theory, independent of the plan), and the measured throttle rate, tokens and requests a
//! minute inside the plan's 90 % intervals for the same run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

const QUOTA_TPM: f64 = 20_000.0;

const SCENARIO: &str = r#"name = "verify through a quota"
use_case = "a small tokens-per-minute quota"
employees = 40
peak_active_fraction = 0.25
sessions_per_user_per_day = 3.0
workdays_per_month = 22.0
region = "us-east-1"
seed = 3

[slo]
ttft_p95_s = 2.0
tpot_p95_s = 0.1
max_error_rate = 0.5

[workload]
name = "quick chat"
think_time_s = 2.0
turns_per_session = 3.0
session_gap_s = 4.0

[[workload.class]]
name = "chat"
share = 1.0
system_prompt = 200
message = { dist = "lognormal", median = 60, p90 = 120 }
reply = 60
max_tokens = 80
history = true

[[option]]
kind = "bedrock"
name = "Llama 3.3 70B on Bedrock"
model = "Llama 3.3 70B Instruct"
profile = "bedrock-llama3-3-70b-instruct.toml"
model_id = "us.meta.llama3-3-70b-instruct-v1:0"
quota_tpm = 20000
"#;

struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_throttles_and_tokens_a_minute_through_a_small_quota_are_the_plans() {
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/bedrock-llama3-3-70b-instruct.toml");
    let mut child = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["emulate", "--profile", profile.to_str().unwrap()])
        .args(["--quota-tpm", &QUOTA_TPM.to_string()])
        .args(["--model-id", "us.meta.llama3-3-70b-instruct-v1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let _emulator = Emulator(child);
    let url = url.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), SCENARIO).unwrap();
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .args(["verify", "s.toml", "--option", "Llama 3.3 70B on Bedrock"])
        .args(["--users", "10", "--warmup", "20", "--duration", "90"])
        .args(["--target", "bedrock", "--region", "us-east-1"])
        .args(["--model-id", "us.meta.llama3-3-70b-instruct-v1:0"])
        .args(["--endpoint-url", &url, "--out", "verify", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let step = &report["steps"][0];
    let figure = |name: &str| {
        step["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .clone()
    };
    let measured = |name: &str| figure(name)["measured"].as_f64().unwrap();
    for name in ["throttle rate", "tokens a minute"] {
        eprintln!("{name}: {}", figure(name));
    }
    // Theory first: ten users asking for several times the quota get the quota, no more (the
    // bucket refills at 20,000 tokens a minute) and not much less (it is never idle).
    let tpm = measured("tokens a minute");
    assert!(
        (tpm / QUOTA_TPM - 1.0).abs() < 0.05,
        "tokens a minute {tpm} against the quota {QUOTA_TPM}"
    );
    let throttled = measured("throttle rate");
    assert!(throttled > 0.3, "the quota binds: {throttled}");
    // Then the plan: its simulations of the same run through the same arithmetic.
    for name in ["throttle rate", "tokens a minute", "requests a minute"] {
        let f = figure(name);
        assert_eq!(f["verdict"], "inside", "{name}: {f}");
    }
    // The spend meter counted what was sent, at the catalog's price (cents here).
    let spend = report["spend_usd"].as_f64().unwrap();
    assert!(spend > 0.0 && spend < 1.0, "{spend}");
}
