//! Test harness: a fleet of real OpenSSH servers on 127.0.0.1.
//!
//! ```ignore
//! let hosts = Hosts::start(3);                 // host-1..host-3, each its own sshd
//! let inv = hosts.write_inventory("inventory.kdl");
//! hosts.host("host-2").stop();                 // now refuses connections
//! ```
//!
//! Every `Hosts` owns a private temp dir (keys, configs, logs, inventory) and
//! its own ports, so tests can run in parallel (nextest runs each test in its
//! own process). Dropping the `Hosts` kills every sshd it started together
//! with their children; a watchdog process also kills them (and removes the
//! temp dir) if the test process dies without unwinding, e.g. a nextest
//! timeout's SIGKILL.
//!
//! Remote commands run through the login shell of the current user. For root
//! on the dev/CI machines that is bash, which sources `~/.bashrc` for every
//! command sshd starts, and root's runs `pyenv init` and so `pyenv rehash`:
//! ~0.1 s per command, and concurrent rehashes race for one lock file and
//! print their failures (`pyenv: cannot rehash: …`) on the command's stderr,
//! which made tests that read stderr fail at random. The harness's sshd
//! therefore sets `SHLVL=1`: bash sources `~/.bashrc` for sshd only when it
//! is a top-level shell (SHLVL below 2), so commands still run through the
//! real login shell, without the machine's rc file.
//!
//! Starting a host costs ~35 ms (key generation included).
//!
//! Only std and `tempfile`; keys are made by shelling out to `ssh-keygen`.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where sshd lives on Debian.
pub const SSHD: &str = "/usr/sbin/sshd";
/// The address every host listens on.
pub const ADDRESS: &str = "127.0.0.1";
/// How long a freshly started sshd may take to send its banner.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How many fresh ports to try when sshd cannot bind the one it was given.
const PORT_ATTEMPTS: usize = 5;

// Signals, through the libc that std already links (no extra crate).
const SIGKILL: i32 = 9;
const SIGCONT: i32 = 18;
const SIGSTOP: i32 = 19;
unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        kill(pid as i32, sig);
    }
}

/// A set of running sshd "hosts" plus the client key and known_hosts that
/// reach them.
pub struct Hosts {
    hosts: Vec<SshHost>,
    client_key: PathBuf,
    known_hosts: PathBuf,
    user: String,
    /// Kills the sshds if this process dies without running `Drop`.
    watchdog: Option<(Child, ChildStdin)>,
    // Last: removed after everything above has been dropped.
    dir: tempfile::TempDir,
}

/// Configures a [`Hosts`] before starting it.
#[derive(Debug, Default)]
pub struct HostsBuilder {
    /// (name, live?) in order.
    hosts: Vec<(String, bool)>,
    /// sshd_config lines for every host, written before the harness's own
    /// (sshd keeps the first value of most keywords, so these win).
    sshd_options: Vec<String>,
}

impl HostsBuilder {
    /// Adds live hosts `host-1..host-n` (numbering continues after any
    /// earlier `hosts` call).
    pub fn hosts(mut self, n: usize) -> Self {
        let start = self
            .hosts
            .iter()
            .filter(|(name, _)| name.starts_with("host-"))
            .count();
        for i in 1..=n {
            self.hosts.push((format!("host-{}", start + i), true));
        }
        self
    }

    /// Adds one live host with the given name.
    pub fn host(mut self, name: &str) -> Self {
        self.hosts.push((name.to_string(), true));
        self
    }

    /// Adds a host whose port has nothing listening (connections are refused).
    /// It is in `hosts()` and the inventory like any other host.
    pub fn refusing(mut self, name: &str) -> Self {
        self.hosts.push((name.to_string(), false));
        self
    }

    /// Adds an sshd_config line (`PasswordAuthentication yes`) to every
    /// host; it takes precedence over the harness's defaults.
    pub fn sshd_option(mut self, line: &str) -> Self {
        self.sshd_options.push(line.to_string());
        self
    }

    pub fn build(self) -> Hosts {
        Hosts::launch(self.hosts, self.sshd_options)
    }
}

impl Hosts {
    /// Starts `n` hosts named `host-1..host-n`.
    pub fn start(n: usize) -> Hosts {
        Hosts::builder().hosts(n).build()
    }

    pub fn builder() -> HostsBuilder {
        HostsBuilder::default()
    }

    fn launch(specs: Vec<(String, bool)>, sshd_options: Vec<String>) -> Hosts {
        check_sshd();
        for (i, (name, _)) in specs.iter().enumerate() {
            assert!(
                !specs[..i].iter().any(|(other, _)| other == name),
                "harness: host name {name:?} given twice"
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("fleet-it-")
            .tempdir()
            .expect("harness: create temp dir");
        let root = dir.path().to_path_buf();
        let user = current_user();

        let client_key = root.join("client_key");
        keygen(&client_key, "fleet-test-client");
        let authorized_keys = root.join("authorized_keys");
        std::fs::copy(root.join("client_key.pub"), &authorized_keys)
            .expect("harness: write authorized_keys");

        let watchdog = spawn_watchdog(&root);

        let mut hosts = Vec::with_capacity(specs.len());
        for (name, live) in specs {
            let host_dir = root.join(&name);
            std::fs::create_dir_all(&host_dir).expect("harness: create host dir");
            let host = SshHost {
                name,
                port: 0,
                live,
                dir: host_dir.clone(),
                config: host_dir.join("sshd_config"),
                host_key: host_dir.join("ssh_host_ed25519_key"),
                log: host_dir.join("sshd.log"),
                authorized_keys: authorized_keys.clone(),
                extra_config: sshd_options.iter().map(|l| format!("{l}\n")).collect(),
                added_config: Mutex::new(String::new()),
                child: Mutex::new(None),
            };
            hosts.push(host);
        }
        // Keys first, then servers: keeps the window between picking a port
        // and sshd binding it short.
        for host in &mut hosts {
            if host.live {
                keygen(&host.host_key, &format!("fleet-test-{}", host.name));
            }
        }
        let mut fleet = Hosts {
            hosts: Vec::new(),
            client_key,
            known_hosts: root.join("known_hosts"),
            user,
            watchdog,
            dir,
        };
        for mut host in hosts {
            if host.live {
                host.launch_on_fresh_port();
            } else {
                host.port = free_port();
            }
            // Pushed at once so Drop covers it if a later host panics.
            fleet.hosts.push(host);
        }
        fleet.write_known_hosts();
        fleet
    }

    fn write_known_hosts(&self) {
        let mut text = String::new();
        for host in self.hosts.iter().filter(|h| h.live) {
            let public = std::fs::read_to_string(host.host_key.with_extension("pub"))
                .expect("harness: read host public key");
            let mut fields = public.split_whitespace();
            let (kind, key) = (fields.next().unwrap(), fields.next().unwrap());
            writeln!(text, "[{ADDRESS}]:{} {kind} {key}", host.port).unwrap();
        }
        std::fs::write(&self.known_hosts, text).expect("harness: write known_hosts");
    }

    /// The temp dir holding keys, configs, logs and written files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn hosts(&self) -> &[SshHost] {
        &self.hosts
    }

    /// The host with this name; panics if there is none.
    pub fn host(&self, name: &str) -> &SshHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| {
                let names: Vec<&str> = self.hosts.iter().map(|h| h.name.as_str()).collect();
                panic!("harness: no host {name:?} in fleet {names:?}")
            })
    }

    /// Appends the public key at `public` to the `authorized_keys` every
    /// host reads (sshd rereads it on each login).
    pub fn authorize(&self, public: &Path) {
        let key = std::fs::read_to_string(public)
            .unwrap_or_else(|e| panic!("harness: read {}: {e}", public.display()));
        let path = self.dir().join("authorized_keys");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("harness: open {}: {e}", path.display()));
        file.write_all(key.as_bytes())
            .unwrap_or_else(|e| panic!("harness: append {}: {e}", path.display()));
    }

    /// Ed25519 private key (no passphrase) authorized on every host.
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }

    /// `[127.0.0.1]:PORT ssh-ed25519 ...` for every live host, as started.
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// The current user; every sshd runs as, and accepts logins for, it.
    pub fn user(&self) -> String {
        self.user.clone()
    }

    /// The inventory text (fleet's KDL): `defaults` with user, identity-file,
    /// known-hosts and a 5 s connect-timeout, and one group `all-hosts` with
    /// every host (refusing ones included) in order.
    pub fn inventory_kdl(&self) -> String {
        let mut text = String::new();
        writeln!(text, "defaults {{").unwrap();
        writeln!(text, "    user {}", kdl_quoted(&self.user)).unwrap();
        writeln!(
            text,
            "    identity-file {}",
            kdl_quoted(&self.client_key.display().to_string())
        )
        .unwrap();
        writeln!(
            text,
            "    known-hosts {}",
            kdl_quoted(&self.known_hosts.display().to_string())
        )
        .unwrap();
        writeln!(text, "    connect-timeout \"5s\"").unwrap();
        writeln!(text, "}}").unwrap();
        writeln!(text, "group all-hosts {{").unwrap();
        for host in &self.hosts {
            writeln!(
                text,
                "    host {} address={} port={}",
                kdl_string(&host.name),
                kdl_quoted(ADDRESS),
                host.port
            )
            .unwrap();
        }
        writeln!(text, "}}").unwrap();
        text
    }

    /// Writes [`Hosts::inventory_kdl`] to `dir()/name` and returns the path.
    /// [`Hosts::inventory_kdl`] logging in as `user` instead of the current
    /// user (sudo and password tests use an account of their own).
    pub fn inventory_kdl_as(&self, user: &str) -> String {
        self.inventory_kdl().replace(
            &format!("user {}", kdl_quoted(&self.user)),
            &format!("user {user}"),
        )
    }

    pub fn write_inventory(&self, name: &str) -> PathBuf {
        self.write_file(name, &self.inventory_kdl())
    }

    /// Writes `text` to `dir()/rel` (parent dirs created) and returns the path.
    pub fn write_file(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("harness: create parent dir");
        }
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("harness: write {}: {e}", path.display()));
        path
    }

    /// An OpenSSH `ssh` command to `host` running `remote`, strict host key
    /// checking against `known_hosts()`, batch mode, the client key only.
    pub fn ssh_command(&self, host: &str, remote: &str) -> Command {
        self.ssh_command_timeout(host, remote, 5)
    }

    /// [`Hosts::ssh_command`] with `ConnectTimeout` (TCP connect plus SSH
    /// handshake) of `connect_timeout_secs`.
    pub fn ssh_command_timeout(
        &self,
        host: &str,
        remote: &str,
        connect_timeout_secs: u32,
    ) -> Command {
        let host = self.host(host);
        let mut cmd = Command::new("ssh");
        cmd.args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", self.known_hosts.display()))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .arg("-o")
            .arg(format!("ConnectTimeout={connect_timeout_secs}"))
            .args(["-o", "LogLevel=ERROR", "-F", "/dev/null"])
            .arg("-i")
            .arg(&self.client_key)
            .arg("-p")
            .arg(host.port.to_string())
            .arg(format!("{}@{ADDRESS}", self.user))
            .arg(remote)
            .stdin(Stdio::null());
        cmd
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for host in &self.hosts {
            host.kill_server();
        }
        if let Some((mut child, stdin)) = self.watchdog.take() {
            // Kill before closing its stdin, so it does not run its clean-up.
            let _ = child.kill();
            let _ = child.wait();
            drop(stdin);
        }
    }
}

/// One sshd "host" on 127.0.0.1.
#[derive(Debug)]
pub struct SshHost {
    pub name: String,
    pub port: u16,
    /// false: a `refusing` host, nothing ever listens on its port.
    live: bool,
    dir: PathBuf,
    config: PathBuf,
    host_key: PathBuf,
    log: PathBuf,
    authorized_keys: PathBuf,
    /// [`HostsBuilder::sshd_option`] lines, newline-terminated.
    extra_config: String,
    /// Lines added later by [`SshHost::reconfigure`].
    added_config: Mutex<String>,
    child: Mutex<Option<Child>>,
}

impl SshHost {
    pub fn address(&self) -> &str {
        ADDRESS
    }

    /// `127.0.0.1:PORT`
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// This host's own dir (host key, sshd_config, sshd.log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// sshd's stderr (LogLevel ERROR).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The host's private key file (`….pub` beside it).
    pub fn host_key_path(&self) -> &Path {
        &self.host_key
    }

    /// Adds an sshd_config line (before all others, so it wins) and
    /// restarts sshd on the same port.
    pub fn reconfigure(&self, line: &str) {
        self.added_config
            .lock()
            .unwrap()
            .push_str(&format!("{line}\n"));
        self.kill_server();
        self.launch_on_same_port();
    }

    /// The public host key line (`ssh-ed25519 AAAA... comment`) as it is now.
    pub fn host_public_key(&self) -> String {
        std::fs::read_to_string(self.host_key.with_extension("pub"))
            .expect("harness: read host public key")
    }

    /// Whether an sshd is running (and not stopped) for this host.
    pub fn is_running(&self) -> bool {
        let mut guard = self.child.lock().unwrap();
        match guard.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// How many processes serve this host now: the listening sshd, one or
    /// more per connection, and the remote commands.
    pub fn tree_len(&self) -> usize {
        self.tree().len()
    }

    /// Pid of the listening sshd, if running.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().unwrap().as_ref().map(Child::id)
    }

    /// Kills sshd and every connection it serves; the port then refuses
    /// connections. No-op if already stopped.
    pub fn stop(&self) {
        self.kill_server();
    }

    /// Starts sshd again on the same port after `stop` (same host key).
    pub fn start(&self) {
        assert!(self.live, "harness: {} is a refusing host", self.name);
        if self.is_running() {
            return;
        }
        self.kill_server();
        self.launch_on_same_port();
    }

    /// SIGSTOPs sshd and all its children: TCP connections are still accepted
    /// by the kernel but nothing answers (no banner, no command output).
    pub fn pause(&self) {
        for pid in self.tree() {
            signal(pid, SIGSTOP);
        }
    }

    /// SIGCONTs what `pause` stopped.
    pub fn resume(&self) {
        for pid in self.tree() {
            signal(pid, SIGCONT);
        }
    }

    /// Generates a new host key and restarts sshd on the same port, so the
    /// fleet's known_hosts no longer matches this host.
    pub fn replace_host_key(&self) {
        assert!(self.live, "harness: {} is a refusing host", self.name);
        self.kill_server();
        let _ = std::fs::remove_file(&self.host_key);
        let _ = std::fs::remove_file(self.host_key.with_extension("pub"));
        keygen(
            &self.host_key,
            &format!("fleet-test-{}-replaced", self.name),
        );
        self.launch_on_same_port();
    }

    /// The listening sshd and all its descendants (live, not zombies).
    fn tree(&self) -> Vec<u32> {
        match self.pid() {
            Some(pid) => {
                let mut pids = vec![pid];
                pids.extend(descendants(pid));
                pids
            }
            None => Vec::new(),
        }
    }

    fn kill_server(&self) {
        let mut guard = self.child.lock().unwrap();
        if let Some(mut child) = guard.take() {
            let pid = child.id();
            // Children first (their parent can't fork new ones once stopped).
            signal(pid, SIGSTOP);
            for p in descendants(pid) {
                signal(p, SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(self.dir.join("harness.pid"));
        }
    }

    fn write_config(&self) {
        let config = format!(
            "\
# Written by fleet's test harness.
{added}{extra}ListenAddress {ADDRESS}:{port}
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
MaxStartups 100:30:200
MaxSessions 100
LogLevel ERROR
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
Subsystem sftp internal-sftp
# bash skips ~/.bashrc (root's runs pyenv) when not a top-level shell.
SetEnv SHLVL=1
",
            port = self.port,
            host_key = self.host_key.display(),
            pid_file = self.dir.join("sshd.pid").display(),
            authorized_keys = self.authorized_keys.display(),
            added = self.added_config.lock().unwrap(),
            extra = self.extra_config,
        );
        std::fs::write(&self.config, config).expect("harness: write sshd_config");
    }

    fn launch_on_fresh_port(&mut self) {
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            self.port = free_port();
            match self.try_launch() {
                Ok(()) => return,
                Err(e) if e.port_in_use => last = e.message,
                Err(e) => panic!("{}", e.message),
            }
        }
        panic!(
            "harness: {}: no free port after {PORT_ATTEMPTS} tries; last: {last}",
            self.name
        );
    }

    fn launch_on_same_port(&self) {
        // The old socket is closed, but give a racing process a moment.
        let mut last = String::new();
        for _ in 0..20 {
            match self.try_launch() {
                Ok(()) => return,
                Err(e) if e.port_in_use => {
                    last = e.message;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("{}", e.message),
            }
        }
        panic!(
            "harness: {}: port {} stays in use: {last}",
            self.name, self.port
        );
    }

    fn try_launch(&self) -> Result<(), LaunchError> {
        self.write_config();
        let log = std::fs::File::create(&self.log).expect("harness: create sshd log");
        let mut cmd = Command::new(SSHD);
        cmd.arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("harness: dup log"))
            .stderr(log);
        {
            use std::os::unix::process::CommandExt;
            // Own process group: a Ctrl-C to the test run is not sent to it
            // directly; Drop/the watchdog clean up.
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("harness: spawn {SSHD}: {e}"));
        let pid = child.id();
        *self.child.lock().unwrap() = Some(child);
        let _ = std::fs::write(self.dir.join("harness.pid"), format!("{pid}\n"));

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.exited() {
                let log = log_tail(&self.log);
                self.kill_server();
                return Err(LaunchError {
                    port_in_use: log.contains("Address already in use")
                        || log.contains("Cannot bind any address"),
                    message: format!(
                        "harness: sshd for {} on port {} exited during start-up ({status}); \
                         config {}; log tail:\n{log}",
                        self.name,
                        self.port,
                        self.config.display()
                    ),
                });
            }
            if banner(self.socket_addr()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let log = log_tail(&self.log);
                self.kill_server();
                return Err(LaunchError {
                    port_in_use: false,
                    message: format!(
                        "harness: sshd for {} on port {} sent no SSH-2.0 banner within {:?}; \
                         config {}; log tail:\n{log}",
                        self.name,
                        self.port,
                        STARTUP_TIMEOUT,
                        self.config.display()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn exited(&self) -> Option<std::process::ExitStatus> {
        let mut guard = self.child.lock().unwrap();
        guard.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }
}

struct LaunchError {
    port_in_use: bool,
    message: String,
}

/// True once `addr` accepts a connection and sends an `SSH-2.0` banner.
fn banner(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(1000)));
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    while got.len() < 7 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    // Say goodbye politely so sshd logs nothing alarming.
    let _ = stream.write_all(b"SSH-2.0-fleet-harness-probe\r\n");
    got.starts_with(b"SSH-2.0")
}

/// A port the kernel just handed out on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("harness: bind 127.0.0.1:0");
    listener.local_addr().expect("harness: local_addr").port()
}

fn check_sshd() {
    if !Path::new(SSHD).exists() {
        panic!(
            "harness: {SSHD} not found. Install OpenSSH's server: \
             `apt-get install -y openssh-server` (Debian), as .ci/run does"
        );
    }
    // Privilege separation needs this dir when sshd runs as root.
    let run = Path::new("/run/sshd");
    if !run.exists() {
        let _ = std::fs::create_dir_all(run);
    }
}

fn keygen(path: &Path, comment: &str) {
    keygen_with(path, comment, "ed25519", "");
}

/// Generates a key of `kind` (`ed25519`, `rsa`, `ecdsa`) with `passphrase`
/// (empty: none) at `path`, public key at `path.pub`.
pub fn keygen_with(path: &Path, comment: &str, kind: &str, passphrase: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("harness: run ssh-keygen: {e} (is openssh-client installed?)"));
    assert!(
        out.status.success(),
        "harness: ssh-keygen -f {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn current_user() -> String {
    if let Ok(out) = Command::new("id").arg("-un").output()
        && out.status.success()
    {
        let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !name.is_empty() {
            return name;
        }
    }
    std::env::var("USER").expect("harness: cannot tell the current user (id -un, $USER)")
}

/// Starts `sh` that waits for its stdin to close (this process exited, however
/// it died) and then kills the sshds whose pids the harness wrote and removes
/// the temp dir. `Drop` kills it first, so it only acts on abnormal exits.
fn spawn_watchdog(root: &Path) -> Option<(Child, ChildStdin)> {
    let script = r#"
read -r _ignored
for f in "$1"/*/harness.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  [ -n "$pid" ] || continue
  for c in $(cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$pid" '$4 == p {print $1}'); do kill -9 "$c" 2>/dev/null; done
  kill -9 "$pid" 2>/dev/null
done
rm -rf "$1"
"#;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg("fleet-harness-watchdog")
        .arg(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().ok()?;
    let stdin = child.stdin.take()?;
    Some((child, stdin))
}

/// Live (non-zombie) descendants of `pid`, from /proc.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut table = Vec::new(); // (pid, ppid)
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) S ppid ..." — comm may hold spaces and parens.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next().unwrap_or("");
            let ppid = fields
                .next()
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(0);
            if state != "Z" && state != "X" {
                table.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &table {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out
}

/// Live processes whose command line mentions `needle` (zombies excluded).
pub fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if p == me {
                continue;
            }
            let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmdline.contains(needle) {
                out.push((p, cmdline.trim().to_string()));
            }
        }
    }
    out
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    if lines.is_empty() {
        "(empty)".to_string()
    } else {
        lines[start..].join("\n")
    }
}

/// A KDL v2 string: bare identifier when that is unambiguous, else quoted.
pub fn kdl_string(s: &str) -> String {
    let bare = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !matches!(s, "true" | "false" | "null" | "inf" | "nan");
    if bare { s.to_string() } else { kdl_quoted(s) }
}

/// A quoted KDL string.
pub fn kdl_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
