//! Plan against actual, end to end: the emulator (with a CloudWatch export) is driven through
//! the real Bedrock SDK by a known workload standing for a scaled month — U users each sending
//! K Converse requests of known prompt text and max_tokens — and a few bedrock-mantle Chat
//! Completions for a model the plan does not serve; it is stopped (the export is complete once
//! shutdown returns), and `llmcap actual --cloudwatch FILE --users U --days D` must recover
//! requests per user per workday and tokens per request, report the plan's error, and write
//! its files.

mod support;

use std::path::Path;

use assert_cmd::Command;
use llmcap::emulate::{CloudWatchOut, Emulator, EmulatorConfig};
use serde_json::Value;
use support::{bedrock_client, fast_profile, max_tokens, user};

const LLAMA: &str = "us.meta.llama3-3-70b-instruct-v1:0";
const OTHER: &str = "openai.gpt-oss-20b-1:0";
const USERS: usize = 4;
const PER_USER: usize = 6;
const DAYS: f64 = 2.0;
const MANTLE_REQUESTS: usize = 3;

/// A small plan: one Bedrock option serving Llama 3.3 70B (the built-in profile).
const SCENARIO: &str = r#"
name = "Round trip"
use_case = "A known workload through the emulator, read back from its CloudWatch export."
employees = 40
peak_active_fraction = 0.2
sessions_per_user_per_day = 2.0
workdays_per_month = 20.0
workload = "multi_turn_chat"
region = "us-east-1"
peak_duration_s = 300.0

[[option]]
kind = "bedrock"
name = "Llama 3.3 70B on Bedrock"
model = "Llama 3.3 70B Instruct"
profile = "bedrock-llama3-3-70b-instruct.toml"
model_id = "us.meta.llama3-3-70b-instruct-v1:0"
quota_tpm = 600000
"#;

/// User `u`'s request `k`: its prompt text and max_tokens.
fn request(u: usize, k: usize) -> (String, i32) {
    let text = format!("user {u} asks question {k}: ") + &"tell me more. ".repeat(20 + 7 * k + u);
    (text, (12 + 5 * k) as i32)
}

/// The emulator's documented estimate, computed here on its own: characters ÷ 4, rounded up.
fn estimate(text: &str) -> f64 {
    text.chars().count().div_ceil(4).max(1) as f64
}

fn within(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual / expected - 1.0).abs() <= tolerance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actual_recovers_the_known_workload_from_the_emulators_cloudwatch_export() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("cloudwatch.json");
    let mut config = EmulatorConfig::new(fast_profile());
    config.noise = false;
    config.model_ids = vec![LLAMA.to_string(), OTHER.to_string()];
    config.cloudwatch = Some(CloudWatchOut {
        path: export.clone(),
        period: std::time::Duration::from_secs(60),
    });
    let emulator = Emulator::start(config).await.unwrap();
    assert!(export.exists(), "written at start");
    let client = bedrock_client(&emulator.url());

    let users = (0..USERS).map(|u| {
        let client = client.clone();
        async move {
            for k in 0..PER_USER {
                let (text, limit) = request(u, k);
                let out = client
                    .converse()
                    .model_id(LLAMA)
                    .messages(user(&text))
                    .inference_config(max_tokens(limit))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(out.usage().unwrap().output_tokens(), limit);
            }
        }
    });
    futures_util::future::join_all(users).await;
    let http = reqwest::Client::new();
    for i in 0..MANTLE_REQUESTS {
        let response = http
            .post(format!("{}/v1/chat/completions", emulator.url()))
            .bearer_auth("test")
            .json(&serde_json::json!({
                "model": OTHER,
                "messages": [{"role": "user", "content": format!("mantle question {i}")}],
                "max_tokens": 5,
            }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
    // Shutdown waits for every answer, then writes the export a last time.
    emulator.finish().await.unwrap();

    let mut expected_input = 0.0;
    let mut expected_output = 0.0;
    for u in 0..USERS {
        for k in 0..PER_USER {
            let (text, limit) = request(u, k);
            expected_input += estimate(&text);
            expected_output += f64::from(limit);
        }
    }
    let requests = (USERS * PER_USER) as f64;
    let (expected_input, expected_output) = (expected_input / requests, expected_output / requests);
    let expected_per_user_day = PER_USER as f64 / DAYS;

    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let out_dir = dir.path().join("actual");
    let cur = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cur2-bedrock.csv");
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["actual", "--json", "--users", &USERS.to_string()])
        .args(["--days", &DAYS.to_string()])
        .arg("--cloudwatch")
        .arg(&export)
        .arg("--cur")
        .arg(&cur)
        .arg("--out")
        .arg(&out_dir)
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "llmcap actual failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let c: Value = serde_json::from_slice(&output.stdout).unwrap();
    let option = &c["options"][0];
    assert_eq!(option["model_id"], LLAMA);
    assert_eq!(option["invocations"].as_f64().unwrap(), requests);
    let row = |metric: &str| -> &Value {
        option["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == metric)
            .unwrap_or_else(|| panic!("no row {metric}: {option}"))
    };
    let actual = |metric: &str| row(metric)["actual"].as_f64().unwrap();
    let per_user = actual("requests per user per workday");
    let input = actual("input tokens per request");
    let output_tokens = actual("output tokens per request");
    eprintln!(
        "recovered: {per_user} requests per user per workday (known {expected_per_user_day}), \
         {input} input tokens per request (known {expected_input}), {output_tokens} output \
         (known {expected_output})"
    );
    assert!(within(per_user, expected_per_user_day, 0.02), "{per_user}");
    assert!(within(input, expected_input, 0.02), "{input}");
    assert!(
        within(output_tokens, expected_output, 0.02),
        "{output_tokens}"
    );
    // Requests per month: invocations × workdays_per_month ÷ days.
    assert!(within(
        actual("requests per month"),
        requests * 20.0 / DAYS,
        1e-9
    ));
    assert_eq!(actual("throttle rate"), 0.0);
    // The plan's error, on every figure the plan has: actual ÷ plan − 1.
    for r in option["rows"].as_array().unwrap() {
        let (plan, act) = (r["plan"].as_f64().unwrap(), r["actual"].as_f64().unwrap());
        if plan != 0.0 {
            let error = r["error"].as_f64().unwrap();
            assert!((error - (act / plan - 1.0)).abs() < 1e-9, "{r}");
        }
    }
    // Planned: 2 sessions a day × the workload's turns per session, per employee.
    let planned_per_user = row("requests per user per workday")["plan"]
        .as_f64()
        .unwrap();
    let refit = &c["refit"];
    assert!(within(
        refit["usage_per_user"].as_f64().unwrap(),
        per_user / planned_per_user,
        1e-9
    ));
    let planned_tokens = row("input tokens per request")["plan"].as_f64().unwrap()
        + row("output tokens per request")["plan"].as_f64().unwrap();
    assert!(within(
        refit["tokens_per_request"].as_f64().unwrap(),
        (input + output_tokens) / planned_tokens,
        1e-9
    ));
    // Spend from the CUR (the fixture's October: $1.80 of Llama 3.3 70B).
    assert!(option["spend_source"]
        .as_str()
        .unwrap()
        .starts_with("Cost and Usage Report"));
    assert!(within(actual("spend per month (USD)"), 1.80, 1e-9));
    // The mantle traffic is metered too, under its own model, which the plan does not serve.
    assert_eq!(c["unmatched_models"], serde_json::json!([OTHER]));
    let usage = llmcap::actual::cloudwatch::parse(
        &std::fs::read_to_string(&export).unwrap(),
        "cloudwatch.json",
    )
    .unwrap();
    let other = usage.totals(OTHER).unwrap();
    assert_eq!(other.counts.invocations, MANTLE_REQUESTS as f64);
    assert_eq!(other.counts.output_tokens, 5.0 * MANTLE_REQUESTS as f64);

    for file in [
        "actual.json",
        "actual.md",
        "forecast.toml",
        "data/actual_vs_plan.csv",
        "data/actual_vs_plan.parquet",
        "charts/actual_vs_plan.svg",
        "charts/actual_vs_plan.png",
    ] {
        assert!(out_dir.join(file).exists(), "{file}");
    }
    let forecast = std::fs::read_to_string(out_dir.join("forecast.toml")).unwrap();
    let parsed: toml::Value = toml::from_str(&forecast).unwrap();
    assert_eq!(
        parsed["forecast"]["usage_per_user"]["dist"].as_str(),
        Some("fixed")
    );
    assert!(parsed["forecast"]["tokens_per_request"]["value"]
        .as_float()
        .is_some());
    // The re-forecast holds what was measured fixed: with adoption, use and tokens fixed and no
    // hidden-cost uplift beyond the plan's per-GB overheads (the default), the first month of
    // the matched option has nothing left to vary: its P10 and P90 coincide.
    let reforecast: llmcap::forecast::Forecast = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("forecast/forecast.json")).unwrap(),
    )
    .unwrap();
    let first = reforecast.options[0].monthly[0];
    let ratio = first.p90 / first.p10;
    assert!(
        (ratio - 1.0).abs() < 1e-9,
        "{}: P90/P10 {ratio}",
        reforecast.options[0].name
    );
}

#[test]
fn print_queries_writes_the_ids_and_labels_the_export_is_read_by() {
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["actual", "--print-queries", LLAMA, OTHER, "--period", "300"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let q: Value = serde_json::from_slice(&output.stdout).unwrap();
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 10);
    assert_eq!(q[5]["Id"], "invocations_1");
    assert_eq!(q[5]["Label"], format!("{OTHER} Invocations"));
    assert_eq!(q[5]["MetricStat"]["Period"], 300);
    assert_eq!(q[5]["MetricStat"]["Metric"]["Namespace"], "AWS/Bedrock");
}

#[test]
fn an_export_without_the_plans_models_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("cw.json");
    std::fs::write(
        &export,
        r#"{"MetricDataResults":[{"Id":"invocations_0","Label":"amazon.nova-pro-v1:0 Invocations","Timestamps":["2026-11-30T12:00:00+00:00"],"Values":[3],"StatusCode":"Complete"}],"Messages":[]}"#,
    )
    .unwrap();
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["actual", "--days", "1", "--cloudwatch"])
        .arg(&export)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("amazon.nova-pro-v1:0")
            && error.contains("meta.llama3-3-70b-instruct-v1:0")
            && error.contains("--print-queries"),
        "{error}"
    );
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["actual", "--users", "0", "--cloudwatch"])
        .arg(&export)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--users is 0: give a number of people > 0"),
        "{stderr}"
    );
}
