//! What used to be substituted silently is refused: exit 1 and a message naming the file, the
//! option and the fix (a missing profile path, another model's profile on a SageMaker option,
//! two options whose quota documents would share a file).

use assert_cmd::Command;

const SCENARIO: &str = r#"name = "substitutions"
use_case = "checks"
employees = 200
peak_active_fraction = 0.15
sessions_per_user_per_day = 3.0
workdays_per_month = 22.0
workload = "multi_turn_chat"
region = "us-east-1"
seed = 1
peak_duration_s = 1800.0
[slo]
ttft_p95_s = 1.0
tpot_p95_s = 0.1
max_error_rate = 0.01
"#;

fn option(name: &str, profile: &str) -> String {
    format!(
        "[[option]]\nkind = \"sagemaker\"\nname = \"{name}\"\nmodel = \"Llama 3.3 70B Instruct\"\n\
         profile = \"{profile}\"\ninstance_type = \"ml.p5.48xlarge\"\nprecision = \"fp8\"\n\
         model_copies = 4\nslots_per_instance = 88\n"
    )
}

const NIM: &str = "sagemaker-llama3-3-70b-nim-h100.toml";

/// `llmcap plan s.toml` in a fresh directory: its exit code and stderr.
fn plan(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(["plan", "s.toml"])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_control_plans() {
    let (code, stderr) = plan(&format!("{SCENARIO}{}", option("Llama", NIM)));
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_profile_path_that_does_not_exist_is_refused_not_replaced_by_a_builtin() {
    let path = format!("../models/{NIM}");
    let (code, stderr) = plan(&format!("{SCENARIO}{}", option("Llama", &path)));
    assert_eq!(code, Some(1), "{stderr}");
    for part in [
        "s.toml",
        "option `Llama`",
        "field `profile`",
        "no such file",
        &format!("profile = \"{NIM}\""),
    ] {
        assert!(stderr.contains(part), "{part:?} missing: {stderr}");
    }
}

#[test]
fn another_models_profile_on_a_sagemaker_option_is_refused() {
    let (code, stderr) = plan(&format!(
        "{SCENARIO}{}",
        option("Llama", "bedrock-claude-3-5-sonnet.toml")
    ));
    assert_eq!(code, Some(1), "{stderr}");
    for part in [
        "option `Llama`",
        "is Claude 3.5 Sonnet v2, the option serves Llama 3.3 70B Instruct",
        "profile-from-hardware",
        "borrowed = ",
    ] {
        assert!(stderr.contains(part), "{part:?} missing: {stderr}");
    }
}

#[test]
fn option_names_that_would_share_a_quota_file_are_refused() {
    let (code, stderr) = plan(&format!(
        "{SCENARIO}{}{}",
        option("Llama A!", NIM),
        option("Llama A?", NIM)
    ));
    assert_eq!(code, Some(1), "{stderr}");
    for part in [
        "option[1].name",
        "\"Llama A!\"",
        "quota-llama-a.md",
        "differs in a letter or digit",
    ] {
        assert!(stderr.contains(part), "{part:?} missing: {stderr}");
    }
    // A name with no letter or digit has no file name at all.
    let (code, stderr) = plan(&format!("{SCENARIO}{}", option("?!", NIM)));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("needs a letter or digit"), "{stderr}");
}
