"""parallel-ssh (libssh2 via ssh2-python) running the 5 steps on every host
over one connection per host; checks every exit code and the df output."""
import sys
from pssh.clients import ParallelSSHClient
from pssh.config import HostConfig

T, n = sys.argv[1], int(sys.argv[2])
ports = [int(p) for p in open(f"{T}/hosts.txt").read().split()][:n]
hosts = ["127.0.0.1"] * len(ports)
cfg = [HostConfig(port=p, user="fleetbench", private_key=f"{T}/client_key") for p in ports]
client = ParallelSSHClient(hosts, host_config=cfg, pool_size=len(hosts), num_retries=1, timeout=30)
steps = ["df -P /", "uptime", "head -3 /proc/meminfo", "date +%s", "ls -la /tmp | wc -l"]
bad = 0
for i, cmd in enumerate(steps):
    out = client.run_command(cmd, stop_on_errors=False)
    client.join(out)
    for o in out:
        lines = list(o.stdout) if o.exception is None else []
        if o.exception is not None or o.exit_code != 0:
            bad += 1
            continue
        if i == 0:
            cap = int(lines[1].split()[4].rstrip("%")) if len(lines) >= 2 else 100
            if cap >= 90:
                bad += 1
print(f"pssh: {bad} failures over {len(hosts)} hosts")
sys.exit(1 if bad else 0)
