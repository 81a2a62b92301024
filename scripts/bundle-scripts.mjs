#!/usr/bin/env node
// Bundles a package's zx scripts (scripts/*.ts) with their dependencies into
// dist/<name>.mjs. A bundled script starts in ~0.1 s; the same script through
// the tsx loader takes ~0.6 s.
// Two callers: turbo's `build` task runs this file in a package directory
// (`pnpm install` via the root `prepare` script, `pnpm build`, CI); the
// launcher scripts/run.mjs imports bundlePackage() to rebuild a stale bundle
// in-process before it runs it. Beside the bundles, dist/.inputs.json records
// the files the bundles were built from (esbuild's metafile) with a hash of
// each, which is how the launcher knows a bundle is stale.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const INPUTS_FILE = '.inputs.json'

/** True when dist/<command>.mjs exists and every file the package was bundled from has the content it had then. */
export function bundleIsFresh(packageDir, command) {
  let inputs
  try {
    if (!existsSync(join(packageDir, 'dist', `${command}.mjs`))) return false
    inputs = JSON.parse(readFileSync(join(packageDir, 'dist', INPUTS_FILE), 'utf8'))
  } catch {
    return false
  }
  return Object.entries(inputs).every(([path, hash]) => hashFile(join(packageDir, path)) === hash)
}

function hashFile(path) {
  try {
    return createHash('sha1').update(readFileSync(path)).digest('hex')
  } catch {
    return 'missing'
  }
}

/**
 * What a bundle depends on, as files whose content decides it: our own
 * sources, the bundler, the package.json, and for each dependency (2.3 MB,
 * ~25 ms to hash) only its package.json, whose version changes with its code.
 * Content, not mtimes: turbo's cache restores dist/ into other checkouts, where
 * the same sources have other mtimes.
 */
function inputFiles(packageDir, metafile) {
  const files = new Set([fileURLToPath(import.meta.url), join(packageDir, 'package.json')])
  for (const input of Object.keys(metafile.inputs)) {
    const path = resolve(packageDir, input)
    const dependency = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path)
    files.add(dependency ? join(dependency[1], 'package.json') : path)
  }
  return [...files]
}

/** Bundles `packageDir`/scripts/*.ts into `packageDir`/dist; concurrent runs and readers are safe (each file is replaced atomically). */
export async function bundlePackage(packageDir) {
  const started = Date.now()
  // Loaded here, not at the top: the launcher imports this file on every run and needs esbuild only to rebuild.
  const { build } = await import('esbuild')
  const entryPoints = readdirSync(join(packageDir, 'scripts')).filter((f) => f.endsWith('.ts')).map((f) => `scripts/${f}`)
  const { outputFiles, metafile } = await build({
    absWorkingDir: packageDir,
    entryPoints,
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    // Dynamic imports (zx: only loaded when a command shells out) become their own chunks.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    write: false,
    metafile: true,
    // CommonJS dependencies (ioredis) call require() for Node built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  })
  const dist = join(packageDir, 'dist')
  // Chunks before the entries that import them, so a run starting meanwhile finds every chunk its entry names.
  const ordered = [...outputFiles].sort((a, b) => Number(b.path.includes('/chunks/')) - Number(a.path.includes('/chunks/')))
  for (const file of ordered) writeAtomically(file.path, file.contents)
  // Files of earlier builds: a chunk name changes only when its content does, so a run of the old bundle rarely needs one.
  const written = new Set(outputFiles.map((f) => f.path))
  for (const sub of ['.', 'chunks']) {
    if (!existsSync(join(dist, sub))) continue
    for (const name of readdirSync(join(dist, sub))) {
      const path = join(dist, sub, name)
      if (name.endsWith('.mjs') && !written.has(path)) rmSync(path, { force: true })
    }
  }
  const inputs = Object.fromEntries(
    inputFiles(packageDir, metafile).map((path) => {
      // A file written while esbuild ran may have been read in its old state: record no hash, so the next run rebuilds.
      const changed = (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? started) >= started
      return [relative(packageDir, path), changed ? '' : hashFile(path)]
    }),
  )
  writeAtomically(join(dist, INPUTS_FILE), JSON.stringify(inputs))
}

function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, contents)
  renameSync(tmp, path)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await bundlePackage(process.cwd())
