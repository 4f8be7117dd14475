/**
 * Logger plumbing. Library code takes a `logger` option and defaults to a silent one; only the CLI
 * builds a real root logger (src/cli/logging.ts).
 */
import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Paths pino redacts (enrollment tokens and private keys never reach a log line). Explicit paths only: a wildcard makes pino
 * walk every key of every line, and the edge writes one access-log line per request.
 */
export const REDACT_PATHS = [
  'token', 'keyPem', 'key', 'identity.keyPem', 'options.token', 'options.identity', 'enrollRequest.token',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie',
]

/** A logger that writes nothing; `child()` of it is just as silent. */
export const silentLogger: Logger = pino({ level: 'silent' })
