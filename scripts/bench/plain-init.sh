#!/bin/sh
# Bench only (`pnpm bench --case compose-up`, the standard side): the init the
# spec's original design runs in redis-cluster-init, as a plain script would:
#   1. wait until every node answers PING;
#   2. `redis-cli --cluster create` over the six nodes with --cluster-replicas 1,
#      which sets the master/replica pairs and assigns the slots itself.
# Mounted over the init container's command by compose.plain-init.yml (beside
# this file), so the rest of the stack is the one `pnpm run up` starts.
# The password reaches redis-cli through REDISCLI_AUTH, never argv (no -a).
set -eu

# As the admin user, the only secret the init container holds (compose/docker-compose.yml).
REDISCLI_AUTH=$(cat /run/secrets/user_admin)
export REDISCLI_AUTH

addresses=""
for spec in ${REDIS_NODES:?REDIS_NODES is not set}; do # ip:port:busport
  ip=${spec%%:*} rest=${spec#*:}
  port=${rest%%:*}
  until [ "$(redis-cli --user admin -h "$ip" -p "$port" ping 2>/dev/null)" = PONG ]; do sleep 1; done
  addresses="$addresses $ip:$port"
done

# shellcheck disable=SC2086 # the address list splits into words on purpose
exec redis-cli --user admin --cluster create $addresses --cluster-replicas 1 --cluster-yes
