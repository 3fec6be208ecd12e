//! `llmcap profile-from-ranges`: a profile from published TTFT/TPOT ranges.

use anyhow::{anyhow, Result};

use crate::cli::ProfileFromRangesArgs;
use crate::files::{today_utc, write_atomically};
use crate::perf::fit::FitReport;
use crate::perf::profile::Provenance;
use crate::perf::{published, Profile};

fn range_s(text: &str, flag: &str) -> Result<(f64, f64)> {
    let (lo, hi) = text.split_once("..").ok_or_else(|| {
        anyhow!("{flag} `{text}`: expected LOW..HIGH in milliseconds, e.g. 300..600")
    })?;
    let parse = |s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|_| anyhow!("{flag} `{text}`: `{s}` is not a number"))
    };
    Ok((parse(lo)? / 1e3, parse(hi)? / 1e3))
}

pub fn run(args: &ProfileFromRangesArgs) -> Result<()> {
    let model = published::from_ranges(
        range_s(&args.ttft_ms, "--ttft-ms")?,
        range_s(&args.tpot_ms, "--tpot-ms")?,
        args.max_concurrency,
        args.max_prompt_tokens,
    )?;
    let report = FitReport::of_model(model);
    let profile = Profile::from_fit(
        args.model_id.clone(),
        args.name.clone(),
        Provenance {
            source: format!("from published ranges: {}", args.source),
            date: args.date.clone(),
            target: args.target.clone(),
            method: format!(
                "llmcap {} profile-from-ranges on {} (TTFT {} ms, TPOT {} ms, up to {} concurrent); not calibrated",
                env!("CARGO_PKG_VERSION"),
                today_utc(),
                args.ttft_ms,
                args.tpot_ms,
                args.max_concurrency
            ),
        },
        &report,
        Vec::new(),
    );
    let text = format!(
        "# llmcap performance profile from published ranges (not calibrated).\n{}",
        profile.to_toml_string()
    );
    write_atomically(&args.out, &text)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
