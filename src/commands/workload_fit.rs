//! `llmcap workload fit`: read request logs (plain or gzip, files or directories), stream each
//! line through the pure parser into the traffic accumulator, fit, write the TOML and print the
//! summary. All the I/O of learning a workload is here; the computation is in
//! `workload::logs`.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{WorkloadArgs, WorkloadCommand, WorkloadFitArgs};
use crate::files;
use crate::format::{percent, thousands};
use crate::workload::logs::fit::{skipped_summary, LengthFit};
use crate::workload::logs::record::{parse_json_line, sniff, FileKind};
use crate::workload::logs::{
    fit, CsvColumns, FittedWorkload, LogFormat, Skip, SkipReason, Traffic,
};

/// The longest line kept (a Bedrock record carries the whole request and reply body; a 1 M-token
/// prompt is a few MB of JSON). The rest of a longer line is read and dropped.
const MAX_LINE_BYTES: usize = 64 << 20;
/// Read buffer per file.
const BUFFER_BYTES: usize = 1 << 16;
/// Without a terminal, a progress line every this many records.
const PROGRESS_EVERY: u64 = 1_000_000;

pub fn run(args: &WorkloadArgs) -> Result<()> {
    match &args.command {
        WorkloadCommand::Fit(fit_args) => run_fit(fit_args),
    }
}

fn run_fit(args: &WorkloadFitArgs) -> Result<()> {
    if let Some(out) = &args.out {
        files::writable_file(out)?;
    }
    let fitted = learn(&args.logs, args.format)?;
    if let Some(out) = &args.out {
        files::write_atomically(out, &fitted.to_toml())?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&fitted)?);
    } else {
        print_summary(&fitted, args.out.as_deref());
    }
    Ok(())
}

/// A workload learned from the logs at `logs` (files, or directories read whole), with
/// progress on stderr: what `workload fit` writes and `plan --from-logs` measures with.
pub fn learn(logs: &[PathBuf], format: crate::workload::logs::LogFormat) -> Result<FittedWorkload> {
    let paths = expand(logs)?;
    let mut traffic = Traffic::new();
    let mut progress = Progress::new(paths.len());
    for (i, path) in paths.iter().enumerate() {
        progress.file(i, path);
        read_file(path, format, &mut traffic, &mut progress)?;
    }
    progress.finish();
    Ok(fit(traffic)?)
}

/// The files named, a directory standing for every regular file under it in path order.
fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for input in inputs {
        let meta =
            std::fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            found.sort();
            if found.is_empty() {
                bail!("{} holds no regular file", input.display());
            }
            paths.extend(found);
        } else {
            paths.push(input.clone());
        }
    }
    Ok(paths)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let meta =
            std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            walk(&path, found)?;
        } else if meta.is_file() {
            found.push(path);
        }
    }
    Ok(())
}

/// Streams one file's lines into `traffic`.
fn read_file(
    path: &Path,
    format: LogFormat,
    traffic: &mut Traffic,
    progress: &mut Progress,
) -> Result<()> {
    let name = path.display().to_string();
    let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
    let mut plain = BufReader::with_capacity(BUFFER_BYTES, file);
    let gzip = plain
        .fill_buf()
        .with_context(|| format!("cannot read {name}"))?
        .starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            MultiGzDecoder::new(plain),
        ))
    } else {
        Box::new(plain)
    };
    let index = traffic.begin_file(&name);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut kind: Option<FileKind> = None;
    let mut columns: Option<CsvColumns> = None;
    loop {
        let read = match next_line(&mut reader, &mut buf, MAX_LINE_BYTES) {
            Ok(read) => read,
            Err(e) => {
                // A damaged gzip member or an I/O error: what was read stays, the file is left.
                let what = if gzip { "gzip: " } else { "" };
                traffic.skip(
                    index,
                    line_no + 1,
                    Skip::new(SkipReason::Unreadable, format!("{what}{e}")),
                );
                return Ok(());
            }
        };
        let Some(too_long) = read else { break };
        line_no += 1;
        if too_long {
            traffic.skip(
                index,
                line_no,
                Skip::new(
                    SkipReason::TooLong,
                    format!("over {} MiB", MAX_LINE_BYTES >> 20),
                ),
            );
            continue;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(text) => text.trim_end_matches('\r'),
            Err(e) => {
                let reason = if kind == Some(FileKind::Csv) {
                    SkipReason::BadCsvRow
                } else {
                    SkipReason::NotJson
                };
                traffic.skip(index, line_no, Skip::new(reason, format!("not UTF-8: {e}")));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        let file_kind = *kind.get_or_insert_with(|| sniff(text, format));
        let parsed = match file_kind {
            FileKind::JsonLines => parse_json_line(text, format),
            FileKind::Csv => match &columns {
                Some(columns) => columns.parse_row(text),
                None => match CsvColumns::from_header(text) {
                    Ok(header) => {
                        columns = Some(header);
                        continue;
                    }
                    Err(skip) => {
                        // Without a header no row can be read: the file is skipped, named.
                        traffic.skip(index, line_no, skip);
                        return Ok(());
                    }
                },
            },
        };
        match parsed {
            Ok(record) => {
                traffic.add(&record);
                progress.record(traffic.records);
            }
            Err(skip) => traffic.skip(index, line_no, skip),
        }
    }
    Ok(())
}

/// The next line into `buf` without its `\n`: `None` at the end, else whether it was longer
/// than `limit` bytes (then `buf` is empty and the rest of the line was read and dropped, so
/// memory stays at `limit`).
fn next_line(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(too_long));
        }
        any = true;
        let end = memchr::memchr(b'\n', available);
        let chunk = &available[..end.unwrap_or(available.len())];
        if !too_long {
            if buf.len() + chunk.len() > limit {
                too_long = true;
                buf.clear();
                buf.shrink_to(BUFFER_BYTES);
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let used = end.map_or(available.len(), |i| i + 1);
        reader.consume(used);
        if end.is_some() {
            return Ok(Some(too_long));
        }
    }
}

/// A spinner on a terminal; otherwise a line every [`PROGRESS_EVERY`] records.
struct Progress {
    bar: Option<ProgressBar>,
    files: usize,
    file: String,
    last_draw: Instant,
}

impl Progress {
    fn new(files: usize) -> Progress {
        let bar = io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} reading logs: {msg} ({elapsed})")
            {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            files,
            file: String::new(),
            last_draw: Instant::now(),
        }
    }

    fn file(&mut self, index: usize, path: &Path) {
        self.file = format!("file {}/{} {}", index + 1, self.files, path.display());
        if let Some(bar) = &self.bar {
            bar.set_message(self.file.clone());
        }
    }

    fn record(&mut self, records: u64) {
        match &self.bar {
            Some(bar)
                if records.is_multiple_of(10_000)
                    && self.last_draw.elapsed() > Duration::from_millis(100) =>
            {
                bar.set_message(format!(
                    "{} records, {}",
                    thousands(records as f64),
                    self.file
                ));
                self.last_draw = Instant::now();
            }
            None if records.is_multiple_of(PROGRESS_EVERY) => {
                eprintln!(
                    "workload fit: {} records read ({})",
                    thousands(records as f64),
                    self.file
                );
            }
            _ => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn table(header: Vec<&str>) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    table
}

fn right_align(table: &mut Table, from: usize) {
    for i in from..table.column_count() {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn print_summary(fitted: &FittedWorkload, out: Option<&Path>) {
    println!(
        "Read {} records from {} file{}: {} to {} ({} days).",
        thousands(fitted.records as f64),
        fitted.files.len(),
        if fitted.files.len() == 1 { "" } else { "s" },
        fitted.first,
        fitted.last,
        (fitted.days * 100.0).round() / 100.0
    );
    if fitted.skipped_total > 0 {
        println!(
            "Skipped {}.",
            skipped_summary(fitted.skipped_total, &fitted.skipped)
        );
        let mut skipped = table(vec!["skipped", "lines", "first lines", "first problem"]);
        for s in &fitted.skipped {
            skipped.add_row(vec![
                s.label.clone(),
                thousands(s.count as f64),
                s.lines.join("\n"),
                s.first_problem.clone(),
            ]);
        }
        println!("{skipped}");
    } else {
        println!("Nothing skipped.");
    }
    if fitted.zero_output > 0 {
        println!(
            "{} records had 0 output tokens (errors or refusals): kept.",
            thousands(fitted.zero_output as f64)
        );
    }

    let mut models = table(vec!["model", "requests", "share"]);
    for m in &fitted.models {
        models.add_row(vec![
            m.model.clone(),
            thousands(m.requests as f64),
            percent(m.requests as f64 / fitted.records as f64),
        ]);
    }
    right_align(&mut models, 1);
    println!("{models}");

    let mut lengths = table(vec![
        "tokens",
        "p1",
        "p10",
        "p25",
        "p50",
        "p75",
        "p90",
        "p99",
        "max",
        "written as",
    ]);
    let at = |points: &[[f64; 2]], q: f64| {
        points
            .iter()
            .find(|p| p[0] == q)
            .map_or(String::from("-"), |p| thousands(p[1]))
    };
    let fit_text = |fit: &LengthFit| match fit.ks {
        Some(ks) if fit.lognormal => format!("log-normal (KS {ks:.3})"),
        Some(ks) => format!("quantiles (log-normal KS {ks:.3})"),
        None => "quantiles (no log-normal)".to_string(),
    };
    let rows: [(&str, &[[f64; 2]], String); 3] = [
        ("whole prompt", &fitted.prompt, String::new()),
        (
            "message (prompt − cached prefix)",
            &fitted.message.points,
            fit_text(&fitted.message),
        ),
        ("reply", &fitted.reply.points, fit_text(&fitted.reply)),
    ];
    for (name, points, written) in rows {
        let mut row = vec![name.to_string()];
        row.extend(
            [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]
                .into_iter()
                .map(|q| at(points, q)),
        );
        row.push(written);
        lengths.add_row(row);
    }
    right_align(&mut lengths, 1);
    println!("{lengths}");
    println!(
        "Cache: {} of requests used it; {} of prompt tokens read from it; cached prefix {} tokens.",
        percent(fitted.cache_use_share),
        percent(fitted.measured.cached_share),
        thousands(fitted.cached_prefix)
    );

    match &fitted.users {
        Some(u) => println!(
            "Users: {} followed, {} sessions, {:.2} requests a session, think time {} s (mean gap), {} s between sessions (mean), {:.2} requests per active user-hour{}.",
            thousands(u.users as f64),
            thousands(u.sessions as f64),
            fitted.turns_per_session,
            fitted.think_time_s,
            thousands(fitted.session_gap_s),
            u.requests_per_active_user_hour,
            if u.out_of_order > 0 {
                format!("; {} requests out of time order", thousands(u.out_of_order as f64))
            } else {
                String::new()
            }
        ),
        None => println!(
            "Users: not identifiable (fewer than {} distinct): one request per session, defaults written.",
            crate::workload::logs::fit::MIN_USERS
        ),
    }

    println!("Requests by UTC hour:");
    let peak = fitted.hourly.iter().copied().fold(0.0, f64::max);
    for (hour, share) in fitted.hourly.iter().enumerate() {
        let width = if peak > 0.0 {
            (share / peak * 40.0).round() as usize
        } else {
            0
        };
        println!(
            "  {hour:02}  {:<40}  {}",
            "█".repeat(width),
            percent(*share)
        );
    }

    let mut minutes = table(vec![
        "model",
        "minutes (with traffic)",
        "TPM p50",
        "TPM p99",
        "TPM max",
        "input TPM p99",
        "output TPM p99",
        "RPM p50",
        "RPM p99",
        "RPM max",
    ]);
    for m in &fitted.measured.models {
        minutes.add_row(vec![
            m.model.clone(),
            format!(
                "{} ({})",
                thousands(m.minutes as f64),
                thousands(m.active_minutes as f64)
            ),
            thousands(m.tpm_p50),
            thousands(m.tpm_p99),
            thousands(m.tpm_max),
            thousands(m.input_tpm_p99),
            thousands(m.output_tpm_p99),
            thousands(m.rpm_p50),
            thousands(m.rpm_p99),
            thousands(m.rpm_max),
        ]);
    }
    right_align(&mut minutes, 1);
    println!("Per minute, over every minute of the span (quiet minutes count as 0):");
    println!("{minutes}");
    if let Some(out) = out {
        println!("Wrote {}.", out.display());
    }
}
