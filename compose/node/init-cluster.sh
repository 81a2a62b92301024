#!/bin/sh
# One-shot init of the redis-cluster-init container (POSIX sh; needs only redis-cli,
# cat, sed, sleep: runs on the official image and on the offline one).
#
# Forms the spec's exact layout over REDIS_NODES ("ip:port:busport ..." in node order):
# the first half are masters with even slot ranges (0-5460, 5461-10922, 10923-16383
# for three), node i+m replicates node i. `redis-cli --cluster create` is not used:
# it places replicas itself (not node-3 -> node-0), sleeps in 1 s steps and waits
# forever on an unreachable bus port. The steps are the ones the toolkit's
# createCluster takes, so either may finish what the other began.
#
#   exit 0   formed now, or already formed (nothing changed)
#   exit 1   the nodes hold a cluster that does not match the layout (nothing changed)
#   exit 75  a deadline passed (INIT_TIMEOUT_S, default 60)
#   exit 78  configuration: secret, REDIS_NODES
set -eu

SECRET=${REDIS_PASSWORD_SECRET:-/run/secrets/redis_password}
TIMEOUT_S=${INIT_TIMEOUT_S:-60}
SLOTS=16384

# Centiseconds since boot: the images have no `date`, every Linux has /proc/uptime.
uptime_cs() {
  read -r up _ </proc/uptime
  echo "${up%.*}${up#*.}"
}
started_cs=$(uptime_cs)
log() {
  e=$(($(uptime_cs) - started_cs))
  printf 'init-cluster: [%d.%02ds] %s\n' $((e / 100)) $((e % 100)) "$*"
}
die() {
  printf 'init-cluster: %s\n' "$2" >&2
  exit "$1"
}

read_password() {
  [ -r "$SECRET" ] || die 78 "secret $SECRET is missing or not readable by uid $(id -u): on the host, chgrp $(id -g) the secret file and chmod 640 it"
  password=$(cat "$SECRET")
  cr=$(printf '\r')
  while :; do
    case $password in
      *"$cr" | *' ' | *'	') password=${password%?} ;;
      *) break ;;
    esac
  done
  [ -n "$password" ] || die 78 "secret $SECRET is empty"
}

deadline_cs=$((started_cs + TIMEOUT_S * 100))
check_deadline() { [ "$(uptime_cs)" -lt "$deadline_cs" ] || die 75 "timed out after ${TIMEOUT_S}s waiting for $1"; }

# cli I ARGS...: redis-cli against node I; -e makes an error reply a failure.
cli() {
  eval "h=\$ip_$1 p=\$port_$1"
  shift
  redis-cli -e -h "$h" -p "$p" "$@"
}
info_field() { printf '%s\n' "$1" | sed -n "s/^$2:\([0-9a-z]*\).*/\1/p"; }
get() { eval "printf '%s' \"\$$1\""; }

read_password
export REDISCLI_AUTH="$password"
unset password

# --- the nodes, from REDIS_NODES -----------------------------------------------
n=0
for spec in ${REDIS_NODES:?REDIS_NODES is not set}; do
  ip=${spec%%:*} rest=${spec#*:}
  port=${rest%%:*} bus=${rest#*:}
  case $ip:$port:$bus in
    *[!0-9.:]* | :* | *::* | *:) die 78 "REDIS_NODES entry '$spec' is not ip:port:busport" ;;
  esac
  eval "ip_$n=$ip port_$n=$port bus_$n=$bus"
  n=$((n + 1))
done
[ "$n" -ge 6 ] && [ $((n % 2)) -eq 0 ] || die 78 "REDIS_NODES names $n nodes; the layout needs an even number, at least 6"
m=$((n / 2))
name() { printf 'node-%s (%s:%s)' "$1" "$(get "ip_$1")" "$(get "port_$1")"; }

# Master i's slots: the split `redis-cli --cluster create` makes (rounded even shares).
i=0
while [ "$i" -lt "$m" ]; do
  if [ "$i" -eq 0 ]; then start=0; else start=$(($(get "end_$((i - 1))") + 1)); fi
  if [ "$i" -eq $((m - 1)) ]; then end=$((SLOTS - 1)); else end=$(((2 * ((i + 1) * SLOTS - m) + m) / (2 * m))); fi
  eval "start_$i=$start end_$i=$end"
  i=$((i + 1))
done

# --- 1. every node answers PING -------------------------------------------------
i=0
while [ "$i" -lt "$n" ]; do
  until reply=$(cli "$i" ping 2>&1) && [ "$reply" = PONG ]; do
    case $reply in *WRONGPASS* | *NOAUTH* | *"invalid password"*) die 78 "$(name "$i") rejects the password in the secret" ;; esac
    check_deadline "$(name "$i") to answer PING (last: $reply)"
    sleep 0.2
  done
  id=$(cli "$i" cluster myid 2>&1) || die 75 "$(name "$i"): CLUSTER MYID failed: $id"
  case $id in '' | *[!0-9a-f]*) die 78 "$(name "$i") is not a cluster node (cluster-enabled yes missing?): $id" ;; esac
  eval "id_$i=$id"
  i=$((i + 1))
done
log "all $n nodes answer PING"

# --- 2. what is there already ---------------------------------------------------
fresh=1 formed=1
i=0
while [ "$i" -lt "$n" ]; do
  info=$(cli "$i" cluster info)
  known=$(info_field "$info" cluster_known_nodes)
  assigned=$(info_field "$info" cluster_slots_assigned)
  [ "$known" = 1 ] && [ "$assigned" = 0 ] || fresh=0
  [ "$known" -ge "$n" ] && [ "$assigned" = "$SLOTS" ] || formed=0
  i=$((i + 1))
done
if [ "$formed" = 1 ]; then
  log "cluster already exists ($n nodes, $SLOTS slots assigned): nothing to do"
  exit 0
fi

# A partial cluster is finished only where it agrees with the layout; anything
# else (foreign nodes, slots elsewhere, other pairs) needs a human. Sets owns_I.
is_ours() {
  j=0
  while [ "$j" -lt "$n" ]; do
    [ "$1" = "$(get "id_$j")" ] && return 0
    j=$((j + 1))
  done
  return 1
}
problems=""
i=0
while [ "$i" -lt "$n" ]; do
  eval "owns_$i=0"
  nodes=$(cli "$i" cluster nodes)
  while read -r nid addr flags master _ _ _ _ slots; do
    case ,$flags, in *,handshake,*) continue ;; esac
    is_ours "$nid" || problems="$problems; $(name "$i") knows a foreign node $addr"
    case ,$flags, in *,myself,*) ;; *) continue ;; esac
    if [ "$i" -lt "$m" ]; then
      case $slots in
        '') ;;
        "$(get "start_$i")-$(get "end_$i")") eval "owns_$i=1" ;;
        *) problems="$problems; $(name "$i") owns slots '$slots', not its layout range" ;;
      esac
      [ "$master" = - ] || problems="$problems; $(name "$i") is a replica, the layout makes it a master"
    else
      [ -z "$slots" ] || problems="$problems; $(name "$i") owns slots, the layout makes it a replica"
      [ "$master" = - ] || [ "$master" = "$(get "id_$((i - m))")" ] || problems="$problems; $(name "$i") replicates a node the layout does not pair it with"
    fi
  done <<EOF
$nodes
EOF
  i=$((i + 1))
done
[ -z "$problems" ] || die 1 "the nodes hold a partial cluster that does not match the layout${problems#;}; nothing was changed"

# --- 3. form it ------------------------------------------------------------------
if [ "$fresh" = 1 ]; then
  i=0
  while [ "$i" -lt "$n" ]; do
    cli "$i" cluster set-config-epoch $((i + 1)) >/dev/null
    i=$((i + 1))
  done
  log "creating the cluster: $m masters, $m replicas"
else
  log "finishing a partially formed cluster"
fi
# Slots first, so no master idles slotless into a rejoin delay.
i=0
while [ "$i" -lt "$m" ]; do
  if [ "$(get "owns_$i")" = 0 ]; then
    cli "$i" cluster addslotsrange "$(get "start_$i")" "$(get "end_$i")" >/dev/null
    log "$(name "$i"): slots $(get "start_$i")-$(get "end_$i")"
  fi
  i=$((i + 1))
done
# Every pair meets directly: one handshake each instead of waiting for gossip.
i=0
while [ "$i" -lt "$n" ]; do
  nodes=$(cli "$i" cluster nodes)
  j=$((i + 1))
  while [ "$j" -lt "$n" ]; do
    case $nodes in
      *"$(get "id_$j") "*) ;;
      *) cli "$i" cluster meet "$(get "ip_$j")" "$(get "port_$j")" "$(get "bus_$j")" >/dev/null ;;
    esac
    j=$((j + 1))
  done
  i=$((i + 1))
done
i=0
while [ "$i" -lt "$n" ]; do
  until
    nodes=$(cli "$i" cluster nodes)
    missing=""
    j=0
    while [ "$j" -lt "$n" ]; do
      case $nodes in *"$(get "id_$j") "*) ;; *) missing="$missing node-$j" ;; esac
      j=$((j + 1))
    done
    [ -z "$missing" ]
  do
    check_deadline "$(name "$i") to meet$missing (the bus ports must be reachable between nodes)"
    sleep 0.05
  done
  i=$((i + 1))
done
log "all nodes know each other"
# Tell every node still a master who owns each slot instead of waiting seconds
# for gossip (what redis-cli sends after a migration); replicas refuse SETSLOT.
# The commands of each range are written once, then piped to every node.
# (The container is one-shot and the images have no mktemp/rm: a fixed scratch dir, overwritten.)
work=${TMPDIR:-/tmp}/init-cluster
mkdir -p "$work"
k=0
while [ "$k" -lt "$m" ]; do
  s=$(get "start_$k") e=$(get "end_$k") kid=$(get "id_$k")
  while [ "$s" -le "$e" ]; do
    printf 'CLUSTER SETSLOT %s NODE %s\n' "$s" "$kid"
    s=$((s + 1))
  done >"$work/range-$k"
  k=$((k + 1))
done
i=0
while [ "$i" -lt "$n" ]; do
  case $(cli "$i" role) in
    master*)
      k=0 files=""
      while [ "$k" -lt "$m" ]; do
        [ "$k" = "$i" ] || files="$files $work/range-$k"
        k=$((k + 1))
      done
      # shellcheck disable=SC2086 # $files: a list of paths without spaces
      cat $files | cli "$i" --pipe >/dev/null || die 75 "$(name "$i"): CLUSTER SETSLOT failed"
      ;;
  esac
  i=$((i + 1))
done
log "slot map pushed to every master"
i=$m
while [ "$i" -lt "$n" ]; do
  mid=$(get "id_$((i - m))")
  case $(cli "$i" cluster nodes) in
    *"myself,slave $mid "*) ;;
    *)
      cli "$i" cluster replicate "$mid" >/dev/null
      log "$(name "$i"): replicates $(name "$((i - m))")"
      ;;
  esac
  i=$((i + 1))
done

# --- 4. cluster_state:ok everywhere ---------------------------------------------
i=0
while [ "$i" -lt "$n" ]; do
  until [ "$(info_field "$(cli "$i" cluster info)" cluster_state)" = ok ]; do
    check_deadline "cluster_state:ok on $(name "$i")"
    sleep 0.05
  done
  i=$((i + 1))
done
log "cluster formed: $m masters with $SLOTS slots, $m replicas, cluster_state:ok"
