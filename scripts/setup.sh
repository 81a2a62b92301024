#!/usr/bin/env bash
# One command from a fresh Debian + Node 20 machine (as root) to a healthy cluster:
# installs redis-server/redis-tools and pnpm if missing, the workspace's packages,
# creates the password secret, then runs `pnpm run up` and `pnpm status`.
# Flags: --no-up   install and create the secret only.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "setup: installing redis-server and redis-tools (apt)" >&2
  # Keep Debian's postinst from starting the system redis service on 6379:
  # our nodes are started by the toolkit, on the ports of .env.
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
  [ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
fi

if ! command -v pnpm >/dev/null || [ "$(pnpm --version | cut -d. -f1)" != 10 ]; then
  echo "setup: installing pnpm 10 (npm)" >&2
  npm install -g --silent pnpm@10 >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent

if [ ! -s secrets/redis_password.txt ]; then
  mkdir -p secrets && chmod 700 secrets
  (umask 077 && node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))' > secrets/redis_password.txt)
  # Compose bind-mounts file secrets: the containers' redis user (gid 999) must
  # read it. The directory stays 0700, so no other host user can.
  chgrp 999 secrets/redis_password.txt && chmod 640 secrets/redis_password.txt
  echo "setup: created secrets/redis_password.txt (random password)" >&2
fi

[ "${1:-}" = "--no-up" ] && exit 0
pnpm run up
pnpm status
