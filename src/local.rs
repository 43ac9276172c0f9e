//! Commands run on the controller (`local` steps): an `aws` or `curl` call
//! whose answer feeds the checks. Same output contract as a remote step.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::output::{Capture, ExecEnd, ExecOutput};

/// Runs `command` with `sh -c` in its own process group; on timeout the
/// whole group is killed so nothing it started outlives the step.
pub async fn run(command: &str, timeout: Duration, cap: usize) -> ExecOutput {
    let started = Instant::now();
    let mut stdout = Capture::new(cap);
    let mut stderr = Capture::new(cap);
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(command)
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
            Duration::from_secs(10),
            1024,
        )
        .await;
        assert_eq!(out.end, ExecEnd::Completed);
        assert_eq!(out.stdout.text, "hi\n");
        assert_eq!(out.stderr.text, "oops\n");
        assert_eq!(out.exit_status, Some(3));
    }

    #[tokio::test]
    async fn timeout_kills_the_process_group() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let marker = dir.path().join("late");
        let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let out = run(&cmd, Duration::from_millis(300), 1024).await;
        assert_eq!(out.end, ExecEnd::TimedOut);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(
            !marker.exists(),
            "a child of the timed-out command survived"
        );
    }
}
