//! Atomic file replacement for every report and history file: other tools
//! (dashboards, cron wrappers, a second `fleet history`) may read a file
//! while a run replaces it, and an interrupted run must never leave a torn
//! one behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes `bytes` to `path` so readers see either the old file or the
/// complete new one, never a torn write: the bytes go to a temporary file
/// in the same directory (same filesystem, so the rename is atomic), are
/// fsynced, then renamed over `path`. On failure the temporary file is
/// removed.
///
/// A device or pipe (`/dev/stdout`, a FIFO, `/dev/full`) is written in
/// place: renaming a temporary file over it would replace the device node
/// itself (root may write in /dev) instead of writing to it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Ok(meta) = fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let mut f = OpenOptions::new().write(true).open(path)?;
        f.write_all(bytes)?;
        return f.flush();
    }
    let tmp = temp_path(path)?;
    if let Err(e) = write_synced(&tmp, bytes).and_then(|()| fs::rename(&tmp, path)) {
        // Best effort: the temp file may not exist if creation failed.
        let _ = fs::remove_file(&tmp);
        return Err(e);
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
