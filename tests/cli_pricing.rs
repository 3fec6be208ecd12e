//! `llmcap pricing import --genai-prices` rewrites the catalog from a file in genai-prices'
//! format; output into a closed pipe ends quietly.

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

fn copy_catalogs(to: &std::path::Path) {
    for name in ["bedrock.toml", "sagemaker.toml"] {
        let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pricing")
            .join(name);
        std::fs::copy(from, to.join(name)).unwrap();
    }
}

#[test]
fn genai_prices_import_updates_rows_with_their_source() {
    let dir = tempfile::tempdir().unwrap();
    copy_catalogs(dir.path());
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/genai-prices-aws.yml");
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["pricing", "--dir", dir.path().to_str().unwrap(), "import"])
        .args(["--genai-prices", fixture.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let catalog = std::fs::read_to_string(dir.path().join("bedrock.toml")).unwrap();
    let table: toml::Value = toml::from_str(&catalog).unwrap();
    let sonnet = table["model"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["model_id"].as_str() == Some("anthropic.claude-3-5-sonnet-20241022-v2:0")
                && r["region"].as_str() == Some("us-east-1")
        })
        .unwrap();
    assert_eq!(sonnet["output_per_mtok"].as_float(), Some(16.0));
    assert!(sonnet["source"].as_str().unwrap().contains("genai-prices"));
    assert_eq!(sonnet["date"].as_str(), Some("2026-06-01"));
    // The rewritten catalog still loads.
    let listed = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["pricing", "--dir", dir.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(listed.status.success());
}

#[test]
fn an_import_needs_a_file_and_names_the_flags() {
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["pricing", "import"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--litellm") && stderr.contains("--genai-prices"),
        "{stderr}"
    );
}

#[test]
fn a_closed_pipe_ends_the_output_without_a_panic() {
    // Far more than a pipe buffer (64 KiB), so the writer meets the closed pipe.
    let binary = assert_cmd::cargo::cargo_bin("llmcap");
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/bedrock-llama3-3-70b-instruct.toml");
    let levels: Vec<String> = (1..=3000).map(|c| c.to_string()).collect();
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' predict --profile '{}' --concurrency {} --prompt-tokens 100 | head -c 10",
            binary.display(),
            profile.display(),
            levels.join(",")
        ))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn import_litellm(dir: &std::path::Path, json: &str) -> std::process::Output {
    let file = dir.join("litellm.json");
    std::fs::write(&file, json).unwrap();
    Command::cargo_bin("llmcap")
        .unwrap()
        .args(["pricing", "--dir", dir.to_str().unwrap(), "import"])
        .args(["--litellm", file.to_str().unwrap()])
        .output()
        .unwrap()
}

#[test]
fn a_negative_price_in_an_import_leaves_the_catalog_untouched() {
    let dir = tempfile::tempdir().unwrap();
    copy_catalogs(dir.path());
    let before = std::fs::read(dir.path().join("bedrock.toml")).unwrap();
    // A good entry first: nothing may be written before the bad one is found.
    let output = import_litellm(
        dir.path(),
        r#"{
            "bedrock/us-west-2/meta.llama3-3-70b-instruct-v1:0": {"litellm_provider": "bedrock", "input_cost_per_token": 7.1e-7, "output_cost_per_token": 7.3e-7},
            "bedrock/us-east-1/meta.llama3-3-70b-instruct-v1:0": {"litellm_provider": "bedrock", "input_cost_per_token": 7.2e-7, "output_cost_per_token": -7.2e-7}
        }"#,
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bedrock/us-east-1/meta.llama3-3-70b-instruct-v1:0")
            && stderr.contains("output_cost_per_token")
            && stderr.contains("unchanged"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("bedrock.toml")).unwrap(),
        before,
        "byte for byte"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_import_changes_only_prices_and_keeps_the_comments() {
    let dir = tempfile::tempdir().unwrap();
    copy_catalogs(dir.path());
    let before = std::fs::read_to_string(dir.path().join("bedrock.toml")).unwrap();
    let comments = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    assert!(!comments(&before).is_empty());
    let output = import_litellm(
        dir.path(),
        r#"{"bedrock/us-west-2/meta.llama3-3-70b-instruct-v1:0": {"litellm_provider": "bedrock", "input_cost_per_token": 7.1e-7, "output_cost_per_token": 7.3e-7}}"#,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = std::fs::read_to_string(dir.path().join("bedrock.toml")).unwrap();
    assert_eq!(comments(&after), comments(&before), "every comment kept");
    // Only the one row's input, output, source and date lines differ.
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(changed.len(), 4, "{changed:#?}");
    assert!(changed
        .iter()
        .any(|(_, b)| b.starts_with("input_per_mtok = 0.71")));
    // The catalog still loads.
    let listed = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["pricing", "--dir", dir.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(listed.status.success());
}
