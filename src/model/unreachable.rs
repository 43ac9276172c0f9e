//! Why a host could not be reached: decided by the SSH layer, reported
//! per host, so it sits in the model below both.

use serde::{Deserialize, Serialize};

/// Why a host could not be reached; decides what the operator does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnreachableKind {
    /// TCP connection refused: sshd down or wrong port.
    Refused,
    /// No TCP connection or no SSH handshake within the connect timeout.
    Timeout,
    /// The address does not resolve.
    Dns,
    /// The host key is unknown or does not match known_hosts.
    HostKey,
    /// The server refused every authentication method offered.
    Auth,
    /// Anything else on the way to a session (reset, protocol error).
    Network,
}

impl UnreachableKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnreachableKind::Refused => "connection refused",
            UnreachableKind::Timeout => "connect timeout",
            UnreachableKind::Dns => "name resolution failed",
            UnreachableKind::HostKey => "host key verification failed",
            UnreachableKind::Auth => "authentication failed",
            UnreachableKind::Network => "network error",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unreachable {
    pub kind: UnreachableKind,
    /// The full reason, e.g. which known_hosts line or which keys were tried.
    pub message: String,
}
