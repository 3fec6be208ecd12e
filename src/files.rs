//! File I/O shared by commands: loading profiles, writing outputs without leaving half-written
//! files behind, and today's date for provenance.

use std::io;
use std::path::{Path, PathBuf};

use crate::perf::{PerfError, Profile};

/// Why a profile could not be loaded or an output written; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read profile {}: {cause}", path.display())]
    ReadProfile { path: PathBuf, cause: io::Error },
    #[error("profile {}: {cause}", path.display())]
    Profile { path: PathBuf, cause: PerfError },
    #[error("cannot create directory {}: {cause}", dir.display())]
    CreateDir { dir: PathBuf, cause: io::Error },
    #[error("cannot write {}: {cause}", path.display())]
    Write { path: PathBuf, cause: io::Error },
}

pub fn load_profile(path: &Path) -> Result<Profile, FileError> {
    let text = std::fs::read_to_string(path).map_err(|cause| FileError::ReadProfile {
        path: path.to_path_buf(),
        cause,
    })?;
    parse_profile(&text, &path.display().to_string())
}

/// A profile from text, as every command reads one: the model's own checks, and then no
/// number anywhere in it (noise, range, fit summary) may be NaN or infinite, since any of
/// them can reach a prediction, a table or a chart.
pub fn parse_profile(text: &str, origin: &str) -> Result<Profile, FileError> {
    let bad = |cause| FileError::Profile {
        path: PathBuf::from(origin),
        cause,
    };
    let profile = Profile::from_toml_str(text).map_err(bad)?;
    if let Ok(value) = toml::Value::try_from(&profile) {
        if let Some(field) = non_finite(&value, "") {
            return Err(bad(PerfError::BadRequest(format!(
                "field `{field}` is not a finite number; every number in a profile must be"
            ))));
        }
    }
    Ok(profile)
}

/// The dotted path of the first NaN or infinite float in `value`.
fn non_finite(value: &toml::Value, at: &str) -> Option<String> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match value {
        toml::Value::Float(f) if !f.is_finite() => Some(at.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| non_finite(v, &format!("{at}[{i}]"))),
        toml::Value::Table(table) => table.iter().find_map(|(k, v)| non_finite(v, &join(k))),
        _ => None,
    }
}

/// Creates `dir` and any missing parents.
pub fn create_dir(dir: &Path) -> Result<(), FileError> {
    std::fs::create_dir_all(dir).map_err(|cause| FileError::CreateDir {
        dir: dir.to_path_buf(),
        cause,
    })
}

/// Writes `contents` to a temporary file beside `path`, then renames it into place, so an
/// interrupted write never leaves a truncated file.
pub fn write_atomically(path: &Path, contents: &str) -> Result<(), FileError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.partial"));
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| FileError::Write { path, cause }
    };
    let written = std::fs::write(&temporary, contents)
        .map_err(failed(&temporary))
        .and_then(|()| std::fs::rename(&temporary, path).map_err(failed(path)));
    if written.is_err() {
        // Whatever failed (a full disk, a directory in the way, no permission), nothing
        // half-written stays behind; the error already names the file.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Today's UTC date as YYYY-MM-DD.
pub fn today_utc() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The current UTC time as RFC 3339, e.g. `2026-11-24T10:00:00Z`.
pub fn now_utc_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_number_that_is_not_finite_is_named() {
        let text = include_str!("../models/bedrock-llama3-3-70b-instruct.toml")
            .replace("spike_factor = 4.0", "spike_factor = inf");
        let error = parse_profile(&text, "p.toml").unwrap_err().to_string();
        assert!(
            error.contains("p.toml") && error.contains("spike_factor"),
            "{error}"
        );
    }

    #[test]
    fn a_failed_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        // The rename fails: a non-empty directory stands where the file should go.
        let target = dir.path().join("out.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), "x").unwrap();
        let error = write_atomically(&target, "{}").unwrap_err().to_string();
        assert!(error.contains("out.json"), "{error}");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(left, vec!["out.json".to_string()], "no .out.json.partial");
        // The write itself fails: the partial file's name is taken by a directory.
        let other = dir.path().join("b.txt");
        std::fs::create_dir(dir.path().join(".b.txt.partial")).unwrap();
        assert!(write_atomically(&other, "text").is_err());
        assert!(!other.exists());
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
