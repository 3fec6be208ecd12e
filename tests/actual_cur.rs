//! A Cost and Usage Report 2.0 with the published column names (tests/fixtures/
//! cur2-bedrock.csv: Bedrock input and output token lines for two models, a cache read, an S3
//! line, a credit and a tax) summed to known totals, from CSV and from the same rows written
//! as Parquet; a missing column is named with the file.

use std::path::Path;

use llmcap::actual::cur::{summarise, CurSummary, CurTable};
use polars::prelude::{Column, DataFrame, ParquetReader, ParquetWriter, SerReader};

const LLAMA: &str = "meta.llama3-3-70b-instruct-v1:0";
const SONNET: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";

fn fixture() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cur2-bedrock.csv");
    std::fs::read_to_string(path).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn check(summary: &CurSummary) {
    assert_eq!(summary.groups.len(), 2, "{summary:#?}");
    let llama = summary.cost_for(LLAMA);
    assert_eq!(llama.len(), 1);
    let llama = llama[0];
    assert_eq!(llama.billing_period, "2026-10-01");
    assert_eq!(llama.model, LLAMA, "from line_item_resource_id");
    assert!(close(llama.unblended_cost_usd, 1.80), "{llama:?}");
    assert!(close(llama.input_tokens, 2_000_000.0));
    assert!(close(llama.output_tokens, 500_000.0));
    assert_eq!(llama.lines, 4);
    let sonnet = summary.cost_for(SONNET);
    assert_eq!(sonnet.len(), 1);
    let sonnet = sonnet[0];
    assert_eq!(
        sonnet.model, "Claude-Sonnet-4.5",
        "from line_item_usage_type"
    );
    assert!(close(sonnet.unblended_cost_usd, 3.06));
    assert!(close(sonnet.input_tokens, 500_000.0));
    assert!(close(sonnet.output_tokens, 100_000.0));
    assert!(close(sonnet.cache_read_tokens, 200_000.0));
    assert!(close(summary.total_usd(), 4.86));
    assert_eq!(summary.other_service_lines, 1, "the S3 line");
    assert_eq!(summary.non_usage_lines, 2, "the credit and the tax");
    assert!(close(summary.non_usage_usd, -0.51));
}

#[test]
fn a_cur_csv_sums_to_known_totals() {
    let table = CurTable::from_csv(&fixture(), "cur2-bedrock.csv").unwrap();
    check(&summarise(&table, "cur2-bedrock.csv").unwrap());
}

#[test]
fn the_same_report_as_parquet_sums_to_the_same_totals() {
    let text = fixture();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let numeric = ["line_item_usage_amount", "line_item_unblended_cost"];
    let columns: Vec<Column> = headers
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if numeric.contains(&name.as_str()) {
                let values: Vec<Option<f64>> =
                    rows.iter().map(|r| r[i].parse::<f64>().ok()).collect();
                Column::new(name.as_str().into(), values)
            } else {
                let values: Vec<Option<&str>> = rows
                    .iter()
                    .map(|r| Some(&r[i]).filter(|s| !s.is_empty()))
                    .collect();
                Column::new(name.as_str().into(), values)
            }
        })
        .collect();
    let mut frame = DataFrame::new(rows.len(), columns).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cur.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut frame)
        .unwrap();
    let read = ParquetReader::new(std::fs::File::open(&path).unwrap())
        .finish()
        .unwrap();
    let table = CurTable::from_frame(&read, "cur.parquet").unwrap();
    check(&summarise(&table, "cur.parquet").unwrap());
}

#[test]
fn a_missing_column_is_named_with_the_file() {
    let text = fixture().replacen("line_item_unblended_cost", "cost", 1);
    let error = CurTable::from_csv(&text, "october.csv")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("october.csv") && error.contains("`line_item_unblended_cost`"),
        "{error}"
    );
    let text = fixture().replacen(",0.864,", ",lots,", 1);
    let table = CurTable::from_csv(&text, "october.csv").unwrap();
    let error = summarise(&table, "october.csv").unwrap_err().to_string();
    assert!(
        error.contains("october.csv: line 2, column `line_item_unblended_cost`"),
        "{error}"
    );
}
