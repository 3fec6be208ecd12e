//! Hostile inputs to `llmcap actual` and to the writers of user-named outputs: each is refused
//! with exit code 1, a message naming the file and the line, datapoint or field, and nothing
//! written (the output directory is not even created; a device or FIFO in the way is left as it
//! was). Then properties: `parse_iso` and the two report parsers never panic, whatever the text.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use llmcap::actual::cloudwatch;
use llmcap::actual::cur::{summarise, CurTable};
use llmcap::timestamp::{format_iso, parse_iso};
use proptest::prelude::*;
use serde_json::{json, Value};

const LLAMA: &str = "meta.llama3-3-70b-instruct-v1:0";

/// A small plan: one Bedrock option serving Llama 3.3 70B, quick to compute.
const SCENARIO: &str = r#"
name = "Hostile"
use_case = "Refusing bad exports."
employees = 40
peak_active_fraction = 0.2
sessions_per_user_per_day = 2.0
workdays_per_month = 20.0
workload = "multi_turn_chat"
region = "us-east-1"
peak_duration_s = 300.0

[[option]]
kind = "bedrock"
name = "Llama 3.3 70B on Bedrock"
model = "Llama 3.3 70B Instruct"
profile = "bedrock-llama3-3-70b-instruct.toml"
model_id = "us.meta.llama3-3-70b-instruct-v1:0"
quota_tpm = 600000
"#;

const HOURS: [&str; 3] = [
    "2026-11-30T14:00:00+00:00",
    "2026-11-30T13:00:00+00:00",
    "2026-11-30T12:00:00+00:00",
];

/// One series of the export, as get-metric-data prints it.
fn series(metric: &str, stamps: &[&str], values: &[Value]) -> Value {
    json!({
        "Id": format!("{}_0", metric.to_lowercase()),
        "Label": format!("{LLAMA} {metric}"),
        "Timestamps": stamps,
        "Values": values,
        "StatusCode": "Complete",
    })
}

/// A plausible export: three hours of invocations and tokens, with `invocations` as the
/// Invocations series' values.
fn export(stamps: &[&str], invocations: &[Value]) -> Value {
    let per = |v: f64| -> Vec<Value> { HOURS.iter().map(|_| json!(v)).collect() };
    json!({
        "MetricDataResults": [
            series("Invocations", stamps, invocations),
            series("InputTokenCount", &HOURS, &per(90_000.0)),
            series("OutputTokenCount", &HOURS, &per(30_000.0)),
        ],
        "Messages": [],
    })
}

fn good_export() -> Value {
    export(&HOURS, &[json!(100), json!(120), json!(80)])
}

/// A directory with the scenario, the export (as `cw.json`) and optionally a CUR (`cur.csv`).
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(export: &Value, cur: Option<&str>) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("scenario.toml"), SCENARIO).unwrap();
        std::fs::write(dir.path().join("cw.json"), export.to_string()).unwrap();
        if let Some(cur) = cur {
            std::fs::write(dir.path().join("cur.csv"), cur).unwrap();
        }
        Case { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `llmcap actual` on the case, writing into `out` (default `out/` in the case).
    fn actual(&self, extra: &[&str], out: Option<&Path>) -> Output {
        let out = out.map_or_else(|| self.path("out"), Path::to_path_buf);
        let mut command = Command::cargo_bin("llmcap").unwrap();
        command
            .arg("actual")
            .arg(self.path("scenario.toml"))
            .arg("--cloudwatch")
            .arg(self.path("cw.json"))
            .arg("--out")
            .arg(&out);
        if !extra.contains(&"--users") {
            command.args(["--users", "10"]);
        }
        if self.path("cur.csv").exists() {
            command.arg("--cur").arg(self.path("cur.csv"));
        }
        command.args(extra).output().unwrap()
    }

    /// Runs `llmcap actual`, which must fail with exit code 1, write nothing, and name every
    /// one of `named` in its message; returns the message.
    fn refused(&self, extra: &[&str], named: &[&str]) -> String {
        let output = self.actual(extra, None);
        let error = String::from_utf8_lossy(&output.stderr).to_string();
        assert_eq!(output.status.code(), Some(1), "{error}");
        assert!(!error.contains("panicked"), "{error}");
        for part in named {
            assert!(error.contains(part), "{part:?} not in: {error}");
        }
        assert!(!self.path("out").exists(), "nothing written: {error}");
        error
    }
}

#[test]
fn the_good_case_runs_and_writes() {
    // The baseline the refusals below are set against: the same files, good values, succeed.
    let case = Case::new(
        &good_export(),
        Some(&cur_with(&usage_line("0.864", "1200000"))),
    );
    let output = case.actual(&[], None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in ["actual.json", "forecast.toml", "charts/actual_vs_plan.png"] {
        assert!(case.path("out").join(file).exists(), "{file}");
    }
}

#[test]
fn a_non_ascii_timestamp_is_refused_naming_the_file_and_datapoint() {
    let stamps = [HOURS[0], "2026-01-0é:00:00+00:00", HOURS[2]];
    let case = Case::new(&export(&stamps, &[json!(1), json!(2), json!(3)]), None);
    case.refused(
        &[],
        &[
            "cw.json",
            "MetricDataResults[0] (invocations_0)",
            "datapoint 1",
            "Timestamps[1] \"2026-01-0é:00:00+00:00\"",
            "ISO 8601",
        ],
    );
}

#[test]
fn a_non_ascii_offset_is_refused() {
    let stamps = [HOURS[0], HOURS[1], "2026-11-30T12:00:00+aé1"];
    let case = Case::new(&export(&stamps, &[json!(1), json!(2), json!(3)]), None);
    case.refused(&[], &["cw.json", "datapoint 2", "Timestamps[2]"]);
}

#[test]
fn an_empty_timestamp_is_refused() {
    let stamps = [HOURS[0], "", HOURS[2]];
    let case = Case::new(&export(&stamps, &[json!(1), json!(2), json!(3)]), None);
    case.refused(&[], &["cw.json", "datapoint 1", "Timestamps[1] \"\""]);
}

#[test]
fn a_huge_value_is_refused_naming_the_datapoint() {
    let case = Case::new(&export(&HOURS, &[json!(1), json!(1e308), json!(3)]), None);
    case.refused(
        &[],
        &["cw.json", "datapoint 1", "Values[1] = 1e308", "above 1e15"],
    );
}

#[test]
fn a_value_beyond_f64_is_refused_naming_the_line() {
    // 1e400 is not an f64; the JSON reader names the line and column.
    let marked = export(&HOURS, &[json!(1), json!(123_456), json!(3)]);
    let text = marked.to_string().replacen("123456", "1e400", 1);
    let case = Case::new(&marked, None);
    std::fs::write(case.path("cw.json"), text).unwrap();
    case.refused(&[], &["cw.json", "line 1 column", "--print-queries"]);
}

#[test]
fn a_negative_value_is_refused() {
    let case = Case::new(&export(&HOURS, &[json!(1), json!(2), json!(-3)]), None);
    case.refused(&[], &["cw.json", "datapoint 2", "Values[2] = -3 ", "≥ 0"]);
}

#[test]
fn an_empty_value_is_refused_naming_the_line() {
    let case = Case::new(&export(&HOURS, &[json!(1), Value::Null, json!(3)]), None);
    case.refused(&[], &["cw.json", "line 1 column", "null"]);
}

#[test]
fn traffic_a_hundred_times_the_plan_is_refused_before_the_forecast_holds_it() {
    // Every value below the ceiling, but the re-fit would be ×10¹⁰ the plan: forecast.toml
    // would hold what no scenario accepts, and the re-forecast's charts numbers beyond drawing.
    let big = json!(1e14);
    let case = Case::new(&export(&HOURS, &[big.clone(), big.clone(), big]), None);
    case.refused(
        &[],
        &[
            "forecast.usage_per_user",
            "(0, 100]",
            "--users",
            "nothing was written",
        ],
    );
}

#[test]
fn flags_beyond_what_an_export_stands_for_are_refused() {
    let case = Case::new(&good_export(), None);
    case.refused(
        &["--days", "1e308"],
        &["--days is 1e308", "> 0 and ≤ 3,660"],
    );
    case.refused(&["--days", "inf"], &["--days is inf", "workdays"]);
    case.refused(
        &["--users", "1e300"],
        &["--users is 1e300", "≤ 1,000,000,000"],
    );
}

const CUR_HEADER: &str = "bill_billing_period_start_date,line_item_product_code,line_item_line_item_type,line_item_usage_type,line_item_resource_id,line_item_usage_amount,line_item_unblended_cost,pricing_unit";

fn usage_line(cost: &str, amount: &str) -> String {
    format!(
        "2026-10-01T00:00:00.000Z,AmazonBedrock,Usage,USE1-Llama3.3-70B-input-tokens,arn:aws:bedrock:us-east-1::foundation-model/{LLAMA},{amount},{cost},Tokens"
    )
}

/// A CUR with a good usage line (file line 2), a credit (line 3) and `line` (line 4).
fn cur_with(line: &str) -> String {
    format!(
        "{CUR_HEADER}\n{}\n2026-10-01T00:00:00.000Z,AmazonBedrock,Credit,,,,-1.0,\n{line}\n",
        usage_line("0.576", "800000")
    )
}

#[test]
fn a_negative_usage_cost_in_the_cur_is_refused_naming_the_line_and_column() {
    let case = Case::new(
        &good_export(),
        Some(&cur_with(&usage_line("-0.864", "1200000"))),
    );
    case.refused(
        &[],
        &[
            "cur.csv: line 4, column `line_item_unblended_cost`",
            "-0.864 is negative on a `Usage` line",
            "credits",
        ],
    );
}

#[test]
fn an_empty_cost_in_the_cur_is_refused() {
    let case = Case::new(&good_export(), Some(&cur_with(&usage_line("", "1200000"))));
    case.refused(
        &[],
        &[
            "cur.csv: line 4, column `line_item_unblended_cost`",
            "empty",
        ],
    );
}

#[test]
fn a_non_finite_or_huge_number_in_the_cur_is_refused() {
    for (cost, amount, column) in [
        ("inf", "1200000", "line_item_unblended_cost"),
        ("NaN", "1200000", "line_item_unblended_cost"),
        ("1e308", "1200000", "line_item_unblended_cost"),
        ("0.864", "1e308", "line_item_usage_amount"),
        ("0.864", "-5", "line_item_usage_amount"),
    ] {
        let case = Case::new(&good_export(), Some(&cur_with(&usage_line(cost, amount))));
        case.refused(&[], &[&format!("cur.csv: line 4, column `{column}`")]);
    }
}

/// Makes a FIFO at `path` with `mkfifo(3)`.
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `name` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

#[test]
fn an_output_directory_that_is_a_fifo_is_refused_before_reading() {
    let case = Case::new(&good_export(), None);
    let fifo = case.path("out-fifo");
    mkfifo(&fifo);
    let output = case.actual(&[], Some(&fifo));
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{error}");
    assert!(
        error.contains("--out") && error.contains("out-fifo") && error.contains("FIFO"),
        "{error}"
    );
    assert!(is_fifo(&fifo));
}

/// `llmcap fit` of the seed 002 table with `--out out`.
fn fit(out: &Path) -> Output {
    let table = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("calibration/reference/seed002_bedrock_llama33_70b.csv");
    Command::cargo_bin("llmcap")
        .unwrap()
        .arg("fit")
        .arg(table)
        .args(["--model-id", LLAMA, "--out"])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn fit_out_to_a_fifo_or_a_device_is_refused_and_leaves_it_as_it_was() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile.toml");
    mkfifo(&fifo);
    let output = fit(&fifo);
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{error}");
    assert!(
        error.contains("--out") && error.contains("profile.toml") && error.contains("FIFO"),
        "{error}"
    );
    assert!(is_fifo(&fifo));
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no partial file: {names:?}");
    // The FIFO case passed, so the same check stands before /dev/null (which, as root, a
    // rename would otherwise replace).
    let output = fit(Path::new("/dev/null"));
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{error}");
    assert!(
        error.contains("/dev/null") && error.contains("a character device"),
        "{error}"
    );
    let null = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(null.file_type().is_char_device());
    // And a regular file is written, as before.
    let file = dir.path().join("real.toml");
    let output = fit(&file);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(std::fs::read_to_string(&file).unwrap().contains(LLAMA));
}

/// Days from 1970-01-01 to (y, m, d) by counting, independent of the parser's formula.
fn days_by_counting(y: i64, m: u32, d: u32) -> i64 {
    let leap = |y: i64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let year_days = |y: i64| if leap(y) { 366 } else { 365 };
    let month_days = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut days: i64 = if y >= 1970 {
        (1970..y).map(year_days).sum()
    } else {
        -(y..1970).map(year_days).sum::<i64>()
    };
    days += month_days[..(m - 1) as usize].iter().sum::<i64>();
    days + i64::from(d) - 1
}

/// A timestamp's text, with one byte range replaced by `insert`.
fn spliced(text: &str, at: usize, len: usize, insert: &str) -> String {
    let at = at.min(text.len());
    let end = (at + len).min(text.len());
    format!("{}{insert}{}", &text[..at], &text[end..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn parse_iso_never_panics_on_any_text(text in any::<String>()) {
        let _ = parse_iso(&text);
    }

    #[test]
    fn parse_iso_never_panics_near_a_timestamp(
        at in 0usize..32,
        len in 0usize..4,
        insert in "[0-9:+\\-TZ. é\u{0301}\u{1F600}]{0,4}",
    ) {
        // Edits of a real timestamp reach every branch: multi-byte characters at each byte
        // offset, separators out of place, offsets cut short.
        let text = spliced("2026-11-30T12:00:00.250+01:00", at, len, &insert);
        if let Some(t) = parse_iso(&text) {
            // Whatever is accepted is a time the formatter writes back to the same instant.
            prop_assert_eq!(parse_iso(&format_iso(t)), Some(t));
        }
    }

    #[test]
    fn a_valid_timestamp_reads_as_the_instant_counted_by_hand(
        y in 1900i64..2200,
        m in 1u32..=12,
        d in 1u32..=28,
        h in 0i64..24,
        mi in 0i64..60,
        s in 0i64..60,
        offset_min in -1439i64..=1439,
    ) {
        let sign = if offset_min < 0 { '-' } else { '+' };
        let text = format!(
            "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}{sign}{:02}:{:02}",
            offset_min.abs() / 60,
            offset_min.abs() % 60
        );
        let expected = days_by_counting(y, m, d) * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60;
        prop_assert_eq!(parse_iso(&text), Some(expected));
    }

    #[test]
    fn the_cloudwatch_reader_never_panics_and_keeps_only_checked_values(
        stamp in prop_oneof![Just("2026-11-30T12:00:00Z".to_string()), any::<String>()],
        value in prop_oneof![any::<f64>(), Just(1e308), Just(-1.0), Just(0.0), Just(1e15)],
    ) {
        let text = json!({"MetricDataResults": [series("InputTokenCount", &[&stamp], &[json!(value)])]})
            .to_string();
        if let Ok(usage) = cloudwatch::parse(&text, "cw.json") {
            let c = usage.models[LLAMA].values().next().copied().unwrap_or_default();
            prop_assert!(c.input_tokens.is_finite() && (0.0..=1e15).contains(&c.input_tokens));
        }
    }

    #[test]
    fn the_cur_reader_never_panics_and_sums_only_checked_numbers(
        cost in prop_oneof![any::<f64>().prop_map(|f| f.to_string()), "[-0-9.eE+a-z]{0,8}"],
        amount in prop_oneof![any::<f64>().prop_map(|f| f.to_string()), "[-0-9.eE+a-z]{0,8}"],
        kind in prop_oneof![Just("Usage"), Just("Credit"), Just("")],
    ) {
        let line = usage_line(&cost, &amount).replacen(",Usage,", &format!(",{kind},"), 1);
        let text = cur_with(&line);
        if let Ok(table) = CurTable::from_csv(&text, "cur.csv") {
            if let Ok(summary) = summarise(&table, "cur.csv") {
                for g in &summary.groups {
                    prop_assert!(g.unblended_cost_usd.is_finite() && g.unblended_cost_usd >= 0.0);
                    prop_assert!(g.input_tokens.is_finite() && g.input_tokens >= 0.0);
                }
                prop_assert!(summary.non_usage_usd.is_finite());
            }
        }
    }
}
