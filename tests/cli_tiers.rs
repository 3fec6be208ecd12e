//! Each Bedrock option's month under every tier its model is sold in, recomputed here from the
//! plan's own tokens and the catalog's prices, and the reserve-or-not reading checked against
//! an independent computation of the load factor.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use llmcap::format::thousands;
use llmcap::plan::tiers::Tier;
use llmcap::plan::Plan;

fn llmcap_in(dir: &Path, args: &[&str]) -> String {
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).to_string()
}

/// The built-in Bedrock price catalog with `extra` lines after its one `marker` line, written
/// to `dir/catalog/bedrock.toml` (for `plan --catalog catalog`): after its first occurrence;
/// returns how many there are.
fn catalog_with(dir: &Path, marker: &str, extra: &str) -> usize {
    let catalog = dir.join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    let bedrock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pricing/bedrock.toml"))
            .unwrap();
    assert!(bedrock.contains(marker), "{marker}");
    let priced = bedrock.replacen(marker, &format!("{marker}{extra}"), 1);
    std::fs::write(catalog.join("bedrock.toml"), priced).unwrap();
    bedrock.matches(marker).count()
}

fn read_plan(out: &Path) -> Plan {
    serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap()
}

#[test]
fn gpt_oss_on_mantle_is_priced_at_standard_priority_flex_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    llmcap_in(
        dir.path(),
        &[
            "profile-from-ranges",
            "--model-id",
            "openai.gpt-oss-120b",
            "--name",
            "gpt-oss-120b (test ranges)",
            "--ttft-ms",
            "200..400",
            "--tpot-ms",
            "10..20",
            "--max-concurrency",
            "200",
            "--source",
            "test",
            "--date",
            "2026-11-30",
            "--target",
            "Amazon Bedrock on-demand",
            "--out",
            "gpt-oss.toml",
        ],
    );
    std::fs::write(
        dir.path().join("s.toml"),
        r#"name = "tiers"
use_case = "test"
employees = 200
peak_active_fraction = 0.1
sessions_per_user_per_day = 2.0
workdays_per_month = 22.0
workload = "multi_turn_chat"
region = "us-east-1"
peak_duration_s = 600.0

[[option]]
kind = "bedrock"
name = "gpt-oss"
model = "gpt-oss-120b"
profile = "gpt-oss.toml"
model_id = "openai.gpt-oss-120b"
endpoint = "mantle"
quota_input_tpm = 1000000
quota_output_tpm = 200000
"#,
    )
    .unwrap();
    llmcap_in(dir.path(), &["plan", "s.toml", "--out", "plan"]);
    let plan = read_plan(&dir.path().join("plan"));
    let o = &plan.options[0];
    let usd = |tier: Tier| {
        o.tiers
            .iter()
            .find(|t| t.tier == tier)
            .unwrap_or_else(|| panic!("no {tier:?} in {:?}", o.tiers))
            .monthly_usd
    };
    // The catalog's bedrock-mantle row (LiteLLM 1.110.2): $0.15/$0.60 per million standard,
    // Priority 0.2625/1.05, Flex and Batch 0.075/0.30.
    let (input, output) = (
        o.monthly_requests * o.mean_input_tokens / 1e6,
        o.monthly_requests * o.mean_output_tokens / 1e6,
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.max(1.0);
    assert!(close(usd(Tier::Standard), input * 0.15 + output * 0.6));
    assert!(close(usd(Tier::Priority), input * 0.2625 + output * 1.05));
    assert!(close(usd(Tier::Flex), input * 0.075 + output * 0.3));
    assert!(close(usd(Tier::Batch), input * 0.075 + output * 0.3));
    assert_eq!(o.monthly_on_demand_usd, usd(Tier::Standard));
    let fits = |tier: Tier| {
        o.tiers
            .iter()
            .find(|t| t.tier == tier)
            .unwrap()
            .fits_workload
    };
    assert!(fits(Tier::Priority) && !fits(Tier::Flex) && !fits(Tier::Batch));
    // No Reserved price for this model: no reserve decision and no Reserved row.
    assert!(o.reserve.is_none() && !o.tiers.iter().any(|t| t.tier == Tier::Reserved));
    // The quota is bedrock-mantle's two.
    let q = o.quota.as_ref().unwrap();
    assert_eq!(q.checks.len(), 2);
    let md = std::fs::read_to_string(dir.path().join("plan/plan.md")).unwrap();
    for t in &o.tiers {
        let row = format!("| {} | {} |", t.tier.label(), thousands(t.monthly_usd));
        assert!(md.contains(&row), "{row} not in plan.md");
    }
}

#[test]
fn the_builtin_plan_says_whether_reserving_pays_and_plan_md_agrees_with_plan_json() {
    let dir = tempfile::tempdir().unwrap();
    llmcap_in(dir.path(), &["plan", "--out", "plan"]);
    let plan = read_plan(&dir.path().join("plan"));
    let o = plan
        .options
        .iter()
        .find(|o| o.model == "Claude Sonnet 4.5")
        .expect("the built-in scenario has a Claude Sonnet 4.5 option");
    let r = o.reserve.as_ref().expect("Sonnet 4.5 has Reserved prices");
    // Recomputed from the month's tokens (no prompt cache in the built-in scenario): the share
    // of a peak-sized reservation the month uses, over 730 h × 60 minutes.
    let minutes = 730.0 * 60.0;
    let load_in = o.monthly_requests * o.mean_input_tokens / (r.input_tpm * minutes);
    let load_out = o.monthly_requests * o.mean_output_tokens / (r.output_tpm * minutes);
    assert!((r.load_factor_input / load_in - 1.0).abs() < 1e-9, "{r:?}");
    assert!(
        (r.load_factor_output / load_out - 1.0).abs() < 1e-9,
        "{r:?}"
    );
    let reservation = r.input_tpm / 1_000.0 * r.price_input_per_ktpm_month
        + r.output_tpm / 1_000.0 * r.price_output_per_ktpm_month;
    assert!((r.monthly_usd - reservation).abs() < 1e-6);
    assert_eq!(r.pays, r.monthly_usd < r.standard_usd_same_tokens);
    // An office-hours assistant uses a peak-sized reservation a small part of the month.
    assert!(r.load_factor_input < 0.25 && !r.pays, "{r:?}");
    assert!(r.price_source.contains("ASSUMED"), "{}", r.price_source);
    let md = std::fs::read_to_string(dir.path().join("plan/plan.md")).unwrap();
    assert!(md.contains(&format!(
        "| {} | {} |",
        Tier::Reserved.label(),
        thousands(r.monthly_usd)
    )));
    assert!(md.contains(&format!(
        "above {} requests a month at this peak",
        thousands(r.break_even_requests_per_month)
    )));
    let json = std::fs::read_to_string(dir.path().join("plan/plan.json")).unwrap();
    assert!(json.contains("\"reserve\"") && json.contains("\"tiers\""));
}

#[test]
fn where_the_model_can_be_reserved_break_even_compares_the_reservation_with_the_fleet() {
    let dir = tempfile::tempdir().unwrap();
    // A catalog whose Llama 3.3 row has Reserved prices (test values).
    catalog_with(
        dir.path(),
        "model_id = \"meta.llama3-3-70b-instruct-v1:0\"\n",
        "reserved_input_per_ktpm_month = 7.6\nreserved_output_per_ktpm_month = 7.6\nreserved_source = \"test\"\n",
    );
    llmcap_in(
        dir.path(),
        &["plan", "--catalog", "catalog", "--out", "plan"],
    );
    let plan = read_plan(&dir.path().join("plan"));
    let llama = plan
        .options
        .iter()
        .find(|o| o.name == "Llama 3.3 70B on Bedrock")
        .unwrap();
    let r = llama
        .reserve
        .as_ref()
        .expect("Reserved prices give a decision");
    let b = plan
        .break_even
        .iter()
        .find(|b| b.per_request == llama.name)
        .unwrap();
    assert_eq!(b.reserved_month_usd, Some(r.monthly_usd));
    let fleet = plan.options.iter().find(|o| o.name == b.dedicated).unwrap();
    assert_eq!(
        b.dedicated_month_usd,
        fleet.cost_line().at(plan.monthly_requests)
    );
    let md = std::fs::read_to_string(dir.path().join("plan/plan.md")).unwrap();
    assert!(
        md.contains(&format!(
            "Reserving the peak's tokens per minute on Bedrock instead would cost {} a month",
            llmcap::format::usd(r.monthly_usd)
        )),
        "{md}"
    );
}

#[test]
fn a_quoted_three_month_term_is_its_own_row_and_an_unquoted_one_is_said_to_be_missing() {
    let dir = tempfile::tempdir().unwrap();
    // The global Claude Sonnet 4.5 row (the built-in option's), with test 3-month prices.
    let (i3, o3) = (25.0, 120.0);
    let occurrences = catalog_with(
        dir.path(),
        "reserved_input_per_ktpm_month = 31.68\n",
        &format!(
            "reserved_3mo_input_per_ktpm_month = {i3}\nreserved_3mo_output_per_ktpm_month = {o3}\n"
        ),
    );
    assert_eq!(occurrences, 1);
    llmcap_in(
        dir.path(),
        &["plan", "--catalog", "catalog", "--out", "quoted"],
    );
    llmcap_in(dir.path(), &["plan", "--out", "unquoted"]);
    let sonnet = |plan: &Plan| {
        plan.options
            .iter()
            .find(|o| o.model == "Claude Sonnet 4.5")
            .cloned()
            .unwrap()
    };
    let quoted = sonnet(&read_plan(&dir.path().join("quoted")));
    let r = quoted.reserve.as_ref().unwrap();
    let three = quoted
        .tiers
        .iter()
        .find(|t| t.tier == Tier::Reserved3Month)
        .expect("a 3-month row where the catalog prices it");
    // The same reservation (the peak's p99 minutes, at least AWS's minimums) at the 3-month
    // prices.
    let expected = r.input_tpm / 1_000.0 * i3 + r.output_tpm / 1_000.0 * o3;
    assert!((three.monthly_usd - expected).abs() < 1e-6, "{three:?}");
    assert!(
        three
            .note
            .contains(&llmcap::format::usd(3.0 * three.monthly_usd)),
        "{}",
        three.note
    );
    let unquoted = sonnet(&read_plan(&dir.path().join("unquoted")));
    assert!(unquoted
        .tiers
        .iter()
        .all(|t| t.tier != Tier::Reserved3Month));
    let one = unquoted
        .tiers
        .iter()
        .find(|t| t.tier == Tier::Reserved)
        .unwrap();
    assert!(
        one.note
            .contains("the 3-month term has no price in the catalog"),
        "{}",
        one.note
    );
}
