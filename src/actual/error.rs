//! Why an export or a report could not be used; each names the file, the field and the fix.

#[derive(Debug, thiserror::Error)]
pub enum ActualError {
    #[error("{origin}: not the JSON `aws cloudwatch get-metric-data` prints: {cause}; produce it with `aws cloudwatch get-metric-data --metric-data-queries file://q.json --start-time … --end-time … > FILE` (queries from `llmcap actual --print-queries MODEL_ID`)")]
    CloudWatchJson {
        origin: String,
        cause: serde_json::Error,
    },
    #[error("{origin}: MetricDataResults[{index}] ({id}): {problem}")]
    CloudWatchResult {
        origin: String,
        index: usize,
        id: String,
        problem: String,
    },
    #[error("{origin}: {problem}")]
    CloudWatch { origin: String, problem: String },
    #[error("{origin}: missing column `{column}`; a Cost and Usage Report 2.0 export (AWS Data Exports, CUR 2.0 table) has it — export the standard CUR 2.0 columns")]
    CurColumn { origin: String, column: String },
    #[error("{origin}: line {line}, column `{column}`: {problem}")]
    CurValue {
        origin: String,
        line: usize,
        column: String,
        problem: String,
    },
    #[error("{origin}: {cause}")]
    Cur { origin: String, cause: String },
    #[error("{problem}")]
    Compare { problem: String },
}
