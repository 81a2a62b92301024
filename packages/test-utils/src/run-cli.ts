import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from './paths.ts'

export interface CliResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a package script (`init/up`, `monitor/status`...) as a user would, with
 * `env` on top of ours: through the launcher the root commands use, so tests
 * run the bundle users run (rebuilt first if a source changed).
 */
export function runCli(script: string, args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  const [pkg, name] = script.split('/')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'run.mjs'), pkg!, name!, ...args], {
      cwd: join(REPO_ROOT, 'packages', pkg!),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout, stderr }))
  })
}
