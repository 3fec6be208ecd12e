//! Finding measurements on disk: a run directory, a records CSV, or a table of medians.

use std::path::{Path, PathBuf};

use crate::perf::{Level, Sample};

use super::{published_table, records, reference_table, InputError};

/// What a fit reads.
#[derive(Debug)]
pub enum Measurements {
    /// Published or aggregated level medians (no spread).
    Medians(Vec<Level>),
    /// One sample per successful request.
    Requests {
        samples: Vec<Sample>,
        skipped: usize,
    },
}

/// Measurements plus what the run's manifest says about them, when there is one.
#[derive(Debug)]
pub struct LoadedMeasurements {
    pub measurements: Measurements,
    pub path: PathBuf,
    pub manifest: Option<serde_json::Value>,
}

pub fn load(path: &Path) -> Result<LoadedMeasurements, InputError> {
    let (csv_path, manifest) = if path.is_dir() {
        let manifest_path = path.join("manifest.json");
        let manifest = if manifest_path.exists() {
            let text = std::fs::read_to_string(&manifest_path).map_err(|cause| {
                InputError::ReadManifest {
                    path: manifest_path.clone(),
                    cause,
                }
            })?;
            Some(
                serde_json::from_str(&text).map_err(|cause| InputError::Manifest {
                    path: manifest_path.clone(),
                    cause,
                })?,
            )
        } else {
            None
        };
        (path.join("requests.csv"), manifest)
    } else {
        (path.to_path_buf(), None)
    };
    let text = std::fs::read_to_string(&csv_path).map_err(|cause| InputError::Read {
        path: csv_path.clone(),
        cause,
    })?;
    let origin = csv_path.display().to_string();
    let header = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
        .headers()
        .cloned()
        .map_err(|e| InputError::header(&origin, e))?;
    let measurements = if reference_table::is_reference_table(&header) {
        Measurements::Medians(reference_table::parse(&text, &origin)?)
    } else if published_table::is_published_table(&header) {
        Measurements::Medians(published_table::parse(&text, &origin)?)
    } else {
        let parsed = records::parse(&text, &origin)?;
        Measurements::Requests {
            samples: parsed.samples,
            skipped: parsed.skipped,
        }
    };
    Ok(LoadedMeasurements {
        measurements,
        path: path.to_path_buf(),
        manifest,
    })
}
