import { describe, expect, it } from 'vitest'
import { replicationAuth, type UserPasswords } from './users.ts'

describe('replicationAuth()', () => {
  const users: UserPasswords = { admin: ['a'], app: ['b'], replication: ['replication-current', 'replication-next'], exporter: ['e'], backup: ['k'] }
  it('works: the replication user with its first password (mid-rotation, the new one comes first)', () => {
    expect(replicationAuth({ users })).toEqual([['masteruser', 'replication'], ['masterauth', 'replication-current']])
  })
  it('a cluster without the toolkit\'s users (external, one password): masterauth with that password, no masteruser', () => {
    expect(replicationAuth({ users: undefined, password: 'one-password' })).toEqual([['masterauth', 'one-password']])
  })
})
