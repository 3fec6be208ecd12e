//! A snapshot of the built-in plan's plan.json: any change to a planner's numbers or to the
//! file's shape shows up as a reviewed diff (`cargo insta review`, or INSTA_UPDATE=always).
//! The date and the run time are redacted; everything else is deterministic (seeded).

use assert_cmd::Command;

#[test]
fn the_builtin_plan_json() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("llmcap")
        .unwrap()
        .current_dir(dir.path())
        .args(["plan", "--out", "plan", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // The typed plan reads back from what was written.
    let typed: llmcap::plan::Plan = serde_json::from_value(plan.clone()).unwrap();
    assert_eq!(
        typed.options.len(),
        plan["options"].as_array().unwrap().len()
    );
    insta::assert_json_snapshot!("builtin_plan", plan, {
        ".generated_on" => "[date]",
        ".elapsed_s" => "[seconds]",
    });
}
