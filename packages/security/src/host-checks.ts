import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { CONTAINER_UID, USER_NAMES, looseSecret, pendingSecretFile, secretFileOf } from '@redis-cluster/core'
import type { AuditCheck, AuditContext } from './audit.ts'
import { containerName, leakedInto } from './_containers.ts'

/** Every process of this host whose argv holds one of `secrets`: pid, command (every secret masked) and which secrets. */
export function processesWithSecret(secrets: readonly string[]): { pid: number; command: string; found: string[] }[] {
  const hits: { pid: number; command: string; found: string[] }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let argv: string
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
    } catch {
      continue // exited meanwhile, or not ours to read
    }
    const found = secrets.filter((secret) => argv.includes(secret))
    if (found.length === 0) continue
    const command = argv.replace(/\0+$/, '').split('\0').map((arg) => secrets.reduce((a, secret) => a.replaceAll(secret, '***'), arg)).join(' ')
    hits.push({ pid: Number(entry), command: command.length > 100 ? `${command.slice(0, 97)}...` : command, found })
  }
  return hits
}

/**
 * The passwords to look for, each with how a finding names it: the
 * toolkit's own ("the password"), and where the toolkit declares the ACL
 * users, every user's (and a pending rotation's new one).
 */
function knownSecrets(stack: AuditContext['stack']): Map<string, string> {
  const named = new Map<string, string>([[stack.password, 'the password']])
  for (const user of USER_NAMES) for (const password of stack.users?.[user] ?? []) if (!named.has(password)) named.set(password, `the ${user} user's password`)
  return named
}

export const argvCheck: AuditCheck = {
  id: 'password-in-argv',
  title: 'no password in any process argv or container config',
  async run({ stack, runtime, containers }) {
    const secrets = knownSecrets(stack)
    const names = (found: readonly string[]) => found.map((secret) => secrets.get(secret)!).join(' and ')
    const processes = processesWithSecret([...secrets.keys()]).map(({ pid, command, found }) => `pid ${pid} (${command}) has ${names(found)} in its argv`)
    const leaks = (await containers()).flatMap((c) => [...secrets.keys()].flatMap((secret) => {
      const places = leakedInto(c, secret)
      return places.length > 0 ? [`container ${containerName(c)} has ${secrets.get(secret)} in its ${places.join(', ')}`] : []
    }))
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
 * The files the audit judges: the toolkit's own secret; where the toolkit
 * declares the ACL users (local, compose), every user's secret, a pending
 * rotation's `.next` and the ACL files (hashes only, still nobody else's
 * business): the compose one in the secrets folder, each local node's.
 */
function secretFiles({ stack, runtime }: AuditContext): { file: string; acl: boolean }[] {
  const users = stack.users ? USER_NAMES.flatMap((user) => [secretFileOf(stack, user), pendingSecretFile(stack.secretsDir, user)]) : []
  const acl = [join(stack.secretsDir, 'users.acl'), ...(runtime.name === 'local' ? stack.nodes.map((node) => join(node.dataDir, 'users.acl')) : [])]
  const secrets = [...new Set([stack.secretFile, ...users])].map((file) => ({ file, acl: false }))
  return [...secrets, ...acl.map((file) => ({ file, acl: true }))].filter(({ file }) => file === stack.secretFile || existsSync(file))
}

/**
 * Each secret must be readable only by who needs it: core's looseSecret
 * rule, with 0640 group 999 allowed only on compose (its containers read
 * the bind-mounted secrets). A node's ACL file is rewritten by Redis itself
 * (ACL SAVE, with its umask): there a directory nobody else may enter
 * counts as well.
 */
export const secretFilesCheck: AuditCheck = {
  id: 'secret-files',
  title: 'secret files readable only by the user that needs them',
  async run(context) {
    const compose = context.runtime.name === 'compose'
    const shown = new Map<string, string[]>()
    const loose: string[] = []
    for (const { file, acl } of secretFiles(context)) {
      const st = statSync(file)
      const open = looseSecret(file, { forContainers: compose })
      const fenced = acl && (statSync(dirname(file)).mode & 0o077) === 0
      const how = `mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid}${open && fenced ? ` in a ${(statSync(dirname(file)).mode & 0o777).toString(8).padStart(4, '0')} directory` : ''}`
      if (!open || fenced) shown.set(how, [...(shown.get(how) ?? []), acl ? `${basename(dirname(file))}/${basename(file)}` : basename(file)])
      else loose.push(`${file}: ${how} (${open.readers} can read ${acl ? 'the password hashes' : 'the password'})`)
    }
    if (loose.length === 0) return { pass: true, detail: [...shown].map(([how, files]) => `${files.join(', ')}: ${how}`).join('; ') }
    const files = loose.map((line) => line.slice(0, line.indexOf(': mode ')))
    return { pass: false, detail: loose.join('; '), fix: compose ? `chgrp ${CONTAINER_UID} ${files.join(' ')} && chmod 640 ${files.join(' ')}` : `chmod 600 ${files.join(' ')}` }
  },
}
