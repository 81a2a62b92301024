#!/bin/sh
# One-shot init of the redis-cluster-init container. POSIX sh that needs only
# redis-cli, cat and sleep (runs on the official image and on the offline one, which
# has no awk/date/mkdir), and forks little: a loaded 2-core host makes every fork slow.
#
# Forms the spec's exact layout over REDIS_NODES ("ip:port:busport ..." in node order):
# the first half are masters with even slot ranges (0-5460, 5461-10922, 10923-16383
# for three), node i+m replicates node i. `redis-cli --cluster create` is not used:
# it places replicas itself (not node-3 -> node-0), sleeps in 1 s steps and waits
# forever on an unreachable bus port. The steps are those of the toolkit's
# createCluster (packages/init), so either may finish what the other began.
#
#   exit 0   formed now, or already formed (nothing changed)
#   exit 1   the nodes hold a cluster that does not match the layout (nothing changed)
#   exit 75  a deadline passed (INIT_TIMEOUT_S, default 60) or a node failed a command
#   exit 78  configuration: secret, REDIS_NODES
set -eu

SECRET=${REDIS_PASSWORD_SECRET:-/run/secrets/redis_password}
TIMEOUT_S=${INIT_TIMEOUT_S:-60}
SLOTS=16384
PROG=init-cluster
. "${0%/*}/secret.sh"

# Centiseconds since boot, from /proc/uptime (no `date` in the images, no fork).
uptime_cs() {
  read -r up _ </proc/uptime
  now_cs=${up%.*}${up#*.}
}
uptime_cs
started_cs=$now_cs
deadline_cs=$((started_cs + TIMEOUT_S * 100))

log() {
  uptime_cs
  e=$((now_cs - started_cs))
  printf 'init-cluster: [%d.%02ds] %s\n' $((e / 100)) $((e % 100)) "$*"
}
check_deadline() {
  uptime_cs
  [ "$now_cs" -lt "$deadline_cs" ] || die 75 "timed out after ${TIMEOUT_S}s waiting for $1"
}
# getv VAR NAME: VAR=$NAME for a computed NAME (ip_3, id_0...), without a fork.
getv() { eval "$1=\${$2}"; }
# cli I ARGS...: redis-cli against node I; -e turns an error reply into a failure.
cli() {
  getv h "ip_$1"
  getv p "port_$1"
  shift
  redis-cli -e -h "$h" -p "$p" "$@"
}
# field TEXT NAME: sets $val to NAME's value in INFO-style TEXT.
field() {
  case $1 in
    *"$2:"*) val=${1#*"$2:"} val=${val%%[!0-9a-z]*} ;;
    *) val="" ;;
  esac
}

# --- the password: trailing CR/LF/blanks trimmed, handed over as REDISCLI_AUTH ----
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
  eval "ip_$n=$ip port_$n=$port bus_$n=$bus name_$n='node-$n ($ip:$port)'"
  n=$((n + 1))
done
[ "$n" -ge 6 ] && [ $((n % 2)) -eq 0 ] || die 78 "REDIS_NODES names $n nodes; the layout needs an even number, at least 6"
m=$((n / 2))

# Master i's slots: the split `redis-cli --cluster create` makes (rounded even shares).
i=0 start=0
while [ "$i" -lt "$m" ]; do
  if [ "$i" -eq $((m - 1)) ]; then end=$((SLOTS - 1)); else end=$(((2 * ((i + 1) * SLOTS - m) + m) / (2 * m))); fi
  eval "start_$i=$start end_$i=$end"
  start=$((end + 1)) i=$((i + 1))
done

# --- 1. every node answers PING -------------------------------------------------
ids=" "
i=0
while [ "$i" -lt "$n" ]; do
  getv nm "name_$i"
  until reply=$(cli "$i" ping 2>&1) && [ "$reply" = PONG ]; do
    case $reply in *WRONGPASS* | *NOAUTH* | *"invalid password"*) die 78 "$nm rejects the password in the secret" ;; esac
    check_deadline "$nm to answer PING (last: $reply)"
    sleep 0.2
  done
  id=$(cli "$i" cluster myid 2>&1) || die 75 "$nm: CLUSTER MYID failed: $id"
  case $id in '' | *[!0-9a-f]*) die 78 "$nm is not a cluster node (cluster-enabled yes missing?): $id" ;; esac
  eval "id_$i=$id"
  ids="$ids$id "
  i=$((i + 1))
done
log "all $n nodes answer PING"

# --- 2. what is there already ---------------------------------------------------
fresh=1 formed=1
i=0
while [ "$i" -lt "$n" ]; do
  info=$(cli "$i" cluster info) || die 75 "node-$i: CLUSTER INFO failed: $info"
  field "$info" cluster_known_nodes && known=$val
  field "$info" cluster_slots_assigned && assigned=$val
  [ "$known" = 1 ] && [ "$assigned" = 0 ] || fresh=0
  [ "${known:-0}" -ge "$n" ] && [ "$assigned" = "$SLOTS" ] || formed=0
  i=$((i + 1))
done
if [ "$formed" = 1 ]; then
  log "cluster already exists ($n nodes, $SLOTS slots assigned): nothing to do"
  exit 0
fi

# A partial cluster is finished only where it agrees with the layout; anything
# else (foreign nodes, slots elsewhere, other pairs) needs a human. Sets owns_I.
problems=""
i=0
while [ "$i" -lt "$n" ]; do
  eval "owns_$i=0"
  [ "$fresh" = 1 ] && { i=$((i + 1)) && continue; }
  getv nm "name_$i"
  nodes=$(cli "$i" cluster nodes) || die 75 "$nm: CLUSTER NODES failed: $nodes"
  while read -r nid addr flags master _ _ _ _ slots; do
    case ,$flags, in *,handshake,*) continue ;; esac
    case $ids in *" $nid "*) ;; *) problems="$problems; $nm knows a foreign node $addr" ;; esac
    case ,$flags, in *,myself,*) ;; *) continue ;; esac
    if [ "$i" -lt "$m" ]; then
      getv s "start_$i"
      getv e "end_$i"
      case $slots in
        '') ;;
        "$s-$e") eval "owns_$i=1" ;;
        *) problems="$problems; $nm owns slots '$slots', not its layout range $s-$e" ;;
      esac
      [ "$master" = - ] || problems="$problems; $nm is a replica, the layout makes it a master"
    else
      getv mid "id_$((i - m))"
      [ -z "$slots" ] || problems="$problems; $nm owns slots, the layout makes it a replica"
      [ "$master" = - ] || [ "$master" = "$mid" ] || problems="$problems; $nm replicates a node the layout does not pair it with"
    fi
  done <<EOF
$nodes
EOF
  i=$((i + 1))
done
[ -z "$problems" ] || die 1 "the nodes hold a partial cluster that does not match the layout:${problems#;}; nothing was changed"

# --- 3. form it ------------------------------------------------------------------
if [ "$fresh" = 1 ]; then
  log "creating the cluster: $m masters, $m replicas"
else
  log "finishing a partially formed cluster"
fi
# Epochs and slots on every node first (a node that was met refuses an epoch; a
# master that idles slotless waits a rejoin delay); then every pair meets
# directly: one handshake each instead of waiting for gossip.
i=0
while [ "$i" -lt "$n" ]; do
  getv owns "owns_$i"
  cmds=""
  [ "$fresh" = 0 ] || cmds="CLUSTER SET-CONFIG-EPOCH $((i + 1))"
  if [ "$i" -lt "$m" ] && [ "$owns" = 0 ]; then
    getv s "start_$i"
    getv e "end_$i"
    cmds="$cmds${cmds:+
}CLUSTER ADDSLOTSRANGE $s $e"
  fi
  [ -z "$cmds" ] || printf '%s\n' "$cmds" | cli "$i" --pipe >/dev/null || die 75 "node-$i: CLUSTER SET-CONFIG-EPOCH/ADDSLOTSRANGE failed"
  i=$((i + 1))
done
i=0
while [ "$i" -lt "$n" ]; do
  nodes=""
  [ "$fresh" = 1 ] || nodes=$(cli "$i" cluster nodes) || die 75 "node-$i: CLUSTER NODES failed: $nodes"
  cmds=""
  j=$((i + 1))
  while [ "$j" -lt "$n" ]; do
    getv jid "id_$j"
    case $nodes in
      *"$jid "*) ;;
      *)
        getv jip "ip_$j"
        getv jport "port_$j"
        getv jbus "bus_$j"
        cmds="$cmds${cmds:+
}CLUSTER MEET $jip $jport $jbus"
        ;;
    esac
    j=$((j + 1))
  done
  [ -z "$cmds" ] || printf '%s\n' "$cmds" | cli "$i" --pipe >/dev/null || die 75 "node-$i: CLUSTER MEET failed"
  i=$((i + 1))
done
i=0
while [ "$i" -lt "$m" ]; do
  getv nm "name_$i"
  getv s "start_$i"
  getv e "end_$i"
  log "$nm: slots $s-$e"
  i=$((i + 1))
done
i=0
while [ "$i" -lt "$n" ]; do
  getv nm "name_$i"
  until
    nodes=$(cli "$i" cluster nodes)
    missing=""
    for id in $ids; do
      case $nodes in *"$id "*) ;; *) missing="$missing $id" ;; esac
    done
    [ -z "$missing" ]
  do
    check_deadline "$nm to meet every node (the bus ports must be reachable between nodes)"
    sleep 0.05
  done
  i=$((i + 1))
done
log "all nodes know each other"

# Tell every node still a master who owns each slot instead of waiting seconds for
# gossip (what redis-cli sends after a migration); replicas refuse SETSLOT. The
# commands of each range are written once to scratch files, then piped to each node.
scratch=${TMPDIR:-/tmp}/init-cluster-range
k=0
while [ "$k" -lt "$m" ]; do
  getv s "start_$k"
  getv e "end_$k"
  getv kid "id_$k"
  while [ "$s" -le "$e" ]; do
    printf 'CLUSTER SETSLOT %s NODE %s\n' "$s" "$kid"
    s=$((s + 1))
  done >"$scratch-$k"
  k=$((k + 1))
done
i=0
while [ "$i" -lt "$n" ]; do
  role=$(cli "$i" role) || die 75 "node-$i: ROLE failed: $role"
  case $role in
    master*)
      k=0 files=""
      while [ "$k" -lt "$m" ]; do
        [ "$k" = "$i" ] || files="$files $scratch-$k"
        k=$((k + 1))
      done
      # shellcheck disable=SC2086 # a list of paths without spaces
      cat $files | cli "$i" --pipe >/dev/null || die 75 "node-$i: CLUSTER SETSLOT failed"
      ;;
  esac
  i=$((i + 1))
done
log "slot map pushed to every master"

i=$m
while [ "$i" -lt "$n" ]; do
  getv mid "id_$((i - m))"
  nodes=$(cli "$i" cluster nodes) || die 75 "node-$i: CLUSTER NODES failed: $nodes"
  case $nodes in
    *"myself,slave $mid "*) ;;
    *)
      getv nm "name_$i"
      getv mnm "name_$((i - m))"
      cli "$i" cluster replicate "$mid" >/dev/null || die 75 "$nm: CLUSTER REPLICATE failed"
      log "$nm: replicates $mnm"
      ;;
  esac
  i=$((i + 1))
done

# --- 4. cluster_state:ok everywhere ---------------------------------------------
i=0
while [ "$i" -lt "$n" ]; do
  getv nm "name_$i"
  until field "$(cli "$i" cluster info)" cluster_state && [ "$val" = ok ]; do
    check_deadline "cluster_state:ok on $nm"
    sleep 0.05
  done
  i=$((i + 1))
done
log "cluster formed: $m masters with $SLOTS slots, $m replicas, cluster_state:ok"
