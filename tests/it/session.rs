//! The shared session (issue 14) against real sshd, through the library:
//! a host's steps through one long-lived channel running fleet's `sh`
//! driver.

use std::time::Duration;

use fleet::model::output::{ExecEnd, ExecOutput};
use fleet::ssh::{Session, SshContext, target_for};

use crate::cli::fleet;
use crate::harness::{Hosts, processes_mentioning, session_mode};

const T: Duration = Duration::from_secs(30);
const CAP: usize = 1024 * 1024;

/// Connects to the harness's `host-1` and hands the session to `body`.
fn with_session<F>(hosts: &Hosts, body: F)
where
    F: AsyncFnOnce(&Session),
{
    let path = hosts.write_inventory("session.kdl");
    let inventory =
        fleet::load::load_inventory(&path).unwrap_or_else(|e| panic!("inventory: {e:?}"));
    let host = inventory
        .hosts
        .iter()
        .find(|h| h.name == "host-1")
        .unwrap_or_else(|| panic!("no host-1"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let ctx = SshContext::with_prompt(None);
        let target = target_for(host, None).unwrap_or_else(|e| panic!("{e}"));
        let session = Session::connect(&ctx, &target)
            .await
            .unwrap_or_else(|e| panic!("connect: {}", e.message));
        body(&session).await;
        session.close().await;
    });
}

async fn shared(session: &Session, command: &str, timeout: Duration, cap: usize) -> ExecOutput {
    session
        .exec_shared(command, false, timeout, cap)
        .await
        .unwrap_or_else(|| panic!("`{command}` fell back to a channel of its own"))
}

#[test]
fn steps_share_one_driver_and_keep_streams_statuses_and_bytes_apart() {
    let hosts = Hosts::start(1);
    with_session(&hosts, async |session| {
        // The driver is the command's parent's parent (the driver, then
        // `timeout`, then the shell): the same process for every step.
        let driver_pid = "ps -o ppid= -p $PPID | tr -d ' '";
        let first = shared(session, driver_pid, T, CAP).await;
        assert_eq!(first.end, ExecEnd::Completed, "{first:?}");
        assert!(!first.stdout.text.trim().is_empty(), "{first:?}");

        let out = shared(session, "uptime", T, CAP).await;
        assert_eq!(out.exit_status, Some(0), "{out:?}");
        assert!(out.stdout.text.contains("load average"), "{out:?}");

        let out = shared(
            session,
            "printf 'no newline'; printf 'err' >&2; exit 3",
            T,
            CAP,
        )
        .await;
        assert_eq!(out.exit_status, Some(3));
        assert_eq!(out.stdout.text, "no newline");
        assert_eq!(out.stderr.text, "err");

        let out = shared(session, "printf '\\n\\n'; printf '\\377\\000x'", T, CAP).await;
        assert_eq!(out.exit_status, Some(0));
        assert_eq!(out.stdout.bytes, 5);
        let raw = out.stdout.base64.as_deref().map(|b| {
            data_encoding::BASE64
                .decode(b.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"))
        });
        assert_eq!(raw.as_deref(), Some(&b"\n\n\xff\x00x"[..]));

        // stdin is /dev/null, not the channel carrying the next steps.
        let out = shared(session, "cat; echo read=$?", T, CAP).await;
        assert_eq!(out.stdout.text, "read=0\n");

        let out = shared(session, "kill -KILL $$", T, CAP).await;
        assert_eq!(out.exit_status, Some(128 + 9), "{out:?}");

        // Multi-line commands and a quote-heavy one.
        let out = shared(session, "a=1\nb='x y'\necho \"$a $b\"", T, CAP).await;
        assert_eq!(out.stdout.text, "1 x y\n");

        let last = shared(session, driver_pid, T, CAP).await;
        assert_eq!(last.stdout.text, first.stdout.text, "one driver for all");
    });
}

#[test]
fn output_over_the_cap_is_counted_and_the_session_goes_on() {
    let hosts = Hosts::start(1);
    with_session(&hosts, async |session| {
        let out = shared(
            session,
            "head -c 300000 /dev/zero | tr '\\0' a; head -c 70000 /dev/zero >&2",
            T,
            1000,
        )
        .await;
        assert_eq!(out.end, ExecEnd::Completed);
        assert_eq!(out.stdout.bytes, 300_000);
        assert!(out.stdout.truncated);
        assert_eq!(out.stdout.text, "a".repeat(1000));
        assert_eq!(out.stderr.bytes, 70_000);
        assert!(out.stderr.truncated);
        let next = shared(session, "echo next", T, 1000).await;
        assert_eq!(next.stdout.text, "next\n");
        assert_eq!((next.stdout.bytes, next.stderr.bytes), (5, 0));
    });
}

#[test]
fn a_timed_out_step_is_ended_on_the_host_and_the_session_goes_on() {
    let hosts = Hosts::start(1);
    let marker = "sleep 4141";
    with_session(&hosts, async |session| {
        let out = shared(
            session,
            &format!("echo started; {marker}; echo never"),
            Duration::from_millis(800),
            CAP,
        )
        .await;
        assert_eq!(out.end, ExecEnd::TimedOut, "{out:?}");
        assert_eq!(out.stdout.text, "started\n");
        // The driver reported the command's end: its process group is
        // gone (polled: the TERM may still be in flight).
        wait_gone(marker).await;
        let next = shared(session, "echo next", T, CAP).await;
        assert_eq!(next.stdout.text, "next\n");
        assert_eq!(next.end, ExecEnd::Completed);
    });
}

#[test]
fn dropping_a_running_step_ends_its_command_on_the_host() {
    let hosts = Hosts::start(1);
    let marker = "sleep 4242";
    with_session(&hosts, async |session| {
        let command = format!("{marker}; echo never");
        let run = shared(session, &command, T, CAP);
        // Interrupted as Ctrl-C interrupts a step: its future is dropped.
        let interrupted = tokio::time::timeout(Duration::from_millis(1500), run).await;
        assert!(interrupted.is_err(), "the step finished?");
        wait_gone(marker).await;
        // The half-read channel was given up; the next step gets a new one.
        let next = shared(session, "echo next", T, CAP).await;
        assert_eq!(next.stdout.text, "next\n");
    });
}

/// Returns once no `sleep` process mentions `marker`; bounded by the test
/// runner's timeout, not by a timed assertion.
async fn wait_gone(marker: &str) {
    while processes_mentioning(marker)
        .iter()
        .any(|(_, c)| c.starts_with("sleep"))
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A host where the driver cannot start (here sshd forces another command,
/// as for a host without a POSIX `sh`): the step did not run and must go
/// on a channel of its own; later steps do not try again.
#[test]
fn a_host_without_the_driver_falls_back_for_every_step() {
    let hosts = Hosts::builder()
        .hosts(1)
        .sshd_option("ForceCommand echo not-a-shell")
        .build();
    with_session(&hosts, async |session| {
        for _ in 0..2 {
            let out = session.exec_shared("echo hi", false, T, CAP).await;
            assert!(out.is_none(), "{out:?}");
        }
        let own = session.exec("echo hi", false, T, CAP).await;
        assert_eq!(own.stdout.text, "not-a-shell\n");
    });
}

/// `sudo -n` steps run through the driver too; a timed-out one is ended
/// inside sudo (the TERM sudo relays reaches the root-side guard).
#[test]
fn sudo_without_a_password_runs_in_the_session_and_times_out_cleanly() {
    if std::process::Command::new("sudo")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: needs sudo (apt-get install -y sudo)");
        return;
    }
    let hosts = Hosts::start(1);
    let marker = "sleep 4343";
    with_session(&hosts, async |session| {
        let run = |command: String, timeout| async move {
            session
                .exec_shared(&command, true, timeout, CAP)
                .await
                .unwrap_or_else(|| panic!("`{command}` fell back"))
        };
        let out = run("id -u".into(), T).await;
        assert_eq!(out.stdout.text, "0\n", "{out:?}");
        let out = run(format!("{marker}; echo never"), Duration::from_millis(800)).await;
        assert_eq!(out.end, ExecEnd::TimedOut, "{out:?}");
        wait_gone(marker).await;
        let out = run("echo again".into(), T).await;
        assert_eq!(out.stdout.text, "again\n");
    });
}

/// `fleet run` says per step how it reached the host, and everything a
/// workflow relies on works across the shared session: exports feeding a
/// later command, `when`, `retry until`, and a `tty` step or an inventory
/// `session "per-step"` host falling back to channels of their own.
#[test]
fn run_reports_each_steps_session_and_workflows_work_through_it() {
    let hosts = Hosts::start(2);
    let port2 = hosts.host("host-2").port;
    let kdl = hosts.inventory_kdl().replace(
        &format!("port={port2}\n"),
        &format!("port={port2} session=\"per-step\"\n"),
    );
    let inv = hosts
        .write_file("session-inv.kdl", &kdl)
        .display()
        .to_string();
    let counter = hosts
        .dir()
        .join("attempts-{{ host.name }}")
        .display()
        .to_string();
    let wf = hosts.write_file(
        "session-wf.kdl",
        &format!(
            r##"
workflow session {{
    timeout "20s"
    step name {{
        run "printf 'v-%s' {{{{ host.name }}}}"
        export token "stdout"
    }}
    step uses-export {{
        run "echo got-{{{{ token }}}}"
        expect stdout contains="got-v-"
    }}
    step skipped {{
        when "token == 'nothing'"
        run "false"
    }}
    step polled {{
        run "echo x >> {counter}; wc -l < {counter}"
        retry attempts=5 interval="10ms" until="stdout | trim == '3'"
    }}
    step term {{
        tty
        run "tty"
        expect stdout contains="/dev/"
    }}
}}
"##
        ),
    );
    let out = fleet(&["run", &wf.display().to_string(), "--inventory", &inv])
        .json_in(hosts.dir())
        .run();
    out.expect_code(0);
    let default = match session_mode().as_deref() {
        Some("per-step") => "per-step",
        _ => "shared",
    };
    for step in ["name", "uses-export", "polled"] {
        assert_eq!(out.step("host-1", step)["session"], default, "{step}");
        assert_eq!(out.step("host-2", step)["session"], "per-step", "{step}");
    }
    assert_eq!(out.step("host-1", "polled")["attempts"], 3);
    assert_eq!(out.step("host-1", "skipped")["status"], "SKIPPED");
    assert!(out.step("host-1", "skipped").get("session").is_none());
    assert_eq!(out.step("host-1", "term")["session"], "per-step");
}

/// The boundary is in no process's argv or environment on the host: the
/// driver's own command line and environment, which any step can read
/// (`ps`), hold no `fleet-` + 32 hex digits, and the session goes on
/// framing correctly after a step printed them.
#[test]
fn the_boundary_is_not_visible_on_the_host() {
    let hosts = Hosts::start(1);
    with_session(&hosts, async |session| {
        let out = shared(
            session,
            "d=$(ps -o ppid= -p $PPID | tr -d ' '); tr '\\0' '\\n' < /proc/$d/cmdline; tr '\\0' '\\n' < /proc/$d/environ; ps -eo args",
            T,
            CAP,
        )
        .await;
        assert_eq!(out.exit_status, Some(0), "{out:?}");
        assert!(out.stdout.text.contains("read -r b"), "the driver: {out:?}");
        let hex = regex::Regex::new("fleet-[0-9a-f]{32}").unwrap_or_else(|e| panic!("{e}"));
        assert!(!hex.is_match(&out.stdout.text), "{}", out.stdout.text);
        let next = shared(session, "echo next", T, CAP).await;
        assert_eq!(next.stdout.text, "next\n");
    });
}
