//! SSH transport: connect, verify the host key, authenticate, run commands.
//! Knows nothing of workflows, rules or terminals; the executor drives it.
//!
//! - `context`: per-run caches (known_hosts files, private keys, agent).
//! - `target`: [`Target`] (where and how to reach a host), [`ConnectError`].
//! - `config`: ssh_config and inventory → [`Target`].
//! - `connect`: TCP, handshake, host key check, [`Session`].
//! - `auth`: publickey authentication with agent and key files.
//! - `accept`: `accept-new` host key recording.
//! - `known_hosts`: in-memory known_hosts matcher.
//! - `secrets`: passphrases and passwords from the environment or a prompt.
//! - `jump`: TCP or ProxyJump tunnels, one shared connection per jump host.
//! - `exec`: one command per channel, capped capture, timeouts.
//! - `driver`, `session`: a host's steps through one long-lived channel
//!   running a small `sh` driver.

mod accept;
mod auth;
mod cert_signer;
mod config;
mod connect;
mod context;
mod driver;
mod exec;
mod host_key_check;
mod jump;
mod known_hosts;
mod password;
mod secrets;
mod session;
mod target;

pub use crate::model::output::{ExecEnd, ExecOutput};
pub use config::{SshConfigError, SshConfigFile, target_for};
pub use connect::Session;
pub use context::SshContext;
pub use exec::sudo_n;
pub use secrets::{
    BECOME_PASSWORD_ENV, KEY_PASSPHRASE_ENV, Prompt, SSH_PASSWORD_ENV, Secret, env_secret_values,
};
pub use target::{ConnectError, DEFAULT_KEEPALIVE, KEEPALIVE_MAX, Target};
