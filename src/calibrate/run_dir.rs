//! The run directory on disk: `requests.csv` appended as requests finish (so an interruption
//! loses nothing already answered), `manifest.json` rewritten atomically at start and stop, and
//! Parquet plus the level table written when the run stops.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::manifest::Manifest;
use super::record::RequestRecord;
use super::summary::LevelSummary;
use crate::export::{write_table, ExportError};
use crate::files::{write_atomically, FileError};

/// Why a run directory could not be created, resumed, read or written; each names the path.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error(
        "{} already holds a run; pass --resume to finish it, or choose another --out",
        path.display()
    )]
    HoldsARun { path: PathBuf },
    #[error(
        "cannot read {}; --resume needs the directory of an earlier `llmcap calibrate --out`: \
         {cause}",
        path.display()
    )]
    NoManifest { path: PathBuf, cause: io::Error },
    #[error("{} is not an llmcap manifest: {cause}", path.display())]
    NotAManifest {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error("cannot read {}: {cause}", path.display())]
    Read { path: PathBuf, cause: io::Error },
    #[error("{} line {line}: unreadable row: {cause}", path.display())]
    Row {
        path: PathBuf,
        line: usize,
        cause: csv::Error,
    },
    #[error("cannot append to {}: {cause}", path.display())]
    Append { path: PathBuf, cause: csv::Error },
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// A new run. Refuses a directory that already holds requests, so a finished or interrupted
    /// run is never overwritten by accident.
    pub fn create(path: &Path) -> Result<RunDir, RunDirError> {
        if path.join("requests.csv").exists() {
            return Err(RunDirError::HoldsARun {
                path: path.to_path_buf(),
            });
        }
        crate::files::create_dir(path)?;
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// An interrupted run: its manifest and every request it recorded. A torn last line (the
    /// process killed mid-write) is dropped; the request it described is sent again.
    pub fn open_for_resume(
        path: &Path,
    ) -> Result<(RunDir, Manifest, Vec<RequestRecord>), RunDirError> {
        let manifest_path = path.join("manifest.json");
        let text =
            std::fs::read_to_string(&manifest_path).map_err(|cause| RunDirError::NoManifest {
                path: manifest_path.clone(),
                cause,
            })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|cause| RunDirError::NotAManifest {
                path: manifest_path.clone(),
                cause,
            })?;
        let records = read_records(&path.join("requests.csv"))?;
        Ok((
            RunDir {
                path: path.to_path_buf(),
            },
            manifest,
            records,
        ))
    }

    pub fn write_manifest(&self, manifest: &Manifest) -> Result<(), RunDirError> {
        let json = serde_json::to_string_pretty(manifest).expect("a manifest always serialises");
        write_atomically(&self.path.join("manifest.json"), &(json + "\n"))?;
        Ok(())
    }

    /// Starts `requests.csv` afresh with `existing` rows, then appends.
    pub fn appender(&self, existing: &[RequestRecord]) -> Result<Appender, RunDirError> {
        let path = self.path.join("requests.csv");
        let append_error = |cause: csv::Error| RunDirError::Append {
            path: path.clone(),
            cause,
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        if existing.is_empty() {
            writer.write_record(header()).map_err(append_error)?;
        }
        for record in existing {
            writer.serialize(record).map_err(append_error)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| append_error(e.into_error().into()))?;
        write_atomically(&path, &String::from_utf8_lossy(&bytes))?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| append_error(e.into()))?;
        Ok(Appender {
            path,
            writer: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file),
        })
    }

    /// The final files: requests (CSV + Parquet) and levels (CSV + Parquet).
    pub fn write_tables(
        &self,
        records: &[RequestRecord],
        levels: &[LevelSummary],
    ) -> Result<(), RunDirError> {
        write_table(&self.path, "requests", records)?;
        write_table(&self.path, "levels", levels)?;
        Ok(())
    }
}

/// Column names in struct order, for a header with no rows yet.
fn header() -> Vec<&'static str> {
    vec![
        "request_id",
        "level",
        "concurrency",
        "prompt_tokens_target",
        "output_tokens_target",
        "warmup",
        "cooldown",
        "scheduled_s",
        "sent_s",
        "first_token_s",
        "last_token_s",
        "ttft_s",
        "tpot_s",
        "itl_mean_s",
        "itl_p99_s",
        "e2e_s",
        "ntpot_s",
        "input_tokens",
        "output_tokens",
        "tokens_source",
        "input_tokens_estimate",
        "chunks",
        "early_stop",
        "concurrency_at_send",
        "status",
        "error",
        "attempts",
        "chunk_offsets_s",
        "cached_tokens",
    ]
}

/// Appends one row per finished request and flushes it at once.
pub struct Appender {
    path: PathBuf,
    writer: csv::Writer<File>,
}

impl Appender {
    pub fn append(&mut self, record: &RequestRecord) -> Result<(), RunDirError> {
        self.writer
            .serialize(record)
            .and_then(|()| self.writer.flush().map_err(csv::Error::from))
            .map_err(|cause| RunDirError::Append {
                path: self.path.clone(),
                cause,
            })
    }
}

pub fn read_records(path: &Path) -> Result<Vec<RequestRecord>, RunDirError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(cause) => {
            return Err(RunDirError::Read {
                path: path.to_path_buf(),
                cause,
            })
        }
    };
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let mut reader = csv::Reader::from_reader(complete.as_bytes());
    let mut records = Vec::new();
    for (row, record) in reader.deserialize::<RequestRecord>().enumerate() {
        records.push(record.map_err(|cause| RunDirError::Row {
            path: path.to_path_buf(),
            line: row + 2,
            cause,
        })?);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> RequestRecord {
        RequestRecord {
            request_id: id,
            level: 0,
            concurrency: 1,
            prompt_tokens_target: 64,
            output_tokens_target: 8,
            warmup: false,
            cooldown: false,
            scheduled_s: 0.0,
            sent_s: 0.0,
            first_token_s: Some(0.1),
            last_token_s: None,
            ttft_s: Some(0.1),
            tpot_s: None,
            itl_mean_s: None,
            itl_p99_s: None,
            e2e_s: 0.2,
            ntpot_s: Some(0.025),
            input_tokens: 70,
            output_tokens: 8,
            tokens_source: "server".into(),
            input_tokens_estimate: 64,
            chunks: 8,
            early_stop: false,
            concurrency_at_send: 1,
            status: "ok".into(),
            error: "comma, \"quoted\"".into(),
            attempts: 1,
            chunk_offsets_s: "0.1000;0.1200".into(),
            cached_tokens: Some(16),
        }
    }

    #[test]
    fn appended_rows_read_back_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path()).unwrap();
        let mut appender = run.appender(&[]).unwrap();
        appender.append(&record(1)).unwrap();
        appender.append(&record(2)).unwrap();
        drop(appender);
        let path = dir.path().join("requests.csv");
        assert_eq!(read_records(&path).unwrap(), vec![record(1), record(2)]);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("3,0,1,64");
        std::fs::write(&path, text).unwrap();
        assert_eq!(read_records(&path).unwrap().len(), 2);
        assert!(
            RunDir::create(dir.path()).is_err(),
            "an existing run is not overwritten"
        );
        let mut again = run.appender(&[record(1), record(2)]).unwrap();
        again.append(&record(3)).unwrap();
        drop(again);
        let ids: Vec<u64> = read_records(&path)
            .unwrap()
            .iter()
            .map(|r| r.request_id)
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }
}
