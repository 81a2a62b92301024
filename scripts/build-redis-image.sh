#!/usr/bin/env bash
# Build a minimal Redis image without any registry: copy the host's Redis binaries
# (+ sh and a few coreutils for init scripts/healthchecks) and exactly the shared
# libraries `ldd` reports into a rootfs, then `docker import` it.
# Usage: scripts/build-redis-image.sh [--force] [TAG]   (TAG default: $REDIS_IMAGE
#        or redis-cluster-toolkit/redis:local)
set -euo pipefail

source "$(dirname "$0")/_image-args.sh"
parse_image_args "${REDIS_IMAGE:-redis-cluster-toolkit/redis:local}" "$@"

timeout 5 docker info >/dev/null 2>&1 || { echo "docker engine not reachable: run scripts/start-dockerd.sh" >&2; exit 1; }
for b in redis-server redis-cli; do
  [[ -x /usr/bin/$b ]] || { echo "/usr/bin/$b not installed: apt-get install -y redis-server redis-tools" >&2; exit 1; }
done

if ((!force)) && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "image $tag already present"
  exit 0
fi

old_id=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
root=$(mktemp -d /tmp/rc-redis-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

# Mirror the host's merged-/usr layout (/bin -> usr/bin, /lib64 -> usr/lib64, ...)
# so the ELF interpreter path /lib64/ld-linux-x86-64.so.2 and /bin/sh resolve.
mkdir -p "$root"/usr/{bin,lib,sbin} "$root"/usr/local/bin
for d in bin sbin lib lib64; do
  if [[ -L /$d ]]; then ln -s "$(readlink "/$d")" "$root/$d"; mkdir -p "$root/$(readlink -f "/$d")"; fi
done

# Destination of host path $1 inside the rootfs, with its directory canonicalised.
dest() { echo "$root$(readlink -f "$(dirname "$1")")/$(basename "$1")"; }

bins=()
for b in redis-server redis-cli redis-check-rdb redis-check-aof redis-benchmark \
         dash sleep cat grep sed id ls; do
  p=$(PATH=/usr/bin:/bin; type -P "$b" || true) # Debian's, not pyenv/local shims
  [[ -n $p ]] && bins+=("$p")
done

libs=()
for p in "${bins[@]}"; do
  # cp -P keeps symlinks: Debian's redis-server -> redis-check-rdb, and the
  # binary picks its mode from argv[0], so the names must stay as they are.
  cp -P --preserve=mode "$p" "$(dest "$p")"
  if [[ -L $p ]]; then t=$(readlink -f "$p"); cp --preserve=mode "$t" "$(dest "$t")"; fi
  # ldd lines: "libx.so.N => /path (0x..)" and "/lib64/ld-linux-x86-64.so.2 (0x..)"
  while read -r lib; do libs+=("$lib"); done < <(ldd "$p" 2>/dev/null | grep -oE '/[^ ]+ \(0x' | cut -d' ' -f1 || true)
done
# Libraries are copied dereferenced under the name the loader looks up (soname).
for l in $(printf '%s\n' "${libs[@]}" | sort -u); do
  mkdir -p "$(dirname "$(dest "$l")")"
  cp -L "$l" "$(dest "$l")"
done
ln -s dash "$(dest /bin/sh)"
# Same paths as the official image, for configs/compose files that use them.
for b in redis-server redis-cli redis-check-rdb redis-check-aof redis-benchmark; do
  if [[ -e $(dest "/usr/bin/$b") ]]; then ln -s "/usr/bin/$b" "$root/usr/local/bin/$b"; fi
done

# Minimal /etc (glibc >= 2.34 has nss files/dns built in, no libnss_* needed),
# a redis user like the official image (999:999), writable /data and /tmp.
mkdir -p "$root"/{etc,data,tmp,proc,sys,dev,root}
printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999:redis:/data:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nredis:x:999:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
chown 999:999 "$root/data"
chmod 1777 "$root/tmp"

tar --numeric-owner -C "$root" -cf - . |
  docker import \
    --change 'WORKDIR /data' \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change 'CMD ["redis-server"]' \
    --message "rootfs from host $(/usr/bin/redis-server --version | grep -oE 'v=[^ ]+')" \
    - "$tag" >/dev/null

# --force: drop the previous image instead of leaving it dangling (ignored if in use).
new_id=$(docker image inspect -f '{{.Id}}' "$tag")
[[ -z $old_id || $old_id == "$new_id" ]] || docker rmi "$old_id" >/dev/null 2>&1 || true
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "built image $tag ($((size / 1000000)) MB)"
