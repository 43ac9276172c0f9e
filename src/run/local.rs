//! Commands run on the controller (`local` steps): an `aws` or `curl` call
//! whose answer feeds the checks. Same output contract as a remote step.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::model::output::{Capture, ExecEnd, ExecOutput};

/// Controller variables every local step receives: what a command needs to
/// find programs, read text and use its home directory and locale. Nothing
/// here is a credential; the agent socket (`SSH_AUTH_SOCK`), fleet's own
/// secrets (`FLEET_*`) and anything else reach a step only when it names
/// them with `env "NAME"`.
pub const BASE_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
    "TERM",
];

/// The environment of a local step: [`BASE_ENV`] plus the variables the
/// step names, taken from `from` (the controller's environment); a named
/// variable that is not set is simply absent, as in the shell.
pub fn step_env<'a>(
    named: impl IntoIterator<Item = &'a str>,
    from: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Vec<(String, std::ffi::OsString)> {
    let mut names: Vec<&str> = BASE_ENV.to_vec();
    names.extend(named);
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .filter_map(|n| from(n).map(|v| (n.to_owned(), v)))
        .collect()
}

/// Runs `command` with `sh -c` in its own process group, with exactly the
/// environment `env` (the controller's own is cleared: see [`step_env`]);
/// on timeout the whole group is killed so nothing it started outlives the
/// step.
pub async fn run(
    command: &str,
    env: &[(String, std::ffi::OsString)],
    timeout: Duration,
    cap: usize,
) -> ExecOutput {
    let started = Instant::now();
    let mut stdout = Capture::new(cap);
    let mut stderr = Capture::new(cap);
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            return finish(
                stdout,
                stderr,
                None,
                ExecEnd::Failed(format!("cannot start `sh` on the controller: {e}")),
                started,
            );
        }
    };
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let work = async {
        let (a, b) = tokio::join!(
            drain(out.as_mut(), &mut stdout),
            drain(err.as_mut(), &mut stderr)
        );
        let status = child.wait().await;
        (a.and(b), status)
    };
    let result = tokio::time::timeout(timeout, work).await;
    match result {
        Ok((Ok(()), Ok(status))) => {
            use std::os::unix::process::ExitStatusExt;
            let code = status.code().and_then(|c| u32::try_from(c).ok());
            let mut output = finish(stdout, stderr, code, ExecEnd::Completed, started);
            output.exit_signal = status.signal().map(|s| format!("signal {s}"));
            output
        }
        Ok((Err(e), _)) | Ok((_, Err(e))) => finish(
            stdout,
            stderr,
            None,
            ExecEnd::Failed(format!("reading the command's output failed: {e}")),
            started,
        ),
        Err(_) => {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                // The group id is the child's pid (process_group(0)).
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status()
                    .await;
            }
            let _ = child.kill().await;
            finish(stdout, stderr, None, ExecEnd::TimedOut, started)
        }
    }
}

async fn drain<R: AsyncRead + Unpin>(
    reader: Option<&mut R>,
    into: &mut Capture,
) -> std::io::Result<()> {
    let Some(reader) = reader else {
        return Ok(());
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        into.push(&buf[..n]);
    }
}

fn finish(
    stdout: Capture,
    stderr: Capture,
    exit_status: Option<u32>,
    end: ExecEnd,
    started: Instant,
) -> ExecOutput {
    ExecOutput {
        stdout: stdout.finish(),
        stderr: stderr.finish(),
        exit_status,
        exit_signal: None,
        end,
        duration: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn captures_output_and_status() {
        let out = run(
            "echo hi; echo oops >&2; exit 3",
            &[],
            Duration::from_secs(10),
            1024,
        )
        .await;
        assert_eq!(out.end, ExecEnd::Completed);
        assert_eq!(out.stdout.text, "hi\n");
        assert_eq!(out.stderr.text, "oops\n");
        assert_eq!(out.exit_status, Some(3));
    }

    /// Issue 12: a local step inherited the agent socket and every
    /// `FLEET_*` secret. Now it sees the base set plus what it names.
    #[tokio::test]
    async fn secrets_and_agent_socket_reach_only_steps_that_name_them() {
        let controller = |name: &str| match name {
            "PATH" => std::env::var_os("PATH"),
            "SSH_AUTH_SOCK" => Some("/tmp/agent.sock".into()),
            "FLEET_BECOME_PASSWORD" => Some("hunter22".into()),
            "AWS_PROFILE" => Some("prod".into()),
            _ => None,
        };
        let show = "echo \"sock=${SSH_AUTH_SOCK-unset} pw=${FLEET_BECOME_PASSWORD-unset} aws=${AWS_PROFILE-unset}\"";
        let plain = run(
            show,
            &step_env([], controller),
            Duration::from_secs(10),
            1024,
        )
        .await;
        assert_eq!(plain.stdout.text, "sock=unset pw=unset aws=unset\n");
        let asked = run(
            show,
            &step_env(["AWS_PROFILE", "SSH_AUTH_SOCK"], controller),
            Duration::from_secs(10),
            1024,
        )
        .await;
        assert_eq!(
            asked.stdout.text,
            "sock=/tmp/agent.sock pw=unset aws=prod\n"
        );
    }

    /// Issue 12: `printf %s {{ s }}` prints exactly `s`, whatever shell
    /// syntax `s` holds, and a value exported from a host's output
    /// (`1;touch pwned-by-$(hostname);#`) creates no file.
    #[tokio::test]
    async fn every_rendered_value_reaches_sh_as_exactly_one_word() {
        use crate::judge::{Evaluator, Scope};
        use crate::model::{CommandTemplate, SourceFile, Span, Spanned};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = format!("cd {} && printf %s {{{{ s }}}}", dir.path().display());
        let source = SourceFile::new("t.kdl", &text);
        let command = CommandTemplate::new(Spanned::new(text.clone(), Span::new(&source, 0, 0)));
        let evaluator = Evaluator::default();
        let mut cases = crate::expr::shell::hostile_strings(12, 400);
        cases.push("1;touch pwned-by-$(hostname);#".into());
        for s in cases {
            let mut scope = Scope::new();
            scope.insert("s".into(), minijinja::Value::from(s.as_str()));
            let rendered = evaluator
                .render_command(&command, &scope)
                .unwrap_or_else(|e| panic!("{e}"));
            let out = run(&rendered, &[], Duration::from_secs(10), 1 << 16).await;
            assert_eq!(out.stdout.text, s, "rendered as {rendered:?}");
            assert_eq!(
                out.exit_status,
                Some(0),
                "{rendered:?}: {}",
                out.stderr.text
            );
        }
        // Lists: `join(' ')` gives one word per item, whatever they hold.
        let list = CommandTemplate::new(Spanned::new(
            "printf '<%s>' {{ xs | join(' ') }}".to_owned(),
            Span::new(&source, 0, 0),
        ));
        let items = crate::expr::shell::hostile_strings(7, 40);
        for pair in items.chunks(2) {
            let mut scope = Scope::new();
            scope.insert("xs".into(), minijinja::Value::from(pair.to_vec()));
            let rendered = evaluator
                .render_command(&list, &scope)
                .unwrap_or_else(|e| panic!("{e}"));
            let out = run(&rendered, &[], Duration::from_secs(10), 1 << 16).await;
            let expected: String = pair.iter().map(|s| format!("<{s}>")).collect();
            assert_eq!(out.stdout.text, expected, "rendered as {rendered:?}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "commands in values ran: {left:?}");
    }

    #[test]
    fn env_is_for_controller_steps_and_takes_variable_names() {
        let load = |text: &str| {
            crate::load::parse_workflow(crate::model::SourceFile::new("w.kdl", text)).map_err(|e| {
                e.iter()
                    .map(|e| e.message().to_string())
                    .collect::<Vec<_>>()
            })
        };
        let ok = load(
            r#"workflow w {
    local a { env "AWS_PROFILE" "SSH_AUTH_SOCK"; run "true" }
    step b { local; env "X_1"; run "true" }
}"#,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let names: Vec<&str> = ok.local[0].env.iter().map(|n| n.value.as_str()).collect();
        assert_eq!(names, ["AWS_PROFILE", "SSH_AUTH_SOCK"]);
        let host_step = load(r#"workflow w { step b { env "HOME"; run "true" } }"#).err();
        assert!(
            format!("{host_step:?}").contains("`env` applies to steps that run on the controller"),
            "{host_step:?}"
        );
        let bad = load(r#"workflow w { local a { env "A-B" "1X"; run "true" } }"#).err();
        assert!(
            format!("{bad:?}").contains("`A-B` is not an environment variable name"),
            "{bad:?}"
        );
    }

    #[tokio::test]
    async fn timeout_kills_the_process_group() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let marker = dir.path().join("late");
        let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let out = run(&cmd, &[], Duration::from_millis(300), 1024).await;
        assert_eq!(out.end, ExecEnd::TimedOut);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(
            !marker.exists(),
            "a child of the timed-out command survived"
        );
    }
}
