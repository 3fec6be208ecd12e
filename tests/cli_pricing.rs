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
    // (The date line changes too unless the row was already dated today.)
    assert!(
        (3..=4).contains(&changed.len())
            && changed.iter().all(|(_, b)| {
                ["input_per_mtok", "output_per_mtok", "source", "date"]
                    .iter()
                    .any(|k| b.starts_with(&format!("{k} = ")))
            }),
        "{changed:#?}"
    );
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

#[test]
fn the_listing_shows_current_models_with_a_package_version_source_and_the_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pricing");
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .args(["pricing", "--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The row's source is a number into the list printed under the table.
    let source_of = |model: &str, place: &str| -> String {
        let row = stdout
            .lines()
            .find(|l| l.contains(&format!(" {model} ")) && l.contains(place))
            .unwrap_or_else(|| panic!("no row for {model} {place}:\n{stdout}"));
        let number = row
            .rsplit('[')
            .next()
            .and_then(|t| t.split(']').next())
            .unwrap();
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("[{number}] ")))
            .unwrap_or_else(|| panic!("no source [{number}]:\n{stdout}"))
            .to_string()
    };
    assert!(
        source_of("anthropic.claude-sonnet-4-6", "us-east-1 · regional")
            .contains("LiteLLM 1.110.2")
    );
    assert!(source_of(
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "us-east-1 · global"
    )
    .contains("LiteLLM 1.110.2"));
    assert!(stdout.contains(" anthropic.claude-3-5-sonnet-20241022-v2:0 "));
    assert!(stdout.contains(" meta.llama3-3-70b-instruct-v1:0 "));
    // A mantle row, a legacy mark, and the Reserved placeholders labelled as such.
    assert!(stdout
        .lines()
        .any(|l| l.contains(" openai.gpt-oss-120b ") && l.contains("mantle")));
    assert!(stdout
        .lines()
        .any(|l| l.contains(" anthropic.claude-sonnet-4-20250514-v1:0 ") && l.contains("legacy")));
    assert!(stdout.contains("Reserved tier") && stdout.contains("ASSUMED placeholder"));
}

#[test]
fn adding_current_models_needs_a_source_and_a_json_file() {
    let dir = tempfile::tempdir().unwrap();
    copy_catalogs(dir.path());
    let file = dir.path().join("litellm.json");
    std::fs::write(&file, "{}").unwrap();
    let run = |extra: &[&str]| {
        Command::cargo_bin("llmcap")
            .unwrap()
            .args(["pricing", "--dir", dir.path().to_str().unwrap(), "import"])
            .args(extra)
            .output()
            .unwrap()
    };
    let output = run(&["--litellm", file.to_str().unwrap(), "--add-current"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--source"));
    let wheel = dir.path().join("litellm-1.0.0-py3-none-any.whl");
    std::fs::write(&wheel, "PK").unwrap();
    let output = run(&[
        "--litellm",
        wheel.to_str().unwrap(),
        "--source",
        "LiteLLM 1.0.0",
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unzip"));
    // With a source, rows are added and stamped with it.
    std::fs::write(
        &file,
        r#"{"bedrock_mantle/openai.gpt-oss-120b": {"litellm_provider": "bedrock_mantle", "mode": "chat",
            "input_cost_per_token": 1.5e-7, "output_cost_per_token": 6e-7}}"#,
    )
    .unwrap();
    let output = run(&[
        "--litellm",
        file.to_str().unwrap(),
        "--add-current",
        "--source",
        "LiteLLM 1.0.0 (PyPI wheel)",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let catalog = std::fs::read_to_string(dir.path().join("bedrock.toml")).unwrap();
    let table: toml::Value = toml::from_str(&catalog).unwrap();
    let added = table["model"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model_id"].as_str() == Some("openai.gpt-oss-120b"))
        .unwrap();
    assert_eq!(added["endpoint"].as_str(), Some("mantle"));
    assert_eq!(added["source"].as_str(), Some("LiteLLM 1.0.0 (PyPI wheel)"));
}
