//! Reading partial reports and checking that they are the shards of one
//! run: same run id, workflow and inventory hashes and shard count, the
//! same host selection, each shard at most once and holding exactly its
//! own hosts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::report::RunReport;
use crate::model::shard::{Shard, ShardPart};

/// One partial report and the file it came from (named in errors).
#[derive(Debug, Clone)]
pub struct Part {
    pub path: PathBuf,
    /// The shard's report, its `shard` object taken out into `part`.
    pub(super) report: RunReport,
    pub(super) part: Box<ShardPart>,
    /// The file's bytes hashed: two files of one shard with the same
    /// content are the same part given twice, not a conflict.
    pub(super) digest: String,
}

impl Part {
    pub(super) fn shard(&self) -> &ShardPart {
        &self.part
    }

    /// The workflow's and inventory's SHA-256 the shard ran with.
    pub fn hashes(&self) -> (String, String) {
        (
            self.part.workflow_sha256.clone(),
            self.part.inventory_sha256.clone(),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a fleet JSON report: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{} is not a partial report: it has no `shard` object (write one with `fleet run --shard I/N --report json=PATH`)",
        path.display()
    )]
    NotAPart { path: PathBuf },
    #[error("no partial reports given")]
    NoParts,
    #[error(
        "the parts are not of one run: {what} is `{first}` in {} but `{second}` in {}",
        first_path.display(),
        second_path.display()
    )]
    Mismatch {
        what: &'static str,
        first: String,
        first_path: PathBuf,
        second: String,
        second_path: PathBuf,
    },
    #[error("shard {shard} given twice with different results: {} and {}", first.display(), second.display())]
    Duplicate {
        shard: Shard,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{}: {detail}", path.display())]
    Hosts { path: PathBuf, detail: String },
    #[error(
        "missing {}: {hosts} host(s) not reported; merge every shard, or pass --allow-missing to report those hosts SKIPPED",
        describe_missing(missing)
    )]
    Missing { missing: Vec<Shard>, hosts: usize },
    #[error(
        "fleet checks need the workflow the shards ran: {}{detail}",
        path.display()
    )]
    Workflow { path: PathBuf, detail: String },
    #[error(transparent)]
    Load(#[from] crate::load::LoadErrors),
}

pub(super) fn describe_missing(missing: &[Shard]) -> String {
    let names: Vec<String> = missing.iter().map(Shard::to_string).collect();
    match names.as_slice() {
        [one] => format!("shard {one}"),
        _ => format!("shards {}", names.join(", ")),
    }
}

/// Reads one partial report.
pub fn read_part(path: &Path) -> Result<Part, MergeError> {
    let bytes = std::fs::read(path).map_err(|source| MergeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut report: RunReport =
        serde_json::from_slice(&bytes).map_err(|source| MergeError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    let Some(part) = report.shard.take() else {
        return Err(MergeError::NotAPart {
            path: path.to_path_buf(),
        });
    };
    use sha2::Digest;
    let digest = data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(&bytes));
    Ok(Part {
        path: path.to_path_buf(),
        report,
        part,
        digest,
    })
}

/// The parts of one run, one per shard, by shard index; and the shards
/// none of them is.
pub(super) struct Checked {
    pub parts: Vec<Part>,
    pub missing: Vec<Shard>,
}

/// Checks that `parts` are shards of one run and each holds exactly its
/// own hosts. Order-independent: the result is sorted by shard.
pub(super) fn check(mut parts: Vec<Part>) -> Result<Checked, MergeError> {
    parts.sort_by(|a, b| {
        (a.shard().index, &a.digest, &a.path).cmp(&(b.shard().index, &b.digest, &b.path))
    });
    let first = parts.first().ok_or(MergeError::NoParts)?;
    type Field = fn(&Part) -> String;
    let same: [(&'static str, Field); 6] = [
        ("the run id", |p| p.shard().run_id.clone()),
        ("the workflow's SHA-256", |p| {
            p.shard().workflow_sha256.clone()
        }),
        ("the inventory's SHA-256", |p| {
            p.shard().inventory_sha256.clone()
        }),
        ("the shard count", |p| p.shard().count.to_string()),
        ("the workflow", |p| p.report.workflow.clone()),
        ("the inventory", |p| p.report.inventory.clone()),
    ];
    for part in &parts[1..] {
        for (what, get) in &same {
            let (a, b) = (get(first), get(part));
            if a != b {
                return Err(MergeError::Mismatch {
                    what,
                    first: a,
                    first_path: first.path.clone(),
                    second: b,
                    second_path: part.path.clone(),
                });
            }
        }
        if part.shard().selected != first.shard().selected {
            return Err(MergeError::Mismatch {
                what: "the selection of hosts (--limit, inventory)",
                first: format!("{} hosts", first.shard().selected.len()),
                first_path: first.path.clone(),
                second: format!("{} hosts", part.shard().selected.len()),
                second_path: part.path.clone(),
            });
        }
    }
    // The same shard twice: identical files are one part; else refused.
    let mut unique: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts {
        match unique.last() {
            Some(last) if last.shard().index == part.shard().index => {
                if last.digest != part.digest {
                    return Err(MergeError::Duplicate {
                        shard: part.shard().shard(),
                        first: last.path.clone(),
                        second: part.path,
                    });
                }
            }
            _ => unique.push(part),
        }
    }
    for part in &unique {
        check_hosts(part)?;
    }
    let count = unique[0].shard().count;
    let missing = (1..=count)
        .filter(|i| !unique.iter().any(|p| p.shard().index == *i))
        .map(|index| Shard { index, count })
        .collect();
    Ok(Checked {
        parts: unique,
        missing,
    })
}

/// A part holds exactly the selected hosts that fall in its shard, each
/// once: a part from another partition (another fleet version, another
/// selection) would otherwise lose or double hosts silently.
fn check_hosts(part: &Part) -> Result<(), MergeError> {
    let shard = part.shard().shard();
    let mut expected: BTreeMap<&str, bool> = part
        .shard()
        .selected
        .iter()
        .filter(|h| shard.holds(&h.name))
        .map(|h| (h.name.as_str(), false))
        .collect();
    let problem = |detail: String| MergeError::Hosts {
        path: part.path.clone(),
        detail,
    };
    for host in &part.report.hosts {
        match expected.get_mut(host.name.as_str()) {
            None => {
                return Err(problem(format!(
                    "host `{}` is not one of shard {shard}'s selected hosts",
                    host.name
                )));
            }
            Some(true) => {
                return Err(problem(format!("host `{}` is reported twice", host.name)));
            }
            Some(seen) => *seen = true,
        }
    }
    let absent: Vec<&str> = expected
        .iter()
        .filter(|(_, seen)| !**seen)
        .map(|(name, _)| *name)
        .collect();
    if !absent.is_empty() {
        return Err(problem(format!(
            "shard {shard} does not report {} of its hosts: {}",
            absent.len(),
            absent.join(", ")
        )));
    }
    Ok(())
}
