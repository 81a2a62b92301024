#!/usr/bin/env tsx
import { runScript } from '@redis-cluster/core'
import { initSecrets, renderSecretsInit } from '../src/index.ts'

await runScript({
  name: 'secrets:init',
  description: 'creates the missing ACL user secrets (secrets/users/<user>.txt, random; 0600, or 0640 group 999 for compose); never overwrites one',
  // it creates what loading the secrets would need
  secrets: false,
  run: ({ stack, notice }) => initSecrets(stack, { notice }),
  render: renderSecretsInit,
})
