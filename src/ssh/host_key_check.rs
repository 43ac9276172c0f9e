//! The host key check russh calls during the handshake: the server's key
//! against known_hosts (and revoked keys), with `accept-new` recording.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use russh::client;
use russh::keys::{Algorithm, HashAlg, PublicKeyOrCertificate};

use super::accept::{Accepted, Recorder};
use super::auth::describe_key;
use super::known_hosts::{self, KnownHostsFile, RevokedKeys, Verdict};
use crate::model::HostKeyChecking;

/// The russh handler: checks the server key against known_hosts. russh is
/// not told which host it is talking to and turns a rejection into a
/// generic error, so the handler carries the lookup name and leaves its
/// explanation in `rejection` for [`Session::connect`] to report.
pub(crate) struct HostKeyCheck {
    pub(super) known_hosts: Vec<Arc<KnownHostsFile>>,
    /// `RevokedHostKeys`: refused before anything else is considered.
    pub(super) revoked: Vec<Arc<RevokedKeys>>,
    /// The known_hosts name: `host` or `[host]:port`.
    pub(super) lookup: String,
    /// How messages name the host.
    pub(super) who: String,
    pub(super) address: String,
    pub(super) port: u16,
    pub(super) rejection: Arc<Mutex<Option<String>>>,
    pub(super) policy: HostKeyChecking,
    pub(super) recorder: Arc<Recorder>,
    /// Where `accept-new` appends; `None` without a known_hosts file.
    pub(super) record_to: Option<PathBuf>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // Before the policy, as OpenSSH does: `off` does not unrevoke.
        let offered = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => vec![key.key_data()],
            // A certificate is refused when its key or its CA is revoked.
            PublicKeyOrCertificate::Certificate(cert) => {
                vec![cert.public_key(), cert.signature_key()]
            }
        };
        let revoked_by = self
            .revoked
            .iter()
            .find(|f| offered.iter().any(|k| f.contains(k)));
        if let Some(file) = revoked_by {
            *self
                .rejection
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(format!(
                "the host key offered by {} is revoked by {} (RevokedHostKeys)",
                self.who,
                file.path.display()
            ));
            return Ok(false);
        }
        if self.policy == HostKeyChecking::Off {
            return Ok(true);
        }
        let message = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                let recorded = self.recorder.recorded(&self.lookup);
                if recorded.iter().any(|k| k.key_data() == key.key_data()) {
                    return Ok(true);
                }
                let verdict = known_hosts::check(&self.known_hosts, &self.lookup, key);
                match verdict {
                    Verdict::Trusted => return Ok(true),
                    Verdict::Unknown { other_keys }
                        if self.policy == HostKeyChecking::AcceptNew && other_keys.is_empty() =>
                    {
                        match self.accept_new(key).await {
                            Ok(()) => return Ok(true),
                            Err(message) => message,
                        }
                    }
                    verdict => self.explain(key, verdict),
                }
            }
            // Negotiated only when a `@cert-authority` line matches.
            PublicKeyOrCertificate::Certificate(cert) => {
                match known_hosts::check_certificate(
                    &self.known_hosts,
                    &self.lookup,
                    &self.address,
                    cert,
                ) {
                    Ok(()) => return Ok(true),
                    Err(why) => format!("{}: {why}", self.who),
                }
            }
        };
        *self
            .rejection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message);
        Ok(false)
    }
}

impl HostKeyCheck {
    /// `accept-new` for a host with no key on record: remember and append.
    async fn accept_new(&self, key: &russh::keys::PublicKey) -> Result<(), String> {
        let Some(file) = &self.record_to else {
            return Err(format!(
                "host key for {} is unknown and there is no known_hosts file to record it in \
                 (no known-hosts setting and no home directory)",
                self.who
            ));
        };
        match self.recorder.accept(file, &self.lookup, key).await {
            Accepted::Recorded | Accepted::AlreadyRecorded => Ok(()),
            // Trusted for this run, as ssh does when it cannot write.
            Accepted::WriteFailed(_) => Ok(()),
            Accepted::Conflict => Err(format!(
                "REMOTE HOST IDENTIFICATION HAS CHANGED during this run: {} offered {}, but \
                 another connection to it in this run recorded a different {} key in {}",
                self.who,
                describe_key(key),
                key.algorithm().as_str(),
                file.display()
            )),
        }
    }

    fn explain(&self, key: &russh::keys::PublicKey, verdict: Verdict) -> String {
        let algorithm = key.algorithm();
        let fingerprint = key.fingerprint(HashAlg::Sha256);
        match verdict {
            Verdict::Trusted => String::new(),
            Verdict::Revoked(at) => format!(
                "the {} key offered by {} ({fingerprint}) is marked @revoked in {at}",
                algorithm.as_str(),
                self.who
            ),
            Verdict::Changed(at) => format!(
                "REMOTE HOST IDENTIFICATION HAS CHANGED: the {} key offered by {} \
                 ({fingerprint}) does not match {at}; someone may be intercepting the \
                 connection, or the host was reinstalled. If the change is expected, remove \
                 the old key with `ssh-keygen -R '{}' -f {}`",
                algorithm.as_str(),
                self.who,
                self.lookup,
                at.path.display()
            ),
            Verdict::Unknown { other_keys } => self.explain_unknown(key, &other_keys),
        }
    }

    fn explain_unknown(
        &self,
        key: &russh::keys::PublicKey,
        other_keys: &[(Algorithm, known_hosts::Location)],
    ) -> String {
        let files: Vec<String> = self
            .known_hosts
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        let files = if files.is_empty() {
            "known_hosts (no file configured and no home directory)".to_string()
        } else {
            files.join(", ")
        };
        let mut message = format!(
            "host key for {} not found in {files}; the server offered {}",
            self.who,
            describe_key(key)
        );
        for (algorithm, at) in other_keys {
            message.push_str(&format!(
                "; {at} has a {} key for it, which the server did not offer",
                algorithm.as_str()
            ));
        }
        for error in self
            .known_hosts
            .iter()
            .filter_map(|f| f.read_error.as_ref())
        {
            message.push_str(&format!("; {error}"));
        }
        let (host, port) = (&self.address, self.port);
        let first = self
            .known_hosts
            .first()
            .map(|f| f.path.display().to_string())
            .unwrap_or_else(|| "~/.ssh/known_hosts".to_string());
        message.push_str(&format!(
            "; after verifying the fingerprint, add it with `ssh-keyscan -p {port} {host} >> {first}` \
             or by connecting once with ssh"
        ));
        message
    }
}
