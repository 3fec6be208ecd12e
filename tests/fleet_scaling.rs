//! An autoscaled SageMaker fleet as it is billed and shown: one that may scale to zero bills
//! only its workdays' simulated hours (nothing on the other days), pays for it in requests
//! refused while the first instance starts, and the table names its range and its peak rather
//! than one instance count.

use assert_cmd::Command;
use llmcap::plan::Plan;

const SCENARIO: &str = r#"name = "scaling"
use_case = "checks"
employees = 2000
peak_active_fraction = 0.15
sessions_per_user_per_day = 3.0
workdays_per_month = 22.0
workload = "multi_turn_chat"
region = "us-east-1"
seed = 3
peak_duration_s = 1800.0
[slo]
ttft_p95_s = 1.0
tpot_p95_s = 0.1
max_error_rate = 0.01

[[option]]
kind = "sagemaker"
name = "Llama"
model = "Llama 3.3 70B Instruct"
profile = "sagemaker-llama3-3-70b-nim-h100.toml"
instance_type = "ml.p5.48xlarge"
precision = "fp8"
model_copies = 4
slots_per_instance = 88
"#;

fn plan(min_instances: u32) -> (Plan, String) {
    plan_with(&format!(
        "autoscaling = {{ min_instances = {min_instances}, max_instances = 3, target_concurrency = 40 }}\n"
    ))
}

fn plan_with(option_extra: &str) -> (Plan, String) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{SCENARIO}{option_extra}");
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(["plan", "s.toml", "--out", "out"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(dir.path().join("out/plan.json")).unwrap();
    (
        serde_json::from_str(&json).unwrap(),
        String::from_utf8_lossy(&out.stdout).into(),
    )
}

#[test]
fn a_fleet_that_scales_to_zero_bills_its_workdays_only_and_says_what_starting_costs() {
    let (zero, stdout) = plan(0);
    let (one, _) = plan(1);
    let (z, o) = (&zero.options[0], &one.options[0]);
    let (zs, os) = (z.scaling.as_ref().unwrap(), o.scaling.as_ref().unwrap());
    assert_eq!((zs.min_instances, zs.max_instances), (0, 3));
    // The month: the workday's hours on each of 22 workdays, and nothing on the other
    // 30.44 − 22 days; with one instance kept, 24 h on each of those days besides.
    let other_days = 365.25 / 12.0 - 22.0;
    let z_hours = z.instance_hours_per_month.unwrap();
    let o_hours = o.instance_hours_per_month.unwrap();
    assert!(
        (z_hours - 22.0 * zs.workday_instance_hours).abs() < 1e-6,
        "{z_hours}"
    );
    assert!(
        (o_hours - (22.0 * os.workday_instance_hours + 24.0 * other_days)).abs() < 1e-6,
        "{o_hours}"
    );
    // Idle nights cost nothing at zero, so its workday is shorter than one kept at one
    // instance; its first requests each morning wait on a start and some fail.
    assert!(
        zs.workday_instance_hours < os.workday_instance_hours,
        "{zs:?} {os:?}"
    );
    assert!(
        zs.workday_error_rate > os.workday_error_rate,
        "{zs:?} {os:?}"
    );
    assert!(z.monthly_on_demand_usd < o.monthly_on_demand_usd);
    assert_eq!(z.monthly_fixed_usd, 0.0, "nothing runs around the clock");
    // The table says what scales and where, not one instance count.
    assert!(
        stdout.contains("autoscaled 0–3 instances (to zero when idle;"),
        "{stdout}"
    );
    let basis = z.fleet_basis.as_deref().unwrap();
    assert!(basis.contains("NoCapacityInvocationFailures"), "{basis}");
}

#[test]
fn min_instances_above_a_thousand_is_refused_and_zero_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        format!("{SCENARIO}autoscaling = {{ min_instances = 1001, target_concurrency = 40 }}\n");
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let out = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(["plan", "s.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("autoscaling.min_instances"), "{stderr}");
    assert!(
        stderr.contains("0: the inference components scale to zero"),
        "{stderr}"
    );
}

#[test]
fn a_savings_plan_commits_to_what_runs_around_the_clock_and_bills_the_rest_on_demand() {
    let sp = "savings_plan = { discount = 0.3, term_years = 1, source = \"test rate\" }\n";
    // Always on: the whole fleet is committed, so the month is the on-demand month × 0.7.
    let (always, _) = plan_with(sp);
    let o = &always.options[0];
    let s = o.savings_plan.as_ref().unwrap();
    assert_eq!(s.committed_instances, o.instances.unwrap());
    assert!(
        (s.monthly_usd - 0.7 * o.monthly_on_demand_usd).abs() < 1e-6,
        "{s:?}"
    );
    // Autoscaled from one: one instance's 730 h at 0.7 of the hourly price, the hours above
    // it at the full price (the price from the plan's own month and hours).
    let (scaled, _) = plan_with(&format!(
        "{sp}autoscaling = {{ min_instances = 1, max_instances = 3, target_concurrency = 40 }}\n"
    ));
    let o = &scaled.options[0];
    let hours = o.instance_hours_per_month.unwrap();
    let hourly = o.monthly_on_demand_usd / hours;
    let s = o.savings_plan.as_ref().unwrap();
    assert_eq!(s.committed_instances, 1);
    let expected = 730.0 * hourly * 0.7 + (hours - 730.0).max(0.0) * hourly;
    assert!((s.monthly_usd - expected).abs() < 1e-6, "{s:?} {expected}");
    assert!((s.saving_usd - (o.monthly_on_demand_usd - s.monthly_usd)).abs() < 1e-6);
}
