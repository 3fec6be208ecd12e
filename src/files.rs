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
    Profile::from_toml_str(&text).map_err(|cause| FileError::Profile {
        path: path.to_path_buf(),
        cause,
    })
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
    std::fs::write(&temporary, contents).map_err(failed(&temporary))?;
    std::fs::rename(&temporary, path).map_err(failed(path))
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
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
