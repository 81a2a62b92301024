#!/usr/bin/env node
// `node scripts/run.mjs <package> <command> [flags...]`: how every root
// command (`pnpm run up`, `pnpm status`, ...) runs packages/<package>/scripts/<command>.ts:
// as its esbuild bundle (dist/<command>.mjs, ~0.1 s to start instead of ~0.6 s
// under tsx), imported into this process, never stale: when any file the
// bundle was built from (every source, dependency, the bundler and
// package.json, by content hash) differs or is gone, the package is rebuilt
// here first (~0.5 s, only after an edit or an install that skipped scripts).
//
// Why not `turbo run build` before each command: turbo's start and cache
// check cost ~0.9 s per command, it prints a banner, a summary and cache lines
// on stdout (breaking --json and --quiet) and on a fresh machine a telemetry
// notice, and it runs the command as its own child. Turbo builds the bundles
// where its cache pays off: at install (the root `prepare` script),
// `pnpm build` and CI; this check only keeps an edited checkout from running old code.
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { bundleIsFresh, bundlePackage } from './bundle-scripts.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const [pkg, command, ...args] = process.argv.slice(2)
const packageDir = join(root, 'packages', pkg ?? '')
if (!pkg || !command || !existsSync(join(packageDir, 'scripts', `${command}.ts`))) {
  process.stderr.write(`run.mjs: no script packages/${pkg}/scripts/${command}.ts\n  fix: node scripts/run.mjs <package> <command> [flags...]\n`)
  process.exit(2)
}
if (!bundleIsFresh(packageDir, command)) await bundlePackage(packageDir)
// The script reads its flags from process.argv.slice(2), as when started as `node dist/<command>.mjs [flags...]`.
const bundle = join(packageDir, 'dist', `${command}.mjs`)
process.argv = [process.argv[0], bundle, ...args]
await import(pathToFileURL(bundle).href)
