//! The `fit` and `predict` commands as a user runs them: output contracts and clear errors.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

const TABLE: &str = "calibration/reference/seed002_bedrock_llama33_70b.csv";
const PROFILE: &str = "models/bedrock-llama3-3-70b-instruct.toml";
const HEADER: &str = "prompt_class,input_tokens,max_output_tokens,concurrency,median_tps_per_request,system_tps,median_ttft_s_low,median_ttft_s_high,note";

fn llmcap(args: &[&str]) -> Output {
    Command::cargo_bin("llmcap")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn fit_json_reproduces_every_level_within_6_percent() {
    let profile = json(&llmcap(&["fit", TABLE, "--json"]));
    let levels = profile["fit"]["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 9);
    for level in levels {
        for key in ["tps_error_pct", "ttft_error_pct"] {
            if let Some(error) = level[key].as_f64() {
                assert!(error.abs() <= 6.0, "{key} {error} at {level}");
            }
        }
    }
    assert_eq!(
        profile["fit"]["leave_one_level_out"]
            .as_array()
            .unwrap()
            .len(),
        9
    );
}

#[test]
fn fit_on_1_10_50_prints_the_held_out_level_30() {
    let output = llmcap(&["fit", TABLE, "--concurrency", "1,10,50"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(text.contains("Held out (measured, not fitted)"), "{text}");
    let profile = json(&llmcap(&[
        "fit",
        TABLE,
        "--concurrency",
        "1,10,50",
        "--json",
    ]));
    let c30: Vec<&Value> = profile["fit"]["held_out"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["concurrency"] == 30.0)
        .collect();
    assert_eq!(c30.len(), 2);
    for level in c30 {
        assert!(
            level["tps_error_pct"].as_f64().unwrap().abs() <= 10.0,
            "{level}"
        );
    }
}

#[test]
fn predict_json_has_exactly_the_contract_keys() {
    let rows = json(&llmcap(&[
        "predict",
        "--profile",
        PROFILE,
        "--concurrency",
        "1,10,30,50,200",
        "--prompt-tokens",
        "43,6027",
        "--json",
    ]));
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let mut keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "concurrency",
            "extrapolated",
            "output_tokens",
            "prompt_tokens",
            "system_tps",
            "tpot_s",
            "tps_per_request",
            "ttft_s"
        ]
    );
    for row in rows {
        let tps = row["tps_per_request"].as_f64().unwrap();
        assert!((tps * row["tpot_s"].as_f64().unwrap() - 1.0).abs() < 1e-9);
        assert!(
            (row["system_tps"].as_f64().unwrap() - tps * row["concurrency"].as_f64().unwrap())
                .abs()
                < 1e-6
        );
        let outside = row["concurrency"].as_f64().unwrap() > 50.0;
        assert_eq!(row["extrapolated"].as_bool().unwrap(), outside, "{row}");
    }
}

#[test]
fn the_committed_profile_matches_a_fresh_fit() {
    let fresh = json(&llmcap(&["fit", TABLE, "--json"]));
    let committed: toml::Value =
        toml::from_str(&std::fs::read_to_string(PROFILE).unwrap()).unwrap();
    assert_eq!(
        committed["model_id"].as_str(),
        Some("meta.llama3-3-70b-instruct-v1:0")
    );
    assert!(committed["provenance"]["source"]
        .as_str()
        .unwrap()
        .contains("seed 002"));
    for (section, keys) in [
        ("tpot", ["t0_s", "t1_s", "theta"]),
        ("ttft", ["a0_s", "a1_s", "a2"]),
    ] {
        for key in keys {
            let a = committed[section][key].as_float().unwrap();
            let b = fresh[section][key].as_f64().unwrap();
            assert!(
                (a / b - 1.0).abs() < 1e-6,
                "{section}.{key}: committed {a}, fresh {b}; run scripts/refit-models.sh"
            );
        }
    }
}

fn fit_error(table: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("table.csv");
    std::fs::write(&path, table).unwrap();
    let output = llmcap(&[
        "fit",
        path.to_str().unwrap(),
        "--out",
        dir.path().join("p.toml").to_str().unwrap(),
        "--model-id",
        "m",
    ]);
    assert!(!output.status.success());
    assert!(
        !dir.path().join("p.toml").exists(),
        "nothing written on error"
    );
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn bad_inputs_get_clear_errors() {
    let cases = [
        (format!("{HEADER}\n"), "no data rows"),
        (
            format!(
                "{HEADER}\nsmall,43,350,10,130,1,0.2,0.3,a\nlarge,600,350,10,120,1,0.5,0.6,b\n"
            ),
            "only one concurrency level",
        ),
        (
            format!("{HEADER}\nsmall,43,350,1,NaN,1,0.2,0.3,a\n"),
            "column `median_tps_per_request`: `NaN` is not a finite number",
        ),
        (
            format!("{HEADER}\nsmall,-43,350,1,100,1,0.2,0.3,a\n"),
            "column `input_tokens`: -43 is negative",
        ),
        (
            format!("{HEADER},gpu\nsmall,43,350,1,100,1,0.2,0.3,a,h100\n"),
            "unknown column `gpu`",
        ),
    ];
    for (table, expected) in cases {
        let stderr = fit_error(&table);
        assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
        assert!(
            stderr.contains("table.csv") || expected.contains("only one"),
            "{stderr:?} does not name the file"
        );
    }
}

#[test]
fn missing_files_are_named() {
    let output = llmcap(&[
        "predict",
        "--profile",
        "no/such.toml",
        "--concurrency",
        "1",
        "--prompt-tokens",
        "10",
    ]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("no/such.toml"));
    let output = llmcap(&["fit", "no/such/dir"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("no/such/dir"));
    assert!(Path::new(PROFILE).exists());
}

#[test]
fn records_directory_round_trip() {
    // A small run directory in the records format fits and names its model from the manifest.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from(
        "concurrency,prompt_tokens_target,input_tokens,output_tokens,ttft_s,tpot_s,status\n",
    );
    for (c, tpot) in [(1, 0.010), (4, 0.011), (8, 0.013), (16, 0.018)] {
        for i in 0..20 {
            let jitter = 1.0 + 0.01 * ((i % 5) as f64 - 2.0);
            csv.push_str(&format!(
                "{c},512,512,128,{},{},ok\n",
                0.2 * jitter,
                tpot * jitter
            ));
        }
        csv.push_str(&format!("{c},512,0,0,,,throttled\n"));
    }
    std::fs::write(dir.path().join("requests.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("manifest.json"),
        r#"{"model_id":"test.model-v1:0","target":"openai http://127.0.0.1:1"}"#,
    )
    .unwrap();
    let out = dir.path().join("profile.toml");
    let output = llmcap(&[
        "fit",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let profile: toml::Value = toml::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(profile["model_id"].as_str(), Some("test.model-v1:0"));
    assert!(profile["tpot_noise"]["source"]
        .as_str()
        .unwrap()
        .contains("estimated from 80 requests"));
}
