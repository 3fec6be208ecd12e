//! Amazon Bedrock's lines in a Cost and Usage Report 2.0 (AWS Data Exports), by the published
//! CUR 2.0 column names: `bill_billing_period_start_date`, `line_item_product_code`,
//! `line_item_line_item_type`, `line_item_usage_type`, `line_item_usage_amount`,
//! `line_item_unblended_cost` (required), `line_item_resource_id` and `pricing_unit`
//! (optional).
//!
//! Kept: lines with product code `AmazonBedrock` and a usage line type (`Usage`,
//! `DiscountedUsage`, `SavingsPlanCoveredUsage`); Bedrock's credits, taxes, refunds and fees are
//! counted apart, other services' lines only counted. Per billing period and model: the
//! unblended cost, and token amounts by the usage type's token kind (`*-input-tokens`,
//! `*-output-tokens`, `*-mantle-input-tokens-*`, `*-mantle-output-tokens-*`,
//! `*-cache-read-input-token-count`, `*-cache-write-input-token-count`). The model is the
//! resource id's model (`…:foundation-model/ID`, `…:inference-profile/ID`) when there is one,
//! else the usage type's model part (`USE1-Llama3-3-70B-input-tokens` → `Llama3-3-70B`).

use std::collections::{BTreeMap, HashMap};

use polars::prelude::{DataFrame, DataType};
use serde::Serialize;

use super::ActualError;

pub const REQUIRED: [&str; 6] = [
    "bill_billing_period_start_date",
    "line_item_product_code",
    "line_item_line_item_type",
    "line_item_usage_type",
    "line_item_usage_amount",
    "line_item_unblended_cost",
];
pub const OPTIONAL: [&str; 2] = ["line_item_resource_id", "pricing_unit"];

const USAGE_LINE_TYPES: [&str; 3] = ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"];

/// The columns read, as text, one entry per row; `first_line` is the file line of row 0 (2 in
/// a CSV with its header, 1 for Parquet's row numbers counted from 1).
#[derive(Clone, Debug, Default)]
pub struct CurTable {
    columns: HashMap<String, Vec<Option<String>>>,
    rows: usize,
    first_line: usize,
}

impl CurTable {
    /// A CUR 2.0 CSV export (header row first).
    pub fn from_csv(text: &str, origin: &str) -> Result<CurTable, ActualError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| ActualError::Cur {
                origin: origin.to_string(),
                cause: format!("cannot read the header row: {e}"),
            })?
            .clone();
        let wanted: Vec<(usize, &str)> = REQUIRED
            .iter()
            .chain(OPTIONAL.iter())
            .filter_map(|name| Some((headers.iter().position(|h| h.trim() == *name)?, *name)))
            .collect();
        let mut columns: HashMap<String, Vec<Option<String>>> = wanted
            .iter()
            .map(|(_, name)| (name.to_string(), Vec::new()))
            .collect();
        let mut rows = 0;
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| ActualError::Cur {
                origin: origin.to_string(),
                cause: format!("line {}: {e}", i + 2),
            })?;
            for (index, name) in &wanted {
                let cell = record.get(*index).map(str::trim).filter(|s| !s.is_empty());
                if let Some(column) = columns.get_mut(*name) {
                    column.push(cell.map(str::to_string));
                }
            }
            rows += 1;
        }
        let table = CurTable {
            columns,
            rows,
            first_line: 2,
        };
        table.check(origin)?;
        Ok(table)
    }

    /// A CUR 2.0 Parquet export read into a frame.
    pub fn from_frame(frame: &DataFrame, origin: &str) -> Result<CurTable, ActualError> {
        let mut columns = HashMap::new();
        for name in REQUIRED.iter().chain(OPTIONAL.iter()) {
            let Ok(column) = frame.column(name) else {
                continue;
            };
            let text = column
                .cast(&DataType::String)
                .map_err(|e| ActualError::Cur {
                    origin: origin.to_string(),
                    cause: format!("column `{name}` cannot be read as text: {e}"),
                })?;
            let values = text
                .str()
                .map_err(|e| ActualError::Cur {
                    origin: origin.to_string(),
                    cause: format!("column `{name}`: {e}"),
                })?
                .iter()
                .map(|v| {
                    v.map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                })
                .collect();
            columns.insert(name.to_string(), values);
        }
        let table = CurTable {
            columns,
            rows: frame.height(),
            first_line: 1,
        };
        table.check(origin)?;
        Ok(table)
    }

    fn check(&self, origin: &str) -> Result<(), ActualError> {
        for name in REQUIRED {
            if !self.columns.contains_key(name) {
                return Err(ActualError::CurColumn {
                    origin: origin.to_string(),
                    column: name.to_string(),
                });
            }
        }
        Ok(())
    }

    fn cell(&self, column: &str, row: usize) -> Option<&str> {
        self.columns.get(column)?.get(row)?.as_deref()
    }
}

/// Which tokens a Bedrock usage type bills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Input,
    Output,
    CacheRead,
    CacheWrite,
}

/// The token kind a usage type names and where its model part ends.
fn token_kind(usage_type: &str) -> Option<(TokenKind, usize)> {
    let lower = usage_type.to_ascii_lowercase();
    [
        ("-cache-read-input-token", TokenKind::CacheRead),
        ("-cache-write-input-token", TokenKind::CacheWrite),
        ("-mantle-input-tokens", TokenKind::Input),
        ("-mantle-output-tokens", TokenKind::Output),
        ("-input-tokens", TokenKind::Input),
        ("-output-tokens", TokenKind::Output),
    ]
    .into_iter()
    .find_map(|(marker, kind)| lower.find(marker).map(|at| (kind, at)))
}

/// The model a line bills: the resource id's model id, else the usage type's model part
/// without its Region code.
fn model_of(resource_id: Option<&str>, usage_type: &str) -> String {
    if let Some(id) = resource_id {
        for marker in ["foundation-model/", "inference-profile/"] {
            if let Some(at) = id.find(marker) {
                return id[at + marker.len()..].to_string();
            }
        }
    }
    let end = token_kind(usage_type).map_or(usage_type.len(), |(_, at)| at);
    let name = &usage_type[..end];
    // A Region code prefix: `USE1-`, `EUC1-`, `APN1-` (capitals and digits, ≤ 6).
    match name.split_once('-') {
        Some((code, rest))
            if code.len() <= 6
                && code.bytes().any(|b| b.is_ascii_digit())
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) =>
        {
            rest.to_string()
        }
        _ => name.to_string(),
    }
}

/// One billing period's Bedrock usage of one model.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CurGroup {
    /// `YYYY-MM-DD`, the billing period's first day.
    pub billing_period: String,
    pub model: String,
    pub unblended_cost_usd: f64,
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub cache_read_tokens: f64,
    pub cache_write_tokens: f64,
    /// Usage lines whose usage type names no token kind (e.g. Provisioned Throughput hours).
    pub other_usage_usd: f64,
    pub lines: usize,
}

/// What a report holds for Bedrock.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CurSummary {
    pub groups: Vec<CurGroup>,
    /// Bedrock lines that are not usage (credits, taxes, refunds, fees) and their sum.
    pub non_usage_lines: usize,
    pub non_usage_usd: f64,
    /// Lines of other services, left out.
    pub other_service_lines: usize,
}

fn base_id(id: &str) -> String {
    crate::cost::catalog::base_model_id(id).to_string()
}

fn letters_and_digits(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether a CUR model (a model id, or a usage type's model name) is this Bedrock model id.
pub fn same_model(cur_model: &str, model_id: &str) -> bool {
    if base_id(cur_model) == base_id(model_id) {
        return true;
    }
    let name = letters_and_digits(cur_model);
    name.len() >= 4 && letters_and_digits(&base_id(model_id)).contains(&name)
}

impl CurSummary {
    /// Unblended cost of the groups billing this model id, per billing period.
    pub fn cost_for(&self, model_id: &str) -> Vec<&CurGroup> {
        self.groups
            .iter()
            .filter(|g| same_model(&g.model, model_id))
            .collect()
    }

    pub fn total_usd(&self) -> f64 {
        self.groups.iter().map(|g| g.unblended_cost_usd).sum()
    }
}

/// The most one line may bill, in USD either way (a credit is negative), and the most usage
/// it may count, in its pricing unit: beyond either the report is corrupt, and sums of such
/// numbers stop being arithmetic.
pub const MAX_LINE_USD: f64 = 1e12;
pub const MAX_LINE_AMOUNT: f64 = 1e15;

/// One row of the table, with its file line for errors.
struct Line<'a> {
    table: &'a CurTable,
    row: usize,
    line: usize,
    origin: &'a str,
}

impl Line<'_> {
    fn cell(&self, column: &str) -> Option<&str> {
        self.table.cell(column, self.row)
    }

    fn refuse(&self, column: &str, problem: String) -> ActualError {
        ActualError::CurValue {
            origin: self.origin.to_string(),
            line: self.line,
            column: column.to_string(),
            problem,
        }
    }

    /// A cell that must not be empty.
    fn text(&self, column: &str, what: &str) -> Result<&str, ActualError> {
        self.cell(column).ok_or_else(|| {
            self.refuse(
                column,
                format!(
                    "empty; the line needs {what} — fill it in from the report or remove the line"
                ),
            )
        })
    }

    /// A number cell: present, finite and at most `most` either way.
    fn number(&self, column: &str, most: f64) -> Result<f64, ActualError> {
        let what = match column {
            "line_item_unblended_cost" => "its unblended cost in USD",
            "line_item_usage_amount" => "its usage amount",
            _ => "a number here",
        };
        let text = self.text(column, what)?;
        let value = text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| self.refuse(column, format!("{text:?} is not a finite number")))?;
        if value.abs() > most {
            return Err(self.refuse(
                column,
                format!("{text} is beyond ±{most:e}, more than one line of a real report holds; the report is corrupt — export it again"),
            ));
        }
        Ok(value)
    }

    /// A number cell of a usage line, which is never negative.
    fn usage_number(&self, column: &str, most: f64, line_type: &str) -> Result<f64, ActualError> {
        let value = self.number(column, most)?;
        if value < 0.0 {
            return Err(self.refuse(
                column,
                format!("{value} is negative on a `{line_type}` line; usage is billed at ≥ 0 (credits, refunds and discounts come as lines of their own type, which are summed apart) — correct the line or remove it"),
            ));
        }
        Ok(value)
    }

    /// The billing period's first day, `YYYY-MM-DD`.
    fn billing_period(&self) -> Result<String, ActualError> {
        let column = "bill_billing_period_start_date";
        let text = self.text(column, "its billing period")?;
        text.get(..10)
            .filter(|d| crate::timestamp::parse_iso(d).is_some())
            .map(str::to_string)
            .ok_or_else(|| self.refuse(column, format!("{text:?} is not a date (YYYY-MM-DD…)")))
    }
}

/// The factor a `pricing_unit` of 1K or 1M tokens scales an amount by.
fn unit_scale(unit: Option<&str>) -> f64 {
    let unit = unit.unwrap_or("").to_ascii_lowercase();
    if unit.contains("1k") || unit.contains("1,000") || unit.contains("thousand") {
        1_000.0
    } else if unit.contains("1m") || unit.contains("million") {
        1_000_000.0
    } else {
        1.0
    }
}

/// Sums a report's Bedrock lines per billing period and model. Every Bedrock line is checked:
/// an empty or non-numeric cell it needs, a number beyond [`MAX_LINE_USD`] or
/// [`MAX_LINE_AMOUNT`], or a negative cost or amount on a usage line is refused naming the file,
/// the line and the column. Credits and refunds (negative, of their own line types) are summed
/// apart from usage.
pub fn summarise(table: &CurTable, origin: &str) -> Result<CurSummary, ActualError> {
    let mut groups: BTreeMap<(String, String), CurGroup> = BTreeMap::new();
    let mut summary = CurSummary::default();
    for row in 0..table.rows {
        let line = Line {
            table,
            row,
            line: row + table.first_line,
            origin,
        };
        if line.cell("line_item_product_code") != Some("AmazonBedrock") {
            summary.other_service_lines += 1;
            continue;
        }
        let line_type = line.text(
            "line_item_line_item_type",
            "its line item type (Usage, Credit, Tax…)",
        )?;
        if !USAGE_LINE_TYPES.contains(&line_type) {
            summary.non_usage_lines += 1;
            summary.non_usage_usd += line.number("line_item_unblended_cost", MAX_LINE_USD)?;
            continue;
        }
        let cost = line.usage_number("line_item_unblended_cost", MAX_LINE_USD, line_type)?;
        let amount = line.usage_number("line_item_usage_amount", MAX_LINE_AMOUNT, line_type)?
            * unit_scale(line.cell("pricing_unit"));
        let period = line.billing_period()?;
        let usage_type = line.text("line_item_usage_type", "its usage type on a usage line")?;
        let model = model_of(line.cell("line_item_resource_id"), usage_type);
        let group = groups
            .entry((period.clone(), model.clone()))
            .or_insert_with(|| CurGroup {
                billing_period: period,
                model,
                ..CurGroup::default()
            });
        group.unblended_cost_usd += cost;
        group.lines += 1;
        match token_kind(usage_type).map(|(kind, _)| kind) {
            Some(TokenKind::Input) => group.input_tokens += amount,
            Some(TokenKind::Output) => group.output_tokens += amount,
            Some(TokenKind::CacheRead) => group.cache_read_tokens += amount,
            Some(TokenKind::CacheWrite) => group.cache_write_tokens += amount,
            None => group.other_usage_usd += cost,
        }
    }
    summary.groups = groups.into_values().collect();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "bill_billing_period_start_date,line_item_product_code,line_item_line_item_type,line_item_usage_type,line_item_usage_amount,line_item_unblended_cost,pricing_unit";

    /// A two-line report: a good usage line (file line 2), then `second` (file line 3).
    fn summarise_with(second: &str) -> Result<CurSummary, ActualError> {
        let text = format!(
            "{HEADER}\n2026-10-01,AmazonBedrock,Usage,USE1-Llama3.3-70B-input-tokens,1000,0.5,Tokens\n{second}\n"
        );
        summarise(&CurTable::from_csv(&text, "cur.csv")?, "cur.csv")
    }

    #[test]
    fn bad_cells_of_bedrock_lines_are_refused_naming_the_line_and_column() {
        let usage = "2026-10-01,AmazonBedrock,Usage,USE1-Llama3.3-70B-output-tokens";
        let cases = [
            (
                format!("{usage},100,-0.25,Tokens"),
                "line_item_unblended_cost",
                "negative on a `Usage` line",
            ),
            (
                format!("{usage},-100,0.25,Tokens"),
                "line_item_usage_amount",
                "negative",
            ),
            (
                format!("{usage},100,,Tokens"),
                "line_item_unblended_cost",
                "empty",
            ),
            (
                format!("{usage},,0.25,Tokens"),
                "line_item_usage_amount",
                "empty",
            ),
            (
                format!("{usage},100,inf,Tokens"),
                "line_item_unblended_cost",
                "not a finite number",
            ),
            (
                format!("{usage},100,NaN,Tokens"),
                "line_item_unblended_cost",
                "not a finite number",
            ),
            (
                format!("{usage},1e308,0.25,Tokens"),
                "line_item_usage_amount",
                "beyond",
            ),
            (
                format!("{usage},100,1e13,Tokens"),
                "line_item_unblended_cost",
                "beyond",
            ),
            (
                "2026-10-01,AmazonBedrock,,x,1,1,".to_string(),
                "line_item_line_item_type",
                "empty",
            ),
            (
                "2026-10-01,AmazonBedrock,Usage,,1,1,".to_string(),
                "line_item_usage_type",
                "empty",
            ),
            (
                "2026-10-0é,AmazonBedrock,Usage,x,1,1,".to_string(),
                "bill_billing_period_start_date",
                "not a date",
            ),
            (
                "2026-10-01,AmazonBedrock,Credit,x,0,,".to_string(),
                "line_item_unblended_cost",
                "empty",
            ),
            (
                "2026-10-01,AmazonBedrock,Credit,x,0,-inf,".to_string(),
                "line_item_unblended_cost",
                "not a finite number",
            ),
        ];
        for (second, column, problem) in cases {
            let e = summarise_with(&second).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("cur.csv: line 3, column `{column}`: "))
                    && e.contains(problem),
                "{second}: {e}"
            );
        }
    }

    #[test]
    fn credits_are_negative_and_summed_apart_and_other_services_are_not_read() {
        let s = summarise_with("2026-10-01,AmazonBedrock,Credit,x,,-0.2,").unwrap();
        assert_eq!((s.non_usage_lines, s.non_usage_usd), (1, -0.2));
        assert_eq!(s.total_usd(), 0.5, "the credit is not usage");
        // Another service's line is counted, its cells not read.
        let s = summarise_with("garbage,AmazonS3,,,-1,inf,").unwrap();
        assert_eq!(s.other_service_lines, 1);
        assert_eq!(s.groups.len(), 1);
        assert_eq!(s.groups[0].input_tokens, 1000.0);
    }

    #[test]
    fn usage_types_name_the_model_and_the_token_kind() {
        assert_eq!(
            model_of(None, "USE1-Llama3-3-70B-input-tokens"),
            "Llama3-3-70B"
        );
        assert_eq!(
            token_kind("USE1-Llama3-3-70B-output-tokens").map(|k| k.0),
            Some(TokenKind::Output)
        );
        assert_eq!(
            token_kind("USE1-Claude-cache-read-input-token-count").map(|k| k.0),
            Some(TokenKind::CacheRead)
        );
        assert_eq!(
            model_of(
                Some("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-3-70b-instruct-v1:0"),
                "USE1-whatever-input-tokens"
            ),
            "meta.llama3-3-70b-instruct-v1:0"
        );
        assert!(same_model(
            "Llama3-3-70B",
            "us.meta.llama3-3-70b-instruct-v1:0"
        ));
        assert!(same_model(
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0"
        ));
        assert!(!same_model(
            "Llama3-3-70B",
            "anthropic.claude-3-5-sonnet-20241022-v2:0"
        ));
    }
}
