/**
 * The real `burrow` CLI as a child process (`node --import tsx src/cli/main.ts ...`), with its JSON
 * log lines from stdout parsed as they arrive. Every spawn registers a teardown that SIGKILLs a
 * process still running, and every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { T } from './servers.js'

/** The repository root (cwd of every spawned CLI, so `--import tsx` resolves). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI_ENTRY = 'src/cli/main.ts'

export type LogLine = Record<string, unknown> & { msg?: string, level?: number }

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface CliProcess {
  child: ChildProcess
  /** Everything written to stdout / stderr so far. */
  stdout: () => string
  stderr: () => string
  /** stdout lines that parsed as JSON objects (pino log lines), in order. */
  logs: LogLine[]
  /** Resolves with the first log line matching `match` (already seen or future); rejects on timeout or exit. */
  waitForLog: (match: (line: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>
  /** Resolves with the first stderr match of `re`; rejects on timeout or exit. */
  waitForStderr: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
  /** Resolves when the process exits; rejects when it is still running after `timeoutMs`. */
  waitForExit: (timeoutMs?: number) => Promise<Exit>
  /** Milliseconds from spawn to exit, once exited. */
  exitedAt: number | undefined
}

/**
 * The environment for a child: the parent's, minus every BURROW_* variable (so a developer's
 * settings cannot leak into a test), plus `env`.
 */
export function cliEnv (env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('BURROW_')) out[k] = v
  }
  // No coverage from children: tap would merge the child's coverage of the same files, compiled by
  // tsx with other source maps, into the report at the wrong lines. These tests check behaviour.
  out._TAPJS_PROCESSINFO_COVERAGE_ = '0'
  return { ...out, ...env }
}

/** Spawns `node --import tsx src/cli/main.ts ...args`; `env` should set BURROW_HOME to a temp dir. */
export function spawnCli (t: T, args: readonly string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], {
    cwd: ROOT,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let partial = ''
  const logs: LogLine[] = []
  const listeners = new Set<() => void>()
  const notify = (): void => { for (const l of [...listeners]) l() }
  let exit: Exit | undefined
  const proc: CliProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    logs,
    exitedAt: undefined,
    waitForLog: async (match, timeoutMs = 10_000) => await until(() => logs.find(match), timeoutMs, 'log line'),
    waitForStderr: async (re, timeoutMs = 10_000) => await until(() => err.match(re) ?? undefined, timeoutMs, `stderr ${String(re)}`),
    waitForExit: async (timeoutMs = 10_000) => await until(() => exit, timeoutMs, 'exit', true),
  }
  const started = Date.now()
  child.stdout!.setEncoding('utf8')
  child.stderr!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    out += chunk
    partial += chunk
    const lines = partial.split('\n')
    partial = lines.pop()!
    for (const line of lines) {
      if (!line.startsWith('{')) continue
      try { logs.push(JSON.parse(line) as LogLine) } catch { /* not a log line */ }
    }
    notify()
  })
  child.stderr!.on('data', (chunk: string) => { err += chunk; notify() })
  // 'close' (not 'exit'): stdout and stderr are fully read by then.
  child.on('close', (code, signal) => {
    exit = { code, signal }
    proc.exitedAt = Date.now() - started
    notify()
  })

  /** Event-driven wait: re-checks on every output chunk and on exit, bounded by `timeoutMs`. */
  async function until<V> (check: () => V | undefined, timeoutMs: number, what: string, exitOk = false): Promise<V> {
    return await new Promise<V>((resolve, reject) => {
      const done = (): void => { listeners.delete(probe); clearTimeout(timer) }
      const probe = (): void => {
        const v = check()
        if (v !== undefined) { done(); resolve(v); return }
        if (exit !== undefined && !exitOk) {
          done()
          reject(new Error(`process exited (${JSON.stringify(exit)}) before ${what}\nstdout:\n${out}\nstderr:\n${err}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`no ${what} within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`))
      }, timeoutMs)
      listeners.add(probe)
      probe()
    })
  }

  t.teardown(async () => {
    if (exit === undefined) {
      child.kill('SIGKILL')
      await proc.waitForExit(5_000).catch(() => {})
    }
  })
  return proc
}
