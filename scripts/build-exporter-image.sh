#!/usr/bin/env bash
# Build a redis_exporter image without any registry, for the compose `monitoring`
# profile where oliver006/redis_exporter cannot be pulled (CI, air-gapped hosts):
# Debian's prometheus-redis-exporter binary on top of the offline Redis image of
# scripts/build-redis-image.sh (which already holds libc, sh and the redis user;
# built first if missing). The binary goes where the official image has it
# (/redis_exporter), so compose/node/start-exporter.sh runs on both.
# Usage: scripts/build-exporter-image.sh [--force] [TAG]   (TAG default:
#        $REDIS_EXPORTER_IMAGE or redis-cluster-toolkit/redis-exporter:local)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/_image-args.sh
parse_image_args "${REDIS_EXPORTER_IMAGE:-redis-cluster-toolkit/redis-exporter:local}" "$@"
base=${REDIS_IMAGE:-redis-cluster-toolkit/redis:local}
bin=/usr/bin/prometheus-redis-exporter

timeout 5 docker info >/dev/null 2>&1 || { echo "docker engine not reachable: run scripts/start-dockerd.sh" >&2; exit 1; }
[[ -x $bin ]] || { echo "$bin not installed: apt-get install -y prometheus-redis-exporter" >&2; exit 1; }

if ((!force)) && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "image $tag already present"
  exit 0
fi
docker image inspect "$base" >/dev/null 2>&1 || bash scripts/build-redis-image.sh "$base"

old_id=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
context=$(mktemp -d /tmp/rc-exporter-image.XXXXXX)
trap 'rm -rf "$context"' EXIT
cp "$bin" "$context/redis_exporter"
# ENTRYPOINT resets the base image's CMD (redis-server).
cat >"$context/Dockerfile" <<DOCKERFILE
FROM $base
COPY redis_exporter /redis_exporter
USER 999:999
EXPOSE 9121
ENTRYPOINT ["/redis_exporter"]
DOCKERFILE
# A local FROM image is used as it is: no registry lookup (no --pull).
# Its output (and the legacy builder's deprecation notice) only matters when it fails.
version=$("$bin" --version 2>&1 | grep -oE 'Exporter [^ ]+' | cut -d' ' -f2)
if ! out=$(docker build -q -t "$tag" --label "org.opencontainers.image.version=$version" "$context" 2>&1); then
  echo "$out" >&2
  exit 1
fi

# --force: drop the previous image instead of leaving it dangling (ignored if in use).
new_id=$(docker image inspect -f '{{.Id}}' "$tag")
[[ -z $old_id || $old_id == "$new_id" ]] || docker rmi "$old_id" >/dev/null 2>&1 || true
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "built image $tag ($((size / 1000000)) MB)"
