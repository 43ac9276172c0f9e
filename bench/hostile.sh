#!/usr/bin/env bash
# Issue 12: peak memory of a run where every host sends the worst ~1 MiB
# for each of fleet's parsers (bench/hostile-bench.kdl, 9 steps), against
# simulated hosts (bench/sim, `fleet-hostile KIND`), measured with
# /usr/bin/time -v (maximum resident set size).
#
#   bench/hostile.sh [N]          # default 100 hosts, forks = N
# Environment: FLEET (release binary), FORKS (N), STEPS (all: a step name
#   to keep only that one, e.g. STEPS=columns), REPORT=1 (also write the
#   JSON report, which holds every byte of output), AS_LIMIT_MB (run fleet
#   under `ulimit -v`, to show a build without the limits running out).
# Prints the command, wall, max RSS, exit code and summary line; keeps
# fleet's stdout/stderr and time -v output in $BENCH_DIR/hostile/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
BENCH_DIR=${BENCH_DIR:-/tmp/fleet-bench}
S=$BENCH_DIR/hostile
target=${CARGO_TARGET_DIR:-$repo/target}
FLEET=${FLEET:-$target/release/fleet}
SIM=${SIM:-$target/release/fleet-sim}
N=${1:-100}
BASE=${BASE_PORT:-41000}
# shellcheck source=bench/lib-sim.sh
. "$here/lib-sim.sh"
awk -v n="$N" -v b="$BASE" -v k="$hk" 'BEGIN { for (i = 0; i < n; i++) printf "[127.1.%d.%d]:%d %s\n", int(i / 250), i % 250 + 1, b, k }' >"$S/known_hosts"
{
    echo "defaults {"
    echo "    user \"fleetbench\""
    echo "    identity-file \"$S/client_key\""
    echo "    known-hosts \"$S/known_hosts\""
    echo "    connect-timeout \"60s\""
    echo "}"
    echo "group sim {"
    awk -v n="$N" -v b="$BASE" 'BEGIN { for (i = 0; i < n; i++) printf "    host s%d address=\"127.1.%d.%d\" port=%d\n", i + 1, int(i / 250), i % 250 + 1, b }'
    echo "}"
} >"$S/inv.kdl"
wf=$here/hostile-bench.kdl
if [ -n "${STEPS:-}" ]; then
    # Keep the workflow header and the one step named in STEPS.
    awk -v keep="$STEPS" '
        /^    step / { on = ($2 == keep) }
        /^workflow|^    (description|timeout)|^}/ || on { print }' "$wf" >"$S/workflow.kdl"
    wf=$S/workflow.kdl
fi

"$SIM" --key "$S/host_key" --base-port "$BASE" --ports 1 --addrs "$N" --workers 1 >"$S/sim.out" 2>"$S/sim.err" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q ready "$S/sim.out" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$S/sim.out" || { cat "$S/sim.err" >&2; exit 1; }

rm -rf "$S/state"
args=(run "$wf" -i "$S/inv.kdl" --forks "${FORKS:-$N}")
[ "${REPORT:-0}" = 1 ] && args+=(--report-json "$S/report.json")
echo "command: /usr/bin/time -v $FLEET ${args[*]}${AS_LIMIT_MB:+  (ulimit -v ${AS_LIMIT_MB} MB)}"
set +e
(
    [ -n "${AS_LIMIT_MB:-}" ] && ulimit -v $((AS_LIMIT_MB * 1024))
    FLEET_STATE_DIR=$S/state exec /usr/bin/time -v -o "$S/time" "$FLEET" "${args[@]}"
) >"$S/fleet.out" 2>"$S/fleet.err"
rc=$?
set -e
rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$S/time")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$S/time")
summary=$(grep -aE '^(PASSED|FAILED|ERROR|UNREACHABLE)' "$S/fleet.out" | tail -1 || true)
echo "N=$N forks=${FORKS:-$N} steps=${STEPS:-all} wall=$wall max_rss=$((${rss:-0} / 1024))MB ($((${rss:-0} / N)) KB per host) exit=$rc: ${summary:-$(tail -c 300 "$S/fleet.err")}"
if [ "${REPORT:-0}" = 1 ] && [ -f "$S/report.json" ]; then
    echo "report: $(stat -c %s "$S/report.json") bytes"
fi
