#!/usr/bin/env bash
# A one-node Slurm cluster for the tests (test/jobs/slurm*.test.ts), from the
# template test/slurm/slurm.conf.in: munge, slurmctld and slurmd on this host,
# their state, spool, pid and log files under one directory of their own.
#
#   scripts/slurm-test-cluster.sh start [dir]   # prints: export SLURM_CONF=<dir>/slurm.conf
#   scripts/slurm-test-cluster.sh stop [dir]
#
# dir defaults to $MOBYLE2_SLURM_DIR or /tmp/mobyle2-slurm. Needs root (the
# daemons run as root) and Debian's slurmctld, slurmd, munge and slurm-client.
# What works without systemd or cgroups: docs/slurm.md.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-}
dir=${2:-${MOBYLE2_SLURM_DIR:-/tmp/mobyle2-slurm}}
conf=$dir/slurm.conf

stop_daemon () {
  local pidfile=$dir/$1.pid
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

case "$action" in
  start)
    mkdir -p "$dir/state" "$dir/spool"
    host=$(hostname -s)
    sed -e "s|@DIR@|$dir|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|${SLURM_TEST_CPUS:-2}|g" \
      -e "s|@CTLD_PORT@|${SLURM_TEST_CTLD_PORT:-6817}|g" -e "s|@D_PORT@|${SLURM_TEST_D_PORT:-6818}|g" \
      "$here/test/slurm/slurm.conf.in" > "$conf"
    [ -f /etc/munge/munge.key ] || mungekey --create
    pgrep -x munged >/dev/null || /etc/init.d/munge start >/dev/null
    # Started again: the daemons of an earlier start go first.
    stop_daemon slurmd
    stop_daemon slurmctld
    slurmctld -f "$conf"
    slurmd -f "$conf"
    export SLURM_CONF=$conf
    for _ in $(seq 1 100); do
      if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        echo "export SLURM_CONF=$conf"
        exit 0
      fi
      sleep 0.2
    done
    echo "the test cluster did not come up: see $dir/slurmctld.log and $dir/slurmd.log" >&2
    sinfo -N >&2 || true
    exit 1
    ;;
  stop)
    stop_daemon slurmd
    stop_daemon slurmctld
    ;;
  *)
    echo "usage: $0 start|stop [dir]" >&2
    exit 2
    ;;
esac
