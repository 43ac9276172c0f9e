//! Public key authentication: agent identities first, then identity files,
//! as OpenSSH does. Failures collect what was tried so the final error can
//! tell the operator exactly which keys the server refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::MethodKind;
use russh::client::{AuthResult, Handle, Handler};
use russh::keys::agent::client::AgentClient;
use russh::keys::{Algorithm, Certificate, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::{AgentAuthError, MethodSet};

use super::cert_signer::KeySigner;
use super::context::SshContext;
use super::secrets::{KEY_PASSPHRASE_ENV, Secret, Secrets};
use super::target::{ConnectError, Target};
use crate::model::UnreachableKind;

/// Key files tried, in order, when a target names none (OpenSSH's order
/// minus the legacy DSA key).
const DEFAULT_KEYS: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];

/// Bound on talking to the local agent; a wedged agent must not hang the
/// whole run.
const AGENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a key file was not used. Cloneable so the cached result can be
/// handed to every host.
#[derive(Debug, Clone)]
pub(crate) enum KeyProblem {
    Missing,
    /// Encrypted, and no passphrase was available (no environment variable,
    /// no terminal to prompt on).
    Encrypted,
    /// Encrypted, and the passphrase given did not decrypt it.
    WrongPassphrase,
    Unusable(String),
}

/// A decrypted private key and, when `<key>-cert.pub` exists beside it, the
/// OpenSSH user certificate to offer first (as OpenSSH does).
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) key: Arc<PrivateKey>,
    pub(crate) cert: Option<Certificate>,
}

pub(crate) type LoadedKey = Result<Identity, KeyProblem>;

/// Loads a private key, decrypting it with a passphrase from `secrets` when
/// it is encrypted. Parsing and decryption (RSA and bcrypt-pbkdf
/// especially) are CPU work, so they run off the async workers.
pub(crate) async fn load_key(path: PathBuf, secrets: &Secrets) -> LoadedKey {
    let key = match decode(path.clone(), None).await {
        Err(KeyProblem::Encrypted) => {
            let Some(passphrase) = secrets.key_passphrase(&path).await else {
                return Err(KeyProblem::Encrypted);
            };
            match decode(path.clone(), Some(passphrase)).await {
                Err(KeyProblem::Unusable(_) | KeyProblem::Encrypted) => {
                    return Err(KeyProblem::WrongPassphrase);
                }
                other => other?,
            }
        }
        other => other?,
    };
    let cert_path = cert_path(&path);
    let cert = match tokio::fs::read_to_string(&cert_path).await {
        Ok(text) => Certificate::from_openssh(text.trim()).ok(),
        Err(_) => None,
    };
    Ok(Identity { key, cert })
}

/// `id_ed25519` → `id_ed25519-cert.pub`, where ssh-keygen -s writes it.
fn cert_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push("-cert.pub");
    PathBuf::from(name)
}

async fn decode(path: PathBuf, passphrase: Option<Secret>) -> Result<Arc<PrivateKey>, KeyProblem> {
    let loaded = tokio::task::spawn_blocking(move || {
        russh::keys::load_secret_key(&path, passphrase.as_ref().map(Secret::expose))
    })
    .await;
    match loaded {
        Ok(Ok(key)) => Ok(Arc::new(key)),
        Ok(Err(russh::keys::Error::KeyIsEncrypted)) => Err(KeyProblem::Encrypted),
        Ok(Err(russh::keys::Error::IO(e))) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(KeyProblem::Missing)
        }
        Ok(Err(e)) => Err(KeyProblem::Unusable(e.to_string())),
        Err(e) => Err(KeyProblem::Unusable(format!(
            "key loading task failed: {e}"
        ))),
    }
}

/// Lists the agent's plain public keys (certificates are not offered yet).
pub(crate) async fn list_agent_keys(socket: PathBuf) -> Result<Vec<PublicKey>, String> {
    let list = async {
        let mut agent = AgentClient::connect_uds(&socket).await?;
        agent.request_identities().await
    };
    match tokio::time::timeout(AGENT_TIMEOUT, list).await {
        Ok(Ok(identities)) => Ok(identities
            .into_iter()
            .filter_map(|id| match id {
                russh::keys::agent::AgentIdentity::PublicKey { key, .. } => Some(key),
                russh::keys::agent::AgentIdentity::Certificate { .. } => None,
            })
            .collect()),
        Ok(Err(e)) => Err(format!("agent at {} unusable: {e}", socket.display())),
        Err(_) => Err(format!("agent at {} did not answer", socket.display())),
    }
}

/// What happened so far, for the final error message.
pub(crate) struct Attempts<'a> {
    pub(crate) user: &'a str,
    tried: Vec<String>,
    pub(crate) notes: Vec<String>,
    /// The methods the server last said it would accept.
    pub(crate) server_methods: Option<MethodSet>,
    /// The server hung up; nothing more can be tried.
    connection_lost: bool,
    /// Public keys already offered, so a file key the agent also holds is
    /// not offered twice (each offer counts against `MaxAuthTries`).
    offered: Vec<PublicKey>,
    /// `best_supported_rsa_hash`, asked at most once per connection.
    rsa_hash: Option<Option<HashAlg>>,
}

/// Why the attempt loop stopped early.
pub(crate) enum Stop {
    Success,
    Fatal(ConnectError),
    /// The server will not take more keys; report what was tried.
    GiveUp,
}

/// Authenticates `handle` as `target.user`. Every round trip is bounded by
/// the target's connect timeout.
pub(crate) async fn authenticate<H: Handler>(
    handle: &mut Handle<H>,
    ctx: &SshContext,
    target: &Target,
) -> Result<(), ConnectError> {
    let mut attempts = Attempts {
        user: &target.user,
        tried: Vec::new(),
        notes: Vec::new(),
        server_methods: None,
        offered: Vec::new(),
        rsa_hash: None,
        connection_lost: false,
    };
    let files = load_identity_files(ctx, target, &mut attempts).await;
    let outcome = match try_agent(handle, ctx, target, &files, &mut attempts).await {
        None => try_files(handle, target, files, &mut attempts).await,
        Some(stop) => Some(stop),
    };
    // OpenSSH's order: keys, then password, then keyboard-interactive.
    let outcome = match outcome {
        Some(Stop::GiveUp) | None if !attempts.connection_lost => {
            super::password::try_passwords(handle, ctx, target, &mut attempts).await
        }
        other => other,
    };
    match outcome {
        Some(Stop::Success) => Ok(()),
        Some(Stop::Fatal(e)) => Err(e),
        Some(Stop::GiveUp) | None => Err(attempts.into_error()),
    }
}

/// The target's usable key files, in order; problems become notes.
async fn load_identity_files(
    ctx: &SshContext,
    target: &Target,
    attempts: &mut Attempts<'_>,
) -> Vec<(PathBuf, Identity)> {
    let (paths, explicit) = if target.identity_files.is_empty() {
        let defaults = DEFAULT_KEYS
            .iter()
            .filter_map(|name| ctx.home_ssh_file(name));
        (defaults.collect::<Vec<_>>(), false)
    } else {
        (target.identity_files.clone(), true)
    };
    let mut keys = Vec::with_capacity(paths.len());
    for path in paths {
        match ctx.private_key(&path).await {
            Ok(key) => keys.push((path, key)),
            Err(problem) => {
                if let Some(note) = problem_note(&path, &problem, explicit) {
                    attempts.notes.push(note);
                }
            }
        }
    }
    keys
}

/// Offers the agent's keys, those matching an identity file first (as
/// OpenSSH does): servers disconnect after `MaxAuthTries` (6) failures, so
/// the key the inventory names must not queue behind unrelated agent keys.
async fn try_agent<H: Handler>(
    handle: &mut Handle<H>,
    ctx: &SshContext,
    target: &Target,
    files: &[(PathBuf, Identity)],
    attempts: &mut Attempts<'_>,
) -> Option<Stop> {
    let socket = ctx.agent_socket()?;
    let mut keys = match ctx.agent_keys(socket).await {
        Ok(keys) => keys,
        Err(note) => {
            attempts.notes.push(note);
            return None;
        }
    };
    if target.identities_only {
        keys.retain(|key| {
            files
                .iter()
                .any(|(_, file)| file.key.public_key().key_data() == key.key_data())
        });
    }
    if keys.is_empty() {
        return None;
    }
    keys.sort_by_key(|key| {
        !files
            .iter()
            .any(|(_, file)| file.key.public_key().key_data() == key.key_data())
    });
    // The signer is borrowed mutably for each attempt, so every connection
    // gets its own agent connection.
    let mut agent =
        match tokio::time::timeout(AGENT_TIMEOUT, AgentClient::connect_uds(socket)).await {
            Ok(Ok(agent)) => agent,
            Ok(Err(e)) => {
                let note = format!("agent at {} unreachable: {e}", socket.display());
                attempts.notes.push(note);
                return None;
            }
            Err(_) => {
                let note = format!("agent at {} did not answer", socket.display());
                attempts.notes.push(note);
                return None;
            }
        };
    for key in keys {
        let label = format!("agent key {}", describe_key(&key));
        let hash = attempts
            .hash_for(handle, &key, target.connect_timeout)
            .await;
        let attempt =
            handle.authenticate_publickey_with(target.user.as_str(), key.clone(), hash, &mut agent);
        let result = match tokio::time::timeout(target.connect_timeout, attempt).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(AgentAuthError::Key(e))) => {
                attempts
                    .notes
                    .push(format!("{label}: agent refused to sign: {e}"));
                continue;
            }
            Ok(Err(AgentAuthError::Send(_))) => None,
            Err(_) => return Some(Stop::Fatal(attempts.timed_out(&label, target))),
        };
        attempts.offered.push(key);
        if let Some(stop) = attempts.record(label, result) {
            return Some(stop);
        }
    }
    None
}

/// Offers the identity files the agent did not already offer.
async fn try_files<H: Handler>(
    handle: &mut Handle<H>,
    target: &Target,
    files: Vec<(PathBuf, Identity)>,
    attempts: &mut Attempts<'_>,
) -> Option<Stop> {
    for (path, identity) in files {
        if let Some(cert) = identity.cert.clone() {
            let label = format!("{} (certificate)", cert_path(&path).display());
            let hash = cert.algorithm().is_rsa().then_some(HashAlg::Sha512);
            let mut signer = KeySigner(Arc::clone(&identity.key));
            let attempt =
                handle.authenticate_certificate_with(target.user.as_str(), cert, hash, &mut signer);
            let result = match tokio::time::timeout(target.connect_timeout, attempt).await {
                Ok(result) => result.ok(),
                Err(_) => return Some(Stop::Fatal(attempts.timed_out(&label, target))),
            };
            if let Some(stop) = attempts.record(label, result) {
                return Some(stop);
            }
        }
        let key = identity.key;
        let public = key.public_key().clone();
        if attempts
            .offered
            .iter()
            .any(|k| k.key_data() == public.key_data())
        {
            continue;
        }
        let hash = attempts
            .hash_for(handle, &public, target.connect_timeout)
            .await;
        let label = path.display().to_string();
        let attempt = handle
            .authenticate_publickey(target.user.as_str(), PrivateKeyWithHashAlg::new(key, hash));
        let result = match tokio::time::timeout(target.connect_timeout, attempt).await {
            Ok(result) => result.ok(),
            Err(_) => return Some(Stop::Fatal(attempts.timed_out(&label, target))),
        };
        attempts.offered.push(public);
        if let Some(stop) = attempts.record(label, result) {
            return Some(stop);
        }
    }
    None
}

/// A missing default key is normal and not worth a note; a missing key the
/// inventory named is.
fn problem_note(path: &Path, problem: &KeyProblem, explicit: bool) -> Option<String> {
    match problem {
        KeyProblem::Missing if !explicit => None,
        KeyProblem::Missing => Some(format!("{}: no such file", path.display())),
        KeyProblem::Encrypted => Some(format!(
            "{} skipped: encrypted and no passphrase (set {KEY_PASSPHRASE_ENV}, run from a \
             terminal to be prompted, or load it into ssh-agent)",
            path.display()
        )),
        KeyProblem::WrongPassphrase => Some(format!(
            "{} skipped: the passphrase does not decrypt it",
            path.display()
        )),
        KeyProblem::Unusable(e) => Some(format!("{} unusable: {e}", path.display())),
    }
}

impl Attempts<'_> {
    /// The RSA signature hash to use: the best the server advertises in
    /// `server-sig-algs`, else SHA-512, because OpenSSH 8.8+ refuses the
    /// SHA-1 `ssh-rsa` that `None` would mean. Irrelevant for other keys.
    async fn hash_for<H: Handler>(
        &mut self,
        handle: &Handle<H>,
        key: &PublicKey,
        timeout: Duration,
    ) -> Option<HashAlg> {
        if !key.algorithm().is_rsa() {
            return None;
        }
        if let Some(hash) = self.rsa_hash {
            return hash;
        }
        let hash = match tokio::time::timeout(timeout, handle.best_supported_rsa_hash()).await {
            Ok(Ok(Some(hash))) => hash,
            _ => Some(HashAlg::Sha512),
        };
        self.rsa_hash = Some(hash);
        hash
    }

    /// Notes one attempt's result (`None`: the connection is gone); `Some`
    /// when the loop must stop.
    pub(crate) fn record(&mut self, label: String, result: Option<AuthResult>) -> Option<Stop> {
        match result {
            Some(AuthResult::Success) => Some(Stop::Success),
            Some(AuthResult::Failure {
                remaining_methods,
                partial_success,
            }) => {
                self.tried.push(label);
                if partial_success {
                    self.notes
                        .push("the server accepted it but wants a second factor".to_string());
                    self.server_methods = Some(remaining_methods);
                    return Some(Stop::GiveUp);
                }
                // An empty set is russh's "no answer": keep trying.
                let refuses_keys = !remaining_methods.is_empty()
                    && !remaining_methods.contains(&MethodKind::PublicKey);
                self.server_methods = Some(remaining_methods);
                refuses_keys.then_some(Stop::GiveUp)
            }
            // russh's error here is about its own event loop; what the
            // operator needs is that the server hung up, most often after
            // `MaxAuthTries` (6) refused keys.
            None => {
                self.tried.push(label);
                self.connection_lost = true;
                self.notes.push(format!(
                    "the server closed the connection after {} key offers \
                     (too many for its MaxAuthTries?); later keys were not tried",
                    self.tried.len()
                ));
                Some(Stop::GiveUp)
            }
        }
    }

    pub(crate) fn timed_out(&self, label: &str, target: &Target) -> ConnectError {
        ConnectError {
            kind: UnreachableKind::Timeout,
            message: format!(
                "no answer to publickey authentication ({label}) for user '{}' within {}",
                self.user,
                humantime::format_duration(target.connect_timeout)
            ),
        }
    }

    fn into_error(self) -> ConnectError {
        let mut message = if self.tried.is_empty() {
            format!("no key to offer for user '{}'", self.user)
        } else {
            format!(
                "server refused authentication for user '{}'; tried: {}",
                self.user,
                self.tried.join(", ")
            )
        };
        for note in &self.notes {
            message.push_str("; ");
            message.push_str(note);
        }
        if let Some(methods) = self.server_methods.filter(|m| !m.is_empty()) {
            let names: Vec<&str> = methods.iter().map(<&str>::from).collect();
            message.push_str(&format!("; server accepts: {}", names.join(", ")));
        }
        ConnectError {
            kind: UnreachableKind::Auth,
            message,
        }
    }
}

/// `ED25519 SHA256:...`, like `ssh-add -l`.
pub(crate) fn describe_key(key: &PublicKey) -> String {
    let kind = match key.algorithm() {
        Algorithm::Ed25519 => "ED25519".to_string(),
        Algorithm::Rsa { .. } => "RSA".to_string(),
        Algorithm::Ecdsa { .. } => "ECDSA".to_string(),
        other => other.as_str().to_string(),
    };
    format!("{kind} {}", key.fingerprint(HashAlg::Sha256))
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
