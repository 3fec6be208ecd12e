//! `llmcap quota` on bedrock-mantle: input and output TPM are separate quotas, and a cached
//! prefix does not count against input TPM there, while bedrock-runtime reserves it at
//! admission all the same.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// A RAG workload (2,048-token prompts, 256-token replies, max_tokens 512) whose first 1,500 prompt tokens are
/// the same instructions on every request, on Claude Sonnet 4.5.
fn scenario(endpoint: &str, cached: bool) -> String {
    // bedrock-runtime takes Claude Sonnet 4.5 only through an inference profile; bedrock-mantle
    // names the model itself.
    let (model_id, quotas) = if endpoint == "mantle" {
        (
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "endpoint = \"mantle\"\nquota_input_tpm = 2000000\nquota_output_tpm = 400000\n",
        )
    } else {
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "quota_tpm = 2000000\n",
        )
    };
    let cache = if cached {
        "[prompt_cache]\nprefix_tokens = 1500\nhit_rate = 0.95\n\n"
    } else {
        ""
    };
    format!(
        r#"name = "Document questions"
use_case = "Answering questions over retrieved documents."
employees = 400
peak_active_fraction = 0.25
sessions_per_user_per_day = 2.0
workdays_per_month = 22.0
workload = "rag_document_qa"
region = "us-east-1"
peak_duration_s = 600.0
{cache}[slo]
ttft_p95_s = 2.0
tpot_p95_s = 0.1
max_error_rate = 0.01

[[option]]
kind = "bedrock"
name = "Sonnet"
model = "Claude Sonnet 4.5"
profile = "bedrock-claude-sonnet-4-5.toml"
model_id = "{model_id}"
{quotas}"#
    )
}

fn quota(dir: &Path, text: &str, json: bool) -> String {
    std::fs::write(dir.join("s.toml"), text).unwrap();
    let mut args = vec!["quota", "s.toml"];
    if json {
        args.push("--json");
    }
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir)
        .args(&args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// (quota name → p99 minute) of the one option's checks.
fn checks(dir: &Path, text: &str) -> Vec<(String, f64, String)> {
    let json: Value = serde_json::from_str(&quota(dir, text, true)).unwrap();
    json[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["quota"].as_str().unwrap().to_string(),
                c["peak_p99_minute"].as_f64().unwrap(),
                c["service_quota_name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn p99(checks: &[(String, f64, String)], quota: &str) -> f64 {
    checks
        .iter()
        .find(|c| c.0 == quota)
        .unwrap_or_else(|| panic!("no {quota} in {checks:?}"))
        .1
}

#[test]
fn mantle_reports_input_and_output_tpm_apart_and_cache_reads_do_not_raise_input_tpm() {
    let dir = tempfile::tempdir().unwrap();
    let text = quota(dir.path(), &scenario("mantle", false), false);
    for name in [
        "Bedrock Mantle input tokens per minute for Claude Sonnet 4.5",
        "Bedrock Mantle output tokens per minute for Claude Sonnet 4.5",
    ] {
        assert!(text.contains(name), "{text}");
    }
    assert!(!text.contains("InvokeModel"), "{text}");

    let plain = checks(dir.path(), &scenario("mantle", false));
    let cached = checks(dir.path(), &scenario("mantle", true));
    assert_eq!(plain.len(), 2, "{plain:?}");
    // Caching changes no timing or random draw, so the peaks are the same requests: output TPM
    // is untouched, and input TPM per request falls from 2,048 + 512 to
    // 2,048 − 0.95 × 1,500 + 512 = 1,135 tokens (×0.443); the p99 minute follows within the
    // spread of requests per minute.
    assert_eq!(p99(&plain, "output_tpm"), p99(&cached, "output_tpm"));
    let ratio = p99(&cached, "input_tpm") / p99(&plain, "input_tpm");
    assert!(
        (ratio / (1_135.0 / 2_560.0) - 1.0).abs() < 0.05,
        "input TPM with the cache / without: {ratio}"
    );
}

#[test]
fn runtime_reserves_the_cached_prefix_at_admission_all_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = |cached: bool| -> Value {
        let json: Value =
            serde_json::from_str(&quota(dir.path(), &scenario("runtime", cached), true)).unwrap();
        json[0].clone()
    };
    let (plain, cached) = (evidence(false), evidence(true));
    let figure = |e: &Value, key: &str| e[key].as_f64().unwrap();
    let checks = plain["checks"].as_array().unwrap();
    assert_eq!(
        checks.len(),
        1,
        "one combined TPM quota, no RPM: {checks:?}"
    );
    assert!(checks[0]["service_quota_name"]
        .as_str()
        .unwrap()
        .starts_with("Cross-Region InvokeModel tokens per minute for Claude Sonnet 4.5"));
    // Same requests either way (caching changes no timing or random draw). Admission reserves
    // input, cache reads included, + max_tokens: the same 2,560 a request with or without the
    // cache. Settlement charges input − cache reads + 5 × output: 2,048 + 1,280 = 3,328 without,
    // 623 + 1,280 = 1,903 with.
    assert_eq!(
        figure(&plain, "peak_tpm_reserved"),
        figure(&cached, "peak_tpm_reserved")
    );
    let charged = figure(&cached, "peak_tpm_charged") / figure(&plain, "peak_tpm_charged");
    assert!((charged - 1_903.0 / 3_328.0).abs() < 1e-3, "{charged}");
    // The TPM need is the larger of the two: the charge without the cache, the reservation
    // with it — so caching lowers bedrock-runtime's need far less than the bill.
    let need = |e: &Value| e["checks"][0]["peak_p99_minute"].as_f64().unwrap();
    assert_eq!(need(&plain), figure(&plain, "peak_tpm_charged"));
    assert_eq!(need(&cached), figure(&cached, "peak_tpm_reserved"));
}
