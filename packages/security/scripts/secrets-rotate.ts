#!/usr/bin/env tsx
import { runScript, UsageError } from '@redis-cluster/core'
import { parseUserName, renderRotate, rotatePassword } from '../src/index.ts'

await runScript({
  name: 'secrets:rotate',
  description:
    "changes one ACL user's password on every node with no downtime: adds the new one (kept in <secret>.next), moves masterauth/the exporter/this toolkit, removes the old one, ACL SAVE, replaces the secret file. " +
    'Re-running finishes an interrupted rotation; --rollback undoes it. Exit 0 done, 2 unknown user, 75 a node is down (nothing changed, or re-run to finish), 78 a secret is missing or the runtime is external',
  positionals: 'USER (admin, app, replication, exporter, backup)',
  flags: {
    'keep-old': { type: 'boolean', description: 'stop while both passwords work (apps move to the new one first); a plain re-run finishes' },
    rollback: { type: 'boolean', description: "undo a pending rotation: the nodes forget the new password, <secret>.next is deleted" },
  },
  lock: true,
  run: async ({ stack, args, positionals, progress }) => {
    if (positionals.length > 1) throw new UsageError(`one user at a time (got ${positionals.join(' ')})`, 'run the command once per user')
    return rotatePassword(stack, parseUserName(positionals[0]), { keepOld: args['keep-old'], rollback: args.rollback, progress })
  },
  render: renderRotate,
})
