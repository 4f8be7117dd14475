/**
 * The visitor-facing error response (SPEC.md §6.1). The only place that turns a Burrow error code
 * into an HTTP status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { STATUS_CODES } from 'node:http'
import { ErrorCodes, httpStatusOf, type ErrorCode } from '../protocol/errors.js'
import { H_ERROR, H_REQUEST_ID } from '../protocol/constants.js'

export function writeErrorResponse (req: IncomingMessage, res: ServerResponse, code: ErrorCode, requestId: string): void {
  if (res.headersSent) {
    // Too late for a status: the visitor must see a broken response, not a short one that looks complete.
    res.destroy()
    return
  }
  const status = httpStatusOf(code)
  const message = ErrorCodes[code].message
  const accept = req.headers.accept
  let body: string
  let type: string
  if (accept !== undefined && accept.includes('application/json')) {
    type = 'application/json'
    body = JSON.stringify({ error: { code, message, status, requestId } }) + '\n'
  } else {
    type = 'text/plain; charset=utf-8'
    body = `${status} ${STATUS_CODES[status] ?? ''}\n${code}: ${message}\nrequest id: ${requestId}\n`
  }
  res.writeHead(status, [
    'content-type', type,
    'content-length', String(Buffer.byteLength(body)),
    'cache-control', 'no-store',
    H_ERROR, code,
    H_REQUEST_ID, requestId,
  ])
  res.end(req.method === 'HEAD' ? undefined : body)
}
