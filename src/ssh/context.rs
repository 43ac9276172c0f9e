//! State shared by every host of a run, so that 1,000 hosts parse each
//! known_hosts file once, load each private key once and ask the agent for
//! its identities once.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use russh::keys::PublicKey;
use tokio::sync::OnceCell;

use super::accept::Recorder;
use super::auth::{self, LoadedKey};
use super::config::SshConfigFile;
use super::connect::Session;
use super::jump;
use super::known_hosts::{KnownHostsFile, RevokedKeys};
use super::secrets::Secrets;
use super::target::{ConnectError, Target};

/// Shared by all hosts of a run. Cheap to create; caches fill lazily on
/// first use and are safe to use from many tasks at once.
#[derive(Debug)]
pub struct SshContext {
    known_hosts: Memo<PathBuf, Arc<KnownHostsFile>>,
    revoked: Memo<PathBuf, Arc<RevokedKeys>>,
    keys: Memo<PathBuf, LoadedKey>,
    /// `SSH_AUTH_SOCK` at creation time; `None` disables agent auth.
    agent_socket: Option<PathBuf>,
    /// The agent's identities, or why they could not be listed.
    agent_keys: OnceCell<Result<Vec<PublicKey>, String>>,
    /// `$HOME`, for the default key and known_hosts paths.
    home: Option<PathBuf>,
    /// Passphrases and passwords, each asked for at most once per run.
    pub(crate) secrets: Secrets,
    /// Host keys `accept-new` recorded during this run.
    pub(crate) recorder: Arc<Recorder>,
    ssh_config: Option<Arc<SshConfigFile>>,
    /// One connection per jump host (and chain in front of it), shared by
    /// every host behind it.
    jumps: Memo<String, Result<Arc<Session>, ConnectError>>,
    /// SSH handshakes in flight at once (see [`handshake_slots`]).
    pub(crate) handshakes: tokio::sync::Semaphore,
}

/// Key exchanges in flight at once, per core. A connection's buffers and
/// task (about 100 KB in russh) exist from its handshake on; starting
/// every host's handshake at once (`--forks 10000`) made them all exist at
/// once while the handshakes queued for the CPU: 857 MB for 10,000
/// simulated hosts, 401 MB with 256 per core, for the same wall time
/// (bench/RESULTS.md, 7). The cost: a host takes ~1.3 ms of controller
/// CPU and its handshake a few round trips, so 256 per core keep the cores
/// busy up to ~100 ms round trips; beyond that a run of thousands of hosts
/// is paced by the handshakes' round trips instead of the CPU.
const HANDSHAKES_PER_CORE: usize = 256;

/// How many handshakes may be in flight at once.
pub(crate) fn handshake_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    HANDSHAKES_PER_CORE * cores
}

/// Never asks: tests and callers without a terminal.
impl Default for SshContext {
    fn default() -> Self {
        SshContext::with_prompt(None)
    }
}

impl SshContext {
    /// Secrets missing from the environment are asked of `prompt` (`None`:
    /// never asked). Reads `SSH_AUTH_SOCK` and `HOME` once, here.
    pub fn with_prompt(prompt: Option<Arc<dyn super::secrets::Prompt>>) -> SshContext {
        SshContext {
            known_hosts: Memo::default(),
            revoked: Memo::default(),
            keys: Memo::default(),
            agent_socket: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            agent_keys: OnceCell::new(),
            home: std::env::var_os("HOME")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            secrets: Secrets::from_env(prompt),
            recorder: Arc::default(),
            ssh_config: None,
            jumps: Memo::default(),
            handshakes: tokio::sync::Semaphore::new(handshake_slots()),
        }
    }

    /// Uses `socket` as the agent instead of `SSH_AUTH_SOCK` (`None`: no
    /// agent). Lets tests and callers pin authentication explicitly.
    pub fn with_agent(mut self, socket: Option<PathBuf>) -> SshContext {
        self.agent_socket = socket;
        self
    }

    /// The sudo password for `sudo` steps (`FLEET_BECOME_PASSWORD`, else one
    /// prompt per run when interactive); `None`: use `sudo -n`.
    pub async fn become_password(&self) -> Option<super::Secret> {
        self.secrets.become_password().await
    }

    /// Uses this parsed ssh_config for every host.
    pub fn with_ssh_config(mut self, config: Option<Arc<SshConfigFile>>) -> SshContext {
        self.ssh_config = config;
        self
    }

    /// The shared connection to jump host `hop`, made on first use.
    pub(crate) async fn jump_session(&self, hop: &Target) -> Result<Arc<Session>, ConnectError> {
        let key = jump::chain_key(hop);
        self.jumps
            .get_or_init(&key, || jump::connect_hop(self, hop))
            .await
    }

    pub fn ssh_config(&self) -> Option<&SshConfigFile> {
        self.ssh_config.as_deref()
    }

    pub(crate) fn agent_socket(&self) -> Option<&Path> {
        self.agent_socket.as_deref()
    }

    /// `~/.ssh/<name>`, when the home directory is known.
    pub(crate) fn home_ssh_file(&self, name: &str) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(".ssh").join(name))
    }

    /// The parsed file at `path`, read from disk at most once per context.
    pub(crate) async fn known_hosts(&self, path: &Path) -> Arc<KnownHostsFile> {
        self.known_hosts
            .get_or_init(path, || async {
                Arc::new(KnownHostsFile::load(path).await)
            })
            .await
    }

    /// The `RevokedHostKeys` file at `path`, read at most once per context.
    pub(crate) async fn revoked_keys(&self, path: &Path) -> Arc<RevokedKeys> {
        self.revoked
            .get_or_init(path, || async { Arc::new(RevokedKeys::load(path).await) })
            .await
    }

    /// The private key at `path` (and its `-cert.pub` certificate), loaded
    /// and decrypted at most once per context: one passphrase prompt per
    /// key, not per host.
    pub(crate) async fn private_key(&self, path: &Path) -> LoadedKey {
        self.keys
            .get_or_init(path, || auth::load_key(path.to_path_buf(), &self.secrets))
            .await
    }

    /// The agent's public keys, listed once per context.
    pub(crate) async fn agent_keys(&self, socket: &Path) -> Result<Vec<PublicKey>, String> {
        self.agent_keys
            .get_or_init(|| auth::list_agent_keys(socket.to_path_buf()))
            .await
            .clone()
    }
}

/// A concurrent "compute once per key" map: the first caller for a key runs
/// the initializer, later and concurrent callers wait for its result.
#[derive(Debug)]
struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    async fn get_or_init<Q, F, Fut>(&self, key: &Q, init: F) -> V
    where
        Q: ToOwned<Owned = K> + Eq + Hash + ?Sized,
        K: std::borrow::Borrow<Q>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            // A panic while holding this lock cannot leave the map
            // inconsistent (one insert), so a poisoned lock is still usable.
            let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
            match cells.get(key) {
                Some(cell) => Arc::clone(cell),
                None => {
                    let cell = Arc::new(OnceCell::new());
                    cells.insert(key.to_owned(), Arc::clone(&cell));
                    cell
                }
            }
        };
        cell.get_or_init(init).await.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn memo_runs_the_initializer_once_per_key() {
        let memo: Memo<PathBuf, usize> = Memo::default();
        let calls = AtomicUsize::new(0);
        let init = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            7
        };
        let a = Path::new("/a");
        let (x, y) = tokio::join!(memo.get_or_init(a, init), memo.get_or_init(a, init));
        assert_eq!((x, y), (7, 7));
        assert_eq!(memo.get_or_init(Path::new("/b"), init).await, 7);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
