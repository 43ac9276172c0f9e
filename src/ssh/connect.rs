//! Reaching a host: resolve, TCP connect, SSH handshake with a strict host
//! key check, authenticate. russh bounds none of these steps, so each one
//! runs under the target's connect timeout here.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::Algorithm;
use russh::{Disconnect, Preferred};
use tokio::net::TcpStream;

use super::accept;
use super::auth;
use super::context::SshContext;
use super::exec;
use super::host_key_check::HostKeyCheck;
use super::jump;
use super::known_hosts::{self, KnownHostsFile, RevokedKeys};
use super::secrets::Secret;
use super::target::{ConnectError, DEFAULT_KEEPALIVE, KEEPALIVE_MAX, Target};
use crate::model::output::ExecOutput;
use crate::model::{SessionMode, UnreachableKind};

/// How long [`Session::close`] waits to say goodbye.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// One authenticated connection. Each [`Session::exec`] opens its own
/// channel; OpenSSH allows 10 concurrent channels per connection by default.
pub struct Session {
    handle: Handle<HostKeyCheck>,
    /// For `sudo` steps; `None`: `sudo -n`.
    become_password: Option<Secret>,
    /// The shared session's driver channel (see [`super::session`]).
    driver: tokio::sync::Mutex<super::session::Slot>,
    /// `PerStep`: [`Session::exec_shared`] always declines.
    mode: SessionMode,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("closed", &self.handle.is_closed())
            .finish()
    }
}

impl Session {
    /// TCP connect, handshake, strict host key check and publickey
    /// authentication (agent keys, then identity files). Each phase is
    /// bounded by `target.connect_timeout`.
    pub async fn connect(ctx: &SshContext, target: &Target) -> Result<Session, ConnectError> {
        let mut retries = 0;
        let mut handle = loop {
            match handshake(ctx, target).await {
                Ok(handle) => break handle,
                Err((_, true)) if retries < CONNECT_RETRIES => {
                    retries += 1;
                    tokio::time::sleep(backoff(retries)).await;
                }
                Err((e, _)) => return Err(e),
            }
        };
        auth::authenticate(&mut handle, ctx, target).await?;
        Ok(Session {
            handle,
            become_password: None,
            driver: Default::default(),
            mode: SessionMode::default(),
        })
    }

    pub(crate) fn handle(&self) -> &Handle<HostKeyCheck> {
        &self.handle
    }

    /// Runs `command` on a new channel, on a pseudo-terminal when `tty`.
    /// See [`ExecOutput`] for what comes back; this never fails outright,
    /// since partial output matters.
    pub async fn exec(
        &self,
        command: &str,
        tty: bool,
        timeout: Duration,
        cap: usize,
    ) -> ExecOutput {
        exec::run(&self.handle, command, exec::Mode::Plain, tty, timeout, cap).await
    }

    /// Sets the password `sudo` steps answer sudo's prompt with.
    pub fn with_become_password(mut self, password: Option<Secret>) -> Session {
        self.become_password = password;
        self
    }

    /// Runs `command` as root: `sudo -n` without a become password, else
    /// `sudo -S` answering sudo's prompt, and only that prompt, with the
    /// password over the channel. The password never appears in the
    /// command line or in the returned output.
    pub async fn exec_sudo(
        &self,
        command: &str,
        tty: bool,
        timeout: Duration,
        cap: usize,
    ) -> ExecOutput {
        match &self.become_password {
            None => {
                let mode = exec::Mode::SudoNoPassword;
                exec::run(&self.handle, command, mode, tty, timeout, cap).await
            }
            Some(password) => {
                let mode = exec::Mode::Sudo {
                    password: password.expose(),
                };
                let mut out = exec::run(&self.handle, command, mode, tty, timeout, cap).await;
                exec::scrub_sudo(&mut out, password.expose());
                out
            }
        }
    }

    /// How [`Session::exec_shared`] may run steps: inventory `session`.
    pub fn with_session_mode(mut self, mode: SessionMode) -> Session {
        self.mode = mode;
        self
    }

    /// Runs `command` through the host's one long-lived session channel
    /// (see [`super::session`]): as the login user, or with `sudo` as
    /// `sudo -n`. `None`: this step needs a channel of its own — a `sudo`
    /// step with a become password (sudo's prompt is answered on the
    /// command's stdin), a host without a POSIX `sh`, a command that cannot
    /// be framed, a host set to `session "per-step"` — and nothing of it
    /// ran: call [`Session::exec`] or [`Session::exec_sudo`].
    pub async fn exec_shared(
        &self,
        command: &str,
        sudo: bool,
        timeout: Duration,
        cap: usize,
    ) -> Option<ExecOutput> {
        if self.mode == SessionMode::PerStep {
            return None;
        }
        let (command, kind) = match (sudo, &self.become_password) {
            (true, Some(_)) => return None,
            (true, None) => (
                exec::sudo_relay(command, timeout),
                super::driver::Kind::Shell,
            ),
            (false, _) if exec::is_plain_command(command) => {
                (command.to_string(), super::driver::Kind::Plain)
            }
            (false, _) => (command.to_string(), super::driver::Kind::Shell),
        };
        super::session::run_in(&self.handle, &self.driver, &command, kind, timeout, cap).await
    }

    /// True once the connection is gone (peer hung up, keepalives
    /// unanswered); every later `exec` would fail, so callers can stop early.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Polite disconnect, bounded so a dead peer cannot stall shutdown.
    pub async fn close(self) {
        let bye = self.handle.disconnect(Disconnect::ByApplication, "", "en");
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, bye).await;
    }
}

/// Extra attempts after a transient failure (a reset or a server hanging up
/// before its banner, e.g. a `MaxStartups` drop). A refused port or a
/// timeout is reported at once.
const CONNECT_RETRIES: u32 = 2;

/// 250 ms, 500 ms, … plus up to 250 ms of jitter so that hosts dropped
/// together do not come back together.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt.saturating_sub(1));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    base + Duration::from_millis(u64::from(nanos % 250))
}

/// One attempt at stream + handshake + host key check; the flag says
/// whether the failure is worth retrying.
async fn handshake(
    ctx: &SshContext,
    target: &Target,
) -> Result<Handle<HostKeyCheck>, (ConnectError, bool)> {
    let timeout = target.connect_timeout;
    let known_hosts = load_known_hosts(ctx, target).await;
    let lookup = lookup_name(target);
    let revoked = match load_revoked(ctx, target).await {
        Ok(revoked) => revoked,
        Err(message) => return Err((ConnectError::new(UnreachableKind::HostKey, message), false)),
    };
    let mut config = client_config(&known_hosts, &lookup);
    config.keepalive_interval = Some(target.keepalive);
    let config = Arc::new(config);

    // A direct host waits for its slot before its TCP connection, so no
    // connection idles in a queue; a host behind a jump host waits after
    // its tunnel opened, because opening it may need the jump host's own
    // handshake (a slot taken first could wait for itself).
    let direct = target.jump.is_empty();
    let mut slot = match direct {
        true => ctx.handshakes.acquire().await.ok(),
        false => None,
    };
    let stream = match jump::open(ctx, target).await {
        Ok(stream) => stream,
        Err(e) => {
            let transient = e.kind == UnreachableKind::Network && direct;
            return Err((e, transient));
        }
    };
    if slot.is_none() {
        slot = ctx.handshakes.acquire().await.ok();
    }
    let verdict = Arc::new(Mutex::new(None));
    let handler = HostKeyCheck {
        who: describe_target(target, &lookup),
        known_hosts,
        revoked,
        lookup,
        address: target.address.clone(),
        port: target.port,
        rejection: Arc::clone(&verdict),
        policy: target.host_key_checking,
        recorder: Arc::clone(&ctx.recorder),
        record_to: accept::target_file(&known_hosts_paths(ctx, target)).map(PathBuf::from),
    };
    let shaken =
        tokio::time::timeout(timeout, client::connect_stream(config, stream, handler)).await;
    drop(slot);
    match shaken {
        Ok(Ok(handle)) => Ok(handle),
        Ok(Err(e)) => {
            let rejection = verdict
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            Err(match rejection {
                Some(message) => (ConnectError::new(UnreachableKind::HostKey, message), false),
                None => (
                    ConnectError::new(
                        UnreachableKind::Network,
                        format!("SSH handshake with {} failed: {e}", endpoint(target)),
                    ),
                    true,
                ),
            })
        }
        Err(_) => Err((
            ConnectError::new(
                UnreachableKind::Timeout,
                format!(
                    "no SSH handshake with {} within {}",
                    endpoint(target),
                    humantime::format_duration(timeout)
                ),
            ),
            false,
        )),
    }
}

/// `[127.0.0.1]:2201`, or `web1 ([10.0.0.1]:2201)` when the inventory
/// name differs from the address.
fn describe_target(target: &Target, lookup: &str) -> String {
    if target.name.eq_ignore_ascii_case(&target.address) {
        lookup.to_string()
    } else {
        format!("{} ({lookup})", target.name)
    }
}

fn endpoint(target: &Target) -> String {
    format!("{}:{}", target.address, target.port)
}

fn known_hosts_paths(ctx: &SshContext, target: &Target) -> Vec<PathBuf> {
    if target.known_hosts.is_empty() {
        ctx.home_ssh_file("known_hosts").into_iter().collect()
    } else {
        target.known_hosts.clone()
    }
}

/// The name the host's keys are listed under: `HostKeyAlias` as given
/// (OpenSSH appends no port to it), else `host` or `[host]:port`.
fn lookup_name(target: &Target) -> String {
    match &target.host_key_alias {
        Some(alias) => alias.to_ascii_lowercase(),
        None => known_hosts::lookup_name(&target.address, target.port),
    }
}

/// The target's known_hosts files, then the global ones, from the context
/// cache.
async fn load_known_hosts(ctx: &SshContext, target: &Target) -> Vec<Arc<KnownHostsFile>> {
    let paths = known_hosts_paths(ctx, target);
    let mut files = Vec::with_capacity(paths.len() + target.global_known_hosts.len());
    for path in paths.iter().chain(&target.global_known_hosts) {
        files.push(ctx.known_hosts(path).await);
    }
    files
}

/// The keys `RevokedHostKeys` refuses. Fails closed, like OpenSSH: a file
/// that cannot be read or parsed refuses the connection.
async fn load_revoked(ctx: &SshContext, target: &Target) -> Result<Vec<Arc<RevokedKeys>>, String> {
    let mut files = Vec::with_capacity(target.revoked_host_keys.len());
    for path in &target.revoked_host_keys {
        let file = ctx.revoked_keys(path).await;
        if let Some(error) = &file.error {
            return Err(format!(
                "cannot check {}'s host key against RevokedHostKeys: {error}",
                target.name
            ));
        }
        files.push(file);
    }
    Ok(files)
}

/// russh defaults plus keepalives and no Nagle delay. The kex order is
/// russh's (ML-KEM-768+X25519, then curve25519: both fast; OpenSSH 9.2
/// picks curve25519). Host key algorithms already on record for this host
/// are moved first, as OpenSSH does, so that a host known by its ECDSA key
/// is not rejected as unknown because it also offers Ed25519.
fn client_config(known_hosts: &[Arc<KnownHostsFile>], lookup: &str) -> client::Config {
    let known = known_hosts::known_algorithms(known_hosts, lookup);
    let family = |a: &Algorithm| match a {
        Algorithm::Rsa { .. } => Algorithm::Rsa { hash: None },
        other => other.clone(),
    };
    let mut keys = Preferred::default().key.into_owned();
    keys.sort_by_key(|a| !known.contains(&family(a)));
    // Ask for a host certificate only where a CA is trusted, as OpenSSH
    // does; otherwise a server with a certificate would present it and the
    // plain key on record would never be checked.
    let certificates = if known_hosts::cert_authorities(known_hosts, lookup).is_empty() {
        Vec::new()
    } else {
        keys.clone()
    };
    client::Config {
        keepalive_interval: Some(DEFAULT_KEEPALIVE),
        keepalive_max: KEEPALIVE_MAX,
        nodelay: true,
        preferred: Preferred {
            key: Cow::Owned(keys),
            host_key_certificates: Cow::Owned(certificates),
            ..Preferred::default()
        },
        ..client::Config::default()
    }
}

/// Resolves and connects, trying each address in turn with the full connect
/// timeout each (OpenSSH's `ConnectTimeout` semantics).
pub(crate) async fn tcp_connect(target: &Target) -> Result<TcpStream, ConnectError> {
    let timeout = target.connect_timeout;
    let host = (target.address.as_str(), target.port);
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host(host)).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(e)) => {
                let message = format!("cannot resolve {}: {e}", target.address);
                return Err(ConnectError::new(UnreachableKind::Dns, message));
            }
            Err(_) => {
                let message = format!("resolving {} timed out", target.address);
                return Err(ConnectError::new(UnreachableKind::Dns, message));
            }
        };
    let mut failures = Vec::new();
    for addr in &addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // Only latency suffers if this fails; not worth failing over.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => failures.push((*addr, classify_io(&e), e.to_string())),
            Err(_) => failures.push((
                *addr,
                UnreachableKind::Timeout,
                format!(
                    "no TCP connection within {}",
                    humantime::format_duration(timeout)
                ),
            )),
        }
    }
    // Report the last failure's kind, and every address's reason when there
    // were several (a dead IPv6 route next to a refused IPv4 port matters).
    let Some((_, kind, _)) = failures.last() else {
        let message = format!("{} resolved to no address", target.address);
        return Err(ConnectError::new(UnreachableKind::Dns, message));
    };
    let details: Vec<String> = match failures.as_slice() {
        [(_, _, reason)] => vec![reason.clone()],
        _ => failures
            .iter()
            .map(|(addr, _, reason)| format!("{addr}: {reason}"))
            .collect(),
    };
    let message = format!(
        "cannot connect to {}: {}",
        endpoint(target),
        details.join("; ")
    );
    Err(ConnectError::new(*kind, message))
}

fn classify_io(e: &std::io::Error) -> UnreachableKind {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => UnreachableKind::Refused,
        std::io::ErrorKind::TimedOut => UnreachableKind::Timeout,
        _ => UnreachableKind::Network,
    }
}

#[cfg(test)]
#[path = "connect_tests.rs"]
pub(crate) mod tests;
