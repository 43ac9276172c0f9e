//! `accept-new`: records host keys seen for the first time, as OpenSSH's
//! `StrictHostKeyChecking accept-new` does, safely when many hosts connect
//! at once. Decisions are made in memory under a short lock (so the second
//! connection to a host in the same run sees the first one's key), and the
//! file appends are serialised by one async lock that is held only for the
//! write of a line: hosts never wait on each other's handshakes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use russh::keys::PublicKey;
use tokio::io::AsyncWriteExt;

/// What [`Recorder::accept`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// First sighting in this run: recorded in memory and appended to the file.
    Recorded,
    /// Another connection of this run recorded this very key already.
    AlreadyRecorded,
    /// Another connection of this run recorded a different key of the same
    /// algorithm for this host: someone is lying.
    Conflict,
    /// The key is trusted for this run but could not be written.
    WriteFailed(String),
}

#[derive(Debug, Default)]
pub(crate) struct Recorder {
    /// lookup name (`host` or `[host]:port`) → keys accepted this run.
    seen: Mutex<HashMap<String, Vec<PublicKey>>>,
    /// Serialises appends so lines from concurrent hosts never interleave.
    write: tokio::sync::Mutex<()>,
}

impl Recorder {
    /// Keys recorded this run for `lookup`; checked before known_hosts files
    /// (which were read once, before the run).
    pub(crate) fn recorded(&self, lookup: &str) -> Vec<PublicKey> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get(lookup).cloned().unwrap_or_default()
    }

    /// Records `key` for `lookup` and appends it to `file`.
    pub(crate) async fn accept(&self, file: &Path, lookup: &str, key: &PublicKey) -> Accepted {
        {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            let keys = seen.entry(lookup.to_string()).or_default();
            if keys.iter().any(|k| k.key_data() == key.key_data()) {
                return Accepted::AlreadyRecorded;
            }
            if keys.iter().any(|k| k.algorithm() == key.algorithm()) {
                return Accepted::Conflict;
            }
            keys.push(key.clone());
        }
        let line = match key.to_openssh() {
            Ok(text) => format!("{lookup} {text}\n"),
            Err(e) => return Accepted::WriteFailed(format!("cannot encode the key: {e}")),
        };
        let _one_writer = self.write.lock().await;
        match append(file, &line).await {
            Ok(()) => Accepted::Recorded,
            Err(e) => Accepted::WriteFailed(format!("cannot append to {}: {e}", file.display())),
        }
    }
}

/// Appends `line`, first adding a newline if the file does not end with
/// one; creates the file (and `~/.ssh`, 0700 like ssh does: it will hold
/// keys) when missing.
async fn append(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::DirBuilder::new()
            .recursive(true)
            .mode(crate::atomic::PRIVATE_DIR_MODE)
            .create(dir)
            .await?;
    }
    let needs_newline = match tokio::fs::read(path).await {
        Ok(bytes) => bytes.last().is_some_and(|&b| b != b'\n'),
        Err(_) => false,
    };
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    let mut text = String::new();
    if needs_newline {
        text.push('\n');
    }
    text.push_str(line);
    file.write_all(text.as_bytes()).await?;
    file.flush().await
}

/// The file new keys go to: the first known_hosts file of the target, as
/// OpenSSH writes to the first `UserKnownHostsFile`.
pub(crate) fn target_file(files: &[PathBuf]) -> Option<&Path> {
    files.first().map(PathBuf::as_path)
}

#[cfg(test)]
mod private_dir_tests {
    use std::os::unix::fs::PermissionsExt;

    /// Before: a missing `~/.ssh` was created 0755 when accept-new
    /// recorded the first key.
    #[tokio::test]
    async fn a_missing_ssh_dir_is_created_0700() -> Result<(), Box<dyn std::error::Error>> {
        let home = tempfile::tempdir()?;
        let file = home.path().join(".ssh/known_hosts");
        super::append(&file, "host ssh-ed25519 AAAA\n").await?;
        let mode = std::fs::metadata(home.path().join(".ssh"))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(std::fs::read_to_string(&file)?, "host ssh-ed25519 AAAA\n");
        Ok(())
    }
}
