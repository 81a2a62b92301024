#!/usr/bin/env tsx
import { runScript, UsageError } from '@redis-cluster/core'
import { parseDays, renderTlsRenew, renewTlsCertificates } from '../src/index.ts'

await runScript({
  name: 'secrets:tls:renew',
  description:
    "renews the node certificate and the toolkit's client certificate from the CA in secrets/tls/ (new keys) and makes every running node load the new one without a restart (CONFIG SET tls-cert-file), an already expired one too. " +
    'Re-running finishes an interrupted renewal. Exit 0 done, 1 openssl failed, 2 bad flag or external runtime (--client-only only), 75 a node is down (nothing changed, or re-run to finish), 78 the CA or its key is missing',
  flags: {
    days: { type: 'string', description: 'validity of the new certificates in days (default 365)' },
    'client-only': { type: 'boolean', description: "only the toolkit's client certificate (the one renewal allowed on RC_RUNTIME=external)" },
    'node-only': { type: 'boolean', description: 'only the node certificate' },
  },
  lock: true,
  run: ({ stack, args, progress }) => {
    if (args['client-only'] && args['node-only']) throw new UsageError('--client-only and --node-only exclude each other', 'drop both to renew both')
    return renewTlsCertificates(stack, { days: parseDays(args.days), only: args['client-only'] ? 'client' : args['node-only'] ? 'node' : undefined, progress })
  },
  render: renderTlsRenew,
})
