#!/bin/bash
# Entrypoint (PID 1) of fleet's SSH target image: seeds the scenario chosen by
# the FLEET_* environment variables, then runs sshd in the foreground as its
# child and stops everything on SIGTERM.
#
# Scenario variables (all optional; see docker-compose.yml):
#   FLEET_ROLE                 s1 | bosh | certs      which fake tools exist
#   FLEET_LOGIN_USER           the account SSH logs in as (root login is
#                              refused); on s1 hosts it may `sudo docker`
#   FLEET_VERSION              Privilege Secure version (/etc/secureone/version)
#   FLEET_S1_DOWN              s1 services scaled to 0 at start ("scanner")
#   FLEET_S1_NODES             swarm nodes "name:Leader name:Reachable name:Down"
#   FLEET_MONGO_SELF / _MEMBERS / _SET   replica set (see /opt/fleet/bin/mongo)
#   FLEET_DATA_USED_PCT        fill the /data tmpfs to this percentage
#   FLEET_BACKUP_AGE_DAYS      age of the newest /secureone/data/db/backups file
#   FLEET_RESTORE_AGE_DAYS     age of the newest /secureone/data/db/restore file
#   FLEET_APT_UPGRADABLE       packages `apt list --upgradable` reports
#   FLEET_QS_UNPROTECTED / FLEET_QS_PERSISTENT_USERS   quickstart findings
#   FLEET_BOSH_STEMCELL / FLEET_BOSH_OUTDATED          bosh deployments
#   FLEET_CERTS                "cn:days ..." certificates (negative days:
#                              expired): PEM files for openssl, and what the
#                              doomsday server tracks when the role has doomsday
set -euo pipefail

log() { printf 'fleet-target[%s]: %s\n' "$(hostname)" "$*" >&2; }

FLEET_ROLE=${FLEET_ROLE:-s1}
export FLEET_ROLE
HOSTNAME=$(hostname)
now=$(date +%s)

# --- scenario for the tools (SSH sessions don't get this environment) ------
mkdir -p /etc/fleet /var/lib/s1/ids
export -p | grep -E '^declare -x FLEET_[A-Z0-9_]+=' >/etc/fleet/scenario.env || true
chmod 0644 /etc/fleet/scenario.env

# --- tools of this role into /usr/local/bin ---------------------------------
case $FLEET_ROLE in
    s1) tools="s1 docker mongo quickstart" ;;
    bosh) tools="bosh doomsday" ;;
    certs) tools="" ;;
    *) log "error: unknown FLEET_ROLE '$FLEET_ROLE' (s1, bosh or certs)"; exit 1 ;;
esac
for t in $tools apt; do
    ln -sf "/opt/fleet/bin/$t" "/usr/local/bin/$t"
done

# --- the login account ----------------------------------------------------------
# bash with empty start-up files (~2 ms a command); password field "*" (no
# password, not locked: sshd without PAM refuses locked accounts).
login=${FLEET_LOGIN_USER:-}
[ -n "$login" ] || { log "error: FLEET_LOGIN_USER is not set"; exit 1; }
if ! id "$login" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash --password '*' "$login"
fi
echo '# kept empty: fleet runs one command per step' >"/home/$login/.bashrc"
cp "/home/$login/.bashrc" "/home/$login/.profile"
rm -f /etc/sudoers.d/fleet-login
if [ "$FLEET_ROLE" = s1 ]; then
    # As on a Privilege Secure node: the operator runs `sudo docker …`
    # (checklist), and nothing else as root.
    echo "$login ALL=(root) NOPASSWD: /usr/local/bin/docker" >/etc/sudoers.d/fleet-login
    chmod 0440 /etc/sudoers.d/fleet-login
fi

# --- /data: a tmpfs (docker-compose.yml) filled to FLEET_DATA_USED_PCT -------
if [ -n "${FLEET_DATA_USED_PCT:-}" ] && grep -q ' /data tmpfs ' /proc/mounts; then
    size_kb=$(df -k --output=size /data | tail -n 1 | tr -d ' ')
    rm -f /data/mongo-archive.bin
    fallocate -l $((size_kb * FLEET_DATA_USED_PCT / 100))K /data/mongo-archive.bin
fi

# --- Privilege Secure state --------------------------------------------------
if [ "$FLEET_ROLE" = s1 ]; then
    mkdir -p /etc/secureone
    echo "${FLEET_VERSION:-4.2.0}" >/etc/secureone/version
    . /opt/fleet/bin/fleet-lib.sh
    # ids cached once, so that tool calls fork little
    for svc in "${S1_SERVICES[@]}"; do
        case " ${FLEET_S1_DOWN:-} " in
            *" $svc "*) s1_scale "$svc" 0 ;;
            *) s1_scale "$svc" 1 ;;
        esac
        s1_service_id "$svc" >/dev/null
        s1_container_id "$svc" >/dev/null
        s1_task_id "$svc" >/dev/null
    done
    for entry in $FLEET_S1_NODES; do s1_node_id "${entry%%:*}" >/dev/null; done
    mongo_uuid >/dev/null
    # `s1 stop|start` run as the login account
    chown -R "$login" /var/lib/s1

    # Backups: one a day at about 02:00 for a week; the newest is
    # FLEET_*_AGE_DAYS days old (and a few hours).
    seed_backups() { # dir newest_age_days
        local dir=$1 age=$2 i t name newest=""
        mkdir -p "$dir"
        rm -f "$dir"/SecureONE-*
        for i in 0 1 2 3 4 5 6; do
            t=$((now - (age + i) * 86400 - 3 * 3600 - 17 * 60))
            name="SecureONE-$(date -u -d "@$t" +%Y%m%d-%H%M).archive.gz"
            truncate -s $((1300 + i * 7))K "$dir/$name"
            touch -d "@$t" "$dir/$name"
            [ -n "$newest" ] || newest=$t
        done
        touch -d "@$newest" "$dir"
    }
    [ -n "${FLEET_BACKUP_AGE_DAYS:-}" ] && seed_backups /secureone/data/db/backups "$FLEET_BACKUP_AGE_DAYS"
    [ -n "${FLEET_RESTORE_AGE_DAYS:-}" ] && seed_backups /secureone/data/db/restore "$FLEET_RESTORE_AGE_DAYS"
    # the Privilege Secure tree belongs to its account (checklist prompt
    # `secureone@…:/secureone/conf/fluentd$`)
    [ ! -d /secureone ] || chown -R "$login" /secureone
fi

# --- certificates: real PEM files relative to today --------------------------
if [ -n "${FLEET_CERTS:-}" ]; then
    ca=/etc/ssl/fleet/ca
    out=/etc/ssl/fleet/certs
    rm -rf "$ca" "$out"
    mkdir -p "$ca/newcerts" "$out"
    : >"$ca/index.txt"
    echo 1000 >"$ca/serial"
    cat >"$ca/ca.cnf" <<CNF
[ ca ]
default_ca = fleet
[ fleet ]
dir = $ca
database = $ca/index.txt
new_certs_dir = $ca/newcerts
serial = $ca/serial
certificate = $ca/ca.pem
private_key = $ca/ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
[ anything ]
commonName = supplied
organizationName = optional
CNF
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/O=Fleet Demo/CN=Fleet Demo CA" -keyout "$ca/ca.key" -out "$ca/ca.pem" 2>/dev/null
    for spec in $FLEET_CERTS; do
        cn=${spec%%:*}
        days=${spec#*:}
        # valid for a year up to now+days (openssl ca takes explicit dates;
        # openssl 3.0 x509 -days cannot be negative)
        start=$(date -u -d "@$((now + days * 86400 - 365 * 86400))" +%Y%m%d%H%M%SZ)
        end=$(date -u -d "@$((now + days * 86400))" +%Y%m%d%H%M%SZ)
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/O=Fleet Demo/CN=$cn" -addext "subjectAltName=DNS:$cn" \
            -keyout "$out/$cn.key" -out "$ca/$cn.csr" 2>/dev/null
        openssl ca -batch -config "$ca/ca.cnf" -notext -startdate "$start" -enddate "$end" \
            -in "$ca/$cn.csr" -out "$out/$cn.pem" 2>/dev/null
        chmod 0600 "$out/$cn.key"
    done
fi

# --- sshd ----------------------------------------------------------------------
hostkey=/etc/ssh/fleet-host/ssh_host_ed25519_key
if [ ! -s "$hostkey" ]; then
    log "warning: no host key mounted at $hostkey (run scripts/compose-fleet keys); using a throw-away one"
    mkdir -p /run/fleet-host
    ssh-keygen -q -t ed25519 -N '' -C "fleet-target-$HOSTNAME" -f /run/fleet-host/ssh_host_ed25519_key
    hostkey=/run/fleet-host/ssh_host_ed25519_key
fi
[ -s /etc/ssh/fleet-auth/authorized_keys ] ||
    log "warning: /etc/ssh/fleet-auth/authorized_keys is missing: nobody can log in (run scripts/compose-fleet keys)"
mkdir -p /run/sshd
chmod 0755 /run/sshd

/usr/sbin/sshd -D -e -h "$hostkey" &
sshd_pid=$!

stop_all() {
    kill -TERM "$sshd_pid" 2>/dev/null || true
    pkill -TERM -P 1 2>/dev/null || true
    exit 0
}
trap stop_all TERM INT

log "ready (role $FLEET_ROLE)"
# PID 1 reaps every orphan; sshd exiting ends the container.
while kill -0 "$sshd_pid" 2>/dev/null; do
    wait -n 2>/dev/null || true
done
log "sshd exited"
exit 1
