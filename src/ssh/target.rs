//! Where and how to reach one host ([`Target`]) and why it could not be
//! reached ([`ConnectError`]): the values every part of the SSH layer
//! (config, auth, jump, connect) passes around, so they sit below all of them.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::{HostKeyChecking, UnreachableKind};

/// Everything needed to reach one host (built by the planner from the
/// inventory).
#[derive(Debug, Clone)]
pub struct Target {
    /// The inventory name, for messages.
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Empty: `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`, those that exist.
    pub identity_files: Vec<PathBuf>,
    /// Empty: `~/.ssh/known_hosts`.
    pub known_hosts: Vec<PathBuf>,
    /// Read after `known_hosts`, never written: OpenSSH's
    /// `GlobalKnownHostsFile` (default [`GLOBAL_KNOWN_HOSTS`]).
    pub global_known_hosts: Vec<PathBuf>,
    /// ssh_config `RevokedHostKeys`: files of public keys refused whatever
    /// known_hosts and the policy say.
    pub revoked_host_keys: Vec<PathBuf>,
    /// ssh_config `HostKeyAlias`: the name host keys are looked up and
    /// recorded under instead of the address (and port).
    pub host_key_alias: Option<String>,
    pub connect_timeout: Duration,
    /// Unknown host keys: refuse, record, or (insecure) ignore.
    pub host_key_checking: HostKeyChecking,
    /// ServerAliveInterval; [`KEEPALIVE_MAX`] unanswered means dead.
    pub keepalive: Duration,
    /// ssh_config `IdentitiesOnly yes`: offer only agent keys that match
    /// an identity file.
    pub identities_only: bool,
    /// Jump hosts, outermost first (`ProxyJump a,b`: a then b).
    pub jump: Vec<Target>,
}

/// Why a host could not be reached. `kind` drives the report's category;
/// `message` is meant for the operator and says what to do next.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    pub kind: UnreachableKind,
    pub message: String,
}

impl ConnectError {
    pub(crate) fn new(kind: UnreachableKind, message: impl Into<String>) -> ConnectError {
        ConnectError {
            kind,
            message: message.into(),
        }
    }
}

/// OpenSSH's default `GlobalKnownHostsFile`: the system-wide files an
/// administrator fills for every user.
pub const GLOBAL_KNOWN_HOSTS: &[&str] = &["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"];

/// Sent to detect dead peers; `inactivity_timeout` is no use for that since
/// keepalive replies reset it. OpenSSH's ServerAliveCountMax default.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);
pub const KEEPALIVE_MAX: usize = 3;
