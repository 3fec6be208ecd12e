//! `llmcap plan` and the capacity planner's monotonicity.

use assert_cmd::Command;
use llmcap::quota::capacity::{search, SloLimits};
use llmcap::quota::QuotaLimits;
use llmcap::sim::{run, ClientPolicy, EndpointSpec, Load, SimConfig, Slo};
use llmcap::workload::profiles;
use serde_json::Value;

fn llmcap(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("llmcap")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn builtin_plan_writes_its_report_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan");
    let output = llmcap(&["plan", "--out", out.to_str().unwrap(), "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(plan["elapsed_s"].as_f64().unwrap() < 30.0);
    let options = plan["options"].as_array().unwrap();
    assert_eq!(options.len(), 5);
    for o in options {
        assert!(
            o["budget"]["p90_monthly_usd"].as_f64().unwrap()
                >= o["budget"]["p50_monthly_usd"].as_f64().unwrap()
        );
        assert!(o["knee_users"].as_u64().unwrap() >= o["planned_users"].as_u64().unwrap());
    }
    // Sonnet's budget, with seed 000's ranges, is 2-3x its list price.
    let sonnet = &options[0]["budget"];
    assert!(
        sonnet["multiplier_p50"].as_f64().unwrap() >= 2.0
            && sonnet["multiplier_p90"].as_f64().unwrap() <= 3.0,
        "{sonnet}"
    );
    for file in ["plan.md", "plan.json", "quota-claude-3-5-sonnet-bedrock.md"] {
        assert!(out.join(file).exists(), "{file}");
    }
    let md = std::fs::read_to_string(out.join("quota-claude-3-5-sonnet-bedrock.md")).unwrap();
    assert!(
        md.contains("## The ask") && md.contains("Calibration evidence") && md.contains("seed 000")
    );
}

fn plan_error(scenario: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, scenario).unwrap();
    let output = llmcap(&[
        "plan",
        path.to_str().unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn malformed_scenarios_name_file_field_and_fix() {
    let good = include_str!("../scenarios/chat-assistant.toml").replace(
        "../models/",
        &format!("{}/models/", env!("CARGO_MANIFEST_DIR")),
    );
    let cases = [
        (
            good.replace("employees = 2000", "employees = -5"),
            "employees",
        ),
        (
            good.replace("region = \"us-east-1\"", "region = \"mars-1\""),
            "regions in the catalog",
        ),
        (
            good.replace(
                "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "acme.nonesuch-v1",
            ),
            "no Bedrock price for model `acme.nonesuch-v1`",
        ),
        (
            good.replace("peak_active_fraction = 0.15", "peak_active_fraction = 1.5"),
            "peak_active_fraction",
        ),
        (
            good.replace("workload = \"multi_turn_chat\"", "workload = \"gossip\""),
            "unknown workload `gossip`",
        ),
    ];
    for (text, expected) in cases {
        let stderr = plan_error(&text);
        assert!(stderr.contains("s.toml"), "{stderr}");
        assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
    }
}

fn capacity(tpm: Option<f64>, slo: &SloLimits) -> u32 {
    let profile = llmcap::files::load_profile(std::path::Path::new(
        "models/bedrock-llama3-3-70b-instruct.toml",
    ))
    .unwrap();
    let workload = profiles::by_name("shared_system_prompt").unwrap();
    search(2_000, slo, |users| {
        run(&SimConfig {
            model: profile.model.clone(),
            endpoint: EndpointSpec::Bedrock {
                quota: tpm.map(|tpm| QuotaLimits {
                    tpm,
                    rpm: None,
                    tpd: None,
                    output_burndown: 1.0,
                    headroom: 1.0,
                }),
                model_max_tokens: 4096.0,
            },
            workload: workload.clone(),
            load: Load::Users {
                users,
                duration_s: 900.0,
            },
            client: ClientPolicy::default(),
            seed: 3,
            noise: true,
            slo: Slo::default(),
            context_window: 128_000.0,
        })
        .unwrap()
    })
    .knee
}

#[test]
fn capacity_is_monotone_in_quota_and_slo() {
    let slo = SloLimits::default();
    let by_quota: Vec<u32> = [100_000.0, 300_000.0, 1_000_000.0]
        .iter()
        .map(|&q| capacity(Some(q), &slo))
        .collect();
    assert!(by_quota.windows(2).all(|w| w[0] <= w[1]), "{by_quota:?}");
    assert!(
        by_quota[0] < by_quota[2],
        "quota must bind at 100k TPM: {by_quota:?}"
    );
    let strict = SloLimits {
        ttft_p95_s: 0.4,
        ..slo.clone()
    };
    assert!(capacity(None, &strict) <= capacity(None, &slo));
}

#[test]
fn each_planner_has_json_and_quota_writes_a_justification() {
    let dir = tempfile::tempdir().unwrap();
    for planner in ["capacity", "quota", "cost", "breakeven", "budget"] {
        let output = llmcap(&[planner, "--json"]);
        assert!(
            output.status.success(),
            "{planner}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let value: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(!value.as_array().unwrap().is_empty(), "{planner}");
    }
    let justification = dir.path().join("ask.md");
    let output = llmcap(&["quota", "--justify", justification.to_str().unwrap()]);
    assert!(output.status.success());
    let text = std::fs::read_to_string(justification).unwrap();
    for section in [
        "## Use case",
        "## Workload",
        "## Method",
        "## Calibration evidence",
        "## Current against requested quota",
        "## The ask",
    ] {
        assert!(text.contains(section), "{section}");
    }
}

#[test]
fn a_bedrock_option_without_a_quota_takes_the_profiles_default() {
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    let write = |profile: &str| {
        std::fs::write(
            &scenario,
            format!(
                "name = \"quota default\"\nuse_case = \"test\"\nemployees = 200\n\
                 peak_active_fraction = 0.1\nsessions_per_user_per_day = 2.0\n\
                 workdays_per_month = 22.0\nworkload = \"multi_turn_chat\"\nregion = \"us-east-1\"\n\
                 peak_duration_s = 600.0\n\n[[option]]\nkind = \"bedrock\"\nname = \"Llama\"\n\
                 profile = \"{}\"\nmodel_id = \"meta.llama3-3-70b-instruct-v1:0\"\n",
                models.join(profile).display()
            ),
        )
        .unwrap();
    };
    write("bedrock-llama3-3-70b-instruct.toml");
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["quota", scenario.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("\"current_tpm\": 600000.0"), "{text}");
    assert!(text.contains("\"current_rpm\": 800.0"), "{text}");

    // A profile without a default quota: the error names the field and the fix.
    write("sagemaker-ml-g5-xlarge.toml");
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["quota", scenario.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("quota_tpm") && stderr.contains("Service Quotas"),
        "{stderr}"
    );
}

#[test]
fn an_autoscaled_fleet_bills_its_simulated_hours_at_the_same_hourly_price() {
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["cost", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let options: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let find = |name: &str| {
        options
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["option"] == name)
            .unwrap()
            .clone()
    };
    let always = find("ml.g5.12xlarge (SageMaker)");
    let scaled = find("ml.g5.12xlarge autoscaled (SageMaker)");
    let hours = |o: &serde_json::Value| o["instance_hours_per_month"].as_f64().unwrap();
    let usd = |o: &serde_json::Value| o["monthly_on_demand_usd"].as_f64().unwrap();
    // Always on: instances × 730 h.
    assert_eq!(
        hours(&always),
        always["instances"].as_f64().unwrap() * 730.0
    );
    // Autoscaled: at least the one-instance floor all month, less than the peak fleet always on.
    assert!(
        hours(&scaled) >= 24.0 * 365.25 / 12.0 - 1e-6,
        "{}",
        hours(&scaled)
    );
    assert!(hours(&scaled) < hours(&always));
    // Both bill the same hourly price.
    let hourly = usd(&always) / hours(&always);
    assert!((usd(&scaled) / hours(&scaled) - hourly).abs() < 1e-9);
    assert!(scaled["fleet_basis"]
        .as_str()
        .unwrap()
        .contains("simulated workday"));
}

#[test]
fn provisioned_throughput_is_priced_when_the_catalog_has_a_price() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"pt\"\nuse_case = \"test\"\nemployees = 100\npeak_active_fraction = 0.1\n\
             sessions_per_user_per_day = 2.0\nworkdays_per_month = 22.0\nworkload = \"multi_turn_chat\"\n\
             region = \"us-east-1\"\npeak_duration_s = 600.0\n\n[[option]]\nkind = \"bedrock\"\n\
             name = \"Llama PT\"\nprofile = \"{}\"\nmodel_id = \"meta.llama3-3-70b-instruct-v1:0\"\n\
             provisioned_model_units = 2\n",
            root.join("models/bedrock-llama3-3-70b-instruct.toml").display()
        ),
    )
    .unwrap();
    let cost = |pricing: &std::path::Path| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
            .args(["cost", scenario.to_str().unwrap(), "--json", "--pricing"])
            .arg(pricing)
            .output()
            .unwrap()
    };
    // The shipped catalog has no Provisioned Throughput price: the error says what to add.
    let refused = cost(&root.join("pricing"));
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("provisioned_per_model_unit_hour"),
        "{stderr}"
    );

    // A catalog with one: 2 units × $21.18 × 730 h.
    let pricing = dir.path().join("pricing");
    std::fs::create_dir(&pricing).unwrap();
    std::fs::copy(
        root.join("pricing/sagemaker.toml"),
        pricing.join("sagemaker.toml"),
    )
    .unwrap();
    let bedrock = std::fs::read_to_string(root.join("pricing/bedrock.toml")).unwrap();
    let marker = "model_id = \"meta.llama3-3-70b-instruct-v1:0\"\n";
    let priced = bedrock.replacen(
        marker,
        &format!("{marker}provisioned_per_model_unit_hour = 21.18\n"),
        1,
    );
    std::fs::write(pricing.join("bedrock.toml"), priced).unwrap();
    let output = cost(&pricing);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let options: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let pt = options[0]["monthly_provisioned_usd"].as_f64().unwrap();
    assert!((pt - 2.0 * 21.18 * 730.0).abs() < 1e-6, "{pt}");
}

#[test]
fn serverless_bills_compute_seconds_at_its_memory_price() {
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["cost", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let options: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let serverless = options
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["option"] == "SageMaker Serverless 6 GB")
        .unwrap();
    // The basis states seconds per request and the per-second price it multiplied.
    let basis = serverless["fleet_basis"].as_str().unwrap();
    let seconds: f64 = basis
        .split("compute: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let per_second: f64 = basis
        .split("× $")
        .nth(1)
        .and_then(|t| t.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let catalog: toml::Value = toml::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pricing/sagemaker.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    let listed = catalog["serverless"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["memory_mb"].as_integer() == Some(6144) && r["region"].as_str() == Some("us-east-1")
        })
        .unwrap()["usd_per_second"]
        .as_float()
        .unwrap();
    assert_eq!(per_second, listed);
    let monthly = serverless["monthly_on_demand_usd"].as_f64().unwrap();
    let requests = serverless["monthly_requests"].as_f64().unwrap();
    // `seconds` is printed to 2 decimals: agree within that rounding.
    let expected = seconds * requests * per_second;
    assert!(
        (monthly - expected).abs() <= 0.005 * requests * per_second + 1e-9,
        "{monthly} vs {expected}"
    );
    assert!(seconds > 0.0);
}

#[test]
fn every_crossover_solves_the_two_cost_lines_and_fleets_share_break_even_hours() {
    let json = |planner: &str| {
        let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([planner, "--json"])
            .output()
            .unwrap();
        assert!(output.status.success());
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let costs = json("cost");
    let rows = json("breakeven");
    // cost(v) = fixed + (monthly − fixed) / monthly_requests × v
    let line = |name: &str| {
        let o = costs
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["option"] == name)
            .unwrap();
        let fixed = o["monthly_fixed_usd"].as_f64().unwrap();
        let monthly = o["monthly_on_demand_usd"].as_f64().unwrap();
        let per = (monthly - fixed) / o["monthly_requests"].as_f64().unwrap();
        move |v: f64| fixed + per * v
    };
    let mut crossed = 0;
    for row in rows.as_array().unwrap() {
        let (a, b) = (
            line(row["per_token"].as_str().unwrap()),
            line(row["dedicated"].as_str().unwrap()),
        );
        match row["crossover_requests_per_month"].as_f64() {
            Some(v) => {
                crossed += 1;
                assert!((a(v) - b(v)).abs() < 1e-6 * a(v), "{row}");
            }
            // Never crossing: the per-request option is cheaper at every volume.
            None => assert!(a(1e9) < b(1e9) && a(1.0) < b(1.0), "{row}"),
        }
    }
    assert!(crossed >= 4, "{rows}");
    // An always-on and an autoscaled fleet of one instance type bill the same hourly price,
    // so against one per-token option they share the utilisation break-even.
    let hours = |dedicated: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["per_token"] == "Claude 3.5 Sonnet (Bedrock)" && r["dedicated"] == dedicated
            })
            .unwrap()["breakeven_hours_per_month"]
            .as_f64()
            .unwrap()
    };
    let always = hours("ml.g5.12xlarge (SageMaker)");
    let scaled = hours("ml.g5.12xlarge autoscaled (SageMaker)");
    assert!(
        (always - scaled).abs() < 1e-6 * always,
        "{always} vs {scaled}"
    );
}
