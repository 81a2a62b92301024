import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { CONTAINER_UID } from '@redis-cluster/core'
import type { AuditCheck } from './audit.ts'
import { containerName, leakedInto } from './_containers.ts'

/** Every process of this host whose argv holds `secret`: pid and command, the secret masked. */
export function processesWithSecret(secret: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let argv: string
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
    } catch {
      continue // exited meanwhile, or not ours to read
    }
    if (!argv.includes(secret)) continue
    const command = argv.replace(/\0+$/, '').split('\0').map((arg) => arg.replaceAll(secret, '***')).join(' ')
    found.push({ pid: Number(entry), command: command.length > 100 ? `${command.slice(0, 97)}...` : command })
  }
  return found
}

export const argvCheck: AuditCheck = {
  id: 'password-in-argv',
  title: 'no password in any process argv or container config',
  async run({ stack, runtime, containers }) {
    const processes = processesWithSecret(stack.password).map(({ pid, command }) => `pid ${pid} (${command}) has the password in its argv`)
    const leaks = (await containers()).flatMap((c) => {
      const places = leakedInto(c, stack.password)
      return places.length > 0 ? [`container ${containerName(c)} has the password in its ${places.join(', ')}`] : []
    })
    const problems = [...processes, ...leaks]
    const where = runtime.name === 'compose' ? 'no process of this host and no container has' : 'no process of this host has'
    // the processes of the nodes' own hosts are out of reach from here
    const note = runtime.ownsNodes ? {} : { note: 'external runtime: only the processes of the host running the audit are scanned, not those of the nodes\' hosts' }
    return problems.length === 0
      ? { pass: true, detail: `${where} the password in its argv${runtime.name === 'compose' ? ' or config' : ''}`, ...note }
      : {
          ...note,
          pass: false,
          detail: problems.join('; '),
          fix: `pass it in a file or the environment of the one command (redis-cli: REDISCLI_AUTH; redis-server: a 0600 config file; containers: a compose secret), then restart those${leaks.length > 0 ? ' and recreate the containers' : ''}`,
        }
  },
}

/**
 * The password secret must be readable only by who needs it: 0600 (or
 * stricter) for the owner; on compose also 0640 with group 999 (CONTAINER_UID:
 * the containers' redis user, its gid too), because file secrets are bind mounts.
 */
export const secretFilesCheck: AuditCheck = {
  id: 'secret-files',
  title: 'secret files readable only by the user that needs them',
  async run({ stack, runtime }) {
    const file = stack.secretFile
    const st = statSync(file)
    const mode = st.mode & 0o777
    const compose = runtime.name === 'compose'
    const tight = (mode & 0o077) === 0 || (compose && st.gid === CONTAINER_UID && (mode & 0o037) === 0)
    const shown = `mode ${mode.toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid}`
    if (tight) return { pass: true, detail: `${basename(file)}: ${shown}` }
    return {
      pass: false,
      detail: `${file}: ${shown} (${(mode & 0o007) !== 0 ? 'every user of this host' : `group ${st.gid}`} can read the password)`,
      fix: compose ? `chgrp ${CONTAINER_UID} ${file} && chmod 640 ${file}` : `chmod 600 ${file}`,
    }
  },
}
