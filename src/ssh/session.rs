//! The channel side of the shared session: one exec channel per host
//! running the [`driver`](super::driver), opened on the first step that
//! can use it and kept for the host's later steps. A step costs one round
//! trip (its request out, its frames back) instead of a channel open, an
//! exec and a close.
//!
//! Everything a per-step channel promises holds: output capped per stream
//! with every byte counted, lossless bytes, the step timeout ends the
//! command on the host (the controller asks the driver, and the remote
//! `timeout` is the backstop), and an interrupted step's command is ended
//! (the channel's stdin reaches end-of-file, which the driver's watcher
//! takes as the order to end the command).

use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client::{Handle, Handler, Msg};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf};

use super::driver::{self, Boundary, Framer, Kind, Piece};
use super::exec::Abandon;
use crate::model::output::{Capture, ExecEnd, ExecOutput};

/// After asking the driver to end a timed-out command: the remote
/// `timeout -k 5` kills it 5 s after TERM at the latest, so its frames
/// should be back within this; if not, the channel is given up.
const KILL_WAIT: Duration = Duration::from_secs(7);

/// A host's driver, as far as the controller knows.
#[derive(Debug, Default)]
pub(crate) enum Slot {
    /// No step has asked for it yet.
    #[default]
    Closed,
    Open(Box<Shared>),
    /// The host cannot run it (no POSIX `sh`, the server refused the exec):
    /// every later step opens its own channel.
    Unavailable,
}

/// Why a step must run on a channel of its own instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// The driver did not start on this host (nothing of the step ran).
    NoDriver(String),
    /// This command cannot be framed (see [`driver::Unsendable`]).
    Unsendable,
}

/// One stream's state between steps.
#[derive(Debug)]
struct Stream {
    framer: Framer,
    /// `ready` seen: output from here on belongs to steps.
    ready: bool,
}

impl Stream {
    fn new(boundary: &Boundary) -> Stream {
        Stream {
            framer: Framer::new(boundary),
            ready: false,
        }
    }
}

/// An open driver channel.
pub(crate) struct Shared {
    boundary: Boundary,
    write: Arc<ChannelWriteHalf<Msg>>,
    read: ChannelReadHalf,
    stdout: Stream,
    stderr: Stream,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// What one step's reading ended with.
enum Ending {
    Done {
        status: Option<u32>,
    },
    /// The driver is gone (channel closed, connection lost, bad frame).
    Gone(String),
    /// The driver never said `ready` and the channel ended.
    NeverStarted(String),
}

impl Shared {
    /// Opens the channel and starts the driver. Does not wait for it to
    /// answer: the first step's request follows at once, and the answer
    /// (or its absence) comes back with that step.
    pub(crate) async fn open<H: Handler>(handle: &Handle<H>) -> Result<Shared, Fallback> {
        let boundary = Boundary::random().map_err(Fallback::NoDriver)?;
        let channel = handle
            .channel_open_session()
            .await
            .map_err(|e| Fallback::NoDriver(format!("cannot open a session channel: {e}")))?;
        let (read, write) = channel.split();
        write
            .exec(true, driver::exec_command())
            .await
            .map_err(|e| Fallback::NoDriver(format!("cannot start the session driver: {e}")))?;
        write
            .data(&boundary.hello_line()[..])
            .await
            .map_err(|e| Fallback::NoDriver(format!("cannot start the session driver: {e}")))?;
        Ok(Shared {
            stdout: Stream::new(&boundary),
            stderr: Stream::new(&boundary),
            boundary,
            write: Arc::new(write),
            read,
        })
    }

    /// Runs one command through the driver. `Ok` with a `Failed` end means
    /// the channel is no longer usable (the caller drops it); `Err` means
    /// the step did not run and belongs on a channel of its own.
    pub(crate) async fn run(
        &mut self,
        command: &str,
        kind: Kind,
        timeout: Duration,
        cap: usize,
    ) -> Result<(ExecOutput, bool), Fallback> {
        let started = Instant::now();
        let wire = driver::request(&self.boundary, command, kind, timeout)
            .map_err(|_| Fallback::Unsendable)?;
        let mut stdout = Capture::new(cap);
        let mut stderr = Capture::new(cap);
        let finish = |stdout: Capture, stderr: Capture, status, end| ExecOutput {
            stdout: stdout.finish(),
            stderr: stderr.finish(),
            exit_status: status,
            exit_signal: None,
            end,
            duration: started.elapsed(),
            session: Some(crate::model::SessionMode::Shared),
        };
        if let Err(e) = self.write.data(&wire[..]).await {
            let end = ExecEnd::Failed(format!("cannot send the command: {e}"));
            return Ok((finish(stdout, stderr, None, end), false));
        }
        // Interrupted (this future dropped) or given up: the `k` line,
        // end-of-file, TERM, close.
        let mut abandon = Abandon::new(Arc::clone(&self.write), driver::KILL);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut timed_out = false;
        // Outside `step`, which the deadline may cancel between messages.
        let mut frames = Frames::default();
        let ending = loop {
            let until = if timed_out {
                deadline + KILL_WAIT
            } else {
                deadline
            };
            match tokio::time::timeout_at(until, self.step(&mut stdout, &mut stderr, &mut frames))
                .await
            {
                Ok(ending) => break ending,
                Err(_) if !timed_out => {
                    // Ask the driver to end it, then keep reading: its
                    // frames say it is gone and the channel stays usable.
                    timed_out = true;
                    if self.write.data(driver::KILL).await.is_err() {
                        break Ending::Gone("the connection is closed".into());
                    }
                }
                Err(_) => {
                    abandon.now().await;
                    break Ending::Gone(
                        "the session driver did not end the timed-out command".into(),
                    );
                }
            }
        };
        match ending {
            Ending::NeverStarted(why) => {
                abandon.disarm();
                Err(Fallback::NoDriver(why))
            }
            Ending::Done { status } => {
                abandon.disarm();
                let end = if timed_out {
                    ExecEnd::TimedOut
                } else {
                    ExecEnd::Completed
                };
                Ok((finish(stdout, stderr, status, end), true))
            }
            Ending::Gone(why) => {
                // The read half is dropped with `self`, so nothing queued
                // on this channel blocks the connection.
                abandon.now().await;
                let end = if timed_out {
                    ExecEnd::TimedOut
                } else {
                    ExecEnd::Failed(why)
                };
                Ok((finish(stdout, stderr, None, end), false))
            }
        }
    }

    /// Reads until both of the step's frames arrived. Cancel-safe between
    /// messages: a message is handled whole once taken from the channel.
    async fn step(
        &mut self,
        stdout: &mut Capture,
        stderr: &mut Capture,
        frames: &mut Frames,
    ) -> Ending {
        let Frames {
            status,
            stderr_done,
        } = frames;
        while status.is_none() || !*stderr_done {
            let Some(msg) = self.read.wait().await else {
                return self.ended("connection lost before the command finished");
            };
            let (stream, capture, is_stdout, data) = match &msg {
                ChannelMsg::Data { data } => (&mut self.stdout, &mut *stdout, true, &data[..]),
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    (&mut self.stderr, &mut *stderr, false, &data[..])
                }
                ChannelMsg::Eof | ChannelMsg::Close => {
                    return self.ended("the session driver ended before the command finished");
                }
                ChannelMsg::Failure => {
                    return self.ended("the server refused to run the session driver");
                }
                _ => continue,
            };
            let mut bad = false;
            let mut done = if is_stdout {
                status.is_some()
            } else {
                *stderr_done
            };
            let Stream { framer, ready } = stream;
            let fed = framer.feed(data, &mut |piece| match piece {
                // Before `ready`: a login shell's start-up files. After the
                // step's frame (in the same packet): a process the step
                // left running in the background, writing after the step
                // ended (docs/ssh.md, "A step ends when its command exits").
                Piece::Output(_) if !*ready || done => {}
                Piece::Output(bytes) => capture.push(bytes),
                Piece::Frame("ready") if !*ready => *ready = true,
                Piece::Frame(_) if !*ready || done => bad = true,
                Piece::Frame(word) if is_stdout => {
                    done = true;
                    *status = Some(word.parse().ok());
                }
                Piece::Frame("end") => {
                    done = true;
                    *stderr_done = true;
                }
                Piece::Frame(_) => bad = true,
            });
            if fed.is_err() || bad {
                return Ending::Gone("the session driver's reply was garbled".into());
            }
        }
        Ending::Done {
            status: status.flatten(),
        }
    }
}

/// The step's frames seen so far: the exit status on stdout (`None`
/// inside when it was not a number) and the end on stderr.
#[derive(Debug, Default)]
struct Frames {
    status: Option<Option<u32>>,
    stderr_done: bool,
}

impl Shared {
    fn ended(&self, why: &str) -> Ending {
        if self.stdout.ready {
            Ending::Gone(why.to_string())
        } else {
            Ending::NeverStarted(format!(
                "the session driver did not start (no POSIX sh?): {why}"
            ))
        }
    }
}

/// Runs `command` through the host's driver in `slot`, opening it on first
/// use. `None`: the step must run on a channel of its own (the host has no
/// driver, or this command cannot be framed); nothing of it ran.
pub(crate) async fn run_in<H: Handler>(
    handle: &Handle<H>,
    slot: &tokio::sync::Mutex<Slot>,
    command: &str,
    kind: Kind,
    timeout: Duration,
    cap: usize,
) -> Option<ExecOutput> {
    let started = Instant::now();
    let mut slot = slot.lock().await;
    // Taken out while the step runs: if the step's future is dropped
    // (interrupt), the half-read channel goes with it.
    let mut shared = match std::mem::take(&mut *slot) {
        Slot::Unavailable => {
            *slot = Slot::Unavailable;
            return None;
        }
        Slot::Open(shared) => shared,
        // Opening counts against the step's timeout, as a channel of its
        // own would: a frozen host must cost the step its timeout, not
        // hang until the connection's keepalive gives up.
        Slot::Closed => match tokio::time::timeout(timeout, Shared::open(handle)).await {
            Ok(Ok(shared)) => Box::new(shared),
            Ok(Err(_)) => {
                *slot = Slot::Unavailable;
                return None;
            }
            Err(_) => return Some(open_timed_out(started, cap)),
        },
    };
    let left = timeout.saturating_sub(started.elapsed());
    match shared.run(command, kind, left, cap).await {
        Ok((out, usable)) => {
            if usable {
                *slot = Slot::Open(shared);
            }
            Some(out)
        }
        Err(Fallback::Unsendable) => {
            *slot = Slot::Open(shared);
            None
        }
        Err(Fallback::NoDriver(_)) => {
            *slot = Slot::Unavailable;
            None
        }
    }
}

/// A step whose driver channel did not open within the step's timeout:
/// TIMEOUT, with nothing run; the next step tries to open it again.
fn open_timed_out(started: Instant, cap: usize) -> ExecOutput {
    ExecOutput {
        stdout: Capture::new(cap).finish(),
        stderr: Capture::new(cap).finish(),
        exit_status: None,
        exit_signal: None,
        end: ExecEnd::TimedOut,
        duration: started.elapsed(),
        session: Some(crate::model::SessionMode::Shared),
    }
}
