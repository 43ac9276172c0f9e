//! Manual probe (temporary): connect to one host and run commands.
//! ssh_probe ADDR PORT USER KH[,KH] ID[,ID]|- TIMEOUT_S CAP CMD...
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fleet::ssh::{Session, SshContext, Target};

fn list(s: &str) -> Vec<PathBuf> {
    if s == "-" { vec![] } else { s.split(',').map(PathBuf::from).collect() }
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let target = Target {
        name: a[1].clone(),
        address: a[1].clone(),
        port: a[2].parse().unwrap(),
        user: a[3].clone(),
        known_hosts: list(&a[4]),
        identity_files: list(&a[5]),
        connect_timeout: Duration::from_secs(3),
    };
    let timeout = Duration::from_secs_f64(a[6].parse().unwrap());
    let cap: usize = a[7].parse().unwrap();
    let ctx = SshContext::new();
    if let Ok(n) = std::env::var("PROBE_N") {
        let n: usize = n.parse().unwrap();
        let ctx = std::sync::Arc::new(ctx);
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
        let t = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (ctx, target, sem, cmd) = (ctx.clone(), target.clone(), sem.clone(), a[8].clone());
            tasks.spawn(async move {
                let _p = sem.acquire_owned().await.unwrap();
                let s = Session::connect(&ctx, &target).await.map_err(|e| e.to_string())?;
                let out = s.exec(&cmd, timeout, cap).await;
                s.close().await;
                Ok::<_, String>(out.stdout.text)
            });
        }
        let mut ok = 0;
        let mut errs = std::collections::BTreeMap::new();
        while let Some(r) = tasks.join_next().await {
            match r.unwrap() { Ok(_) => ok += 1, Err(e) => *errs.entry(e).or_insert(0) += 1 }
        }
        println!("{n} hosts: {ok} ok in {:?}; errors: {errs:?}", t.elapsed());
        return;
    }
    let t = Instant::now();
    let session = match Session::connect(&ctx, &target).await {
        Ok(s) => s,
        Err(e) => {
            println!("CONNECT ERR after {:?}: kind={:?}\n  {}", t.elapsed(), e.kind, e);
            return;
        }
    };
    println!("connected in {:?}", t.elapsed());
    for cmd in &a[8..] {
        let out = session.exec(cmd, timeout, cap).await;
        println!(
            "$ {cmd}\n  end={:?} status={:?} signal={:?} dur={:?}\n  stdout={:?} ({} bytes, trunc={})\n  stderr={:?} ({} bytes, trunc={})",
            out.end, out.exit_status, out.exit_signal, out.duration,
            out.stdout.text, out.stdout.bytes, out.stdout.truncated,
            out.stderr.text, out.stderr.bytes, out.stderr.truncated
        );
    }
    let t = Instant::now();
    session.close().await;
    println!("closed in {:?}", t.elapsed());
}
