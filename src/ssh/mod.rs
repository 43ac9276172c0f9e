//! SSH transport: connect, verify the host key, authenticate, run commands.
//! Knows nothing of workflows, rules or terminals; the executor drives it.

mod auth;
mod connect;
mod exec;
mod known_hosts;

pub use connect::{ConnectError, Session, SshContext, Target};
pub use exec::{ExecEnd, ExecOutput};
