/**
 * The root logger. JSON lines on stdout when stdout is not a TTY; pino-pretty on a TTY or with
 * --pretty. Tokens and credentials are redacted wherever they appear.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino'
import { REDACT_PATHS } from '../observability/logger.js'

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export interface CliLogger {
  logger: Logger
  /** Writes out what is buffered; call before process.exit. */
  flush: () => void
}

export function createCliLogger (level: LevelWithSilent, pretty: boolean | undefined): CliLogger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }
  if (pretty ?? process.stdout.isTTY) {
    const transport = pino.transport({ target: 'pino-pretty', options: { colorize: process.stdout.isTTY, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' } })
    const logger = pino(options, transport)
    return { logger, flush: () => { logger.flush() } }
  }
  // Asynchronous, buffered writes: one access-log line per request must not cost a syscall each.
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 })
  const logger = pino(options, dest)
  // minLength alone never writes a quiet process's lines (e.g. 'tunnel ready') until 4 KiB pile up
  // or the process exits: flush on a short, unref'd timer so log readers see lines promptly.
  setInterval(() => { try { dest.flush() } catch { /* closed */ } }, 250).unref()
  return { logger, flush: () => { try { dest.flushSync() } catch { /* not ready yet or closed */ } } }
}
