//! Checks the harness itself against OpenSSH's own client.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::harness::{Hosts, processes_mentioning};

fn run(fleet: &Hosts, host: &str, remote: &str) -> Output {
    fleet
        .ssh_command(host, remote)
        .output()
        .expect("run ssh (is openssh-client installed?)")
}

fn describe(out: &Output) -> String {
    format!(
        "status {}, stdout {:?}, stderr {:?}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn three_hosts_answer_over_ssh() {
    let fleet = Hosts::start(3);
    assert_eq!(fleet.hosts().len(), 3);
    let names: Vec<&str> = fleet.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["host-1", "host-2", "host-3"]);
    let mut ports: Vec<u16> = fleet.hosts().iter().map(|h| h.port).collect();
    ports.dedup();
    assert_eq!(ports.len(), 3, "distinct ports");

    for host in fleet.hosts() {
        // Exactly the command line from the harness brief, spelled out.
        let out = std::process::Command::new("ssh")
            .args(["-o", "BatchMode=yes"])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                fleet.known_hosts().display()
            ))
            .args(["-o", "StrictHostKeyChecking=yes", "-i"])
            .arg(fleet.client_key())
            .arg("-p")
            .arg(host.port.to_string())
            .arg(format!("{}@127.0.0.1", fleet.user()))
            .arg("echo hi-$((1+1))")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run ssh");
        assert!(out.status.success(), "{}: {}", host.name, describe(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "hi-2",
            "{}",
            host.name
        );
    }
}

#[test]
fn stopped_and_refusing_hosts_refuse_connections() {
    let fleet = Hosts::builder().hosts(2).refusing("host-x").build();
    assert_eq!(fleet.hosts().len(), 3);
    let refusing = fleet.host("host-x");
    assert!(!refusing.is_running());
    let err = std::net::TcpStream::connect(refusing.socket_addr()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "host-x");

    let host = fleet.host("host-1");
    assert!(run(&fleet, "host-1", "true").status.success());
    host.stop();
    assert!(!host.is_running());
    let err = std::net::TcpStream::connect(host.socket_addr()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let out = run(&fleet, "host-1", "true");
    assert_eq!(out.status.code(), Some(255), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Connection refused"),
        "{}",
        describe(&out)
    );

    // The other host is unaffected, and host-1 can come back.
    assert!(run(&fleet, "host-2", "true").status.success());
    host.start();
    let out = run(&fleet, "host-1", "echo back");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "back",
        "{}",
        describe(&out)
    );
}

#[test]
fn replaced_host_key_fails_verification() {
    let fleet = Hosts::start(2);
    let before = fleet.host("host-1").host_public_key();
    assert!(run(&fleet, "host-1", "true").status.success());
    fleet.host("host-1").replace_host_key();
    assert_ne!(before, fleet.host("host-1").host_public_key());

    let out = run(&fleet, "host-1", "true");
    assert_eq!(out.status.code(), Some(255), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Host key verification failed")
            || stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        describe(&out)
    );
    assert!(run(&fleet, "host-2", "true").status.success());
}

#[test]
fn paused_host_accepts_tcp_but_never_answers() {
    let fleet = Hosts::start(1);
    let host = fleet.host("host-1");
    host.pause();
    let started = Instant::now();
    let out = fleet
        .ssh_command_timeout("host-1", "true", 1)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("timed out"),
        "{}",
        describe(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    host.resume();
    let out = run(&fleet, "host-1", "echo awake");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "awake",
        "{}",
        describe(&out)
    );
}

#[test]
fn drop_leaves_no_sshd_running() {
    let fleet = Hosts::start(2);
    let dir = fleet.dir().to_path_buf();
    let needle = dir.display().to_string();
    // A long-running remote command: its processes must go too.
    let mut long = fleet.ssh_command("host-1", "sleep 60").spawn().unwrap();
    let listener = fleet.host("host-1").pid().unwrap();
    let sleeping = || {
        crate::harness::descendants(listener).into_iter().any(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sleeping() {
        assert!(Instant::now() < deadline, "remote `sleep 60` never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let running = processes_mentioning(&needle);
    assert!(
        running.len() >= 2,
        "sshds should mention {needle}: {running:?}"
    );
    let pids: Vec<u32> = fleet.hosts().iter().filter_map(|h| h.pid()).collect();
    let children: Vec<u32> = pids
        .iter()
        .flat_map(|p| crate::harness::descendants(*p))
        .collect();
    drop(fleet);

    assert!(!dir.exists(), "temp dir removed");
    let left = processes_mentioning(&needle);
    assert!(left.is_empty(), "left running: {left:?}");
    for pid in pids.iter().chain(&children) {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = state
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next();
        assert!(
            matches!(state, None | Some("Z" | "X")),
            "pid {pid} still alive: {state:?}"
        );
    }
    // The client sees its server go away.
    let status = long.wait().unwrap();
    assert!(!status.success());
}

#[test]
fn inventory_lists_every_host() {
    let fleet = Hosts::builder().hosts(2).refusing("down-1").build();
    let path = fleet.write_inventory("inventory.kdl");
    assert_eq!(path, fleet.dir().join("inventory.kdl"));
    let text = std::fs::read_to_string(&path).unwrap();
    let expected = format!(
        "defaults {{\n    user \"{user}\"\n    identity-file \"{key}\"\n    known-hosts \"{kh}\"\n    \
         connect-timeout \"5s\"\n}}\ngroup all-hosts {{\n    \
         host host-1 address=\"127.0.0.1\" port={p1}\n    \
         host host-2 address=\"127.0.0.1\" port={p2}\n    \
         host down-1 address=\"127.0.0.1\" port={p3}\n}}\n",
        user = fleet.user(),
        key = fleet.client_key().display(),
        kh = fleet.known_hosts().display(),
        p1 = fleet.host("host-1").port,
        p2 = fleet.host("host-2").port,
        p3 = fleet.host("down-1").port,
    );
    assert_eq!(text, expected);
    let kh = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    assert_eq!(kh.lines().count(), 2, "live hosts only: {kh}");
    assert!(kh.starts_with(&format!(
        "[127.0.0.1]:{} ssh-ed25519 ",
        fleet.host("host-1").port
    )));

    let file = fleet.write_file("wf/check.kdl", "step x { run \"true\" }\n");
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        "step x { run \"true\" }\n"
    );
}

/// Run by `watchdog_cleans_up_after_sigkill` in a child process: starts a
/// fleet, reports its dir, then waits to be killed.
#[test]
#[ignore = "helper: runs only as a child of watchdog_cleans_up_after_sigkill"]
fn watchdog_child() {
    if std::env::var_os("FLEET_HARNESS_WATCHDOG_CHILD").is_none() {
        return;
    }
    let fleet = Hosts::start(2);
    println!("FLEET_DIR={}", fleet.dir().display());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn watchdog_cleans_up_after_sigkill() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "harness_selftest::watchdog_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("FLEET_HARNESS_WATCHDOG_CHILD", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut dir = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        if let Some(d) = line.unwrap().strip_prefix("FLEET_DIR=") {
            dir = Some(d.to_string());
            break;
        }
    }
    let dir = dir.expect("child printed its fleet dir");
    assert!(processes_mentioning(&dir).len() >= 2, "child's sshds run");
    child.kill().unwrap(); // SIGKILL: no unwinding, no Drop
    child.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(&dir);
        if left.is_empty() && !std::path::Path::new(&dir).exists() {
            break;
        }
        assert!(Instant::now() < deadline, "left after SIGKILL: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
