/**
 * The visitor-facing error response (SPEC.md §6.1). The only place that turns a Burrow error code
 * into an HTTP status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { STATUS_CODES } from 'node:http'
import { ErrorCodes, httpStatusOf, type ErrorCode } from '../protocol/errors.js'
import { H_ERROR, H_REQUEST_ID } from '../protocol/constants.js'
import { HOP_BY_HOP } from '../protocol/headers.js'

export function writeErrorResponse (req: IncomingMessage, res: ServerResponse, code: ErrorCode, requestId: string, extra?: Readonly<Record<string, string>>): void {
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
  const fields = [
    'content-type', type,
    'content-length', String(Buffer.byteLength(body)),
    'cache-control', 'no-store',
    H_ERROR, code,
    H_REQUEST_ID, requestId,
  ]
  if (extra !== undefined) {
    for (const name in extra) {
      // HTTP/2 has no connection-specific fields (RFC 9113 §8.2.2): Node would drop them with a warning.
      if (req.httpVersionMajor === 2 && HOP_BY_HOP.has(name.toLowerCase())) continue
      fields.push(name, extra[name]!)
    }
  }
  // A request body the edge will not read must not be parsed as the next request on this connection.
  if (req.httpVersionMajor === 1 && !req.complete && !req.readableEnded && requestHasBody(req)) fields.push('connection', 'close')
  res.writeHead(status, fields)
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** Whether a visitor request carries a body (its framing says so; nothing is read). */
export function requestHasBody (req: IncomingMessage): boolean {
  // HTTP/2: a body follows unless the HEADERS frame ended the stream (content-length is optional).
  if (req.httpVersionMajor === 2) return !(req as unknown as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders
  const cl = req.headers['content-length']
  return cl !== undefined ? cl !== '0' : req.headers['transfer-encoding'] !== undefined
}
