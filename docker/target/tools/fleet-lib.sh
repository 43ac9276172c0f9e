# shellcheck shell=bash
# Shared code of the fake operator tools in fleet's SSH target image.
# Sourced by the tools in /opt/fleet/bin; defines variables and functions.
#
# The scenario (FLEET_* variables from docker-compose.yml) is written by the
# entrypoint to /etc/fleet/scenario.env, because an SSH session does not
# inherit the container's environment.

FLEET_STATE=/var/lib/s1
# shellcheck source=/dev/null
[ -r /etc/fleet/scenario.env ] && . /etc/fleet/scenario.env

: "${FLEET_ROLE:=s1}"
: "${FLEET_VERSION:=4.2.0}"
: "${FLEET_S1_NODES:=$HOSTNAME:Leader}"
: "${FLEET_MONGO_SELF:=mongo1}"
: "${FLEET_MONGO_MEMBERS:=mongo1:PRIMARY}"
: "${FLEET_MONGO_SET:=rs0}"

# Privilege Secure's swarm services: short name, image, published ports.
S1_SERVICES=(expire fluentd mongo rabbitmq redis scanner web worker)
s1_image() {
    case $1 in
        mongo) echo "mongo:4.0.20" ;;
        redis) echo "redis:5.0.14" ;;
        rabbitmq) echo "rabbitmq:3.8.9-management" ;;
        fluentd) echo "fluent/fluentd:v1.11-1" ;;
        *) echo "remediant/secureone-$1:$FLEET_VERSION" ;;
    esac
}
s1_ports() {
    case $1 in
        web) echo "*:443->443/tcp" ;;
        mongo) echo "*:27017->27017/tcp" ;;
        *) echo "" ;;
    esac
}

# Stable pseudo-random ids: fleet_id LENGTH SEED [alnum]: hex (container
# ids, UUIDs) or lower-case alphanumeric (swarm service, node and task ids).
fleet_id() {
    local len=$1 seed=$2 out="" n i=0
    while [ ${#out} -lt "$len" ]; do
        n=$(printf '%s/%s' "$seed" "$i" | cksum)
        out+=$(printf '%08x' "${n%% *}")
        i=$((i + 1))
    done
    if [ "${3:-}" = alnum ]; then
        printf '%s\n' "${out:0:$len}" | tr '0-9a-f' 'k2m9x4q7v1z8c3b6'
    else
        printf '%s\n' "${out:0:$len}"
    fi
}

# s1_canon NAME: short service name for NAME, secureone_NAME or s1-NAME.
s1_canon() {
    local n=${1#secureone_}
    n=${n#s1-}
    local s
    for s in "${S1_SERVICES[@]}"; do
        [ "$s" = "$n" ] && { echo "$n"; return 0; }
    done
    return 1
}

# s1_pid SERVICE: pid of the service's process when it runs.
s1_pid() {
    local pid comm
    [ -r "$FLEET_STATE/$1.pid" ] || return 1
    read -r pid <"$FLEET_STATE/$1.pid" || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
    read -r comm <"/proc/$pid/comm" || return 1
    [ "$comm" = "s1-$1" ] || return 1
    local stat
    read -r stat <"/proc/$pid/stat" || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ] || return 1
    echo "$pid"
}

# s1_start SERVICE: starts the service's process (a sleep named s1-SERVICE,
# in its own session so that no SSH session or timeout kills it).
s1_start_proc() {
    local svc=$1
    s1_pid "$svc" >/dev/null && return 0
    setsid "/opt/fleet/lib/s1-$svc" infinity </dev/null >/dev/null 2>&1 &
    echo $! >"$FLEET_STATE/$svc.pid"
}

# s1_stop_proc SERVICE: stops it and waits until it is gone (max ~3 s).
s1_stop_proc() {
    local svc=$1 pid i
    pid=$(s1_pid "$svc") || { rm -f "$FLEET_STATE/$svc.pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do
        s1_pid "$svc" >/dev/null || break
        sleep 0.1
    done
    if s1_pid "$svc" >/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.1
    fi
    rm -f "$FLEET_STATE/$svc.pid"
}

# cached_id LENGTH SEED [alnum]: fleet_id, cached under $FLEET_STATE/ids
# (the entrypoint fills the cache, so a tool call costs no forks for ids).
cached_id() {
    local f="$FLEET_STATE/ids/$2" id
    if [ -r "$f" ] && read -r id <"$f"; then echo "$id"; return 0; fi
    id=$(fleet_id "$1" "$2" "${3:-}")
    { mkdir -p "$FLEET_STATE/ids" && echo "$id" >"$f"; } 2>/dev/null || true
    echo "$id"
}
s1_service_id() { cached_id 12 "svc-$HOSTNAME-$1" alnum; }
s1_node_id() { cached_id 25 "node-$1" alnum; }
s1_task_id() { cached_id 25 "task-$HOSTNAME-$1" alnum; }
mongo_uuid() {
    echo "$(cached_id 8 "uuid1-$HOSTNAME")-$(cached_id 4 "uuid2-$HOSTNAME")-4$(cached_id 3 "uuid3-$HOSTNAME")-8$(cached_id 3 "uuid4-$HOSTNAME")-$(cached_id 12 "uuid5-$HOSTNAME")"
}
s1_container_id() { cached_id 12 "ctr-$HOSTNAME-$1"; }

# Docker-style table printing: rows of TAB-separated cells, padded to the
# widest cell plus 3 spaces (docker's tabwriter), trailing spaces trimmed.
fleet_table() {
    awk -F'\t' -v gap="${1:-3}" '
        function width(v,  t) { t = v; gsub(/…/, ".", t); return length(t) }
        { rows[NR] = $0; for (i = 1; i <= NF; i++) if (width($i) > w[i]) w[i] = width($i) }
        END {
            for (r = 1; r <= NR; r++) {
                k = split(rows[r], c, "\t"); line = ""
                for (i = 1; i <= k; i++) {
                    if (i < k) line = line sprintf("%-" (w[i] + gap + length(c[i]) - width(c[i])) "s", c[i]); else line = line c[i]
                }
                sub(/ +$/, "", line); print line
            }
        }'
}

# JavaScript Date.toString() in UTC for epoch seconds, e.g.
# "Tue Sep 22 2020 16:03:34 GMT+0000 (UTC)".
js_date() { TZ=UTC printf '%(%a %b %d %Y %H:%M:%S)T GMT+0000 (UTC)' "$1"; }
iso_date() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%S)T' "$1"; }
