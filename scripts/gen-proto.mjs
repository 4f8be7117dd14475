// Generates the static protobufjs code for proto/tunnel.proto into a directory
// (default src/protocol/generated). `npm run proto` writes the committed copy;
// test/protocol/proto-current.test.ts generates into a temporary directory and compares.
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = resolve(process.argv[2] ?? join(root, 'src/protocol/generated'))
mkdirSync(outDir, { recursive: true })
const bin = (name) => join(root, 'node_modules/.bin', name)
const js = join(outDir, 'tunnel.js')
execFileSync(bin('pbjs'), [
  '-t', 'static-module', '-w', 'es6', '--no-create', '--no-verify', '--no-convert', '--no-delimited', '--no-beautify',
  join(root, 'proto/tunnel.proto'), '-o', js,
], { cwd: root, stdio: 'inherit' })
execFileSync(bin('pbts'), ['--no-comments', js, '-o', join(outDir, 'tunnel.d.ts')], { cwd: root, stdio: 'inherit' })
