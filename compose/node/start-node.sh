#!/bin/sh
# Entrypoint of a redis-node-N container (POSIX sh: runs on the official image and
# on the offline one, which has no awk/head/tail).
#   start-node.sh          write the node's conf (password included) and exec redis-server
#   start-node.sh health   healthcheck: authenticated PING must answer PONG
# The password goes from the Docker secret into a 0600 conf file and REDISCLI_AUTH,
# never into argv, the environment of the container, or the data volume.
# Environment (from docker-compose.yml): REDIS_PORT, REDIS_BUS_PORT, REDIS_ANNOUNCE_IP,
# optional REDIS_CLUSTER_NODE_TIMEOUT (ms; default: conf/redis.conf's value), optional
# REDIS_BIND_IP (docker-compose.node.yml, host networking: listen on this address only).
set -eu

SECRET=${REDIS_PASSWORD_SECRET:-/run/secrets/redis_password}
SHARED_CONF=${REDIS_SHARED_CONF:-/usr/local/etc/redis/redis.conf}
NODE_CONF=${REDIS_NODE_CONF:-/tmp/redis-node.conf}

PROG=start-node
. "${0%/*}/secret.sh"

: "${REDIS_PORT:?REDIS_PORT is not set}"
: "${REDIS_BUS_PORT:?REDIS_BUS_PORT is not set}"

if [ "${1:-}" = health ]; then
  read_password
  # REDISCLI_AUTH is set for redis-cli alone: it is not in the container's config.
  reply=$(REDISCLI_AUTH=$password redis-cli -h "${REDIS_BIND_IP:-127.0.0.1}" -p "$REDIS_PORT" ping 2>&1) || true
  [ "$reply" = PONG ] || die 1 "ping on port $REDIS_PORT: $reply"
  exit 0
fi

: "${REDIS_ANNOUNCE_IP:?REDIS_ANNOUNCE_IP is not set (the node fixed address in infra_net)}"
[ -r "$SHARED_CONF" ] || die 78 "$SHARED_CONF is not mounted or not readable"
read_password

umask 077
# printf, not echo: dash's echo would expand backslashes in the password.
line() { printf '%s\n' "$*"; }
{
  line "# written by start-node.sh at each container start; edit conf/redis.conf instead"
  line "include $SHARED_CONF"
  if [ -n "${REDIS_BIND_IP:-}" ]; then line "bind $REDIS_BIND_IP"; fi
  line "port $REDIS_PORT"
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
  line "requirepass '$password'"
  line "masterauth '$password'"
} >"$NODE_CONF"
unset password

exec redis-server "$NODE_CONF"
