//! The machine-readable report: [`RunReport`] serialized as pretty JSON,
//! schema in `docs/report-json.md`. Written atomically because other tools
//! (dashboards, cron wrappers) may read the file while a run replaces it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process;
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::results::RunReport;

#[derive(Debug, Error)]
pub enum ReportError {
    /// The report could not be written; the previous file, if any, is intact.
    #[error("cannot write JSON report to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The report as pretty-printed JSON, without a trailing newline.
pub fn to_json(report: &RunReport) -> String {
    // Serializing plain structs with string keys into memory cannot fail;
    // an error here would be a bug in the results types, not a runtime state.
    serde_json::to_string_pretty(report).expect("RunReport serializes to JSON")
}

/// Writes the report to `path` so readers see either the old file or the
/// complete new one, never a torn write: the JSON goes to a temporary file
/// in the same directory (same filesystem, so the rename is atomic), is
/// fsynced, then renamed over `path`. On failure the temporary file is
/// removed and the error names `path`.
pub fn write_json(report: &RunReport, path: &Path) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut body = to_json(report);
    body.push('\n');
    // A device or pipe (`/dev/stdout`, a FIFO, `/dev/full`) is written in
    // place: renaming a temporary file over it would replace the device
    // node itself (root may write in /dev) instead of writing to it.
    if let Ok(meta) = fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        return OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(body.as_bytes()).and_then(|()| f.flush()))
            .map_err(err);
    }
    let tmp = temp_path(path).map_err(err)?;
    if let Err(e) = write_synced(&tmp, body.as_bytes()).and_then(|()| fs::rename(&tmp, path)) {
        // Best effort: the temp file may not exist if creation failed.
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    sync_parent(path);
    Ok(())
}

/// `dir/.name.tmp-<pid>-<nanos>`: hidden, unique per process and call, and
/// in the target's directory so the final rename never crosses filesystems.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path does not name a file"))?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}-{nanos}", process::id()));
    Ok(path.with_file_name(tmp_name))
}

fn write_synced(tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    // create_new: never clobber a file we did not create.
    let mut file = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Persists the rename itself. Failing here loses durability, not
/// correctness (the file is complete either way), so it is not reported.
fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn json_snapshot() {
        insta::assert_snapshot!("report_json", to_json(&fixture::mixed_run()));
    }

    #[test]
    fn writes_a_valid_file_and_replaces_the_old_one() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("report.json");
        fs::write(&path, "old")?;
        write_json(&fixture::mixed_run(), &path)?;
        let value: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path)?)?;
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["totals"]["hosts"], 10);
        let names: Vec<_> = fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        assert_eq!(names, vec!["report.json"], "no temp file left behind");
        Ok(())
    }

    #[test]
    fn unwritable_path_names_the_path_and_leaves_nothing() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("missing").join("report.json");
        let err = write_json(&fixture::mixed_run(), &path).expect_err("directory is missing");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path())?.count(), 0);
        Ok(())
    }

    #[test]
    fn failed_rename_removes_the_temp_file() -> Result<(), Box<dyn std::error::Error>> {
        // The target is a non-empty directory: the temp file is written,
        // the rename fails, and the temp file must not linger.
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("report.json");
        fs::create_dir(&path)?;
        fs::write(path.join("keep"), "")?;
        assert!(write_json(&fixture::mixed_run(), &path).is_err());
        assert_eq!(fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }
}
