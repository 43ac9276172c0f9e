//! Atomic file replacement for every report and history file: other tools
//! (dashboards, cron wrappers, a second `fleet history`) may read a file
//! while a run replaces it, and an interrupted run must never leave a torn
//! one behind.
//!
//! Who may read the result is decided here too, once: reports keep the
//! mode of the file they replace (else the umask's default), history files
//! are always 0600 (see docs/security.md, "Private state").

use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process;
use std::time::{SystemTime, UNIX_EPOCH};

/// Permission bits of the state directory and every directory under it
/// (and of the directories `accept-new` creates for known_hosts).
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Permission bits of a private file: the owner reads and writes it.
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;

/// Who may read a file written atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Reports: the mode of the file replaced (an operator who made a
    /// report 0640 for a group keeps it so), else `0666 & !umask`.
    LikeBefore,
    /// History: 0600 whatever existed and whatever the umask.
    Private,
}

/// Writes `bytes` to `path` so readers see either the old file or the
/// complete new one, never a torn write: the bytes go to a temporary file
/// in the same directory (same filesystem, so the rename is atomic), are
/// fsynced, then renamed over `path`. On failure the temporary file is
/// removed. The new file keeps the permission bits of the one it replaces;
/// a new file follows the umask.
///
/// A device or FIFO *named directly* (`/dev/null`, a FIFO made with
/// `mkfifo`) is written in place: renaming a temporary file over it would
/// replace the node itself (root may write in /dev) instead of writing to
/// it. A *symbolic link* to a device or FIFO is refused, so a link planted
/// where a report is expected (`report.json -> /dev/sda`) cannot make fleet
/// write into a disk; the one exception is the process's own streams
/// (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`), links
/// the kernel provides and only the command line can name. A symbolic link
/// to a regular file is replaced by the new file, never written through.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, bytes, Access::LikeBefore)
}

/// [`write_atomic`] for private state (history): the file is 0600 from
/// the moment it exists, whatever it replaces and whatever the umask.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, bytes, Access::Private)
}

fn write_with(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    if is_own_stream(path) {
        // Whatever stdout is (terminal, pipe, a file the shell opened),
        // write to it; renaming over `/dev/stdout` would replace the link.
        return write_in_place(path, bytes, None);
    }
    let mut mode = None;
    match fs::symlink_metadata(path) {
        Ok(own) if is_special(&own) => return write_in_place(path, bytes, Some(&own)),
        Ok(own) if own.file_type().is_symlink() => match fs::metadata(path) {
            Ok(target) if is_special(&target) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a symbolic link to a device or FIFO ({}); fleet writes through \
                         such a link only for /dev/stdout, /dev/stderr and /dev/fd/N. Name the \
                         device itself, or remove the link",
                        path.display(),
                        fs::read_link(path)
                            .map_or_else(|_| "?".into(), |t| t.display().to_string())
                    ),
                ));
            }
            Ok(target) if target.is_file() => mode = Some(target.permissions().mode()),
            _ => {}
        },
        Ok(own) if own.is_file() => mode = Some(own.permissions().mode()),
        _ => {}
    }
    let final_mode = match access {
        Access::Private => Some(PRIVATE_FILE_MODE),
        Access::LikeBefore => mode.map(|m| m & 0o7777),
    };
    let tmp = temp_path(path)?;
    if let Err(e) = write_synced(&tmp, bytes, final_mode).and_then(|()| fs::rename(&tmp, path)) {
        // Best effort: the temp file may not exist if creation failed.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent(path);
    Ok(())
}

/// Neither a regular file, a directory nor a symbolic link: a device, a
/// FIFO or a socket, which is written to, never replaced.
fn is_special(meta: &Metadata) -> bool {
    let t = meta.file_type();
    t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket()
}

/// The links to fleet's own descriptors: `/dev/stdout`, `/dev/stderr`,
/// `/dev/fd/N`, `/proc/self/fd/N`, exactly as written.
fn is_own_stream(path: &Path) -> bool {
    let Some(text) = path.to_str() else {
        return false;
    };
    let numbered = |prefix: &str| {
        text.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    matches!(text, "/dev/stdout" | "/dev/stderr")
        || numbered("/dev/fd/")
        || numbered("/proc/self/fd/")
}

/// Writes to a device or FIFO in place. `expected` is what `path` was
/// when looked at: if another node took its place since (a symbolic link
/// swapped in), nothing is written.
fn write_in_place(path: &Path, bytes: &[u8], expected: Option<&Metadata>) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    if let Some(expected) = expected {
        let opened = f.metadata()?;
        if (opened.dev(), opened.ino()) != (expected.dev(), expected.ino()) {
            return Err(io::Error::other(format!(
                "{} changed while it was being opened; nothing was written",
                path.display()
            )));
        }
    }
    f.write_all(bytes)?;
    f.flush()
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

/// `mode`: exact permission bits (created 0600, so the bytes are never
/// readable by others meanwhile, then set); `None`: the umask decides.
fn write_synced(tmp: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    // create_new: never clobber a file we did not create.
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    if mode.is_some() {
        options.mode(PRIVATE_FILE_MODE);
    }
    let mut file = options.open(tmp)?;
    if let Some(mode) = mode {
        file.set_permissions(Permissions::from_mode(mode))?;
    }
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

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o7777)
    }

    /// The umask of this process, read without changing it.
    fn umask() -> u32 {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    }

    #[test]
    fn replaced_reports_keep_their_mode_new_ones_follow_the_umask()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let fresh = dir.path().join("new.json");
        write_atomic(&fresh, b"1")?;
        assert_eq!(mode(&fresh), 0o666 & !umask());
        let kept = dir.path().join("kept.json");
        fs::write(&kept, "old")?;
        fs::set_permissions(&kept, Permissions::from_mode(0o640))?;
        write_atomic(&kept, b"new")?;
        assert_eq!(mode(&kept), 0o640);
        assert_eq!(fs::read_to_string(&kept)?, "new");
        Ok(())
    }

    /// Before: history files were 0644 (world-readable) like any report.
    #[test]
    fn private_files_are_0600_whatever_they_replace() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("report.json");
        fs::write(&path, "old")?;
        fs::set_permissions(&path, Permissions::from_mode(0o644))?;
        write_private(&path, b"secret-free but private")?;
        assert_eq!(mode(&path), 0o600);
        let fresh = dir.path().join("meta.json");
        write_private(&fresh, b"x")?;
        assert_eq!(mode(&fresh), 0o600);
        Ok(())
    }

    /// The attack: a link planted where a report goes, pointing at a
    /// device (here /dev/null stands in for a disk) or a FIFO. Before,
    /// fleet followed it and wrote into the device.
    #[test]
    fn a_symlink_to_a_device_or_fifo_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let link = dir.path().join("report.json");
        std::os::unix::fs::symlink("/dev/null", &link)?;
        let err = write_atomic(&link, b"x").expect_err("refused");
        assert!(
            err.to_string().contains("symbolic link to a device"),
            "{err}"
        );
        assert!(fs::symlink_metadata(&link)?.file_type().is_symlink());
        let fifo = dir.path().join("fifo");
        let made = process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(made.success());
        let link = dir.path().join("via-link.json");
        std::os::unix::fs::symlink(&fifo, &link)?;
        // Refused before opening: opening a FIFO with no reader would block.
        let err = write_private(&link, b"x").expect_err("refused");
        assert!(err.to_string().contains("FIFO"), "{err}");
        Ok(())
    }

    #[test]
    fn devices_named_directly_and_own_streams_are_written_in_place()
    -> Result<(), Box<dyn std::error::Error>> {
        write_atomic(Path::new("/dev/null"), b"discarded")?;
        assert!(fs::metadata("/dev/null")?.file_type().is_char_device());
        assert!(is_own_stream(Path::new("/dev/stdout")));
        assert!(is_own_stream(Path::new("/dev/fd/3")));
        assert!(is_own_stream(Path::new("/proc/self/fd/12")));
        assert!(!is_own_stream(Path::new("/dev/fd/")));
        assert!(!is_own_stream(Path::new("/tmp/dev/stdout")));
        assert!(!is_own_stream(Path::new("/dev/sda")));
        // A link to a regular file is replaced, the target left alone.
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("target");
        fs::write(&target, "untouched")?;
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link)?;
        write_atomic(&link, b"new")?;
        assert_eq!(fs::read_to_string(&target)?, "untouched");
        assert_eq!(fs::read_to_string(&link)?, "new");
        Ok(())
    }
}
