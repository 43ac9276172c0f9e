//! Where passphrases and passwords come from: an environment variable for
//! automation, else a prompt on the controlling terminal when there is one.
//! Secrets never travel through argv, and [`Secret`]'s `Debug` hides them so
//! a stray `{:?}` cannot leak one into a log or report.

use std::sync::Arc;

use tokio::sync::{Mutex, OnceCell};

/// Decrypts encrypted private keys (the same passphrase for every key).
pub const KEY_PASSPHRASE_ENV: &str = "FLEET_KEY_PASSPHRASE";
/// Password for `password` and `keyboard-interactive` SSH authentication.
pub const SSH_PASSWORD_ENV: &str = "FLEET_SSH_PASSWORD";
/// Password for `sudo` in steps marked `sudo`.
pub const BECOME_PASSWORD_ENV: &str = "FLEET_BECOME_PASSWORD";

/// A secret string. `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct Secret(Arc<String>);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(Arc::new(value))
    }

    /// The secret itself; callers must only send it to a server or a
    /// decryption routine, never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Asks the operator for a secret the environment does not hold. Given by
/// the command line, the one layer that knows whether there is a terminal to
/// ask on; the SSH layer only decides *when* to ask. Blocking: called off the
/// async workers, one prompt at a time.
pub trait Prompt: Send + Sync + std::fmt::Debug {
    /// The answer typed at `prompt`, without echo; `None` when reading failed.
    fn ask(&self, prompt: &str) -> Option<String>;
}

/// Run-wide secret sources. Each secret is asked for at most once per run,
/// and prompts are serialised so two hosts never prompt at once.
#[derive(Debug)]
pub(crate) struct Secrets {
    key_passphrase: Option<Secret>,
    ssh_password: OnceCell<Option<Secret>>,
    ssh_password_env: Option<Secret>,
    become_password: OnceCell<Option<Secret>>,
    become_password_env: Option<Secret>,
    /// Who to ask when the environment has no value; `None`: nobody (no
    /// terminal, or CI), so the secret is simply missing.
    prompt: Option<Arc<dyn Prompt>>,
    prompt_lock: Mutex<()>,
}

/// The secrets fleet reads from its own environment, by variable name, for
/// the run's redactor: a password echoed by a host is masked like any
/// secret variable (and refused when shorter than the masking minimum).
pub fn env_secret_values() -> Vec<(&'static str, String)> {
    [KEY_PASSPHRASE_ENV, SSH_PASSWORD_ENV, BECOME_PASSWORD_ENV]
        .into_iter()
        .filter_map(|name| env_secret(name).map(|s| (name, s.expose().to_owned())))
        .collect()
}

fn env_secret(name: &str) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

impl Secrets {
    pub(crate) fn from_env(prompt: Option<Arc<dyn Prompt>>) -> Secrets {
        Secrets {
            key_passphrase: env_secret(KEY_PASSPHRASE_ENV),
            ssh_password: OnceCell::new(),
            ssh_password_env: env_secret(SSH_PASSWORD_ENV),
            become_password: OnceCell::new(),
            become_password_env: env_secret(BECOME_PASSWORD_ENV),
            prompt,
            prompt_lock: Mutex::new(()),
        }
    }

    /// The passphrase for the key at `path`: the environment's, else a
    /// prompt. `None` when neither is available. The caller caches the
    /// decrypted key, so this runs once per key.
    pub(crate) async fn key_passphrase(&self, path: &std::path::Path) -> Option<Secret> {
        if let Some(secret) = &self.key_passphrase {
            return Some(secret.clone());
        }
        self.prompt(format!("Enter passphrase for key '{}': ", path.display()))
            .await
    }

    /// The SSH login password, asked once per run.
    pub(crate) async fn ssh_password(&self) -> Option<Secret> {
        self.ssh_password
            .get_or_init(|| async {
                match &self.ssh_password_env {
                    Some(s) => Some(s.clone()),
                    None => self.prompt("SSH password: ".to_string()).await,
                }
            })
            .await
            .clone()
    }

    /// The sudo password, asked once per run.
    pub(crate) async fn become_password(&self) -> Option<Secret> {
        self.become_password
            .get_or_init(|| async {
                match &self.become_password_env {
                    Some(s) => Some(s.clone()),
                    None => self.prompt("BECOME (sudo) password: ".to_string()).await,
                }
            })
            .await
            .clone()
    }

    /// Reads a line on `/dev/tty` without echo. Blocking, so it runs off
    /// the async workers, one prompt at a time.
    async fn prompt(&self, prompt: String) -> Option<Secret> {
        let asker = self.prompt.clone()?;
        let _one_at_a_time = self.prompt_lock.lock().await;
        let read = tokio::task::spawn_blocking(move || asker.ask(&prompt)).await;
        match read {
            Ok(Some(value)) if !value.is_empty() => Some(Secret::new(value)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_the_secret() {
        let s = super::Secret::new("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
