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

# s1_canon NAME: short service name for NAME or secureone_NAME.
s1_canon() {
    local n=${1#secureone_}
    local s
    for s in "${S1_SERVICES[@]}"; do
        [ "$s" = "$n" ] && { echo "$n"; return 0; }
    done
    return 1
}

# The fake swarm: one replicated service per S1_SERVICES entry, its desired
# replica count (0 or 1) in $FLEET_STATE/replicas/SERVICE. `s1 status`,
# `docker service ls` and `docker ps` all read it; `s1 stop|start` and
# `docker service scale` write it. A service at 1 has one running task,
# hence one container (secureone_SERVICE.1.TASKID); at 0 it has none.

# s1_running SERVICE: true when the service is scaled to 1 (its container runs).
s1_running() {
    local n
    [ -r "$FLEET_STATE/replicas/$1" ] || return 1
    read -r n <"$FLEET_STATE/replicas/$1" || return 1
    [ "$n" = 1 ]
}

# s1_scale SERVICE 0|1: sets the desired replicas. Scaling a stopped service
# up starts a new task: new task and container ids, as swarm does.
s1_scale() {
    local svc=$1 n=$2
    if [ "$n" = 1 ] && ! s1_running "$svc"; then
        local gen=0
        [ -r "$FLEET_STATE/gen/$svc" ] && read -r gen <"$FLEET_STATE/gen/$svc"
        mkdir -p "$FLEET_STATE/gen"
        echo $((gen + 1)) >"$FLEET_STATE/gen/$svc"
    fi
    mkdir -p "$FLEET_STATE/replicas"
    echo "$n" >"$FLEET_STATE/replicas/$svc.tmp"
    mv "$FLEET_STATE/replicas/$svc.tmp" "$FLEET_STATE/replicas/$svc"
}

# s1_gen SERVICE: how many times the service's task was (re)started.
s1_gen() {
    local gen=0
    [ -r "$FLEET_STATE/gen/$1" ] && read -r gen <"$FLEET_STATE/gen/$1"
    echo "$gen"
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
s1_task_id() { cached_id 25 "task-$HOSTNAME-$1-$(s1_gen "$1")" alnum; }
mongo_uuid() {
    echo "$(cached_id 8 "uuid1-$HOSTNAME")-$(cached_id 4 "uuid2-$HOSTNAME")-4$(cached_id 3 "uuid3-$HOSTNAME")-8$(cached_id 3 "uuid4-$HOSTNAME")-$(cached_id 12 "uuid5-$HOSTNAME")"
}
s1_container_id() { cached_id 12 "ctr-$HOSTNAME-$1-$(s1_gen "$1")"; }

# Docker-style table printing (docker/cli cli/command/formatter/formatter.go:
# tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)): rows of TAB-separated cells,
# each column as wide as its widest cell plus 3 spaces and at least 10, the
# last cell unpadded (so an empty last cell leaves trailing spaces, as
# docker's do). Widths count characters (… is one). `fleet_table 2 0 trim`
# is bosh's layout (2 spaces, no minimum width, lines trimmed).
fleet_table() {
    awk -F'\t' -v gap="${1:-3}" -v minw="${2:-10}" -v trim="${3:-}" '
        function width(v,  t) { t = v; gsub(/…/, ".", t); return length(t) }
        { rows[NR] = $0; for (i = 1; i <= NF; i++) if (width($i) > w[i]) w[i] = width($i) }
        END { for (i in w) if (w[i] + gap < minw) w[i] = minw - gap }
        END {
            for (r = 1; r <= NR; r++) {
                k = split(rows[r], c, "\t"); line = ""
                for (i = 1; i <= k; i++) {
                    if (i < k) line = line sprintf("%-" (w[i] + gap + length(c[i]) - width(c[i])) "s", c[i]); else line = line c[i]
                }
                if (trim != "") sub(/ +$/, "", line)
                print line
            }
        }'
}

# JavaScript Date.toString() in UTC for epoch seconds, e.g.
# "Tue Sep 22 2020 16:03:34 GMT+0000 (UTC)".
js_date() { TZ=UTC printf '%(%a %b %d %Y %H:%M:%S)T GMT+0000 (UTC)' "$1"; }
iso_date() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%S)T' "$1"; }

# The swarm's service list, in `docker service ls` layout (docker/cli
# cli/command/service/formatter.go: ID NAME MODE REPLICAS IMAGE PORTS).
s1_service_table() {
    {
        printf 'ID\tNAME\tMODE\tREPLICAS\tIMAGE\tPORTS\n'
        local svc rep
        for svc in "${S1_SERVICES[@]}"; do
            if s1_running "$svc"; then rep=1/1; else rep=0/1; fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(s1_service_id "$svc")" "secureone_$svc" replicated "$rep" \
                "$(s1_image "$svc")" "$(s1_ports "$svc")"
        done
    } | fleet_table
}

# The swarm's nodes, in `docker node ls` layout (docker/cli
# cli/command/node/formatter.go: ID HOSTNAME STATUS AVAILABILITY
# MANAGER STATUS ENGINE VERSION; "*" marks this node's ID).
s1_node_table() {
    {
        printf 'ID\tHOSTNAME\tSTATUS\tAVAILABILITY\tMANAGER STATUS\tENGINE VERSION\n'
        local entry name mgr status id
        for entry in $FLEET_S1_NODES; do
            name=${entry%%:*}
            mgr=${entry#*:}
            status=Ready
            if [ "$mgr" = Down ]; then status=Down; mgr=Unreachable; fi
            id=$(s1_node_id "$name")
            [ "$name" = "$HOSTNAME" ] && id="$id *"
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$name" "$status" Active "$mgr" 20.10.24
        done
    } | fleet_table
}
