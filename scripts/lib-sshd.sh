# shellcheck shell=bash
# Shared shell code for starting throw-away OpenSSH servers on 127.0.0.1.
# Sourced by scripts/demo-targets and .ci/run; defines functions only.

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}

sshd_log() { printf '%s\n' "$*" >&2; }

# Installs Debian's openssh-server when sshd is missing (apt-get update only
# if the plain install fails), and makes sshd's privilege-separation dir.
sshd_ensure_installed() {
    if [ ! -x "$SSHD_BIN" ] || ! command -v ssh-keygen >/dev/null || ! command -v ssh >/dev/null; then
        if [ "$(id -u)" -ne 0 ]; then
            sshd_log "error: $SSHD_BIN (openssh-server) is missing; install it: sudo apt-get install -y openssh-server"
            return 1
        fi
        sshd_log "installing openssh-server (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -q --no-install-recommends openssh-server openssh-client </dev/null; then
            apt-get update -q </dev/null
            apt-get install -y -q --no-install-recommends openssh-server openssh-client </dev/null
        fi
        # Debian's package may try to start the system sshd; we don't need it.
    fi
    if [ "$(id -u)" -eq 0 ]; then
        mkdir -p /run/sshd
        chmod 0755 /run/sshd
    fi
}

# Does something on 127.0.0.1:$1 answer with an SSH-2.0 banner? (bash /dev/tcp)
sshd_banner_ok() {
    local port=$1 line=""
    {
        exec 3<>"/dev/tcp/127.0.0.1/$port"
    } 2>/dev/null || return 1
    IFS= read -r -t 2 line <&3 || true
    exec 3<&- 3>&-
    [[ $line == SSH-2.0* ]]
}

# Is anything listening on 127.0.0.1:$1?
sshd_port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a port below the kernel's ephemeral range that nothing listens on.
sshd_pick_port() {
    local port tries=0
    while [ $tries -lt 200 ]; do
        port=$((20000 + RANDOM % 12000))
        if ! sshd_port_busy "$port"; then
            echo "$port"
            return 0
        fi
        tries=$((tries + 1))
    done
    sshd_log "error: no free port found"
    return 1
}

# sshd_keygen FILE COMMENT: an ed25519 key without passphrase, if missing.
sshd_keygen() {
    [ -f "$1" ] && [ -f "$1.pub" ] && return 0
    rm -f "$1" "$1.pub"
    ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1" </dev/null
}

# sshd_write_config DIR PORT AUTHORIZED_KEYS: DIR/sshd_config for one host
# whose key is DIR/ssh_host_ed25519_key.
sshd_write_config() {
    local dir=$1 port=$2 authorized=$3
    cat >"$dir/sshd_config" <<CFG
# Written by fleet's scripts/lib-sshd.sh.
ListenAddress 127.0.0.1:$port
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $authorized
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
MaxStartups 100:30:200
MaxSessions 100
LogLevel ERROR
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
Subsystem sftp internal-sftp
CFG
}

# sshd_pid DIR: pid of the sshd serving DIR/sshd_config, if it runs.
sshd_pid() {
    local dir=$1 pid
    [ -f "$dir/sshd.pid" ] || return 1
    pid=$(cat "$dir/sshd.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    # Guard against a recycled pid: it must be our sshd.
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/sshd_config" || return 1
    echo "$pid"
}

# sshd_start_host NAME DIR PORT AUTHORIZED_KEYS: generates the host key if
# missing, writes the config and starts sshd as a daemon (it binds before it
# detaches, so a taken port fails here); waits for its banner (max ~5 s).
sshd_start_host() {
    local name=$1 dir=$2 port=$3 authorized=$4 i
    mkdir -p "$dir"
    sshd_keygen "$dir/ssh_host_ed25519_key" "fleet-demo-$name" || return 1
    sshd_write_config "$dir" "$port" "$authorized"
    rm -f "$dir/sshd.pid"
    : >"$dir/sshd.log"
    if ! "$SSHD_BIN" -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null; then
        sshd_log "error: sshd for $name on port $port failed to start; log:"
        tail -n 20 "$dir/sshd.log" >&2
        return 1
    fi
    for i in $(seq 1 50); do
        if sshd_banner_ok "$port"; then
            echo "$port" >"$dir/port"
            return 0
        fi
        sleep 0.1
    done
    sshd_log "error: sshd for $name on port $port sent no SSH-2.0 banner; log:"
    tail -n 20 "$dir/sshd.log" >&2
    return 1
}

# sshd_descendants PID: live descendants of PID, from /proc (no procps needed).
sshd_descendants() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        { pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " ");
          if (f[1] != "Z") { parent[pid] = f[2] } }
        END {
            n = 1; queue[1] = root
            for (i = 1; i <= n; i++)
                for (p in parent)
                    if (parent[p] == queue[i]) { queue[++n] = p; print p }
        }'
}

# sshd_alive PID: running and not a zombie.
sshd_alive() {
    [ -r "/proc/$1/stat" ] || return 1
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [ "${st%% *}" != Z ]
}

# sshd_stop_host DIR: kills the sshd serving DIR and its connections; waits.
sshd_stop_host() {
    local dir=$1 pid i child
    pid=$(sshd_pid "$dir") || { rm -f "$dir/sshd.pid"; return 0; }
    kill -STOP "$pid" 2>/dev/null || true
    for child in $(sshd_descendants "$pid"); do
        kill -KILL "$child" 2>/dev/null || true
    done
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        sshd_alive "$pid" || break
        sleep 0.1
    done
    rm -f "$dir/sshd.pid"
}
