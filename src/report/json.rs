//! The machine-readable report: [`RunReport`] serialized as pretty JSON,
//! schema in `docs/report-json.md`. Written atomically because other tools
//! (dashboards, cron wrappers) may read the file while a run replaces it.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::atomic::write_atomic;
use crate::model::report::RunReport;

#[derive(Debug, Error)]
pub enum ReportError {
    /// The report could not be written; the previous file, if any, is intact.
    #[error("cannot write {format} report to {}: {source}", path.display())]
    Write {
        format: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot render the {format} report: {message}")]
    Render {
        format: &'static str,
        message: String,
    },
}

/// The report as pretty-printed JSON, without a trailing newline.
pub fn to_json(report: &RunReport) -> String {
    report.to_json()
}

/// Writes the report to `path` atomically (see [`write_atomic`]).
pub fn write_json(report: &RunReport, path: &Path) -> Result<(), ReportError> {
    let mut body = to_json(report);
    body.push('\n');
    write_atomic(path, body.as_bytes()).map_err(|source| ReportError::Write {
        format: "JSON",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;
    use std::fs;

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
