//! An inventory: the hosts a workflow can run on, their groups, and how to
//! reach them. Loading resolves defaults, group and host settings into one
//! flat `Host` each, so nothing downstream walks the group tree again.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{SourceFile, Span, Vars};

/// Connect timeout when the inventory sets none.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Inventory {
    pub name: String,
    pub source: Arc<SourceFile>,
    /// Every group, in order of first mention.
    pub groups: Vec<GroupInfo>,
    /// `defaults { vars { … } }`: shared by every host, so also visible to
    /// the controller's `local` steps and to fleet checks.
    pub defaults_vars: Vars,
    /// Names of variables marked `secret=#true` anywhere in the file.
    pub secret_vars: std::collections::BTreeSet<String>,
    /// Every host, in declaration order.
    pub hosts: Vec<Host>,
    /// Groups named by `protect` (Ansible: a group var `fleet_protect:
    /// true`). Any `fleet run` or `fleet exec` touching one of their hosts,
    /// or a host at the same address and port, needs typed confirmation
    /// or `--yes` (see `plan::guard`).
    pub protected: Vec<super::Spanned<String>>,
    /// The inventory's `waivers` block (see docs/waivers.md).
    pub waivers: Vec<super::Waiver>,
}

#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub name: String,
    pub span: Span,
    /// Direct parents: groups form a graph, and a host is in every
    /// ancestor of its groups (see `Host::groups`).
    pub parents: Vec<String>,
}

/// Connection settings as written at one level (defaults, a group, a host);
/// `None` / empty means "inherit".
#[derive(Debug, Clone, Default)]
pub struct HostSettings {
    pub port: Option<u16>,
    pub user: Option<String>,
    /// Resolved relative to the inventory file's directory, `~` expanded.
    pub identity_files: Vec<PathBuf>,
    pub known_hosts: Vec<PathBuf>,
    pub connect_timeout: Option<Duration>,
    /// `host-key-checking "strict"|"accept-new"|"off"`.
    pub host_key_checking: Option<HostKeyChecking>,
    /// `jump "user@host:port"` or `jump "bastion"` (another inventory
    /// host); several hops comma-separated, as in `ssh -J`.
    pub jump: Option<String>,
    /// `keepalive "15s"`: ServerAliveInterval; three unanswered → dead.
    pub keepalive: Option<Duration>,
}

/// What to do with a host key that is not in known_hosts. A changed or
/// revoked key is refused under every policy except `Off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyChecking {
    /// Refuse unknown keys (OpenSSH `StrictHostKeyChecking yes`).
    Strict,
    /// Record unknown keys in the first known_hosts file, refuse changed
    /// ones (OpenSSH `accept-new`).
    AcceptNew,
    /// Accept any key. Insecure: warned about on every run.
    Off,
}

/// A host with every inherited setting resolved.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub span: Span,
    /// DNS name or IP; defaults to `name`.
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Key files to offer, in order, after the agent's keys. Empty means
    /// OpenSSH's defaults (`~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`).
    pub identity_files: Vec<PathBuf>,
    /// known_hosts files to check host keys against. Empty means
    /// `~/.ssh/known_hosts`.
    pub known_hosts: Vec<PathBuf>,
    pub connect_timeout: Duration,
    /// Every group the host belongs to, every ancestor of each included
    /// (whatever the path), outer groups first. Guards (`forbid-groups`,
    /// `protect`) rely on this being complete.
    pub groups: Vec<String>,
    /// Merged: defaults < groups (outer to inner, declaration order) < host.
    pub vars: Vars,
    /// Inventory hosts named as hops by this host's `jump` chain (and by
    /// theirs), so a jump host need not be selected by `--limit`.
    pub jump_hosts: Vec<Host>,
    /// What the inventory set explicitly (most specific level wins), before
    /// built-in defaults: lets `~/.ssh/config` fill only what is unset.
    pub explicit: HostSettings,
}
