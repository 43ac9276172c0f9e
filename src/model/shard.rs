//! The shards of a run split across an engine's workers (`fleet run
//! --shard`, see `plan::shard`): which shard a host falls in, and the
//! `shard` object a partial report carries so that `fleet report merge`
//! can rebuild one run.
//!
//! A host's shard is a fixed hash of its inventory name (64-bit FNV-1a)
//! modulo the shard count, so adding or removing a host moves only that
//! host, and every worker computes the same partition without talking to
//! the others.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Shards in one run at most: far beyond any engine's parallelism, small
/// enough that a typo (`--shard 1/40000`) is caught.
pub const MAX_SHARDS: u32 = 10_000;

/// Shard `index` (1-based, as `--shard I/N` reads) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Shard `index` of `count`, if it exists (1 ≤ index ≤ count ≤
    /// [`MAX_SHARDS`]).
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (count > 0 && count <= MAX_SHARDS && index > 0 && index <= count)
            .then_some(Shard { index, count })
    }

    /// Whether `host` (an inventory name) falls in this shard.
    pub fn holds(&self, host: &str) -> bool {
        shard_of(host, self.count) == self.index
    }
}

/// The shard (1-based) a host name falls in: 64-bit FNV-1a of the name's
/// bytes modulo `count`. Fixed forever: a partial report records no
/// hash version, so changing this would split one run's parts.
pub fn shard_of(name: &str, count: u32) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = name
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    // `count` is at least 1 (checked where a Shard is made).
    u32::try_from(hash % u64::from(count.max(1))).unwrap_or(0) + 1
}

/// A host as the whole run selected it, before sharding: lets the merge
/// check that every part saw the same selection, restore one run's host
/// order, and report the hosts of a missing shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectedHost {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Every group the host is in (through parents too): fleet checks see
    /// them as `hosts[].groups`.
    pub groups: Vec<String>,
    /// Refused by the workflow's `forbid-groups`, not run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refused: bool,
}

/// What a shard's JSON report adds so that `fleet report merge` can
/// rebuild one run: the `shard` object of a partial report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardPart {
    pub index: u32,
    pub count: u32,
    /// Shared by every shard of one run.
    pub run_id: String,
    /// SHA-256 of the workflow and inventory files' bytes.
    pub workflow_sha256: String,
    pub inventory_sha256: String,
    /// The whole run's selection, in the order one run reports hosts.
    pub selected: Vec<SelectedHost>,
    /// What fleet checks see besides `hosts`: workflow variables, the
    /// inventory's defaults, `--set` values and the `local` steps'
    /// exports (secret values masked).
    pub globals: BTreeMap<String, serde_json::Value>,
}

impl ShardPart {
    pub fn shard(&self) -> Shard {
        Shard {
            index: self.index,
            count: self.count,
        }
    }
}
