//! `llmcap report`: the report of a calibration run or a plan directory.

use anyhow::{bail, Result};

use crate::cli::ReportArgs;
use crate::report::{plan_report, run_report};

pub fn run(args: &ReportArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    crate::files::check_dir(&out)?;
    let files = if args.dir.join("plan.json").exists() {
        plan_report::write(&plan_report::read_plan(&args.dir)?, &out)?
    } else if args.dir.join("requests.csv").exists() {
        run_report::write(&args.dir, &out)?
    } else {
        bail!(
            "{} is neither a calibration run (requests.csv) nor a plan (plan.json); pass the \
             directory `llmcap calibrate --out` or `llmcap plan --out` wrote",
            args.dir.display()
        );
    };
    println!(
        "wrote {} and {} with {} figures (charts/ as SVG and PNG, tables in data/ as CSV and Parquet)",
        files.html.display(),
        files.markdown.display(),
        files.figures
    );
    Ok(())
}
