#!/usr/bin/env bash
# Stop the dockerd started by scripts/start-dockerd.sh (and only that one: it is
# identified by its pidfile). Running containers are stopped by dockerd itself.
set -euo pipefail

PIDFILE=/var/run/rc-dockerd.pid

if [[ ! -s $PIDFILE ]]; then
  echo "no dockerd started by start-dockerd.sh ($PIDFILE missing)"
  exit 0
fi
pid=$(cat "$PIDFILE")
# Guard against a stale pidfile whose pid now belongs to another process.
if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]]; then
  echo "dockerd pid $pid from $PIDFILE is not running; removing stale pidfile"
  rm -f "$PIDFILE"
  exit 0
fi

kill -TERM "$pid"
# dockerd gives containers up to 15s (default shutdown-timeout) to stop.
for ((t = 0; t < 60; t++)); do
  kill -0 "$pid" 2>/dev/null || { echo "stopped dockerd (pid $pid)"; exit 0; }
  sleep 1
done
echo "stop-dockerd: dockerd pid $pid still running after 60s" >&2
exit 1
