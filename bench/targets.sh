#!/usr/bin/env bash
# N real OpenSSH sshd targets on 127.0.0.1 for the benchmark, logged into as
# the light-shell user `fleetbench` (/bin/sh, no start-up files), plus the
# inventory/host files every benchmarked tool needs.
#
#   bench/targets.sh start N     # stops earlier targets first
#   bench/targets.sh stop
#
# Reuses scripts/lib-sshd.sh (the same sshd_config as scripts/demo-targets:
# MaxStartups 100:30:200, MaxSessions 100, UsePAM no, ed25519 host key).
# Everything lives under ${BENCH_DIR:-/tmp/fleet-bench}/targets:
#   client_key, known_hosts, ssh_config (Host h1..hN -> 127.0.0.1:PORT)
#   fleet.kdl       fleet inventory
#   ansible.ini     Ansible inventory (ansible_port per host)
#   pyinfra_inv.py  pyinfra inventory
#   hosts.txt       "PORT" per line (parallel-ssh, xargs)
# LATENCY_MS=50 puts bench/latency-proxy.py in front of every sshd (half the
# delay each way, so a round trip costs LATENCY_MS): every file above then
# names the proxy's ports, so all tools meet the same network.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib-sshd.sh
. "$here/../scripts/lib-sshd.sh"

BENCH_DIR=${BENCH_DIR:-/tmp/fleet-bench}
T=$BENCH_DIR/targets
BENCH_USER=${BENCH_USER:-fleetbench}

ensure_user() {
    if ! getent passwd "$BENCH_USER" >/dev/null; then
        useradd -m -s /bin/sh "$BENCH_USER"
    fi
    # A locked account ('!') is refused by sshd with UsePAM no.
    usermod -p '*' "$BENCH_USER"
}

cmd_stop() {
    local dir n=0
    if [ -f "$T/proxy.pid" ]; then
        kill "$(cat "$T/proxy.pid")" 2>/dev/null || true
        rm -f "$T/proxy.pid"
    fi
    [ -d "$T/hosts" ] || return 0
    for dir in "$T"/hosts/*/; do
        [ -d "$dir" ] || continue
        dir=${dir%/}
        if sshd_pid "$dir" >/dev/null; then
            sshd_stop_host "$dir"
            n=$((n + 1))
        fi
    done
    echo "stopped $n target(s)" >&2
}

cmd_start() {
    local n=$1 i dir port
    sshd_ensure_installed
    ensure_user
    cmd_stop
    rm -rf "$T"
    mkdir -p "$T/hosts"
    chmod 0755 "$BENCH_DIR" "$T" "$T/hosts"
    sshd_keygen "$T/client_key" fleet-bench-client
    cp "$T/client_key.pub" "$T/authorized_keys"
    chmod 0644 "$T/authorized_keys"
    : >"$T/known_hosts"
    : >"$T/hosts.txt"
    for i in $(seq 1 "$n"); do
        dir=$T/hosts/h$i
        local tries=0
        port=$(sshd_pick_port)
        until sshd_start_host "h$i" "$dir" "$port" "$T/authorized_keys" 2>"$dir.err"; do
            tries=$((tries + 1))
            [ $tries -lt 5 ] || { cat "$dir.err" >&2; exit 1; }
            port=$(sshd_pick_port)
        done
        rm -f "$dir.err"
        echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >>"$T/known_hosts"
        echo "$port" >>"$T/hosts.txt"
    done
    if [ "${LATENCY_MS:-0}" != 0 ]; then
        start_proxy
    fi
    write_files "$n"
    echo "started $n sshd targets under $T (user $BENCH_USER, shell $(getent passwd "$BENCH_USER" | cut -d: -f7))" >&2
}

# start_proxy: one proxy process for every target; hosts.txt and
# known_hosts are rewritten to the proxy's ports.
start_proxy() {
    local real proxy maps=() used=" "
    mv "$T/hosts.txt" "$T/real-ports.txt"
    mv "$T/known_hosts" "$T/real-known_hosts"
    : >"$T/hosts.txt"
    : >"$T/known_hosts"
    while read -r real; do
        proxy=$(sshd_pick_port)
        while [[ $used == *" $proxy "* ]]; do proxy=$(sshd_pick_port); done
        used+="$proxy "
        maps+=(--map "$proxy:$real")
        echo "$proxy" >>"$T/hosts.txt"
        grep -F "[127.0.0.1]:$real " "$T/real-known_hosts" | sed "s/^\[127.0.0.1\]:$real /[127.0.0.1]:$proxy /" >>"$T/known_hosts"
    done <"$T/real-ports.txt"
    python3 "$here/latency-proxy.py" --delay-ms "$(echo "$LATENCY_MS / 2" | bc -l)" "${maps[@]}" \
        >"$T/proxy.out" 2>"$T/proxy.err" </dev/null &
    echo $! >"$T/proxy.pid"
    for _ in $(seq 1 100); do grep -q ready "$T/proxy.out" 2>/dev/null && break; sleep 0.05; done
    grep -q ready "$T/proxy.out" || { cat "$T/proxy.err" >&2; exit 1; }
    echo "latency proxy: ${LATENCY_MS} ms round trip in front of every target" >&2
}

write_files() {
    local n=$1 i port
    {
        echo "defaults {"
        echo "    user \"$BENCH_USER\""
        echo "    identity-file \"$T/client_key\""
        echo "    known-hosts \"$T/known_hosts\""
        echo "    connect-timeout \"20s\""
        echo "}"
        echo "group bench {"
        i=0
        while read -r port; do
            i=$((i + 1))
            echo "    host h$i address=\"127.0.0.1\" port=$port"
        done <"$T/hosts.txt"
        echo "}"
    } >"$T/fleet.kdl"
    sed 's/^defaults {$/defaults {\n    session "per-step"/' "$T/fleet.kdl" >"$T/fleet-per-step.kdl"
    {
        echo "Host *"
        echo "    User $BENCH_USER"
        echo "    IdentityFile $T/client_key"
        echo "    IdentitiesOnly yes"
        echo "    UserKnownHostsFile $T/known_hosts"
        echo "    StrictHostKeyChecking yes"
        echo "    BatchMode yes"
        echo "    ConnectTimeout 20"
        i=0
        while read -r port; do
            i=$((i + 1))
            printf 'Host h%s\n    HostName 127.0.0.1\n    Port %s\n    HostKeyAlias [127.0.0.1]:%s\n' "$i" "$port" "$port"
        done <"$T/hosts.txt"
    } >"$T/ssh_config"
    {
        echo "[bench]"
        i=0
        while read -r port; do
            i=$((i + 1))
            echo "h$i ansible_host=127.0.0.1 ansible_port=$port"
        done <"$T/hosts.txt"
        echo "[bench:vars]"
        echo "ansible_user=$BENCH_USER"
        echo "ansible_ssh_private_key_file=$T/client_key"
        echo "ansible_ssh_common_args='-o UserKnownHostsFile=$T/known_hosts -o StrictHostKeyChecking=yes'"
    } >"$T/ansible.ini"
    {
        echo "hosts = ["
        i=0
        while read -r port; do
            i=$((i + 1))
            echo "    (\"h$i\", {\"ssh_hostname\": \"127.0.0.1\", \"ssh_port\": $port}),"
        done <"$T/hosts.txt"
        echo "]"
    } >"$T/pyinfra_inv.py"
    # pyinfra's per-host connection data, shared by all hosts.
    cat >"$T/group_data_all.py" <<EOF
ssh_user = "$BENCH_USER"
ssh_key = "$T/client_key"
ssh_known_hosts_file = "$T/known_hosts"
ssh_strict_host_key_checking = "yes"
EOF
}

case ${1:-} in
    start) cmd_start "${2:?N}" ;;
    stop) cmd_stop ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
esac
