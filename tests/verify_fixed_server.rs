//! `llmcap verify` end to end against a fixed-latency OpenAI-compatible server: calibrated and
//! fitted the way a user would, planned as a SageMaker option, then driven by the scenario's
//! users. The server's latency does not depend on load, so a profile fitted on it must predict
//! the live run: the medians within a few per cent of the plan's (a noise-free server leaves the
//! plan's interval a fraction of a millisecond wide, narrower than the client's own timing
//! varies between two runs), and the request rate the users' think times give inside it.

mod support;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use support::ServerThread;

fn llmcap(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into()
}

const SCENARIO: &str = r#"name = "verify"
use_case = "a test server"
employees = 40
peak_active_fraction = 0.2
sessions_per_user_per_day = 3.0
workdays_per_month = 22.0
region = "us-east-1"
seed = 5

[slo]
ttft_p95_s = 0.5
tpot_p95_s = 0.05
max_error_rate = 0.01

[workload]
name = "quick chat"
think_time_s = 0.5
turns_per_session = 3.0
session_gap_s = 1.0

[[workload.class]]
name = "chat"
share = 1.0
system_prompt = 40
message = { dist = "lognormal", median = 30, p90 = 60 }
reply = 12
max_tokens = 12
history = true

[[option]]
kind = "sagemaker"
name = "test server"
model = "SmolLM2 135M Instruct"
profile = "profile.toml"
instance_type = "ml.g5.xlarge"
slots_per_instance = 16
borrowed = "a fixed-latency test server stands in for the instance"
"#;

#[test]
fn a_profile_fitted_on_the_endpoint_predicts_what_the_scenarios_users_measure() {
    let server = ServerThread::start(30, 5, None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    ok(&llmcap(
        path,
        &[
            "calibrate",
            "--target",
            "openai",
            "--url",
            &server.url,
            "--no-progress",
            "--concurrency",
            "1,4",
            "--prompt-tokens",
            "32,256",
            "--output-tokens",
            "12",
            "--requests-per-level",
            "12",
            "--warmup",
            "1",
            "--out",
            "run",
        ],
    ));
    ok(&llmcap(path, &["fit", "run", "--out", "profile.toml"]));
    std::fs::write(path.join("s.toml"), SCENARIO).unwrap();
    let stdout = ok(&llmcap(
        path,
        &[
            "verify",
            "s.toml",
            "--option",
            "test server",
            "--users",
            "4",
            "--warmup",
            "3",
            "--duration",
            "20",
            "--runs",
            "20",
            "--target",
            "openai",
            "--url",
            &server.url,
            "--out",
            "verify",
            "--json",
        ],
    ));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(path.join("verify/requests.csv").exists());
    assert!(path.join("verify/verify.md").exists());
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
    // Four users with half-second thoughts and one-second gaps send about three requests a
    // second: a 20-second run measures dozens.
    assert!(step["requests"].as_u64().unwrap() >= 30, "{report}");
    assert_eq!(step["holds_slo"], true, "{report}");
    // The plan's knee for one such server is many times four users: at 30 ms TTFT and 5 ms
    // TPOT whatever the load, only the 16 slots bound it.
    assert!(
        report["plan_knee"]["users"].as_u64().unwrap() > 8,
        "{report}"
    );
    let rate = figure("requests a minute");
    assert_eq!(rate["verdict"], "inside", "{rate}");
    // Requests in flight, counted two independent ways: from the records' send and end times
    // over the measured window, and from the simulator's time average over the same window.
    let in_flight = figure("requests in flight (mean)");
    assert_eq!(in_flight["verdict"], "inside", "{in_flight}");
    let (m, s) = (
        in_flight["measured"].as_f64().unwrap(),
        in_flight["simulated"].as_f64().unwrap(),
    );
    assert!((m / s - 1.0).abs() < 0.2, "{in_flight}");
    for name in ["p50 TTFT (s)", "p50 TPOT (s)"] {
        let f = figure(name);
        let (m, s) = (
            f["measured"].as_f64().unwrap(),
            f["simulated"].as_f64().unwrap(),
        );
        assert!((m / s - 1.0).abs() < 0.05, "{name}: {f}");
        assert!(["inside", "above", "below"].contains(&f["verdict"].as_str().unwrap()));
    }
    // The server's own latencies, independent of the plan: TTFT 30 ms, TPOT 5 ms.
    let measured = |name: &str| figure(name)["measured"].as_f64().unwrap();
    assert!((measured("p50 TTFT (s)") - 0.030).abs() < 0.010, "{report}");
    assert!((measured("p50 TPOT (s)") - 0.005).abs() < 0.002, "{report}");
}
