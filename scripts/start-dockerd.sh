#!/usr/bin/env bash
# Start a Docker engine for local work when none is answering (no systemd here).
# Silent + exit 0 if `docker info` already works; otherwise starts dockerd in the
# background and prints `started dockerd (pid N)`. Stop it with scripts/stop-dockerd.sh.
set -euo pipefail

LOG=/tmp/rc-dockerd.log
PIDFILE=/var/run/rc-dockerd.pid # written/removed by dockerd itself (--pidfile)
DEADLINE_S=60

engine_up() { timeout 5 docker info >/dev/null 2>&1; }

engine_up && exit 0

fail() {
  echo "start-dockerd: $1; last 20 lines of $LOG:" >&2
  tail -n 20 "$LOG" >&2 || true
  exit 1
}

[[ $(id -u) -eq 0 ]] || { echo "start-dockerd: must run as root" >&2; exit 1; }
command -v dockerd >/dev/null || { echo "start-dockerd: dockerd not installed (apt-get install -y docker.io)" >&2; exit 1; }

# A dockerd we started earlier may still be booting: wait for it instead of
# starting a second one (dockerd would refuse anyway because of the pidfile).
if [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  pid=$(cat "$PIDFILE")
  for ((t = 0; t < DEADLINE_S; t++)); do engine_up && { echo "started dockerd (pid $pid)"; exit 0; }; sleep 1; done
  fail "dockerd pid $pid (from $PIDFILE) did not answer within ${DEADLINE_S}s"
fi

# Start dockerd with the given extra flags; return 0 once `docker info` answers,
# 1 if dockerd exits or the deadline passes (it is then stopped).
try_start() {
  echo "=== $(date -u +%FT%TZ) start-dockerd: dockerd $*" >>"$LOG"
  # setsid: own session/process group, so dockerd outlives the calling shell/job.
  setsid dockerd --pidfile "$PIDFILE" "$@" >>"$LOG" 2>&1 </dev/null &
  local pid=$! end=$((SECONDS + DEADLINE_S))
  while ((SECONDS < end)); do
    engine_up && return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 1; }
    sleep 1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 1
}

: >"$LOG"
flags=()
# Attempt 1: defaults (overlay2, iptables). Then fall back based on what the log
# says went wrong: overlay unsupported (e.g. / is itself overlayfs) -> vfs;
# iptables/nat unusable (no netfilter in the sandbox kernel) -> --iptables=false
# (bridge networking between containers still works; published ports then go
# through docker-proxy).
for attempt in 1 2 3; do
  echo "=== start-dockerd attempt $attempt" >>"$LOG"
  if try_start "${flags[@]}"; then
    echo "started dockerd (pid $(cat "$PIDFILE" 2>/dev/null || echo '?'))"
    exit 0
  fi
  # only this attempt's error lines (the log accumulates all attempts)
  errs=$(sed -n "/^=== .*attempt $attempt\$/,\$p" "$LOG" | grep -iE 'level=(error|fatal)|failed to start' || true)
  if [[ " ${flags[*]} " != *" --storage-driver=vfs "* ]] && grep -qiE 'overlay|graphdriver|storage.driver' <<<"$errs"; then
    flags+=(--storage-driver=vfs)
  elif [[ " ${flags[*]} " != *" --iptables=false "* ]] && grep -qiE 'iptables|nat chain|netfilter' <<<"$errs"; then
    flags+=(--iptables=false)
  else
    break
  fi
done
fail "dockerd failed to start (flags tried last: ${flags[*]:-none})"
