#!/bin/sh
# One-shot init of the redis-cluster-init container. POSIX sh that needs only
# redis-cli, cat and sleep (runs on the official image and on the offline one, which
# has no awk/date/mkdir), and forks little: a loaded 2-core host makes every fork slow.
#
# Forms the spec's exact layout over REDIS_NODES ("ip:port:busport ..." in node order):
# the first half are masters with even slot ranges (0-5460, 5461-10922, 10923-16383
# for three), node i+m replicates node i. `redis-cli --cluster create` is not used:
# it places replicas itself (not node-3 -> node-0), sleeps in 1 s steps and waits
# forever on an unreachable bus port.
#
# REDIS_ADDED_NODES ("ip:port:busport ...", may be empty) lists the nodes the toolkit's
# cluster:add-node joined (compose services marked REDIS_ADDED): they are never formed
# here, only accepted when the cluster is formed with them.
#
# What it does with the nodes it finds follows ONE acceptance table, written in
# packages/core/src/formation.ts (rows 1-7 below refer to it) and followed by the
# toolkit's createCluster (packages/init) too: FRESH nodes are formed, a FORMED cluster
# (every node met, every slot owned once, every master with slots and a replica) is
# left alone, a PARTIAL one (an interrupted creation, a pair swapped by a failover
# allowed) is finished through to replicas attached, anything else is REFUSED
# unchanged. packages/init/test/formation-acceptance.test.ts runs both against the same cases.
#
#   exit 0   created, finished, or already formed (nothing changed)
#   exit 1   refused: the nodes hold a cluster that does not match the layout (nothing changed)
#   exit 75  a deadline passed (INIT_TIMEOUT_S, default 60) or a node failed a command
#   exit 78  configuration: secret, REDIS_NODES
# It runs as the admin user (CLUSTER commands): its secret is the only one it holds.
set -eu

ADMIN_SECRET=${REDIS_ADMIN_SECRET:-/run/secrets/user_admin}
# REDIS_TLS=1 (docker-compose.tls.yml): the nodes speak TLS only; the toolkit's client certificate.
tls=""
if [ "${REDIS_TLS:-}" = 1 ]; then tls="--tls --cacert /run/secrets/tls_ca --cert /run/secrets/tls_client_cert --key /run/secrets/tls_client_key"; fi
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
  # shellcheck disable=SC2086 # $tls: options and paths without spaces
  redis-cli $tls --user admin -e -h "$h" -p "$p" "$@"
}
# field TEXT NAME: sets $val to NAME's value in INFO-style TEXT.
field() {
  case $1 in
    *"$2:"*) val=${1#*"$2:"} val=${val%%[!0-9a-z]*} ;;
    *) val="" ;;
  esac
}

# --- admin's password: trailing CR/LF/blanks trimmed, handed over as REDISCLI_AUTH
read_password "$ADMIN_SECRET"
export REDISCLI_AUTH="$password"
unset password

# --- the nodes, from REDIS_NODES, then REDIS_ADDED_NODES --------------------------
# node VAR SPEC NAME: node $t is ip:port:busport SPEC, called NAME ($ip, $port usable in it).
node() {
  ip=${2%%:*} rest=${2#*:}
  port=${rest%%:*} bus=${rest#*:}
  case $ip:$port:$bus in
    *[!0-9.:]* | :* | *::* | *:) die 78 "$1 entry '$2' is not ip:port:busport" ;;
  esac
  eval "ip_$t=$ip port_$t=$port bus_$t=$bus name_$t=\"$3\""
  t=$((t + 1))
}
t=0
for spec in ${REDIS_NODES:?REDIS_NODES is not set}; do node REDIS_NODES "$spec" 'node-$t ($ip:$port)'; done
n=$t
[ "$n" -ge 6 ] && [ $((n % 2)) -eq 0 ] || die 78 "REDIS_NODES names $n nodes; the layout needs an even number, at least 6"
m=$((n / 2))
# Nodes added by the toolkit's cluster:add-node (nodes n..t-1): never formed here,
# only accepted as part of a formed cluster (rows 2a, 2b).
added=""
for spec in ${REDIS_ADDED_NODES:-}; do
  node REDIS_ADDED_NODES "$spec" 'added node $ip:$port'
  added="$added${added:+, }$ip:$port"
done

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
while [ "$i" -lt "$t" ]; do
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
log "all $t nodes answer PING"

# --- 2. what is there already: each node's own entry and the ids it knows ---------
# One CLUSTER NODES per node. Sets per node I: role_I, master_I ("-" or an id),
# epoch_I, slots_I (its own ranges, space-separated, without [migrating] marks),
# knows_I (" id id ... ", handshake entries left out: they carry a random id) and
# foreign_I (addresses of known nodes outside REDIS_NODES).
set -f # a slot field like [5461->-id] must stay a word, not a glob
fresh=1
i=0
while [ "$i" -lt "$t" ]; do
  getv nm "name_$i"
  nodes=$(cli "$i" cluster nodes) || die 75 "$nm: CLUSTER NODES failed: $nodes"
  lines=0 knows=" " foreign=""
  while read -r nid addr flags master _ _ epoch _ fields; do
    [ -n "$nid" ] || continue
    lines=$((lines + 1))
    case ,$flags, in *,handshake,*) continue ;; esac
    knows="$knows$nid "
    case $ids in *" $nid "*) ;; *) foreign="$foreign ${addr%%@*}" ;; esac
    case ,$flags, in *,myself,*) ;; *) continue ;; esac
    case ,$flags, in *,slave,*) role=replica ;; *) role=master ;; esac
    own=""
    for r in $fields; do
      case $r in '['*) ;; *) own="$own${own:+ }$r" ;; esac
    done
    eval "role_$i=\$role master_$i=\$master epoch_$i=\$epoch slots_$i=\$own"
  done <<END
$nodes
END
  eval "knows_$i=\$knows foreign_$i=\$foreign"
  getv own "slots_$i"
  [ "$lines" = 1 ] && [ -z "$own" ] || fresh=0
  i=$((i + 1))
done

# The acceptance table (packages/core/src/formation.ts), row 1 FRESH is set above;
# row 2 FORMED: every node knows every other; each slot is owned by exactly one node;
# every node is a master owning slots or a replica of one; every slot-owning master has a replica.
# Row 2a: an added master (node n or later) may own no slots, or have no replica.
formed=1
[ "$fresh" = 0 ] || formed=0
total=0 starts=" " ends="" owner_ids=" " replicated=" "
i=0
while [ "$i" -lt "$t" ]; do
  getv knows "knows_$i"
  for id in $ids; do
    case $knows in *" $id "*) ;; *) formed=0 ;; esac
  done
  getv own "slots_$i"
  for r in $own; do
    s=${r%-*} e=${r#*-}
    total=$((total + e - s + 1)) starts="$starts$s " ends="$ends $e"
  done
  getv role "role_$i"
  getv master "master_$i"
  getv id "id_$i"
  [ "$role" = master ] && [ -n "$own" ] && owner_ids="$owner_ids$id "
  [ "$master" = - ] || replicated="$replicated$master "
  i=$((i + 1))
done
# Exactly once: the sizes add up to 16384, a range starts at 0 and every range
# that ends before the last slot is followed by one starting right after it.
[ "$total" = "$SLOTS" ] || formed=0
case $starts in *" 0 "*) ;; *) formed=0 ;; esac
for e in $ends; do
  [ "$e" = $((SLOTS - 1)) ] && continue
  case $starts in *" $((e + 1)) "*) ;; *) formed=0 ;; esac
done
i=0
while [ "$i" -lt "$t" ]; do
  getv id "id_$i"
  getv role "role_$i"
  getv master "master_$i"
  if [ "$i" -ge "$n" ] && [ "$role" = master ]; then
    : # an added master: no slots yet, or no replica yet, are add-node's states (health reports them)
  else
    case $owner_ids in
      *" $id "*) case $replicated in *" $id "*) ;; *) formed=0 ;; esac ;; # an owner needs a replica
      *) case $role:$owner_ids in replica:*" $master "*) ;; *) formed=0 ;; esac ;; # else it replicates an owner
    esac
  fi
  i=$((i + 1))
done
if [ "$formed" = 1 ]; then
  log "cluster already exists ($t nodes, every slot owned once, every master with a replica): nothing to do"
  exit 0
fi
[ -z "$added" ] || die 1 "the nodes hold a partial cluster that does not match the layout: added node(s) $added are not in a formed cluster with the other nodes: up forms the spec's nodes only, cluster:add-node joins an added one; nothing was changed"

# Rows 3-6 REFUSED (a foreign node; slots other than exactly the pair's range; both
# members owning it; a replica outside its pair or of a member without slots) need a
# human; row 7 PARTIAL is finished. Sets owner_I: the member of pair I that owns (or is to own) range I.
problems="" count=0
problem() {
  count=$((count + 1))
  [ "$count" -gt 3 ] || problems="$problems; $1"
}
j=0
while [ "$j" -lt "$n" ]; do
  getv nm "name_$j"
  if [ "$j" -lt "$m" ]; then p=$j partner=$((j + m)); else p=$((j - m)) partner=$p; fi
  getv foreign "foreign_$j"
  for a in $foreign; do problem "$nm knows a foreign node $a"; done
  getv own "slots_$j"
  getv s "start_$p"
  getv e "end_$p"
  [ -z "$own" ] || [ "$own" = "$s-$e" ] || problem "$nm owns slots $own, not its pair's range $s-$e"
  getv master "master_$j"
  getv pid "id_$partner"
  getv pslots "slots_$partner"
  getv pnm "name_$partner"
  if [ "$master" != - ] && [ "$master" != "$pid" ]; then
    problem "$nm replicates a node outside its pair with $pnm"
  elif [ "$master" != - ] && [ -z "$pslots" ]; then
    problem "$nm replicates $pnm, which owns no slots"
  fi
  j=$((j + 1))
done
i=0
while [ "$i" -lt "$m" ]; do
  getv a "slots_$i"
  getv b "slots_$((i + m))"
  getv s "start_$i"
  getv e "end_$i"
  getv nm "name_$i"
  getv pnm "name_$((i + m))"
  [ -z "$a" ] || [ -z "$b" ] || problem "$nm and $pnm both own slots $s-$e"
  if [ -n "$b" ]; then eval "owner_$i=$((i + m))"; else eval "owner_$i=$i"; fi
  i=$((i + 1))
done
[ "$count" -le 3 ] || problems="$problems; ..."
[ -z "$problems" ] || die 1 "the nodes hold a partial cluster that does not match the layout:${problems#;}; nothing was changed"

# --- 3. form it ------------------------------------------------------------------
if [ "$fresh" = 1 ]; then
  log "creating the cluster: $m masters, $m replicas"
else
  log "finishing a partially formed cluster"
fi
# Epochs and slots on every node first (a node that was met refuses an epoch, and
# so does one that has one already; a master that idles slotless waits a rejoin
# delay); then every pair meets directly: one handshake each instead of gossip.
i=0
while [ "$i" -lt "$n" ]; do
  getv epoch "epoch_$i"
  cmds=""
  [ "$fresh" = 0 ] || [ "$epoch" != 0 ] || cmds="CLUSTER SET-CONFIG-EPOCH $((i + 1))"
  k=$((i % m))
  getv o "owner_$k"
  getv own "slots_$i"
  if [ "$o" = "$i" ] && [ -z "$own" ]; then
    getv s "start_$k"
    getv e "end_$k"
    cmds="$cmds${cmds:+
}CLUSTER ADDSLOTSRANGE $s $e"
  fi
  [ -z "$cmds" ] || printf '%s\n' "$cmds" | cli "$i" --pipe >/dev/null || die 75 "node-$i: CLUSTER SET-CONFIG-EPOCH/ADDSLOTSRANGE failed"
  i=$((i + 1))
done
i=0
while [ "$i" -lt "$n" ]; do
  getv iid "id_$i"
  getv iknows "knows_$i"
  cmds=""
  j=$((i + 1))
  while [ "$j" -lt "$n" ]; do
    getv jid "id_$j"
    getv jknows "knows_$j"
    case $iknows@$jknows in
      *" $jid "*@*" $iid "*) ;;
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
  getv o "owner_$i"
  getv nm "name_$o"
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
      case "
$nodes" in *"
$id "*) ;; *) missing="$missing $id" ;; esac
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
scratch=${TMPDIR:-/tmp}/init-cluster-$$-range
k=0
while [ "$k" -lt "$m" ]; do
  getv s "start_$k"
  getv e "end_$k"
  getv o "owner_$k"
  getv oid "id_$o"
  while [ "$s" -le "$e" ]; do
    printf 'CLUSTER SETSLOT %s NODE %s\n' "$s" "$oid"
    s=$((s + 1))
  done >"$scratch-$k"
  k=$((k + 1))
done
i=0
while [ "$i" -lt "$n" ]; do
  getv role "role_$i"
  if [ "$role" = master ]; then
    k=0 files=""
    while [ "$k" -lt "$m" ]; do
      getv o "owner_$k"
      [ "$o" = "$i" ] || files="$files $scratch-$k"
      k=$((k + 1))
    done
    # shellcheck disable=SC2086 # a list of paths without spaces
    cat $files | cli "$i" --pipe >/dev/null || die 75 "node-$i: CLUSTER SETSLOT failed"
  fi
  i=$((i + 1))
done
log "slot map pushed to every master"

# The member of each pair that does not own the range replicates the one that does.
k=0
while [ "$k" -lt "$m" ]; do
  getv o "owner_$k"
  if [ "$o" = "$k" ]; then r=$((k + m)); else r=$k; fi
  getv oid "id_$o"
  getv master "master_$r"
  if [ "$master" != "$oid" ]; then
    getv nm "name_$r"
    getv onm "name_$o"
    cli "$r" cluster replicate "$oid" >/dev/null || die 75 "$nm: CLUSTER REPLICATE failed"
    log "$nm: replicates $onm"
  fi
  k=$((k + 1))
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
