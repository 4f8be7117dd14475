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
  // Asynchronous writes: a line is written as soon as no write is in flight, and lines logged while
  // one is in flight are written together, so under load the access log costs a syscall per batch,
  // not per request, while a quiet process's lines still appear at once.
  const dest = pino.destination({ dest: 1, sync: false, minLength: 0 })
  const logger = pino(options, dest)
  return { logger, flush: () => { try { dest.flushSync() } catch { /* not ready yet or closed */ } } }
}
