#!/usr/bin/env bash
# Plain OpenSSH baselines. Usage: ssh-baselines.sh MODE T N
#   per-step     xargs -P N ssh, once per step (5 connections per host)
#   per-host     one ssh per host running all five commands (default kex)
#   per-host-c25519  same with KexAlgorithms=curve25519-sha256
#   clush        ClusterShell's clush, once per step, fanout N
# Checks: every ssh exited 0 (xargs returns 123 otherwise) and the df output
# has N data lines, all below 90% capacity.
set -uo pipefail
mode=$1 T=$2 N=$3
cfg=(-F "$T/ssh_config")
steps=("df -P /" "uptime" "head -3 /proc/meminfo" "date +%s" "ls -la /tmp | wc -l")
all='df -P /; uptime; head -3 /proc/meminfo; date +%s; ls -la /tmp | wc -l'
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dfcheck() { # FILE: N df data lines, capacity < 90
    awk -v n="$N" '/^Filesystem/ {next} $6 == "/" {c++; sub("%","",$5); if ($5+0 >= 90) bad++} END {exit !(c == n && !bad)}' "$1"
}
case $mode in
per-step)
    for i in "${!steps[@]}"; do
        seq 1 "$N" | xargs -P "$N" -I{} ssh "${cfg[@]}" h{} "${steps[$i]}" >"$out/$i" || { echo "step $i failed" >&2; exit 1; }
    done
    dfcheck "$out/0" ;;
per-host)
    seq 1 "$N" | xargs -P "$N" -I{} ssh "${cfg[@]}" h{} "$all" >"$out/all" || exit 1
    dfcheck "$out/all" ;;
per-host-c25519)
    seq 1 "$N" | xargs -P "$N" -I{} ssh "${cfg[@]}" -o KexAlgorithms=curve25519-sha256 h{} "$all" >"$out/all" || exit 1
    dfcheck "$out/all" ;;
clush)
    for i in "${!steps[@]}"; do
        clush -S -f "$N" -w "h[1-$N]" -O ssh_options="-F $T/ssh_config" -O connect_timeout=20 -N "${steps[$i]}" >"$out/$i" || { echo "clush step $i failed" >&2; exit 1; }
    done
    dfcheck "$out/0" ;;
*) echo "unknown mode $mode" >&2; exit 2 ;;
esac
