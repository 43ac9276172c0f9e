//! The on-disk store. Layout, under the state directory:
//!
//! ```text
//! runs/<id>/meta.json    RunMeta: what `fleet history` lists (small)
//! runs/<id>/report.json  the full RunReport, secrets already redacted
//! runs/<id>/exports.json each host's exports (what trends read)
//! ```
//!
//! Ids are `YYYYMMDDTHHMMSSZ-xxxx` (start time, UTC, and a random suffix),
//! so a plain sort is chronological. Both files are written atomically and
//! `meta.json` last: a run whose meta is missing is invisible, never half
//! read.
//!
//! History is private: reports hold hosts' output. The state directory is
//! created 0700, `runs/` and each run directory are 0700 (tightened if an
//! older fleet left them looser), and every file is 0600. Retention: after
//! each run the pair's runs beyond [`DEFAULT_KEEP`] are removed
//! ([`Store::prune`]).

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic::write_private;
use crate::model::Verdict;
use crate::model::report::{RunReport, Totals};

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no state directory: set --state-dir, FLEET_STATE_DIR, XDG_STATE_HOME or HOME")]
    NoStateDir,
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("stored run {} is unreadable: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("no stored run matches `{0}`; `fleet history` lists them")]
    UnknownRun(String),
    #[error("`{prefix}` matches several runs: {}", candidates.join(", "))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },
}

/// What `fleet history` shows for a run, kept apart from the (large) report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMeta {
    pub id: String,
    pub workflow: String,
    pub inventory: String,
    pub workflow_path: String,
    pub inventory_path: String,
    /// SHA-256 of the workflow file's bytes at run time: tells an operator
    /// whether two runs checked the same thing.
    pub workflow_sha256: String,
    pub inventory_sha256: String,
    /// Login name of whoever ran it (`$USER`, else `$LOGNAME`).
    pub user: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: u64,
    pub verdict: String,
    pub totals: Totals,
}

impl RunMeta {
    /// Describes `report`; the hashes come from the caller, which has the
    /// files.
    pub fn new(report: &RunReport, workflow_sha256: String, inventory_sha256: String) -> Self {
        RunMeta {
            id: new_id(&report.started_at),
            workflow: report.workflow.clone(),
            inventory: report.inventory.clone(),
            workflow_path: report.workflow_path.clone(),
            inventory_path: report.inventory_path.clone(),
            workflow_sha256,
            inventory_sha256,
            user: current_user(),
            started_at: report.started_at.clone(),
            duration_ms: u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX),
            verdict: Verdict::from_totals(&report.totals).as_str().to_string(),
            totals: report.totals.clone(),
        }
    }

    /// Runs are comparable when they ran the same workflow on the same
    /// inventory (by name: edits to either file keep the lineage, the
    /// hashes say when they changed).
    pub fn same_pair(&self, workflow: &str, inventory: &str) -> bool {
        self.workflow == workflow && self.inventory == inventory
    }
}

/// Hex SHA-256 of a file, or `unknown` when it cannot be read (the run
/// already loaded it, so this only happens if it vanished meanwhile).
pub fn content_hash(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        Err(_) => "unknown".to_string(),
    }
}

/// Who is running fleet: `$USER` / `$LOGNAME`, else (cron, containers,
/// `env -i`) the passwd name of the process's uid, else `uid:N`.
pub fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(passwd_name)
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(unix)]
fn passwd_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self is owned by the process's uid; no libc call needed.
    let uid = fs::metadata("/proc/self").ok()?.uid();
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    });
    Some(name.unwrap_or_else(|| format!("uid:{uid}")))
}

#[cfg(not(unix))]
fn passwd_name() -> Option<String> {
    None
}

/// `YYYYMMDDTHHMMSS.mmmZ-salt`: sorts by start time to the millisecond, so
/// two runs in the same second still list (and `diff`) in order.
fn new_id(started_at: &str) -> String {
    let digits: String = started_at
        .chars()
        .take(23)
        .filter(char::is_ascii_digit)
        .collect();
    let millis = |d: &str| format!("{d:0<3}");
    let stamp = if digits.len() >= 14 {
        format!(
            "{}T{}.{}Z",
            &digits[..8],
            &digits[8..14],
            millis(&digits[14..digits.len().min(17)])
        )
    } else {
        "00000000T000000.000Z".to_string()
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let salt = (nanos ^ std::process::id().rotate_left(16)) & 0xffff;
    format!("{stamp}-{salt:04x}")
}

/// Runs kept per workflow/inventory pair after each run: enough for months
/// of daily runs and for `diff`/`--rerun`, bounded so hosts' output does
/// not pile up forever. `fleet history prune` removes more.
pub const DEFAULT_KEEP: usize = 100;

pub use crate::atomic::PRIVATE_DIR_MODE;

/// Which stored runs [`Store::prune`] removes. A run goes when either
/// limit says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    /// Keep the newest N runs of each workflow/inventory pair.
    pub keep: Option<usize>,
    /// Remove runs that started longer ago than this.
    pub older_than: Option<Duration>,
}

pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// `explicit` (from `--state-dir` / `FLEET_STATE_DIR`), else
    /// `$XDG_STATE_HOME/fleet`, else `~/.local/state/fleet`.
    pub fn locate(explicit: Option<&Path>) -> Result<Store, HistoryError> {
        let env_dir = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = match explicit {
            Some(d) => d.to_path_buf(),
            None => env_dir("XDG_STATE_HOME")
                .map(|d| d.join("fleet"))
                .or_else(|| env_dir("HOME").map(|h| h.join(".local/state/fleet")))
                .ok_or(HistoryError::NoStateDir)?,
        };
        Ok(Store { dir })
    }

    pub fn at(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    fn runs(&self) -> PathBuf {
        self.dir.join("runs")
    }

    /// Saves a run. The caller redacts secrets first: the store writes what
    /// it is given.
    pub fn save(&self, meta: &RunMeta, report: &RunReport) -> Result<(), HistoryError> {
        let runs = self.runs();
        private_dir(&runs)?;
        let dir = runs.join(&meta.id);
        private_dir(&dir)?;
        let write = |name: &str, body: String| {
            let path = dir.join(name);
            write_private(&path, body.as_bytes()).map_err(|source| HistoryError::Io {
                action: "write",
                path,
                source,
            })
        };
        write("report.json", report.to_json())?;
        write(
            super::trend::EXPORTS_FILE,
            super::trend::exports_json(report),
        )?;
        // Serializing plain structs with string keys cannot fail.
        write(
            "meta.json",
            serde_json::to_string_pretty(meta).expect("RunMeta serializes"),
        )
    }

    /// Every stored run, oldest first. Unreadable entries are skipped so
    /// one damaged run never hides the others.
    pub fn list(&self) -> Result<Vec<RunMeta>, HistoryError> {
        let runs = self.runs();
        let entries = match fs::read_dir(&runs) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(HistoryError::Io {
                    action: "read",
                    path: runs,
                    source,
                });
            }
        };
        let mut metas: Vec<RunMeta> = entries
            .flatten()
            .filter_map(|e| {
                let text = fs::read_to_string(e.path().join("meta.json")).ok()?;
                let meta: RunMeta = serde_json::from_str(&text).ok()?;
                // The id names the directory `report` reads and `prune`
                // removes: one that is not this directory's name (`../..`
                // in an edited file) is not a run.
                (e.file_name().to_str() == Some(meta.id.as_str())).then_some(meta)
            })
            .collect();
        metas.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(metas)
    }

    /// The newest run of a workflow/inventory pair.
    pub fn last_of(
        &self,
        workflow: &str,
        inventory: &str,
    ) -> Result<Option<RunMeta>, HistoryError> {
        Ok(self
            .list()?
            .into_iter()
            .rev()
            .find(|m| m.same_pair(workflow, inventory)))
    }

    /// Finds a run by id, unique id prefix, or `last` (the newest run).
    pub fn find(&self, selector: &str) -> Result<RunMeta, HistoryError> {
        let metas = self.list()?;
        if selector == "last" {
            return metas
                .into_iter()
                .next_back()
                .ok_or_else(|| HistoryError::UnknownRun(selector.to_string()));
        }
        if let Some(m) = metas.iter().find(|m| m.id == selector) {
            return Ok(m.clone());
        }
        let mut hits: Vec<RunMeta> = metas
            .into_iter()
            .filter(|m| m.id.starts_with(selector))
            .collect();
        match hits.len() {
            0 => Err(HistoryError::UnknownRun(selector.to_string())),
            1 => Ok(hits.remove(0)),
            _ => Err(HistoryError::Ambiguous {
                prefix: selector.to_string(),
                candidates: hits.into_iter().map(|m| m.id).collect(),
            }),
        }
    }

    /// Removes the runs `retention` rejects among those `selected` accepts,
    /// and returns them, oldest first. The newest N are counted per
    /// workflow/inventory pair; a run whose start time cannot be read is
    /// never removed for its age. Each run's `meta.json` goes first, so a
    /// run interrupted half-way through removal is already invisible.
    pub fn prune(
        &self,
        retention: Retention,
        selected: impl Fn(&RunMeta) -> bool,
        now: SystemTime,
    ) -> Result<Vec<RunMeta>, HistoryError> {
        let metas: Vec<RunMeta> = self.list()?.into_iter().filter(|m| selected(m)).collect();
        let mut newer_of_pair: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
        let mut doomed: Vec<&RunMeta> = Vec::new();
        for meta in metas.iter().rev() {
            let seen = newer_of_pair
                .entry((meta.workflow.as_str(), meta.inventory.as_str()))
                .or_default();
            let beyond_keep = retention.keep.is_some_and(|keep| *seen >= keep);
            *seen += 1;
            let too_old = retention
                .older_than
                .zip(started(meta))
                .is_some_and(|(age, start)| now.duration_since(start).is_ok_and(|d| d > age));
            if beyond_keep || too_old {
                doomed.push(meta);
            }
        }
        doomed.reverse();
        for meta in &doomed {
            let dir = self.runs().join(&meta.id);
            let io = |action, path: PathBuf| {
                move |source| HistoryError::Io {
                    action,
                    path,
                    source,
                }
            };
            fs::remove_file(dir.join("meta.json")).map_err(io("remove", dir.join("meta.json")))?;
            fs::remove_dir_all(&dir).map_err(io("remove", dir.clone()))?;
        }
        Ok(doomed.into_iter().cloned().collect())
    }

    pub fn report(&self, meta: &RunMeta) -> Result<RunReport, HistoryError> {
        self.read_report(meta)
    }

    /// A stored report read as `T`: the whole [`RunReport`], or only the
    /// part a caller needs (trends read just the exports).
    pub(super) fn read_report<T: serde::de::DeserializeOwned>(
        &self,
        meta: &RunMeta,
    ) -> Result<T, HistoryError> {
        self.read_run_file(meta, "report.json")
    }

    /// One JSON file of a stored run's directory.
    pub(super) fn read_run_file<T: serde::de::DeserializeOwned>(
        &self,
        meta: &RunMeta,
        name: &str,
    ) -> Result<T, HistoryError> {
        let path = self.runs().join(&meta.id).join(name);
        let text = fs::read_to_string(&path).map_err(|source| HistoryError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| HistoryError::Corrupt { path, source })
    }
}

/// When a run started, from its RFC 3339 `started_at`.
fn started(meta: &RunMeta) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(
        &meta.started_at,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    Some(SystemTime::from(t))
}

/// Creates `dir` (and missing parents) 0700, or tightens an existing one to
/// 0700: `runs/` and run directories are fleet's own, and older versions
/// made them 0755.
fn private_dir(dir: &Path) -> Result<(), HistoryError> {
    let io = |action| {
        move |source| HistoryError::Io {
            action,
            path: dir.to_path_buf(),
            source,
        }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
        .map_err(io("create"))?;
    let meta = fs::metadata(dir).map_err(io("read"))?;
    if meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR_MODE))
            .map_err(io("restrict"))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
