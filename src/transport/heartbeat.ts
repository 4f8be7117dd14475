/**
 * Transport heartbeat (SPEC.md §1.6): an HTTP/2 PING every interval; one unanswered for `timeoutMs`
 * calls `onTimeout` once. Owned by a connection object, which calls stop() on close.
 */
import type { Http2Session } from 'node:http2'

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined
  private deadline: NodeJS.Timeout | undefined
  private awaiting = false

  constructor (
    private readonly session: Http2Session,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly onTimeout: () => void,
  ) {}

  start (): void {
    if (this.timer !== undefined || this.intervalMs <= 0) return
    this.timer = setInterval(() => this.beat(), this.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    clearTimeout(this.deadline)
    this.timer = undefined
    this.deadline = undefined
  }

  private beat (): void {
    if (this.awaiting) return // the previous PING's deadline is still running
    if (this.session.destroyed || this.session.closed) return
    this.awaiting = true
    this.deadline = setTimeout(() => {
      this.stop()
      this.onTimeout()
    }, this.timeoutMs)
    this.deadline.unref()
    try {
      this.session.ping((err) => {
        this.awaiting = false
        clearTimeout(this.deadline)
        this.deadline = undefined
        // A ping error means the session is going away; its own close handling follows.
        void err
      })
    } catch {
      // ERR_HTTP2_INVALID_SESSION: the session died between the check and the call.
      this.awaiting = false
      clearTimeout(this.deadline)
      this.deadline = undefined
    }
  }
}
