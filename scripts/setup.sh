#!/usr/bin/env bash
# One command from a fresh Debian + Node 20 machine (as root) to a healthy cluster:
# installs redis-server/redis-tools and pnpm if missing, the workspace's packages,
# creates .env and the users' secrets (pnpm secrets:init), then runs `pnpm run up` and `pnpm status`.
# Idempotent: what exists is kept. Flags: --no-up   install and create .env and the secrets only.
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

# .env is the configuration of the toolkit and of plain docker-compose, which reads it
# through compose/.env (a committed symlink to ../.env; compose reads .env from the
# compose file's folder): both must name the same project, or `docker-compose -f
# compose/docker-compose.yml ps` shows an empty project called `compose`.
if [ ! -e .env ]; then
  cp .env.example .env
  echo "setup: created .env from .env.example" >&2
fi
if ! grep -Eq '^[[:space:]]*(export[[:space:]]+)?COMPOSE_PROJECT_NAME[[:space:]]*=' .env; then
  # An .env older than COMPOSE_PROJECT_NAME: keep the project the toolkit used (RC_PROJECT, its old name).
  project=$(sed -nE 's/^[[:space:]]*(export[[:space:]]+)?RC_PROJECT[[:space:]]*=[[:space:]]*//p' .env | tail -n 1)
  printf '\n# Added by setup: the compose project, for the toolkit and plain docker-compose.\nCOMPOSE_PROJECT_NAME=%s\n' "${project:-redis-cluster}" >> .env
  echo "setup: added COMPOSE_PROJECT_NAME=${project:-redis-cluster} to .env" >&2
fi
# A checkout without symlink support (core.symlinks=false) has a file holding the target instead.
if [ ! -L compose/.env ] && { [ ! -e compose/.env ] || [ "$(cat compose/.env)" = "../.env" ]; }; then
  rm -f compose/.env && ln -s ../.env compose/.env
elif [ "$(readlink compose/.env)" != "../.env" ]; then
  echo "setup: warning: compose/.env is not the link to ../.env: plain docker-compose reads it instead of .env" >&2
fi

# Each ACL user's secret (secrets/users/<user>.txt), created when missing, never
# overwritten: 0600, or 0640 group 999 when the stack runs on compose (its
# containers' redis user reads them). An older checkout's secrets/redis_password.txt
# becomes the admin user's; secrets:init says so, and that running nodes need
# `pnpm run down && pnpm run up` once.
pnpm -s secrets:init

# RC_TLS=1 in .env (or the environment): the local CA, the node and the client
# certificates in secrets/tls/, created when missing, never overwritten.
if [ "${RC_TLS:-}" = 1 ] || grep -Eq '^[[:space:]]*(export[[:space:]]+)?RC_TLS[[:space:]]*=[[:space:]]*(1|true|yes)[[:space:]]*$' .env; then
  pnpm -s secrets:tls
fi

[ "${1:-}" = "--no-up" ] && exit 0
pnpm run up
pnpm status
