//! The one builder for the real `fleet` binary (just's style:
//! `fleet(&[..]).args(..).env(..).run()`, or `.spawn()` for a child a test
//! signals mid-run): arguments in, exit code, stdout, stderr and the parsed
//! JSON report out. Every invocation gets its own state directory, so no
//! test reads or writes the real run history.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Fleet {
    args: Vec<String>,
    env: Vec<(String, String)>,
    cwd: PathBuf,
    json: Option<PathBuf>,
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub json: Option<serde_json::Value>,
}

/// Every invocation gets its own empty history unless the test shares one
/// with [`Fleet::state_in`], so tests never see each other's runs.
fn fresh_state_dir() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("state-{}-{n}", std::process::id()))
        .display()
        .to_string()
}

/// `fleet run` of `workflow`, written into the harness fleet's directory,
/// on an inventory of its hosts, with a JSON report: the shape of most
/// integration tests. Add arguments before `.run()`.
pub fn run_workflow(hosts: &crate::harness::Hosts, workflow: &str) -> Fleet {
    let wf = hosts.write_file("workflow.kdl", workflow);
    let inv = hosts.write_inventory("hosts");
    fleet(&[
        "run",
        &wf.display().to_string(),
        "--inventory",
        &inv.display().to_string(),
    ])
    .json_in(hosts.dir())
}

pub fn fleet<S: AsRef<str>>(args: &[S]) -> Fleet {
    Fleet {
        args: args.iter().map(|a| a.as_ref().to_string()).collect(),
        env: vec![("FLEET_STATE_DIR".to_string(), fresh_state_dir())],
        cwd: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        json: None,
    }
}

impl Fleet {
    pub fn arg(mut self, a: impl AsRef<str>) -> Self {
        self.args.push(a.as_ref().to_string());
        self
    }

    pub fn args<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Sets an environment variable for fleet (e.g. `SSH_AUTH_SOCK`).
    pub fn env(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.env.push((key.to_string(), value.as_ref().to_string()));
        self
    }

    /// Runs fleet in `dir` instead of the repository root.
    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.cwd = dir.to_path_buf();
        self
    }

    /// Keeps run history in `dir` (shared by the invocations given it).
    pub fn state_in(self, dir: &Path) -> Self {
        self.env("FLEET_STATE_DIR", dir.display().to_string())
    }

    /// Adds `--report-json` into `dir` and parses the report afterwards.
    pub fn json_in(mut self, dir: &Path) -> Self {
        let path = dir.join("report.json");
        self.args.push("--report-json".into());
        self.args.push(path.display().to_string());
        self.json = Some(path);
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fleet"));
        command
            .args(&self.args)
            .current_dir(&self.cwd)
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .env_remove("SSH_AUTH_SOCK")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Starts fleet as a child (stdin empty, stdout and stderr piped) for a
    /// test that signals it mid-run; the JSON report is the test's to read.
    pub fn spawn(self) -> Child {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start fleet: {e}"))
    }

    pub fn run(self) -> Outcome {
        let out = self
            .command()
            .output()
            .unwrap_or_else(|e| panic!("cannot start fleet: {e}"));
        let json = self.json.as_ref().and_then(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON report: {e}")))
        });
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            json,
        }
    }
}

impl Outcome {
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> &serde_json::Value {
        self.json
            .as_ref()
            .unwrap_or_else(|| panic!("no JSON report written\n--- stderr\n{}", self.stderr))
    }

    /// The JSON report's entry for one host.
    pub fn host(&self, name: &str) -> &serde_json::Value {
        self.json()["hosts"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| h["name"] == name))
            .unwrap_or_else(|| panic!("host {name} not in report"))
    }

    /// The JSON report's entry for one step of one host.
    pub fn step(&self, host: &str, step: &str) -> &serde_json::Value {
        self.host(host)["steps"]
            .as_array()
            .and_then(|ss| ss.iter().find(|s| s["name"] == step))
            .unwrap_or_else(|| panic!("step {step} not in report for {host}"))
    }
}

/// A port that accepts TCP but must see no connection.
/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn silent_listener() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    (listener, port)
}

/// The listener saw no connection attempt.
pub fn assert_no_connection(listener: &std::net::TcpListener) {
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "fleet connected although it must not"
    );
}
