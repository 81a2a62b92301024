#!/bin/sh
# Entrypoint of a redis-node-N container (POSIX sh: runs on the official image and
# on the offline one, which has no awk/head/tail).
#   start-node.sh          copy the ACL file, write the node's conf and exec redis-server
#   start-node.sh health   healthcheck: PING as the replication user must answer PONG
# Secrets (docker-compose.yml): the ACL file (users.acl: every user, hashes only) and the
# replication user's password. The ACL file is copied to /data/users.acl at each start, so
# the node always starts with the ACL the toolkit wrote last, and ACL SAVE (which `up` and
# secrets:rotate run) can write it (the mounted secret is read-only). The replication
# password goes into a 0600 conf file (masterauth) and REDISCLI_AUTH, never into argv,
# the environment of the container, or the data volume.
# Environment (from docker-compose.yml): REDIS_PORT, REDIS_BUS_PORT, REDIS_ANNOUNCE_IP,
# optional REDIS_CLUSTER_NODE_TIMEOUT (ms; default: conf/redis.conf's value), optional
# REDIS_BIND_IP (docker-compose.node.yml, host networking: listen on this address only),
# optional REDIS_TLS=1 (docker-compose.tls.yml: TLS only, with the tls_* secrets).
set -eu

ACL_SECRET=${REDIS_ACL_SECRET:-/run/secrets/users_acl}
REPLICATION_SECRET=${REDIS_REPLICATION_SECRET:-/run/secrets/user_replication}
SHARED_CONF=${REDIS_SHARED_CONF:-/usr/local/etc/redis/redis.conf}
NODE_CONF=${REDIS_NODE_CONF:-/tmp/redis-node.conf}
TLS_CA=${REDIS_TLS_CA:-/run/secrets/tls_ca}
TLS_CERT=${REDIS_TLS_CERT:-/run/secrets/tls_node_cert}
TLS_KEY=${REDIS_TLS_KEY:-/run/secrets/tls_node_key}

PROG=start-node
. "${0%/*}/secret.sh"

: "${REDIS_PORT:?REDIS_PORT is not set}"
: "${REDIS_BUS_PORT:?REDIS_BUS_PORT is not set}"

if [ "${1:-}" = health ]; then
  read_password "$REPLICATION_SECRET"
  tls=""
  if [ "${REDIS_TLS:-}" = 1 ]; then tls="--tls --cacert $TLS_CA --cert $TLS_CERT --key $TLS_KEY"; fi
  # The replication user may PING (and no more): the only password this container holds.
  # REDISCLI_AUTH is set for redis-cli alone: it is not in the container's config.
  # shellcheck disable=SC2086 # $tls: options and paths without spaces
  reply=$(REDISCLI_AUTH=$password redis-cli $tls --user replication -h "${REDIS_BIND_IP:-127.0.0.1}" -p "$REDIS_PORT" ping 2>&1) || true
  [ "$reply" = PONG ] || die 1 "ping on port $REDIS_PORT: $reply"
  exit 0
fi

: "${REDIS_ANNOUNCE_IP:?REDIS_ANNOUNCE_IP is not set (the node fixed address in infra_net)}"
[ -r "$SHARED_CONF" ] || die 78 "$SHARED_CONF is not mounted or not readable"
readable "$ACL_SECRET"
read_password "$REPLICATION_SECRET"
if [ "${REDIS_TLS:-}" = 1 ]; then for f in "$TLS_CA" "$TLS_CERT" "$TLS_KEY"; do readable "$f"; done; fi

umask 077
# No cp in the offline image: cat. Redis is not running yet, so nothing reads it half-written.
cat "$ACL_SECRET" >/data/users.acl || die 73 "cannot write /data/users.acl (is the data volume writable by uid $(id -u)?)"
# printf, not echo: dash's echo would expand backslashes in the password.
line() { printf '%s\n' "$*"; }
{
  line "# written by start-node.sh at each container start; edit conf/redis.conf instead"
  line "include $SHARED_CONF"
  if [ -n "${REDIS_BIND_IP:-}" ]; then line "bind $REDIS_BIND_IP"; fi
  if [ "${REDIS_TLS:-}" = 1 ]; then
    # TLS only: no plaintext port; the bus (same cluster-port) and replication links speak TLS too.
    # optional: a client certificate, when presented, must be from the CA; ACL passwords authenticate.
    line "port 0"
    line "tls-port $REDIS_PORT"
    line "tls-cluster yes"
    line "tls-replication yes"
    line "tls-cert-file $TLS_CERT"
    line "tls-key-file $TLS_KEY"
    line "tls-ca-cert-file $TLS_CA"
    line "tls-auth-clients optional"
  else
    line "port $REDIS_PORT"
  fi
  line "cluster-port $REDIS_BUS_PORT"
  # Peers and clients are told the fixed address and ports, so node ids and
  # addresses survive container recreation (no noaddr/fail? ghosts).
  line "cluster-announce-ip $REDIS_ANNOUNCE_IP"
  line "cluster-announce-port $REDIS_PORT"
  line "cluster-announce-bus-port $REDIS_BUS_PORT"
  line "replica-announce-ip $REDIS_ANNOUNCE_IP"
  line "dir /data"
  if [ -n "${REDIS_CLUSTER_NODE_TIMEOUT:-}" ]; then line "cluster-node-timeout $REDIS_CLUSTER_NODE_TIMEOUT"; fi
  # Single quotes: Redis takes everything up to the closing quote literally
  # (the password has no quotes, checked above).
  # No requirepass: every user, `default` included (off), comes from the ACL file.
  line "aclfile /data/users.acl"
  line "masteruser replication"
  line "masterauth '$password'"
} >"$NODE_CONF"
unset password

exec redis-server "$NODE_CONF"
