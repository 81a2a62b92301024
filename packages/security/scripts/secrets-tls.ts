#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { generateTlsCertificates, parseDays, parseHosts, renderTlsCerts } from '../src/index.ts'

await runScript({
  name: 'secrets:tls',
  description: 'creates the missing TLS files for RC_TLS=1 with openssl: a local CA (10 years), one node certificate for every node address and the toolkit\'s client certificate, in secrets/tls/; never overwrites one',
  flags: {
    days: { type: 'string', description: 'validity of the node and client certificates in days (default 365)' },
    host: { type: 'string', description: 'external runtime: more node addresses or names for the node certificate, comma-separated (RC_SEEDS\' hosts are always in)' },
  },
  // it creates what loading the stack with RC_TLS=1 would need
  secrets: false,
  run: ({ stack, args }) => generateTlsCertificates(stack, { days: parseDays(args.days), hosts: parseHosts(args.host) }),
  render: renderTlsCerts,
})
