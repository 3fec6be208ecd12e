//! `llmcap plan`: the built-in plan from an empty directory, agreement between its table, text
//! and plan.json, the quota asks against their evidence, like-for-like options, hosting checks,
//! and the capacity planner's monotonicity.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use llmcap::plan::{search, OptionKind, Plan, SloLimits};
use llmcap::quota::QuotaLimits;
use llmcap::report::format::{percent, thousands, usd};
use llmcap::sim::{run, ClientPolicy, EndpointSpec, Load, SimConfig, Slo};
use llmcap::workload::profiles;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn llmcap_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn success(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// The built-in plan, run from an empty directory (the binary carries its catalogs).
fn builtin_plan() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let stdout = success(&llmcap_in(dir.path(), &["plan", "--out", "plan"]));
    let out = dir.path().join("plan");
    (dir, out, stdout)
}

fn read_plan(out: &Path) -> Plan {
    serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap()
}

#[test]
fn the_builtin_plan_runs_anywhere_and_its_text_agrees_with_plan_json() {
    let (_dir, out, stdout) = builtin_plan();
    let plan = read_plan(&out);
    let md = std::fs::read_to_string(out.join("plan.md")).unwrap();
    assert!(out.join("report.html").exists() && out.join("report.md").exists());

    // Like for like: every option names its model; the Llama options are paired, Claude is not.
    let llama = "Llama 3.3 70B Instruct";
    assert!(plan
        .options
        .iter()
        .any(|o| o.model == llama && o.kind == OptionKind::Bedrock));
    assert!(plan
        .options
        .iter()
        .any(|o| o.model == llama && o.kind == OptionKind::Sagemaker));
    assert!(!plan.break_even.is_empty());
    for b in &plan.break_even {
        assert_eq!(b.model, llama);
        let model_of = |name: &str| {
            plan.options
                .iter()
                .find(|o| o.name == name)
                .map(|o| o.model.clone())
                .unwrap()
        };
        assert_eq!(model_of(&b.per_request), model_of(&b.dedicated));
    }
    assert!(
        stdout.contains("Claude 3.5 Sonnet v2: served by one option only"),
        "{stdout}"
    );

    for o in &plan.options {
        // The planning point is 60 % of the knee (per instance for a fleet), as the texts say.
        let scale = o.instances.unwrap_or(1);
        let per_knee = o.knee_users / scale;
        let expected = if per_knee == 0 {
            0
        } else {
            ((f64::from(per_knee) * 0.6).floor() as u32).max(1)
        };
        assert_eq!(o.planned_users, expected * scale, "{}", o.name);
        // The table's money columns are plan.json's budget.
        assert!(
            stdout.contains(&thousands(o.budget.list_monthly_usd)),
            "{}",
            o.name
        );
        assert!(
            stdout.contains(&thousands(o.budget.p90_monthly_usd)),
            "{}",
            o.name
        );
        assert!(md.contains(&usd(o.budget.p50_monthly_usd)), "{}", o.name);
        // A SageMaker option says why its instance can hold the model.
        if o.kind == OptionKind::Sagemaker {
            let h = o.hosting.as_ref().unwrap();
            assert!(h.weights_gb < h.memory_gb / f64::from(h.model_copies));
            assert!(md.contains(&h.reading));
        }
    }

    // Quota documents: every figure is plan.json's, and an ask only where the rule says short.
    for o in plan
        .options
        .iter()
        .filter(|o| o.kind == OptionKind::Bedrock)
    {
        let q = o.quota.as_ref().unwrap();
        let file = llmcap::report::plan_text::quota_file(&o.name);
        let text = std::fs::read_to_string(out.join(&file)).unwrap();
        for check in q.checks() {
            assert!(text.contains(&thousands(check.current)), "{file}");
            assert!(text.contains(&thousands(check.peak_p99_minute)), "{file}");
            assert!(text.contains(&thousands(check.needed)), "{file}");
            assert!(
                text.contains(&percent(check.throttle_rate_at_current)),
                "{file}"
            );
            assert_eq!(
                check.short,
                check.needed > check.current || check.throttle_rate_at_current > 0.0
            );
            match check.requested {
                Some(ask) => {
                    assert!(ask > check.current);
                    assert!(text.contains(&format!("**{}**", thousands(ask))), "{file}");
                }
                None => assert!(!text.contains(&format!("Raise {}", check.quota.label()))),
            }
        }
        assert_eq!(text.contains("Raise "), q.any_short(), "{file}");
        for users in [q.knee_users, q.planned_users, q.peak_users] {
            let users = thousands(f64::from(users));
            assert!(text.contains(&format!("{users} users")), "{file}: {users}");
        }
        assert_eq!(
            q.planned_users,
            (f64::from(q.knee_users) * 0.6).floor() as u32
        );
    }

    // Break-even: each crossing is where the costs meet (a line meets a step, or a new
    // instance lifts the fleet past the line), and the cheaper option at the scenario's volume
    // is the one with the lower monthly cost there.
    for b in &plan.break_even {
        let find = |name: &str| plan.options.iter().find(|o| o.name == name).unwrap();
        let (a, d) = (find(&b.per_request), find(&b.dedicated));
        for c in &b.crossings {
            let v = c.requests_per_month;
            let (ca, cd) = (a.cost_line().at(v), d.cost_curve().at(v));
            let next = d.cost_curve().at(v * (1.0 + 1e-9));
            assert!(
                (ca - cd).abs() <= 1e-6 * ca.max(cd) || (cd < ca && ca < next),
                "{b:?}"
            );
        }
        let (ma, md_) = (a.monthly_on_demand_usd, d.monthly_on_demand_usd);
        let cheaper = if ma <= md_ { &a.name } else { &d.name };
        assert_eq!(&b.cheaper_at_plan, cheaper);
        assert!((b.saving_at_plan_usd - (ma - md_).abs()).abs() < 1e-6 * ma.max(md_));
        assert!(md.contains(&usd(b.saving_at_plan_usd)), "{b:?}");
        assert!(stdout.contains(&usd(b.saving_at_plan_usd)), "{b:?}");
    }

    // `llmcap report` reads the typed plan back and renders the same report.
    let again = tempfile::tempdir().unwrap();
    success(&llmcap_in(
        again.path(),
        &["report", out.to_str().unwrap(), "--out", "r"],
    ));
    assert!(again.path().join("r/report.html").exists());
}

#[test]
fn the_peak_has_no_start_up_burst_and_the_ask_follows_the_steady_p99_minute() {
    let (_dir, out, _) = builtin_plan();
    let plan = read_plan(&out);
    for o in plan
        .options
        .iter()
        .filter(|o| o.kind == OptionKind::Bedrock)
    {
        let tpm: Vec<f64> = o.peak_minutes.iter().map(|m| m.tpm_reserved).collect();
        assert!(tpm.len() >= 25, "{} minutes", tpm.len());
        let rest = &tpm[3..];
        let mean = rest.iter().sum::<f64>() / rest.len() as f64;
        let sd =
            (rest.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (rest.len() - 1) as f64).sqrt();
        for (minute, t) in tpm[..3].iter().enumerate() {
            assert!(
                (t - mean).abs() <= 4.0 * sd,
                "{}: minute {minute} reserves {t:.0} TPM against {mean:.0} ± {sd:.0} later",
                o.name
            );
        }
        let q = o.quota.as_ref().unwrap();
        let tpm = q.main_check();
        if let Some(ask) = tpm.requested {
            assert!(ask <= 1.5 * tpm.peak_p99_minute, "{}: ask {ask}", o.name);
        }
    }
}

fn plan_error(scenario: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    // The built-in scenario's profiles, named bare (its `../models/` paths are relative to the
    // repository, not to this directory).
    std::fs::write(&path, scenario.replace("\"../models/", "\"")).unwrap();
    let output = llmcap_in(dir.path(), &["plan", path.to_str().unwrap(), "--out", "o"]);
    assert!(!output.status.success());
    assert_eq!(output.status.code(), Some(1), "no panic");
    String::from_utf8_lossy(&output.stderr).to_string()
}

const BUILTIN: &str = include_str!("../scenarios/chat-assistant.toml");

#[test]
fn malformed_scenarios_name_file_field_and_fix() {
    let cases = [
        (
            BUILTIN.replace("employees = 2000", "employees = -5"),
            "employees",
        ),
        (
            BUILTIN.replace("region = \"us-east-1\"", "region = \"mars-1\""),
            "regions in the catalog",
        ),
        (
            BUILTIN.replace(
                "anthropic.claude-3-5-sonnet-20241022-v2:0",
                "acme.nonesuch-v1",
            ),
            "is not Claude 3.5 Sonnet v2",
        ),
        (
            BUILTIN.replace("peak_active_fraction = 0.15", "peak_active_fraction = 1.5"),
            "peak_active_fraction",
        ),
        (
            BUILTIN.replace("workload = \"multi_turn_chat\"", "workload = \"gossip\""),
            "unknown workload",
        ),
        (
            BUILTIN.replace("quota_tpm = 600000", "quota_tpm = inf"),
            "option[0].quota_tpm",
        ),
        (
            BUILTIN.replacen("slots_per_instance = 88", "slots_per_instance = 0", 1),
            "option[1].slots_per_instance",
        ),
        (
            BUILTIN.replace("employees = 2000", "employees = 4294967295"),
            "peak-hour users",
        ),
    ];
    for (text, expected) in cases {
        let stderr = plan_error(&text);
        assert!(stderr.contains("s.toml"), "{stderr}");
        assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
    }
}

#[test]
fn an_option_that_cannot_host_its_model_is_rejected_with_the_reason() {
    let llama_on_g5 = BUILTIN
        .replacen(
            "instance_type = \"ml.p5.48xlarge\"",
            "instance_type = \"ml.g5.12xlarge\"",
            1,
        )
        .replacen(
            "precision = \"fp8\"\nmodel_copies = 4",
            "precision = \"bf16\"\nmodel_copies = 1",
            1,
        );
    let e = plan_error(&llama_on_g5);
    assert!(e.contains("141 GB") && e.contains("ml.g5.12xlarge"), "{e}");

    // FP8 weights on eight A10Gs fit in memory (71 GB of 192 GB) but Ampere has no FP8.
    let fp8_on_ampere = BUILTIN
        .replacen(
            "instance_type = \"ml.p5.48xlarge\"",
            "instance_type = \"ml.g5.48xlarge\"",
            1,
        )
        .replacen(
            "precision = \"fp8\"\nmodel_copies = 4",
            "precision = \"fp8\"\nmodel_copies = 1",
            1,
        );
    let e = plan_error(&fp8_on_ampere);
    assert!(
        e.contains("NVIDIA A10G has no FP8 arithmetic") && e.contains("ml.p5.48xlarge"),
        "{e}"
    );

    // NIM's 2 × H100 profile on four L40S: refused, both hardware named.
    let on_l40s = BUILTIN
        .replacen(
            "instance_type = \"ml.p5.48xlarge\"",
            "instance_type = \"ml.g6e.12xlarge\"",
            1,
        )
        .replacen(
            "precision = \"fp8\"\nmodel_copies = 4",
            "precision = \"fp8\"\nmodel_copies = 1",
            1,
        );
    let e = plan_error(&on_l40s);
    assert!(
        e.contains("2 × NVIDIA H100 80 GB")
            && e.contains("4 × NVIDIA L40S")
            && e.contains("borrowed = \"why\""),
        "{e}"
    );

    let serverless = format!(
        "{BUILTIN}\n[[option]]\nkind = \"serverless\"\nname = \"Llama serverless\"\n\
         model = \"Llama 3.3 70B Instruct\"\nprofile = \"../models/sagemaker-serverless.toml\"\n\
         memory_mb = 6144\nprecision = \"int4\"\n"
    );
    let e = plan_error(&serverless);
    assert!(e.contains("CPU") && e.contains("6 GB"), "{e}");

    let claude_on_sagemaker = BUILTIN.replacen(
        "name = \"Llama 3.3 70B on ml.p5.48xlarge\"\nmodel = \"Llama 3.3 70B Instruct\"",
        "name = \"Claude on p5\"\nmodel = \"Claude 3.5 Sonnet v2\"",
        1,
    );
    let e = plan_error(&claude_on_sagemaker);
    assert!(e.contains("not published"), "{e}");

    // A Bedrock option pointing at another model's profile.
    let wrong_profile = BUILTIN.replacen(
        "profile = \"../models/bedrock-llama3-3-70b-instruct.toml\"",
        "profile = \"../models/bedrock-claude-3-5-sonnet.toml\"",
        1,
    );
    let e = plan_error(&wrong_profile);
    assert!(e.contains("its profile measures"), "{e}");
}

fn capacity(tpm: Option<f64>, slo: &SloLimits) -> u32 {
    let profile =
        llmcap::files::load_profile(&root().join("models/bedrock-llama3-3-70b-instruct.toml"))
            .unwrap();
    let workload = profiles::by_name("shared_system_prompt").unwrap();
    search(2_000, slo, |users| {
        run(&SimConfig {
            model: profile.model.clone(),
            endpoint: EndpointSpec::Bedrock {
                quota: tpm.map(|tpm| {
                    QuotaLimits {
                        tpm,
                        rpm: None,
                        tpd: None,
                        output_burndown: 1.0,
                        headroom: 1.0,
                    }
                    .into()
                }),
                model_max_tokens: 4096.0,
                cached_prefix_tokens: 0.0,
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
            warmup_s: 60.0,
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
fn each_planner_has_json_and_quota_writes_its_document() {
    let dir = tempfile::tempdir().unwrap();
    for planner in ["capacity", "quota", "cost", "breakeven", "budget"] {
        let stdout = success(&llmcap_in(dir.path(), &[planner, "--json"]));
        let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert!(!value.as_array().unwrap().is_empty(), "{planner}");
    }
    success(&llmcap_in(dir.path(), &["quota", "--justify", "ask.md"]));
    let text = std::fs::read_to_string(dir.path().join("ask.md")).unwrap();
    for section in [
        "## Use case",
        "## Workload",
        "## Method",
        "The rule every verdict below follows",
        "## Calibration evidence",
        "## Each quota: current against needed",
        "## The ask",
    ] {
        assert!(text.contains(section), "{section}");
    }
}

/// A one-option scenario file next to the repository's profiles.
fn scenario_with(option: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"small\"\nuse_case = \"test\"\nemployees = 200\n\
             peak_active_fraction = 0.1\nsessions_per_user_per_day = 2.0\n\
             workdays_per_month = 22.0\nworkload = \"multi_turn_chat\"\nregion = \"us-east-1\"\n\
             peak_duration_s = 600.0\n\n[[option]]\n{}\n",
            option.replace("MODELS", &root().join("models").display().to_string())
        ),
    )
    .unwrap();
    (dir, path)
}

#[test]
fn a_bedrock_option_without_a_quota_takes_the_profiles_default() {
    let (dir, path) = scenario_with(
        "kind = \"bedrock\"\nname = \"Llama\"\nmodel = \"Llama 3.3 70B Instruct\"\n\
         profile = \"MODELS/bedrock-llama3-3-70b-instruct.toml\"\n\
         model_id = \"us.meta.llama3-3-70b-instruct-v1:0\"",
    );
    let stdout = success(&llmcap_in(
        dir.path(),
        &["quota", path.to_str().unwrap(), "--json"],
    ));
    let quotas: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let checks = quotas[0]["checks"].as_array().unwrap();
    assert_eq!(checks[0]["quota"], "tpm", "{stdout}");
    assert_eq!(checks[0]["current"].as_f64(), Some(600_000.0), "{stdout}");
    // The profile's 800 RPM is not applied: AWS no longer enforces RPM on bedrock-runtime, so
    // only a scenario's own quota_rpm adds an RPM check.
    assert_eq!(checks.len(), 1, "{stdout}");
}

#[test]
fn an_autoscaled_fleet_bills_its_simulated_hours_at_the_same_hourly_price() {
    // Small copies (4 copies of the profile's 2 × H100, 2 slots each: 8 an instance) so that the
    // peak needs several instances and the night does not.
    let fleet = |name: &str, extra: &str| {
        format!(
            "[[option]]\nkind = \"sagemaker\"\nname = \"{name}\"\nmodel = \"Llama 3.3 70B Instruct\"\n\
             profile = \"MODELS/sagemaker-llama3-3-70b-nim-h100.toml\"\ninstance_type = \"ml.p5.48xlarge\"\n\
             precision = \"fp8\"\nmodel_copies = 4\nslots_per_instance = 2\n{extra}\n"
        )
    };
    let options = format!(
        "{}{}",
        fleet("always on", ""),
        fleet(
            "autoscaled",
            "autoscaling = { min_instances = 1, target_concurrency = 6 }"
        )
    );
    let (dir, path) = scenario_with(options.trim_start_matches("[[option]]\n"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("employees = 200", "employees = 4000")
        .replace("peak_active_fraction = 0.1", "peak_active_fraction = 0.15");
    std::fs::write(&path, text).unwrap();
    let stdout = success(&llmcap_in(
        dir.path(),
        &["cost", path.to_str().unwrap(), "--json"],
    ));
    let options: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let find = |name: &str| {
        options
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["option"] == name)
            .unwrap()
            .clone()
    };
    let always = find("always on");
    let scaled = find("autoscaled");
    assert!(always["instances"].as_u64().unwrap() >= 2, "{always}");
    let hours = |o: &serde_json::Value| o["instance_hours_per_month"].as_f64().unwrap();
    let usd = |o: &serde_json::Value| o["monthly_on_demand_usd"].as_f64().unwrap();
    let hourly = usd(&always) / hours(&always);
    assert!(hours(&scaled) < hours(&always), "{scaled} vs {always}");
    assert!((usd(&scaled) / hours(&scaled) - hourly).abs() < 1e-9);
    assert!(scaled["fleet_basis"]
        .as_str()
        .unwrap()
        .contains("simulated workday"));
}

#[test]
fn provisioned_throughput_is_priced_when_the_catalog_has_a_price() {
    let (dir, path) = scenario_with(
        "kind = \"bedrock\"\nname = \"Llama PT\"\nmodel = \"Llama 3.3 70B Instruct\"\n\
         profile = \"MODELS/bedrock-llama3-3-70b-instruct.toml\"\n\
         model_id = \"us.meta.llama3-3-70b-instruct-v1:0\"\nprovisioned_model_units = 2",
    );
    let cost = |catalog: Option<&Path>| {
        let mut args = vec!["cost", path.to_str().unwrap(), "--json"];
        if let Some(c) = catalog {
            args.extend(["--catalog", c.to_str().unwrap()]);
        }
        llmcap_in(dir.path(), &args)
    };
    // The built-in catalog has no Provisioned Throughput price: the error says what to add.
    let refused = cost(None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("provisioned_per_model_unit_hour"),
        "{stderr}"
    );

    // A catalog directory with one overrides the built-in file: 2 units × $21.18 × 730 h.
    let catalog = dir.path().join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    let bedrock = std::fs::read_to_string(root().join("pricing/bedrock.toml")).unwrap();
    let marker = "model_id = \"meta.llama3-3-70b-instruct-v1:0\"\n";
    let priced = bedrock.replacen(
        marker,
        &format!("{marker}provisioned_per_model_unit_hour = 21.18\n"),
        1,
    );
    std::fs::write(catalog.join("bedrock.toml"), priced).unwrap();
    let options: serde_json::Value = serde_json::from_str(&success(&cost(Some(&catalog)))).unwrap();
    let pt = options[0]["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tier"] == "provisioned")
        .and_then(|t| t["monthly_usd"].as_f64())
        .unwrap();
    assert!((pt - 2.0 * 21.18 * 730.0).abs() < 1e-6, "{pt}");
}

#[test]
fn serverless_bills_compute_seconds_at_its_memory_price() {
    let (dir, path) = scenario_with(
        "kind = \"serverless\"\nname = \"SmolLM2 serverless\"\nmodel = \"SmolLM2 135M Instruct\"\n\
         profile = \"MODELS/sagemaker-serverless.toml\"\nmemory_mb = 6144",
    );
    let stdout = success(&llmcap_in(
        dir.path(),
        &["cost", path.to_str().unwrap(), "--json"],
    ));
    let options: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let serverless = &options[0];
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
    let catalog: toml::Value =
        toml::from_str(&std::fs::read_to_string(root().join("pricing/sagemaker.toml")).unwrap())
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
fn a_short_quota_is_asked_for_from_the_steady_p99_minute_and_the_ask_removes_the_throttling() {
    let dir = tempfile::tempdir().unwrap();
    let text = BUILTIN.replacen(
        "quota_tpm = 600000",
        "quota_tpm = 100000\nquota_rpm = 100",
        1,
    );
    std::fs::write(
        dir.path().join("s.toml"),
        text.replace("\"../models/", "\""),
    )
    .unwrap();
    let stdout = success(&llmcap_in(dir.path(), &["plan", "s.toml", "--out", "plan"]));
    let out = dir.path().join("plan");
    let plan = read_plan(&out);
    let o = &plan.options[0];
    let q = o.quota.as_ref().unwrap();
    assert_eq!(q.checks.len(), 2, "TPM and the RPM the scenario states");
    for check in q.checks() {
        assert!(
            check.short && check.throttle_rate_at_current > 0.0,
            "{check:?}"
        );
        let ask = check.requested.unwrap();
        assert!(
            ask > check.current && ask >= check.peak_p99_minute,
            "{check:?}"
        );
        assert!(ask <= 1.5 * check.peak_p99_minute, "{check:?}");
        assert!(
            stdout.contains(&format!("→ ask {}", thousands(ask))),
            "{stdout}"
        );
    }
    assert!(q.throttle_rate_planned < q.throttle_rate_current, "{q:?}");
    let doc =
        std::fs::read_to_string(out.join(llmcap::report::plan_text::quota_file(&o.name))).unwrap();
    assert!(doc.starts_with("# Quota increase request"));
    assert!(
        doc.contains(
            "Raise \"Cross-Region InvokeModel tokens per minute for Llama 3.3 70B Instruct\""
        ) && doc.contains("Raise \"Cross-Region InvokeModel requests per minute for"),
        "{doc}"
    );
    assert!(doc.contains(&percent(q.throttle_rate_planned)));
}

#[test]
fn a_borrowed_profile_plans_marked_with_its_reason_and_a_wider_capacity_interval() {
    let option = |extra: &str| {
        format!(
            "kind = \"sagemaker\"\nname = \"Llama on L40S\"\nmodel = \"Llama 3.3 70B Instruct\"\n\
             profile = \"MODELS/sagemaker-llama3-3-70b-nim-h100.toml\"\ninstance_type = \"ml.g6e.12xlarge\"\n\
             precision = \"fp8\"\nslots_per_instance = 32\n{extra}"
        )
    };
    let (dir, path) = scenario_with(&option(""));
    let refused = llmcap_in(dir.path(), &["plan", path.to_str().unwrap(), "--out", "o"]);
    assert_eq!(refused.status.code(), Some(1));
    let why = "no L40S table is published; NIM's H100 figures stand in until we calibrate";
    let (dir, path) = scenario_with(&option(&format!("borrowed = \"{why}\"")));
    success(&llmcap_in(
        dir.path(),
        &["plan", path.to_str().unwrap(), "--out", "o"],
    ));
    let out = dir.path().join("o");
    let plan = read_plan(&out);
    let o = &plan.options[0];
    let borrowed = o.borrowed.as_ref().expect("marked borrowed");
    assert_eq!(borrowed.why, why);
    assert!(
        borrowed.differences.iter().any(|d| d.contains("L40S")),
        "{borrowed:?}"
    );
    // NIM's decode step (13.2 ms on 2 × H100) is faster than four L40S can read 70.6 GB of FP8
    // weights (4 × 864 GB/s: 20.43 ms): raised to that floor, both numbers named.
    let floor_ms = 70.6e9 / (4.0 * 0.864e12) * 1e3;
    assert!(
        borrowed
            .held_to_floors
            .iter()
            .any(|n| n.contains("decode step") && n.contains(&format!("{floor_ms:.3} ms"))),
        "{borrowed:?}"
    );
    let md = std::fs::read_to_string(out.join("plan.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(md.contains("BORROWED") && md.contains(why), "{md}");
    assert!(md.contains("held to this hardware's roofline"), "{md}");
    assert!(html.contains("BORROWED"), "report.html marks it");
    // The capacity interval is widened, and says so.
    let interval = o.capacity_interval.as_deref().unwrap_or_default();
    assert!(interval.contains("widened ×2"), "{interval}");
}

#[test]
fn knees_are_searched_until_the_slo_breaks_and_extrapolation_is_said() {
    let (_dir, out, _) = builtin_plan();
    let plan = read_plan(&out);
    for o in &plan.options {
        assert!(!o.knee_at_search_limit, "{}: the knee is a number", o.name);
        // Past the knee the curve has a failing point: the search went until the SLO broke.
        assert!(
            o.curve
                .iter()
                .any(|p| !p.meets_slo && p.users > o.knee_users / o.curve_scale),
            "{}",
            o.name
        );
    }
    // NIM measured 5,000-token prompts only; the chat's prompts are far shorter: the knee is
    // an extrapolation in prompt length, by the ratio of the two.
    let p5 = plan
        .options
        .iter()
        .find(|o| o.kind == OptionKind::Sagemaker)
        .unwrap();
    let point = p5.operating_point.as_ref().unwrap();
    let prompt = point
        .extrapolations
        .iter()
        .find(|x| x.quantity == "prompt tokens")
        .expect("the prompt is outside the measured range");
    assert!((prompt.factor() - p5.mean_input_tokens / 5_000.0).abs() < 1e-9);
    let md = std::fs::read_to_string(out.join("plan.md")).unwrap();
    assert!(md.contains("prompt tokens ×"), "the table says it");
    assert!(
        md.contains("measured 5,000 only"),
        "plan.md says by how much"
    );
}
