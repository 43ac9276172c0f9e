#!/usr/bin/env bash
# fleet against thousands of simulated hosts (bench/sim, one process).
#
#   bench/scale.sh [N...]        # default: 1000 5000
# Every simulated host has its own loopback address (127.1.X.Y, one port)
# and its own known_hosts line, as a real fleet has; SHARED_ADDR=1 maps
# the hosts onto PORTS ports of 127.0.0.1 instead (PORTS known_hosts lines).
# Environment: DELAY_MS (50), PORTS (50, with SHARED_ADDR=1), FORKS (N),
#   REPS (3), DROP_RATE/FAIL_RATE (0), FLEET (release binary),
#   EXTRA (extra fleet arguments, e.g. "--report-json /tmp/r.json"),
#   SESSION ("per-step": a channel per step, the mode before issue 14;
#   default: fleet's default, one shared session per host),
#   WRAP (a command prefix for fleet, e.g. "perf record -g -o /tmp/p.data --").
# SHARDS=K (issue 15): per N, also one run of bench/shard-bench.kdl and
#   the same run as K `fleet run --shard I/K` processes at once, then
#   `fleet report merge`: prints the slowest shard, the merge's wall time
#   and peak RSS, and whether every host's and step's status, every
#   broken rule and every fleet check equal the single run's.
# Per N prints one line per run: wall, fleet user/sys CPU, fleet peak RSS,
# the simulator's CPU over the run, per-host costs, and fleet's exit code
# (0 = every host passed every step).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
BENCH_DIR=${BENCH_DIR:-/tmp/fleet-bench}
S=$BENCH_DIR/sim
target=${CARGO_TARGET_DIR:-$repo/target}
FLEET=${FLEET:-$target/release/fleet}
SIM=${SIM:-$target/release/fleet-sim}
DELAY_MS=${DELAY_MS:-50}
PORTS=${PORTS:-50}
BASE=${BASE_PORT:-40000}
REPS=${REPS:-3}
# shellcheck source=bench/lib-sim.sh
. "$here/lib-sim.sh"
maxn=0
for n in ${@:-1000 5000}; do [ "$n" -gt "$maxn" ] && maxn=$n; done
if [ "${SHARED_ADDR:-0}" = 1 ]; then
    addrs=0
else
    addrs=$maxn PORTS=1
fi
: >"$S/known_hosts"
if [ "$addrs" = 0 ]; then
    for ((p = 0; p < PORTS; p++)); do echo "[127.0.0.1]:$((BASE + p)) $hk" >>"$S/known_hosts"; done
else
    awk -v n="$maxn" -v b="$BASE" -v k="$hk" 'BEGIN { for (i = 0; i < n; i++) printf "[127.1.%d.%d]:%d %s\n", int(i / 250), i % 250 + 1, b, k }' >"$S/known_hosts"
fi

"$SIM" --key "$S/host_key" --base-port "$BASE" --ports "$PORTS" --addrs "$addrs" --delay-ms "$DELAY_MS" \
    --drop-rate "${DROP_RATE:-0}" --fail-rate "${FAIL_RATE:-0}" >"$S/sim.out" 2>"$S/sim.err" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q ready "$S/sim.out" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$S/sim.out" || { cat "$S/sim.err" >&2; exit 1; }
sim_cpu() { awk '{print ($14 + $15) / 100}' "/proc/$sim/stat"; }

echo "fleet-sim: $([ "$addrs" = 0 ] && echo "127.0.0.1, $PORTS ports from $BASE" || echo "$addrs addresses 127.1.x.y:$BASE"), delay ${DELAY_MS} ms, drop ${DROP_RATE:-0}, fail ${FAIL_RATE:-0}; fleet $FLEET"
for n in "${@:-1000 5000}"; do
    for n1 in $n; do
        inv=$S/inv-$n1.kdl
        {
            echo "defaults {"
            echo "    user \"fleetbench\""
            echo "    identity-file \"$S/client_key\""
            echo "    known-hosts \"$S/known_hosts\""
            echo "    connect-timeout \"30s\""
            [ -n "${SESSION:-}" ] && echo "    session \"$SESSION\""
            echo "}"
            echo "group sim {"
            if [ "$addrs" = 0 ]; then
                awk -v n="$n1" -v b="$BASE" -v p="$PORTS" 'BEGIN { for (i = 0; i < n; i++) printf "    host s%d address=\"127.0.0.1\" port=%d\n", i + 1, b + i % p }'
            else
                awk -v n="$n1" -v b="$BASE" 'BEGIN { for (i = 0; i < n; i++) printf "    host s%d address=\"127.1.%d.%d\" port=%d\n", i + 1, int(i / 250), i % 250 + 1, b }'
            fi
            echo "}"
        } >"$inv"
        for ((r = 1; r <= REPS; r++)); do
            c0=$(sim_cpu)
            set +e
            FLEET_STATE_DIR=$S/state /usr/bin/time -f "%e %U %S %M" -o "$S/time" ${WRAP:-} "$FLEET" run "$here/weekly-bench.kdl" -i "$inv" \
                --forks "${FORKS:-$n1}" ${EXTRA:-} >"$S/fleet-$n1.out" 2>"$S/fleet-$n1.err"
            rc=$?
            set -e
            c1=$(sim_cpu)
            read -r wall usr sys rss < <(tail -n 1 "$S/time")
            awk -v n="$n1" -v w="$wall" -v u="$usr" -v s="$sys" -v m="$rss" -v rc="$rc" -v sc="$(echo "$c1 - $c0" | bc)" \
                -v summary="$(grep -E '^(PASSED|FAILED|UNREACHABLE)' "$S/fleet-$n1.out" | head -1)" 'BEGIN {
                printf "N=%d wall=%.2fs fleet_cpu=%.2fs (user %.2f sys %.2f) peak_rss=%.0fMB sim_cpu=%.2fs | per host: %.2f ms wall, %.3f ms fleet CPU, %.1f KB RSS | exit %d: %s\n",
                    n, w, u + s, u, s, m / 1024, sc, w * 1000 / n, (u + s) * 1000 / n, m / n, rc, summary }'
        done
    done
done

# shard_compare N INVENTORY: one run vs SHARDS shards merged (see above).
shard_compare() {
    local n=$1 inv=$2 wf=$here/shard-bench.kdl out=$S/shards-$1 i
    rm -rf "$out" && mkdir -p "$out"
    "$FLEET" run "$wf" -i "$inv" --forks "${FORKS:-$n}" --state-dir "$out/state" \
        --report "json=$out/single.json" >"$out/single.out" 2>&1 || true
    local t0 t1 pids=()
    t0=$(date +%s%N)
    for ((i = 1; i <= SHARDS; i++)); do
        /usr/bin/time -f "%e %M" -o "$out/time-$i" "$FLEET" run "$wf" -i "$inv" --forks "${FORKS:-$n}" \
            --shard "$i/$SHARDS" --run-id "bench-$n" --report "json=$out/part-$i.json" >"$out/shard-$i.out" 2>&1 &
        pids+=($!)
    done
    # Only the shards: the simulator is a child of this shell too.
    wait "${pids[@]}" || true
    t1=$(date +%s%N)
    set +e
    /usr/bin/time -f "%e %M" -o "$out/time-merge" "$FLEET" report merge "$out"/part-*.json \
        --report "json=$out/merged.json" >"$out/merge.out" 2>&1
    local rc=$?
    set -e
    # Everything but times, durations and output.
    local verdicts='{hosts: [.hosts[] | {name, status, steps: [.steps[] | {name, status, failures}]}], fleet_checks, totals}'
    local same=no
    cmp -s <(jq -S "$verdicts" "$out/single.json") <(jq -S "$verdicts" "$out/merged.json") && same=yes
    read -r mwall mrss < <(tail -n 1 "$out/time-merge")
    printf 'N=%d shards=%d: all shards done in %.2fs (slowest %ss) | merge %ss, peak RSS %.0f MB, exit %d | same statuses, failures and fleet checks as one run: %s\n' \
        "$n" "$SHARDS" "$(echo "($t1 - $t0) / 1000000000" | bc -l)" \
        "$(for ((i = 1; i <= SHARDS; i++)); do tail -n 1 "$out/time-$i" | cut -d' ' -f1; done | sort -n | tail -n 1)" \
        "$mwall" "$(echo "$mrss / 1024" | bc -l)" "$rc" "$same"
    grep -E '^(PASSED|FAILED|UNREACHABLE)' "$out/merge.out" | head -n 1
}
if [ "${SHARDS:-0}" -gt 0 ]; then
    for n in "${@:-1000 5000}"; do shard_compare "$n" "$S/inv-$n.kdl"; done
fi
