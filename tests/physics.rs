//! The roofline against the hardware: profiles from physics alone, fits held above the floors,
//! and the efficiencies in catalog/efficiency.toml regenerated from the published tables.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

fn llmcap() -> Command {
    Command::cargo_bin("llmcap").unwrap()
}

fn published() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/reference/published")
}

/// `bandwidth` and `layer_s` of each `[[vendor]]` block in a TOML text.
fn vendors(text: &str) -> Vec<(String, f64, f64)> {
    let value: toml::Value = toml::from_str(text).unwrap();
    value["vendor"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["vendor"].as_str().unwrap().to_string(),
                v["bandwidth"].as_float().unwrap(),
                v["layer_s"].as_float().unwrap(),
            )
        })
        .collect()
}

/// The catalog's efficiencies are what refitting the published tables gives: the numbers a
/// physics-only profile uses come from the tables they name, not from a hand.
#[test]
fn the_catalog_efficiencies_are_the_published_tables_refit() {
    let out = llmcap()
        .args(["profile-from-hardware", "--published"])
        .arg(published())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let refit = vendors(&text);
    let catalog = vendors(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/efficiency.toml"),
        )
        .unwrap(),
    );
    assert_eq!(refit.len(), catalog.len(), "{text}");
    for ((v, b, l), (cv, cb, cl)) in refit.iter().zip(&catalog) {
        assert_eq!(v, cv);
        assert!((b / cb - 1.0).abs() < 1e-3, "{v}: bandwidth {b} vs {cb}");
        assert!((l / cl - 1.0).abs() < 1e-3, "{v}: layer {l} vs {cl}");
    }
    // Every table whose file name gives its model and hardware is predicted from the others.
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("# ") && l.contains(".csv |"))
            .count(),
        6
    );
}

/// A profile for hardware nobody measured: its one-user TPOT is no faster than reading the
/// FP8 weights once over four L40S's bandwidth (70.6 GB / 3.456 TB/s = 20.4 ms, computed
/// here), its intervals are wide, and it says nothing was measured.
#[test]
fn a_profile_from_physics_stays_above_the_roofline_and_says_it_measured_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("l40s.toml");
    let out = llmcap()
        .args([
            "profile-from-hardware",
            "--model",
            "Llama 3.3 70B Instruct",
            "--accelerator",
            "L40S",
            "--count",
            "4",
            "--precision",
            "fp8",
            "--out",
        ])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = llmcap()
        .args(["predict", "--profile"])
        .arg(&profile)
        .args([
            "--concurrency",
            "1",
            "--prompt-tokens",
            "2048",
            "--output-tokens",
            "256",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &v.as_array().map_or(&v, |a| &a[0]);
    let text = p.to_string();
    let floor = 70.6e9 / (4.0 * 0.864e12);
    let tpot = p["tpot_s"].as_f64().expect(&text);
    assert!(tpot >= floor, "TPOT {tpot} below the floor {floor}");
    assert!(tpot <= 10.0 * floor, "TPOT {tpot}");
    let band = p["tpot_s_90"].as_array().expect(&text);
    let (low, high) = (band[0].as_f64().unwrap(), band[1].as_f64().unwrap());
    assert!(
        high / low >= 3.0,
        "a physics-only interval is wide: {low}–{high}"
    );
    assert_eq!(
        p["not_measured"],
        serde_json::json!(["ttft", "tpot"]),
        "{text}"
    );
}

/// A profile from physics records what it describes, so a plan takes it for that hardware
/// without `borrowed` and refuses it for other hardware: ranking instance types before anyone
/// rents one.
#[test]
fn a_physics_profile_plans_its_own_instance_and_is_refused_for_another() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("l40s.toml");
    let out = llmcap()
        .args(["profile-from-hardware", "--model", "Llama 3.3 70B Instruct"])
        .args([
            "--accelerator",
            "L40S",
            "--count",
            "4",
            "--precision",
            "fp8",
        ])
        .arg("--out")
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&profile).unwrap();
    let hardware: toml::Value = toml::from_str::<toml::Value>(&text).unwrap()["hardware"].clone();
    assert_eq!(hardware["accelerator"].as_str(), Some("NVIDIA L40S"));
    assert_eq!(hardware["count"].as_integer(), Some(4));
    assert_eq!(hardware["precision"].as_str(), Some("fp8"));
    let scenario = |instance: &str, copies: u32| {
        format!(
            "name = \"rank\"\nuse_case = \"test\"\nemployees = 200\npeak_active_fraction = 0.1\n\
             sessions_per_user_per_day = 2.0\nworkdays_per_month = 22.0\nworkload = \"multi_turn_chat\"\n\
             region = \"us-east-1\"\npeak_duration_s = 600.0\n\n[[option]]\nkind = \"sagemaker\"\n\
             name = \"physics\"\nmodel = \"Llama 3.3 70B Instruct\"\nprofile = \"{}\"\n\
             instance_type = \"{instance}\"\nprecision = \"fp8\"\nmodel_copies = {copies}\n\
             slots_per_instance = 64\n",
            profile.display()
        )
    };
    let plan = |text: String| {
        let path = dir.path().join("s.toml");
        std::fs::write(&path, text).unwrap();
        llmcap()
            .current_dir(dir.path())
            .args(["plan"])
            .arg(&path)
            .args(["--out", "o"])
            .output()
            .unwrap()
    };
    let own = plan(scenario("ml.g6e.12xlarge", 1));
    assert!(
        own.status.success(),
        "{}",
        String::from_utf8_lossy(&own.stderr)
    );
    // Two copies of 4 × H100 on a p5: another accelerator.
    let other = plan(scenario("ml.p5.48xlarge", 2));
    assert_eq!(other.status.code(), Some(1));
    let e = String::from_utf8_lossy(&other.stderr);
    assert!(e.contains("4 × NVIDIA L40S") && e.contains("H100"), "{e}");
}

/// FP8 weights on an Ampere card (no FP8 arithmetic) are refused with the reason; a model
/// that does not fit is refused with its size and the memory.
#[test]
fn hardware_that_cannot_serve_the_model_is_refused() {
    let out = llmcap()
        .args([
            "profile-from-hardware",
            "--model",
            "Llama 3.3 70B Instruct",
            "--accelerator",
            "A10G",
            "--count",
            "4",
            "--precision",
            "fp8",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no FP8 arithmetic"));
    let out = llmcap()
        .args([
            "profile-from-hardware",
            "--model",
            "Llama 3.3 70B Instruct",
            "--accelerator",
            "A10G",
            "--precision",
            "bf16",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("141 GB") && e.contains("does not fit"), "{e}");
}

/// NVIDIA NIM's table has one prompt length: fitted with its hardware from the file name, the
/// prefill is no faster than two H100s' FP8 peak allows (2 × 70.6 G FLOP a token over
/// 3,957.8 TFLOP/s = 35.68 µs), and a 6,000-token prompt's TTFT grows with the prompt.
#[test]
fn nims_prefill_is_held_to_its_roofline_and_grows_with_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("nim.toml");
    let out = llmcap()
        .arg("fit")
        .arg(published().join("nim_llama33_70b_2xh100_fp8_5000in_500out.csv"))
        .args(["--model-id", "nim", "--out"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 × NVIDIA H100 80 GB at FP8"), "{stdout}");
    let text = std::fs::read_to_string(&profile).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    let prefill = value["server"]["prefill_s_per_token"].as_float().unwrap();
    let floor = 2.0 * 70.6e9 / (2.0 * 1978.9e12);
    assert!(
        prefill >= floor * (1.0 - 1e-9),
        "prefill {prefill} below {floor}"
    );
    let ttft = |prompt: &str| {
        let out = llmcap()
            .args(["predict", "--profile"])
            .arg(&profile)
            .args([
                "--concurrency",
                "1",
                "--prompt-tokens",
                prompt,
                "--output-tokens",
                "500",
                "--json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let p = v.as_array().map_or(v.clone(), |a| a[0].clone());
        p["ttft_s"].as_f64().unwrap()
    };
    let (short, long) = (ttft("881"), ttft("6000"));
    // At least the extra prompt's arithmetic at the peak: 5,119 tokens × 35.68 µs = 0.18 s.
    assert!(long - short >= 5_119.0 * floor, "{short} → {long}");
}
