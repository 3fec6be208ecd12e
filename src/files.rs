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
    #[error("cannot write {}: it is {kind}, not a regular file, and llmcap writes only regular files (a temporary file beside it renamed over it); give a new path or a regular file", path.display())]
    NotAFile { path: PathBuf, kind: String },
    #[error("cannot write {}: it is a symbolic link to {}, which does not exist; remove the link or give another path", path.display(), target.display())]
    DanglingLink { path: PathBuf, target: PathBuf },
    #[error("cannot write {}: the path names no file; give a file's path, e.g. out/profile.toml", path.display())]
    NoFileName { path: PathBuf },
    #[error("cannot create directory {}: it exists and is {kind}, not a directory; give a new path or a directory", dir.display())]
    NotADirectory { dir: PathBuf, kind: String },
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

/// Creates `dir` and any missing parents; a path that exists and is not a directory (or a
/// symbolic link to one) is refused, naming what it is.
pub fn create_dir(dir: &Path) -> Result<(), FileError> {
    check_dir(dir)?;
    std::fs::create_dir_all(dir).map_err(|cause| FileError::CreateDir {
        dir: dir.to_path_buf(),
        cause,
    })
}

/// Whether `dir` can be an output directory: absent (it will be created) or a directory,
/// through symbolic links.
pub fn check_dir(dir: &Path) -> Result<(), FileError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(meta) => Err(FileError::NotADirectory {
            dir: dir.to_path_buf(),
            kind: describe(&meta.file_type()),
        }),
        Err(_) => Ok(()),
    }
}

/// The file a write to `path` replaces: `path` itself when it is absent or a regular file; the
/// file a symbolic link points to when that is a regular file (so the link stays a link).
/// Anything else — a directory, a device such as /dev/null, a FIFO, a socket, a link to one of
/// those or to nothing — is refused, naming the path and what it is.
pub fn writable_file(path: &Path) -> Result<PathBuf, FileError> {
    if path.file_name().is_none() {
        return Err(FileError::NoFileName {
            path: path.to_path_buf(),
        });
    }
    let failed = |cause| FileError::Write {
        path: path.to_path_buf(),
        cause,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(cause) => return Err(failed(cause)),
    };
    if meta.is_file() {
        return Ok(path.to_path_buf());
    }
    if !meta.file_type().is_symlink() {
        return Err(FileError::NotAFile {
            path: path.to_path_buf(),
            kind: describe(&meta.file_type()),
        });
    }
    let target = std::fs::read_link(path).map_err(failed)?;
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => std::fs::canonicalize(path).map_err(failed),
        Ok(meta) => Err(FileError::NotAFile {
            path: path.to_path_buf(),
            kind: format!(
                "a symbolic link to {} ({})",
                target.display(),
                describe(&meta.file_type())
            ),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(FileError::DanglingLink {
            path: path.to_path_buf(),
            target,
        }),
        Err(cause) => Err(failed(cause)),
    }
}

/// What a file that is not a regular file is, for a message.
fn describe(kind: &std::fs::FileType) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() {
            return "a character device".into();
        }
        if kind.is_block_device() {
            return "a block device".into();
        }
        if kind.is_fifo() {
            return "a FIFO (named pipe)".into();
        }
        if kind.is_socket() {
            return "a socket".into();
        }
    }
    if kind.is_dir() {
        "a directory".into()
    } else if kind.is_symlink() {
        "a symbolic link".into()
    } else if kind.is_file() {
        "a regular file".into()
    } else {
        "not a regular file".into()
    }
}

/// Writes `contents` to a temporary file beside `path`, then renames it into place, so an
/// interrupted write never leaves a truncated file. Only a regular file or a new path is
/// written ([`writable_file`]).
pub fn write_atomically(path: &Path, contents: &str) -> Result<(), FileError> {
    write_bytes_atomically(path, contents.as_bytes())
}

/// [`write_atomically`] for bytes.
pub fn write_bytes_atomically(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    replace_via(path, "", |temporary| {
        write_new(temporary, contents).map_err(|cause| FileError::Write {
            path: temporary.to_path_buf(),
            cause,
        })
    })
}

/// Replaces `path` (checked by [`writable_file`]; its directory created) with the file `write`
/// makes at the temporary path it is given, `.NAME.partial` beside the target with `suffix`
/// appended (for a writer that picks its format by the extension, e.g. `.png`), renamed into
/// place once `write` succeeds. A leftover temporary file of that name is removed first; on any
/// failure the temporary file is removed again, so nothing half-written stays behind.
pub fn replace_via<E: From<FileError>>(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let target = writable_file(path)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let temporary = target.with_file_name(format!(".{file_name}.partial{suffix}"));
    remove_leftover(&temporary)?;
    let written = write(&temporary).and_then(|()| {
        std::fs::rename(&temporary, &target).map_err(|cause| {
            E::from(FileError::Write {
                path: path.to_path_buf(),
                cause,
            })
        })
    });
    if written.is_err() {
        // Whatever failed (a full disk, no permission), nothing half-written stays behind; the
        // error already names the file.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Removes a temporary file an earlier, interrupted write left (any kind but a directory).
fn remove_leftover(temporary: &Path) -> Result<(), FileError> {
    match std::fs::remove_file(temporary) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(cause) => Err(FileError::Write {
            path: temporary.to_path_buf(),
            cause,
        }),
    }
}

/// Creates `path`, which must not exist (so no link is followed and no FIFO opened), and writes
/// `contents` into it.
fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(contents)
}

/// Seconds since 1970 now (0 if the clock is before it).
fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Today's UTC date as YYYY-MM-DD.
pub fn today_utc() -> String {
    crate::timestamp::format_iso(now_s())[..10].to_string()
}

/// The current UTC time as RFC 3339, e.g. `2026-11-24T10:00:00Z`.
pub fn now_utc_rfc3339() -> String {
    crate::timestamp::format_iso(now_s()).replace("+00:00", "Z")
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

    /// Makes a FIFO at `path`.
    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `name` is a valid NUL-terminated path for the duration of the call.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    #[cfg(unix)]
    fn is_fifo(path: &Path) -> bool {
        use std::os::unix::fs::FileTypeExt;
        std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    #[test]
    fn a_device_fifo_or_socket_is_refused_and_left_as_it_was() {
        use std::os::unix::fs::FileTypeExt;
        let error = write_atomically(Path::new("/dev/null"), "x")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("/dev/null") && error.contains("a character device"),
            "{error}"
        );
        let null = std::fs::symlink_metadata("/dev/null").unwrap();
        assert!(null.file_type().is_char_device());
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.toml");
        mkfifo(&fifo);
        let error = write_atomically(&fifo, "x").unwrap_err().to_string();
        assert!(
            error.contains("out.toml") && error.contains("FIFO") && error.contains("new path"),
            "{error}"
        );
        assert!(is_fifo(&fifo));
        let socket = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let error = write_atomically(&socket, "x").unwrap_err().to_string();
        assert!(
            error.contains("s.sock") && error.contains("a socket"),
            "{error}"
        );
        assert_eq!(names(dir.path()), ["out.toml", "s.sock"], "no partial file");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_regular_file_is_written_through_and_other_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let fifo = dir.path().join("pipe");
        mkfifo(&fifo);
        let to_fifo = dir.path().join("to-pipe.toml");
        std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
        let error = write_atomically(&to_fifo, "x").unwrap_err().to_string();
        assert!(
            error.contains("to-pipe.toml")
                && error.contains("symbolic link to")
                && error.contains("FIFO"),
            "{error}"
        );
        let to_null = dir.path().join("null.toml");
        std::os::unix::fs::symlink("/dev/null", &to_null).unwrap();
        assert!(write_atomically(&to_null, "x").is_err());
        let dangling = dir.path().join("dangling.toml");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        let error = write_atomically(&dangling, "x").unwrap_err().to_string();
        assert!(
            error.contains("dangling.toml") && error.contains("does not exist"),
            "{error}"
        );
        assert!(!dir.path().join("nowhere").exists());
        assert!(is_fifo(&fifo));
        assert_eq!(
            names(dir.path()),
            [
                "dangling.toml",
                "link.toml",
                "null.toml",
                "pipe",
                "real.toml",
                "to-pipe.toml"
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_leftover_partial_fifo_is_replaced_not_opened() {
        // Opening a FIFO to write blocks until a reader comes: the temporary file is created
        // afresh, never opened where it stands.
        let dir = tempfile::tempdir().unwrap();
        mkfifo(&dir.path().join(".out.json.partial"));
        write_atomically(&dir.path().join("out.json"), "{}").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.json")).unwrap(),
            "{}"
        );
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_path_that_is_not_a_directory_is_refused_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plan");
        std::fs::write(&file, "x").unwrap();
        let error = create_dir(&file).unwrap_err().to_string();
        assert!(
            error.contains("plan") && error.contains("a regular file, not a directory"),
            "{error}"
        );
        create_dir(&dir.path().join("new/sub")).unwrap();
        create_dir(&dir.path().join("new")).unwrap();
        let error = write_atomically(Path::new(".."), "x")
            .unwrap_err()
            .to_string();
        assert!(error.contains("names no file"), "{error}");
    }

    #[test]
    fn dates() {
        let day = |days: i64| crate::timestamp::format_iso(days * 86_400)[..10].to_string();
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(20_416), "2025-11-24");
        assert_eq!(day(11_016), "2000-02-29");
    }
}
