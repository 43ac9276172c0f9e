//! SSH transport: connect, verify the host key, authenticate, run commands.
//! Knows nothing of workflows, rules or terminals; the executor drives it.
//!
//! - `context`: per-run caches (known_hosts files, private keys, agent).
//! - `connect`: TCP, handshake, host key check, [`Session`].
//! - `auth`: publickey authentication with agent and key files.
//! - `known_hosts`: in-memory known_hosts matcher.
//! - `exec`: one command per channel, capped capture, timeouts.

mod auth;
mod connect;
mod context;
mod exec;
mod known_hosts;

pub use crate::output::{ExecEnd, ExecOutput};
pub use connect::{ConnectError, Session, Target};
pub use context::SshContext;
