/**
 * Per-request guards of the public HTTP/1 listener that Node's server options do not give
 * (SPEC.md §6, README "Limits"): a request body that stalls is cut after an idle timeout, and an
 * HTTP/1.0 request framed by Transfer-Encoding gets its connection closed after the response
 * (RFC 9112 §6.1). Runs before VisitorProxy.handle; costs nothing for a request without a body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

export interface VisitorGuardOptions {
  /** Longest pause in a request body the edge is reading before the request is cut. 0 disables. */
  bodyIdleTimeoutMs: number
  /** Raw bytes answered when a cut request's response has not started (a coded 408, connection: close). */
  timeoutAnswer: string
}

export function guardVisitorRequest (req: IncomingMessage, res: ServerResponse, options: VisitorGuardOptions): void {
  const te = req.headers['transfer-encoding']
  if (te !== undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 0) {
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing: answer, then close.
    res.shouldKeepAlive = false
  }
  const cl = req.headers['content-length']
  const hasBody = cl !== undefined ? cl !== '0' : te !== undefined
  if (hasBody && options.bodyIdleTimeoutMs > 0 && !req.complete) watchBodyIdle(req, res, options)
}

/**
 * Cuts the request when no body byte arrived for bodyIdleTimeoutMs while the edge was reading it.
 * Idle is measured on the visitor's socket (bytesRead), and only while the body is flowing with
 * nothing buffered: a pause the edge causes (tunnel backpressure, a policy check still running)
 * is not the visitor's stall. Ends with the response: a response that finished hands the socket to
 * Node's keep-alive timeout, which also bounds a body still trickling in.
 */
function watchBodyIdle (req: IncomingMessage, res: ServerResponse, options: VisitorGuardOptions): void {
  const socket = req.socket
  let seen = socket.bytesRead
  const timer = setTimeout(check, options.bodyIdleTimeoutMs)
  res.once('close', () => clearTimeout(timer))

  function check (): void {
    if (req.complete || socket.destroyed) return
    const read = socket.bytesRead
    if (read !== seen || req.readableFlowing !== true || req.readableLength > 0) {
      seen = read
      timer.refresh()
      return
    }
    // Destroying the socket closes `res` unfinished, so the proxy cancels the tunnel stream and the
    // origin sees an aborted request, never a short body that looks complete.
    if (!res.headersSent && res.socket === socket && socket.writable) socket.end(options.timeoutAnswer, () => socket.destroy())
    else socket.destroy()
  }
}
