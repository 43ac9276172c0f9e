//! Reaching a host's SSH port: directly over TCP, or through a chain of
//! jump hosts (`ProxyJump`) as a `direct-tcpip` channel. Every host behind
//! the same jump host shares ONE connection to it (tunnels do not count
//! against the jump sshd's `MaxSessions`, and one connection avoids its
//! `MaxStartups` drops); each hop is bounded by its own connect timeout.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use super::connect::Session;
use super::context::SshContext;
use super::target::{ConnectError, Target};
use crate::model::UnreachableKind;

/// Any byte stream russh can run SSH over.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

pub(crate) type Stream = Box<dyn Transport>;

/// Identifies one jump connection: the hop and the chain in front of it,
/// each with everything that decides whether its host key is trusted
/// (policy, known_hosts files, revoked keys, alias) and how it logs in.
/// Hosts share a bastion connection only when they would have verified it
/// the same way: a host with `host-key-checking "off"` cannot hand strict
/// hosts a bastion nobody checked.
pub(crate) fn chain_key(hop: &Target) -> String {
    let mut key = String::new();
    for t in hop.jump.iter().chain(std::iter::once(hop)) {
        if !key.is_empty() {
            key.push('>');
        }
        key.push_str(&format!(
            "{}@{}:{} policy={:?} known_hosts={:?} global={:?} revoked={:?} alias={:?} keys={:?} only={}",
            t.user,
            t.address,
            t.port,
            t.host_key_checking,
            t.known_hosts,
            t.global_known_hosts,
            t.revoked_host_keys,
            t.host_key_alias,
            t.identity_files,
            t.identities_only,
        ));
    }
    key
}

/// The last hop of `target.jump`, with the hops before it as its own chain
/// (or, for a single hop, whatever chain that hop has itself).
fn last_hop(target: &Target) -> Option<Target> {
    let (last, before) = target.jump.split_last()?;
    let mut hop = last.clone();
    if !before.is_empty() {
        hop.jump = before.to_vec();
    }
    Some(hop)
}

/// Read buffer in front of a TCP connection. russh reads each packet with
/// two exact reads (its first cipher block, then the rest): unbuffered
/// that is two `recvfrom` calls per packet, and system calls were the
/// largest share of a 5,000-host run's CPU (bench/RESULTS.md, 7). Reads
/// larger than the buffer bypass it, so one page per host is enough.
const READ_BUFFER: usize = 4096;

/// Opens the stream to `target`'s SSH port.
pub(crate) async fn open(ctx: &SshContext, target: &Target) -> Result<Stream, ConnectError> {
    let Some(hop) = last_hop(target) else {
        return super::connect::tcp_connect(target)
            .await
            .map(|s| Box::new(tokio::io::BufReader::with_capacity(READ_BUFFER, s)) as Stream);
    };
    let session = ctx.jump_session(&hop).await.map_err(|e| ConnectError {
        kind: e.kind,
        message: format!("via jump host {}: {}", hop.name, e.message),
    })?;
    let open = session.handle().channel_open_direct_tcpip(
        target.address.clone(),
        u32::from(target.port),
        "127.0.0.1",
        0,
    );
    match tokio::time::timeout(target.connect_timeout, open).await {
        Ok(Ok(channel)) => Ok(Box::new(channel.into_stream())),
        Ok(Err(e)) => Err(ConnectError {
            kind: UnreachableKind::Network,
            message: format!(
                "jump host {} could not open a connection to {}:{}: {e}",
                hop.name, target.address, target.port
            ),
        }),
        Err(_) => Err(ConnectError {
            kind: UnreachableKind::Timeout,
            message: format!(
                "jump host {} did not connect to {}:{} within {}",
                hop.name,
                target.address,
                target.port,
                humantime::format_duration(target.connect_timeout)
            ),
        }),
    }
}

/// Connects a jump host (itself possibly behind jumps). Boxed: the future
/// recurses through [`Session::connect`].
pub(crate) fn connect_hop<'a>(
    ctx: &'a SshContext,
    hop: &'a Target,
) -> std::pin::Pin<Box<dyn Future<Output = Result<Arc<Session>, ConnectError>> + Send + 'a>> {
    Box::pin(async move { Session::connect(ctx, hop).await.map(Arc::new) })
}

#[cfg(test)]
mod tests {
    use super::chain_key;
    use crate::model::HostKeyChecking;
    use crate::ssh::Target;
    use std::path::PathBuf;

    fn bastion() -> Target {
        let mut t = crate::ssh::connect::tests::target("bastion", "10.0.0.1");
        t.user = "ops".into();
        t.known_hosts = vec![PathBuf::from("/kh")];
        t
    }

    /// Two hosts share a bastion connection only when they would have
    /// verified it alike.
    #[test]
    fn verification_settings_split_jump_connections() {
        let strict = bastion();
        assert_eq!(chain_key(&strict), chain_key(&bastion()));
        let mut off = bastion();
        off.host_key_checking = HostKeyChecking::Off;
        let mut other_file = bastion();
        other_file.known_hosts = vec![PathBuf::from("/other")];
        let mut revoked = bastion();
        revoked.revoked_host_keys = vec![PathBuf::from("/revoked")];
        let mut alias = bastion();
        alias.host_key_alias = Some("b".into());
        let mut global = bastion();
        global.global_known_hosts = vec![PathBuf::from("/etc/ssh/ssh_known_hosts")];
        for different in [off, other_file, revoked, alias, global] {
            assert_ne!(chain_key(&strict), chain_key(&different));
        }
        // ...and so does anything in front of the hop.
        let mut behind_off = bastion();
        let mut front = bastion();
        front.host_key_checking = HostKeyChecking::Off;
        behind_off.jump = vec![front];
        let mut behind_strict = bastion();
        behind_strict.jump = vec![bastion()];
        assert_ne!(chain_key(&behind_off), chain_key(&behind_strict));
    }
}
