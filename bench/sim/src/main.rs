//! fleet-sim: thousands of simulated SSH hosts in one process.
//!
//! A small russh server listening on `--ports` consecutive ports of
//! 127.0.0.1 from `--base-port`; an inventory maps many hosts onto them
//! (bench/scale.sh writes it). Every host shares one ed25519 host key and
//! accepts any public key. Exec requests get canned or computed output by
//! command (df, uptime, /proc/meminfo, date +%s, ls | wc -l; anything else:
//! empty output, exit 0), then exit-status, EOF and close, as OpenSSH does.
//! `fleet-hostile KIND` answers with the worst output of about 1 MiB for one
//! of fleet's parsers (issue 12; see [`hostile`] and bench/hostile.sh).
//!
//! Options:
//!   --key PATH          OpenSSH private host key (ed25519)
//!   --base-port P       first port (default 40000)
//!   --ports K           number of ports (default 50)
//!   --addrs A           listen instead on A loopback addresses 127.1.0.1,
//!                       127.1.0.2, ... (250 per /24: 127.1.X.1-250), each on
//!                       the same ports, so every simulated host can have
//!                       its own address and known_hosts line (default 0:
//!                       127.0.0.1 only)
//!   --delay-ms D        round-trip delay added to every connection: every
//!                       server→client write is held D ms (pipelined, so a
//!                       delay, not a throughput limit). Default 0.
//!   --drop-rate F       fraction of connections closed right after accept
//!                       (the client sees a reset/EOF: UNREACHABLE). Default 0.
//!   --fail-rate F       fraction of exec requests answered with stderr and
//!                       exit status 1. Default 0.
//!   --seed S            seed of the failure draws (default 1)
//!   --workers W         tokio worker threads (default 1)
//! Prints "ready" on stdout once every port listens; runs until killed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use russh::server::{self, Auth, Msg, Session};
use russh::{Channel, ChannelId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

struct Opts {
    key: String,
    base_port: u16,
    ports: u16,
    addrs: u32,
    delay: Duration,
    drop_rate: f64,
    fail_rate: f64,
    seed: u64,
    workers: usize,
}

fn parse() -> Opts {
    let mut o = Opts {
        key: String::new(),
        base_port: 40000,
        ports: 50,
        addrs: 0,
        delay: Duration::ZERO,
        drop_rate: 0.0,
        fail_rate: 0.0,
        seed: 1,
        workers: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut v = || {
            args.next()
                .unwrap_or_else(|| die(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--key" => o.key = v(),
            "--base-port" => o.base_port = v().parse().unwrap_or_else(|_| die("bad --base-port")),
            "--ports" => o.ports = v().parse().unwrap_or_else(|_| die("bad --ports")),
            "--addrs" => o.addrs = v().parse().unwrap_or_else(|_| die("bad --addrs")),
            "--delay-ms" => {
                o.delay =
                    Duration::from_millis(v().parse().unwrap_or_else(|_| die("bad --delay-ms")))
            }
            "--drop-rate" => o.drop_rate = v().parse().unwrap_or_else(|_| die("bad --drop-rate")),
            "--fail-rate" => o.fail_rate = v().parse().unwrap_or_else(|_| die("bad --fail-rate")),
            "--seed" => o.seed = v().parse().unwrap_or_else(|_| die("bad --seed")),
            "--workers" => o.workers = v().parse().unwrap_or_else(|_| die("bad --workers")),
            _ => die(&format!("unknown option {a}")),
        }
    }
    if o.key.is_empty() {
        die("--key PATH is required");
    }
    o
}

fn die(msg: &str) -> ! {
    eprintln!("fleet-sim: {msg}");
    std::process::exit(2)
}

/// splitmix64 over a shared counter: cheap, deterministic per seed.
struct Dice {
    seed: u64,
    n: AtomicU64,
}

impl Dice {
    fn roll(&self) -> f64 {
        let mut z = self.seed.wrapping_add(
            self.n
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Shared {
    fail_rate: f64,
    dice: Dice,
}

struct Host {
    shared: Arc<Shared>,
    /// Channels running fleet's shared-session driver (issue 14), by id.
    drivers: std::collections::HashMap<ChannelId, Driver>,
}

/// One channel playing fleet's `sh` driver (src/ssh/driver.rs) as a POSIX
/// sh would: the first stdin line is the boundary, answered by `ready`
/// frames on both streams; then per request (`p|s SECS`, command lines,
/// the boundary) the command's output, `\n<boundary> <status>\n` on stdout
/// and `\n<boundary> end\n` on stderr. `k` lines are ignored (nothing
/// here runs long); end-of-file ends the driver (exit 0, EOF, close).
#[derive(Default)]
struct Driver {
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    boundary: Option<String>,
    /// The request being read: its command lines so far.
    command: Option<String>,
}

impl Driver {
    /// Feeds stdin bytes; answers every complete request on `session`.
    fn feed(
        &mut self,
        data: &[u8],
        channel: ChannelId,
        shared: &Shared,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        for &byte in data {
            if byte != b'\n' {
                self.line.push(byte);
                continue;
            }
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
            let Some(boundary) = self.boundary.clone() else {
                let ready = format!("\n{line} ready\n").into_bytes();
                session.data(channel, ready.clone())?;
                session.extended_data(channel, 1, ready)?;
                self.boundary = Some(line);
                continue;
            };
            match &mut self.command {
                None if line.starts_with("p ") || line.starts_with("s ") => {
                    self.command = Some(String::new())
                }
                None => {}
                Some(command) if line == boundary => {
                    let command = std::mem::take(command);
                    self.command = None;
                    let fail = shared.fail_rate > 0.0 && shared.dice.roll() < shared.fail_rate;
                    let (mut out, mut err, status) = if fail {
                        (Vec::new(), b"fleet-sim: injected failure\n".to_vec(), 1)
                    } else {
                        (output_for(&command), Vec::new(), 0)
                    };
                    out.extend_from_slice(format!("\n{boundary} {status}\n").as_bytes());
                    err.extend_from_slice(format!("\n{boundary} end\n").as_bytes());
                    session.data(channel, out)?;
                    session.extended_data(channel, 1, err)?;
                }
                Some(command) => {
                    command.push_str(&line);
                    command.push('\n');
                }
            }
        }
        Ok(())
    }
}

/// The worst output of just under 1 MiB (fleet's default output cap) for
/// each parser: either past a parser limit (`columns`: 10^10 cells asked
/// for) or exactly at it, with the most values the limit allows; `binary`
/// is 1 MiB of bytes that are not UTF-8 on stdout and on stderr (the
/// report keeps them as U+FFFD text plus exact base64). `None` for an
/// unknown kind.
fn hostile(kind: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut out = String::new();
    match kind {
        // 100,000 columns × 100,000 rows: refused (MAX_TABLE_COLUMNS).
        "columns" => {
            let header: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
            out.push_str(&header.join("  "));
            out.push('\n');
            out.push_str(&"x\n".repeat(100_000));
        }
        // 100 columns × 999 rows = 99,900 cells of 9 characters (limit
        // 100,000), 1,000,000 bytes.
        "cells" => {
            for c in 0..100 {
                out.push_str(&format!("{:<10}", format!("c{c:02}")));
            }
            out.push('\n');
            for r in 0..999 {
                for c in 0..100 {
                    out.push_str(&format!("{:09} ", r * 100 + c));
                }
                out.push('\n');
            }
        }
        // One column × 25,000 rows (MAX_TABLE_ROWS): each row an object.
        "rows" => {
            out.push_str("A\n");
            out.push_str(&"x\n".repeat(25_000));
        }
        // 100,000 lines (MAX_LINES) of 9 characters.
        "lines" => {
            for i in 0..100_000 {
                out.push_str(&format!("{i:09}\n"));
            }
        }
        // 100,000 distinct keys (MAX_KV_ENTRIES).
        "kv" => {
            for i in 0..100_000 {
                out.push_str(&format!("k{i:05}=v\n"));
            }
        }
        // 25,000 matches (MAX_REGEX_MATCHES) of `(?<k>\w+)=(?<v>\w+)`,
        // 36 bytes each.
        "regex" => {
            for i in 0..25_000 {
                out.push_str(&format!("{i:05}={}\n", "v".repeat(29)));
            }
        }
        // 33,333 objects `{"a":"b"}` (5 + 1 each) in an array: 199,999 of
        // the 200,000 JSON values allowed (MAX_JSON_VALUES).
        "json" => {
            out.push('[');
            for i in 0..33_333 {
                out.push_str(if i == 0 { "{\"a\":\"b\"}" } else { ",{\"a\":\"b\"}" });
            }
            out.push(']');
        }
        // An array of 199,999 strings: 200,000 values (MAX_JSON_VALUES).
        "strings" => {
            out.push('[');
            for i in 0..199_999 {
                out.push_str(if i == 0 { "\"ab\"" } else { ",\"ab\"" });
            }
            out.push(']');
        }
        "binary" => return Some((vec![0xff; 1 << 20], vec![0xfe; 1 << 20])),
        _ => return None,
    }
    Some((out.into_bytes(), Vec::new()))
}

fn output_for(cmd: &str) -> Vec<u8> {
    if cmd.contains("df -P") {
        b"Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/vda         264212084 19627484  75658404      21% /\n".to_vec()
    } else if cmd.contains("uptime") {
        b" 14:00:00 up 10 days,  3:02,  0 users,  load average: 0.10, 0.20, 0.30\n".to_vec()
    } else if cmd.contains("/proc/meminfo") {
        b"MemTotal:       24683408 kB\nMemFree:        19670000 kB\nMemAvailable:   23530000 kB\n"
            .to_vec()
    } else if cmd.contains("date +%s") {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!("{now}\n").into_bytes()
    } else if cmd.contains("wc -l") {
        b"12\n".to_vec()
    } else {
        Vec::new()
    }
}

impl server::Handler for Host {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        _: &str,
        _: server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let cmd = String::from_utf8_lossy(data);
        // fleet's shared-session driver: answered per request, over stdin.
        if cmd.starts_with("exec /bin/sh -c ") && cmd.contains("read -r b") {
            self.drivers.insert(channel, Driver::default());
            return Ok(());
        }
        let fail = self.shared.fail_rate > 0.0 && self.shared.dice.roll() < self.shared.fail_rate;
        if fail {
            session.extended_data(channel, 1, &b"fleet-sim: injected failure\n"[..])?;
            session.exit_status_request(channel, 1)?;
        } else if let Some((out, err)) = cmd
            .split_once("fleet-hostile ")
            // fleet wraps the command in its timeout guard (`…; then exec
            // timeout -k 5 N fleet-hostile KIND; else …`): the kind is the
            // word after the first mention.
            .and_then(|(_, rest)| {
                let end = rest
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(rest.len());
                hostile(&rest[..end])
            })
        {
            if !out.is_empty() {
                session.data(channel, out)?;
            }
            if !err.is_empty() {
                session.extended_data(channel, 1, err)?;
            }
            session.exit_status_request(channel, 0)?;
        } else {
            let out = output_for(&cmd);
            if !out.is_empty() {
                session.data(channel, out)?;
            }
            session.exit_status_request(channel, 0)?;
        }
        session.eof(channel)?;
        session.close(channel)?;
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(driver) = self.drivers.get_mut(&channel) {
            driver.feed(data, channel, &self.shared, session)?;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.drivers.remove(&channel).is_some() {
            session.exit_status_request(channel, 0)?;
            session.eof(channel)?;
            session.close(channel)?;
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.drivers.remove(&channel);
        Ok(())
    }
}

/// Runs the SSH session on one end of an in-memory pipe and copies its
/// output to the socket `delay` later (each chunk keeps its own deadline,
/// so chunks are pipelined); the client's bytes go through undelayed.
async fn serve_delayed(config: Arc<server::Config>, tcp: TcpStream, host: Host, delay: Duration) {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (mut tcp_r, mut tcp_w) = tcp.into_split();
    let (mut pipe_r, mut pipe_w) = tokio::io::split(ours);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let inbound = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut tcp_r, &mut pipe_w).await;
        let _ = pipe_w.shutdown().await;
    });
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match pipe_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if tcp_w.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = tcp_w.shutdown().await;
    });
    if let Ok(session) = server::run_stream(config, theirs, host).await {
        let _ = session.await;
    }
    inbound.abort();
    let _ = reader.await;
    let _ = writer.await;
}

async fn run(o: Opts) {
    let key = russh::keys::load_secret_key(&o.key, None)
        .unwrap_or_else(|e| die(&format!("cannot load {}: {e}", o.key)));
    let config = Arc::new(server::Config {
        keys: vec![key],
        auth_rejection_time: Duration::ZERO,
        auth_rejection_time_initial: Some(Duration::ZERO),
        inactivity_timeout: Some(Duration::from_secs(300)),
        max_auth_attempts: 10,
        nodelay: true,
        // What OpenSSH 9.2 offers, less sntrup761 (russh has none): the
        // client then negotiates curve25519 as it does against real sshd.
        preferred: russh::Preferred {
            kex: std::borrow::Cow::Borrowed(&[
                russh::kex::CURVE25519,
                russh::kex::CURVE25519_PRE_RFC_8731,
                russh::kex::DH_GEX_SHA256,
                russh::kex::DH_G16_SHA512,
                russh::kex::DH_G18_SHA512,
                russh::kex::DH_G14_SHA256,
                russh::kex::EXTENSION_SUPPORT_AS_SERVER,
                russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
            ]),
            ..russh::Preferred::default()
        },
        ..Default::default()
    });
    let shared = Arc::new(Shared {
        fail_rate: o.fail_rate,
        dice: Dice {
            seed: o.seed,
            n: AtomicU64::new(0),
        },
    });
    let drops = Arc::new(Dice {
        seed: o.seed ^ 0xD50F,
        n: AtomicU64::new(0),
    });
    let mut listeners = Vec::new();
    let addrs: Vec<[u8; 4]> = if o.addrs == 0 {
        vec![[127, 0, 0, 1]]
    } else {
        (0..o.addrs)
            .map(|k| [127, 1, (k / 250) as u8, (k % 250 + 1) as u8])
            .collect()
    };
    for ip in &addrs {
        for i in 0..o.ports {
            let port = o.base_port + i;
            let sock = TcpSocket::new_v4().unwrap_or_else(|e| die(&format!("socket: {e}")));
            let _ = sock.set_reuseaddr(true);
            sock.bind((*ip, port).into())
                .unwrap_or_else(|e| die(&format!("cannot bind {ip:?}:{port}: {e}")));
            listeners.push(
                sock.listen(1024)
                    .unwrap_or_else(|e| die(&format!("listen {port}: {e}"))),
            );
        }
    }
    println!("ready");
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        let config = Arc::clone(&config);
        let shared = Arc::clone(&shared);
        let drops = Arc::clone(&drops);
        let (delay, drop_rate) = (o.delay, o.drop_rate);
        tasks.spawn(async move {
            loop {
                let (tcp, _) = match listener.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        eprintln!("fleet-sim: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if drop_rate > 0.0 && drops.roll() < drop_rate {
                    drop(tcp);
                    continue;
                }
                let _ = tcp.set_nodelay(true);
                let host = Host {
                    shared: Arc::clone(&shared),
                    drivers: Default::default(),
                };
                let config = Arc::clone(&config);
                tokio::spawn(async move {
                    if delay.is_zero() {
                        if let Ok(session) = server::run_stream(config, tcp, host).await {
                            let _ = session.await;
                        }
                    } else {
                        serve_delayed(config, tcp, host, delay).await;
                    }
                });
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

fn main() {
    let o = parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.workers.max(1))
        .enable_all()
        .build()
        .unwrap_or_else(|e| die(&format!("runtime: {e}")));
    rt.block_on(run(o));
}
