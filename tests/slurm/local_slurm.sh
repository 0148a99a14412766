#!/usr/bin/env bash
# A real Slurm on this one machine, for the test suite: munge + MariaDB + slurmdbd + slurmctld + slurmd
# from Debian packages, with fake GPUs (GRES on character devices) and job accounting (sacct works).
#
#   tests/slurm/local_slurm.sh up       install the packages if missing, start everything; a no-op when
#                                       everything already answers (idempotent)
#   tests/slurm/local_slurm.sh status   one line per component; exit 0 only when all are healthy
#   tests/slurm/local_slurm.sh down     stop what `up` started and delete the state directory
#
# Configless, as on many clusters: slurmd fetches slurm.conf from slurmctld and caches it under
# /run/slurm/conf, so sbatch, srun, sacct, ... work with no SLURM_CONF (Snakemake's job step strips
# SLURM_* variables before calling srun, so a SLURM_CONF-only setup would fail inside jobs).
# Needs root and apt (Debian 12). Nothing outside the state directory is written, except the packages,
# munge's runtime directories and slurmd's /run/slurm/conf link; munged is stopped by `down` only if
# `up` started it.
# Settings (environment): ICLPRUNE_SLURM_DIR (state directory, default /var/tmp/iclprune-slurm),
# ICLPRUNE_SLURM_GPUS (fake GPUs, default 2), ICLPRUNE_SLURM_CPUS and ICLPRUNE_SLURM_MEMORY_MB (what the
# node declares: default at least 8 CPUs and 65536 MB, more than a small CI machine has, so that jobs
# asking for realistic resources are scheduled and several run at once; nothing is enforced, there are
# no cgroups), ICLPRUNE_SLURM_PORTS ("slurmctld slurmd slurmdbd mariadb", default "6817 6818 6819 3307").
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${ICLPRUNE_SLURM_DIR:-/var/tmp/iclprune-slurm}"
GPUS="${ICLPRUNE_SLURM_GPUS:-2}"
CPUS="${ICLPRUNE_SLURM_CPUS:-$(($(nproc) > 8 ? $(nproc) : 8))}"
MEMORY_MB="${ICLPRUNE_SLURM_MEMORY_MB:-65536}"
read -r CTLD_PORT SLURMD_PORT DBD_PORT DB_PORT <<<"${ICLPRUNE_SLURM_PORTS:-6817 6818 6819 3307}"
CLUSTER=iclprune
PARTITION=debug
ACCOUNT=iclprune
DB_PASS=iclprune-local-test
NODE="$(hostname -s 2>/dev/null || uname -n | cut -d. -f1)"
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd slurm-wlm-mysql-plugin mariadb-server)
# For this script's own daemons and admin commands (clients elsewhere need nothing, see above).
export SLURM_CONF="$STATE/etc/slurm.conf"

log() { printf 'local_slurm: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# Wait up to $1 seconds for the command "${@:2}" to succeed; show the named log's tail on timeout.
wait_for() {
    local seconds="$1" what="$2" logfile="$3"
    shift 3
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "$what did not come up within ${seconds}s; last lines of $logfile:"
            tail -n 30 "$logfile" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.5
    done
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (it starts system daemons); got uid $(id -u)"
}

install_packages() {
    local missing=()
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || die "packages missing (${missing[*]}) and no apt-get to install them"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Debian's maintainer scripts must not start the packages' services: this script starts its own.
    # policy-rc.d (exit 101 = "not allowed") is Debian's switch for that, removed again afterwards.
    local policy=/usr/sbin/policy-rc.d ours=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && ours=1
    fi
    local failed=0
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } ||
        failed=1
    ((ours)) && rm -f "$policy"
    ((failed == 0)) || die "apt-get install ${missing[*]} failed"
}

render() { # template -> file, filling in @VARS@
    sed -e "s|@STATE@|$STATE|g" -e "s|@NODE@|$NODE|g" -e "s|@CLUSTER@|$CLUSTER|g" \
        -e "s|@PARTITION@|$PARTITION|g" -e "s|@CPUS@|$CPUS|g" -e "s|@MEMORY_MB@|$MEMORY_MB|g" \
        -e "s|@GPUS@|$GPUS|g" -e "s|@LAST_GPU@|$((GPUS - 1))|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" \
        -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" -e "s|@DBD_PORT@|$DBD_PORT|g" -e "s|@DB_PORT@|$DB_PORT|g" \
        -e "s|@DB_PASS@|$DB_PASS|g" "$1" >"$2"
}

# ---- health checks (each silent; exit status says healthy) ----------------------------------------
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
db_ok() { mariadb-admin --no-defaults --socket="$STATE/run/mysqld.sock" ping >/dev/null 2>&1; }
dbd_ok() { [[ -f $SLURM_CONF ]] && sacctmgr -n -P show cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER"; }
ctld_ok() { [[ -f $SLURM_CONF ]] && scontrol ping 2>/dev/null | grep -q "is UP"; }
slurmd_ok() { # the node can take jobs, seen by a client with no SLURM_CONF (slurmd's cached config)
    env -u SLURM_CONF sinfo -h -N -n "$NODE" -o %T 2>/dev/null | grep -Eqx "idle|mixed|allocated|completing"
}

status() {
    local ok=0 name
    for name in munge db dbd ctld slurmd; do
        if "${name}_ok"; then echo "$name: up"; else
            echo "$name: down"
            ok=1
        fi
    done
    return "$ok"
}

# ---- bring-up -------------------------------------------------------------------------------------
start_munge() {
    munge_ok && return 0
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    [[ -s /etc/munge/munge.key ]] || runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged --force
    touch "$STATE/run/munged.ours"
    wait_for 20 munged /var/log/munge/munged.log munge_ok
}

start_db() {
    local datadir="$STATE/mysql"
    if [[ ! -d $datadir/mysql ]]; then
        install -d -o mysql -g mysql -m 0700 "$datadir"
        mariadb-install-db --no-defaults --datadir="$datadir" --user=mysql --skip-test-db \
            --auth-root-authentication-method=socket >"$STATE/log/mariadb-install.log" 2>&1 ||
            { tail -n 30 "$STATE/log/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    chown mysql:mysql "$STATE/run"
    # A private server: its own data directory, socket and port, listening on 127.0.0.1 only.
    setsid mariadbd --no-defaults --user=mysql --datadir="$datadir" --socket="$STATE/run/mysqld.sock" \
        --pid-file="$STATE/run/mariadbd.pid" --port="$DB_PORT" --bind-address=127.0.0.1 \
        --skip-name-resolve --log-error="$STATE/log/mariadb.log" --innodb-buffer-pool-size=128M \
        --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
    wait_for 60 MariaDB "$STATE/log/mariadb.log" db_ok
    mariadb --no-defaults --socket="$STATE/run/mysqld.sock" -u root <<SQL
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
}

start_slurm() {
    slurmdbd
    wait_for 60 slurmdbd "$STATE/log/slurmdbd.log" sacctmgr -n show cluster
    # The cluster, an account and root as its user: jobs are accounted, `sacct` lists them.
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
    sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" description="iclprune tests" >/dev/null
    sacctmgr -i add user root account="$ACCOUNT" cluster="$CLUSTER" >/dev/null
    sacctmgr -i modify user root set DefaultAccount="$ACCOUNT" >/dev/null
    # A second account, for a test that a user's choice of account reaches sbatch.
    sacctmgr -i add account "$ACCOUNT-alt" cluster="$CLUSTER" description="iclprune tests" >/dev/null
    sacctmgr -i add user root account="$ACCOUNT-alt" cluster="$CLUSTER" >/dev/null
    wait_for 30 "slurmdbd (cluster registration)" "$STATE/log/slurmdbd.log" dbd_ok
    slurmctld -c -i
    wait_for 60 slurmctld "$STATE/log/slurmctld.log" ctld_ok
    env -u SLURM_CONF slurmd --conf-server "127.0.0.1:$CTLD_PORT"
    wait_for 60 slurmd "$STATE/log/slurmd.log" slurmd_ok
}

up() {
    need_root
    install_packages
    if [[ -f $SLURM_CONF ]] && status >/dev/null; then
        log "already up (state and logs in $STATE)"
        return 0
    fi
    [[ -d $STATE ]] && { log "state directory exists but not everything answers: restarting"; down; }
    log "starting in $STATE (node $NODE declaring $CPUS CPUs, $MEMORY_MB MB, $GPUS fake GPUs)"
    install -d -m 0755 "$STATE" "$STATE/etc" "$STATE/run" "$STATE/log" "$STATE/dev" \
        "$STATE/spool/ctld" "$STATE/spool/d"
    render "$HERE/slurm.conf.in" "$STATE/etc/slurm.conf"
    render "$HERE/gres.conf.in" "$STATE/etc/gres.conf"
    render "$HERE/slurmdbd.conf.in" "$STATE/etc/slurmdbd.conf"
    chmod 0600 "$STATE/etc/slurmdbd.conf" # slurmdbd refuses a readable one (it holds a password)
    for ((i = 0; i < GPUS; i++)); do
        [[ -c $STATE/dev/gpu$i ]] || mknod "$STATE/dev/gpu$i" c 1 3
    done
    start_munge
    start_db
    start_slurm
    status >/dev/null || { status >&2; die "not healthy after start (logs in $STATE/log)"; }
    log "up: partitions $PARTITION (default) and gpu, accounts $ACCOUNT (default) and $ACCOUNT-alt, $GPUS fake GPUs (state and logs in $STATE)"
}

# ---- tear-down ------------------------------------------------------------------------------------
stop_pidfile() { # stop the process named by a pid file and wait for it to exit
    local pidfile="$1" pid
    [[ -s $pidfile ]] || return 0
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

down() {
    need_root
    [[ -d $STATE ]] || {
        log "nothing to stop ($STATE does not exist)"
        return 0
    }
    if [[ -f $SLURM_CONF ]] && ctld_ok; then
        scancel --full --quiet -u root 2>/dev/null || true
    fi
    stop_pidfile "$STATE/run/slurmd.pid"
    stop_pidfile "$STATE/run/slurmctld.pid"
    stop_pidfile "$STATE/run/slurmdbd.pid"
    stop_pidfile "$STATE/run/mariadbd.pid"
    if [[ -f $STATE/run/munged.ours ]]; then
        stop_pidfile /run/munge/munged.pid
    fi
    # slurmd's config cache link points into the state directory
    [[ $(readlink /run/slurm/conf 2>/dev/null) == "$STATE"/* ]] && rm -f /run/slurm/conf
    rm -rf "$STATE"
    log "down"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*)
    echo "usage: $0 up|status|down" >&2
    exit 2
    ;;
esac
