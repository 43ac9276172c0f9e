#!/usr/bin/env python3
"""Issue 8 benchmark driver: fleet against the tools operators use today.

For every N it starts N real sshd targets (bench/targets.sh), then runs each
tool's 5-step workflow REPS times, tools interleaved and rotated within each
repetition so that a noisy machine hits every tool alike. Each run is
checked for success on all N hosts (a failed run is reported, never timed
silently).

Per run it records:
  wall    wall-clock seconds
  cpu     controller CPU (user+sys) of the whole process tree, from a
          cgroup-v1 cpuacct group the run is started in (so detached
          children such as Ansible's ControlPersist masters count too);
          falls back to getrusage(children) without cgroups
  rss1    peak RSS of the largest single process (wait4 ru_maxrss)
  rsst    peak of the summed RSS of every process of the tree, sampled
          every 50 ms from /proc (what the controller needed at once)
  tcpu    target CPU: user+sys of every target sshd daemon and its reaped
          descendants (sessions, shells, commands), from /proc/PID/stat

Writes raw runs as JSON lines and a Markdown table (medians, fleet's ratio
against each tool). Usage: see bench/README.md.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BENCH_DIR = os.environ.get("BENCH_DIR", "/tmp/fleet-bench")
T = os.path.join(BENCH_DIR, "targets")
VENV = os.path.join(BENCH_DIR, "venv")
CPUACCT = "/sys/fs/cgroup/cpuacct"
PAGE = os.sysconf("SC_PAGE_SIZE")


def tools(fleet_bin, fleet_before=None):
    """name -> (shell command for N hosts, success check(stdout, N))."""
    peers = os.path.join(HERE, "peers")
    base = os.path.join(peers, "ssh-baselines.sh")

    def fleet_ok(out, n):
        return f"hosts {n} ok" in out

    def ansible_ok(out, n):
        recap = [l for l in out.splitlines() if " : ok=" in l]
        good = [l for l in recap if " failed=0 " in l and " unreachable=0 " in l and "ok=6" in l]
        return len(recap) == n and len(good) == n

    def pyinfra_ok(out, n):
        import re
        m = re.search(r"Grand total\s+(\d+)\s+(\d+)\s+-", out)
        return bool(m) and int(m.group(1)) == 5 * n and int(m.group(2)) == 5 * n

    def pssh_ok(out, n):
        return f"0 failures over {n} hosts" in out

    return {
        "fleet": (f"{fleet_bin} run {HERE}/weekly-bench.kdl -i {T}/fleet.kdl --forks {{n}}", fleet_ok),
        # Another fleet build (e.g. before an optimisation), same run.
        "fleet-before": (f"{fleet_before} run {HERE}/weekly-bench.kdl -i {T}/fleet.kdl --forks {{n}}", fleet_ok),
        # The same build with a channel per step (inventory `session
        # "per-step"`): the mode before issue 14, same run.
        "fleet-per-step": (f"{fleet_bin} run {HERE}/weekly-bench.kdl -i {T}/fleet-per-step.kdl --forks {{n}}", fleet_ok),
        "ssh-per-host-c25519": (f"{base} per-host-c25519 {T} {{n}}", None),
        "ssh-per-host": (f"{base} per-host {T} {{n}}", None),
        "ssh-per-step": (f"{base} per-step {T} {{n}}", None),
        "parallel-ssh": (f"{VENV}/bin/python {peers}/pssh_run.py {T} {{n}}", pssh_ok),
        "clush": (f"PATH={VENV}/bin:$PATH {base} clush {T} {{n}}", None),
        "pyinfra": (
            f"{VENV}/bin/pyinfra {T}/pyinfra_inv.py {peers}/pyinfra_deploy.py -y --parallel {{n}}"
            f" --data ssh_user=fleetbench --data ssh_key={T}/client_key"
            f" --data ssh_known_hosts_file={T}/known_hosts --data ssh_strict_host_key_checking=yes",
            pyinfra_ok,
        ),
        "ansible": (
            f"ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_GATHERING=explicit"
            f" ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_SSH_CONTROL_PATH_DIR={{tmp}}/cp"
            f" ANSIBLE_LOCAL_TEMP={{tmp}}/at ANSIBLE_NOCOLOR=1"
            f" {VENV}/bin/ansible-playbook -i {T}/ansible.ini -f {{n}} {peers}/playbook.yml",
            ansible_ok,
        ),
    }


class Cgroup:
    def __init__(self):
        self.path = os.path.join(CPUACCT, "fleetbench-" + uuid.uuid4().hex[:10])
        try:
            os.mkdir(self.path)
        except OSError:
            self.path = None

    def join_self(self):  # runs in the child before exec
        if self.path:
            with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def pids(self):
        if not self.path:
            return []
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def kill_rest(self):
        for _ in range(100):
            left = self.pids()
            if not left:
                return
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def cpu(self):
        if not self.path:
            return None
        with open(os.path.join(self.path, "cpuacct.usage")) as f:
            return int(f.read()) / 1e9

    def remove(self):
        if self.path:
            self.kill_rest()
            try:
                os.rmdir(self.path)
            except OSError:
                pass


def rss_of(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def target_cpu():
    """User+sys seconds of every target sshd daemon, children included."""
    total = 0.0
    hosts = os.path.join(T, "hosts")
    for d in os.listdir(hosts) if os.path.isdir(hosts) else []:
        try:
            with open(os.path.join(hosts, d, "sshd.pid")) as f:
                pid = f.read().strip()
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
    return total


def measure(name, cmd, check, n, logdir):
    tmp = os.path.join(BENCH_DIR, "run-" + uuid.uuid4().hex[:8])
    os.makedirs(tmp)
    cmd = cmd.format(n=n, tmp=tmp)
    cg = Cgroup()
    out_path = os.path.join(logdir, f"{name}-{n}.out")
    err_path = os.path.join(logdir, f"{name}-{n}.err")
    peak_tree = 0
    stop = threading.Event()

    def sample():
        nonlocal peak_tree
        while not stop.is_set():
            pids = cg.pids() if cg.path else [proc.pid]
            peak_tree = max(peak_tree, sum(rss_of(p) for p in pids))
            stop.wait(0.05)

    tcpu0 = target_cpu()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            ["bash", "-c", cmd], stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            preexec_fn=cg.join_self, cwd=tmp,
        )
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        sampler.join()
    cg.kill_rest()
    # Sessions still closing when the tool exits are reaped a moment later.
    time.sleep(0.3)
    tcpu = target_cpu() - tcpu0
    cpu = cg.cpu()
    cg.remove()
    if cpu is None:
        cpu = ru.ru_utime + ru.ru_stime
    subprocess.run(["rm", "-rf", tmp])
    with open(out_path) as f, open(err_path) as g:
        stdout = f.read() + g.read()
    ok = proc.returncode == 0 and (check is None or check(stdout, n))
    return {
        "tool": name, "n": n, "ok": ok, "rc": proc.returncode, "wall": round(wall, 3),
        "cpu": round(cpu, 3), "rss1_mb": round(ru.ru_maxrss / 1024, 1),
        "rsst_mb": round(peak_tree / 2**20, 1), "tcpu": round(tcpu, 3),
    }


def fmt_ratio(a, b):
    if not a or not b:
        return "–"
    return f"{a / b:.2f}"


def table(rows, ns, names):
    lines = []
    for n in ns:
        by = {t: [r for r in rows if r["n"] == n and r["tool"] == t] for t in names}
        if not any(by.values()):
            continue
        med = {}
        for t, rs in by.items():
            good = [r for r in rs if r["ok"]]
            if not rs:
                continue
            src = good or rs
            med[t] = {k: statistics.median(r.get(k, 0) for r in src) for k in ("wall", "cpu", "rss1_mb", "rsst_mb", "tcpu")}
            med[t]["runs"] = len(rs)
            med[t]["ok"] = len(good)
        f = med.get("fleet")
        lines.append(f"\n### N = {n}\n")
        lines.append("| tool | runs ok | wall s (median) | controller CPU s | peak RSS largest process MB | peak RSS whole tree MB | target CPU s | fleet wall ÷ tool | fleet CPU ÷ tool | fleet tree RSS ÷ tool |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for t in names:
            m = med.get(t)
            if not m:
                continue
            lines.append(
                f"| {t} | {m['ok']}/{m['runs']} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['rss1_mb']:.0f} | {m['rsst_mb']:.0f} | {m['tcpu']:.2f} | "
                + (" | ".join(["1", "1", "1"]) if t == "fleet" else
                   f"{fmt_ratio(f and f['wall'], m['wall'])} | {fmt_ratio(f and f['cpu'], m['cpu'])} | {fmt_ratio(f and f['rsst_mb'], m['rsst_mb'])}")
                + " |"
            )
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="10,50,100,200")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tools", default="fleet,ssh-per-host-c25519,ssh-per-host,ssh-per-step,parallel-ssh,clush,pyinfra,ansible")
    ap.add_argument("--ansible-reps", type=int, default=1, help="repetitions for Ansible (slow)")
    ap.add_argument("--slow", default="ssh-per-step,clush", help="tools run only --slow-reps times at N >= 100")
    ap.add_argument("--slow-reps", type=int, default=1)
    ap.add_argument("--ansible-max-n", type=int, default=100, help="skip Ansible above this N")
    ap.add_argument("--fleet", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "fleet"))
    ap.add_argument("--fleet-before", help="a second fleet binary, benchmarked as tool fleet-before")
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "results"))
    ap.add_argument("--latency-ms", type=float, default=0, help="round trip added by bench/latency-proxy.py in front of every target")
    a = ap.parse_args()
    ns = [int(x) for x in a.ns.split(",")]
    all_tools = tools(a.fleet, a.fleet_before)
    names = [t for t in a.tools.split(",") if t]
    if a.fleet_before and "fleet-before" not in names:
        names.insert(1, "fleet-before")
    for t in names:
        if t not in all_tools:
            sys.exit(f"unknown tool {t}")
    os.makedirs(a.out, exist_ok=True)
    raw_path = os.path.join(a.out, "runs.jsonl")
    rows = []
    with open(raw_path, "a") as raw:
        for n in ns:
            env = dict(os.environ, LATENCY_MS=str(a.latency_ms).rstrip("0").rstrip(".") or "0")
            subprocess.run([os.path.join(HERE, "targets.sh"), "start", str(n)], check=True, env=env)
            # Warm the targets (page cache, sshd binary) with one unmeasured pass.
            subprocess.run([os.path.join(HERE, "peers", "ssh-baselines.sh"), "per-host-c25519", T, str(n)], check=False)
            for rep in range(a.reps):
                order = names[rep % len(names):] + names[: rep % len(names)]
                for t in order:
                    if t == "ansible" and (rep >= a.ansible_reps or n > a.ansible_max_n):
                        continue
                    if t in a.slow.split(",") and n >= 100 and rep >= a.slow_reps:
                        continue
                    cmd, check = all_tools[t]
                    r = measure(t, cmd, check, n, a.out)
                    r["rep"] = rep
                    rows.append(r)
                    raw.write(json.dumps(r) + "\n")
                    raw.flush()
                    print(json.dumps(r), flush=True)
            subprocess.run([os.path.join(HERE, "targets.sh"), "stop"], check=False)
    md = table(rows, ns, names)
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
