# Shared by bench/scale.sh and bench/hostile.sh (sourced, after `here`,
# `repo`, `target`, `FLEET`, `SIM` and `S` are set): builds the simulator
# and fleet when missing, lifts the open-files limit, and makes the
# simulated hosts' key and the client key in $S. Sets `hk`, the host key
# as a known_hosts line ends ("ssh-ed25519 AAAA…").
[ -x "$SIM" ] || (cd "$here/sim" && CARGO_TARGET_DIR=$target cargo build --release -q)
[ -x "$FLEET" ] || (cd "$repo" && CARGO_TARGET_DIR=$target cargo build --release -q)
ulimit -n "$(ulimit -Hn)"

mkdir -p "$S"
[ -f "$S/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C fleet-sim-host -f "$S/host_key"
[ -f "$S/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C fleet-sim-client -f "$S/client_key"
# shellcheck disable=SC2034 # used by the sourcing script
hk=$(cut -d' ' -f1,2 "$S/host_key.pub")
