/**
 * Logger plumbing. Library code takes a `logger` option and defaults to a silent one; only the CLI
 * builds a real root logger (src/cli/logging.ts).
 */
import { pino, type Logger } from 'pino'

export type { Logger }

/** Paths pino redacts wherever they appear in a log object (tokens never reach a log line). */
export const REDACT_PATHS = [
  'token', '*.token', 'tokens', '*.tokens', 'auth', '*.auth', 'bearerToken', '*.bearerToken',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie',
]

/** A logger that writes nothing; `child()` of it is just as silent. */
export const silentLogger: Logger = pino({ level: 'silent' })
