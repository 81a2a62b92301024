#!/bin/sh
# Entrypoint of the redis-exporter container (profile `monitoring`; POSIX sh: runs
# on the official alpine image and on the offline one of scripts/build-exporter-image.sh).
# redis_exporter's --redis.password-file is a JSON map of target URI to password, not
# the plain secret (given the secret itself it exits at start). So at each start the
# map is written from the exporter user's secret to a 0600 file on the container's tmpfs /tmp,
# and the exporter gets only its path: the password never enters argv or the
# container's environment (`docker inspect` shows neither), nor its image layers.
# Environment (from docker-compose.yml): REDIS_NODES (ip:port of every node, the
# targets Prometheus may ask for), REDIS_EXPORTER_PORT, REDIS_USER (the ACL user it scrapes
# as, default exporter: a name, not a secret); optional REDIS_EXPORTER_BIN and
# REDIS_EXPORTER_LISTEN_HOST (default all interfaces; the tests run it on the host on 127.0.0.1),
# optional REDIS_TLS=1 (docker-compose.tls.yml): the nodes speak TLS only.
set -eu

SECRET=${REDIS_EXPORTER_SECRET:-/run/secrets/user_exporter}
MAP=${REDIS_EXPORTER_PASSWORD_MAP:-/tmp/redis-exporter-passwords.json}

PROG=start-exporter
. "${0%/*}/secret.sh"

: "${REDIS_NODES:?REDIS_NODES is not set (ip:port of every node)}"
read_password "$SECRET"
# redis_exporter dials TLS for rediss:// targets only (the scheme wins over its --tls-* flags):
# under TLS the targets Prometheus asks for, and so the map's keys, are rediss://.
scheme=redis tls=""
if [ "${REDIS_TLS:-}" = 1 ]; then
  scheme=rediss
  ca=${REDIS_TLS_CA:-/run/secrets/tls_ca} cert=${REDIS_TLS_CERT:-/run/secrets/tls_client_cert} key=${REDIS_TLS_KEY:-/run/secrets/tls_client_key}
  for f in "$ca" "$cert" "$key"; do readable "$f"; done
  tls="--tls-ca-cert-file=$ca --tls-client-cert-file=$cert --tls-client-key-file=$key"
fi

# A JSON string: secret.sh refuses quotes and whitespace, so only backslashes need escaping.
escaped='' rest=$password
while :; do
  case $rest in
    *\\*) escaped="$escaped${rest%%\\*}\\\\" rest=${rest#*\\} ;;
    *) escaped=$escaped$rest && break ;;
  esac
done

umask 077
# The keys must be the exact ?target= values of conf/prometheus/prometheus.yml.
sep='{'
{
  for node in $REDIS_NODES; do
    printf '%s"%s://%s":"%s"' "$sep" "$scheme" "$node" "$escaped"
    sep=,
  done
  printf '}\n'
} >"$MAP"
unset password escaped rest

# Empty --redis.addr: /metrics serves only the exporter's own metrics, Redis data
# comes from /scrape?target=. The connection timeout stays below Prometheus'
# scrape_timeout (10s), so a dead node reads as redis_up 0, not as a failed scrape.
# shellcheck disable=SC2086 # $tls: flags and paths without spaces
exec "${REDIS_EXPORTER_BIN:-/redis_exporter}" $tls \
  --redis.addr= \
  --redis.user="${REDIS_USER:-exporter}" \
  --redis.password-file="$MAP" \
  --connection-timeout=5s \
  --web.listen-address="${REDIS_EXPORTER_LISTEN_HOST:-}:${REDIS_EXPORTER_PORT:-9121}"
