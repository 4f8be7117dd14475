// The architecture rule of /work/shared/STYLE.md "Layout": imports flow one way.
//   protocol: pure, no I/O; transport: protocol only; edge and agent never import each other;
//   nothing imports cli; only cli calls process.exit.
import t from 'tap'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const srcDir = join(root, 'src')

interface Source { file: string, layer: string, text: string, specifiers: string[] }

/** Every .ts file under src/, with its path relative to the repository root. */
async function tsFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await tsFiles(path))
    else if (entry.name.endsWith('.ts')) out.push(path)
  }
  return out.sort()
}

/** Top-level directory under src/ ('protocol', 'edge', ...), or 'root' for src/index.ts. */
function layerOf (absPath: string): string {
  const parts = relative(srcDir, absPath).split(sep)
  return parts.length > 1 ? parts[0]! : 'root'
}

/** Module specifiers of static imports, re-exports, side-effect imports, dynamic import() and require(). */
function specifiersOf (text: string): string[] {
  const patterns = [
    // import x from 'y' / import { a, b } from 'y' (multi-line) / import type ... / export { a } from 'y' / export * from 'y'
    /^[ \t]*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    // import 'y'
    /^[ \t]*import\s*['"]([^'"]+)['"]/gm,
    // import('y'), require('y'), import x = require('y')
    /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]
  const found: string[] = []
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]!)
  return found
}

async function loadSources (): Promise<Source[]> {
  const files = await tsFiles(srcDir)
  return Promise.all(files.map(async (abs) => {
    const text = await readFile(abs, 'utf8')
    return { file: relative(root, abs), layer: layerOf(abs), text, specifiers: specifiersOf(text) }
  }))
}

/** The src/ layer a relative specifier points into, or undefined for a package or node: module. */
function targetLayer (fromFile: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  const target = resolve(dirname(join(root, fromFile)), specifier)
  const rel = relative(srcDir, target)
  if (rel.startsWith('..')) return 'outside-src'
  return layerOf(target)
}

/** Node modules that do I/O; 'node:url' and 'node:crypto' are pure enough for src/protocol. */
const IO_MODULES = ['net', 'tls', 'http', 'http2', 'https', 'fs', 'fs/promises', 'dgram', 'child_process', 'dns', 'worker_threads', 'cluster']
function isIoModule (specifier: string): boolean {
  return IO_MODULES.includes(specifier.replace(/^node:/, ''))
}

/** Layers each layer must not import. */
const FORBIDDEN: Record<string, string[]> = {
  protocol: ['transport', 'edge', 'agent', 'cli'],
  transport: ['edge', 'agent', 'cli'],
  edge: ['agent', 'cli'],
  agent: ['edge', 'cli'],
  observability: ['cli'],
  root: ['cli'],
}

t.test('the import scanner finds the imports it should (so the rules below are not vacuous)', async (t) => {
  const sources = await loadSources()
  const byFile = new Map(sources.map((s) => [s.file, s]))
  t.ok(sources.length >= 15, `${sources.length} .ts files under src/`)
  t.ok(byFile.get(join('src', 'transport', 'control-channel.ts'))?.specifiers.includes('../protocol/codec.js'),
    'control-channel.ts imports ../protocol/codec.js')
  t.ok(byFile.get(join('src', 'cli', 'main.ts'))?.specifiers.includes('../edge/edge.js'), 'cli/main.ts imports ../edge/edge.js')
  t.ok(byFile.get(join('src', 'protocol', 'codec.ts'))?.specifiers.includes('./generated/tunnel.js'), 'codec.ts imports ./generated/tunnel.js')
  t.same(specifiersOf("import {\n  a,\n  type B,\n} from '../x.js'\nexport * from './y.js'\nimport 'z'\nconst m = await import('node:fs')\n"),
    ['../x.js', './y.js', 'z', 'node:fs'], 'multi-line, re-export, side-effect and dynamic imports')
})

t.test('layers import only downward: edge and agent never import each other; nothing imports cli', async (t) => {
  const violations: string[] = []
  let checked = 0
  for (const source of await loadSources()) {
    const forbidden = FORBIDDEN[source.layer] ?? []
    for (const specifier of source.specifiers) {
      const target = targetLayer(source.file, specifier)
      if (target === undefined) continue
      checked++
      if (target === 'outside-src') violations.push(`${source.file} imports ${specifier}, outside src/`)
      else if (forbidden.includes(target)) violations.push(`${source.file} (src/${source.layer}) imports ${specifier} (src/${target})`)
    }
  }
  t.ok(checked > 20, `${checked} relative imports checked`)
  t.same(violations, [], 'no import crosses the layering of STYLE.md "Layout"')
})

t.test('src/protocol imports no node I/O module', async (t) => {
  const violations: string[] = []
  for (const source of await loadSources()) {
    if (source.layer !== 'protocol') continue
    for (const specifier of source.specifiers) if (isIoModule(specifier)) violations.push(`${source.file} imports ${specifier}`)
  }
  t.same(violations, [], 'src/protocol is pure (node:url and node:crypto allowed)')
})

t.test('only src/cli calls process.exit', async (t) => {
  const callers: string[] = []
  for (const source of await loadSources()) {
    if (source.layer === 'cli') continue
    source.text.split('\n').forEach((line, i) => {
      if (/\bprocess\.exit\s*\(/.test(line)) callers.push(`${source.file}:${i + 1}: ${line.trim()}`)
    })
  }
  t.same(callers, [], 'library code reports errors to its owner instead of exiting')
})
