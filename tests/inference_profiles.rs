//! A Bedrock option names the way it reaches the model by its ID: a bare ID where Bedrock takes
//! the model only through an inference profile is refused with the ID to use, and every quota
//! row names the Service Quotas entry of the ID's own profile (in-Region, geographic, global).
//! The expected names are built here from AWS's patterns, not from llmcap's code.

use assert_cmd::Command;
use serde_json::Value;

fn scenario(region: &str, options: &str) -> String {
    format!(
        r#"name = "profiles"
use_case = "checks"
employees = 200
peak_active_fraction = 0.15
sessions_per_user_per_day = 3.0
workdays_per_month = 22.0
workload = "multi_turn_chat"
region = "{region}"
seed = 1
peak_duration_s = 900.0
[slo]
ttft_p95_s = 1.0
tpot_p95_s = 0.1
max_error_rate = 0.01
{options}"#
    )
}

fn option(name: &str, model: &str, profile: &str, model_id: &str, extra: &str) -> String {
    format!(
        "[[option]]\nkind = \"bedrock\"\nname = \"{name}\"\nmodel = \"{model}\"\nprofile = \"{profile}\"\n\
         model_id = \"{model_id}\"\nquota_tpm = 600000\n{extra}"
    )
}

const LLAMA: &str = "Llama 3.3 70B Instruct";
const LLAMA_PROFILE: &str = "bedrock-llama3-3-70b-instruct.toml";
const SONNET: &str = "Claude 3.5 Sonnet v2";
const SONNET_PROFILE: &str = "bedrock-claude-3-5-sonnet.toml";

/// `llmcap plan s.toml --out out` in a fresh directory: exit code, stderr, plan.json.
fn plan(text: &str) -> (Option<i32>, String, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(["plan", "s.toml", "--out", "out"])
        .output()
        .unwrap();
    let json = std::fs::read_to_string(dir.path().join("out/plan.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
        json,
    )
}

/// AWS's entry for a TPM quota, by the ID's prefix (User Guide, "Quotas for the
/// bedrock-runtime endpoint"; global by the console's pattern).
fn expected_tpm_entry(model_id: &str, model: &str) -> String {
    let geographic = ["us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov."];
    if model_id.starts_with("global.") {
        format!("Global cross-Region InvokeModel tokens per minute for {model}")
    } else if geographic.iter().any(|p| model_id.starts_with(p)) {
        format!("Cross-Region InvokeModel tokens per minute for {model}")
    } else {
        format!("On-demand InvokeModel tokens per minute for {model}")
    }
}

#[test]
fn a_bare_id_that_needs_a_profile_is_refused_with_the_id_to_use() {
    let text = scenario(
        "us-east-1",
        &option(
            "Llama",
            LLAMA,
            LLAMA_PROFILE,
            "meta.llama3-3-70b-instruct-v1:0",
            "",
        ),
    );
    let (code, stderr, _) = plan(&text);
    assert_eq!(code, Some(1), "{stderr}");
    for part in [
        "s.toml",
        "option `Llama`",
        "on-demand throughput isn't supported",
        "model_id = \"us.meta.llama3-3-70b-instruct-v1:0\"",
        "Cross-Region InvokeModel tokens per minute for Llama 3.3 70B Instruct",
    ] {
        assert!(stderr.contains(part), "missing {part:?} in {stderr}");
    }
}

#[test]
fn a_declared_profile_that_contradicts_the_id_is_refused() {
    let text = scenario(
        "us-east-1",
        &option(
            "Llama",
            LLAMA,
            LLAMA_PROFILE,
            "us.meta.llama3-3-70b-instruct-v1:0",
            "inference_profile = \"global\"\n",
        ),
    );
    let (code, stderr, _) = plan(&text);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the ID decides"), "{stderr}");
}

#[test]
fn every_quota_row_names_the_entry_of_its_ids_profile() {
    // In us-west-2 Claude 3.5 Sonnet v2 is taken on demand in the Region by its bare ID; the
    // same model through the US profile, and Llama through it, count against Cross-Region
    // entries.
    let options = [
        option(
            "Sonnet here",
            SONNET,
            SONNET_PROFILE,
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "",
        ),
        option(
            "Sonnet US",
            SONNET,
            SONNET_PROFILE,
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "",
        ),
        option(
            "Llama US",
            LLAMA,
            LLAMA_PROFILE,
            "us.meta.llama3-3-70b-instruct-v1:0",
            "",
        ),
    ]
    .concat();
    let (code, stderr, json) = plan(&scenario("us-west-2", &options));
    assert_eq!(code, Some(0), "{stderr}");
    let json = json.expect("plan.json");
    let mut seen = 0;
    for o in json["options"].as_array().unwrap() {
        let Some(q) = o.get("quota").filter(|q| !q.is_null()) else {
            continue;
        };
        let id = q["model_id"].as_str().unwrap();
        let model = q["model"].as_str().unwrap();
        let tpm = q["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["quota"] == "tpm")
            .expect("a TPM row");
        assert_eq!(
            tpm["service_quota_name"].as_str().unwrap(),
            expected_tpm_entry(id, model),
            "{id}"
        );
        seen += 1;
    }
    assert_eq!(seen, 3);
}
