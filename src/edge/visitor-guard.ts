/**
 * Per-request guards of the public listeners that Node's server options do not give (SPEC.md §6,
 * §11.5, README "Limits"): a request body that stalls is cut after an idle timeout, over HTTP/1 and
 * HTTP/2 alike, and an HTTP/1.0 request framed by Transfer-Encoding gets its connection closed after
 * the response (RFC 9112 §6.1). The HTTP/1 guard runs before VisitorProxy.handle, the HTTP/2 one
 * right after it; both cost nothing for a request without a body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest } from 'node:http2'
import { cancelStream, type ProxiedRequest } from './visitor-proxy.js'
import { requestHasBody } from './error-response.js'

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
  if (options.bodyIdleTimeoutMs > 0 && !req.complete && requestHasBody(req)) watchBodyIdle(req, res, options)
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

/**
 * The body idle timeout for one HTTP/2 request stream (h2c or h2 over TLS), once VisitorProxy.handle
 * took it. A stream is cut when no DATA arrived for bodyIdleTimeoutMs while the edge was reading its
 * body: the proxy is consuming it (the body is piped to the tunnel stream, so no policy check is
 * running) and nothing is buffered on the way (a full buffer is the edge's backpressure). Both at the
 * start and at the end of a whole period, with no DATA in between: a read that just resumed gets a
 * full period before it counts. Cut: `proxied` cancels the tunnel stream and answers 408
 * BURROW_ERR_REQUEST_TIMEOUT when no response started, then the stream is closed (RST_STREAM
 * NO_ERROR once the answer is flushed, RFC 9113 §8.1); if a response had started, the stream is
 * reset with CANCEL. Either way only this stream: the session serves its other streams on.
 *
 * Unlike HTTP/1 the watch outlives a response that finished while the upload goes on (nothing else
 * bounds such a stream). One timer, refreshed per period; per DATA chunk only a flag is set.
 */
export function guardHttp2Request (req: Http2ServerRequest, proxied: ProxiedRequest, bodyIdleTimeoutMs: number): void {
  const stream = req.stream
  if (bodyIdleTimeoutMs <= 0 || stream.endAfterHeaders || req.complete || stream.closed) return
  let listening = false
  let received = false
  const onData = (): void => { received = true }
  const timer = setTimeout(check, bodyIdleTimeoutMs)
  stream.once('close', () => clearTimeout(timer))
  listen()
  let wasReading = reading()

  /**
   * Counts DATA once the proxy consumes the body: a 'data' listener on a request nobody reads yet
   * would start it flowing into nothing but this flag.
   */
  function listen (): void {
    if (listening || req.readableFlowing === null) return
    req.on('data', onData)
    listening = true
  }

  function reading (): boolean {
    return listening && req.readableFlowing === true && req.readableLength === 0 &&
      stream.readableFlowing !== false && stream.readableLength === 0
  }

  function check (): void {
    if (req.complete || stream.closed) return
    listen()
    const now = reading()
    if (received || !now || !wasReading) {
      received = false
      wasReading = now
      timer.refresh()
      return
    }
    if (proxied.bodyStalled()) stream.close()
    else cancelStream(stream)
  }
}
